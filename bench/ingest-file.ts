/**
 * @module Throughput of `usage ingest`: writes an N-record usage CSV for a company of ~1,000 members, ingests
 * it into a fresh database with `ingestUsageFile` (validate, rate, idempotency, ledger charge, monthly totals,
 * auto-allocation), ingests it again (all duplicates), and runs the plain-engine baseline on another fresh
 * database: the same rows with the plainest SQL (multi-row INSERT … ON CONFLICT DO NOTHING in transactions
 * of one batch, one balance update per batch, the same engine settings).
 *
 *   npm run bench:ingest -- [--dialect sqlite|postgres] [--records 200000] [--members 1000] [--batch 5000]
 *                           [--dir data/bench] [--no-baseline] [--no-reingest] [--cpu-prof FILE] [--json]
 *
 * --json prints one JSON object on stdout (records_per_s, baseline_records_per_s, ratio, …) and nothing else,
 * for the benchmark suite that runs this as a child process. --cpu-prof writes a V8 CPU profile of the first
 * ingestion alone (not the set-up), for Chrome DevTools.
 */
import crypto from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { Session } from "node:inspector/promises";
import SQLite from "better-sqlite3";
import pg from "pg";
import { openDatabase, SQLITE_PRAGMAS } from "../src/db/database";
import type { Database, Dialect } from "../src/db/database";
import { migrate } from "../src/db/migrate";
import { ingestUsageFile, USAGE_FILE_BATCH_RECORDS_DEFAULT } from "../src/ingest/usage-file";
import { USAGE_COLUMNS } from "../src/services/usage.service";
import { setupCompany, START_MS, writeUsageCsv } from "./fixtures";

const BENCH_DIR = "data/bench";
const PG_ADMIN_URL = process.env["TEST_PG_URL"] ?? "postgres://root@127.0.0.1:5432/postgres";
/** Rows per INSERT in the baseline, as the app writes them. */
const BASELINE_INSERT_ROWS = 400;

function intArg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  if (i === -1) return fallback;
  const n = Number(process.argv[i + 1]);
  if (!Number.isSafeInteger(n) || n < 1) throw new Error(`--${name} needs a positive whole number`);
  return n;
}

function stringArg(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i === -1 ? undefined : process.argv[i + 1];
}

const cpuSince = (start: NodeJS.CpuUsage): number => {
  const d = process.cpuUsage(start);
  return (d.user + d.system) / 1e6;
};

const flag = (name: string): boolean => process.argv.includes(`--${name}`);

interface Fresh {
  db: Database;
  url: string;
  drop(): Promise<void>;
}

async function freshDatabase(dialect: Dialect, dir: string, name: string): Promise<Fresh> {
  if (dialect === "sqlite") {
    const file = path.join(dir, `${name}.db`);
    for (const f of [file, `${file}-wal`, `${file}-shm`]) fs.rmSync(f, { force: true });
    const url = `sqlite:${file}`;
    const db = openDatabase(url);
    await migrate(db);
    return {
      db,
      url,
      drop: async () => {
        await db.close().catch(() => undefined);
        for (const f of [file, `${file}-wal`, `${file}-shm`]) fs.rmSync(f, { force: true });
      },
    };
  }
  const dbName = `sb_bench_${name.replace(/\W/g, "_")}_${crypto.randomBytes(3).toString("hex")}`;
  const admin = new pg.Client({ connectionString: PG_ADMIN_URL });
  await admin.connect();
  await admin.query(`create database ${dbName}`);
  await admin.end();
  const u = new URL(PG_ADMIN_URL);
  u.pathname = `/${dbName}`;
  const db = openDatabase(u.toString());
  await migrate(db);
  return {
    db,
    url: u.toString(),
    drop: async () => {
      await db.close().catch(() => undefined);
      const c = new pg.Client({ connectionString: PG_ADMIN_URL });
      await c.connect();
      await c.query(`drop database if exists ${dbName} with (force)`);
      await c.end();
    },
  };
}

/** Every column the app writes: the baseline stores rows of the same shape and size, only without rating them. */
const BASELINE_COLUMNS = USAGE_COLUMNS;

/**
 * The plainest way to write the same rows: split lines, a fixed rate and charge (the same columns as the app
 * stores, so rows of the same size), multi-row INSERT … ON CONFLICT DO NOTHING, one balance update per batch,
 * one transaction per batch. No validation, rating, dedupe lookup, monthly totals or rules: the ratio app ÷
 * baseline is what those cost. Returns the seconds it took.
 */
async function plainBaseline(
  dialect: Dialect,
  url: string,
  csvFile: string,
  companyId: number,
  batch: number,
): Promise<number> {
  const lines = fs.readFileSync(csvFile, "utf8").split("\n").slice(1).filter(Boolean);
  const ncols = BASELINE_COLUMNS.length;
  const cols = BASELINE_COLUMNS.join(", ");
  const nowMs = Date.now();
  const rowsOf = (part: string[], accountIds: number[]): unknown[] =>
    part.flatMap((line, i) => {
      const [id = "", , kind = "", at = "", dest = "", dur = "", seg = ""] = line.split(",");
      return [
        companyId,
        accountIds[i % accountIds.length],
        id,
        kind,
        Date.parse(at),
        "2026-09",
        dest,
        dur === "" ? null : Number(dur),
        seg === "" ? null : Number(seg),
        dur === "" ? null : Number(dur),
        "44",
        "United Kingdom",
        "0.0230",
        "0.0390",
        "60/60",
        3,
        "0.0620",
        "rated",
        null,
        null,
        0,
        nowMs,
      ];
    });
  const placeholders = (n: number, pgStyle: boolean): string => {
    let k = 0;
    return Array.from(
      { length: n },
      () => `(${Array.from({ length: ncols }, () => (pgStyle ? `$${++k}` : "?")).join(",")})`,
    ).join(",");
  };
  const t0 = performance.now();
  if (dialect === "sqlite") {
    const raw = new SQLite(url.slice("sqlite:".length));
    for (const pragma of SQLITE_PRAGMAS) raw.pragma(pragma);
    const ids = (
      raw
        .prepare(
          "select id from accounts where company_id = ? and kind in ('member','sip_profile') order by id",
        )
        .all(companyId) as { id: number }[]
    ).map((r) => r.id);
    const statements = new Map<number, SQLite.Statement>();
    const insert = (n: number): SQLite.Statement => {
      let s = statements.get(n);
      if (!s) {
        s = raw.prepare(
          `insert into usage_records (${cols}) values ${placeholders(n, false)} on conflict do nothing`,
        );
        statements.set(n, s);
      }
      return s;
    };
    const update = raw.prepare("update accounts set balance_minor = balance_minor - ? where id = ?");
    for (let i = 0; i < lines.length; i += batch) {
      const part = lines.slice(i, i + batch);
      raw.transaction(() => {
        for (let j = 0; j < part.length; j += BASELINE_INSERT_ROWS) {
          const rows = part.slice(j, j + BASELINE_INSERT_ROWS);
          insert(rows.length).run(rowsOf(rows, ids));
        }
        update.run(part.length * 3, ids[0]);
      })();
    }
    raw.close();
  } else {
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    const ids = (
      await client.query<{ id: string }>(
        "select id from accounts where company_id = $1 and kind in ('member','sip_profile') order by id",
        [companyId],
      )
    ).rows.map((r) => Number(r.id));
    for (let i = 0; i < lines.length; i += batch) {
      const part = lines.slice(i, i + batch);
      await client.query("begin");
      for (let j = 0; j < part.length; j += BASELINE_INSERT_ROWS) {
        const rows = part.slice(j, j + BASELINE_INSERT_ROWS);
        await client.query(
          `insert into usage_records (${cols}) values ${placeholders(rows.length, true)} on conflict do nothing`,
          rowsOf(rows, ids),
        );
      }
      await client.query("update accounts set balance_minor = balance_minor - $1 where id = $2", [
        part.length * 3,
        ids[0],
      ]);
      await client.query("commit");
    }
    await client.end();
  }
  return (performance.now() - t0) / 1000;
}

async function main(): Promise<void> {
  const dialectArg = stringArg("dialect") ?? "sqlite";
  if (dialectArg !== "sqlite" && dialectArg !== "postgres")
    throw new Error("--dialect must be sqlite or postgres");
  const dialect: Dialect = dialectArg;
  const records = intArg("records", 200_000);
  const members = intArg("members", 1_000);
  const batch = intArg("batch", USAGE_FILE_BATCH_RECORDS_DEFAULT);
  const dir = stringArg("dir") ?? BENCH_DIR;
  const json = flag("json");
  const log = (line: string): void => {
    if (!json) console.log(line);
  };
  fs.mkdirSync(dir, { recursive: true });
  const csvFile = path.join(dir, `usage-${records}-${members}.csv`);
  fs.rmSync(`${csvFile}.rejects.csv`, { force: true });
  if (!fs.existsSync(csvFile)) {
    // Written aside and renamed: an interrupted run never leaves a short file that a later run would reuse.
    await writeUsageCsv(`${csvFile}.partial`, records, members);
    fs.renameSync(`${csvFile}.partial`, csvFile);
  }
  const nowMs = START_MS + 40 * 86_400_000;

  const app = await freshDatabase(dialect, dir, `ingest-app-${records}`);
  const out: Record<string, unknown> = { dialect, records, members, batch };
  try {
    const companyId = await setupCompany(app.db, members);
    const profileFile = stringArg("cpu-prof");
    const session = profileFile === undefined ? undefined : new Session();
    if (session) {
      session.connect();
      await session.post("Profiler.enable");
      await session.post("Profiler.start");
    }
    const t0 = performance.now();
    const cpu0 = process.cpuUsage();
    const result = await ingestUsageFile(app.db, companyId, csvFile, { nowMs, batchRecordsMax: batch });
    const seconds = (performance.now() - t0) / 1000;
    const cpuSeconds = cpuSince(cpu0);
    if (session && profileFile !== undefined) {
      const { profile } = await session.post("Profiler.stop");
      fs.writeFileSync(profileFile, JSON.stringify(profile));
      session.disconnect();
    }
    if (result.stored + result.duplicates !== records)
      throw new Error(`stored ${result.stored} + duplicates ${result.duplicates} ≠ ${records}`);
    Object.assign(out, {
      seconds: Number(seconds.toFixed(3)),
      records_per_s: Math.round(records / seconds),
      // This process's CPU time: on a shared machine it moves less than the wall clock (on SQLite it is
      // nearly all the work; on PostgreSQL the server's share is not in it).
      cpu_seconds: Number(cpuSeconds.toFixed(3)),
      stored: result.stored,
      unrated: result.unrated,
      auto_allocations: result.autoAllocations,
    });
    log(
      `${dialect}: ingested ${records} records (${members} members, batches of ${batch}) in ` +
        `${seconds.toFixed(2)} s (${cpuSeconds.toFixed(2)} s CPU): ${Math.round(records / seconds)} records/s`,
    );
    if (!flag("no-reingest")) {
      const t1 = performance.now();
      const again = await ingestUsageFile(app.db, companyId, csvFile, { nowMs, batchRecordsMax: batch });
      const againSeconds = (performance.now() - t1) / 1000;
      if (again.duplicates !== records) throw new Error(`re-ingest found ${again.duplicates} duplicates`);
      out["reingest_records_per_s"] = Math.round(records / againSeconds);
      log(`${dialect}: re-ingest (all duplicates): ${Math.round(records / againSeconds)} records/s`);
    }
  } finally {
    await app.drop();
  }

  if (!flag("no-baseline")) {
    const base = await freshDatabase(dialect, dir, `ingest-plain-${records}`);
    try {
      const companyId = await setupCompany(base.db, members);
      await base.db.close();
      const cpu0 = process.cpuUsage();
      const seconds = await plainBaseline(dialect, base.url, csvFile, companyId, batch);
      const rate = Math.round(records / seconds);
      out["baseline_cpu_seconds"] = Number(cpuSince(cpu0).toFixed(3));
      out["baseline_records_per_s"] = rate;
      out["ratio"] = Number((rate / (out["records_per_s"] as number)).toFixed(2));
      log(
        `${dialect}: plain engine baseline: ${rate} records/s, ${String(out["baseline_cpu_seconds"])} s CPU ` +
          `(ratio plain ÷ app ${String(out["ratio"])})`,
      );
    } finally {
      await base.drop();
    }
  }
  if (json) console.log(JSON.stringify(out));
}

await main();
