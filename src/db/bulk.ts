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
