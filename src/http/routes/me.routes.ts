/** @module A member's own page: balance, this month's allocations and usage totals, consent on or off (§6). */
import { createRoute, z } from "@hono/zod-openapi";
import { inTransaction } from "../../db/database";
import { formatAmount } from "../../money/money";
import { accountBalance } from "../../services/ledger";
import { setConsent } from "../../services/people.service";
import { AppError } from "../../shared/errors";
import { formatLocalIso, monthOf } from "../../time/month";
import { authorize } from "../auth";
import { createRouter, errorResponses, json, jsonBody } from "../router";

const MeSchema = z
  .object({
    id: z.number(),
    name: z.string(),
    username: z.string(),
    email: z.string().nullable(),
    account_type: z.enum(["business", "personal"]),
    balance: z.string(),
    currency: z.string(),
    reports_consent: z.boolean(),
    consent_changed_at: z.string().nullable(),
    month: z.string(),
    allocations: z.array(
      z.object({
        date: z.string(),
        feature: z.string(),
        action: z.string(),
        detail: z.string().nullable(),
        amount: z.string(),
      }),
    ),
  })
  .openapi("Me");

export function meRoutes() {
  const app = createRouter();

  const me = async (c: Parameters<Parameters<typeof app.openapi>[1]>[0]) => {
    const { principal, company } = await authorize(c, { member: true });
    if (principal.kind !== "member") throw new AppError("forbidden", "this page is a member's own");
    const { db, clock } = c.get("deps");
    const m = await db.k
      .selectFrom("members")
      .selectAll()
      .where("id", "=", principal.memberId)
      .executeTakeFirstOrThrow();
    const month = monthOf(clock.now(), company.timezone);
    const transfers = await db.k
      .selectFrom("transfers")
      .select(["at_ms", "feature", "kind", "detail", "amount_minor"])
      .where("recipient_account_id", "=", m.account_id)
      .where("month", "=", month)
      .orderBy("at_ms")
      .orderBy("id")
      .execute();
    return {
      id: m.id,
      name: m.name,
      username: m.username,
      email: m.email,
      account_type: m.account_type,
      balance: formatAmount(await accountBalance(db, m.account_id), company.currency),
      currency: company.currency,
      reports_consent: m.reports_consent === 1,
      consent_changed_at:
        m.consent_changed_at_ms === null ? null : formatLocalIso(m.consent_changed_at_ms, company.timezone),
      month,
      allocations: transfers.map((t) => ({
        date: formatLocalIso(t.at_ms, company.timezone),
        feature: t.feature ?? "credit",
        action: t.kind === "subscription" || t.kind === "number" ? "allocate" : t.kind,
        detail: t.detail,
        amount: formatAmount(t.amount_minor, company.currency),
      })),
    };
  };

  app.openapi(
    createRoute({
      method: "get",
      path: "/me",
      tags: ["Member"],
      summary: "The signed-in member's own page",
      responses: { 200: json(MeSchema), ...errorResponses },
    }),
    async (c) => c.json(await me(c), 200),
  );

  app.openapi(
    createRoute({
      method: "post",
      path: "/me/consent",
      tags: ["Member"],
      summary: "Give or withdraw consent for the company's admins to see your usage reports",
      request: jsonBody(z.object({ granted: z.boolean() })),
      responses: { 200: json(MeSchema), ...errorResponses },
    }),
    async (c) => {
      const { principal, company } = await authorize(c, { member: true });
      if (principal.kind !== "member") throw new AppError("forbidden", "this page is a member's own");
      const { granted } = c.req.valid("json");
      const { db, clock } = c.get("deps");
      await inTransaction(db, (tx) => setConsent(tx, company, principal.memberId, granted, clock.now()));
      return c.json(await me(c), 200);
    },
  );

  return app;
}
