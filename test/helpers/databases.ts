/**
 * @module Test databases: every integration suite runs once per dialect against a real, fresh database.
 * SQLite is a new in-memory database; PostgreSQL is a new database on the local server, dropped afterwards.
 * Under CI=true a PostgreSQL that does not answer fails the run; elsewhere its suites skip with a notice.
 */
import crypto from "node:crypto";
import pg from "pg";
import { openDatabase } from "../../src/db/database";
import type { Database, Dialect } from "../../src/db/database";
import { migrate } from "../../src/db/migrate";

export const PG_ADMIN_URL = process.env["TEST_PG_URL"] ?? "postgres://root@127.0.0.1:5432/postgres";

let pgAvailable: Promise<boolean> | undefined;

export function postgresAvailable(): Promise<boolean> {
  pgAvailable ??= (async () => {
    const client = new pg.Client({ connectionString: PG_ADMIN_URL, connectionTimeoutMillis: 3_000 });
    try {
      await client.connect();
      await client.query("select 1");
      return true;
    } catch (error) {
      if (process.env["CI"] === "true") {
        throw new Error(
          `PostgreSQL is required under CI=true but did not answer at ${PG_ADMIN_URL}: ${String(error)}`,
        );
      }
      console.warn(`NOTICE: PostgreSQL not reachable at ${PG_ADMIN_URL}; PostgreSQL suites are skipped.`);
      return false;
    } finally {
      await client.end().catch(() => undefined);
    }
  })();
  return pgAvailable;
}

export const DIALECTS: readonly Dialect[] = ["sqlite", "postgres"];

/** Creates a fresh, migrated database of the dialect; `drop` removes it. */
export async function createTestDatabase(
  dialect: Dialect,
): Promise<{ db: Database; drop: () => Promise<void> }> {
  if (dialect === "sqlite") {
    const db = openDatabase("sqlite::memory:");
    await migrate(db);
    return { db, drop: () => db.close() };
  }
  const name = `sb_test_${crypto.randomBytes(6).toString("hex")}`;
  const admin = new pg.Client({ connectionString: PG_ADMIN_URL });
  await admin.connect();
  await admin.query(`create database ${name} template template0 encoding 'UTF8'`);
  await admin.end();
  const url = new URL(PG_ADMIN_URL);
  url.pathname = `/${name}`;
  const db = openDatabase(url.toString());
  await migrate(db);
  return {
    db,
    drop: async () => {
      await db.close();
      const c = new pg.Client({ connectionString: PG_ADMIN_URL });
      await c.connect();
      await c.query(`drop database if exists ${name} with (force)`);
      await c.end();
    },
  };
}
