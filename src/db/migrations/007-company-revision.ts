/**
 * @module A per-company revision counter, bumped in the same transaction as every write that can change a
 * report: cached reports are keyed by it, so a cache can never serve a report older than the data
 * (docs/decisions/0007-report-serving.md).
 */
import type { Kysely } from "kysely";

type AnyDb = Kysely<Record<string, never>>;

export async function up(db: AnyDb): Promise<void> {
  await db.schema
    .alterTable("companies")
    .addColumn("revision", "bigint", (c) => c.notNull().defaultTo(0))
    .execute();
}
