/**
 * @module One export measured in its own process (so its peak memory is its own): a subject's Usage month
 * written as CSV, XLSX or PDF by the app (`runReport` → `renderReport`, what the CLI and the downloads
 * run), or as `raw` — the same rows straight from the engine (COPY TO STDOUT / `.iterate()`). Prints one
 * JSON object: rows, seconds, rows per second, output MB, peak RSS MB and peak private (anonymous) MB.
 *
 *   node --import tsx bench/lib/export-child.ts --database-url URL --company ID --month YYYY-MM \
 *        --subject "sip:HQ PBX" --format csv|xlsx|pdf|raw --out FILE
 */
import fs from "node:fs";
import { pipeline } from "node:stream/promises";
import { parseArgs } from "node:util";
import { openDatabase } from "../../src/db/database";
import type { ReportRow } from "../../src/reports/definitions";
import { renderReport } from "../../src/reports/render";
import { runReport } from "../../src/reports/report.service";
import { loadCompany } from "../../src/services/company-context";
import { monthEndMs, monthStartMs } from "../../src/time/month";
import { openRaw } from "./raw";
import { ownerViewer } from "./viewer";

const { values } = parseArgs({
  options: {
    "database-url": { type: "string" },
    company: { type: "string" },
    month: { type: "string" },
    subject: { type: "string" },
    format: { type: "string" },
    out: { type: "string" },
  },
});
const url = values["database-url"] ?? "";
const companyId = Number(values.company);
const month = values.month ?? "";
const subject = values.subject ?? "";
const format = values.format ?? "csv";
const out = values.out ?? "/dev/null";

async function* counted(rows: AsyncIterable<ReportRow>, count: { n: number }): AsyncGenerator<ReportRow> {
  for await (const r of rows) {
    count.n++;
    yield r;
  }
}

// Anonymous (private) resident memory, sampled: maxRSS also counts the file pages SQLite maps in (mmap).
let peakAnonKB = 0;
const sampleAnon = (): void => {
  const m = /RssAnon:\s+(\d+)/.exec(fs.readFileSync("/proc/self/status", "utf8"));
  if (m?.[1] !== undefined) peakAnonKB = Math.max(peakAnonKB, Number(m[1]));
};
const sampler = fs.existsSync("/proc/self/status") ? setInterval(sampleAnon, 50) : undefined;

const t0 = performance.now();
let rows = 0;
if (format === "raw") {
  const db = openDatabase(url);
  const company = await loadCompany(db, companyId);
  const account = subject.startsWith("sip:")
    ? await db.k
        .selectFrom("sip_profiles")
        .select("account_id")
        .where("company_id", "=", companyId)
        .where("name", "=", subject.slice(4))
        .executeTakeFirstOrThrow()
    : await db.k
        .selectFrom("members")
        .select("account_id")
        .where("company_id", "=", companyId)
        .where("username", "=", subject)
        .executeTakeFirstOrThrow();
  await db.close();
  const raw = await openRaw(url);
  rows = await raw.exportCsv(
    "select started_at_ms, kind, destination, rate_name, duration_s, billed_s, rate_per_minute, charge_minor, status, covered_by, external_id " +
      "from usage_records where account_id = ? and started_at_ms >= ? and started_at_ms < ? order by started_at_ms, external_id",
    [account.account_id, monthStartMs(month, company.timezone), monthEndMs(month, company.timezone)],
    out,
  );
  await raw.close();
} else {
  const db = openDatabase(url);
  const company = await loadCompany(db, companyId);
  const nowMs = Date.parse("2026-11-27T12:00:00Z");
  const result = await runReport(
    db,
    company,
    { report: "usage", month, subject, format: format as "csv" },
    await ownerViewer(db, companyId),
    nowMs,
  );
  const count = { n: 0 };
  await pipeline(
    renderReport({ ...result, rows: counted(result.rows, count) }, format as "csv", { generatedAtMs: nowMs }),
    fs.createWriteStream(out),
  );
  rows = count.n;
  await db.close();
}
const seconds = (performance.now() - t0) / 1000;
if (sampler) {
  clearInterval(sampler);
  sampleAnon();
}
process.stdout.write(
  `${JSON.stringify({
    format,
    rows,
    seconds: Math.round(seconds * 100) / 100,
    rowsPerSecond: Math.round(rows / seconds),
    outputMB: Math.round(fs.statSync(out).size / 1e5) / 10,
    // maxRSS is in kilobytes on Linux.
    peakRssMB: Math.round(process.resourceUsage().maxRSS / 1024),
    peakPrivateMB: Math.round(peakAnonKB / 1024),
  })}\n`,
);
