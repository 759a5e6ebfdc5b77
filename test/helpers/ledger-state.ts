/**
 * @module Snapshots of database state for tests that assert "nothing changed": a company's balances and
 * row counts, and the row count of every table of the schema.
 */
import type { Db } from "../../src/db/database";
import type { DB } from "../../src/db/schema";

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
