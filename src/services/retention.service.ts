/**
 * @module Retention of usage detail (PRODUCT data rights; decision 0006): per-call usage rows of months older
 * than the last `USAGE_RETENTION_MONTHS` months (in each company's timezone) are removed, while the monthly
 * totals (`account_months`) — and so every Summary and every balance — stay exactly as they were. Each purged
 * company-month is recorded in `usage_purges` with the removed rows' count and charges per account, so that a
 * balance still equals the sum of its entries, and ingestion refuses a re-sent record of that month instead of
 * charging it twice. On PostgreSQL a month past every company's horizon is removed by dropping its partition;
 * otherwise (SQLite, or a month some company still keeps) the rows are deleted.
 */
import { sql } from "kysely";
import type { Db } from "../db/database";
import { inTransaction } from "../db/database";
import { dropUsagePartition, listUsagePartitions } from "../db/partitions";
import { addMonths, monthOf, monthStartMs } from "../time/month";
import { writeAudit } from "./audit";
import { loadCompany } from "./company-context";
import { lockCompanyBalance } from "./ledger";

/** Months of per-call usage detail kept by default (the current month and the five before it). */
export const USAGE_RETENTION_MONTHS_DEFAULT = 6;
/** The longest retention that can be set: 100 years (0 keeps the detail forever). */
export const USAGE_RETENTION_MONTHS_MAX = 1_200;

export interface PurgeOptions {
  nowMs: number;
  /** Months of detail to keep, the current one included; 0 keeps everything. */
  retentionMonths: number;
  /** Work out what would be removed without removing anything. */
  dryRun?: boolean;
  /** Who asked, for the audit log ("system" for the scheduler). */
  actor?: string;
  /** Rows deleted per transaction; PURGE_DELETE_ROWS_MAX unless a test wants many small ones. */
  deleteRowsMax?: number;
}

export interface PurgedMonth {
  month: string;
  records: number;
  chargeMinor: number;
}

export interface CompanyPurge {
  companyId: number;
  /** The oldest month kept: every month before it is purged. */
  keepFrom: string;
  months: PurgedMonth[];
}

export interface PurgeResult {
  dryRun: boolean;
  retentionMonths: number;
  /** Companies that had detail to remove (or would have, in a dry run). */
  companies: CompanyPurge[];
  records: number;
  /** PostgreSQL partitions dropped whole (or that would be, in a dry run). */
  partitionsDropped: string[];
}

/** The oldest month a company keeps at `nowMs`: months before it are purged. */
export function retentionHorizon(nowMs: number, timezone: string, retentionMonths: number): string {
  return addMonths(monthOf(nowMs, timezone), -(retentionMonths - 1));
}

/**
 * Removes usage detail past the retention horizon of every company. Each company is one transaction under its
 * ledger lock (so ingestion of that company waits, then sees the month as purged); the partitions dropped at
 * the end hold only months that every company has already recorded as purged. Safe to run again at any time
 * and from several processes: a month already recorded is never counted twice, leftovers are just removed.
 */
export async function purgeUsageDetail(db: Db, opts: PurgeOptions): Promise<PurgeResult> {
  const dryRun = opts.dryRun ?? false;
  const result: PurgeResult = {
    dryRun,
    retentionMonths: opts.retentionMonths,
    companies: [],
    records: 0,
    partitionsDropped: [],
  };
  if (opts.retentionMonths === 0) return result;
  if (!Number.isInteger(opts.retentionMonths) || opts.retentionMonths < 1)
    throw new Error("Assertion failed: retentionMonths must be a whole number ≥ 0");

  const companies = await db.k.selectFrom("companies").select(["id", "timezone"]).orderBy("id").execute();
  const horizons = companies.map((c) => ({
    id: c.id,
    timezone: c.timezone,
    keepFrom: retentionHorizon(opts.nowMs, c.timezone, opts.retentionMonths),
  }));
  // A month's partition can go when the month is past the horizon of every company (timezones differ by a day).
  const oldestKept = horizons.reduce<string | null>(
    (min, h) => (min === null || h.keepFrom < min ? h.keepFrom : min),
    null,
  );
  const partitions = await listUsagePartitions(db);
  const droppable = oldestKept === null ? [] : partitions.filter((m) => m < oldestKept);

  for (const h of horizons) {
    const purge = await purgeCompany(db, h, droppable, opts, dryRun);
    if (purge.months.length > 0) {
      result.companies.push(purge);
      for (const m of purge.months) result.records += m.records;
    }
  }
  if (dryRun) {
    result.partitionsDropped = droppable;
    return result;
  }
  for (const month of droppable)
    if (await inTransaction(db, (tx) => dropUsagePartition(tx, month))) result.partitionsDropped.push(month);
  return result;
}

/** Rows deleted per transaction: a long history is removed without holding the write lock for long. */
export const PURGE_DELETE_ROWS_MAX = 10_000;

/**
 * One company: each month past its horizon is recorded in its own short transaction under the company's
 * ledger lock (from then on ingestion refuses that month), then its rows are deleted in transactions of
 * PURGE_DELETE_ROWS_MAX rows, unless the month's whole partition is dropped afterwards. One audit entry.
 */
async function purgeCompany(
  db: Db,
  h: { id: number; timezone: string; keepFrom: string },
  droppable: readonly string[],
  opts: PurgeOptions,
  dryRun: boolean,
): Promise<CompanyPurge> {
  const company = await loadCompany(db, h.id);
  const deleteRowsMax = opts.deleteRowsMax ?? PURGE_DELETE_ROWS_MAX;
  const beforeMs = monthStartMs(h.keepFrom, h.timezone);
  // The (account_id, started_at_ms) index finds the old rows; `month` also prunes PostgreSQL partitions.
  const oldRows = (tx: Db, months?: readonly string[]) => {
    let q = tx.k
      .selectFrom("usage_records")
      .where("company_id", "=", h.id)
      .where("account_id", "in", tx.k.selectFrom("accounts").select("id").where("company_id", "=", h.id))
      .where("started_at_ms", "<", beforeMs)
      .where("month", "<", h.keepFrom);
    if (months) q = q.where("month", "in", months);
    return q;
  };
  const months = (await oldRows(db).select("month").distinct().orderBy("month").execute()).map(
    (r) => r.month,
  );
  const recorded = new Set(
    (
      await db.k
        .selectFrom("usage_purges")
        .select("month")
        .distinct()
        .where("company_id", "=", h.id)
        .where("month", "<", h.keepFrom)
        .execute()
    ).map((r) => r.month),
  );
  const purge: CompanyPurge = { companyId: h.id, keepFrom: h.keepFrom, months: [] };
  for (const month of months) {
    const counted = await inTransaction(db, async (tx) => {
      if (!dryRun) await lockCompanyBalance(tx, company);
      const totals = await oldRows(tx, [month])
        .select((eb) => [
          "account_id",
          eb.fn.countAll<number>().as("records"),
          eb.fn.sum<number>("charge_minor").as("charge_minor"),
        ])
        .groupBy("account_id")
        .execute();
      // Rows of a month already recorded are leftovers of an interrupted run: removed, not counted again.
      if (!dryRun && !recorded.has(month) && totals.length > 0)
        await tx.k
          .insertInto("usage_purges")
          .values(
            totals.map((t) => ({
              company_id: h.id,
              month,
              account_id: t.account_id,
              records: Number(t.records),
              charge_minor: Number(t.charge_minor),
              purged_at_ms: opts.nowMs,
            })),
          )
          .execute();
      return totals.reduce(
        (m, t) => ({
          month,
          records: m.records + Number(t.records),
          chargeMinor: m.chargeMinor + Number(t.charge_minor),
        }),
        { month, records: 0, chargeMinor: 0 },
      );
    });
    if (counted.records > 0) purge.months.push(counted);
    if (dryRun || droppable.includes(month)) continue;
    for (;;) {
      const deleted = await inTransaction(db, async (tx) => {
        const keys = oldRows(tx, [month]).select(["company_id", "external_id", "month"]).limit(deleteRowsMax);
        const r = await tx.k
          .deleteFrom("usage_records")
          .where(sql<boolean>`(company_id, external_id, month) in (${keys})`)
          .executeTakeFirst();
        return Number(r.numDeletedRows);
      });
      if (deleted < deleteRowsMax) break;
    }
  }
  if (!dryRun && purge.months.length > 0)
    await writeAudit(db, h.id, {
      atMs: opts.nowMs,
      actor: opts.actor ?? "system",
      action: "usage.purged",
      subject: null,
      details: {
        retention_months: opts.retentionMonths,
        kept_from: h.keepFrom,
        months: purge.months.map((m) => m.month),
        records: purge.months.reduce((n, m) => n + m.records, 0),
      },
    });
  return purge;
}

/** The months of a company whose detail was purged, oldest first. */
export async function purgedUsageMonths(db: Db, companyId: number): Promise<string[]> {
  const rows = await db.k
    .selectFrom("usage_purges")
    .select("month")
    .distinct()
    .where("company_id", "=", companyId)
    .orderBy("month")
    .execute();
  return rows.map((r) => r.month);
}

/** Count of the company's usage rows still stored for a month (tests and the CLI's dry run). */
export async function storedUsageRecords(db: Db, companyId: number, month: string): Promise<number> {
  const row = await sql<{ n: number }>`
    select count(*) as n from usage_records where company_id = ${companyId} and month = ${month}`.execute(
    db.k,
  );
  return Number(row.rows[0]?.n ?? 0);
}
