/**
 * @module Benchmark of the document writers: streams N synthetic rows of the Usage report's shape through
 * the CSV, XLSX and PDF writers into a sink that counts and drops the bytes, each format in its own
 * process so that its peak resident memory is its own. Prints rows/s, seconds, output size and peak RSS.
 *
 *   node --import tsx bench/documents.ts [--rows 200000] [--formats csv,xlsx,pdf] [--keep DIR] [--json]
 *        [--database-url URL --company ID --month YYYY-MM [--subject REF] [--dialect sqlite|postgres]]
 *
 * `--keep DIR` writes the files to DIR instead of dropping them (to look at them). With --database-url the
 * rows are the real Usage report of an existing database (e.g. the benchmark generator's): the company's
 * busiest subject of the month unless --subject names one, read and rendered exactly as the server does.
 * --json prints one JSON object (every format's measurement) on stdout instead of the table.
 */
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { Writable } from "node:stream";
import type { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { openDatabase } from "../src/db/database";
import type { Database } from "../src/db/database";
import { pdfStream } from "../src/documents/pdf";
import { xlsxStream } from "../src/documents/xlsx";
import { csvStream } from "../src/reports/csv";
import { renderReport } from "../src/reports/render";
import { runReport } from "../src/reports/report.service";
import { loadCompany } from "../src/services/company-context";
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

interface Source {
  url: string;
  company: number;
  month: string;
  subject: string | undefined;
}

/** The subject (username or sip:NAME) with the most usage rows in the month. */
async function busiestSubject(db: Database, companyId: number, month: string): Promise<string> {
  const top = await db.k
    .selectFrom("usage_records as u")
    .leftJoin("members as m", "m.account_id", "u.account_id")
    .leftJoin("sip_profiles as s", "s.account_id", "u.account_id")
    .select(["m.username", "s.name", (eb) => eb.fn.countAll<number>().as("n")])
    .where("u.company_id", "=", companyId)
    .where("u.month", "=", month)
    .groupBy(["u.account_id", "m.username", "s.name"])
    .orderBy("n", "desc")
    .limit(1)
    .executeTakeFirst();
  if (!top) throw new Error(`company ${companyId} has no usage in ${month}`);
  return top.username ?? `sip:${top.name ?? ""}`;
}

/** The real Usage report of an existing database, as the server renders it; returns the stream and rows. */
async function renderFromDatabase(
  format: Format,
  source: Source,
): Promise<{ stream: Readable; rows: () => number; close(): Promise<void> }> {
  const db = openDatabase(source.url);
  const company = await loadCompany(db, source.company);
  const subject = source.subject ?? (await busiestSubject(db, source.company, source.month));
  // An owner who acknowledged the privacy notice: the same checks and audit entry as any opening.
  const admin = await db.k
    .selectFrom("admins")
    .selectAll()
    .where("company_id", "=", source.company)
    .where("role", "=", "owner")
    .where("removed_at_ms", "is", null)
    .executeTakeFirst();
  const viewer = {
    kind: "admin" as const,
    admin: admin
      ? { ...admin, privacy_acknowledged_at_ms: admin.privacy_acknowledged_at_ms ?? GENERATED_AT_MS }
      : {
          id: 0,
          company_id: source.company,
          email: "bench@bench.example",
          name: "Bench",
          role: "owner" as const,
          password_hash: null,
          privacy_acknowledged_at_ms: GENERATED_AT_MS,
          created_at_ms: 0,
          removed_at_ms: null,
        },
  };
  const result = await runReport(
    db,
    company,
    { report: "usage", month: source.month, subject, format },
    viewer,
    GENERATED_AT_MS,
  );
  let count = 0;
  const counted = (async function* () {
    for await (const row of result.rows) {
      count++;
      yield row;
    }
  })();
  // CSV and JSON read the rows in batches; counting them one by one would measure the counter.
  const rows = format === "csv" ? result.rows : counted;
  const totals = result.totals;
  const expected = Number(totals["calls"] ?? 0) + Number(totals["sms"] ?? 0);
  return {
    stream: renderReport({ ...result, rows }, format, { generatedAtMs: GENERATED_AT_MS }),
    rows: () => (format === "csv" ? expected : count),
    close: () => db.close(),
  };
}

interface Measurement {
  format: Format;
  rows: number;
  seconds: number;
  rowsPerSecond: number;
  outputMB: number;
  peakRssMB: number;
  /** Peak private (anonymous) resident memory; 0 where /proc is not there. */
  peakAnonMB: number;
  /** Rows per second of this process's CPU time: what a busy machine's wall clock does not distort. */
  rowsPerCpuSecond: number;
}

async function child(
  format: Format,
  synthetic: number,
  keep: string | undefined,
  source: Source | undefined,
): Promise<void> {
  const started = performance.now();
  const cpuStarted = process.cpuUsage();
  // Anonymous (private) resident memory, sampled: maxRSS also counts file pages a database maps in.
  let peakAnonKb = 0;
  const sample = () => {
    const m = /RssAnon:\s+(\d+)/.exec(fs.readFileSync("/proc/self/status", "utf8"));
    peakAnonKb = Math.max(peakAnonKb, Number(m?.[1] ?? 0));
  };
  const sampler = fs.existsSync("/proc/self/status") ? setInterval(sample, 50) : undefined;
  const sink = new CountingSink();
  const fromDb = source === undefined ? undefined : await renderFromDatabase(format, source);
  const stream = fromDb?.stream ?? render(format, synthetic);
  if (keep !== undefined) {
    const file = path.join(keep, `usage-${synthetic}.${format}`);
    await pipeline(stream, fs.createWriteStream(file));
    sink.bytes = fs.statSync(file).size;
  } else {
    await pipeline(stream, sink);
  }
  const seconds = (performance.now() - started) / 1000;
  const cpu = process.cpuUsage(cpuStarted);
  const cpuSeconds = (cpu.user + cpu.system) / 1e6;
  clearInterval(sampler);
  if (sampler !== undefined) sample();
  const count = fromDb?.rows() ?? synthetic;
  await fromDb?.close();
  const m: Measurement = {
    format,
    rows: count,
    seconds: Math.round(seconds * 10) / 10,
    rowsPerSecond: Math.round(count / seconds),
    outputMB: Math.round(sink.bytes / 1e5) / 10,
    // maxRSS is in kilobytes on Linux.
    peakRssMB: Math.round(process.resourceUsage().maxRSS / 1024),
    peakAnonMB: Math.round(peakAnonKb / 1024),
    rowsPerCpuSecond: Math.round(count / cpuSeconds),
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
      json: { type: "boolean", default: false },
      "database-url": { type: "string" },
      company: { type: "string" },
      month: { type: "string" },
      subject: { type: "string" },
      dialect: { type: "string" },
    },
  });
  const url = values["database-url"];
  if (url !== undefined && (values.company === undefined || values.month === undefined))
    throw new Error("--database-url needs --company ID and --month YYYY-MM");
  const source: Source | undefined =
    url === undefined
      ? undefined
      : { url, company: Number(values.company), month: values.month ?? "", subject: values.subject };
  if (values.dialect !== undefined && url !== undefined && !url.startsWith(values.dialect.slice(0, 6)))
    throw new Error(`--dialect ${values.dialect} does not match --database-url`);
  const count = Number(values.rows);
  if (!Number.isSafeInteger(count) || count < 0)
    throw new Error(`--rows takes a whole number (got ${values.rows})`);
  const keep = values.keep === undefined ? undefined : path.resolve(values.keep);
  if (keep !== undefined) fs.mkdirSync(keep, { recursive: true });
  if (values.child !== undefined) return child(values.child as Format, count, keep, source);
  const say = (line: string) => (values.json ? process.stderr : process.stdout).write(`${line}\n`);

  const formats = values.formats
    .split(",")
    .filter((f): f is Format => (FORMATS as readonly string[]).includes(f));
  say(
    source === undefined
      ? `document writers, ${count.toLocaleString("en")} Usage rows each (Node ${process.version})`
      : `document writers, the Usage report of company ${source.company}, ${source.month}, from ${source.url.split(":")[0] ?? ""} (Node ${process.version})`,
  );
  say("format   rows/s     seconds   output MB   peak RSS MB   peak anon MB   rows/CPU-s");
  const all: Measurement[] = [];
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
    if (source !== undefined) {
      args.push("--database-url", source.url, "--company", String(source.company), "--month", source.month);
      if (source.subject !== undefined) args.push("--subject", source.subject);
    }
    const line = execFileSync(process.execPath, args, {
      encoding: "utf8",
      stdio: ["ignore", "pipe", "inherit"],
    });
    const m = JSON.parse(line.trim().split("\n").pop() ?? "{}") as Measurement;
    all.push(m);
    say(
      `${m.format.padEnd(8)} ${String(m.rowsPerSecond).padStart(8)} ${String(m.seconds).padStart(10)} ` +
        `${String(m.outputMB).padStart(11)} ${String(m.peakRssMB).padStart(13)} ` +
        `${String(m.peakAnonMB).padStart(14)} ${String(m.rowsPerCpuSecond).padStart(12)}`,
    );
  }
  if (values.json)
    process.stdout.write(
      `${JSON.stringify({
        source: source === undefined ? "synthetic" : "database",
        ...(source === undefined ? { rows: count } : { company: source.company, month: source.month }),
        formats: all,
      })}\n`,
    );
}

await run();
