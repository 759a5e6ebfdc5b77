/**
 * @module Versioned migrations, run in order inside one transaction each; every command runs them first.
 * Migrations are plain functions in code (no files scanned at run time) so a bundled build finds them.
 */
import { sql } from "kysely";
import type { Kysely } from "kysely";
import type { Database, Dialect } from "./database";
import * as m001 from "./migrations/001-initial";
import * as m002 from "./migrations/002-server";
import * as m003 from "./migrations/003-admin-removal";
import * as m004 from "./migrations/004-download-jobs";
import * as m005 from "./migrations/005-usage-storage";
import * as m006 from "./migrations/006-audit-chain";
import * as m007 from "./migrations/007-company-revision";

type AnyDb = Kysely<Record<string, never>>;
interface Migration {
  readonly version: number;
  readonly name: string;
  up(db: AnyDb, dialect: Dialect): Promise<void>;
}

export const MIGRATIONS: readonly Migration[] = [
  { version: 1, name: "initial", up: m001.up },
  { version: 2, name: "server", up: m002.up },
  { version: 3, name: "admin-removal", up: m003.up },
  { version: 4, name: "download-jobs", up: m004.up },
  { version: 5, name: "usage-storage", up: m005.up },
  { version: 6, name: "audit-chain", up: m006.up },
  { version: 7, name: "company-revision", up: m007.up },
];

/** Brings the schema up to date; returns the versions it applied. Safe to run from several processes. */
export async function migrate(db: Database): Promise<number[]> {
  const k = db.k as unknown as AnyDb;
  await sql`create table if not exists schema_migrations (version integer primary key, name text not null, applied_at_ms bigint not null)`.execute(
    k,
  );
  const applied: number[] = [];
  for (const migration of MIGRATIONS) {
    const done = await k.transaction().execute(async (trx) => {
      // Serialise concurrent migrators on PostgreSQL; SQLite's BEGIN IMMEDIATE already does.
      if (db.dialect === "postgres") await sql`select pg_advisory_xact_lock(7243001)`.execute(trx);
      const row = await sql<{
        version: number;
      }>`select version from schema_migrations where version = ${migration.version}`.execute(trx);
      if (row.rows.length > 0) return false;
      await migration.up(trx, db.dialect);
      await sql`insert into schema_migrations (version, name, applied_at_ms) values (${migration.version}, ${migration.name}, ${Date.now()})`.execute(
        trx,
      );
      return true;
    });
    if (done) applied.push(migration.version);
  }
  return applied;
}
