/**
 * @module Bulk writes for the benchmark data generator, in plain SQL beside the app: rows are buffered per
 * table and flushed in one transaction, tables in foreign-key order. PostgreSQL gets `COPY … FROM STDIN`
 * (pg-copy-streams) on its own connection; SQLite gets prepared multi-row INSERTs (cached by their text).
 */
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { CompiledQuery } from "kysely";
import pg from "pg";
import { from as copyFrom } from "pg-copy-streams";
import type { Database, Db } from "../../src/db/database";
import { inTransaction } from "../../src/db/database";

/** A column and its PostgreSQL type (for the unnest cast). */
export type ColumnSpec = readonly [name: string, pgType: "bigint" | "integer" | "text"];

export interface TableSpec {
  readonly name: string;
  readonly columns: readonly ColumnSpec[];
}

/** SQLite allows 32,766 bound parameters per statement; stay well below. */
const SQLITE_PARAMS_PER_STATEMENT_MAX = 16_000;
/** Rows per PostgreSQL unnest statement (balance updates). */
const PG_ROWS_PER_STATEMENT_MAX = 20_000;
/** Characters of COPY text sent per write. */
const COPY_CHUNK_CHARS = 1 << 20;

type Value = string | number | null;

export class BulkWriter {
  readonly #db: Database;
  readonly #tables: TableSpec[] = [];
  readonly #buffers = new Map<string, Value[][]>();
  readonly #updates: { id: number; balance: number }[] = [];
  #pg: pg.Client | undefined;
  rowsWritten = 0;

  /** `tables` in foreign-key order: a flush writes them in this order. */
  constructor(db: Database, tables: readonly TableSpec[]) {
    this.#db = db;
    for (const t of tables) {
      this.#tables.push(t);
      this.#buffers.set(t.name, []);
    }
  }

  /** Buffers one row (values in the table's column order). */
  push(table: TableSpec, row: Value[]): void {
    const buffer = this.#buffers.get(table.name);
    if (buffer === undefined) throw new Error(`Assertion failed: unknown table ${table.name}`);
    if (row.length !== table.columns.length)
      throw new Error(`Assertion failed: ${table.name} row has ${row.length} values`);
    buffer.push(row);
  }

  /** Buffers a final balance for an account (written after the inserts of the same flush). */
  setBalance(accountId: number, balanceMinor: number): void {
    if (balanceMinor !== 0) this.#updates.push({ id: accountId, balance: balanceMinor });
  }

  buffered(table: TableSpec): number {
    return this.#buffers.get(table.name)?.length ?? 0;
  }

  /** Writes everything buffered in one transaction. */
  async flush(): Promise<void> {
    if (this.#db.dialect === "postgres") return this.#flushPostgres();
    await inTransaction(this.#db, async (tx) => {
      for (const t of this.#tables) {
        const rows = this.#buffers.get(t.name) ?? [];
        if (rows.length === 0) continue;
        await insertSqlite(tx, t, rows);
        this.rowsWritten += rows.length;
        this.#buffers.set(t.name, []);
      }
      if (this.#updates.length > 0) {
        await updateBalances(tx, this.#updates);
        this.#updates.length = 0;
      }
    });
  }

  async #flushPostgres(): Promise<void> {
    if (!this.#pg) {
      this.#pg = new pg.Client({ connectionString: this.#db.url });
      await this.#pg.connect();
      // A bulk load that is consistent by construction skips the per-row foreign-key triggers (as pg_restore
      // does); this needs a superuser, and without one the load is just slower.
      await this.#pg.query("set session_replication_role = replica").catch(() => undefined);
    }
    const client = this.#pg;
    await client.query("begin");
    try {
      for (const t of this.#tables) {
        const rows = this.#buffers.get(t.name) ?? [];
        if (rows.length === 0) continue;
        const names = t.columns.map(([n]) => `"${n}"`).join(", ");
        await pipeline(
          Readable.from(copyText(rows)),
          client.query(copyFrom(`copy "${t.name}" (${names}) from stdin`)),
        );
        this.rowsWritten += rows.length;
        this.#buffers.set(t.name, []);
      }
      for (let start = 0; start < this.#updates.length; start += PG_ROWS_PER_STATEMENT_MAX) {
        const part = this.#updates.slice(start, start + PG_ROWS_PER_STATEMENT_MAX);
        await client.query(
          "update accounts a set balance_minor = v.balance from unnest($1::bigint[], $2::bigint[]) as v(id, balance) where a.id = v.id",
          [part.map((u) => u.id), part.map((u) => u.balance)],
        );
      }
      this.#updates.length = 0;
      await client.query("commit");
    } catch (error) {
      await client.query("rollback");
      throw error;
    }
  }

  async close(): Promise<void> {
    await this.#pg?.end();
    this.#pg = undefined;
  }
}

/** COPY's text format: tab-separated, \N for null, backslash escapes for the four special characters. */
function* copyText(rows: readonly Value[][]): Generator<string> {
  let chunk = "";
  for (const row of rows) {
    let line = "";
    for (let i = 0; i < row.length; i++) {
      const v = row[i];
      if (i > 0) line += "\t";
      line +=
        v === null || v === undefined
          ? "\\N"
          : typeof v === "number"
            ? String(v)
            : v.replace(/[\\\t\n\r]/g, (ch) =>
                ch === "\\" ? "\\\\" : ch === "\t" ? "\\t" : ch === "\n" ? "\\n" : "\\r",
              );
    }
    chunk += line + "\n";
    if (chunk.length >= COPY_CHUNK_CHARS) {
      yield chunk;
      chunk = "";
    }
  }
  if (chunk !== "") yield chunk;
}

const sqliteText = new Map<string, string>();

function sqliteInsert(t: TableSpec, rowCount: number): string {
  const key = `${t.name}|${rowCount}`;
  let text = sqliteText.get(key);
  if (text === undefined) {
    const one = `(${t.columns.map(() => "?").join(",")})`;
    text = `insert into "${t.name}" (${t.columns.map(([n]) => `"${n}"`).join(", ")}) values ${Array.from(
      { length: rowCount },
      () => one,
    ).join(",")}`;
    sqliteText.set(key, text);
  }
  return text;
}

async function insertSqlite(tx: Db, t: TableSpec, rows: Value[][]): Promise<void> {
  const perStatement = Math.max(1, Math.floor(SQLITE_PARAMS_PER_STATEMENT_MAX / t.columns.length));
  for (let start = 0; start < rows.length; start += perStatement) {
    const part = rows.slice(start, start + perStatement);
    await tx.k.executeQuery(CompiledQuery.raw(sqliteInsert(t, part.length), part.flat()));
  }
}

async function updateBalances(tx: Db, updates: readonly { id: number; balance: number }[]): Promise<void> {
  for (const u of updates)
    await tx.k.executeQuery(
      CompiledQuery.raw("update accounts set balance_minor = ? where id = ?", [u.balance, u.id]),
    );
}

/** PostgreSQL identity sequences continue after the largest id written explicitly. */
export async function resetIdentities(db: Db, tables: readonly string[]): Promise<void> {
  if (db.dialect !== "postgres") return; // SQLite's AUTOINCREMENT follows explicit ids by itself.
  for (const t of tables)
    await db.k.executeQuery(
      CompiledQuery.raw(
        `select setval(pg_get_serial_sequence('${t}', 'id'), (select coalesce(max(id), 0) + 1 from "${t}"), false)`,
      ),
    );
}
