/**
 * @module Requests per second and latency of the HTTP API on loopback (autocannon): a report page (the
 * Summary JSON, signed in with a session cookie) and usage batches of 100 records posted with an API key.
 * The server runs in a child process (`switchboard serve`), so the load tool does not share its event loop.
 *
 *   node --import tsx bench/http.ts [--seconds N] [--connections N] [--dialect sqlite|postgres]
 *        [--workers N] [--log-level silent|info] [--only report|usage] [--report summary|purchases|…]
 *        [--json] [--database-url URL --company ID --month YYYY-MM]
 *
 * Without --database-url the server loads the demo company into a fresh database of the dialect (dropped
 * afterwards). With it, the run uses that existing database (e.g. the benchmark generator's) and company.
 * --json prints one JSON object on stdout instead of the lines.
 *
 * `--in-process N` instead sends N report requests to the app in this process (`app.request`, no sockets)
 * and prints the CPU time per request: a figure that a busy machine's wall clock does not distort.
 */
import crypto from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { spawn } from "node:child_process";
import { parseArgs } from "node:util";
import autocannon from "autocannon";
import pg from "pg";
import type { Database, Dialect } from "../src/db/database";
import { inTransaction, openDatabase } from "../src/db/database";
import { migrate } from "../src/db/migrate";
import { createApiKey, createSession } from "../src/services/auth.service";
import { createAdmin } from "../src/services/people.service";
import { loadCompany } from "../src/services/company-context";
import { loadDemoIfEmpty } from "../src/cli/commands/serve";
import { loadConfig } from "../src/config";
import { createApp } from "../src/http/app";
import { systemClock } from "../src/time/clock";

const { values: opts } = parseArgs({
  options: {
    seconds: { type: "string", default: "10" },
    connections: { type: "string", default: "20" },
    dialect: { type: "string", default: "sqlite" },
    workers: { type: "string", default: "1" },
    "log-level": { type: "string", default: "silent" },
    only: { type: "string" },
    report: { type: "string", default: "summary" },
    json: { type: "boolean", default: false },
    "database-url": { type: "string" },
    company: { type: "string" },
    month: { type: "string" },
    "in-process": { type: "string" },
  },
});
const SECONDS = Number(opts.seconds);
const CONNECTIONS = Number(opts.connections);
const WORKERS = Number(opts.workers);
const BATCH = 100;
const PG_ADMIN = process.env["TEST_PG_URL"] ?? "postgres://root@127.0.0.1:5432/postgres";
const log = (line: string) => (opts.json ? process.stderr : process.stdout).write(`${line}\n`);

/** Starts `switchboard serve` in a child process and waits until it serves. */
async function startChild(
  dbUrl: string,
  port: number,
  demo: boolean,
): Promise<{ base: string; stop(): void }> {
  const args = ["bin/switchboard.mjs", "serve", "--port", String(port), "--workers", String(WORKERS)];
  if (demo) args.push("--demo");
  const child = spawn(process.execPath, args, {
    // Retention off: a first purge of an old generated dataset must not run under the load.
    env: { ...process.env, DATABASE_URL: dbUrl, LOG_LEVEL: opts["log-level"], USAGE_RETENTION_MONTHS: "0" },
    stdio: ["ignore", "pipe", "inherit"],
  });
  let out = "";
  let ready = false;
  await new Promise<void>((resolve, reject) => {
    child.stdout.on("data", (b: Buffer) => {
      // Log lines keep coming at LOG_LEVEL=info: read them (as a log collector would) and drop them.
      if (ready) return;
      out += b.toString();
      if (out.includes("is serving")) {
        ready = true;
        out = "";
        resolve();
      }
    });
    child.once("exit", (code) => reject(new Error(`server exited with ${String(code)}: ${out}`)));
  });
  return { base: `http://127.0.0.1:${port}`, stop: () => child.kill("SIGTERM") };
}

/** A fresh database of the dialect (the server loads the demo company into it). */
async function freshDatabase(dialect: Dialect): Promise<{ url: string; drop(): Promise<void> }> {
  if (dialect === "sqlite") {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "sb-http-bench-"));
    return {
      url: `sqlite:${path.join(dir, "bench.db")}`,
      drop: () => Promise.resolve(fs.rmSync(dir, { recursive: true, force: true })),
    };
  }
  const name = `sb_http_bench_${crypto.randomBytes(4).toString("hex")}`;
  const admin = new pg.Client({ connectionString: PG_ADMIN });
  await admin.connect();
  await admin.query(`create database ${name}`);
  await admin.end();
  const u = new URL(PG_ADMIN);
  u.pathname = `/${name}`;
  return {
    url: u.toString(),
    drop: async () => {
      const c = new pg.Client({ connectionString: PG_ADMIN });
      await c.connect();
      await c.query(`drop database if exists ${name} with (force)`);
      await c.end();
    },
  };
}

/** An owner of the company (made when the database has none), a session cookie and an API key for it. */
async function credentials(db: Database, companyId: number, nowMs: number) {
  const company = await loadCompany(db, companyId);
  let owner = await db.k
    .selectFrom("admins")
    .selectAll()
    .where("company_id", "=", companyId)
    .where("role", "=", "owner")
    .where("removed_at_ms", "is", null)
    .executeTakeFirst();
  if (!owner) {
    const id = await inTransaction(db, (tx) =>
      createAdmin(tx, company, {
        email: "bench-owner@bench.example",
        name: "Bench Owner",
        role: "owner",
        passwordHash: null,
        privacyAcknowledgedAtMs: nowMs,
        nowMs,
      }),
    );
    owner = await db.k.selectFrom("admins").selectAll().where("id", "=", id).executeTakeFirstOrThrow();
  }
  const session = await createSession(db, { kind: "admin", companyId, id: owner.id }, nowMs, 12 * 3600_000);
  const admin = owner;
  const { key } = await inTransaction(db, (tx) =>
    createApiKey(tx, {
      companyId,
      name: `bench-${nowMs}`,
      scopes: ["usage:write", "reports:read"],
      admin,
      nowMs,
    }),
  );
  return { cookie: `sb_session=${session.token}`, key };
}

interface LoadResult {
  requests_per_s: number;
  p50_ms: number;
  p99_ms: number;
  non_2xx: number;
  errors: number;
}

const loadResult = (r: autocannon.Result): LoadResult => ({
  requests_per_s: Math.round(r.requests.average),
  p50_ms: r.latency.p50,
  p99_ms: r.latency.p99,
  non_2xx: r.non2xx,
  errors: r.errors,
});

/** CPU time per cached report request through the whole app (middleware, auth, cache), in this process. */
async function inProcess(requests: number): Promise<void> {
  const existing = opts["database-url"];
  const fresh = existing === undefined ? await freshDatabase(opts.dialect as Dialect) : undefined;
  const db = openDatabase(existing ?? fresh?.url ?? "");
  try {
    await migrate(db);
    const now = Date.now();
    if (existing === undefined) await loadDemoIfEmpty(db, now);
    const companyId =
      opts.company !== undefined
        ? Number(opts.company)
        : (await db.k.selectFrom("companies").select("id").orderBy("id").executeTakeFirstOrThrow()).id;
    const { cookie } = await credentials(db, companyId, now);
    const app = createApp({
      db,
      clock: systemClock,
      config: loadConfig({
        LOG_LEVEL: opts["log-level"],
        USAGE_RETENTION_MONTHS: "0",
        REPORT_CACHE_MB: process.env["REPORT_CACHE_MB"],
      }),
    });
    const path = `/api/v1/reports/${opts.report}${opts.month !== undefined ? `?month=${opts.month}` : ""}`;
    const once = async () => {
      const res = await app.request(path, { headers: { cookie } });
      if (res.status !== 200) throw new Error(`${path}: ${res.status}`);
      await res.arrayBuffer();
    };
    for (let i = 0; i < Math.min(200, requests); i++) await once();
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    for (let i = 0; i < requests; i++) await once();
    const wallMs = performance.now() - t0;
    const cpu = process.cpuUsage(cpu0);
    const cpuMsPerRequest = (cpu.user + cpu.system) / 1000 / requests;
    const result = {
      dialect: db.dialect,
      path,
      requests,
      cpu_ms_per_request: Math.round(cpuMsPerRequest * 1000) / 1000,
      requests_per_cpu_second: Math.round(1000 / cpuMsPerRequest),
      wall_ms_per_request: Math.round((wallMs / requests) * 1000) / 1000,
    };
    log(
      `${db.dialect} in-process ${path}: ${result.cpu_ms_per_request} ms CPU per request ` +
        `(${result.requests_per_cpu_second} requests per CPU-second), ${result.wall_ms_per_request} ms wall`,
    );
    if (opts.json) process.stdout.write(`${JSON.stringify(result)}\n`);
  } finally {
    await db.close();
    await fresh?.drop();
  }
}

async function main(): Promise<void> {
  if (opts["in-process"] !== undefined) return inProcess(Number(opts["in-process"]));
  const dialect = opts.dialect as Dialect;
  if (dialect !== "sqlite" && dialect !== "postgres") throw new Error("--dialect sqlite|postgres");
  const existing = opts["database-url"];
  if (existing !== undefined && (opts.company === undefined || opts.month === undefined))
    throw new Error("--database-url needs --company ID and --month YYYY-MM");
  const fresh = existing === undefined ? await freshDatabase(dialect) : undefined;
  const dbUrl = existing ?? fresh?.url ?? "";
  const now = Date.now();
  const server = await startChild(dbUrl, 3900 + Math.floor(Math.random() * 100), existing === undefined);
  const db = openDatabase(dbUrl);
  try {
    await migrate(db);
    const companyId =
      opts.company !== undefined
        ? Number(opts.company)
        : (await db.k.selectFrom("companies").select("id").orderBy("id").executeTakeFirstOrThrow()).id;
    const { cookie, key } = await credentials(db, companyId, now);
    const members = (
      await db.k
        .selectFrom("members")
        .select("username")
        .where("company_id", "=", companyId)
        .orderBy("id")
        .limit(1000)
        .execute()
    ).map((m) => m.username);
    const memberCount = Number(
      (
        await db.k
          .selectFrom("members")
          .select((eb) => eb.fn.countAll<number>().as("n"))
          .where("company_id", "=", companyId)
          .executeTakeFirstOrThrow()
      ).n,
    );
    const result: Record<string, unknown> = {
      dialect,
      workers: WORKERS,
      connections: CONNECTIONS,
      seconds: SECONDS,
      cores: os.cpus().length,
      log_level: opts["log-level"],
      company_id: companyId,
      members: memberCount,
    };
    if (opts.only !== "usage") {
      const query = opts.month !== undefined ? `?month=${opts.month}` : "";
      const url = `${server.base}/api/v1/reports/${opts.report}${query}`;
      const first = await fetch(url, { headers: { cookie } });
      if (first.status !== 200) throw new Error(`${url}: ${first.status} ${await first.text()}`);
      const bytes = (await first.arrayBuffer()).byteLength;
      const r = loadResult(
        await autocannon({ url, headers: { cookie }, connections: CONNECTIONS, duration: SECONDS }),
      );
      result["report"] = { path: `/api/v1/reports/${opts.report}${query}`, bytes, ...r };
      log(
        `GET /api/v1/reports/${opts.report}${query} (${memberCount} members, ${bytes} bytes): ` +
          `${r.requests_per_s} req/s, p50 ${r.p50_ms} ms, p99 ${r.p99_ms} ms, non-2xx ${r.non_2xx}, errors ${r.errors}`,
      );
    }
    if (opts.only !== "report" && members.length > 0) {
      let seq = 0;
      const run = crypto.randomBytes(3).toString("hex");
      const started = new Date(now - 3600_000).toISOString();
      const usage = await autocannon({
        url: `${server.base}/api/v1/usage`,
        method: "POST",
        headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
        connections: Math.min(CONNECTIONS, 8),
        duration: SECONDS,
        requests: [
          {
            setupRequest: (req) => {
              const records = Array.from({ length: BATCH }, () => {
                const n = seq++;
                return {
                  external_id: `bench-${run}-${n}`,
                  subject: members[n % members.length],
                  kind: "call",
                  started_at: started,
                  destination: `+4420794${String(n % 100000).padStart(5, "0")}`,
                  duration_s: 30 + (n % 300),
                };
              });
              return { ...req, body: JSON.stringify({ records }) };
            },
          },
        ],
      });
      const r = loadResult(usage);
      result["usage"] = { batch_records: BATCH, records_per_s: r.requests_per_s * BATCH, ...r };
      log(
        `POST /api/v1/usage (batches of ${BATCH}): ${r.requests_per_s} req/s = ${r.requests_per_s * BATCH} records/s, ` +
          `p50 ${r.p50_ms} ms, p99 ${r.p99_ms} ms, non-2xx ${r.non_2xx}, errors ${r.errors}`,
      );
    }
    log(
      `${dialect}, ${os.cpus().length} cores, ${WORKERS} server process(es), ${CONNECTIONS} connections, ` +
        `${SECONDS} s each, LOG_LEVEL=${opts["log-level"]}, loopback`,
    );
    if (opts.json) process.stdout.write(`${JSON.stringify(result)}\n`);
  } finally {
    server.stop();
    await db.close();
    // Give the server a moment to close its connections before its database is dropped.
    await new Promise((resolve) => setTimeout(resolve, 500));
    await fresh?.drop();
  }
}

await main();
