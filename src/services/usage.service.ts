/**
 * @module Usage ingestion: rates each call and SMS, charges it to its subject's balance, applies
 * auto-allocation rules, and skips records whose external_id the company already has. One batch is one
 * pass: read what it needs in a few queries, decide in memory, write with a few multi-row statements.
 */
import { CompiledQuery, sql } from "kysely";
import { insertColumns, insertMany } from "../db/bulk";
import type { PgArrayType } from "../db/bulk";
import type { Db } from "../db/database";
import { ensureUsagePartitions } from "../db/partitions";
import { addDelta, decideAutoAllocation, ZERO_DELTA } from "../ledger/rules";
import type { AutoRule, MonthDelta } from "../ledger/rules";
import { formatDecimal } from "../money/decimal";
import { formatAmount } from "../money/money";
import type { RateTable } from "../rating/rate-table";
import { rateUsage } from "../rating/rate";
import type { SubscriptionWindow } from "../rating/rate";
import { assert } from "../shared/errors";
import { monthOf } from "../time/month";
import type { CompanyContext } from "./company-context";
import { lockCompanyBalance, postTransfer } from "./ledger";
import type { Subject } from "./people.service";
import { writeAudit } from "./audit";

/** Rows per multi-row INSERT: 24 columns × 400 rows stays far below both engines' parameter limits. */
export const USAGE_INSERT_ROWS_MAX = 400;
/** Records a caller should hand to one `ingestUsage` call (one transaction). */
export const USAGE_BATCH_RECORDS_MAX = 5_000;

/** Every column ingestion writes to a usage record. */
export const USAGE_COLUMNS = [
  "company_id",
  "account_id",
  "external_id",
  "kind",
  "started_at_ms",
  "month",
  "destination",
  "duration_s",
  "segments",
  "billed_s",
  "rate_prefix",
  "rate_name",
  "rate_per_minute",
  "rate_connection_fee",
  "rate_interval",
  "charge_minor",
  "charge_exact",
  "status",
  "subscription_id",
  "covered_by",
  "covered_minutes",
  "ingested_at_ms",
] as const;

/** The PostgreSQL type of each usage column, for the one-statement array insert. */
const USAGE_COLUMN_TYPES: Record<(typeof USAGE_COLUMNS)[number], PgArrayType> = {
  company_id: "bigint",
  account_id: "bigint",
  external_id: "text",
  kind: "text",
  started_at_ms: "bigint",
  month: "text",
  destination: "text",
  duration_s: "integer",
  segments: "integer",
  billed_s: "integer",
  rate_prefix: "text",
  rate_name: "text",
  rate_per_minute: "text",
  rate_connection_fee: "text",
  rate_interval: "text",
  charge_minor: "bigint",
  charge_exact: "text",
  status: "text",
  subscription_id: "bigint",
  covered_by: "text",
  covered_minutes: "integer",
  ingested_at_ms: "bigint",
};
const USAGE_PG_COLUMNS = USAGE_COLUMNS.map((name) => ({ name, type: USAGE_COLUMN_TYPES[name] }));

/** A usage record that passed validation at the boundary (destination already normalised to +digits). */
export interface UsageInput {
  externalId: string;
  subject: Subject;
  kind: "call" | "sms";
  startedAtMs: number;
  destination: string;
  durationS: number | null;
  segments: number | null;
  /** When the record is processed (an import replays each at its own time); the caller's `nowMs` if absent. */
  processedAtMs?: number;
}

/** A record refused by `ingestUsage` itself (not by validation): its month's detail was purged by retention. */
export interface IngestRefusal {
  /** Position of the record in the `records` given to `ingestUsage`. */
  index: number;
  externalId: string;
  field: string;
  reason: string;
}

export interface IngestResult {
  stored: number;
  duplicates: number;
  unrated: number;
  chargedMinor: number;
  autoAllocations: number;
  /** Records of a month whose per-call detail retention removed: not stored, not charged. */
  rejected: IngestRefusal[];
}

/** Why a record of a purged month is refused: it could not be told apart from one already charged. */
export function purgedMonthReason(month: string): string {
  return (
    `the usage detail of ${month} was removed by retention (USAGE_RETENTION_MONTHS), so this record ` +
    "cannot be checked against the records already charged; it was not stored"
  );
}

const chunk = <T>(xs: readonly T[], size: number): T[][] => {
  const out: T[][] = [];
  for (let i = 0; i < xs.length; i += size) out.push(xs.slice(i, i + size));
  return out;
};

export async function ingestUsage(
  db: Db,
  company: CompanyContext,
  records: readonly UsageInput[],
  opts: { nowMs: number; rates: RateTable; actor?: string },
): Promise<IngestResult> {
  assert(db.inTransaction, "ingestUsage must run inside inTransaction()");
  assert(records.length <= USAGE_BATCH_RECORDS_MAX, "usage batch too large");
  const result: IngestResult = {
    stored: 0,
    duplicates: 0,
    unrated: 0,
    chargedMinor: 0,
    autoAllocations: 0,
    rejected: [],
  };
  if (records.length === 0) return result;
  let companyBalance = await lockCompanyBalance(db, company);

  // Idempotency: a record whose external_id is already stored (in any month) or repeated in this batch is
  // skipped. The company lock above makes the check and the insert below one step.
  const seen = await storedExternalIds(
    db,
    company.id,
    records.map((r) => r.externalId),
  );
  const candidates: { record: UsageInput; index: number; month: string }[] = [];
  const months = new Set<string>();
  records.forEach((r, index) => {
    if (seen.has(r.externalId)) {
      result.duplicates++;
      return;
    }
    seen.add(r.externalId);
    const month = monthOf(r.startedAtMs, company.timezone);
    months.add(month);
    candidates.push({ record: r, index, month });
  });
  if (candidates.length === 0) return result;

  // A month whose detail retention removed cannot tell a new record from one charged before: refuse those.
  const purged = await purgedMonths(db, company.id, [...months]);
  const fresh: UsageInput[] = [];
  const freshMonths: string[] = [];
  for (const c of candidates) {
    if (purged.has(c.month)) {
      result.rejected.push({
        index: c.index,
        externalId: c.record.externalId,
        field: "started_at",
        reason: purgedMonthReason(c.month),
      });
      continue;
    }
    fresh.push(c.record);
    freshMonths.push(c.month);
  }
  if (fresh.length === 0) return result;
  await ensureUsagePartitions(db, [...new Set(freshMonths)]);

  const accountIds = [...new Set(fresh.map((r) => r.subject.accountId))];
  const balances = new Map<number, number>();
  for (const row of await db.k
    .selectFrom("accounts")
    .select(["id", "balance_minor"])
    .where("id", "in", accountIds)
    .execute())
    balances.set(row.id, row.balance_minor);

  const rules = new Map<number, AutoRule>();
  for (const row of await db.k
    .selectFrom("auto_rules")
    .selectAll()
    .where("account_id", "in", accountIds)
    .execute())
    rules.set(row.account_id, {
      thresholdMinor: row.threshold_minor,
      amountMinor: row.amount_minor,
      monthlyCapMinor: row.monthly_cap_minor,
    });

  let minStart = Infinity;
  let maxStart = -Infinity;
  for (const r of fresh) {
    if (r.startedAtMs < minStart) minStart = r.startedAtMs;
    if (r.startedAtMs > maxStart) maxStart = r.startedAtMs;
  }
  const subsByAccount = new Map<number, SubscriptionWindow[]>();
  const subRows = await db.k
    .selectFrom("subscriptions as s")
    .innerJoin("plans as p", "p.id", "s.plan_id")
    .select([
      "s.id",
      "s.account_id",
      "s.allocated_at_ms",
      "s.active_from_ms",
      "s.active_until_ms",
      "s.minutes",
      "s.used_minutes",
      "p.name",
      "p.prefixes",
    ])
    .where("s.account_id", "in", accountIds)
    .where("s.active_from_ms", "<=", maxStart)
    .where("s.active_until_ms", ">", minStart)
    .orderBy("s.allocated_at_ms")
    .orderBy("s.id")
    .execute();
  for (const s of subRows) {
    const list = subsByAccount.get(s.account_id) ?? [];
    list.push({
      id: s.id,
      allocatedAtMs: s.allocated_at_ms,
      activeFromMs: s.active_from_ms,
      activeUntilMs: s.active_until_ms,
      prefixes: s.prefixes.split(","),
      minutes: s.minutes,
      usedMinutes: s.used_minutes,
      planName: s.name,
    });
    subsByAccount.set(s.account_id, list);
  }
  const usedBefore = new Map(subRows.map((s) => [s.id, s.used_minutes]));

  // Auto-allocations count towards the cap of the month they are made in (the record's processing time).
  const autoThisMonth = new Map<string, number>();
  if (rules.size > 0) {
    const months = [...new Set(fresh.map((r) => monthOf(r.processedAtMs ?? opts.nowMs, company.timezone)))];
    for (const row of await db.k
      .selectFrom("account_months")
      .select(["account_id", "month", "auto_allocated_minor"])
      .where("account_id", "in", [...rules.keys()])
      .where("month", "in", months)
      .execute())
      autoThisMonth.set(`${row.account_id}|${row.month}`, row.auto_allocated_minor);
  }

  // The rows to insert, column by column (USAGE_COLUMNS order): no object per record.
  const cols: unknown[][] = USAGE_COLUMNS.map(() => []);
  const push = (...values: unknown[]): void => {
    for (let c = 0; c < values.length; c++) cols[c]?.push(values[c]);
  };
  const chargeByAccount = new Map<number, number>();
  const monthDeltas = new Map<string, { accountId: number; month: string; delta: MonthDelta }>();
  const bump = (accountId: number, month: string, usageMinor: number): void => {
    const key = `${accountId}|${month}`;
    let entry = monthDeltas.get(key);
    if (!entry) {
      entry = { accountId, month, delta: { ...ZERO_DELTA } };
      monthDeltas.set(key, entry);
    }
    addDelta(entry.delta, { ...ZERO_DELTA, usage_minor: usageMinor, net_minor: -usageMinor });
  };
  const autoAllocations: { subject: Subject; amountMinor: number; atMs: number }[] = [];
  const autoSkips: { subject: Subject; reason: string; atMs: number }[] = [];

  for (const [i, r] of fresh.entries()) {
    const subs = subsByAccount.get(r.subject.accountId) ?? [];
    const rated = rateUsage(
      {
        kind: r.kind,
        destinationDigits: r.destination.slice(1),
        durationS: r.durationS ?? 0,
        segments: r.segments ?? 1,
        startedAtMs: r.startedAtMs,
      },
      opts.rates,
      subs,
      company.exponent,
    );
    if (rated.status === "covered") {
      const sub = subs.find((s) => s.id === rated.subscriptionId);
      assert(sub, "covering subscription must be one of the candidates");
      sub.usedMinutes += rated.coveredMinutes;
    }
    if (rated.status === "unrated") result.unrated++;
    const month = freshMonths[i] ?? monthOf(r.startedAtMs, company.timezone);
    const rate = rated.rate;
    // In USAGE_COLUMNS order.
    push(
      company.id,
      r.subject.accountId,
      r.externalId,
      r.kind,
      r.startedAtMs,
      month,
      r.destination,
      r.kind === "call" ? r.durationS : null,
      r.kind === "sms" ? (r.segments ?? 1) : null,
      rated.status === "unrated" ? null : rated.billedS,
      rate?.prefix ?? null,
      rate?.name ?? null,
      rate?.perMinuteText ?? null,
      rate ? formatDecimal(rate.connectionFee) : null,
      rate?.intervalText ?? null,
      rated.chargeMinor,
      rated.exact,
      rated.status,
      rated.subscriptionId,
      rated.status === "covered" ? (subs.find((s) => s.id === rated.subscriptionId)?.planName ?? null) : null,
      rated.coveredMinutes,
      opts.nowMs,
    );
    result.stored++;
    const charge = rated.chargeMinor;
    if (charge === 0) continue;
    result.chargedMinor += charge;
    chargeByAccount.set(r.subject.accountId, (chargeByAccount.get(r.subject.accountId) ?? 0) + charge);
    bump(r.subject.accountId, month, charge);
    bump(company.usageAccountId, month, -charge);
    const balanceAfter = (balances.get(r.subject.accountId) ?? 0) - charge;
    balances.set(r.subject.accountId, balanceAfter);
    const rule = rules.get(r.subject.accountId);
    if (!rule) continue;
    const autoAt = r.processedAtMs ?? opts.nowMs;
    const autoKey = `${r.subject.accountId}|${monthOf(autoAt, company.timezone)}`;
    const decision = decideAutoAllocation({
      rule,
      chargeMinor: charge,
      balanceAfterMinor: balanceAfter,
      autoAllocatedThisMonthMinor: autoThisMonth.get(autoKey) ?? 0,
      companyBalanceMinor: companyBalance,
    });
    if (decision.kind === "allocate") {
      autoAllocations.push({ subject: r.subject, amountMinor: decision.amountMinor, atMs: autoAt });
      balances.set(r.subject.accountId, balanceAfter + decision.amountMinor);
      companyBalance -= decision.amountMinor;
      autoThisMonth.set(autoKey, (autoThisMonth.get(autoKey) ?? 0) + decision.amountMinor);
    } else if (decision.kind === "skip") {
      autoSkips.push({ subject: r.subject, reason: decision.reason, atMs: autoAt });
    }
  }

  await insertColumns(db, "usage_records", USAGE_PG_COLUMNS, cols, result.stored, {
    sqliteRowsMax: USAGE_INSERT_ROWS_MAX,
  });

  // Usage charges leave the subjects' balances and enter the company's usage sink.
  const balanceDeltas = new Map<number, number>();
  for (const [accountId, charged] of chargeByAccount) balanceDeltas.set(accountId, -charged);
  if (result.chargedMinor > 0) balanceDeltas.set(company.usageAccountId, result.chargedMinor);
  await addToBalances(db, balanceDeltas);
  await addToMonths(db, company.id, [...monthDeltas.values()]);

  for (const s of subRows) {
    const list = subsByAccount.get(s.account_id) ?? [];
    const now = list.find((w) => w.id === s.id)?.usedMinutes ?? s.used_minutes;
    const added = now - (usedBefore.get(s.id) ?? 0);
    if (added > 0)
      await db.k
        .updateTable("subscriptions")
        .set({ used_minutes: sql<number>`used_minutes + ${added}` })
        .where("id", "=", s.id)
        .execute();
  }

  const ruleSetters = await ruleOwners(db, [...new Set(autoAllocations.map((a) => a.subject.accountId))]);
  for (const a of autoAllocations) {
    await postTransfer(db, company, {
      atMs: a.atMs,
      kind: "auto-allocate",
      debitAccountId: company.companyAccountId,
      creditAccountId: a.subject.accountId,
      amountMinor: a.amountMinor,
      recipientAccountId: a.subject.accountId,
      feature: "credit",
      actorAdminId: ruleSetters.get(a.subject.accountId) ?? null,
    });
    result.autoAllocations++;
  }
  for (const s of autoSkips) {
    await writeAudit(db, company.id, {
      atMs: s.atMs,
      actor: opts.actor ?? "system",
      action: "auto_allocate.skipped",
      subject: s.subject.username ?? `sip:${s.subject.name}`,
      details: {
        reason:
          s.reason === "monthly_cap" ? "the monthly cap would be exceeded" : "the company balance is short",
        balance: formatAmount(balances.get(s.subject.accountId) ?? 0, company.currency),
      },
    });
  }
  return result;
}

/** Rows per dedupe lookup: one bound parameter (a JSON array on SQLite, a text[] on PostgreSQL) each. */
const DEDUPE_IDS_MAX = 5_000;

/**
 * The given external_ids the company already has, in any month. One statement per batch with the ids as one
 * parameter (its SQL text is always the same, so it is prepared once): PostgreSQL `= any($2::text[])`
 * probes the (company_id, external_id, month) index of each month's partition; SQLite reads the list with
 * json_each and probes its (company_id, external_id) index.
 */
async function storedExternalIds(db: Db, companyId: number, ids: readonly string[]): Promise<Set<string>> {
  const seen = new Set<string>();
  for (const part of chunk(ids, DEDUPE_IDS_MAX)) {
    const query =
      db.dialect === "postgres"
        ? CompiledQuery.raw(
            "select external_id from usage_records where company_id = $1 and external_id = any($2::text[])",
            [companyId, part],
          )
        : CompiledQuery.raw(
            "select external_id from usage_records where company_id = ? and external_id in (select value from json_each(?))",
            [companyId, JSON.stringify(part)],
          );
    const rows = await db.k.executeQuery<{ external_id: string }>(query);
    for (const r of rows.rows) seen.add(r.external_id);
  }
  return seen;
}

/** Which of these months of the company had their per-call detail removed by retention. */
async function purgedMonths(db: Db, companyId: number, months: readonly string[]): Promise<Set<string>> {
  if (months.length === 0) return new Set();
  const rows = await db.k
    .selectFrom("usage_purges")
    .select("month")
    .distinct()
    .where("company_id", "=", companyId)
    .where("month", "in", months)
    .execute();
  return new Set(rows.map((r) => r.month));
}

async function ruleOwners(db: Db, accountIds: number[]): Promise<Map<number, number | null>> {
  if (accountIds.length === 0) return new Map();
  const rows = await db.k
    .selectFrom("auto_rules")
    .select(["account_id", "set_by_admin_id"])
    .where("account_id", "in", accountIds)
    .execute();
  return new Map(rows.map((r) => [r.account_id, r.set_by_admin_id]));
}

/**
 * Adds deltas to many balances. SQLite: one cached one-row UPDATE per account (no round trips, no
 * re-preparing). PostgreSQL: one UPDATE … CASE per 500 accounts (one round trip).
 */
async function addToBalances(db: Db, deltas: Map<number, number>): Promise<void> {
  const entries = [...deltas].filter(([, d]) => d !== 0);
  if (db.dialect === "sqlite") {
    for (const [id, d] of entries)
      await db.k.executeQuery(
        CompiledQuery.raw("update accounts set balance_minor = balance_minor + ? where id = ?", [d, id]),
      );
    return;
  }
  for (const part of chunk(entries, 500)) {
    const cases = sql.join(
      part.map(([id, d]) => sql`when ${id} then cast(${d} as bigint)`),
      sql` `,
    );
    await db.k
      .updateTable("accounts")
      .set({ balance_minor: sql<number>`balance_minor + (case id ${cases} else 0 end)` })
      .where(
        "id",
        "in",
        part.map(([id]) => id),
      )
      .execute();
  }
}

const MONTH_COLUMNS = ["company_id", "account_id", "month", "usage_minor", "net_minor"] as const;
const ADD_ON_CONFLICT =
  " on conflict (account_id, month) do update set usage_minor = account_months.usage_minor + excluded.usage_minor," +
  " net_minor = account_months.net_minor + excluded.net_minor";

/** One multi-row upsert adding usage deltas to many account-months (keys must be distinct). */
async function addToMonths(
  db: Db,
  companyId: number,
  deltas: { accountId: number; month: string; delta: MonthDelta }[],
): Promise<void> {
  for (const part of chunk(deltas, 500)) {
    const rows = part.map((d) => ({
      company_id: companyId,
      account_id: d.accountId,
      month: d.month,
      usage_minor: d.delta.usage_minor,
      net_minor: d.delta.net_minor,
    }));
    await insertMany(db, "account_months", MONTH_COLUMNS, rows, ADD_ON_CONFLICT);
  }
}
