/** @module `switchboard report …`: any of the four reports, for a month and filters, as JSON, CSV, PDF or XLSX. */
import fs from "node:fs";
import { pipeline } from "node:stream/promises";
import type { Readable } from "node:stream";
import { Option } from "commander";
import type { Command } from "commander";
import { inTransaction } from "../../db/database";
import type { Admin } from "../../db/schema";
import { REPORT_NAMES } from "../../reports/definitions";
import type { ReportName } from "../../reports/definitions";
import { renderReport } from "../../reports/render";
import { REPORT_FORMATS, runReport } from "../../reports/report.service";
import type { ReportFormat, Viewer } from "../../reports/report.service";
import { loadCompany } from "../../services/company-context";
import { acknowledgePrivacy, findAdmin, SIP_PREFIX } from "../../services/people.service";
import { AppError, invalid } from "../../shared/errors";
import type { CliContext } from "../context";
import { parseCompanyId } from "./shared";

const PRIVACY_NOTICE =
  "Data privacy: by accessing and monitoring personal and traffic data of members, you may be required to " +
  "comply with the local data privacy laws in many jurisdictions. Please familiarize yourself with the " +
  "applicable laws for your location and proposed use. Members with personal accounts have to give their " +
  "consent before you can access their reports.\n";

interface ReportOptions {
  company: string;
  month?: string;
  feature?: string;
  member?: string;
  sipProfile?: string;
  filter: string[];
  as?: string;
  format: ReportFormat;
  out?: string;
  acknowledgePrivacy?: boolean;
}

function parseFilters(pairs: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const pair of pairs) {
    const eq = pair.indexOf("=");
    if (eq <= 0) throw invalid(`--filter takes KEY=VALUE (got "${pair}")`);
    const key = pair.slice(0, eq);
    if (key in out) throw invalid(`--filter ${key} is given twice`);
    out[key] = pair.slice(eq + 1);
  }
  return out;
}

export function registerReport(program: Command, ctx: CliContext): void {
  program
    .command("report")
    .argument("<report>", `one of ${REPORT_NAMES.join(", ")}`)
    .description(
      "Write one monthly report. Usage reports need --as EMAIL of an owner, admin or viewer who has " +
        "acknowledged the data-privacy notice (add --acknowledge-privacy the first time), and obey members' consent.",
    )
    .requiredOption("--company <id>", "the company's id (see `switchboard companies`)")
    .option("--month <YYYY-MM>", "the month, in the company's timezone (default: the current month)")
    .addOption(
      new Option("--feature <feature>", "Allocations: which feature").choices([
        "credit",
        "subscription",
        "number",
      ]),
    )
    .option("--member <username>", "Usage: the member")
    .option("--sip-profile <name>", "Usage: the SIP profile")
    .option(
      "--filter <KEY=VALUE>",
      "narrow the report (repeatable): summary group; purchases status, payment_method; " +
        "allocations group, recipient, action; usage kind, prefix",
      (value: string, previous: string[]) => [...previous, value],
      [] as string[],
    )
    .option("--as <email>", "who asks: an owner, admin or viewer of the company")
    .addOption(
      new Option("--format <format>", "output format").choices([...REPORT_FORMATS]).makeOptionMandatory(),
    )
    .option("--out <file>", "write to this file instead of standard output (PDF and XLSX are binary)")
    .option("--acknowledge-privacy", "record that --as has read the data-privacy notice (asked once)")
    .action(async (report: string, opts: ReportOptions) => {
      if (!REPORT_NAMES.includes(report as ReportName))
        throw invalid(`unknown report "${report}" (one of ${REPORT_NAMES.join(", ")})`);
      if (opts.member !== undefined && opts.sipProfile !== undefined)
        throw invalid("give --member or --sip-profile, not both");
      if (report !== "usage" && (opts.member !== undefined || opts.sipProfile !== undefined))
        throw invalid("--member and --sip-profile are for the usage report");
      if (report !== "allocations" && opts.feature !== undefined)
        throw invalid("--feature is for the allocations report");
      const companyId = parseCompanyId(opts.company);
      const db = await ctx.db();
      const company = await loadCompany(db, companyId);
      const now = ctx.clock.now();

      let admin: Admin | undefined;
      if (opts.as !== undefined) {
        admin = await findAdmin(db, company.id, opts.as);
        if (!admin)
          throw new AppError("forbidden", `${opts.as} is not an owner, admin or viewer of this company`);
        if (opts.acknowledgePrivacy && admin.privacy_acknowledged_at_ms === null) {
          ctx.err.write(PRIVACY_NOTICE);
          const who = admin;
          await inTransaction(db, (tx) => acknowledgePrivacy(tx, company, who, now));
          admin = { ...admin, privacy_acknowledged_at_ms: now };
        }
      } else if (report === "usage") {
        throw new AppError(
          "forbidden",
          "a Usage report needs --as EMAIL of an owner, admin or viewer of the company",
        );
      }
      const viewer: Viewer = admin ? { kind: "admin", admin } : { kind: "operator" };
      const subject =
        opts.member ?? (opts.sipProfile !== undefined ? `${SIP_PREFIX}${opts.sipProfile}` : undefined);
      if (report === "usage" && subject === undefined)
        throw invalid("the usage report needs --member USERNAME or --sip-profile NAME");

      let result;
      try {
        result = await runReport(
          db,
          company,
          {
            report: report as ReportName,
            month: opts.month,
            feature: opts.feature,
            subject,
            filter: parseFilters(opts.filter),
            format: opts.format,
          },
          viewer,
          now,
        );
      } catch (error) {
        if (error instanceof AppError && error.code === "privacy_ack_required")
          throw new AppError(error.code, `${error.reason}. Run again with --acknowledge-privacy to do so.`);
        throw error;
      }
      const stream: Readable = renderReport(result, opts.format, { generatedAtMs: now });
      if (opts.out === undefined) {
        await pipeline(stream, ctx.out, { end: false });
        return;
      }
      const outFile = opts.out;
      try {
        await pipeline(stream, fs.createWriteStream(outFile));
      } catch (error) {
        await fs.promises.rm(outFile, { force: true });
        throw error;
      }
    });
}
