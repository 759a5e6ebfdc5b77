/**
 * @module `switchboard serve [--port N] [--demo] [--workers N]`. With --demo an empty database is first
 * loaded with the demo company (its history ends today). With --workers N > 1 the primary process forks N
 * server processes (node:cluster) that share the port; sessions, idempotency keys and the report revision
 * live in the database, so any process can answer any request. Renewals run in the primary only. Runs until
 * SIGINT/SIGTERM, then shuts down gracefully (workers first).
 */
import cluster from "node:cluster";
import type { Worker } from "node:cluster";
import { AppError } from "../../shared/errors";
import type { Command } from "commander";
import { generateDemoBundle } from "../../bundle/demo-bundle";
import { importBundle } from "../../bundle/import";
import type { Database } from "../../db/database";
import { loadConfig } from "../../config";
import { runReport } from "../../reports/report.service";
import { loadCompany } from "../../services/company-context";
import { RENEWAL_INTERVAL_MS_DEFAULT, startScheduler } from "../../http/scheduler";
import { startServer } from "../../http/server";
import { listCompanies } from "../../services/company.service";
import type { CliContext } from "../context";

export const DEMO_OWNER = { email: "owner@northwind.example", password: "demo-password-1" } as const;

/** Loads the demo company into an empty database; returns its id, or null when the database has data. */
export async function loadDemoIfEmpty(db: Database, nowMs: number): Promise<number | null> {
  const existing = await listCompanies(db);
  if (existing.length > 0) return null;
  const result = await importBundle(db, generateDemoBundle({ now: nowMs, seed: 42 }), { nowMs });
  return result.company_id;
}

/** One line per company (at most a few): the current month's Summary totals, so a start shows real figures. */
async function printSummaries(ctx: CliContext, db: Database): Promise<void> {
  const companies = await listCompanies(db);
  for (const c of companies.slice(0, SUMMARY_COMPANIES_MAX)) {
    const company = await loadCompany(db, c.id);
    const r = await runReport(
      db,
      company,
      { report: "summary", format: "json" },
      { kind: "operator" },
      ctx.clock.now(),
    );
    const t = r.totals;
    ctx.out.write(
      `${company.name} (company ${company.id}), Summary for ${r.month}: purchased ${String(t["purchased"])}, ` +
        `allocated ${String(t["allocated_credit"])}, usage ${String(t["usage_charged"])}, ` +
        `company balance ${String(t["closing_company_balance"])} ${company.currency}\n`,
    );
  }
  if (companies.length > SUMMARY_COMPANIES_MAX)
    ctx.out.write(`… and ${companies.length - SUMMARY_COMPANIES_MAX} more companies\n`);
}

const SUMMARY_COMPANIES_MAX = 5;
/** How long a server process may take to finish its requests when asked to stop. */
const WORKER_STOP_MS_MAX = 10_000;
/** Server processes `--workers` may ask for. */
export const SERVE_WORKERS_MAX = 64;

function parseWorkers(text: string | undefined): number {
  const n = Number(text ?? "1");
  if (!Number.isInteger(n) || n < 1 || n > SERVE_WORKERS_MAX)
    throw new AppError("invalid_input", `--workers must be a whole number from 1 to ${SERVE_WORKERS_MAX}`);
  return n;
}

/** A forked server process: serves until its primary tells it to stop. */
async function serveAsWorker(ctx: CliContext, config: ReturnType<typeof loadConfig>): Promise<void> {
  const db = await ctx.db();
  const server = await startServer({ db, clock: ctx.clock, config });
  await new Promise<void>((resolve) => {
    // Closing the channel to the primary too lets the process end once the server and database are closed.
    const stop = () =>
      void server.close().then(() => {
        if (process.connected) process.disconnect();
        resolve();
      });
    process.on("SIGINT", () => undefined); // the primary decides; a terminal's Ctrl-C reaches it too
    process.once("SIGTERM", stop);
    process.once("disconnect", stop);
  });
}

/** The primary of `--workers N`: forks the server processes, restarts one that dies, stops them all. */
async function servePrimary(ctx: CliContext, workers: number, onStop: () => Promise<void>): Promise<void> {
  let stopping = false;
  const live = new Set<Worker>();
  let url = "";
  const fork = () => {
    const worker = cluster.fork();
    live.add(worker);
    worker.once("exit", (code, signal) => {
      live.delete(worker);
      if (!stopping) {
        ctx.err.write(`A server process ended (${signal ?? String(code)}); starting another\n`);
        fork();
      }
    });
    return worker;
  };
  const started = Promise.all(
    Array.from({ length: workers }, () => {
      const worker = fork();
      return new Promise<void>((resolve, reject) => {
        worker.once("listening", (address) => {
          const host = address.address.includes(":") ? `[${address.address}]` : address.address;
          url = `http://${host}:${address.port}/`;
          resolve();
        });
        worker.once("exit", (code) =>
          reject(new AppError("conflict", `a server process could not start (exit code ${String(code)})`)),
        );
      });
    }),
  );
  try {
    await started;
  } catch (error) {
    stopping = true;
    for (const w of live) w.process.kill("SIGTERM");
    await onStop();
    throw error;
  }
  ctx.out.write(`Switchboard is serving at ${url} with ${workers} server processes\n`);
  await new Promise<void>((resolve) => {
    const stop = () => {
      if (stopping) return;
      stopping = true;
      ctx.out.write("Shutting down…\n");
      const exited = [...live].map((w) => new Promise<void>((done) => w.once("exit", () => done())));
      for (const w of live) w.process.kill("SIGTERM");
      // A process that has not finished its requests by then is ended.
      const force = setTimeout(() => {
        for (const w of live) w.process.kill("SIGKILL");
      }, WORKER_STOP_MS_MAX);
      force.unref();
      void Promise.all(exited).then(onStop).then(resolve);
    };
    process.once("SIGINT", stop);
    process.once("SIGTERM", stop);
  });
}

export function registerServe(program: Command, ctx: CliContext): void {
  program
    .command("serve")
    .description(
      "Serve the web app and the HTTP API (PORT, HOST, DATABASE_URL, SECURE_COOKIES, SESSION_TTL_MINUTES, " +
        "TRUST_PROXY from the environment). --demo loads the demo company into an empty database first.",
    )
    .option("--port <n>", "port to listen on (default: PORT or 3000)")
    .option("--demo", "load the demo company when the database is empty")
    .option("--workers <n>", "server processes sharing the port (default 1; e.g. one per CPU core)")
    .action(async (opts: { port?: string; demo?: boolean; workers?: string }) => {
      const config = loadConfig({ ...ctx.env, ...(opts.port !== undefined ? { PORT: opts.port } : {}) });
      const workers = parseWorkers(opts.workers);
      if (cluster.isWorker) return serveAsWorker(ctx, config);
      const db = await ctx.db();
      if (opts.demo) {
        const id = await loadDemoIfEmpty(db, ctx.clock.now());
        if (id !== null) ctx.out.write(`Loaded the demo company (id ${id}) into ${db.url}\n`);
      }
      await printSummaries(ctx, db);
      // Renewals of subscriptions and numbers; safe with several server processes (each renewal locks).
      const scheduler = startScheduler(
        { db, clock: ctx.clock },
        { intervalMs: RENEWAL_INTERVAL_MS_DEFAULT, usageRetentionMonths: config.usageRetentionMonths },
      );
      if (workers > 1) {
        if (opts.demo) ctx.out.write(`Demo sign-in: ${DEMO_OWNER.email} / ${DEMO_OWNER.password}\n`);
        return servePrimary(ctx, workers, () => scheduler.stop());
      }
      const server = await startServer({ db, clock: ctx.clock, config }, [() => scheduler.stop()]);
      ctx.out.write(`Switchboard is serving ${db.url} at ${server.url}\n`);
      if (opts.demo) ctx.out.write(`Demo sign-in: ${DEMO_OWNER.email} / ${DEMO_OWNER.password}\n`);
      ctx.out.write(
        `API: ${server.url}api/v1 — OpenAPI: ${server.url}api/openapi.json — docs: ${server.url}api/docs\n`,
      );
      await new Promise<void>((resolve) => {
        const stop = () => {
          ctx.out.write("Shutting down…\n");
          void server.close().then(resolve);
        };
        process.once("SIGINT", stop);
        process.once("SIGTERM", stop);
      });
    });
}
