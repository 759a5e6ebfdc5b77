/**
 * @module Usage storage (migration 005, src/db/partitions.ts), once per dialect: an existing usage table with
 * rows is converted (PostgreSQL: partitioned by month) keeping every row and id; the dedupe constraint still
 * refuses a repeated (company, external_id, month); a month without a partition lands in DEFAULT and is moved
 * into its own partition when one is made; ingestion makes the partition of a month it has not seen.
 */
import crypto from "node:crypto";
import { sql } from "kysely";
import type { Kysely } from "kysely";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { inTransaction, openDatabase } from "../src/db/database";
import type { Database, Dialect } from "../src/db/database";
import { migrate, MIGRATIONS } from "../src/db/migrate";
import {
  dropUsagePartition,
  ensureUsagePartitions,
  listUsagePartitions,
  USAGE_DEFAULT_PARTITION,
  usagePartitionName,
} from "../src/db/partitions";
import { loadRateTable, putRate } from "../src/services/catalog.service";
import { loadCompany } from "../src/services/company-context";
import { ingestUsage } from "../src/services/usage.service";
import { requireSubject } from "../src/services/people.service";
import { DIALECTS, PG_ADMIN_URL, postgresAvailable } from "./helpers/databases";

type AnyDb = Kysely<Record<string, never>>;

/** A database migrated only up to version 4 (before usage storage), and how to drop it. */
async function databaseAtVersion4(dialect: Dialect): Promise<{ db: Database; drop: () => Promise<void> }> {
  let db: Database;
  let dropIt = (): Promise<void> => Promise.resolve();
  if (dialect === "sqlite") db = openDatabase("sqlite::memory:");
  else {
    const name = `sb_test_${crypto.randomBytes(6).toString("hex")}`;
    const admin = new pg.Client({ connectionString: PG_ADMIN_URL });
    await admin.connect();
    await admin.query(`create database ${name} template template0 encoding 'UTF8'`);
    await admin.end();
    const url = new URL(PG_ADMIN_URL);
    url.pathname = `/${name}`;
    db = openDatabase(url.toString());
    dropIt = async () => {
      const c = new pg.Client({ connectionString: PG_ADMIN_URL });
      await c.connect();
      await c.query(`drop database if exists ${name} with (force)`);
      await c.end();
    };
  }
  const k = db.k as unknown as AnyDb;
  await sql`create table schema_migrations (version integer primary key, name text not null, applied_at_ms bigint not null)`.execute(
    k,
  );
  for (const m of MIGRATIONS.filter((x) => x.version <= 4))
    await k.transaction().execute(async (trx) => {
      await m.up(trx, dialect);
      await sql`insert into schema_migrations values (${m.version}, ${m.name}, 0)`.execute(trx);
    });
  return {
    db,
    drop: async () => {
      await db.close();
      await dropIt();
    },
  };
}

const usageRow = (companyId: number, accountId: number, externalId: string, month: string, id?: number) => ({
  ...(id === undefined ? {} : { id }),
  company_id: companyId,
  account_id: accountId,
  external_id: externalId,
  kind: "call" as const,
  status: "rated" as const,
  started_at_ms: Date.parse(`${month}-10T12:00:00Z`),
  month,
  destination: "+442079460123",
  duration_s: 60,
  billed_s: 60,
  charge_minor: 7,
  covered_minutes: 0,
  ingested_at_ms: 0,
});

for (const dialect of DIALECTS) {
  describe(`usage storage (${dialect})`, () => {
    let db: Database;
    let drop: () => Promise<void> = () => Promise.resolve();
    let companyId = 0;
    let accountId = 0;

    beforeAll(async () => {
      if (dialect === "postgres" && !(await postgresAvailable())) return;
      ({ db, drop } = await databaseAtVersion4(dialect));
      const k = db.k as unknown as AnyDb;
      // The rows a version-4 database holds, written with plain SQL as that schema had them.
      const company = await sql<{ id: number }>`
        insert into companies (name, currency, timezone, created_at_ms)
        values ('Old Ltd', 'EUR', 'Europe/London', 0) returning id`.execute(k);
      companyId = Number(company.rows[0]?.id);
      for (const kind of ["company", "purchases", "usage", "features", "member"]) {
        const a = await sql<{ id: number }>`
          insert into accounts (company_id, kind, balance_minor) values (${companyId}, ${kind}, 0) returning id`.execute(
          k,
        );
        accountId = Number(a.rows[0]?.id);
      }
      await sql`update companies set company_account_id = (select min(id) from accounts) where id = ${companyId}`.execute(
        k,
      );
      const rows = [
        usageRow(companyId, accountId, "old-1", "2025-01", 101),
        usageRow(companyId, accountId, "old-2", "2025-01", 102),
        usageRow(companyId, accountId, "old-3", "2026-02", 250),
      ];
      await (db.k as unknown as Kysely<{ usage_records: Record<string, unknown> }>)
        .insertInto("usage_records")
        .values(rows)
        .execute();
      expect(await migrate(db)).toContain(5);
    }, 60_000);
    afterAll(async () => {
      await drop();
    });

    it("keeps every existing row and its id", async ({ skip }) => {
      if (!db) skip();
      const rows = await db.k
        .selectFrom("usage_records")
        .select(["id", "external_id", "month"])
        .orderBy("id")
        .execute();
      expect(rows).toEqual([
        { id: 101, external_id: "old-1", month: "2025-01" },
        { id: 102, external_id: "old-2", month: "2025-01" },
        { id: 250, external_id: "old-3", month: "2026-02" },
      ]);
    });

    it("partitions by month on PostgreSQL, with a DEFAULT partition; one table on SQLite", async ({
      skip,
    }) => {
      if (!db) skip();
      const partitions = await listUsagePartitions(db);
      if (dialect === "sqlite") {
        expect(partitions).toEqual([]);
        return;
      }
      expect(partitions).toEqual(expect.arrayContaining(["2025-01", "2026-02"]));
      const parts = await sql<{ name: string; n: number }>`
        select tableoid::regclass::text as name, count(*)::int as n from usage_records group by 1 order by 1`.execute(
        db.k,
      );
      expect(parts.rows).toEqual([
        { name: "usage_records_2025_01", n: 2 },
        { name: "usage_records_2026_02", n: 1 },
      ]);
      const defaults = await sql<{ n: number }>`
        select count(*)::int as n from pg_inherits i join pg_class c on c.oid = i.inhrelid
        where c.relname = ${USAGE_DEFAULT_PARTITION}`.execute(db.k);
      expect(defaults.rows[0]?.n).toBe(1);
    });

    it("refuses a repeated (company, external_id, month), and new rows get ids after the old ones", async ({
      skip,
    }) => {
      if (!db) skip();
      const d = db;
      await expect(
        d.k
          .insertInto("usage_records")
          .values(usageRow(companyId, accountId, "old-1", "2025-01"))
          .execute(),
      ).rejects.toThrow(/unique|UNIQUE/);
      const { id } = await d.k
        .insertInto("usage_records")
        .values(usageRow(companyId, accountId, "new-1", "2026-02"))
        .returning("id")
        .executeTakeFirstOrThrow();
      expect(id).toBeGreaterThan(250);
    });

    it("a row of a month without a partition goes to DEFAULT and moves into the partition made later", async ({
      skip,
    }) => {
      if (!db) skip();
      const d = db;
      await d.k
        .insertInto("usage_records")
        .values(usageRow(companyId, accountId, "far-1", "2031-05"))
        .execute();
      await ensureUsagePartitions(d, ["2031-05", "2031-05"]);
      if (dialect === "postgres") {
        expect(await listUsagePartitions(d)).toContain("2031-05");
        const where = await sql<{ name: string }>`
          select tableoid::regclass::text as name from usage_records where external_id = 'far-1'`.execute(
          d.k,
        );
        expect(where.rows).toEqual([{ name: "usage_records_2031_05" }]);
      }
      // Idempotent, including across handles that have not cached the month.
      await ensureUsagePartitions({ k: d.k, dialect: d.dialect, inTransaction: false }, ["2031-05"]);
      expect(
        await d.k.selectFrom("usage_records").select("external_id").where("month", "=", "2031-05").execute(),
      ).toEqual([{ external_id: "far-1" }]);
    });

    it("ingestion makes the partition of a month it has not seen", async ({ skip }) => {
      if (!db) skip();
      const d = db;
      const company = await loadCompany(d, companyId);
      await inTransaction(d, async (tx) => {
        await tx.k
          .insertInto("members")
          .values({
            company_id: companyId,
            account_id: accountId,
            name: "Bob",
            username: "bob",
            email: null,
            account_type: "business",
            reports_consent: 0,
            consent_changed_at_ms: null,
            created_at_ms: 0,
          })
          .execute();
        await putRate(tx, company, {
          prefix: "44",
          name: "United Kingdom",
          perMinute: "0.0230",
          connectionFee: "0.0390",
          interval: "60/60",
          sms: "0.1100",
        });
      });
      const bob = await requireSubject(d, companyId, "bob");
      const rates = await loadRateTable(d, companyId);
      const r = await inTransaction(d, (tx) =>
        ingestUsage(
          tx,
          company,
          [
            {
              externalId: "x-1",
              subject: bob,
              kind: "call",
              startedAtMs: Date.UTC(2032, 6, 1, 12),
              destination: "+442079460123",
              durationS: 60,
              segments: null,
            },
            {
              externalId: "old-1", // stored in 2025-01: a duplicate whatever month it says now
              subject: bob,
              kind: "call",
              startedAtMs: Date.UTC(2032, 6, 1, 13),
              destination: "+442079460123",
              durationS: 60,
              segments: null,
            },
          ],
          { nowMs: Date.UTC(2032, 6, 2), rates },
        ),
      );
      expect(r).toMatchObject({ stored: 1, duplicates: 1, rejected: [] });
      if (dialect === "postgres") expect(await listUsagePartitions(d)).toContain("2032-07");
    });

    it("a partition is dropped only when every company in it has recorded the month as purged", async ({
      skip,
    }) => {
      if (!db) skip();
      const d = db;
      const drop = (month: string) => inTransaction(d, (tx) => dropUsagePartition(tx, month));
      if (dialect === "sqlite") {
        expect(await drop("2025-01")).toBe(false);
        return;
      }
      expect(await drop("2025-01")).toBe(false);
      expect(await listUsagePartitions(d)).toContain("2025-01");
      await d.k
        .insertInto("usage_purges")
        .values({
          company_id: companyId,
          month: "2025-01",
          account_id: accountId,
          records: 2,
          charge_minor: 14,
          purged_at_ms: 0,
        })
        .execute();
      expect(await drop("2025-01")).toBe(true);
      expect(await listUsagePartitions(d)).not.toContain("2025-01");
      expect(await drop("2025-01")).toBe(false);
    });

    it("partition names come only from well-formed months", () => {
      expect(usagePartitionName("2026-09")).toBe("usage_records_2026_09");
      expect(usagePartitionName("2026-13")).toBeNull();
      expect(usagePartitionName("2026-09'; drop table x; --")).toBeNull();
    });
  });
}
