/** @module `switchboard usage ingest --company ID FILE`: streams a usage file into a company's ledger (PRODUCT.md §9). */
import type { Command } from "commander";
import { ingestUsageFile } from "../../ingest/usage-file";
import type { UsageFileResult } from "../../ingest/usage-file";
import { USAGE_RECORD_KEYS } from "../../ingest/usage-record";
import { formatAmount } from "../../money/money";
import { loadCompany } from "../../services/company-context";
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
}
