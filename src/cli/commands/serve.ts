/**
 * @module `switchboard serve [--port N] [--demo]`. With --demo an empty database is first loaded with the
 * demo company (its history ends today). Until the HTTP server lands, serve prints the current month's
 * Summary of every company and exits.
 */
import type { Command } from "commander";
import { generateDemoBundle } from "../../bundle/demo-bundle";
import { importBundle } from "../../bundle/import";
import type { Database } from "../../db/database";
import { runReport } from "../../reports/report.service";
import type { ReportRow } from "../../reports/definitions";
import { loadCompany } from "../../services/company-context";
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

function table(rows: ReportRow[], keys: readonly string[]): string {
  const cells = [keys.map(String), ...rows.map((r) => keys.map((k) => String(r[k] ?? "")))];
  const widths = keys.map((_, i) => Math.max(...cells.map((c) => [...(c[i] ?? "")].length)));
  return cells
    .map((c) => c.map((v, i) => (i >= 3 ? v.padStart(widths[i] ?? 0) : v.padEnd(widths[i] ?? 0))).join("  "))
    .join("\n");
}

export function registerServe(program: Command, ctx: CliContext): void {
  program
    .command("serve")
    .description("Serve Switchboard. --demo loads the demo company into an empty database first.")
    .option("--port <n>", "port to listen on", "3000")
    .option("--demo", "load the demo company when the database is empty")
    .action(async (opts: { port: string; demo?: boolean }) => {
      const db = await ctx.db();
      const now = ctx.clock.now();
      if (opts.demo) {
        const id = await loadDemoIfEmpty(db, now);
        if (id !== null) ctx.out.write(`Loaded the demo company (id ${id}) into ${db.url}\n`);
      }
      for (const c of await listCompanies(db)) {
        const company = await loadCompany(db, c.id);
        const result = await runReport(
          db,
          company,
          { report: "summary", format: "json" },
          { kind: "operator" },
          now,
        );
        const rows: ReportRow[] = [];
        for await (const row of result.rows) rows.push(row);
        ctx.out.write(
          `\n${company.name} (company ${company.id}) — Summary for ${result.month}, ${company.currency}\n`,
        );
        for (const [k, v] of Object.entries(result.totals)) ctx.out.write(`  ${k.padEnd(26)} ${String(v)}\n`);
        ctx.out.write(
          `\n${table(rows, ["recipient_type", "recipient", "username", "credit_allocated", "usage_charged", "closing_balance"])}\n`,
        );
      }
      ctx.out.write(
        `\nDemo sign-in: ${DEMO_OWNER.email} / ${DEMO_OWNER.password}\n` +
          "Try: npx switchboard report summary --company 1 --format csv\n",
      );
    });
}
