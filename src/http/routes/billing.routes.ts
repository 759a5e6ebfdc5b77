/**
 * @module Money over HTTP: purchases, allocations and reclaims of credit, subscriptions and numbers,
 * auto-allocation rules, rates and plans, usage ingestion in batches, balances, and the audit log.
 * Every write runs in one transaction through the same services as the CLI and the importer, and answers
 * with the balances it changed so that a page can show them without a second request.
 */
import type { Context } from "hono";
import { createRoute, z } from "@hono/zod-openapi";
import { inTransaction } from "../../db/database";
import type { Db } from "../../db/database";
import { parseUsageRecord } from "../../ingest/usage-record";
import { formatAmount } from "../../money/money";
import {
  allocateCredit,
  allocateNumber,
  allocateSubscription,
  setRenewal,
  NUMBER_TERM_MONTHS_MAX,
  reclaimCredit,
  setAutoRule,
} from "../../services/allocation.service";
import { writeAudit } from "../../services/audit";
import { createPlan, loadRateTable, PLAN_PREFIXES_MAX, putRate } from "../../services/catalog.service";
import type { CompanyContext } from "../../services/company-context";
import { accountBalance } from "../../services/ledger";
import { requireSubject, SIP_PREFIX, subjectDirectory } from "../../services/people.service";
import type { Subject } from "../../services/people.service";
import {
  PAYMENT_METHODS,
  recordPurchase,
  REFERENCE_LENGTH_MAX,
  settlePurchase,
} from "../../services/purchase.service";
import { ingestUsage, USAGE_BATCH_RECORDS_MAX } from "../../services/usage.service";
import type { UsageInput } from "../../services/usage.service";
import { notFound } from "../../shared/errors";
import { formatLocalIso } from "../../time/month";
import { authorize, MANAGE, OWNER, READ } from "../auth";
import type { Access } from "../auth";
import { principalLabel } from "../context";
import type { AppEnv, Principal } from "../context";
import { AmountSchema, amountMinor, createRouter, errorResponses, json, jsonBody } from "../router";

/** Rows a list answers at most per page (`limit`); older rows are reached with `before` = the last id. */
export const LIST_ROWS_MAX = 500;
export const LIST_ROWS_DEFAULT = 100;
/** A username (≤ 100) or "sip:" + a SIP profile name (≤ 200). */
export const SUBJECT_REF_CHARS_MAX = 210;
export const PLAN_NAME_CHARS_MAX = 200;
/** A month of calls around the clock is 44,640 minutes; no plan needs a thousand times that. */
export const PLAN_MINUTES_MAX = 50_000_000;
const DECIMAL_TEXT_CHARS_MAX = 32;

/** Writes: owners and admins, or an API key with the scope. */
const BILLING_WRITE: Access = { ...MANAGE, scope: "billing:write" };
/** Reads of billing data: owners, admins and viewers, or an API key that may write it. */
const BILLING_READ: Access = { ...READ, scope: "billing:write" };

type Ctx = Context<AppEnv>;

const refOf = (s: Pick<Subject, "username" | "name">): string => s.username ?? SIP_PREFIX + s.name;
const money = (company: CompanyContext, minor: number): string => formatAmount(minor, company.currency);
const iso = (company: CompanyContext, ms: number): string => formatLocalIso(ms, company.timezone);
const actorAdminId = (p: Principal): number | null => (p.kind === "admin" ? p.admin.id : null);
const companyBalance = async (db: Db, company: CompanyContext): Promise<string> =>
  money(company, await accountBalance(db, company.companyAccountId));

/** Authorizes, then runs `fn` in one transaction with the caller's company. */
async function write<T>(
  c: Ctx,
  access: Access,
  fn: (tx: Db, company: CompanyContext, principal: Principal, nowMs: number) => Promise<T>,
): Promise<T> {
  const { principal, company } = await authorize(c, access);
  const { db, clock } = c.get("deps");
  const nowMs = clock.now();
  return inTransaction(db, (tx) => fn(tx, company, principal, nowMs));
}

// ---------------------------------------------------------------- schemas

const SubjectRef = z
  .string()
  .min(1)
  .max(SUBJECT_REF_CHARS_MAX)
  .openapi({ example: "acme.bob", description: "A member's username, or \"sip:\" + a SIP profile's name" });

const DecimalText = z
  .string()
  .max(DECIMAL_TEXT_CHARS_MAX)
  .regex(/^\d+(\.\d+)?$/, 'must be a decimal string like "0.0230"');

const Paging = {
  limit: z.coerce.number().int().min(1).max(LIST_ROWS_MAX).default(LIST_ROWS_DEFAULT),
  before: z.coerce.number().int().positive().optional().openapi({ description: "Rows with a smaller id" }),
};

const PurchaseSchema = z
  .object({
    id: z.number(),
    reference: z.string(),
    amount: z.string(),
    vat_rate: z.string(),
    vat: z.string(),
    total: z.string(),
    currency: z.string(),
    payment_method: z.enum(["card", "bank_transfer", "invoice", "voucher"]),
    status: z.enum(["completed", "pending", "failed"]),
    date: z.string(),
    settled_at: z.string().nullable(),
    purchased_by: z.string().nullable(),
    company_balance: z.string(),
  })
  .openapi("Purchase");

const TransferResultSchema = z
  .object({
    transfer_id: z.number(),
    amount: z.string(),
    currency: z.string(),
    subject: z.string(),
    recipient_balance: z.string(),
    company_balance: z.string(),
  })
  .openapi("CreditTransfer");

const SubscriptionSchema = z
  .object({
    id: z.number(),
    subject: z.string(),
    recipient: z.string(),
    plan_id: z.number(),
    plan: z.string(),
    price: z.string(),
    allocated_at: z.string(),
    active_from: z.string(),
    active_until: z.string(),
    status: z.enum(["upcoming", "active", "ended"]),
    minutes: z.number(),
    used_minutes: z.number(),
    remaining_minutes: z.number(),
    renew: z.boolean(),
    renewal_state: z.enum(["active", "renewed", "lapsed"]),
  })
  .openapi("Subscription");

const NumberSchema = z
  .object({
    id: z.number(),
    subject: z.string(),
    recipient: z.string(),
    number: z.string(),
    months: z.number(),
    price: z.string(),
    allocated_at: z.string(),
    active_until: z.string(),
    status: z.enum(["active", "ended"]),
    renew: z.boolean(),
    renewal_state: z.enum(["active", "renewed", "lapsed"]),
  })
  .openapi("PhoneNumber");

type SubscriptionView = z.infer<typeof SubscriptionSchema>;
type NumberView = z.infer<typeof NumberSchema>;

const AutoRuleSchema = z
  .object({
    subject: z.string(),
    recipient: z.string(),
    threshold: z.string(),
    amount: z.string(),
    monthly_cap: z.string(),
    set_by: z.string().nullable(),
    updated_at: z.string(),
  })
  .openapi("AutoRule");

const RateSchema = z
  .object({
    prefix: z.string(),
    name: z.string(),
    per_minute: z.string(),
    connection_fee: z.string(),
    interval: z.string(),
    sms: z.string(),
  })
  .openapi("Rate");

const PlanSchema = z
  .object({
    id: z.number(),
    name: z.string(),
    price: z.string(),
    currency: z.string(),
    prefixes: z.array(z.string()),
    minutes: z.number(),
  })
  .openapi("Plan");

const SubjectParam = z.object({
  subject: SubjectRef.openapi({ param: { name: "subject", in: "path" } }),
});
const PrefixParam = z.object({
  prefix: z
    .string()
    .regex(/^\d{1,15}$/, "must be 1 to 15 digits")
    .openapi({ param: { name: "prefix", in: "path" }, example: "44" }),
});
const ReferenceParam = z.object({
  reference: z
    .string()
    .min(1)
    .max(REFERENCE_LENGTH_MAX)
    .openapi({ param: { name: "reference", in: "path" }, example: "P-1001" }),
});
const IdParam = z.object({
  id: z.coerce
    .number()
    .int()
    .positive()
    .openapi({ param: { name: "id", in: "path" } }),
});
const RenewBody = z.object({ renew: z.boolean() });

// ---------------------------------------------------------------- views

async function purchaseView(db: Db, company: CompanyContext, reference: string) {
  const p = await db.k
    .selectFrom("purchases as p")
    .leftJoin("admins as a", "a.id", "p.purchased_by_admin_id")
    .selectAll("p")
    .select("a.email")
    .where("p.company_id", "=", company.id)
    .where("p.reference", "=", reference)
    .executeTakeFirst();
  if (!p) throw notFound(`no purchase with reference ${reference}`);
  return {
    id: p.id,
    reference: p.reference,
    amount: money(company, p.amount_minor),
    vat_rate: p.vat_rate,
    vat: money(company, p.vat_minor),
    total: money(company, p.total_minor),
    currency: company.currency,
    payment_method: p.payment_method,
    status: p.status,
    date: iso(company, p.created_at_ms),
    settled_at: p.settled_at_ms === null ? null : iso(company, p.settled_at_ms),
    purchased_by: p.email,
    company_balance: await companyBalance(db, company),
  };
}

/** Subject references and display names of the accounts that hold features or rules. */
function subjectColumns<
  T extends { username: string | null; member_name: string | null; sip_name: string | null },
>(r: T): { subject: string; recipient: string } {
  if (r.username !== null) return { subject: r.username, recipient: r.member_name ?? r.username };
  return { subject: SIP_PREFIX + (r.sip_name ?? ""), recipient: r.sip_name ?? "" };
}

async function listSubscriptions(
  db: Db,
  company: CompanyContext,
  nowMs: number,
  q: { accountId?: number; id?: number; limit: number; before?: number | undefined },
) {
  let query = db.k
    .selectFrom("subscriptions as s")
    .innerJoin("plans as p", "p.id", "s.plan_id")
    .innerJoin("transfers as t", "t.id", "s.transfer_id")
    .leftJoin("members as m", "m.account_id", "s.account_id")
    .leftJoin("sip_profiles as sp", "sp.account_id", "s.account_id")
    .selectAll("s")
    .select([
      "p.name as plan_name",
      "t.amount_minor",
      "m.username",
      "m.name as member_name",
      "sp.name as sip_name",
    ])
    .where("s.company_id", "=", company.id);
  if (q.accountId !== undefined) query = query.where("s.account_id", "=", q.accountId);
  if (q.id !== undefined) query = query.where("s.id", "=", q.id);
  if (q.before !== undefined) query = query.where("s.id", "<", q.before);
  const rows = await query.orderBy("s.id", "desc").limit(q.limit).execute();
  return rows.map((r): SubscriptionView => ({
    id: r.id,
    ...subjectColumns(r),
    plan_id: r.plan_id,
    plan: r.plan_name,
    price: money(company, r.amount_minor),
    allocated_at: iso(company, r.allocated_at_ms),
    active_from: iso(company, r.active_from_ms),
    active_until: iso(company, r.active_until_ms),
    status: nowMs < r.active_from_ms ? "upcoming" : nowMs < r.active_until_ms ? "active" : "ended",
    minutes: r.minutes,
    used_minutes: r.used_minutes,
    remaining_minutes: Math.max(0, r.minutes - r.used_minutes),
    renew: r.renew === 1,
    renewal_state: r.renewal_state,
  }));
}

async function listNumbers(
  db: Db,
  company: CompanyContext,
  nowMs: number,
  q: { accountId?: number; id?: number; limit: number; before?: number | undefined },
) {
  let query = db.k
    .selectFrom("numbers as n")
    .leftJoin("members as m", "m.account_id", "n.account_id")
    .leftJoin("sip_profiles as sp", "sp.account_id", "n.account_id")
    .selectAll("n")
    .select(["m.username", "m.name as member_name", "sp.name as sip_name"])
    .where("n.company_id", "=", company.id);
  if (q.accountId !== undefined) query = query.where("n.account_id", "=", q.accountId);
  if (q.id !== undefined) query = query.where("n.id", "=", q.id);
  if (q.before !== undefined) query = query.where("n.id", "<", q.before);
  const rows = await query.orderBy("n.id", "desc").limit(q.limit).execute();
  return rows.map((r): NumberView => ({
    id: r.id,
    ...subjectColumns(r),
    number: r.number,
    months: r.months,
    price: money(company, r.price_minor),
    allocated_at: iso(company, r.allocated_at_ms),
    active_until: iso(company, r.active_until_ms),
    status: nowMs < r.active_until_ms ? "active" : "ended",
    renew: r.renew === 1,
    renewal_state: r.renewal_state,
  }));
}

async function oneOf<T>(rows: Promise<T[]>, what: string): Promise<T> {
  const row = (await rows)[0];
  if (row === undefined) throw notFound(`no ${what}`);
  return row;
}

async function subjectFilter(db: Db, company: CompanyContext, ref: string | undefined) {
  return ref === undefined ? {} : { accountId: (await requireSubject(db, company.id, ref)).accountId };
}

// ---------------------------------------------------------------- routes

export function billingRoutes() {
  const app = createRouter();

  // Purchases ------------------------------------------------------------

  app.openapi(
    createRoute({
      method: "post",
      path: "/purchases",
      tags: ["Purchases"],
      summary: "Record a purchase of credit; a completed one adds its net amount to the company balance",
      request: jsonBody(
        z.object({
          reference: z.string().min(1).max(REFERENCE_LENGTH_MAX).openapi({ example: "P-1003" }),
          amount: AmountSchema.openapi({ description: "Net amount, before VAT" }),
          vat_rate: DecimalText.default("0").openapi({ example: "0.20", description: "0 to 1; default 0" }),
          payment_method: z.enum(PAYMENT_METHODS as ["card", "bank_transfer", "invoice", "voucher"]),
          status: z.enum(["completed", "pending", "failed"]),
        }),
      ),
      responses: {
        201: json(PurchaseSchema, "The purchase, with the company balance after it"),
        ...errorResponses,
      },
    }),
    async (c) => {
      const body = c.req.valid("json");
      const view = await write(c, BILLING_WRITE, async (tx, company, principal, nowMs) => {
        await recordPurchase(tx, company, {
          reference: body.reference,
          amountMinor: amountMinor(company, body.amount, "amount"),
          vatRate: body.vat_rate,
          paymentMethod: body.payment_method,
          status: body.status,
          atMs: nowMs,
          actorAdminId: actorAdminId(principal),
        });
        return purchaseView(tx, company, body.reference);
      });
      return c.json(view, 201);
    },
  );

  app.openapi(
    createRoute({
      method: "post",
      path: "/purchases/{reference}/settle",
      tags: ["Purchases"],
      summary: "Settle a pending purchase: completed (its credit enters now) or failed",
      request: { params: ReferenceParam, ...jsonBody(z.object({ status: z.enum(["completed", "failed"]) })) },
      responses: { 200: json(PurchaseSchema), ...errorResponses },
    }),
    async (c) => {
      const { reference } = c.req.valid("param");
      const { status } = c.req.valid("json");
      const view = await write(c, BILLING_WRITE, async (tx, company, principal, nowMs) => {
        await settlePurchase(tx, company, {
          reference,
          status,
          atMs: nowMs,
          actorAdminId: actorAdminId(principal),
        });
        return purchaseView(tx, company, reference);
      });
      return c.json(view, 200);
    },
  );

  app.openapi(
    createRoute({
      method: "get",
      path: "/purchases/{reference}",
      tags: ["Purchases"],
      summary: "One purchase by its reference",
      request: { params: ReferenceParam },
      responses: { 200: json(PurchaseSchema), ...errorResponses },
    }),
    async (c) => {
      const { reference } = c.req.valid("param");
      const { company } = await authorize(c, BILLING_READ);
      return c.json(await purchaseView(c.get("deps").db, company, reference), 200);
    },
  );

  // Credit ---------------------------------------------------------------

  app.openapi(
    createRoute({
      method: "post",
      path: "/allocations/credit",
      tags: ["Allocations"],
      summary: "Allocate credit from the company balance to a member or SIP profile",
      request: jsonBody(z.object({ to: SubjectRef, amount: AmountSchema })),
      responses: { 200: json(TransferResultSchema), ...errorResponses },
    }),
    async (c) => {
      const body = c.req.valid("json");
      const result = await write(c, BILLING_WRITE, async (tx, company, principal, nowMs) => {
        const to = await requireSubject(tx, company.id, body.to);
        const amount = amountMinor(company, body.amount, "amount");
        const transferId = await allocateCredit(tx, company, {
          to,
          amountMinor: amount,
          atMs: nowMs,
          actorAdminId: actorAdminId(principal),
        });
        return {
          transfer_id: transferId,
          amount: money(company, amount),
          currency: company.currency,
          subject: refOf(to),
          recipient_balance: money(company, await accountBalance(tx, to.accountId)),
          company_balance: await companyBalance(tx, company),
        };
      });
      return c.json(result, 200);
    },
  );

  app.openapi(
    createRoute({
      method: "post",
      path: "/reclaims",
      tags: ["Allocations"],
      summary: "Take credit back from a business member or SIP profile (at most its balance)",
      request: jsonBody(z.object({ from: SubjectRef, amount: AmountSchema })),
      responses: { 200: json(TransferResultSchema), ...errorResponses },
    }),
    async (c) => {
      const body = c.req.valid("json");
      const result = await write(c, BILLING_WRITE, async (tx, company, principal, nowMs) => {
        const from = await requireSubject(tx, company.id, body.from);
        const amount = amountMinor(company, body.amount, "amount");
        const transferId = await reclaimCredit(tx, company, {
          from,
          amountMinor: amount,
          atMs: nowMs,
          actorAdminId: actorAdminId(principal),
        });
        return {
          transfer_id: transferId,
          amount: money(company, amount),
          currency: company.currency,
          subject: refOf(from),
          recipient_balance: money(company, await accountBalance(tx, from.accountId)),
          company_balance: await companyBalance(tx, company),
        };
      });
      return c.json(result, 200);
    },
  );

  // Subscriptions and numbers ---------------------------------------------

  const Allocated = <T extends z.ZodType>(schema: T, name: string) =>
    z.object({ item: schema, company_balance: z.string() }).openapi(name);

  app.openapi(
    createRoute({
      method: "post",
      path: "/subscriptions",
      tags: ["Subscriptions"],
      summary: "Allocate a calling plan, paid from the company balance, active for one month from now",
      request: jsonBody(
        z.object({
          to: SubjectRef,
          plan_id: z.number().int().positive(),
          renew: z.boolean().default(false).openapi({ description: "Renew at the end of the month" }),
        }),
      ),
      responses: { 201: json(Allocated(SubscriptionSchema, "AllocatedSubscription")), ...errorResponses },
    }),
    async (c) => {
      const body = c.req.valid("json");
      const result = await write(c, BILLING_WRITE, async (tx, company, principal, nowMs) => {
        const to = await requireSubject(tx, company.id, body.to);
        const id = await allocateSubscription(tx, company, {
          to,
          planId: body.plan_id,
          atMs: nowMs,
          actorAdminId: actorAdminId(principal),
          renew: body.renew,
        });
        return {
          item: await oneOf(listSubscriptions(tx, company, nowMs, { id, limit: 1 }), `subscription ${id}`),
          company_balance: await companyBalance(tx, company),
        };
      });
      return c.json(result, 201);
    },
  );

  app.openapi(
    createRoute({
      method: "get",
      path: "/subscriptions",
      tags: ["Subscriptions"],
      summary: "Subscriptions, active and past, newest first, with the minutes used",
      request: { query: z.object({ subject: SubjectRef.optional(), ...Paging }) },
      responses: { 200: json(z.object({ items: z.array(SubscriptionSchema) })), ...errorResponses },
    }),
    async (c) => {
      const q = c.req.valid("query");
      const { company } = await authorize(c, BILLING_READ);
      const { db, clock } = c.get("deps");
      const filter = await subjectFilter(db, company, q.subject);
      const items = await listSubscriptions(db, company, clock.now(), {
        ...filter,
        limit: q.limit,
        before: q.before,
      });
      return c.json({ items }, 200);
    },
  );

  app.openapi(
    createRoute({
      method: "patch",
      path: "/subscriptions/{id}",
      tags: ["Subscriptions"],
      summary: "Turn renewal at the end of the term on or off",
      request: { params: IdParam, ...jsonBody(RenewBody) },
      responses: { 200: json(SubscriptionSchema), ...errorResponses },
    }),
    async (c) => {
      const { id } = c.req.valid("param");
      const { renew } = c.req.valid("json");
      const item = await write(c, BILLING_WRITE, async (tx, company, _principal, nowMs) => {
        await setRenewal(tx, company, "subscriptions", id, renew);
        return oneOf(listSubscriptions(tx, company, nowMs, { id, limit: 1 }), `subscription ${id}`);
      });
      return c.json(item, 200);
    },
  );

  app.openapi(
    createRoute({
      method: "post",
      path: "/numbers",
      tags: ["Numbers"],
      summary: "Allocate an online phone number for a term of months; the price is for the whole term",
      request: jsonBody(
        z.object({
          to: SubjectRef,
          number: z.string().max(32).openapi({ example: "+442079460000" }),
          months: z.number().int().min(1).max(NUMBER_TERM_MONTHS_MAX),
          price: AmountSchema.openapi({ description: "For the whole term" }),
          renew: z.boolean().default(false).openapi({ description: "Renew for the same term at its end" }),
        }),
      ),
      responses: { 201: json(Allocated(NumberSchema, "AllocatedNumber")), ...errorResponses },
    }),
    async (c) => {
      const body = c.req.valid("json");
      const result = await write(c, BILLING_WRITE, async (tx, company, principal, nowMs) => {
        const to = await requireSubject(tx, company.id, body.to);
        const id = await allocateNumber(tx, company, {
          to,
          number: body.number,
          months: body.months,
          priceMinor: amountMinor(company, body.price, "price"),
          atMs: nowMs,
          actorAdminId: actorAdminId(principal),
          renew: body.renew,
        });
        return {
          item: await oneOf(listNumbers(tx, company, nowMs, { id, limit: 1 }), `number ${id}`),
          company_balance: await companyBalance(tx, company),
        };
      });
      return c.json(result, 201);
    },
  );

  app.openapi(
    createRoute({
      method: "get",
      path: "/numbers",
      tags: ["Numbers"],
      summary: "Phone numbers, active and past, newest first",
      request: { query: z.object({ subject: SubjectRef.optional(), ...Paging }) },
      responses: { 200: json(z.object({ items: z.array(NumberSchema) })), ...errorResponses },
    }),
    async (c) => {
      const q = c.req.valid("query");
      const { company } = await authorize(c, BILLING_READ);
      const { db, clock } = c.get("deps");
      const filter = await subjectFilter(db, company, q.subject);
      const items = await listNumbers(db, company, clock.now(), {
        ...filter,
        limit: q.limit,
        before: q.before,
      });
      return c.json({ items }, 200);
    },
  );

  app.openapi(
    createRoute({
      method: "patch",
      path: "/numbers/{id}",
      tags: ["Numbers"],
      summary: "Turn renewal at the end of the term on or off",
      request: { params: IdParam, ...jsonBody(RenewBody) },
      responses: { 200: json(NumberSchema), ...errorResponses },
    }),
    async (c) => {
      const { id } = c.req.valid("param");
      const { renew } = c.req.valid("json");
      const item = await write(c, BILLING_WRITE, async (tx, company, _principal, nowMs) => {
        await setRenewal(tx, company, "numbers", id, renew);
        return oneOf(listNumbers(tx, company, nowMs, { id, limit: 1 }), `number ${id}`);
      });
      return c.json(item, 200);
    },
  );

  // Auto-allocation rules -----------------------------------------------------

  const listRules = async (db: Db, company: CompanyContext, accountId?: number) => {
    let q = db.k
      .selectFrom("auto_rules as r")
      .leftJoin("admins as a", "a.id", "r.set_by_admin_id")
      .leftJoin("members as m", "m.account_id", "r.account_id")
      .leftJoin("sip_profiles as sp", "sp.account_id", "r.account_id")
      .selectAll("r")
      .select(["a.email", "m.username", "m.name as member_name", "sp.name as sip_name"])
      .where("r.company_id", "=", company.id);
    if (accountId !== undefined) q = q.where("r.account_id", "=", accountId);
    const rows = await q.orderBy("r.id").execute();
    return rows.map((r) => ({
      ...subjectColumns(r),
      threshold: money(company, r.threshold_minor),
      amount: money(company, r.amount_minor),
      monthly_cap: money(company, r.monthly_cap_minor),
      set_by: r.email,
      updated_at: iso(company, r.updated_at_ms),
    }));
  };

  app.openapi(
    createRoute({
      method: "get",
      path: "/auto-rules",
      tags: ["Auto-allocation"],
      summary: "Every auto-allocation rule of the company",
      responses: { 200: json(z.object({ items: z.array(AutoRuleSchema) })), ...errorResponses },
    }),
    async (c) => {
      const { company } = await authorize(c, BILLING_READ);
      return c.json({ items: await listRules(c.get("deps").db, company) }, 200);
    },
  );

  app.openapi(
    createRoute({
      method: "put",
      path: "/auto-rules/{subject}",
      tags: ["Auto-allocation"],
      summary: "Set (or replace) the auto-allocation rule of a member or SIP profile; never triggers it",
      request: {
        params: SubjectParam,
        ...jsonBody(z.object({ threshold: AmountSchema, amount: AmountSchema, monthly_cap: AmountSchema })),
      },
      responses: { 200: json(AutoRuleSchema), ...errorResponses },
    }),
    async (c) => {
      const { subject } = c.req.valid("param");
      const body = c.req.valid("json");
      const rule = await write(c, BILLING_WRITE, async (tx, company, principal, nowMs) => {
        const s = await requireSubject(tx, company.id, subject);
        await setAutoRule(tx, company, {
          subject: s,
          thresholdMinor: amountMinor(company, body.threshold, "threshold"),
          amountMinor: amountMinor(company, body.amount, "amount"),
          monthlyCapMinor: amountMinor(company, body.monthly_cap, "monthly_cap"),
          atMs: nowMs,
          actorAdminId: actorAdminId(principal),
          actor: principalLabel(principal),
        });
        return oneOf(listRules(tx, company, s.accountId), `rule for ${subject}`);
      });
      return c.json(rule, 200);
    },
  );

  app.openapi(
    createRoute({
      method: "delete",
      path: "/auto-rules/{subject}",
      tags: ["Auto-allocation"],
      summary: "Remove the auto-allocation rule of a member or SIP profile",
      request: { params: SubjectParam },
      responses: { 204: { description: "Removed" }, ...errorResponses },
    }),
    async (c) => {
      const { subject } = c.req.valid("param");
      await write(c, BILLING_WRITE, async (tx, company, principal, nowMs) => {
        const s = await requireSubject(tx, company.id, subject);
        const done = await tx.k
          .deleteFrom("auto_rules")
          .where("account_id", "=", s.accountId)
          .executeTakeFirst();
        if (Number(done.numDeletedRows) === 0) throw notFound(`${subject} has no auto-allocation rule`);
        await writeAudit(tx, company.id, {
          atMs: nowMs,
          actor: principalLabel(principal),
          action: "auto_rule.deleted",
          subject: refOf(s),
        });
      });
      return c.body(null, 204);
    },
  );

  // Rates and plans --------------------------------------------------------

  const rateView = (r: {
    prefix: string;
    name: string;
    per_minute: string;
    connection_fee: string;
    interval: string;
    sms: string;
  }) => ({
    prefix: r.prefix,
    name: r.name,
    per_minute: r.per_minute,
    connection_fee: r.connection_fee,
    interval: r.interval,
    sms: r.sms,
  });

  app.openapi(
    createRoute({
      method: "get",
      path: "/rates",
      tags: ["Rates and plans"],
      summary: "The rate table, by prefix",
      responses: { 200: json(z.object({ items: z.array(RateSchema) })), ...errorResponses },
    }),
    async (c) => {
      const { company } = await authorize(c, BILLING_READ);
      const rows = await c
        .get("deps")
        .db.k.selectFrom("rates")
        .selectAll()
        .where("company_id", "=", company.id)
        .orderBy("prefix")
        .execute();
      return c.json({ items: rows.map(rateView) }, 200);
    },
  );

  app.openapi(
    createRoute({
      method: "put",
      path: "/rates/{prefix}",
      tags: ["Rates and plans"],
      summary: "Add or replace the rate of a destination prefix (applies to usage ingested from now on)",
      request: {
        params: PrefixParam,
        ...jsonBody(
          z.object({
            name: z.string().min(1).max(PLAN_NAME_CHARS_MAX),
            per_minute: DecimalText.openapi({ example: "0.0230" }),
            connection_fee: DecimalText.default("0").openapi({ example: "0.0390" }),
            interval: z.string().max(20).default("60/60").openapi({ example: "60/60" }),
            sms: DecimalText.default("0").openapi({ example: "0.1100" }),
          }),
        ),
      },
      responses: { 200: json(RateSchema), ...errorResponses },
    }),
    async (c) => {
      const { prefix } = c.req.valid("param");
      const body = c.req.valid("json");
      const rate = await write(c, BILLING_WRITE, async (tx, company, principal, nowMs) => {
        await putRate(tx, company, {
          prefix,
          name: body.name,
          perMinute: body.per_minute,
          connectionFee: body.connection_fee,
          interval: body.interval,
          sms: body.sms,
        });
        await writeAudit(tx, company.id, {
          atMs: nowMs,
          actor: principalLabel(principal),
          action: "rate.set",
          subject: prefix,
          details: { ...body },
        });
        const row = await tx.k
          .selectFrom("rates")
          .selectAll()
          .where("company_id", "=", company.id)
          .where("prefix", "=", prefix)
          .executeTakeFirstOrThrow();
        return rateView(row);
      });
      return c.json(rate, 200);
    },
  );

  app.openapi(
    createRoute({
      method: "delete",
      path: "/rates/{prefix}",
      tags: ["Rates and plans"],
      summary: "Remove the rate of a prefix (calls to it are then rated by a shorter prefix, or unrated)",
      request: { params: PrefixParam },
      responses: { 204: { description: "Removed" }, ...errorResponses },
    }),
    async (c) => {
      const { prefix } = c.req.valid("param");
      await write(c, BILLING_WRITE, async (tx, company, principal, nowMs) => {
        const done = await tx.k
          .deleteFrom("rates")
          .where("company_id", "=", company.id)
          .where("prefix", "=", prefix)
          .executeTakeFirst();
        if (Number(done.numDeletedRows) === 0) throw notFound(`no rate for prefix ${prefix}`);
        await writeAudit(tx, company.id, {
          atMs: nowMs,
          actor: principalLabel(principal),
          action: "rate.deleted",
          subject: prefix,
        });
      });
      return c.body(null, 204);
    },
  );

  const planView = (
    company: CompanyContext,
    p: { id: number; name: string; price_minor: number; prefixes: string; minutes: number },
  ) => ({
    id: p.id,
    name: p.name,
    price: money(company, p.price_minor),
    currency: company.currency,
    prefixes: p.prefixes.split(","),
    minutes: p.minutes,
  });

  app.openapi(
    createRoute({
      method: "get",
      path: "/plans",
      tags: ["Rates and plans"],
      summary: "The company's calling plans",
      responses: { 200: json(z.object({ items: z.array(PlanSchema) })), ...errorResponses },
    }),
    async (c) => {
      const { company } = await authorize(c, BILLING_READ);
      const rows = await c
        .get("deps")
        .db.k.selectFrom("plans")
        .selectAll()
        .where("company_id", "=", company.id)
        .orderBy("id")
        .execute();
      return c.json({ items: rows.map((p) => planView(company, p)) }, 200);
    },
  );

  app.openapi(
    createRoute({
      method: "post",
      path: "/plans",
      tags: ["Rates and plans"],
      summary:
        "Create a calling plan: a monthly price, the prefixes it covers, a monthly allowance of minutes",
      request: jsonBody(
        z.object({
          name: z.string().trim().min(1).max(PLAN_NAME_CHARS_MAX),
          price: AmountSchema,
          prefixes: z
            .array(z.string().max(15))
            .min(1)
            .max(PLAN_PREFIXES_MAX)
            .openapi({ example: ["44"] }),
          minutes: z.number().int().min(0).max(PLAN_MINUTES_MAX),
        }),
      ),
      responses: { 201: json(PlanSchema), ...errorResponses },
    }),
    async (c) => {
      const body = c.req.valid("json");
      const plan = await write(c, BILLING_WRITE, async (tx, company, principal, nowMs) => {
        const id = await createPlan(tx, company, {
          name: body.name,
          priceMinor: amountMinor(company, body.price, "price"),
          prefixes: body.prefixes,
          minutes: body.minutes,
        });
        await writeAudit(tx, company.id, {
          atMs: nowMs,
          actor: principalLabel(principal),
          action: "plan.created",
          subject: body.name,
          details: { id, price: body.price, prefixes: body.prefixes, minutes: body.minutes },
        });
        const row = await tx.k.selectFrom("plans").selectAll().where("id", "=", id).executeTakeFirstOrThrow();
        return planView(company, row);
      });
      return c.json(plan, 201);
    },
  );

  // Usage ------------------------------------------------------------------

  app.openapi(
    createRoute({
      method: "post",
      path: "/usage",
      tags: ["Usage"],
      summary: "Ingest a batch of usage records (§9): valid ones are stored and charged, invalid ones listed",
      description:
        `Up to ${USAGE_BATCH_RECORDS_MAX} records, each with the keys external_id, subject, kind, started_at, ` +
        "destination, duration_s (calls), segments (SMS). The answer is 200 whenever the batch itself is " +
        "well-formed, even if some or all records were rejected: `rejected` lists each with its 0-based " +
        "index, the field and the reason, and nothing valid is lost because of them. A record whose " +
        "external_id the company already has is counted in `duplicates` and changes nothing, so a batch " +
        "can be re-sent safely.",
      request: jsonBody(
        z.object({
          records: z
            .array(z.unknown().openapi({ description: "A usage record" }))
            .max(USAGE_BATCH_RECORDS_MAX),
        }),
      ),
      responses: {
        200: json(
          z
            .object({
              stored: z.number(),
              duplicates: z.number(),
              unrated: z.number(),
              charged: z.string(),
              currency: z.string(),
              auto_allocations: z.number(),
              rejected: z.array(
                z.object({
                  index: z.number(),
                  external_id: z.string().nullable(),
                  field: z.string(),
                  reason: z.string(),
                }),
              ),
            })
            .openapi("UsageBatchResult"),
        ),
        ...errorResponses,
      },
    }),
    async (c) => {
      const { records } = c.req.valid("json");
      const result = await write(
        c,
        { ...MANAGE, scope: "usage:write" },
        async (tx, company, principal, nowMs) => {
          const subjects = await subjectDirectory(tx, company.id);
          const valid: UsageInput[] = [];
          const validIndex: number[] = [];
          const rejected: { index: number; external_id: string | null; field: string; reason: string }[] = [];
          records.forEach((raw, index) => {
            const parsed = parseUsageRecord(raw, subjects);
            if (parsed.ok) {
              valid.push(parsed.value);
              validIndex.push(index);
            } else {
              const id =
                typeof raw === "object" && raw !== null
                  ? (raw as Record<string, unknown>)["external_id"]
                  : null;
              rejected.push({ index, external_id: typeof id === "string" ? id : null, ...parsed.error });
            }
          });
          const rates = await loadRateTable(tx, company.id);
          const r = await ingestUsage(tx, company, valid, { nowMs, rates, actor: principalLabel(principal) });
          // Records of a month whose detail retention removed are refused by ingestUsage itself.
          for (const x of r.rejected)
            rejected.push({
              index: validIndex[x.index] ?? x.index,
              external_id: x.externalId,
              field: x.field,
              reason: x.reason,
            });
          rejected.sort((a, b) => a.index - b.index);
          return {
            stored: r.stored,
            duplicates: r.duplicates,
            unrated: r.unrated,
            charged: money(company, r.chargedMinor),
            currency: company.currency,
            auto_allocations: r.autoAllocations,
            rejected,
          };
        },
      );
      return c.json(result, 200);
    },
  );

  // Balances and the audit log ----------------------------------------------

  app.openapi(
    createRoute({
      method: "get",
      path: "/balances",
      tags: ["Balances"],
      summary: "The company balance and every member's and SIP profile's balance",
      responses: {
        200: json(
          z
            .object({
              currency: z.string(),
              company_balance: z.string(),
              subjects: z.array(
                z.object({
                  type: z.enum(["member", "sip_profile"]),
                  subject: z.string(),
                  name: z.string(),
                  balance: z.string(),
                }),
              ),
            })
            .openapi("Balances"),
        ),
        ...errorResponses,
      },
    }),
    async (c) => {
      const { company } = await authorize(c, { ...READ, scope: "reports:read" });
      const { db } = c.get("deps");
      const members = await db.k
        .selectFrom("members as m")
        .innerJoin("accounts as a", "a.id", "m.account_id")
        .select(["m.username", "m.name", "a.balance_minor"])
        .where("m.company_id", "=", company.id)
        .orderBy("m.name")
        .orderBy("m.username")
        .execute();
      const sips = await db.k
        .selectFrom("sip_profiles as s")
        .innerJoin("accounts as a", "a.id", "s.account_id")
        .select(["s.name", "a.balance_minor"])
        .where("s.company_id", "=", company.id)
        .orderBy("s.name")
        .execute();
      return c.json(
        {
          currency: company.currency,
          company_balance: await companyBalance(db, company),
          subjects: [
            ...members.map((m) => ({
              type: "member" as const,
              subject: m.username,
              name: m.name,
              balance: money(company, m.balance_minor),
            })),
            ...sips.map((s) => ({
              type: "sip_profile" as const,
              subject: SIP_PREFIX + s.name,
              name: s.name,
              balance: money(company, s.balance_minor),
            })),
          ],
        },
        200,
      );
    },
  );

  app.openapi(
    createRoute({
      method: "get",
      path: "/audit-log",
      tags: ["Audit"],
      summary:
        "The audit log, newest first (owners only): who opened which usage report, rule changes, lapses…",
      request: {
        query: z.object({
          action: z.string().max(60).optional().openapi({ example: "usage_report.opened" }),
          ...Paging,
        }),
      },
      responses: {
        200: json(
          z
            .object({
              items: z.array(
                z.object({
                  id: z.number(),
                  at: z.string(),
                  actor: z.string(),
                  action: z.string(),
                  subject: z.string().nullable(),
                  details: z.record(z.string(), z.unknown()).nullable(),
                }),
              ),
              next_before: z.number().nullable(),
            })
            .openapi("AuditLog"),
        ),
        ...errorResponses,
      },
    }),
    async (c) => {
      const q = c.req.valid("query");
      const { company } = await authorize(c, OWNER);
      let query = c.get("deps").db.k.selectFrom("audit_log").selectAll().where("company_id", "=", company.id);
      if (q.action !== undefined) query = query.where("action", "=", q.action);
      if (q.before !== undefined) query = query.where("id", "<", q.before);
      const rows = await query.orderBy("id", "desc").limit(q.limit).execute();
      const last = rows[rows.length - 1];
      return c.json(
        {
          items: rows.map((r) => ({
            id: r.id,
            at: iso(company, r.at_ms),
            actor: r.actor,
            action: r.action,
            subject: r.subject,
            details: r.details === null ? null : (JSON.parse(r.details) as Record<string, unknown>),
          })),
          next_before: rows.length === q.limit && last ? last.id : null,
        },
        200,
      );
    },
  );

  return app;
}
