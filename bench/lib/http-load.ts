/**
 * @module HTTP load on loopback (autocannon) against `switchboard serve` in a child process on the
 * generated database: a report endpoint (a company's Summary JSON, signed in with the owner's session
 * cookie), usage batches posted with an API key, and `/healthz` as the framework's ceiling.
 */
import { spawn } from "node:child_process";
import type { ChildProcessWithoutNullStreams } from "node:child_process";
import autocannon from "autocannon";
import { inTransaction, openDatabase } from "../../src/db/database";
import { createApiKey } from "../../src/services/auth.service";
import { OWNER_PASSWORD, ownerEmail } from "../generate";

export interface LoadResult {
  what: string;
  requestsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  non2xx: number;
  errors: number;
  /** For usage batches: records per second. */
  recordsPerSecond?: number;
}

interface Server {
  base: string;
  child: ChildProcessWithoutNullStreams;
  stop(): Promise<void>;
}

async function startServer(url: string, port: number, workers: number): Promise<Server> {
  const argv = ["bin/switchboard.mjs", "serve", "--port", String(port)];
  if (workers > 1) argv.push("--workers", String(workers));
  const child = spawn(process.execPath, argv, {
    // Retention off: the dataset spans 12 months, and the default 6-month purge would run at start, under the load.
    env: { ...process.env, DATABASE_URL: url, LOG_LEVEL: "silent", USAGE_RETENTION_MONTHS: "0" },
    stdio: ["pipe", "pipe", "pipe"],
  });
  let out = "";
  await new Promise<void>((resolve, reject) => {
    const onData = (b: Buffer) => {
      out += b.toString();
      if (out.includes("is serving")) resolve();
    };
    child.stdout.on("data", onData);
    child.stderr.on("data", onData);
    child.once("exit", (code) => reject(new Error(`server exited with ${String(code)}: ${out}`)));
  });
  return {
    base: `http://127.0.0.1:${port}`,
    child,
    stop: () =>
      new Promise<void>((resolve) => {
        child.once("exit", () => resolve());
        child.kill("SIGTERM");
      }),
  };
}

function summarise(what: string, r: autocannon.Result, recordsPerRequest?: number): LoadResult {
  return {
    what,
    requestsPerSecond: Math.round(r.requests.average),
    p50Ms: r.latency.p50,
    p99Ms: r.latency.p99,
    non2xx: r.non2xx,
    errors: r.errors,
    ...(recordsPerRequest !== undefined
      ? { recordsPerSecond: Math.round(r.requests.average * recordsPerRequest) }
      : {}),
  };
}

/** Runs the three loads; `month` is the report month, usage goes into `usageMonthStartMs`'s month. */
export async function httpLoad(opts: {
  url: string;
  companyId: number;
  companyIndex: number;
  month: string;
  seconds: number;
  connections: number;
  batchRecords: number;
  usageStartMs: number;
  port: number;
  /** Server processes (`serve --workers N`). */
  workers: number;
  /** Also load the Summary of an ordinary company (index in the dataset, its owner signs in). */
  typical?: { companyIndex: number; companyId: number };
}): Promise<LoadResult[]> {
  const server = await startServer(opts.url, opts.port, opts.workers);
  const db = openDatabase(opts.url);
  try {
    const login = await fetch(`${server.base}/api/v1/auth/login`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ email: ownerEmail(opts.companyIndex), password: OWNER_PASSWORD }),
    });
    if (login.status !== 200) throw new Error(`login failed: ${login.status} ${await login.text()}`);
    const cookie = (login.headers.get("set-cookie") ?? "").split(";")[0] ?? "";
    const owner = await db.k
      .selectFrom("admins")
      .selectAll()
      .where("company_id", "=", opts.companyId)
      .where("role", "=", "owner")
      .executeTakeFirstOrThrow();
    const { key } = await inTransaction(db, (tx) =>
      createApiKey(tx, {
        companyId: opts.companyId,
        name: "bench",
        scopes: ["usage:write", "reports:read"],
        admin: owner,
        nowMs: Date.now(),
      }),
    );
    const members = (
      await db.k.selectFrom("members").select("username").where("company_id", "=", opts.companyId).execute()
    ).map((m) => m.username);

    const results: LoadResult[] = [];
    const health = await autocannon({
      url: `${server.base}/healthz`,
      connections: opts.connections,
      duration: opts.seconds,
    });
    results.push(summarise("GET /healthz (framework ceiling)", health));
    const reportUrl = `${server.base}/api/v1/reports/summary?month=${opts.month}`;
    const probe = await fetch(reportUrl, { headers: { cookie } });
    if (probe.status !== 200) throw new Error(`summary report: ${probe.status} ${await probe.text()}`);
    const report = await autocannon({
      url: reportUrl,
      headers: { cookie },
      connections: opts.connections,
      duration: opts.seconds,
    });
    results.push(summarise(`GET summary, ${members.length} members`, report));

    if (opts.typical) {
      const signIn = await fetch(`${server.base}/api/v1/auth/login`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ email: ownerEmail(opts.typical.companyIndex), password: OWNER_PASSWORD }),
      });
      if (signIn.status !== 200) throw new Error(`login failed: ${signIn.status} ${await signIn.text()}`);
      const typicalCookie = (signIn.headers.get("set-cookie") ?? "").split(";")[0] ?? "";
      const typicalMembers = await db.k
        .selectFrom("members")
        .select((eb) => eb.fn.countAll<number>().as("n"))
        .where("company_id", "=", opts.typical.companyId)
        .executeTakeFirstOrThrow();
      const typical = await autocannon({
        url: reportUrl,
        headers: { cookie: typicalCookie },
        connections: opts.connections,
        duration: opts.seconds,
      });
      results.push(summarise(`GET summary, ${Number(typicalMembers.n)} members`, typical));
    }

    let seq = 0;
    const usage = await autocannon({
      url: `${server.base}/api/v1/usage`,
      method: "POST",
      headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
      connections: Math.min(opts.connections, 8),
      duration: opts.seconds,
      requests: [
        {
          setupRequest: (req) => {
            const records = Array.from({ length: opts.batchRecords }, () => {
              const n = seq++;
              return {
                external_id: `http-${n}`,
                subject: members[n % members.length],
                kind: "call",
                started_at: new Date(opts.usageStartMs + n * 100).toISOString(),
                destination: `+4420794${String(n % 100000).padStart(5, "0")}`,
                duration_s: 30 + (n % 300),
              };
            });
            return { ...req, body: JSON.stringify({ records }) };
          },
        },
      ],
    });
    results.push(summarise(`POST usage, batches of ${opts.batchRecords}`, usage, opts.batchRecords));
    return results;
  } finally {
    await db.close();
    await server.stop();
  }
}
