/**
 * @module Scheduled renewals of subscriptions and numbers at the end of their term (issue 3, item 7): a
 * feature set to renew is paid again from the company balance and continues; one that is not, or whose
 * company cannot pay, lapses with an audit entry. Safe to run from several server processes at once.
 */
import { inTransaction } from "../db/database";
import type { Db } from "../db/database";
import { formatAmount } from "../money/money";
import { addMonthsLocal } from "../time/month";
import { writeAudit } from "./audit";
import { loadCompany } from "./company-context";
import type { CompanyContext } from "./company-context";
import { lockCompanyBalance, postTransfer } from "./ledger";
import { SIP_PREFIX } from "./people.service";

/** Due rows looked at per kind in one run; the next run takes the rest. */
export const RENEWALS_PER_RUN_MAX = 1_000;
/** The audit log's actor for what the scheduler does on nobody's click. */
export const RENEWAL_ACTOR = "system:renewals";

export type RenewalOutcome = "renewed" | "lapsed" | "skipped";

/** Failure messages a run keeps for its log line; the count says how many there were. */
export const RENEWAL_ERRORS_KEPT_MAX = 5;

export interface RenewalRunResult {
  renewed: number;
  lapsed: number;
  /** Due when listed, but another process had already handled them by the time their turn came. */
  skipped: number;
  /** Rows whose transaction failed (rolled back; the next run tries them again). */
  failed: number;
  errors: string[];
}

type Kind = "subscription" | "number";

/**
 * Renews or lapses every subscription and number whose term ended at or before `nowMs` and that is still
 * `active`. Each one is handled in its own transaction that locks the company balance first and then
 * re-reads the row: a second process that listed the same row waits for the lock, then sees it is no
 * longer `active` and skips it, so nothing is ever renewed (or charged) twice.
 */
export async function runRenewals(db: Db, nowMs: number): Promise<RenewalRunResult> {
  const result: RenewalRunResult = { renewed: 0, lapsed: 0, skipped: 0, failed: 0, errors: [] };
  const companies = new Map<number, CompanyContext>();
  const companyOf = async (id: number): Promise<CompanyContext> => {
    let company = companies.get(id);
    if (!company) {
      company = await loadCompany(db, id);
      companies.set(id, company);
    }
    return company;
  };
  const due: { kind: Kind; id: number; companyId: number }[] = [];
  for (const kind of ["subscription", "number"] as const) {
    const rows = await db.k
      .selectFrom(kind === "subscription" ? "subscriptions" : "numbers")
      .select(["id", "company_id"])
      .where("renewal_state", "=", "active")
      .where("active_until_ms", "<=", nowMs)
      .orderBy("active_until_ms")
      .orderBy("id")
      .limit(RENEWALS_PER_RUN_MAX)
      .execute();
    for (const r of rows) due.push({ kind, id: r.id, companyId: r.company_id });
  }
  // One row that cannot be handled (its transaction rolls back) must not hold up every row after it.
  for (const d of due) {
    try {
      const company = await companyOf(d.companyId);
      const outcome = await inTransaction(db, (tx) =>
        d.kind === "subscription"
          ? renewSubscription(tx, company, d.id, nowMs)
          : renewNumber(tx, company, d.id, nowMs),
      );
      result[outcome]++;
    } catch (error) {
      result.failed++;
      if (result.errors.length < RENEWAL_ERRORS_KEPT_MAX)
        result.errors.push(`${d.kind} ${d.id}: ${error instanceof Error ? error.message : String(error)}`);
    }
  }
  return result;
}

/**
 * The next term starts where the last one ended, so a late run does not shift the anniversary. If the
 * scheduler was down for longer than a whole term, the next term starts now instead: a company is never
 * charged for a period that is already over.
 */
function nextTerm(
  endedMs: number,
  months: number,
  nowMs: number,
  tz: string,
): { fromMs: number; untilMs: number } {
  const untilMs = addMonthsLocal(endedMs, months, tz);
  if (untilMs > nowMs) return { fromMs: endedMs, untilMs };
  return { fromMs: nowMs, untilMs: addMonthsLocal(nowMs, months, tz) };
}

function shortReason(company: CompanyContext, balanceMinor: number, priceMinor: number): string {
  const cur = company.currency;
  return (
    `the company balance is ${formatAmount(balanceMinor, cur)} ${cur}, ` +
    `${formatAmount(priceMinor, cur)} ${cur} is needed`
  );
}

async function subjectRef(db: Db, accountId: number): Promise<string> {
  const member = await db.k
    .selectFrom("members")
    .select("username")
    .where("account_id", "=", accountId)
    .executeTakeFirst();
  if (member) return member.username;
  const sip = await db.k
    .selectFrom("sip_profiles")
    .select("name")
    .where("account_id", "=", accountId)
    .executeTakeFirst();
  return sip ? SIP_PREFIX + sip.name : `account:${accountId}`;
}

async function lapse(
  db: Db,
  company: CompanyContext,
  kind: Kind,
  row: { id: number; account_id: number; active_until_ms: number },
  reason: string,
  details: Record<string, unknown>,
  nowMs: number,
): Promise<"lapsed"> {
  await db.k
    .updateTable(kind === "subscription" ? "subscriptions" : "numbers")
    .set({ renewal_state: "lapsed" })
    .where("id", "=", row.id)
    .execute();
  await writeAudit(db, company.id, {
    atMs: nowMs,
    actor: RENEWAL_ACTOR,
    action: `${kind}.lapsed`,
    subject: await subjectRef(db, row.account_id),
    details: { id: row.id, ...details, ended_at: new Date(row.active_until_ms).toISOString(), reason },
  });
  return "lapsed";
}

/** The admin who allocated the original: renewals are recorded as theirs, like an auto-allocation is the rule setter's. */
async function allocatedBy(db: Db, transferId: number): Promise<number | null> {
  const t = await db.k
    .selectFrom("transfers")
    .select("actor_admin_id")
    .where("id", "=", transferId)
    .executeTakeFirst();
  return t?.actor_admin_id ?? null;
}

export async function renewSubscription(
  db: Db,
  company: CompanyContext,
  id: number,
  nowMs: number,
): Promise<RenewalOutcome> {
  const balance = await lockCompanyBalance(db, company);
  let q = db.k
    .selectFrom("subscriptions")
    .selectAll()
    .where("id", "=", id)
    .where("company_id", "=", company.id)
    .where("renewal_state", "=", "active")
    .where("active_until_ms", "<=", nowMs);
  if (db.dialect === "postgres") q = q.forUpdate();
  const sub = await q.executeTakeFirst();
  if (!sub) return "skipped";
  const plan = await db.k
    .selectFrom("plans")
    .selectAll()
    .where("id", "=", sub.plan_id)
    .executeTakeFirstOrThrow();
  const details = { plan: plan.name, price: formatAmount(plan.price_minor, company.currency) };
  if (sub.renew !== 1) return lapse(db, company, "subscription", sub, "renewal is off", details, nowMs);
  if (balance < plan.price_minor)
    return lapse(
      db,
      company,
      "subscription",
      sub,
      shortReason(company, balance, plan.price_minor),
      details,
      nowMs,
    );
  const term = nextTerm(sub.active_until_ms, 1, nowMs, company.timezone);
  // §7: a subject cannot hold the same plan twice at once (an admin may have allocated it again meanwhile).
  const again = await db.k
    .selectFrom("subscriptions")
    .select("id")
    .where("account_id", "=", sub.account_id)
    .where("plan_id", "=", sub.plan_id)
    .where("id", "<>", sub.id)
    .where("active_until_ms", ">", term.fromMs)
    .where("active_from_ms", "<", term.untilMs)
    .executeTakeFirst();
  if (again)
    return lapse(
      db,
      company,
      "subscription",
      sub,
      "the plan was allocated again before the renewal",
      details,
      nowMs,
    );
  const transferId = await postTransfer(db, company, {
    atMs: nowMs,
    kind: "subscription",
    debitAccountId: company.companyAccountId,
    creditAccountId: company.featuresAccountId,
    amountMinor: plan.price_minor,
    recipientAccountId: sub.account_id,
    feature: "subscription",
    detail: plan.name,
    actorAdminId: await allocatedBy(db, sub.transfer_id),
  });
  await db.k
    .insertInto("subscriptions")
    .values({
      company_id: company.id,
      account_id: sub.account_id,
      plan_id: plan.id,
      transfer_id: transferId,
      allocated_at_ms: nowMs,
      active_from_ms: term.fromMs,
      active_until_ms: term.untilMs,
      minutes: plan.minutes,
      used_minutes: 0,
      renew: 1,
      renewal_state: "active",
    })
    .execute();
  await db.k
    .updateTable("subscriptions")
    .set({ renewal_state: "renewed" })
    .where("id", "=", sub.id)
    .execute();
  return "renewed";
}

export async function renewNumber(
  db: Db,
  company: CompanyContext,
  id: number,
  nowMs: number,
): Promise<RenewalOutcome> {
  const balance = await lockCompanyBalance(db, company);
  let q = db.k
    .selectFrom("numbers")
    .selectAll()
    .where("id", "=", id)
    .where("company_id", "=", company.id)
    .where("renewal_state", "=", "active")
    .where("active_until_ms", "<=", nowMs);
  if (db.dialect === "postgres") q = q.forUpdate();
  const num = await q.executeTakeFirst();
  if (!num) return "skipped";
  const details = {
    number: num.number,
    months: num.months,
    price: formatAmount(num.price_minor, company.currency),
  };
  if (num.renew !== 1) return lapse(db, company, "number", num, "renewal is off", details, nowMs);
  if (balance < num.price_minor)
    return lapse(db, company, "number", num, shortReason(company, balance, num.price_minor), details, nowMs);
  const taken = await db.k
    .selectFrom("numbers")
    .select("id")
    .where("company_id", "=", company.id)
    .where("number", "=", num.number)
    .where("id", "<>", num.id)
    .where("active_until_ms", ">", nowMs)
    .executeTakeFirst();
  if (taken)
    return lapse(
      db,
      company,
      "number",
      num,
      "the number was allocated again before the renewal",
      details,
      nowMs,
    );
  const term = nextTerm(num.active_until_ms, num.months, nowMs, company.timezone);
  const transferId = await postTransfer(db, company, {
    atMs: nowMs,
    kind: "number",
    debitAccountId: company.companyAccountId,
    creditAccountId: company.featuresAccountId,
    amountMinor: num.price_minor,
    recipientAccountId: num.account_id,
    feature: "number",
    detail: num.number,
    actorAdminId: await allocatedBy(db, num.transfer_id),
  });
  await db.k
    .insertInto("numbers")
    .values({
      company_id: company.id,
      account_id: num.account_id,
      number: num.number,
      months: num.months,
      price_minor: num.price_minor,
      transfer_id: transferId,
      allocated_at_ms: nowMs,
      active_until_ms: term.untilMs,
      renew: 1,
      renewal_state: "active",
    })
    .execute();
  await db.k.updateTable("numbers").set({ renewal_state: "renewed" }).where("id", "=", num.id).execute();
  return "renewed";
}
