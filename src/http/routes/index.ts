/** @module The route modules beyond sign-in, reports and the member's page; each area adds its router here. */
import type { OpenAPIHono } from "@hono/zod-openapi";
import type { AppEnv } from "../context";
import { billingRoutes } from "./billing.routes";
import { dataRightsRoutes } from "./data-rights.routes";
import { downloadRoutes } from "./downloads.routes";
import { peopleRoutes } from "./people.routes";
import { receiptRoutes } from "./receipts.routes";

export function extraRoutes(): OpenAPIHono<AppEnv>[] {
  return [peopleRoutes(), billingRoutes(), downloadRoutes(), receiptRoutes(), dataRightsRoutes()];
}
