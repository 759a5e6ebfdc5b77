/**
 * @module Allocating credit and features to members and SIP profiles, reclaiming credit, and
 * auto-allocation rules. Every function locks the company balance first (lock, then check, then write).
 */
import { sql } from "kysely";
import type { Db } from "../db/database";
import { formatAmount } from "../money/money";
import { isE164 } from "../phone/e164";
import { AppError, conflict, invalid, notFound } from "../shared/errors";
import { addMonthsLocal } from "../time/month";
import type { CompanyContext } from "./company-context";
import { accountBalance, lockCompanyBalance, postTransfer } from "./ledger";
import type { Subject } from "./people.service";
import { writeAudit } from "./audit";

export const NUMBER_TERM_MONTHS_MAX = 120;

function short(company: CompanyContext, availableMinor: number, neededMinor: number): AppError {
  return new AppError(
    "insufficient_balance",
    `the company balance is ${formatAmount(availableMinor, company.currency)} ${company.currency}, ` +
      `${formatAmount(neededMinor, company.currency)} ${company.currency} is needed`,
  );
}

async function takeFromCompany(db: Db, company: CompanyContext, amountMinor: number): Promise<void> {
  const balance = await lockCompanyBalance(db, company);
  if (balance < amountMinor) throw short(company, balance, amountMinor);
}

export async function allocateCredit(
  db: Db,
  company: CompanyContext,
  input: { to: Subject; amountMinor: number; atMs: number; actorAdminId: number | null },
): Promise<number> {
  if (input.amountMinor <= 0) throw invalid("must be greater than zero", "amount");
  await takeFromCompany(db, company, input.amountMinor);
  return postTransfer(db, company, {
    atMs: input.atMs,
    kind: "allocate",
    debitAccountId: company.companyAccountId,
    creditAccountId: input.to.accountId,
    amountMinor: input.amountMinor,
    recipientAccountId: input.to.accountId,
    feature: "credit",
    actorAdminId: input.actorAdminId,
  });
}

/** Takes credit back from a business member or SIP profile: at most its current balance. */
export async function reclaimCredit(
  db: Db,
  company: CompanyContext,
  input: { from: Subject; amountMinor: number; atMs: number; actorAdminId: number | null },
): Promise<number> {
  if (input.amountMinor <= 0) throw invalid("must be greater than zero", "amount");
  if (input.from.type === "member" && input.from.accountType === "personal")
    throw new AppError("forbidden", `credit cannot be reclaimed from ${input.from.name}: a personal account`);
  await lockCompanyBalance(db, company);
  const balance = await accountBalance(db, input.from.accountId);
  if (input.amountMinor > balance)
    throw new AppError(
      "insufficient_balance",
      `${input.from.name} has ${formatAmount(balance, company.currency)} ${company.currency}; ` +
        `at most that can be reclaimed`,
    );
  return postTransfer(db, company, {
    atMs: input.atMs,
    kind: "reclaim",
    debitAccountId: input.from.accountId,
    creditAccountId: company.companyAccountId,
    amountMinor: input.amountMinor,
    recipientAccountId: input.from.accountId,
    feature: "credit",
    actorAdminId: input.actorAdminId,
  });
}

/** Allocates a calling plan, paid from the company balance; it is active for one month from now. */
export async function allocateSubscription(
  db: Db,
  company: CompanyContext,
  input: { to: Subject; planId: number; atMs: number; actorAdminId: number | null; renew?: boolean },
): Promise<number> {
  const plan = await db.k
    .selectFrom("plans")
    .selectAll()
    .where("company_id", "=", company.id)
    .where("id", "=", input.planId)
    .executeTakeFirst();
  if (!plan) throw notFound(`plan ${input.planId} does not exist`);
  await takeFromCompany(db, company, plan.price_minor);
  const active = await db.k
    .selectFrom("subscriptions")
    .select("id")
    .where("account_id", "=", input.to.accountId)
    .where("plan_id", "=", plan.id)
    .where("active_from_ms", "<=", input.atMs)
    .where("active_until_ms", ">", input.atMs)
    .executeTakeFirst();
  if (active) throw conflict(`${input.to.name} already has ${plan.name} active`);
  const transferId = await postTransfer(db, company, {
    atMs: input.atMs,
    kind: "subscription",
    debitAccountId: company.companyAccountId,
    creditAccountId: company.featuresAccountId,
    amountMinor: plan.price_minor,
    recipientAccountId: input.to.accountId,
    feature: "subscription",
    detail: plan.name,
    actorAdminId: input.actorAdminId,
  });
  const { id } = await db.k
    .insertInto("subscriptions")
    .values({
      company_id: company.id,
      account_id: input.to.accountId,
      plan_id: plan.id,
      transfer_id: transferId,
      allocated_at_ms: input.atMs,
      active_from_ms: input.atMs,
      active_until_ms: addMonthsLocal(input.atMs, 1, company.timezone),
      minutes: plan.minutes,
      used_minutes: 0,
      renew: input.renew ? 1 : 0,
    })
    .returning("id")
    .executeTakeFirstOrThrow();
  return id;
}

/** Allocates an online phone number for a term of months; the price is for the whole term. */
export async function allocateNumber(
  db: Db,
  company: CompanyContext,
  input: {
    to: Subject;
    number: string;
    months: number;
    priceMinor: number;
    atMs: number;
    actorAdminId: number | null;
    renew?: boolean;
  },
): Promise<number> {
  if (!isE164(input.number))
    throw invalid(`"${input.number}" is not a phone number like +442079460000`, "number");
  if (!Number.isInteger(input.months) || input.months < 1 || input.months > NUMBER_TERM_MONTHS_MAX)
    throw invalid(`must be a whole number of months from 1 to ${NUMBER_TERM_MONTHS_MAX}`, "months");
  if (input.priceMinor <= 0) throw invalid("must be greater than zero", "price");
  await takeFromCompany(db, company, input.priceMinor);
  const taken = await db.k
    .selectFrom("numbers")
    .select("id")
    .where("company_id", "=", company.id)
    .where("number", "=", input.number)
    .where("active_until_ms", ">", input.atMs)
    .executeTakeFirst();
  if (taken) throw conflict(`the number ${input.number} is already allocated`);
  const transferId = await postTransfer(db, company, {
    atMs: input.atMs,
    kind: "number",
    debitAccountId: company.companyAccountId,
    creditAccountId: company.featuresAccountId,
    amountMinor: input.priceMinor,
    recipientAccountId: input.to.accountId,
    feature: "number",
    detail: input.number,
    actorAdminId: input.actorAdminId,
  });
  const { id } = await db.k
    .insertInto("numbers")
    .values({
      company_id: company.id,
      account_id: input.to.accountId,
      number: input.number,
      months: input.months,
      price_minor: input.priceMinor,
      transfer_id: transferId,
      allocated_at_ms: input.atMs,
      active_until_ms: addMonthsLocal(input.atMs, input.months, company.timezone),
      renew: input.renew ? 1 : 0,
    })
    .returning("id")
    .executeTakeFirstOrThrow();
  return id;
}

/** Turns renewal at the end of the term on or off for one of the company's subscriptions or numbers. */
export async function setRenewal(
  db: Db,
  company: CompanyContext,
  feature: "subscriptions" | "numbers",
  id: number,
  renew: boolean,
): Promise<void> {
  const done = await db.k
    .updateTable(feature)
    .set({ renew: renew ? 1 : 0 })
    .where("id", "=", id)
    .where("company_id", "=", company.id)
    .executeTakeFirst();
  if (Number(done.numUpdatedRows) === 0)
    throw notFound(`no ${feature === "subscriptions" ? "subscription" : "number"} ${id}`);
}

/** Sets (or replaces) the auto-allocation rule of a member or SIP profile. Never triggers it. */
export async function setAutoRule(
  db: Db,
  company: CompanyContext,
  input: {
    subject: Subject;
    thresholdMinor: number;
    amountMinor: number;
    monthlyCapMinor: number;
    atMs: number;
    actorAdminId: number | null;
    actor: string;
  },
): Promise<void> {
  if (input.amountMinor <= 0) throw invalid("must be greater than zero", "amount");
  const values = {
    threshold_minor: input.thresholdMinor,
    amount_minor: input.amountMinor,
    monthly_cap_minor: input.monthlyCapMinor,
    set_by_admin_id: input.actorAdminId,
    updated_at_ms: input.atMs,
  };
  await db.k
    .insertInto("auto_rules")
    .values({ company_id: company.id, account_id: input.subject.accountId, ...values })
    .onConflict((oc) => oc.column("account_id").doUpdateSet(values))
    .execute();
  await writeAudit(db, company.id, {
    atMs: input.atMs,
    actor: input.actor,
    action: "auto_rule.set",
    subject: input.subject.username ?? `sip:${input.subject.name}`,
    details: {
      threshold: formatAmount(input.thresholdMinor, company.currency),
      amount: formatAmount(input.amountMinor, company.currency),
      monthly_cap: formatAmount(input.monthlyCapMinor, company.currency),
    },
  });
}

/** Every balance equals the sum of its entries: returns the accounts where the cached balance disagrees. */
export async function findBalanceMismatches(
  db: Db,
  companyId: number,
): Promise<{ accountId: number; cachedMinor: number; fromEntriesMinor: number }[]> {
  // One pass over each kind of entry, grouped by account: O(entries), whatever the number of accounts.
  // Usage charges leave their subject and enter the company's usage sink; charges of months whose per-call
  // rows retention removed are kept per account in usage_purges.
  const rows = await sql<{ id: number; balance_minor: number; derived: number }>`
    with moves as (
      select credit_account_id as account_id, sum(amount_minor) as d
        from transfers where company_id = ${companyId} group by credit_account_id
      union all
      select debit_account_id, -sum(amount_minor)
        from transfers where company_id = ${companyId} group by debit_account_id
      union all
      select account_id, -sum(charge_minor)
        from usage_records where company_id = ${companyId} group by account_id
      union all
      select account_id, -sum(charge_minor)
        from usage_purges where company_id = ${companyId} group by account_id
    ),
    per_account as (select account_id, sum(d) as d from moves group by account_id)
    select a.id, a.balance_minor,
      coalesce(p.d, 0)
      + case when a.kind = 'usage'
          then coalesce((select sum(charge_minor) from usage_records where company_id = ${companyId}), 0)
             + coalesce((select sum(charge_minor) from usage_purges where company_id = ${companyId}), 0)
          else 0 end
      as derived
    from accounts a left join per_account p on p.account_id = a.id
    where a.company_id = ${companyId}`.execute(db.k);
  return rows.rows
    .filter((r) => Number(r.balance_minor) !== Number(r.derived))
    .map((r) => ({
      accountId: r.id,
      cachedMinor: Number(r.balance_minor),
      fromEntriesMinor: Number(r.derived),
    }));
}
