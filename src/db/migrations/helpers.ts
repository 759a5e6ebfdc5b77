/** @module Shared pieces of migrations: the id column each dialect spells differently. */
import type { CreateTableBuilder } from "kysely";
import type { Dialect } from "../database";

export type Table = CreateTableBuilder<string, never>;

/** An integer primary key: SQLite's rowid alias, or a PostgreSQL bigint identity. */
export function idColumn(t: Table, dialect: Dialect): Table {
  return dialect === "sqlite"
    ? t.addColumn("id", "integer", (c) => c.primaryKey().autoIncrement())
    : t.addColumn("id", "bigint", (c) => c.primaryKey().generatedByDefaultAsIdentity());
}
