/** @module Shared pieces of the route modules: a router whose validation errors speak our error shape, common schemas. */
import { OpenAPIHono, z } from "@hono/zod-openapi";
import { parseAmount } from "../money/money";
import type { CompanyContext } from "../services/company-context";
import { invalid } from "../shared/errors";
import type { AppEnv } from "./context";

function describeIssue(issue: { path: readonly PropertyKey[]; message: string } | undefined): string {
  if (!issue) return "the request is not valid";
  const path = issue.path
    .map((p) => (typeof p === "number" ? `[${p}]` : String(p)))
    .join(".")
    .replace(/\.\[/g, "[");
  return path ? `${path}: ${issue.message}` : issue.message;
}

/** A router for one area of the API; its request validation failures answer 400 with our error shape. */
export function createRouter(): OpenAPIHono<AppEnv> {
  return new OpenAPIHono<AppEnv>({
    defaultHook: (result, c) => {
      if (!result.success) {
        const issue = result.error.issues[0];
        return c.json({ error: { code: "invalid_input", message: describeIssue(issue) } }, 400);
      }
      return undefined;
    },
  });
}

export const ErrorSchema = z
  .object({
    error: z.object({
      code: z.string().openapi({ example: "insufficient_balance" }),
      message: z.string().openapi({ example: "the company balance is 12.00 EUR, 20.00 EUR is needed" }),
      path: z.string().optional(),
      details: z.record(z.string(), z.unknown()).optional(),
    }),
  })
  .openapi("Error");

/** Standard error responses every authenticated route can give. */
export const errorResponses = {
  400: { description: "The request is not valid", content: { "application/json": { schema: ErrorSchema } } },
  401: { description: "Not signed in", content: { "application/json": { schema: ErrorSchema } } },
  403: { description: "Not allowed", content: { "application/json": { schema: ErrorSchema } } },
  404: {
    description: "Not found (or another company's)",
    content: { "application/json": { schema: ErrorSchema } },
  },
  409: {
    description: "Conflicts with the current state",
    content: { "application/json": { schema: ErrorSchema } },
  },
  422: {
    description: "Refused by a rule (balance, idempotency)",
    content: { "application/json": { schema: ErrorSchema } },
  },
} as const;

/** An amount in major units as a decimal string ("12.50"); its decimals are checked against the company currency. */
export const AmountSchema = z
  .string()
  .max(32)
  .regex(/^\d+(\.\d+)?$/, 'must be a decimal string like "12.50"')
  .openapi({ example: "20.00" });

export const IdParam = z.object({
  id: z.coerce
    .number()
    .int()
    .positive()
    .openapi({ param: { name: "id", in: "path" } }),
});

/** Minor units of a decimal string in the company's currency, or a 400 naming the field. */
export function amountMinor(company: CompanyContext, text: string, field: string): number {
  const r = parseAmount(text, company.currency);
  if (!r.ok) throw invalid(r.error, field);
  return r.value;
}

export const json = <T extends z.ZodType>(schema: T, description = "OK") =>
  ({ description, content: { "application/json": { schema } } }) as const;

export const jsonBody = <T extends z.ZodType>(schema: T) =>
  ({ body: { content: { "application/json": { schema } }, required: true } }) as const;
