/** @module `switchboard usage ingest --company ID FILE`: streams a usage file into a company's ledger (PRODUCT.md §9). */
import type { Command } from "commander";
import { loadConfig } from "../../config";
import { ingestUsageFile } from "../../ingest/usage-file";
import type { UsageFileResult } from "../../ingest/usage-file";
import { USAGE_RECORD_KEYS } from "../../ingest/usage-record";
import { formatAmount } from "../../money/money";
import { loadCompany } from "../../services/company-context";
import { purgeUsageDetail, USAGE_RETENTION_MONTHS_MAX } from "../../services/retention.service";
import type { PurgeResult } from "../../services/retention.service";
import { invalid } from "../../shared/errors";
import type { CliContext } from "../context";
import { parseCompanyId } from "./shared";

/** Exit code when some lines were rejected (the others were stored); see EXIT in main.ts. */
export const EXIT_SOME_REJECTED = 3;

const HELP_AFTER = `
Formats (by extension: .csv, or .ndjson / .jsonl; otherwise a file starting with "{" is NDJSON):
  CSV     a header line naming the columns, in any order:
            ${USAGE_RECORD_KEYS.join(",")}
          then one record per line; an empty cell is an absent value.
  NDJSON  one JSON object per line with those keys.
  subject     a member's username, or sip:NAME for a SIP profile
  kind        call (duration_s: whole seconds, 0 = unanswered) or sms (segments, default 1)
  started_at  ISO 8601 with an offset, e.g. 2026-09-02T10:00:00Z
  destination + and 8 to 15 digits (spaces, dashes, dots and parentheses are ignored)

Valid records are stored and charged; a record whose external_id is already stored is counted as a
duplicate and skipped, so running the same file again changes nothing. Invalid lines are written to
FILE.rejects.csv (line, reason, then the line's fields) and never stop the valid ones.

Prints one summary line (or with --json one JSON object).
Exit codes: 0 every line was stored or a duplicate; 3 some lines were rejected (see FILE.rejects.csv);
1 the command could not run (unknown company, missing file, wrong CSV header); 2 wrong arguments.
`;

const plural = (n: number, noun: string): string => `${n} ${noun}${n === 1 ? "" : "s"}`;

export function summaryLine(result: UsageFileResult, currency: string): string {
  const parts = [
    plural(result.lines, "line"),
    `${result.stored} stored`,
    plural(result.duplicates, "duplicate"),
    result.rejectsPath === null
      ? `${result.rejected} rejected`
      : `${result.rejected} rejected (see ${result.rejectsPath})`,
    `${result.unrated} unrated`,
    `charged ${formatAmount(result.chargedMinor, currency)} ${currency}`,
  ];
  if (result.autoAllocations > 0) parts.push(plural(result.autoAllocations, "auto-allocation"));
  return `usage ingest: ${parts.join(", ")}`;
}

/** The --json object: snake_case keys and amounts as decimal strings, as on every interface (§3). */
export function resultJson(
  companyId: number,
  file: string,
  result: UsageFileResult,
  currency: string,
): Record<string, unknown> {
  return {
    company_id: companyId,
    file,
    format: result.format,
    lines: result.lines,
    stored: result.stored,
    duplicates: result.duplicates,
    rejected: result.rejected,
    unrated: result.unrated,
    charged: formatAmount(result.chargedMinor, currency),
    currency,
    auto_allocations: result.autoAllocations,
    rejects_file: result.rejectsPath,
  };
}

const PURGE_HELP_AFTER = `
Removes the per-call usage records of every company's months older than the last USAGE_RETENTION_MONTHS
months (default 6, the current month included; 0 keeps everything), in each company's timezone. Monthly
totals stay, so every Summary and every balance is unchanged; the Usage report of a purged month is empty,
and a record of a purged month sent again is rejected rather than charged twice. Each purge is written to the
company's audit log. On PostgreSQL a month past every company's horizon is dropped as a whole partition.
The server runs this daily; run it here to purge now, or with --dry-run to see what it would remove.
`;

export function purgeLine(result: PurgeResult): string {
  if (result.retentionMonths === 0)
    return "usage purge: USAGE_RETENTION_MONTHS is 0, all usage detail is kept";
  const verb = result.dryRun ? "would remove" : "removed";
  const months = result.companies.map(
    (c) => `company ${c.companyId}: ${c.months.map((m) => `${m.month} (${m.records})`).join(", ")}`,
  );
  return (
    `usage purge (keeping ${result.retentionMonths} months): ${verb} ${plural(result.records, "record")}` +
    (months.length > 0 ? ` — ${months.join("; ")}` : "") +
    (result.partitionsDropped.length > 0
      ? `; ${result.dryRun ? "would drop" : "dropped"} partitions ${result.partitionsDropped.join(", ")}`
      : "")
  );
}

export function purgeJson(result: PurgeResult): Record<string, unknown> {
  return {
    dry_run: result.dryRun,
    retention_months: result.retentionMonths,
    records: result.records,
    partitions_dropped: result.partitionsDropped,
    companies: result.companies.map((c) => ({
      company_id: c.companyId,
      kept_from: c.keepFrom,
      months: c.months.map((m) => ({ month: m.month, records: m.records })),
    })),
  };
}

function parseRetentionMonths(text: string): number {
  const n = Number(text);
  if (!/^\d+$/.test(text) || !Number.isSafeInteger(n) || n > USAGE_RETENTION_MONTHS_MAX)
    throw invalid(`--months must be a whole number from 0 to ${USAGE_RETENTION_MONTHS_MAX} (got "${text}")`);
  return n;
}

export function registerUsage(program: Command, ctx: CliContext): void {
  const usage = program.command("usage").description("Usage records: calls and text messages.");
  usage
    .command("ingest")
    .description("Store and charge a file of usage records (CSV or NDJSON) for one company.")
    .requiredOption("--company <id>", "the company's id")
    .option("--json", "print the result as one JSON object instead of a summary line")
    .argument("<file>", "a CSV or NDJSON file of usage records")
    .addHelpText("after", HELP_AFTER)
    .action(async (file: string, options: { company: string; json?: boolean }) => {
      const companyId = parseCompanyId(options.company);
      const db = await ctx.db();
      const company = await loadCompany(db, companyId);
      const result = await ingestUsageFile(db, companyId, file, { nowMs: ctx.clock.now() });
      ctx.out.write(
        options.json === true
          ? `${JSON.stringify(resultJson(companyId, file, result, company.currency))}\n`
          : `${summaryLine(result, company.currency)}\n`,
      );
      ctx.exitCode = result.rejected > 0 ? EXIT_SOME_REJECTED : 0;
    });
  usage
    .command("purge")
    .description(
      "Remove per-call usage detail older than the retention (USAGE_RETENTION_MONTHS) for every company.",
    )
    .option("--dry-run", "show what would be removed, remove nothing")
    .option("--months <n>", "months to keep instead of USAGE_RETENTION_MONTHS (0 keeps everything)")
    .option("--json", "print the result as one JSON object instead of a summary line")
    .addHelpText("after", PURGE_HELP_AFTER)
    .action(async (options: { dryRun?: boolean; months?: string; json?: boolean }) => {
      const retentionMonths =
        options.months !== undefined
          ? parseRetentionMonths(options.months)
          : loadConfig(ctx.env).usageRetentionMonths;
      const db = await ctx.db();
      const result = await purgeUsageDetail(db, {
        nowMs: ctx.clock.now(),
        retentionMonths,
        dryRun: options.dryRun === true,
        actor: "cli",
      });
      ctx.out.write(
        options.json === true ? `${JSON.stringify(purgeJson(result))}\n` : `${purgeLine(result)}\n`,
      );
    });
}
