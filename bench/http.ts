/**
 * @module `node --import tsx bench/http.ts [--seconds N] [--connections N]`: requests per second and
 * latency of the HTTP API on loopback (autocannon): a report page (the Summary JSON), and usage batches of
 * 100 records posted with an API key. The server runs in a child process on a fresh SQLite demo database.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { spawn } from "node:child_process";
import autocannon from "autocannon";
import { inTransaction, openDatabase } from "../src/db/database";
import { migrate } from "../src/db/migrate";
import { createApiKey } from "../src/services/auth.service";

const arg = (name: string, fallback: number) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
};
const SECONDS = arg("seconds", 10);
const CONNECTIONS = arg("connections", 20);
const BATCH = 100;

/** Starts `switchboard serve --demo` in a child process (so the load tool does not share its event loop). */
async function startChild(dbUrl: string, port: number): Promise<{ base: string; stop(): void }> {
  const child = spawn(process.execPath, ["bin/switchboard.mjs", "serve", "--demo", "--port", String(port)], {
    env: { ...process.env, DATABASE_URL: dbUrl, LOG_LEVEL: "silent" },
    stdio: ["ignore", "pipe", "inherit"],
  });
  let out = "";
  await new Promise<void>((resolve, reject) => {
    child.stdout.on("data", (b: Buffer) => {
      out += b.toString();
      if (out.includes("is serving")) resolve();
    });
    child.once("exit", (code) => reject(new Error(`server exited with ${String(code)}: ${out}`)));
  });
  return { base: `http://127.0.0.1:${port}`, stop: () => child.kill("SIGTERM") };
}

async function main(): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "sb-http-bench-"));
  const dbUrl = `sqlite:${path.join(dir, "bench.db")}`;
  const now = Date.now();
  const server = await startChild(dbUrl, 3900 + Math.floor(Math.random() * 100));
  const base = server.base;
  // A second handle on the same database (WAL) to mint an API key for the usage load.
  const db = openDatabase(dbUrl);
  await migrate(db);
  const company_id = (await db.k.selectFrom("companies").select("id").executeTakeFirstOrThrow()).id;
  const login = await fetch(`${base}/api/v1/auth/login`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ email: "owner@northwind.example", password: "demo-password-1" }),
  });
  const cookie = (login.headers.get("set-cookie") ?? "").split(";")[0] ?? "";
  const owner = await db.k
    .selectFrom("admins")
    .selectAll()
    .where("company_id", "=", company_id)
    .where("role", "=", "owner")
    .executeTakeFirstOrThrow();
  const { key } = await inTransaction(db, (tx) =>
    createApiKey(tx, {
      companyId: company_id,
      name: "bench",
      scopes: ["usage:write", "reports:read"],
      admin: owner,
      nowMs: now,
    }),
  );
  const members = (
    await db.k.selectFrom("members").select("username").where("company_id", "=", company_id).execute()
  ).map((m) => m.username);

  const results: string[] = [];
  const report = await autocannon({
    url: `${base}/api/v1/reports/summary`,
    headers: { cookie },
    connections: CONNECTIONS,
    duration: SECONDS,
  });
  results.push(
    `GET /api/v1/reports/summary (demo company, ${members.length} members): ${Math.round(report.requests.average)} req/s, ` +
      `p50 ${report.latency.p50} ms, p99 ${report.latency.p99} ms, non-2xx ${report.non2xx}, errors ${report.errors}`,
  );

  let seq = 0;
  const started = new Date(now - 3600_000).toISOString();
  const usage = await autocannon({
    url: `${base}/api/v1/usage`,
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
              external_id: `bench-${n}`,
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
  results.push(
    `POST /api/v1/usage (batches of ${BATCH}): ${Math.round(usage.requests.average)} req/s = ` +
      `${Math.round(usage.requests.average * BATCH)} records/s, p50 ${usage.latency.p50} ms, p99 ${usage.latency.p99} ms, ` +
      `non-2xx ${usage.non2xx}, errors ${usage.errors}`,
  );
  server.stop();
  await db.close();
  fs.rmSync(dir, { recursive: true, force: true });
  console.log(`${os.cpus().length} cores, ${CONNECTIONS} connections, ${SECONDS} s each, loopback`);
  for (const r of results) console.log(r);
}

await main();
