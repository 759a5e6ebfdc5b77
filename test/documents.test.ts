/**
 * Documents (PRODUCT.md §4): every report as PDF and XLSX for a company with names in five scripts. The PDF's
 * text (extracted with pdf.js) holds the heading, the totals, every row's values and the names unchanged; a
 * 300-row Usage report breaks into pages with the header row on each and "Page n of N" right; the XLSX read
 * back gives the CSV's numbers; a zip holds exactly the chosen files. Renderers are dialect-independent, so
 * this suite runs on SQLite only (the core suite checks the rows themselves on both dialects).
 */
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { PassThrough } from "node:stream";
import zlib from "node:zlib";
import { parse as parseCsv } from "csv-parse/sync";
import ExcelJS from "exceljs";
import { getDocument } from "pdfjs-dist/legacy/build/pdf.mjs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { importBundle } from "../src/bundle/import";
import { main } from "../src/cli/main";
import type { Database } from "../src/db/database";
import { inTransaction, openDatabase } from "../src/db/database";
import { migrate } from "../src/db/migrate";
import { amountFormat, excelLocalDate } from "../src/documents/xlsx";
import { reportFileName, slugify, zipReports } from "../src/documents/zip";
import { renderReport } from "../src/reports/render";
import { runReport } from "../src/reports/report.service";
import type { ReportFormat, ReportRequest, Viewer } from "../src/reports/report.service";
import { loadCompany } from "../src/services/company-context";
import { acknowledgePrivacy, findAdmin } from "../src/services/people.service";
import { ManualClock } from "../src/time/clock";
import { NOW, reportCsv, reportJson } from "./helpers/reports";
import type { JsonReport } from "./helpers/reports";

const ANA = "ana@acme.example";
const MONTH = "2026-09";
const BULK_CALLS = 300;
const NAMES = ["Zoë Ng", "Łukasz Żółć", "Дмитрий Соколов", "Σοφία Παπαδοπούλου", "王芳"];

function unicodeBundle() {
  const by = ANA;
  const member = (key: string, name: string, username: string, groups: string[] = []) => ({
    key,
    name,
    username,
    email: `${username}@acme.example`,
    account_type: "business",
    groups,
  });
  const bulk = Array.from({ length: BULK_CALLS }, (_, i) => ({
    at: new Date(Date.parse("2026-09-03T08:00:00Z") + i * 600_000).toISOString(),
    type: "usage",
    subject: "bulk",
    kind: "call",
    destination: `+4420794${String(60000 + i).padStart(5, "0")}`,
    duration_s: 30 + (i % 200),
    external_id: `bulk-${String(i).padStart(4, "0")}`,
  }));
  return {
    format: "switchboard-bundle/1",
    company: { name: "Acme Ltd", currency: "EUR", timezone: "Europe/London" },
    admins: [
      { email: ANA, name: "Ana Admin", role: "owner", privacy_acknowledged_at: "2026-09-01T08:00:00Z" },
    ],
    groups: [
      { key: "sales", name: "Sales" },
      { key: "ru", name: "Продажи" },
      { key: "fin", name: "=Finance" },
    ],
    members: [
      member("zoe", "Zoë Ng", "zoe.ng", ["sales"]),
      member("lukasz", "Łukasz Żółć", "lukasz.zolc", ["sales", "fin"]),
      member("dmitry", "Дмитрий Соколов", "dmitry", ["ru"]),
      member("sofia", "Σοφία Παπαδοπούλου", "sofia"),
      member("wang", "王芳", "wang.fang", ["sales"]),
      member("bulk", "Bulk Caller", "bulk"),
    ],
    sip_profiles: [{ key: "pbx", name: "London PBX", channels: 4 }],
    rates: [
      {
        prefix: "44",
        name: "United Kingdom",
        per_minute: "0.0230",
        connection_fee: "0.0390",
        interval: "60/60",
        sms: "0.1100",
      },
      {
        prefix: "447",
        name: "United Kingdom mobile",
        per_minute: "0.1500",
        connection_fee: "0.0390",
        interval: "60/1",
        sms: "0.1100",
      },
    ],
    plans: [{ key: "uk", name: "Unlimited UK", price: "4.99", prefixes: ["44"], minutes: 1000 }],
    // The importer takes events in time order.
    events: [
      {
        at: "2026-09-01T09:00:00Z",
        type: "purchase",
        by,
        reference: "P-1001",
        amount: "1000.00",
        vat_rate: "0.20",
        payment_method: "card",
        status: "completed",
      },
      {
        at: "2026-09-01T09:01:00Z",
        type: "purchase",
        by,
        reference: "=HYPERLINK(1)",
        amount: "50.00",
        payment_method: "bank_transfer",
        status: "pending",
      },
      ...["zoe", "lukasz", "dmitry", "sofia", "wang", "bulk"].map((to, i) => ({
        at: `2026-09-01T10:0${i}:00Z`,
        type: "allocate_credit",
        by,
        to,
        amount: `${20 + i * 5}.00`,
      })),
      { at: "2026-09-01T10:10:00Z", type: "allocate_subscription", by, to: "wang", plan: "uk" },
      {
        at: "2026-09-01T10:11:00Z",
        type: "allocate_number",
        by,
        to: "sip:pbx",
        number: "+442079460000",
        months: 3,
        price: "15.00",
      },
      { at: "2026-09-20T12:00:00Z", type: "reclaim_credit", by, from: "sofia", amount: "5.00" },
      {
        at: "2026-09-02T10:00:00Z",
        type: "usage",
        subject: "wang",
        kind: "call",
        destination: "+44 20 7946 0123",
        duration_s: 125,
        external_id: "cdr-1",
      },
      {
        at: "2026-09-02T11:00:00Z",
        type: "usage",
        subject: "wang",
        kind: "sms",
        destination: "+447700900123",
        segments: 2,
        external_id: "cdr-2",
      },
      {
        at: "2026-09-02T12:00:00Z",
        type: "usage",
        subject: "dmitry",
        kind: "call",
        destination: "+447700900456",
        duration_s: 61,
        external_id: "cdr-3",
      },
      ...bulk,
    ].sort((a, b) => Date.parse(a.at) - Date.parse(b.at)),
  };
}

/** Every report of the month, as the Download Reports screen offers them. */
const REQUESTS: { name: string; req: Omit<ReportRequest, "format"> }[] = [
  { name: "summary", req: { report: "summary", month: MONTH } },
  { name: "purchases", req: { report: "purchases", month: MONTH } },
  { name: "allocations-credit", req: { report: "allocations", month: MONTH, feature: "credit" } },
  { name: "allocations-subscription", req: { report: "allocations", month: MONTH, feature: "subscription" } },
  { name: "allocations-number", req: { report: "allocations", month: MONTH, feature: "number" } },
  { name: "usage-wang", req: { report: "usage", month: MONTH, subject: "wang.fang" } },
  {
    name: "usage-dmitry-filtered",
    req: { report: "usage", month: MONTH, subject: "dmitry", filter: { kind: "call" } },
  },
];

let db: Database;
let companyId = 0;
let viewer: Viewer;
let tmpDir = "";

async function bytes(stream: NodeJS.ReadableStream): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(typeof c === "string" ? Buffer.from(c) : c);
  return Buffer.concat(chunks);
}

async function render(req: Omit<ReportRequest, "format">, format: ReportFormat): Promise<Buffer> {
  const company = await loadCompany(db, companyId);
  const result = await runReport(db, company, { ...req, format }, viewer, NOW);
  return bytes(renderReport(result, format, { generatedAtMs: NOW }));
}

/** A workbook read back from XLSX bytes (exceljs declares its own `Buffer` type, hence the cast). */
async function loadXlsx(data: Buffer): Promise<ExcelJS.Workbook> {
  const workbook = new ExcelJS.Workbook();
  await workbook.xlsx.load(data as unknown as ArrayBuffer);
  return workbook;
}

/** The text of each page, its items joined by spaces and runs of white space collapsed. */
async function pdfPages(pdf: Buffer): Promise<string[]> {
  const doc = await getDocument({ data: new Uint8Array(pdf), verbosity: 0 }).promise;
  const pages: string[] = [];
  for (let n = 1; n <= doc.numPages; n++) {
    const content = await (await doc.getPage(n)).getTextContent();
    const text = content.items.map((item) => ("str" in item ? item.str : "")).join(" ");
    pages.push(text.replace(/\s+/g, " ").trim());
  }
  await doc.destroy();
  return pages;
}

/** What the PDF shows for a JSON cell: the CSV's text, dates as "2026-09-02 11:00:00 +01:00". */
function shown(value: string | number | null): string {
  if (value === null) return "";
  const s = String(value);
  return /^\d{4}-\d{2}-\d{2}T/.test(s) ? s.replace("T", " ").replace(/([+-]\d{2}:\d{2})$/, " $1") : s;
}

beforeAll(async () => {
  tmpDir = fs.mkdtempSync(path.join(os.tmpdir(), "sb-docs-"));
  db = openDatabase(`sqlite:${path.join(tmpDir, "docs.db")}`);
  await migrate(db);
  const imported = await importBundle(db, unicodeBundle(), { nowMs: NOW });
  companyId = imported.company_id;
  const company = await loadCompany(db, companyId);
  const admin = await findAdmin(db, companyId, ANA);
  if (!admin) throw new Error("fixture: no admin");
  if (admin.privacy_acknowledged_at_ms === null)
    await inTransaction(db, (tx) => acknowledgePrivacy(tx, company, admin, NOW));
  viewer = {
    kind: "admin",
    admin: { ...admin, privacy_acknowledged_at_ms: admin.privacy_acknowledged_at_ms ?? NOW },
  };
});

afterAll(async () => {
  await db.close();
  fs.rmSync(tmpDir, { recursive: true, force: true });
});

describe("PDF", () => {
  for (const { name, req } of REQUESTS) {
    it(`${name}: heading, totals and every row's values are in the PDF's text`, async () => {
      const json: JsonReport = await reportJson(db, companyId, req, viewer);
      const pdf = await render(req, "pdf");
      expect(pdf.subarray(0, 5).toString("latin1")).toBe("%PDF-");
      const pages = await pdfPages(pdf);
      const all = pages.join("\n");
      expect(all).toContain("Acme Ltd");
      expect(all).toContain("September 2026");
      expect(all).toContain("Generated 2026-11-27 12:00:00 +00:00 (Europe/London)");
      const filter = Object.entries(req.filter ?? {}).map(([k, v]) => `${k} = ${v}`);
      expect(all).toContain(`Filter ${filter.length ? filter.join("; ") : "none"}`);
      for (const [key, value] of Object.entries(json.totals)) expect(all, key).toContain(String(value));
      expect(json.rows.length).toBeGreaterThan(0);
      for (const row of json.rows)
        for (const [key, value] of Object.entries(row))
          if (value !== null) expect(all, `${key} of ${JSON.stringify(row)}`).toContain(shown(value));
      pages.forEach((text, i) => expect(text).toContain(`Page ${i + 1} of ${pages.length}`));
    });
  }

  it("prints every name in its own script, unchanged (Latin with accents, Cyrillic, Greek, CJK)", async () => {
    const pages = await pdfPages(await render({ report: "summary", month: MONTH }, "pdf"));
    for (const name of NAMES) expect(pages[0]).toContain(name);
    expect(pages[0]).toContain("Продажи");
  });

  it("shows the usage subject and the allocations feature in the heading", async () => {
    const usage = await pdfPages(
      await render({ report: "usage", month: MONTH, subject: "wang.fang" }, "pdf"),
    );
    expect(usage[0]).toContain("Usage — member 王芳 (wang.fang) report");
    const numbers = await pdfPages(
      await render({ report: "allocations", month: MONTH, feature: "number" }, "pdf"),
    );
    expect(numbers[0]).toContain("Allocations — Number report");
  });

  it("breaks 300 rows into pages: header row on each, no row split, 'Page n of N' right", async () => {
    const req = { report: "usage", month: MONTH, subject: "bulk" } as const;
    const json = await reportJson(db, companyId, req, viewer);
    expect(json.rows).toHaveLength(BULK_CALLS);
    const pages = await pdfPages(await render(req, "pdf"));
    expect(pages.length).toBeGreaterThanOrEqual(5);
    const header = "Started at Kind Destination Destination name Duration (s) Billed (s) Rate / min Charge";
    let seen = 0;
    pages.forEach((text, i) => {
      expect(text, `page ${i + 1}`).toContain(header);
      expect(text).toContain(`Page ${i + 1} of ${pages.length}`);
      // Each row whole on one page: its first and last cells are together, in order.
      for (const row of json.rows) {
        const id = String(row["external_id"]);
        if (!text.includes(id)) continue;
        seen += 1;
        const start = shown(row["started_at"] ?? null);
        expect(text).toContain(`${start} call ${String(row["destination"])}`);
        expect(text.indexOf(start)).toBeLessThan(text.indexOf(id));
      }
    });
    expect(seen).toBe(BULK_CALLS);
    // Full pages hold the same number of rows (single-line rows): the last may hold fewer.
    const perPage = pages.map((t) => (t.match(/bulk-\d{4}/g) ?? []).length);
    for (const n of perPage.slice(1, -1)) expect(n).toBe(perPage[1]);
  });

  it("embeds its fonts and renders a Summary page that a person can look at (pdftoppm, when installed)", async () => {
    const pdf = await render({ report: "summary", month: MONTH }, "pdf");
    const raw = pdf.toString("latin1");
    expect(raw).toContain("/FontFile2"); // Noto Sans, TrueType outlines
    expect(raw).toContain("/FontFile3"); // Noto Sans S Chinese, CFF outlines
    expect(raw).not.toContain("/Helvetica");
    const tool = ["/usr/bin/pdftoppm", "/usr/local/bin/pdftoppm"].find((p) => fs.existsSync(p));
    if (!tool) return; // a look for a person, not an assertion: CI without poppler-utils still passes
    const dir = path.resolve("artifacts");
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(path.join(dir, "summary.pdf"), pdf);
    execFileSync(tool, [
      "-png",
      "-r",
      "60",
      "-f",
      "1",
      "-l",
      "1",
      path.join(dir, "summary.pdf"),
      path.join(dir, "summary"),
    ]);
    expect(fs.readdirSync(dir).some((f) => /^summary-1\.png$/.test(f))).toBe(true);
  });
});

describe("XLSX", () => {
  for (const { name, req } of REQUESTS) {
    it(`${name}: read back, it gives the CSV's header, text, numbers and dates, and SUM totals`, async () => {
      const csv = parseCsv(await reportCsv(db, companyId, req, viewer), { bom: true });
      const [header = [], ...rows]: string[][] = csv;
      const workbook = await loadXlsx(await render(req, "xlsx"));
      const sheet = workbook.worksheets[0];
      if (!sheet) throw new Error("no sheet");
      expect(sheet.views[0]).toMatchObject({ state: "frozen", ySplit: 1 });
      const values = (r: number) => header.map((_, c) => sheet.getRow(r).getCell(c + 1));
      expect(values(1).map((cell) => cell.value)).toEqual(header);
      expect(sheet.rowCount).toBe(rows.length + 2);
      const company = await loadCompany(db, companyId);
      rows.forEach((csvRow, i) => {
        values(i + 2).forEach((cell, c) => {
          const text = csvRow[c] ?? "";
          const key = header[c] ?? "";
          const where = `${key} row ${i + 1}`;
          if (text === "") return expect(cell.value, where).toBeNull();
          if (cell.value instanceof Date) {
            // Excel has no zones: the cell holds the company's wall-clock time of the CSV's instant.
            expect(cell.value.toISOString().slice(0, 19), where).toBe(text.slice(0, 19));
            return expect(cell.numFmt).toBe("yyyy-mm-dd hh:mm:ss");
          }
          if (typeof cell.value === "number") {
            expect(cell.value, where).toBe(Number(text));
            if (/^(amount|vat|total|charge|credit_|features_cost|usage_charged|closing)/.test(key))
              expect(cell.numFmt, where).toBe(amountFormat(company.exponent));
            return;
          }
          // Text is never a formula, and looks as it does in the CSV (protected with ').
          expect(cell.type, where).toBe(ExcelJS.ValueType.String);
          expect(cell.value, where).toBe(text);
        });
      });
      const totals = sheet.getRow(rows.length + 2);
      expect(totals.getCell(1).value).toBe("Total");
      header.forEach((key, c) => {
        const cell = totals.getCell(c + 1);
        if (cell.type !== ExcelJS.ValueType.Formula) return;
        const col = cell.address.replace(/\d+$/, "");
        expect(cell.formula).toBe(`SUM(${col}2:${col}${rows.length + 1})`);
        const cents = rows.reduce((sum, r) => sum + Math.round(Number(r[c] || "0") * 100), 0);
        expect(cell.result, key).toBe(cents / 100);
      });
    });
  }

  it("stores text that starts like a formula as text, protected as in the CSV", async () => {
    const workbook = await loadXlsx(await render({ report: "purchases", month: MONTH }, "xlsx"));
    const cells: ExcelJS.Cell[] = [];
    workbook.worksheets[0]?.eachRow((row) => row.eachCell((cell) => cells.push(cell)));
    const injected = cells.filter((c) => c.text.includes("HYPERLINK"));
    expect(injected.map((c) => [c.type, c.value])).toEqual([[ExcelJS.ValueType.String, "'=HYPERLINK(1)"]]);
  });

  it("formats amounts with the currency's decimals and turns local times into wall-clock dates", () => {
    expect(amountFormat(2)).toBe("#,##0.00");
    expect(amountFormat(0)).toBe("#,##0");
    expect(amountFormat(3)).toBe("#,##0.000");
    expect(excelLocalDate("2026-10-25T01:30:00+01:00").toISOString()).toBe("2026-10-25T01:30:00.000Z");
  });
});

/** The names and contents of a zip's entries, read from its central directory (stored or deflated). */
function readZip(zip: Buffer): Map<string, Buffer> {
  const eocd = zip.lastIndexOf(Buffer.from([0x50, 0x4b, 0x05, 0x06]));
  const count = zip.readUInt16LE(eocd + 10);
  let at = zip.readUInt32LE(eocd + 16);
  const files = new Map<string, Buffer>();
  for (let i = 0; i < count; i++) {
    const method = zip.readUInt16LE(at + 10);
    const size = zip.readUInt32LE(at + 20);
    const nameLength = zip.readUInt16LE(at + 28);
    const extra = zip.readUInt16LE(at + 30);
    const comment = zip.readUInt16LE(at + 32);
    const local = zip.readUInt32LE(at + 42);
    const name = zip.toString("utf8", at + 46, at + 46 + nameLength);
    const dataStart = local + 30 + zip.readUInt16LE(local + 26) + zip.readUInt16LE(local + 28);
    const data = zip.subarray(dataStart, dataStart + size);
    files.set(name, method === 8 ? zlib.inflateRawSync(data) : Buffer.from(data));
    at += 46 + nameLength + extra + comment;
  }
  return files;
}

describe("zip", () => {
  it("names files <company>-<month>-<report>.<ext>", () => {
    expect(reportFileName("Acme Ltd", "2026-09", "summary", "pdf")).toBe("acme-ltd-2026-09-summary.pdf");
    expect(reportFileName("Zoë & Co.", "2026-09", "allocations", "xlsx", "subscription")).toBe(
      "zoe-co-2026-09-allocations-subscription.xlsx",
    );
    expect(reportFileName("王芳有限公司", "2026-09", "usage", "csv", "wang.fang")).toBe(
      "company-2026-09-usage-wang-fang.csv",
    );
    expect(slugify("  Łukasz--Żółć!  ")).toBe("lukasz-zolc");
  });

  it("holds exactly the chosen files, with the right names and contents", async () => {
    const company = await loadCompany(db, companyId);
    const chosen: { req: Omit<ReportRequest, "format">; format: ReportFormat }[] = [
      { req: { report: "summary", month: MONTH }, format: "pdf" },
      { req: { report: "purchases", month: MONTH }, format: "csv" },
      { req: { report: "allocations", month: MONTH, feature: "credit" }, format: "xlsx" },
    ];
    const files = await Promise.all(
      chosen.map(async ({ req, format }) => {
        const result = await runReport(db, company, { ...req, format }, viewer, NOW);
        return {
          name: reportFileName(result.companyName, result.month, result.report, format, result.feature),
          stream: renderReport(result, format, { generatedAtMs: NOW }),
        };
      }),
    );
    const zip = await bytes(zipReports(files));
    const entries = readZip(zip);
    expect([...entries.keys()]).toEqual([
      "acme-ltd-2026-09-summary.pdf",
      "acme-ltd-2026-09-purchases.csv",
      "acme-ltd-2026-09-allocations-credit.xlsx",
    ]);
    expect(entries.get("acme-ltd-2026-09-purchases.csv")?.toString("utf8")).toBe(
      await reportCsv(db, companyId, { report: "purchases", month: MONTH }, viewer),
    );
    expect(entries.get("acme-ltd-2026-09-summary.pdf")?.equals(await render(chosen[0]!.req, "pdf"))).toBe(
      true,
    );
    const workbook = await loadXlsx(
      entries.get("acme-ltd-2026-09-allocations-credit.xlsx") ?? Buffer.alloc(0),
    );
    expect(workbook.worksheets[0]?.getRow(1).getCell(1).value).toBe("date");
  });
});

describe("switchboard report --format pdf|xlsx (CLI, in-process)", () => {
  async function run(...args: string[]): Promise<{ code: number; out: Buffer; err: string }> {
    const out = new PassThrough();
    const err = new PassThrough();
    const outChunks: Buffer[] = [];
    const errChunks: Buffer[] = [];
    out.on("data", (c: Buffer) => outChunks.push(c));
    err.on("data", (c: Buffer) => errChunks.push(c));
    await db.close(); // the CLI opens the same SQLite file itself
    try {
      const code = await main(["node", "switchboard", "report", ...args], {
        env: { DATABASE_URL: `sqlite:${path.join(tmpDir, "docs.db")}` },
        out,
        err,
        clock: new ManualClock(NOW),
      });
      return { code, out: Buffer.concat(outChunks), err: Buffer.concat(errChunks).toString("utf8") };
    } finally {
      db = openDatabase(`sqlite:${path.join(tmpDir, "docs.db")}`);
    }
  }

  it("writes a PDF to standard output and an XLSX to --out", async () => {
    const pdf = await run("summary", "--company", String(companyId), "--month", MONTH, "--format", "pdf");
    expect(pdf.err).toBe("");
    expect(pdf.code).toBe(0);
    const pages = await pdfPages(pdf.out);
    for (const name of NAMES) expect(pages[0]).toContain(name);

    const file = path.join(tmpDir, "purchases.xlsx");
    const xlsx = await run(
      "purchases",
      "--company",
      String(companyId),
      "--month",
      MONTH,
      "--format",
      "xlsx",
      "--out",
      file,
    );
    expect(xlsx.code).toBe(0);
    const workbook = new ExcelJS.Workbook();
    await workbook.xlsx.readFile(file);
    expect(workbook.worksheets[0]?.getRow(2).getCell(2).value).toBe("P-1001");
  });
});
