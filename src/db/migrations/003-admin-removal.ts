/** @module Admins are removed by marking them: their name stays on the immutable history that reports print. */
import type { Kysely } from "kysely";

type AnyDb = Kysely<Record<string, never>>;

export async function up(db: AnyDb): Promise<void> {
  await db.schema.alterTable("admins").addColumn("removed_at_ms", "bigint").execute();
}
