/**
 * @module Benchmark of the document writers: streams N synthetic rows of the Usage report's shape through
 * the CSV, XLSX and PDF writers into a sink that counts and drops the bytes, each format in its own
 * process so that its peak resident memory is its own. Prints rows/s, seconds, output size and peak RSS.
 *
 *   node --import tsx bench/documents.ts [--rows 200000] [--formats csv,xlsx,pdf] [--keep DIR]
 *
 * `--keep DIR` writes the files to DIR instead of dropping them (to look at them).
 */
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { Writable } from "node:stream";
import type { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { pdfStream } from "../src/documents/pdf";
import { xlsxStream } from "../src/documents/xlsx";
import { csvStream } from "../src/reports/csv";
import { REPORT_COLUMNS } from "../src/reports/definitions";
import type { ReportRow } from "../src/reports/definitions";
import type { ReportResult } from "../src/reports/report.service";
import { formatLocalIso } from "../src/time/month";

const FORMATS = ["csv", "xlsx", "pdf"] as const;
type Format = (typeof FORMATS)[number];
const ROWS_DEFAULT = 200_000;
const TZ = "Europe/London";
const MONTH_START_MS = Date.parse("2026-10-01T00:00:00+01:00");
const GENERATED_AT_MS = Date.parse("2026-11-27T12:00:00Z");

/** Usage rows as the report service yields them: calls and SMS, rated, covered and unrated. */
// eslint-disable-next-line @typescript-eslint/require-await -- async like the database's row stream
async function* usageRows(count: number): AsyncGenerator<ReportRow> {
  const stepMs = Math.floor((31 * 86_400_000) / Math.max(count, 1));
  for (let i = 0; i < count; i++) {
    const sms = i % 7 === 0;
    const status = i % 50 === 0 ? "unrated" : i % 5 === 0 ? "covered" : "rated";
    const duration = 20 + ((i * 37) % 900);
    const billed = Math.ceil(duration / 60) * 60;
    yield {
      started_at: formatLocalIso(MONTH_START_MS + i * stepMs, TZ),
      kind: sms ? "sms" : "call",
      destination: `+44${7700900000 + (i % 100_000)}`,
      destination_name: status === "unrated" ? null : sms ? "United Kingdom mobile" : "United Kingdom",
      duration_s: sms ? null : duration,
      billed_s: sms || status === "unrated" ? null : billed,
      rate_per_minute: sms || status === "unrated" ? null : "0.0230",
      charge:
        status === "unrated"
          ? null
          : status === "covered"
            ? "0.00"
            : sms
              ? "0.11"
              : ((billed / 60) * 0.023 + 0.039).toFixed(2),
      currency: "EUR",
      status,
      covered_by: status === "covered" ? "Unlimited UK" : null,
      external_id: `cdr-${String(i).padStart(8, "0")}`,
    };
  }
}

function result(count: number): ReportResult {
  return {
    report: "usage",
    title: "Usage",
    companyId: 1,
    companyName: "Acme Ltd",
    month: "2026-10",
    currency: "EUR",
    timezone: TZ,
    feature: null,
    subject: { type: "member", name: "Łukasz Żółć", username: "lukasz" },
    filter: {},
    // Totals are not what is measured: the writers print them as they are.
    totals: { calls: count, sms: 0, billed_seconds: 0, charged: "0.00" },
    columns: REPORT_COLUMNS.usage,
    rows: usageRows(count),
  };
}

function render(format: Format, count: number): Readable {
  const r = result(count);
  switch (format) {
    case "csv":
      return csvStream(r.columns, r.rows);
    case "xlsx":
      return xlsxStream(r, { generatedAtMs: GENERATED_AT_MS });
    case "pdf":
      return pdfStream(r, { generatedAtMs: GENERATED_AT_MS });
  }
}

/** Counts bytes and drops them, like a fast network client. */
class CountingSink extends Writable {
  bytes = 0;
  override _write(chunk: Buffer, _enc: BufferEncoding, done: (error?: Error | null) => void): void {
    this.bytes += chunk.length;
    done();
  }
}

interface Measurement {
  format: Format;
  rows: number;
  seconds: number;
  rowsPerSecond: number;
  outputMB: number;
  peakRssMB: number;
}

async function child(format: Format, count: number, keep: string | undefined): Promise<void> {
  const started = performance.now();
  const sink = new CountingSink();
  if (keep !== undefined) {
    const file = path.join(keep, `usage-${count}.${format}`);
    await pipeline(render(format, count), fs.createWriteStream(file));
    sink.bytes = fs.statSync(file).size;
  } else {
    await pipeline(render(format, count), sink);
  }
  const seconds = (performance.now() - started) / 1000;
  const m: Measurement = {
    format,
    rows: count,
    seconds: Math.round(seconds * 10) / 10,
    rowsPerSecond: Math.round(count / seconds),
    outputMB: Math.round(sink.bytes / 1e5) / 10,
    // maxRSS is in kilobytes on Linux.
    peakRssMB: Math.round(process.resourceUsage().maxRSS / 1024),
  };
  process.stdout.write(`${JSON.stringify(m)}\n`);
}

async function run(): Promise<void> {
  const { values } = parseArgs({
    options: {
      rows: { type: "string", default: String(ROWS_DEFAULT) },
      formats: { type: "string", default: FORMATS.join(",") },
      child: { type: "string" },
      keep: { type: "string" },
    },
  });
  const count = Number(values.rows);
  if (!Number.isSafeInteger(count) || count < 0)
    throw new Error(`--rows takes a whole number (got ${values.rows})`);
  const keep = values.keep === undefined ? undefined : path.resolve(values.keep);
  if (keep !== undefined) fs.mkdirSync(keep, { recursive: true });
  if (values.child !== undefined) return child(values.child as Format, count, keep);

  const formats = values.formats
    .split(",")
    .filter((f): f is Format => (FORMATS as readonly string[]).includes(f));
  console.log(`document writers, ${count.toLocaleString("en")} Usage rows each (Node ${process.version})`);
  console.log("format   rows/s     seconds   output MB   peak RSS MB");
  for (const format of formats) {
    const args = [
      "--import",
      "tsx",
      fileURLToPath(import.meta.url),
      "--child",
      format,
      "--rows",
      String(count),
    ];
    if (keep !== undefined) args.push("--keep", keep);
    const line = execFileSync(process.execPath, args, {
      encoding: "utf8",
      stdio: ["ignore", "pipe", "inherit"],
    });
    const m = JSON.parse(line.trim().split("\n").pop() ?? "{}") as Measurement;
    console.log(
      `${m.format.padEnd(8)} ${String(m.rowsPerSecond).padStart(8)} ${String(m.seconds).padStart(10)} ` +
        `${String(m.outputMB).padStart(11)} ${String(m.peakRssMB).padStart(13)}`,
    );
  }
}

await run();
