/**
 * @module The raw-engine baselines of the benchmark: the same work as the app, written as the plainest
 * SQL on a plain connection (better-sqlite3 with the app's pragmas, or one pg.Client), so each figure can be
 * read as a ratio that survives a noisy machine.
 */
import fs from "node:fs";
import { once } from "node:events";
import { Writable } from "node:stream";
import { pipeline } from "node:stream/promises";
import SQLite from "better-sqlite3";
import pg from "pg";
import { to as copyTo } from "pg-copy-streams";
import * as database from "../../src/db/database";
import type { Dialect } from "../../src/db/database";

/** A plain connection: SQL with `?` placeholders on both engines (rewritten to $n for PostgreSQL). */
export interface RawConnection {
  readonly dialect: Dialect;
  all(text: string, params?: readonly unknown[]): Promise<Record<string, unknown>[]>;
  run(text: string, params?: readonly unknown[]): Promise<void>;
  /** Streams a SELECT's rows as CSV into a file: COPY TO STDOUT, or better-sqlite3's `.iterate()`. */
  exportCsv(select: string, params: readonly unknown[], file: string): Promise<number>;
  close(): Promise<void>;
}

/** The app's SQLite pragmas (src/db/database.ts exports them once the ingestion work lands), else its defaults. */
function sqlitePragmas(): string[] {
  const exported = (database as unknown as Record<string, unknown>)["SQLITE_PRAGMAS"];
  if (Array.isArray(exported)) return exported.map(String);
  if (exported !== null && typeof exported === "object")
    return Object.entries(exported).map(([k, v]) => `${k} = ${String(v)}`);
  return ["journal_mode = WAL", "synchronous = FULL", "foreign_keys = ON", "busy_timeout = 5000"];
}

const dollars = (text: string): string => {
  let n = 0;
  return text.replace(/\?/g, () => `$${++n}`);
};

export async function openRaw(url: string): Promise<RawConnection> {
  const { dialect, location } = database.parseDatabaseUrl(url);
  if (dialect === "sqlite") {
    const db = new SQLite(location);
    for (const p of sqlitePragmas()) db.pragma(p);
    const statements = new Map<string, SQLite.Statement>();
    const prepare = (text: string) => {
      let s = statements.get(text);
      if (!s) statements.set(text, (s = db.prepare(text)));
      return s;
    };
    return {
      dialect,
      all: (text, params = []) => Promise.resolve(prepare(text).all(...params) as Record<string, unknown>[]),
      run: (text, params = []) => {
        prepare(text).run(...params);
        return Promise.resolve();
      },
      async exportCsv(select, params, file) {
        const out = fs.createWriteStream(file);
        let rows = 0;
        for (const row of prepare(select)
          .raw()
          .iterate(...params) as Iterable<unknown[]>) {
          const line = `${row.map(csvCell).join(",")}\r\n`;
          rows++;
          if (!out.write(line)) await once(out, "drain");
        }
        out.end();
        await once(out, "finish");
        return rows;
      },
      close: () => {
        db.close();
        return Promise.resolve();
      },
    };
  }
  const client = new pg.Client({ connectionString: location });
  await client.connect();
  return {
    dialect,
    all: async (text, params = []) =>
      (await client.query<Record<string, unknown>>(dollars(text), [...params])).rows,
    run: async (text, params = []) => {
      await client.query(dollars(text), [...params]);
    },
    async exportCsv(select, params, file) {
      // COPY cannot take parameters: the values here are the benchmark's own integers and month strings.
      let i = 0;
      const inlined = select.replace(/\?/g, () => {
        const v = params[i++];
        if (typeof v === "number") return String(v);
        if (typeof v !== "string")
          throw new Error("Assertion failed: COPY parameters are numbers or strings");
        return `'${v.replace(/'/g, "''")}'`;
      });
      let rows = 0;
      const counter = new Writable({
        write(chunk: Buffer, _enc, done) {
          for (const byte of chunk) if (byte === 10) rows++;
          done();
        },
      });
      const out = fs.createWriteStream(file);
      const source = client.query(copyTo(`copy (${inlined}) to stdout with (format csv)`));
      source.on("data", (chunk: Buffer) => counter.write(chunk));
      await pipeline(source, out);
      counter.end();
      return rows;
    },
    close: () => client.end(),
  };
}

function csvCell(v: unknown): string {
  if (v === null || v === undefined) return "";
  const s =
    typeof v === "string"
      ? v
      : typeof v === "number" || typeof v === "bigint"
        ? v.toString()
        : JSON.stringify(v);
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/** Median of a few runs in milliseconds, after one warm-up run. */
export async function medianMs(fn: () => Promise<unknown>, runs = 5): Promise<number> {
  await fn();
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    await fn();
    times.push(performance.now() - t0);
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)] ?? 0;
}

const USAGE_COLUMNS =
  "company_id, account_id, external_id, kind, started_at_ms, month, destination, duration_s, segments, billed_s, charge_minor, status, covered_minutes, ingested_at_ms";
const USAGE_COLUMN_COUNT = 14;
const ROWS_PER_INSERT = 400;

/**
 * The plainest ingestion of a usage CSV: split each line, look the subject up, a fixed charge, one multi-row
 * INSERT … ON CONFLICT DO NOTHING per 400 rows and one aggregated balance update per batch, one
 * transaction per batch. Returns records per second.
 */
export async function rawIngest(
  url: string,
  companyId: number,
  csvFile: string,
  opts: { batchRecords: number; month: string; externalIdPrefix: string },
): Promise<number> {
  const raw = await openRaw(url);
  try {
    const t0 = performance.now();
    const accounts = new Map<string, number>();
    for (const r of await raw.all("select username, account_id from members where company_id = ?", [
      companyId,
    ]))
      accounts.set(String(r["username"]), Number(r["account_id"]));
    for (const r of await raw.all("select name, account_id from sip_profiles where company_id = ?", [
      companyId,
    ]))
      accounts.set(`sip:${String(r["name"])}`, Number(r["account_id"]));
    const lines = fs.readFileSync(csvFile, "utf8").split("\n").slice(1).filter(Boolean);
    const one = `(${Array(USAGE_COLUMN_COUNT).fill("?").join(",")})`;
    const insertFor = (n: number) =>
      `insert into usage_records (${USAGE_COLUMNS}) values ${Array(n).fill(one).join(",")} on conflict do nothing`;
    const now = Date.now();
    for (let i = 0; i < lines.length; i += opts.batchRecords) {
      const batch = lines.slice(i, i + opts.batchRecords);
      const perAccount = new Map<number, number>();
      const values: unknown[][] = batch.map((line) => {
        const [id = "", subject = "", kind = "", at = "", dest = "", dur = "", seg = ""] = line.split(",");
        const account = accounts.get(subject) ?? 0;
        perAccount.set(account, (perAccount.get(account) ?? 0) + 3);
        return [
          companyId,
          account,
          opts.externalIdPrefix + id,
          kind,
          Date.parse(at),
          opts.month,
          dest,
          dur === "" ? null : Number(dur),
          seg === "" ? null : Number(seg),
          dur === "" ? null : Number(dur),
          3,
          "rated",
          0,
          now,
        ];
      });
      await raw.run("begin");
      for (let j = 0; j < values.length; j += ROWS_PER_INSERT) {
        const part = values.slice(j, j + ROWS_PER_INSERT);
        await raw.run(insertFor(part.length), part.flat());
      }
      const total = [...perAccount.values()].reduce((a, b) => a + b, 0);
      await raw.run(
        "update accounts set balance_minor = balance_minor - ? where company_id = ? and kind = 'company'",
        [total, companyId],
      );
      await raw.run("commit");
    }
    return lines.length / ((performance.now() - t0) / 1000);
  } finally {
    await raw.close();
  }
}
