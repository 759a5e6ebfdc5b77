/**
 * @module Multi-row INSERT for the hot path (usage ingestion): the SQL text for a given table, column list
 * and row count is built once and reused (so SQLite reuses its prepared statement), skipping the query
 * builder's per-call compilation. Values are always bound parameters, never spliced into the text.
 */
import { CompiledQuery } from "kysely";
import type { Db } from "./database";
import type { DB } from "./schema";

const sqlCache = new Map<string, string>();
const SQL_CACHED_MAX = 200;

function insertSql(
  db: Db,
  table: string,
  columns: readonly string[],
  rowCount: number,
  suffix: string,
): string {
  const key = `${db.dialect}|${table}|${columns.join(",")}|${rowCount}|${suffix}`;
  let text = sqlCache.get(key);
  if (text === undefined) {
    let n = 0;
    const row = () => `(${columns.map(() => (db.dialect === "postgres" ? `$${++n}` : "?")).join(", ")})`;
    const rows: string[] = [];
    for (let i = 0; i < rowCount; i++) rows.push(row());
    text = `insert into "${table}" (${columns.map((c) => `"${c}"`).join(", ")}) values ${rows.join(", ")}${suffix}`;
    if (sqlCache.size >= SQL_CACHED_MAX) sqlCache.clear();
    sqlCache.set(key, text);
  }
  return text;
}

/**
 * Inserts rows (all with the same keys, in `columns` order) in one statement. `suffix` is fixed SQL
 * appended after the values (an ON CONFLICT clause), written by the caller, never from user input.
 */
export async function insertMany<T extends keyof DB>(
  db: Db,
  table: T,
  columns: readonly (keyof DB[T] & string)[],
  rows: readonly Partial<Record<keyof DB[T] & string, unknown>>[],
  suffix = "",
): Promise<void> {
  if (rows.length === 0) return;
  const params: unknown[] = new Array(rows.length * columns.length);
  let i = 0;
  for (const row of rows) for (const c of columns) params[i++] = row[c] ?? null;
  await db.k.executeQuery(CompiledQuery.raw(insertSql(db, table, columns, rows.length, suffix), params));
}

/** A PostgreSQL array element type for `insertColumns`. */
export type PgArrayType = "bigint" | "integer" | "text";

/**
 * Inserts `rowCount` rows given column by column (`arrays[c][r]` is column c of row r), without building an
 * object per row. PostgreSQL: ONE statement, one array parameter per column,
 * `insert into t (a, b) select * from unnest($1::bigint[], $2::text[])`, whose text does not depend on the
 * row count, so the server parses and plans it once per connection. SQLite: cached multi-row INSERTs of
 * `sqliteRowsMax` rows (SQLite has no arrays; its statements are prepared once per row count).
 */
export async function insertColumns<T extends keyof DB>(
  db: Db,
  table: T,
  columns: readonly { name: keyof DB[T] & string; type: PgArrayType }[],
  arrays: readonly unknown[][],
  rowCount: number,
  opts: { suffix?: string; sqliteRowsMax: number },
): Promise<void> {
  if (rowCount === 0) return;
  const suffix = opts.suffix ?? "";
  if (db.dialect === "sqlite") {
    const names = columns.map((c) => c.name);
    for (let start = 0; start < rowCount; start += opts.sqliteRowsMax) {
      const n = Math.min(opts.sqliteRowsMax, rowCount - start);
      const params: unknown[] = new Array(n * columns.length);
      let i = 0;
      for (let r = start; r < start + n; r++) for (const array of arrays) params[i++] = array[r] ?? null;
      await db.k.executeQuery(CompiledQuery.raw(insertSql(db, table, names, n, suffix), params));
    }
    return;
  }
  const key = `unnest|${table}|${columns.map((c) => `${c.name}:${c.type}`).join(",")}|${suffix}`;
  let text = sqlCache.get(key);
  if (text === undefined) {
    text =
      `insert into "${table}" (${columns.map((c) => `"${c.name}"`).join(", ")}) ` +
      `select * from unnest(${columns.map((c, i) => `$${i + 1}::${c.type}[]`).join(", ")})${suffix}`;
    if (sqlCache.size >= SQL_CACHED_MAX) sqlCache.clear();
    sqlCache.set(key, text);
  }
  await db.k.executeQuery(
    CompiledQuery.raw(
      text,
      arrays.map((a) => (a.length === rowCount ? a : a.slice(0, rowCount))),
    ),
  );
}
