/**
 * @module Opening the database chosen by DATABASE_URL (`sqlite:PATH`, the default, or `postgres://…`),
 * and the one transaction helper every service call runs inside.
 */
import fs from "node:fs";
import path from "node:path";
import SQLite from "better-sqlite3";
import { CompiledQuery, Kysely, PostgresDialect, SqliteDialect, SqliteDriver } from "kysely";
import type { DatabaseConnection, Driver, SqliteDatabase, SqliteDialectConfig, Transaction } from "kysely";
import pg from "pg";
import Cursor from "pg-cursor";
import type { DB } from "./schema";
import { AppError } from "../shared/errors";

export type Dialect = "sqlite" | "postgres";

/** A database handle or an open transaction, with the dialect the SQL must be written for. */
export interface Db {
  readonly k: Kysely<DB>;
  readonly dialect: Dialect;
  /** True inside `inTransaction`: services that move money refuse to run outside one. */
  readonly inTransaction: boolean;
  /** Facts about the database that a process may remember (which partitions exist), shared by a handle and its transactions. */
  readonly memo?: Map<string, unknown>;
}

export interface Database extends Db {
  readonly url: string;
  close(): Promise<void>;
}

export const DEFAULT_DATABASE_URL = "sqlite:./data/switchboard.db";
/** PostgreSQL statements that run longer than this are cancelled. */
export const STATEMENT_TIMEOUT_MS = 60_000;
/** How long a SQLite writer waits for another process's write lock before giving up. */
export const SQLITE_BUSY_TIMEOUT_MS = 5_000;
/** How many times a PostgreSQL transaction is re-run after a serialization failure or deadlock. */
export const TRANSACTION_RETRIES_MAX = 5;

/**
 * PostgreSQL returns int8 and numeric as strings. All our int8 columns are minor units, ids or epoch ms,
 * and SUM() over them is numeric: both are parsed here, once, into safe JavaScript integers.
 */
function parseDbInteger(text: string): number {
  const n = Number(text);
  if (!Number.isSafeInteger(n)) throw new Error(`Database integer out of the safe range: ${text}`);
  return n;
}
pg.types.setTypeParser(pg.types.builtins.INT8, parseDbInteger);
pg.types.setTypeParser(pg.types.builtins.NUMERIC, parseDbInteger);

/**
 * SQLite's plain BEGIN takes the write lock only at the first write, and a second process that
 * read first then fails with SQLITE_BUSY. BEGIN IMMEDIATE takes it up front (waiting busy_timeout),
 * so "lock, then check, then write" holds across processes too.
 */
class ImmediateSqliteDriver extends SqliteDriver {
  override async beginTransaction(connection: DatabaseConnection): Promise<void> {
    await connection.executeQuery(CompiledQuery.raw("begin immediate"));
  }
}

class ImmediateSqliteDialect extends SqliteDialect {
  readonly #config: SqliteDialectConfig;
  constructor(config: SqliteDialectConfig) {
    super(config);
    this.#config = config;
  }
  override createDriver(): Driver {
    return new ImmediateSqliteDriver(this.#config);
  }
}

/** Pages of SQLite's page cache per connection, in KiB when negative: 64 MiB instead of the default 2 MiB. */
export const SQLITE_CACHE_KIB = 65_536;
/** Bytes of the database file SQLite reads through a memory map instead of read() calls. */
export const SQLITE_MMAP_BYTES = 256 * 1024 * 1024;
/** WAL pages after which a commit checkpoints them into the database (default 1,000, about 4 MB). */
export const SQLITE_WAL_AUTOCHECKPOINT_PAGES = 4_000;

/**
 * The settings of every SQLite connection, exported so that the benchmark's plain-engine baseline runs
 * with the very same ones. WAL with full synchronous commits: a committed transfer survives a crash or
 * power loss (the durability issue requires it). The rest are speed: a page cache large enough for the
 * hot indexes of a big company (the 2 MiB default made every ingested batch re-read index pages), memory
 * mapped reads, temporary b-trees (sorts, DISTINCT) in memory, and fewer, larger checkpoints.
 */
export const SQLITE_PRAGMAS: readonly string[] = [
  "journal_mode = WAL",
  "synchronous = FULL",
  "foreign_keys = ON",
  `busy_timeout = ${SQLITE_BUSY_TIMEOUT_MS}`,
  `cache_size = -${SQLITE_CACHE_KIB}`,
  `mmap_size = ${SQLITE_MMAP_BYTES}`,
  "temp_store = MEMORY",
  `wal_autocheckpoint = ${SQLITE_WAL_AUTOCHECKPOINT_PAGES}`,
];

/** Prepared statements kept per SQLite connection; the cache is emptied when it grows past this. */
export const SQLITE_STATEMENTS_CACHED_MAX = 500;

/**
 * Kysely prepares every statement anew; preparing costs as much as running a small one. Reusing the
 * prepared statement for the same SQL text is safe because the one connection runs one query at a time.
 */
function withStatementCache(sqlite: SQLite.Database): SqliteDatabase {
  const cache = new Map<string, SQLite.Statement>();
  return {
    close: () => sqlite.close(),
    prepare(text: string) {
      let statement = cache.get(text);
      if (!statement) {
        if (cache.size >= SQLITE_STATEMENTS_CACHED_MAX) cache.clear();
        statement = sqlite.prepare(text);
        cache.set(text, statement);
      }
      return statement;
    },
  };
}

export function parseDatabaseUrl(url: string): { dialect: Dialect; location: string } {
  if (url.startsWith("sqlite:")) {
    const location = url.slice("sqlite:".length);
    if (location === "") throw new AppError("invalid_input", "DATABASE_URL sqlite:PATH needs a path");
    return { dialect: "sqlite", location };
  }
  if (url.startsWith("postgres://") || url.startsWith("postgresql://"))
    return { dialect: "postgres", location: url };
  throw new AppError(
    "invalid_input",
    `DATABASE_URL must start with "sqlite:" or "postgres://" (got "${url.slice(0, 40)}")`,
  );
}

export function openDatabase(url: string = process.env["DATABASE_URL"] || DEFAULT_DATABASE_URL): Database {
  const { dialect, location } = parseDatabaseUrl(url);
  let k: Kysely<DB>;
  if (dialect === "sqlite") {
    if (location !== ":memory:") fs.mkdirSync(path.dirname(path.resolve(location)), { recursive: true });
    const sqlite = new SQLite(location);
    for (const pragma of SQLITE_PRAGMAS) sqlite.pragma(pragma);
    // SQLite's built-in lower() folds only A–Z; searches must find "Łukasz" and "Σοφία" as PostgreSQL does.
    sqlite.function("lower", { deterministic: true }, (value: unknown) =>
      typeof value === "string" ? value.toLowerCase() : value,
    );
    k = new Kysely<DB>({ dialect: new ImmediateSqliteDialect({ database: withStatementCache(sqlite) }) });
  } else {
    const pool = new pg.Pool({
      connectionString: location,
      max: Number(process.env["DATABASE_POOL_MAX"] ?? 10),
      statement_timeout: STATEMENT_TIMEOUT_MS,
    });
    // An idle pooled connection cut by the server (restart, termination) emits "error" on the pool; without a
    // listener that would crash the process. The pool drops the connection and opens another on demand.
    pool.on("error", (error) => console.error(`PostgreSQL pool: idle connection lost: ${error.message}`));
    k = new Kysely<DB>({ dialect: new PostgresDialect({ pool, cursor: Cursor }) });
  }
  return {
    k,
    dialect,
    url,
    inTransaction: false,
    memo: new Map(),
    close: () => k.destroy(),
  };
}

/** A PostgreSQL serialization failure or deadlock: the transaction did nothing and may simply run again. */
export function isRetryable(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return code === "40001" || code === "40P01";
}

/**
 * Runs `fn` in one database transaction: all of it commits, or on any error none of it does.
 * The outermost caller (a command, a route) owns the transaction; services take the `Db` it passes.
 * On PostgreSQL a serialization failure or deadlock re-runs the whole function.
 */
export async function inTransaction<T>(db: Db, fn: (tx: Db) => Promise<T>): Promise<T> {
  if (db.inTransaction) return fn(db);
  for (let attempt = 1; ; attempt++) {
    try {
      return await db.k
        .transaction()
        .execute((trx: Transaction<DB>) =>
          fn({ k: trx, dialect: db.dialect, inTransaction: true, memo: db.memo }),
        );
    } catch (error) {
      if (db.dialect === "postgres" && isRetryable(error) && attempt < TRANSACTION_RETRIES_MAX) continue;
      throw error;
    }
  }
}
