/**
 * Citus readiness (issue 6 §4, decision 0008): read from the migrated schema of SQLite and PostgreSQL, every
 * tenant table has a NOT NULL `company_id` (the distribution column), and every table that is queried by
 * company has an index or key that leads with it. The few tables without `company_id`, and the tenant tables
 * that are looked up by another key, are listed here with the reason — a new table fails this test until it
 * follows the rule or is listed.
 */
import { sql } from "kysely";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Database, Dialect } from "../src/db/database";
import { createTestDatabase, DIALECTS, postgresAvailable } from "./helpers/databases";

const pgOk = await postgresAvailable();

/** Tables that are not one company's data (on Citus: reference or local tables). */
const NOT_TENANT_TABLES: Readonly<Record<string, string>> = {
  companies: "the tenant itself: distributed by its id, which every tenant table's company_id references",
  schema_migrations: "the installation's schema version (a local table on the coordinator)",
  login_attempts:
    "throttling buckets keyed by e-mail and client address, counted before any company is known",
};

/** Tenant tables read by a key of their own (always one company's row) rather than listed by company. */
const LOOKED_UP_BY_OTHER_KEY: Readonly<Record<string, string>> = {
  sessions: "found by the SHA-256 of the cookie token (primary key)",
  api_keys: "found by the SHA-256 of the key (unique)",
  auto_rules: "one per account, found by account_id (unique)",
  subscriptions: "found by account_id (index subscriptions_account)",
  member_groups: "found by member or group (primary key member_id, group_id; index on group_id)",
  consent_events: "append-only history of one member's consent, read per member",
};

interface TableInfo {
  columns: Map<string, { notNull: boolean; primaryKey: boolean }>;
  /** Column lists of the table's indexes, unique constraints and primary key. */
  keys: string[][];
}

async function schemaOf(db: Database): Promise<Map<string, TableInfo>> {
  const tables = new Map<string, TableInfo>();
  if (db.dialect === "sqlite") {
    const names = await sql<{
      name: string;
    }>`select name from sqlite_master where type = 'table' and name not like 'sqlite_%'`.execute(db.k);
    for (const { name } of names.rows) {
      const cols = await sql<{
        name: string;
        notnull: number;
        pk: number;
      }>`select * from pragma_table_info(${name})`.execute(db.k);
      const keys: string[][] = [];
      const pk = cols.rows.filter((c) => c.pk > 0).sort((a, b) => a.pk - b.pk);
      if (pk.length > 0) keys.push(pk.map((c) => c.name));
      const indexes = await sql<{ name: string }>`select name from pragma_index_list(${name})`.execute(db.k);
      for (const index of indexes.rows) {
        const ic = await sql<{
          name: string;
          seqno: number;
        }>`select * from pragma_index_info(${index.name})`.execute(db.k);
        keys.push(ic.rows.sort((a, b) => a.seqno - b.seqno).map((c) => c.name));
      }
      tables.set(name, {
        columns: new Map(cols.rows.map((c) => [c.name, { notNull: c.notnull === 1, primaryKey: c.pk > 0 }])),
        keys,
      });
    }
    return tables;
  }
  // PostgreSQL: ordinary and partitioned tables of the public schema, not the partitions themselves.
  const names = await sql<{ name: string }>`
    select c.relname as name from pg_class c join pg_namespace n on n.oid = c.relnamespace
    where n.nspname = 'public' and c.relkind in ('r', 'p') and not c.relispartition`.execute(db.k);
  for (const { name } of names.rows) {
    const cols = await sql<{ name: string; notnull: boolean }>`
      select a.attname as name, a.attnotnull as notnull from pg_attribute a
      where a.attrelid = ${name}::regclass and a.attnum > 0 and not a.attisdropped`.execute(db.k);
    const idx = await sql<{ columns: string[] }>`
      select array(select a.attname from unnest(i.indkey) with ordinality k(attnum, ord)
                   join pg_attribute a on a.attrelid = i.indrelid and a.attnum = k.attnum order by k.ord)::text[] as columns
      from pg_index i where i.indrelid = ${name}::regclass`.execute(db.k);
    const pk = await sql<{ columns: string[] }>`
      select array(select a.attname from unnest(i.indkey) k(attnum) join pg_attribute a
                   on a.attrelid = i.indrelid and a.attnum = k.attnum)::text[] as columns
      from pg_index i where i.indrelid = ${name}::regclass and i.indisprimary`.execute(db.k);
    const pkColumns = new Set(pk.rows.flatMap((r) => r.columns));
    tables.set(name, {
      columns: new Map(
        cols.rows.map((c) => [c.name, { notNull: c.notnull, primaryKey: pkColumns.has(c.name) }]),
      ),
      keys: idx.rows.map((r) => r.columns),
    });
  }
  return tables;
}

describe.each(DIALECTS.filter((d) => d === "sqlite" || pgOk))("tenancy keys on %s", (dialect: Dialect) => {
  let db: Database;
  let drop: () => Promise<void>;
  let tables: Map<string, TableInfo>;

  beforeAll(async () => {
    ({ db, drop } = await createTestDatabase(dialect));
    tables = await schemaOf(db);
  });
  afterAll(async () => drop());

  it("finds the schema (sanity)", () => {
    for (const t of ["companies", "accounts", "transfers", "usage_records", "account_months", "audit_log"])
      expect(tables.has(t), t).toBe(true);
  });

  it("every tenant table has a NOT NULL company_id; the exceptions are listed", () => {
    const missing: string[] = [];
    for (const [name, info] of tables) {
      if (name in NOT_TENANT_TABLES) {
        expect(info.columns.has("company_id"), `${name} is listed as not a tenant table`).toBe(false);
        continue;
      }
      const c = info.columns.get("company_id");
      // A primary-key column is NOT NULL on PostgreSQL; SQLite's non-integer primary keys would allow NULL, but
      // the one such table (audit_heads, keyed by company_id alone) is only written with a company's id.
      if (!c || !(c.notNull || c.primaryKey)) missing.push(name);
    }
    expect(missing).toEqual([]);
  });

  it("every tenant table queried by company has an index or key that leads with company_id", () => {
    const without: string[] = [];
    for (const [name, info] of tables) {
      if (name in NOT_TENANT_TABLES) continue;
      const leads = info.keys.some((k) => k[0] === "company_id");
      if (name in LOOKED_UP_BY_OTHER_KEY) {
        // The list must stay true: a table that gains such an index leaves the list.
        expect(leads, `${name} now has a company_id index: remove it from LOOKED_UP_BY_OTHER_KEY`).toBe(
          false,
        );
        continue;
      }
      if (!leads) without.push(name);
    }
    expect(without).toEqual([]);
  });

  it("the listed exceptions are tables that exist", () => {
    for (const name of [...Object.keys(NOT_TENANT_TABLES), ...Object.keys(LOOKED_UP_BY_OTHER_KEY)])
      expect(tables.has(name), name).toBe(true);
  });
});
