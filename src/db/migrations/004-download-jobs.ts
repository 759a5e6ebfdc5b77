/**
 * @module Download jobs: a Download Reports generation that runs in the background, survives a page
 * reload (its state and progress are here) and whose file expires after a set time.
 */
import type { Kysely } from "kysely";
import type { Dialect } from "../database";

type AnyDb = Kysely<Record<string, never>>;

export async function up(db: AnyDb, dialect: Dialect): Promise<void> {
  const table = db.schema.createTable("download_jobs");
  await (
    dialect === "sqlite"
      ? table.addColumn("id", "integer", (c) => c.primaryKey().autoIncrement())
      : table.addColumn("id", "bigint", (c) => c.primaryKey().generatedByDefaultAsIdentity())
  )
    .addColumn("company_id", "bigint", (c) => c.notNull().references("companies.id"))
    .addColumn("requested_by", "text", (c) => c.notNull())
    .addColumn("month", "text", (c) => c.notNull())
    .addColumn("format", "text", (c) => c.notNull())
    .addColumn("reports", "text", (c) => c.notNull())
    .addColumn("state", "text", (c) => c.notNull())
    .addColumn("progress_rows", "bigint", (c) => c.notNull().defaultTo(0))
    .addColumn("file_path", "text")
    .addColumn("file_name", "text")
    .addColumn("error", "text")
    .addColumn("created_at_ms", "bigint", (c) => c.notNull())
    .addColumn("updated_at_ms", "bigint", (c) => c.notNull())
    .addColumn("finished_at_ms", "bigint")
    .addColumn("expires_at_ms", "bigint", (c) => c.notNull())
    .execute();
  await db.schema
    .createIndex("download_jobs_requester")
    .on("download_jobs")
    .columns(["company_id", "requested_by", "created_at_ms"])
    .execute();
  await db.schema.createIndex("download_jobs_expiry").on("download_jobs").column("expires_at_ms").execute();
}
