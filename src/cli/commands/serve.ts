/**
 * @module `switchboard serve [--port N] [--demo]`. With --demo an empty database is first loaded with the
 * demo company (its history ends today). Runs until SIGINT/SIGTERM, then shuts down gracefully.
 */
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

export function registerServe(program: Command, ctx: CliContext): void {
  program
    .command("serve")
    .description(
      "Serve the web app and the HTTP API (PORT, HOST, DATABASE_URL, SECURE_COOKIES, SESSION_TTL_MINUTES, " +
        "TRUST_PROXY from the environment). --demo loads the demo company into an empty database first.",
    )
    .option("--port <n>", "port to listen on (default: PORT or 3000)")
    .option("--demo", "load the demo company when the database is empty")
    .action(async (opts: { port?: string; demo?: boolean }) => {
      const config = loadConfig({ ...ctx.env, ...(opts.port !== undefined ? { PORT: opts.port } : {}) });
      const db = await ctx.db();
      if (opts.demo) {
        const id = await loadDemoIfEmpty(db, ctx.clock.now());
        if (id !== null) ctx.out.write(`Loaded the demo company (id ${id}) into ${db.url}\n`);
      }
      await printSummaries(ctx, db);
      // Renewals of subscriptions and numbers; safe with several server processes (each renewal locks).
      const scheduler = startScheduler({ db, clock: ctx.clock }, { intervalMs: RENEWAL_INTERVAL_MS_DEFAULT });
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
