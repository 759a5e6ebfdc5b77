/**
 * @module Snapshots of database state for tests that assert "nothing changed": a company's balances and
 * row counts, and the row count of every table of the schema; and every ledger and report invariant of a
 * company as a list of violations, for the crash, soak and model tests.
 */
import type { Db } from "../../src/db/database";
import type { DB } from "../../src/db/schema";
import { addDelta, transferMonthDeltas, ZERO_DELTA } from "../../src/ledger/rules";
import type { MonthDelta } from "../../src/ledger/rules";
import { parseAmount } from "../../src/money/money";
import { runReport } from "../../src/reports/report.service";
import type { Viewer } from "../../src/reports/report.service";
import { findBalanceMismatches } from "../../src/services/allocation.service";
import { loadCompany } from "../../src/services/company-context";
import { addMonths, monthOf } from "../../src/time/month";

/** Every table of the schema (src/db/schema.ts), so that "the database is unchanged" means all of it. */
export const SCHEMA_TABLES = [
  "companies",
  "accounts",
  "admins",
  "members",
  "groups",
  "member_groups",
  "sip_profiles",
  "rates",
  "plans",
  "purchases",
  "transfers",
  "subscriptions",
  "numbers",
  "auto_rules",
  "usage_records",
  "account_months",
  "consent_events",
  "audit_log",
  "audit_heads",
  "usage_purges",
] as const satisfies readonly (keyof DB)[];

/** Row count of every table of the schema. */
export async function tableRowCounts(db: Db): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const table of SCHEMA_TABLES) {
    const row = await db.k
      .selectFrom(table)
      .select((eb) => eb.fn.countAll<number>().as("n"))
      .executeTakeFirstOrThrow();
    out[table] = Number(row.n);
  }
  return out;
}

/** The company-scoped tables a money-moving operation can write to. */
const COMPANY_TABLES = [
  "transfers",
  "usage_records",
  "purchases",
  "subscriptions",
  "numbers",
  "auto_rules",
  "account_months",
  "audit_log",
] as const satisfies readonly (keyof DB)[];

export interface CompanySnapshot {
  /** Account id → balance in minor units, for every account of the company (all kinds). */
  balances: Record<number, number>;
  counts: Record<string, number>;
}

/** What a refused operation must leave exactly as it was. */
export async function companySnapshot(db: Db, companyId: number): Promise<CompanySnapshot> {
  const balances: Record<number, number> = {};
  const accounts = await db.k
    .selectFrom("accounts")
    .select(["id", "balance_minor"])
    .where("company_id", "=", companyId)
    .orderBy("id")
    .execute();
  for (const a of accounts) balances[a.id] = a.balance_minor;
  const counts: Record<string, number> = {};
  for (const table of COMPANY_TABLES) {
    const row = await db.k
      .selectFrom(table)
      .select((eb) => eb.fn.countAll<number>().as("n"))
      .where("company_id", "=", companyId)
      .executeTakeFirstOrThrow();
    counts[table] = Number(row.n);
  }
  return { balances, counts };
}

// ------------------------------------------------------------------------------ ledger invariants

/** One account-month's totals as src/ledger/rules.ts and the usage service derive them. */
type MonthTotals = MonthDelta;

function addInto(map: Map<string, MonthTotals>, accountId: number, month: string, d: MonthDelta): void {
  const key = `${accountId}|${month}`;
  const into = map.get(key) ?? { ...ZERO_DELTA };
  addDelta(into, d);
  map.set(key, into);
}
const isZero = (d: MonthDelta): boolean => Object.values(d).every((v) => v === 0);

/**
 * Every ledger invariant of one company, as a list of violations (empty when the ledger is sound):
 * every cached balance equals the sum of its entries (transfers and usage charges); money is conserved
 * (all accounts sum to zero: purchased = company + members + SIP profiles + usage + features); the company
 * balance is never negative; each account's closing balance is the sum of its monthly net changes; and
 * every account-month's totals are exactly what its transfers and usage records add up to — so a transfer
 * half applied (its row without its balances or monthly totals, or the reverse) cannot hide.
 */
export async function ledgerViolations(db: Db, companyId: number): Promise<string[]> {
  const out: string[] = [];
  for (const m of await findBalanceMismatches(db, companyId))
    out.push(`account ${m.accountId}: balance ${m.cachedMinor} but its entries sum to ${m.fromEntriesMinor}`);
  const accounts = await db.k
    .selectFrom("accounts")
    .select(["id", "kind", "balance_minor"])
    .where("company_id", "=", companyId)
    .execute();
  const total = accounts.reduce((sum, a) => sum + a.balance_minor, 0);
  if (total !== 0) out.push(`money not conserved: the accounts sum to ${total}, not 0`);
  for (const a of accounts)
    if (a.kind === "company" && a.balance_minor < 0)
      out.push(`company balance is negative: ${a.balance_minor}`);

  const expected = new Map<string, MonthTotals>();
  const transfers = await db.k
    .selectFrom("transfers")
    .select([
      "kind",
      "month",
      "debit_account_id",
      "credit_account_id",
      "recipient_account_id",
      "amount_minor",
    ])
    .where("company_id", "=", companyId)
    .execute();
  for (const t of transfers) {
    const d = transferMonthDeltas(t.kind, t.amount_minor);
    addInto(expected, t.debit_account_id, t.month, d.debit);
    addInto(expected, t.credit_account_id, t.month, d.credit);
    if (d.recipient && t.recipient_account_id !== null)
      addInto(expected, t.recipient_account_id, t.month, d.recipient);
  }
  const usage = await db.k
    .selectFrom("usage_records")
    .select(["account_id", "month", (eb) => eb.fn.sum<number>("charge_minor").as("charged")])
    .where("company_id", "=", companyId)
    .groupBy(["account_id", "month"])
    .execute();
  const usageAccount = accounts.find((a) => a.kind === "usage");
  for (const u of usage) {
    const charged = Number(u.charged);
    addInto(expected, u.account_id, u.month, { ...ZERO_DELTA, usage_minor: charged, net_minor: -charged });
    if (usageAccount)
      addInto(expected, usageAccount.id, u.month, {
        ...ZERO_DELTA,
        usage_minor: -charged,
        net_minor: charged,
      });
  }
  const stored = await db.k
    .selectFrom("account_months")
    .selectAll()
    .where("company_id", "=", companyId)
    .execute();
  const storedByKey = new Map<string, MonthTotals>();
  const netByAccount = new Map<number, number>();
  for (const r of stored) {
    const { company_id: _c, account_id, month, ...totals } = r;
    storedByKey.set(`${account_id}|${month}`, totals);
    netByAccount.set(account_id, (netByAccount.get(account_id) ?? 0) + totals.net_minor);
  }
  for (const key of new Set([...expected.keys(), ...storedByKey.keys()])) {
    const want = expected.get(key) ?? ZERO_DELTA;
    const got = storedByKey.get(key) ?? ZERO_DELTA;
    if (isZero(want) && isZero(got)) continue;
    if (JSON.stringify({ ...ZERO_DELTA, ...got }) !== JSON.stringify({ ...ZERO_DELTA, ...want }))
      out.push(`account_months ${key}: stored ${JSON.stringify(got)}, entries give ${JSON.stringify(want)}`);
  }
  for (const a of accounts) {
    const net = netByAccount.get(a.id) ?? 0;
    if (net !== a.balance_minor)
      out.push(`account ${a.id}: balance ${a.balance_minor} but its months net ${net}`);
  }
  return out;
}

/** Minor units of a report amount ("12.50" → 1250 for EUR). */
function minorOf(text: unknown, currency: string): number {
  const parsed = parseAmount(String(text).replace(/^-/, ""), currency);
  if (!parsed.ok) throw new Error(`not an amount: ${String(text)}`);
  return String(text).startsWith("-") ? -parsed.value : parsed.value;
}

async function drain(rows: AsyncIterable<Record<string, unknown>>): Promise<Record<string, unknown>[]> {
  const out: Record<string, unknown>[] = [];
  for await (const row of rows) out.push(row);
  return out;
}

/**
 * The reports of every month from the first with ledger activity to `nowMs`'s month add up: the Summary's
 * closing = opening + purchased − allocated + reclaimed − features, each month opens with the previous
 * closing, the last closing is the company balance, its rows' figures sum to its totals, the Allocations
 * totals (every feature) and the Usage totals (every subject) agree with the transfers and usage records.
 */
export async function reportViolations(db: Db, companyId: number, nowMs: number): Promise<string[]> {
  const out: string[] = [];
  const company = await loadCompany(db, companyId);
  const cur = company.currency;
  const months = await db.k
    .selectFrom("account_months")
    .select("month")
    .distinct()
    .where("company_id", "=", companyId)
    .orderBy("month")
    .execute();
  const first = months[0]?.month;
  const last = monthOf(nowMs, company.timezone);
  if (first === undefined) return out;
  // Usage reports are opened as the member (their own usage needs no privacy step) or, for a SIP profile, as
  // an owner treated as having acknowledged the privacy notice.
  const owner = await db.k
    .selectFrom("admins")
    .selectAll()
    .where("company_id", "=", companyId)
    .orderBy("id")
    .executeTakeFirstOrThrow();
  const ownerViewer: Viewer = {
    kind: "admin",
    admin: { ...owner, privacy_acknowledged_at_ms: owner.privacy_acknowledged_at_ms ?? 0 },
  };
  const members = await db.k
    .selectFrom("members")
    .select(["id", "username"])
    .where("company_id", "=", companyId)
    .execute();
  const sips = await db.k
    .selectFrom("sip_profiles")
    .select(["name"])
    .where("company_id", "=", companyId)
    .execute();
  const subjects: { ref: string; viewer: Viewer }[] = [
    ...members.map((m) => ({ ref: m.username, viewer: { kind: "member", memberId: m.id } as const })),
    ...sips.map((s) => ({ ref: `sip:${s.name}`, viewer: ownerViewer })),
  ];
  let previousClosing = 0;
  for (let month = first; month <= last; month = addMonths(month, 1)) {
    const summary = await runReport(
      db,
      company,
      { report: "summary", month, format: "json" },
      { kind: "operator" },
      nowMs,
    );
    const t = summary.totals;
    const n = (key: string) => minorOf(t[key], cur);
    const closing =
      n("opening_company_balance") +
      n("purchased") -
      n("allocated_credit") +
      n("reclaimed_credit") -
      n("features_cost");
    if (closing !== n("closing_company_balance"))
      out.push(`${month} Summary: closing does not add up (${JSON.stringify(t)})`);
    if (n("opening_company_balance") !== previousClosing)
      out.push(`${month} Summary: opening ≠ previous closing`);
    previousClosing = n("closing_company_balance");
    const rows = await drain(summary.rows);
    const rowSum = (key: string) => rows.reduce((s, r) => s + minorOf(r[key], cur), 0);
    if (rowSum("usage_charged") !== n("usage_charged"))
      out.push(`${month} Summary: rows' usage ≠ total usage`);
    if (rowSum("features_cost") !== n("features_cost"))
      out.push(`${month} Summary: rows' features ≠ total features`);
    if (rowSum("credit_allocated") !== n("allocated_credit"))
      out.push(`${month} Summary: rows' allocated ≠ total`);
    if (rowSum("credit_reclaimed") !== n("reclaimed_credit"))
      out.push(`${month} Summary: rows' reclaimed ≠ total`);

    const transfers = await db.k
      .selectFrom("transfers")
      .select(["kind", "feature", "amount_minor"])
      .where("company_id", "=", companyId)
      .where("month", "=", month)
      .execute();
    const sumKind = (kinds: string[]) =>
      transfers.filter((x) => kinds.includes(x.kind)).reduce((s, x) => s + x.amount_minor, 0);
    if (sumKind(["purchase"]) !== n("purchased"))
      out.push(`${month} Summary: purchased ≠ purchase transfers`);
    for (const feature of ["credit", "subscription", "number"] as const) {
      const allocations = await runReport(
        db,
        company,
        { report: "allocations", month, feature, format: "json" },
        { kind: "operator" },
        nowMs,
      );
      const a = allocations.totals;
      const mine = transfers.filter((x) => x.feature === feature);
      const aRows = await drain(allocations.rows);
      if (Number(a["count"]) !== mine.length || aRows.length !== mine.length)
        out.push(
          `${month} Allocations (${feature}): count ${String(a["count"])}, ${aRows.length} rows, ${mine.length} transfers`,
        );
      const sum = (kind: string) =>
        mine.filter((x) => x.kind === kind).reduce((s, x) => s + x.amount_minor, 0);
      if (feature === "credit") {
        if (minorOf(a["allocated"], cur) !== sum("allocate"))
          out.push(`${month} Allocations: allocated total`);
        if (minorOf(a["reclaimed"], cur) !== sum("reclaim"))
          out.push(`${month} Allocations: reclaimed total`);
        if (minorOf(a["auto_allocated"], cur) !== sum("auto-allocate"))
          out.push(`${month} Allocations: auto total`);
      }
    }
    const purchases = await runReport(
      db,
      company,
      { report: "purchases", month, format: "json" },
      { kind: "operator" },
      nowMs,
    );
    const pRows = await drain(purchases.rows);
    if (Number(purchases.totals["count"]) !== pRows.length) out.push(`${month} Purchases: count ≠ rows`);
    const completed = pRows.filter((r) => r["status"] === "completed");
    if (
      completed.reduce((s, r) => s + minorOf(r["amount"], cur), 0) !==
      minorOf(purchases.totals["completed_amount"], cur)
    )
      out.push(`${month} Purchases: completed_amount ≠ its rows`);

    let usageTotal = 0;
    for (const { ref: subject, viewer } of subjects) {
      const usage = await runReport(
        db,
        company,
        { report: "usage", month, subject, format: "json" },
        viewer,
        nowMs,
      );
      const uRows = await drain(usage.rows);
      const charged = minorOf(usage.totals["charged"], cur);
      usageTotal += charged;
      if (uRows.reduce((s, r) => s + (r["charge"] === null ? 0 : minorOf(r["charge"], cur)), 0) !== charged)
        out.push(`${month} Usage of ${subject}: rows ≠ charged total`);
      const calls = uRows.filter((r) => r["kind"] === "call").length;
      if (Number(usage.totals["calls"]) !== calls || Number(usage.totals["sms"]) !== uRows.length - calls)
        out.push(`${month} Usage of ${subject}: counts ≠ rows`);
    }
    if (usageTotal !== n("usage_charged"))
      out.push(`${month}: the Usage reports sum to ${usageTotal}, Summary says ${n("usage_charged")}`);
  }
  const companyAccount = await db.k
    .selectFrom("accounts")
    .select("balance_minor")
    .where("id", "=", company.companyAccountId)
    .executeTakeFirstOrThrow();
  if (previousClosing !== companyAccount.balance_minor)
    out.push(
      `the last Summary closes at ${previousClosing}, the company balance is ${companyAccount.balance_minor}`,
    );
  return out;
}
