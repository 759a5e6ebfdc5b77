/**
 * @module The SQL of the four reports. Totals are aggregated by the database; rows are streamed in
 * order, never loaded whole. The Summary reads per-account monthly totals, so it costs O(recipients).
 * Text is ordered by code point on both engines (PostgreSQL's "C" collation = SQLite's BINARY).
 */
import { sql } from "kysely";
import type { Expression, RawBuilder } from "kysely";
import type { Db } from "../db/database";
import type { TransferKind } from "../db/schema";
import type { CompanyContext } from "../services/company-context";
import { monthEndMs, monthStartMs } from "../time/month";
import type { FeatureName } from "./definitions";

/** Rows fetched from the database per round trip while streaming. */
export const STREAM_CHUNK_ROWS = 1_000;

const ordered = (db: Db, expr: Expression<unknown>): RawBuilder<unknown> =>
  db.dialect === "postgres" ? sql`${expr} collate "C"` : sql`${expr}`;

/** The sorted, ;-joined group names of the member whose id is in `memberIdColumn`. */
function groupNames(db: Db, memberIdColumn: string): RawBuilder<string | null> {
  const agg =
    db.dialect === "postgres"
      ? sql`string_agg(g.name, ';' order by g.name collate "C")`
      : sql`group_concat(g.name, ';' order by g.name)`;
  return sql<
    string | null
  >`(select ${agg} from member_groups mg inner join groups g on g.id = mg.group_id where mg.member_id = ${sql.ref(memberIdColumn)})`;
}

const inGroup = (memberIdColumn: string, companyId: number, group: string) =>
  sql<boolean>`${sql.ref(memberIdColumn)} in (select mg.member_id from member_groups mg inner join groups g on g.id = mg.group_id where g.company_id = ${companyId} and g.name = ${group})`;

// ---------------------------------------------------------------- Summary

export interface SummaryTotalsRaw {
  opening: number;
  purchased: number;
  allocated: number;
  reclaimed: number;
  features: number;
  usage: number;
}

export async function summaryTotals(
  db: Db,
  company: CompanyContext,
  month: string,
): Promise<SummaryTotalsRaw> {
  const m = month;
  const row = await db.k
    .selectFrom("account_months")
    .where("account_id", "=", company.companyAccountId)
    .where("month", "<=", m)
    .select([
      sql<number>`coalesce(sum(case when month < ${m} then net_minor else 0 end), 0)`.as("opening"),
      sql<number>`coalesce(sum(case when month = ${m} then purchased_minor else 0 end), 0)`.as("purchased"),
      sql<number>`coalesce(sum(case when month = ${m} then allocated_minor else 0 end), 0)`.as("allocated"),
      sql<number>`coalesce(sum(case when month = ${m} then reclaimed_minor else 0 end), 0)`.as("reclaimed"),
      sql<number>`coalesce(sum(case when month = ${m} then features_minor else 0 end), 0)`.as("features"),
    ])
    .executeTakeFirstOrThrow();
  const usage = await db.k
    .selectFrom("account_months")
    .select("net_minor")
    .where("account_id", "=", company.usageAccountId)
    .where("month", "=", m)
    .executeTakeFirst();
  return {
    opening: Number(row.opening),
    purchased: Number(row.purchased),
    allocated: Number(row.allocated),
    reclaimed: Number(row.reclaimed),
    features: Number(row.features),
    usage: usage?.net_minor ?? 0,
  };
}

/**
 * The Summary's rows, a batch: one row per member and SIP profile (O(recipients), bounded by the company's
 * size), read with one statement rather than streamed row by row.
 */
export async function* summaryRowBatches(
  db: Db,
  company: CompanyContext,
  month: string,
  filter: { group?: string },
) {
  const rows = await summaryQuery(db, company, month, filter).execute();
  if (rows.length > 0) yield rows;
}

function summaryQuery(db: Db, company: CompanyContext, month: string, filter: { group?: string }) {
  const m = month;
  const inMonth = (column: "allocated_minor" | "reclaimed_minor" | "features_minor" | "usage_minor") =>
    sql<number>`sum(case when month = ${m} then ${sql.ref(column)} else 0 end)`;
  // First the sums per account on the integer key alone (one index range over the company's months up to
  // this one), then names and groups for the accounts that have something to show: grouping by names and
  // repeating the sums in a HAVING made this several times slower for thousands of members.
  let q = db.k
    .with("agg", (w) =>
      w
        .selectFrom("account_months")
        .where("company_id", "=", company.id)
        .where("month", "<=", m)
        .groupBy("account_id")
        .select([
          "account_id",
          inMonth("allocated_minor").as("allocated"),
          inMonth("reclaimed_minor").as("reclaimed"),
          inMonth("features_minor").as("features"),
          inMonth("usage_minor").as("usage"),
          sql<number>`sum(net_minor)`.as("closing"),
        ]),
    )
    .selectFrom("agg")
    .innerJoin("accounts as a", "a.id", "agg.account_id")
    .leftJoin("members as mb", "mb.account_id", "a.id")
    .leftJoin("sip_profiles as sp", "sp.account_id", "a.id")
    .where("a.kind", "in", ["member", "sip_profile"])
    .where((eb) =>
      eb.or([
        eb("agg.allocated", "<>", 0),
        eb("agg.reclaimed", "<>", 0),
        eb("agg.features", "<>", 0),
        eb("agg.usage", "<>", 0),
        eb("agg.closing", "<>", 0),
      ]),
    )
    .select([
      "a.id as account_id",
      "a.kind as kind",
      sql<string>`coalesce(mb.name, sp.name)`.as("recipient"),
      "mb.username as username",
      groupNames(db, "mb.id").as("groups"),
      "agg.allocated",
      "agg.reclaimed",
      "agg.features",
      "agg.usage",
      "agg.closing",
    ]);
  if (filter.group !== undefined) q = q.where(inGroup("mb.id", company.id, filter.group));
  return q
    .orderBy(sql`case a.kind when 'member' then 0 else 1 end`)
    .orderBy(ordered(db, sql`coalesce(mb.name, sp.name)`))
    .orderBy("a.id");
}

// ---------------------------------------------------------------- Purchases

export interface PurchaseFilter {
  status?: string;
  payment_method?: string;
}

function purchasesBase(db: Db, company: CompanyContext, month: string, f: PurchaseFilter) {
  let q = db.k
    .selectFrom("purchases as p")
    .where("p.company_id", "=", company.id)
    .where("p.month", "=", month);
  if (f.status !== undefined) q = q.where("p.status", "=", f.status as "completed");
  if (f.payment_method !== undefined) q = q.where("p.payment_method", "=", f.payment_method as "card");
  return q;
}

export async function purchasesTotals(db: Db, company: CompanyContext, month: string, f: PurchaseFilter) {
  const row = await purchasesBase(db, company, month, f)
    .select([
      sql<number>`count(*)`.as("count"),
      sql<number>`coalesce(sum(case when p.status = 'completed' then p.amount_minor else 0 end), 0)`.as(
        "amount",
      ),
      sql<number>`coalesce(sum(case when p.status = 'completed' then p.vat_minor else 0 end), 0)`.as("vat"),
      sql<number>`coalesce(sum(case when p.status = 'completed' then p.total_minor else 0 end), 0)`.as(
        "total",
      ),
    ])
    .executeTakeFirstOrThrow();
  return {
    count: Number(row.count),
    amount: Number(row.amount),
    vat: Number(row.vat),
    total: Number(row.total),
  };
}

export function purchasesRows(db: Db, company: CompanyContext, month: string, f: PurchaseFilter) {
  return purchasesBase(db, company, month, f)
    .leftJoin("admins as ad", "ad.id", "p.purchased_by_admin_id")
    .select([
      "p.created_at_ms",
      "p.reference",
      "p.payment_method",
      "p.status",
      "p.amount_minor",
      "p.vat_minor",
      "p.total_minor",
      "ad.email",
    ])
    .orderBy("p.created_at_ms")
    .orderBy(ordered(db, sql.ref("p.reference")))
    .stream(STREAM_CHUNK_ROWS);
}

// ---------------------------------------------------------------- Allocations

export interface AllocationFilter {
  group?: string;
  recipientAccountId?: number;
  action?: "allocate" | "reclaim" | "auto-allocate";
}

function allocationKinds(feature: FeatureName, action: AllocationFilter["action"]): TransferKind[] {
  if (feature === "credit") return action ? [action] : ["allocate", "reclaim", "auto-allocate"];
  return action === undefined || action === "allocate" ? [feature] : [];
}

function allocationsBase(
  db: Db,
  company: CompanyContext,
  month: string,
  feature: FeatureName,
  f: AllocationFilter,
) {
  const kinds = allocationKinds(feature, f.action);
  let q = db.k
    .selectFrom("transfers as t")
    .leftJoin("members as mb", "mb.account_id", "t.recipient_account_id")
    .where("t.company_id", "=", company.id)
    .where("t.month", "=", month)
    .where("t.feature", "=", feature);
  // An action that the feature never has (reclaiming a number) matches nothing.
  q = kinds.length > 0 ? q.where("t.kind", "in", kinds) : q.where(sql<boolean>`1 = 0`);
  if (f.recipientAccountId !== undefined) q = q.where("t.recipient_account_id", "=", f.recipientAccountId);
  if (f.group !== undefined) q = q.where(inGroup("mb.id", company.id, f.group));
  return q;
}

export async function allocationsTotals(
  db: Db,
  company: CompanyContext,
  month: string,
  feature: FeatureName,
  f: AllocationFilter,
) {
  const row = await allocationsBase(db, company, month, feature, f)
    .select([
      sql<number>`count(*)`.as("count"),
      sql<number>`coalesce(sum(case when t.kind in ('allocate', 'subscription', 'number') then t.amount_minor else 0 end), 0)`.as(
        "allocated",
      ),
      sql<number>`coalesce(sum(case when t.kind = 'reclaim' then t.amount_minor else 0 end), 0)`.as(
        "reclaimed",
      ),
      sql<number>`coalesce(sum(case when t.kind = 'auto-allocate' then t.amount_minor else 0 end), 0)`.as(
        "auto",
      ),
    ])
    .executeTakeFirstOrThrow();
  return {
    count: Number(row.count),
    allocated: Number(row.allocated),
    reclaimed: Number(row.reclaimed),
    auto: Number(row.auto),
  };
}

export function allocationsRows(
  db: Db,
  company: CompanyContext,
  month: string,
  feature: FeatureName,
  f: AllocationFilter,
) {
  return allocationsBase(db, company, month, feature, f)
    .leftJoin("sip_profiles as sp", "sp.account_id", "t.recipient_account_id")
    .leftJoin("admins as ad", "ad.id", "t.actor_admin_id")
    .select([
      "t.at_ms",
      "t.kind",
      "t.detail",
      "t.amount_minor",
      sql<"member" | "sip_profile">`case when mb.id is null then 'sip_profile' else 'member' end`.as(
        "recipient_type",
      ),
      sql<string>`coalesce(mb.name, sp.name)`.as("recipient"),
      "mb.username",
      groupNames(db, "mb.id").as("groups"),
      "ad.email",
    ])
    .orderBy("t.at_ms")
    .orderBy(ordered(db, sql`coalesce(mb.name, sp.name)`))
    .orderBy("t.id")
    .stream(STREAM_CHUNK_ROWS);
}

// ---------------------------------------------------------------- Usage

export interface UsageFilter {
  kind?: "call" | "sms";
  prefix?: string;
}

/** `fromMs` (within the month) narrows the index range: where the next page of rows starts. */
function usageBase(
  db: Db,
  company: CompanyContext,
  accountId: number,
  month: string,
  f: UsageFilter,
  fromMs?: number,
) {
  let q = db.k
    .selectFrom("usage_records as u")
    .where("u.account_id", "=", accountId)
    .where("u.company_id", "=", company.id)
    // The same rows as the time range (month is the record's company-local month), but it lets PostgreSQL
    // read only that month's partition.
    .where("u.month", "=", month)
    .where("u.started_at_ms", ">=", Math.max(fromMs ?? 0, monthStartMs(month, company.timezone)))
    .where("u.started_at_ms", "<", monthEndMs(month, company.timezone));
  if (f.kind !== undefined) q = q.where("u.kind", "=", f.kind);
  // The prefix is validated digits only, so it cannot carry LIKE wildcards.
  if (f.prefix !== undefined) q = q.where("u.destination", "like", `+${f.prefix}%`);
  return q;
}

export async function usageTotals(
  db: Db,
  company: CompanyContext,
  accountId: number,
  month: string,
  f: UsageFilter,
) {
  const row = await usageBase(db, company, accountId, month, f)
    .select([
      sql<number>`coalesce(sum(case when u.kind = 'call' then 1 else 0 end), 0)`.as("calls"),
      sql<number>`coalesce(sum(case when u.kind = 'sms' then 1 else 0 end), 0)`.as("sms"),
      sql<number>`coalesce(sum(u.billed_s), 0)`.as("billed"),
      sql<number>`coalesce(sum(u.charge_minor), 0)`.as("charged"),
    ])
    .executeTakeFirstOrThrow();
  return {
    calls: Number(row.calls),
    sms: Number(row.sms),
    billed: Number(row.billed),
    charged: Number(row.charged),
  };
}

/** Usage rows read per query at most: the rows come in pages, in report order (keyset pagination). */
export const USAGE_BATCH_ROWS = 5_000;
/** The first page is small (a screen's worth comes back fast); each next one doubles, up to the above. */
export const USAGE_FIRST_BATCH_ROWS = 500;

/**
 * A subject's usage rows of the month in report order, a batch (one indexed range query) at a time: each
 * query continues after the last row of the previous one, on (started_at_ms, external_id), the order the
 * index usage_account_started keeps. `afterRow` starts after a given row (the next page of a long month).
 */
export async function* usageRowBatches(
  db: Db,
  company: CompanyContext,
  accountId: number,
  month: string,
  f: UsageFilter,
  opts: { batchRows?: number; rowsMax?: number; after?: { startedAtMs: number; externalId: string } } = {},
) {
  const batchRowsMax = opts.batchRows ?? USAGE_BATCH_ROWS;
  let batchRows = Math.min(USAGE_FIRST_BATCH_ROWS, batchRowsMax);
  let left = opts.rowsMax ?? Number.POSITIVE_INFINITY;
  let after = opts.after;
  const externalId = ordered(db, sql.ref("u.external_id"));
  while (left > 0) {
    const limit = Math.min(batchRows, left);
    let q = usageRowsQuery(db, company, accountId, month, f, after?.startedAtMs).limit(limit);
    // One plain range on the index (from the last row's time) and the tie-break inside it: both engines
    // then read only the next page from the index, however deep into the month it is.
    if (after !== undefined)
      q = q.where(
        sql<boolean>`(u.started_at_ms > ${after.startedAtMs} or ${externalId} > ${after.externalId})`,
      );
    const rows = await q.execute();
    if (rows.length > 0) yield rows;
    const last = rows[rows.length - 1];
    if (rows.length < limit || last === undefined) return;
    left -= rows.length;
    after = { startedAtMs: last.started_at_ms, externalId: last.external_id };
    batchRows = Math.min(batchRows * 2, batchRowsMax);
  }
}

function usageRowsQuery(
  db: Db,
  company: CompanyContext,
  accountId: number,
  month: string,
  f: UsageFilter,
  fromMs?: number,
) {
  return usageBase(db, company, accountId, month, f, fromMs)
    .select([
      "u.started_at_ms",
      "u.kind",
      "u.destination",
      "u.rate_name",
      "u.duration_s",
      "u.billed_s",
      "u.rate_per_minute",
      "u.charge_minor",
      "u.status",
      "u.covered_by",
      "u.external_id",
    ])
    .orderBy("u.started_at_ms")
    .orderBy(ordered(db, sql.ref("u.external_id")));
}
