/**
 * @module PostgreSQL partitions of `usage_records`: one per month (LIST on the `month` column, decision 0006)
 * plus a DEFAULT partition, so an insert never fails for want of one. Partitions are made ahead of time by
 * migration 005 and, for months it did not foresee, by `ensureUsagePartitions` before rows of a new month are
 * written; retention drops whole partitions. On SQLite `usage_records` is one table and all of this is a no-op.
 */
import { sql } from "kysely";
import type { Db } from "./database";

export const USAGE_DEFAULT_PARTITION = "usage_records_default";
/** Months after the current one that the migration creates partitions for. */
export const USAGE_PARTITIONS_AHEAD_MONTHS = 3;
/** Serialises partition changes across processes (any fixed number, distinct from migrate's 7243001). */
const PARTITION_LOCK_KEY = 7243005;
/** Key of the set of months known to have a partition, in the database handle's memo. */
const MEMO_KEY = "usage_partitions";

const MONTH = /^(\d{4})-(0[1-9]|1[0-2])$/;

/** `usage_records_2026_09`, or null for a text that is not a YYYY-MM month (never spliced into SQL). */
export function usagePartitionName(month: string): string | null {
  const m = MONTH.exec(month);
  return m ? `usage_records_${m[1]}_${m[2]}` : null;
}

/** The DDL of a month's partition; the month is checked against a strict pattern before it is written. */
export function createUsagePartitionSql(month: string): string | null {
  const name = usagePartitionName(month);
  if (name === null) return null;
  return `create table if not exists ${name} partition of usage_records for values in ('${month}')`;
}

function knownMonths(db: Db): Set<string> | undefined {
  if (!db.memo) return undefined;
  let set = db.memo.get(MEMO_KEY) as Set<string> | undefined;
  if (!set) {
    set = new Set();
    db.memo.set(MEMO_KEY, set);
  }
  return set;
}

/** The months that have their own partition (PostgreSQL), oldest first; empty on SQLite. */
export async function listUsagePartitions(db: Db): Promise<string[]> {
  if (db.dialect !== "postgres") return [];
  const rows = await sql<{ name: string }>`
    select c.relname as name from pg_inherits i
    join pg_class c on c.oid = i.inhrelid
    join pg_class p on p.oid = i.inhparent
    where p.relname = 'usage_records' and p.relnamespace = current_schema()::regnamespace
    order by c.relname`.execute(db.k);
  const months: string[] = [];
  for (const { name } of rows.rows) {
    const m = /^usage_records_(\d{4})_(\d{2})$/.exec(name);
    if (m) months.push(`${m[1]}-${m[2]}`);
  }
  return months;
}

/**
 * Makes sure each month has its own partition. Known months (cached per database handle, for the process)
 * cost nothing; for another month it takes an advisory lock, and if rows of that month already sit in the
 * DEFAULT partition it moves them into the new partition in the same transaction (PostgreSQL refuses to
 * create a partition whose rows the DEFAULT partition holds). Runs in the caller's transaction when there is
 * one, so a rolled-back batch rolls its partition back too (its rows would simply have gone to DEFAULT).
 */
export async function ensureUsagePartitions(db: Db, months: readonly string[]): Promise<void> {
  if (db.dialect !== "postgres") return;
  const known = knownMonths(db);
  const missing = [...new Set(months)].filter((m) => !(known?.has(m) ?? false));
  if (missing.length === 0) return;
  const existing = new Set(await listUsagePartitions(db));
  const toCreate = missing.filter((m) => !existing.has(m) && usagePartitionName(m) !== null);
  if (toCreate.length > 0) {
    const create = async (tx: Db): Promise<void> => {
      await sql`select pg_advisory_xact_lock(${PARTITION_LOCK_KEY})`.execute(tx.k);
      const now = new Set(await listUsagePartitions(tx));
      for (const month of toCreate) {
        if (now.has(month)) continue;
        await createPartition(tx, month);
      }
    };
    if (db.inTransaction) await create(db);
    else await db.k.transaction().execute((trx) => create({ ...db, k: trx, inTransaction: true }));
  }
  for (const m of missing) known?.add(m);
}

async function createPartition(db: Db, month: string): Promise<void> {
  const name = usagePartitionName(month);
  const ddl = createUsagePartitionSql(month);
  if (name === null || ddl === null) return;
  const stray = await sql<{ n: number }>`
    select count(*)::int as n from ${sql.table(USAGE_DEFAULT_PARTITION)} where month = ${month}`.execute(
    db.k,
  );
  if ((stray.rows[0]?.n ?? 0) === 0) {
    await sql.raw(ddl).execute(db.k);
    return;
  }
  // Rows of this month went to DEFAULT (a partition made later than they arrived): move them across.
  await sql
    .raw(`create table ${name} (like usage_records including defaults including constraints)`)
    .execute(db.k);
  await sql
    .raw(
      `with moved as (delete from ${USAGE_DEFAULT_PARTITION} where month = '${month}' returning *) ` +
        `insert into ${name} select * from moved`,
    )
    .execute(db.k);
  await sql
    .raw(`alter table usage_records attach partition ${name} for values in ('${month}')`)
    .execute(db.k);
}

/**
 * Drops a month's partition with its rows (retention). Only when every company with rows in it has recorded
 * that month as purged (`usage_purges`): a row that arrived after its company's purge step — a company that
 * had nothing that month, then sent an old record — is kept for the next run to count. Returns false when
 * the month has no partition or it was kept.
 */
export async function dropUsagePartition(db: Db, month: string): Promise<boolean> {
  const name = usagePartitionName(month);
  if (db.dialect !== "postgres" || name === null) return false;
  await sql`select pg_advisory_xact_lock(${PARTITION_LOCK_KEY})`.execute(db.k);
  const months = await listUsagePartitions(db);
  if (!months.includes(month)) return false;
  // No insert can reach the partition from here to the drop (which locks the parent like this anyway;
  // taking the parent first, as every writer does, avoids a lock-order deadlock).
  await sql.raw(`lock table usage_records, ${name} in access exclusive mode`).execute(db.k);
  const unrecorded = await sql<{ company_id: number }>`
    select company_id from ${sql.table(name)}
    except select company_id from usage_purges where month = ${month}
    limit 1`.execute(db.k);
  if (unrecorded.rows.length > 0) return false;
  await sql.raw(`drop table ${name}`).execute(db.k);
  knownMonths(db)?.delete(month);
  return true;
}
