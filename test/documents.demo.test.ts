/**
 * Documents of the demo company (examples/bundle.json's options: now 2026-11-27, seed 42), month 2026-10:
 * every report rendered as JSON, CSV, PDF and XLSX, and the four held against each other. The PDF's text
 * holds every total of the JSON (with its label) and every row's identifying value, in the rows' order; the
 * XLSX read back has the CSV's header, as many data rows, and every amount cell equal to the CSV's decimal
 * string; the JSON totals are the sums of the CSV's rows, recomputed in integer cents; and the reports
 * agree with each other (Summary against Purchases, Allocations and Usage). SQLite only: the renderers are
 * dialect-independent.
 */
import { parse as parseCsv } from "csv-parse/sync";
import ExcelJS from "exceljs";
import { getDocument } from "pdfjs-dist/legacy/build/pdf.mjs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DEMO_OWNER_EMAIL, generateDemoBundle } from "../src/bundle/demo-bundle";
import { importBundle } from "../src/bundle/import";
import type { Database } from "../src/db/database";
import { inTransaction } from "../src/db/database";
import { humanLabel, monthLabel } from "../src/documents/labels";
import { REPORT_COLUMNS } from "../src/reports/definitions";
import { renderReport } from "../src/reports/render";
import { runReport } from "../src/reports/report.service";
import type { ReportFormat, ReportRequest, Viewer } from "../src/reports/report.service";
import { loadCompany } from "../src/services/company-context";
import { acknowledgePrivacy, findAdmin } from "../src/services/people.service";
import { createTestDatabase } from "./helpers/databases";
import type { JsonReport } from "./helpers/reports";

const NOW = Date.parse("2026-11-27T12:00:00Z");
const MONTH = "2026-10";
const CURRENCY = "EUR";
const MEMBER = "northwind.lukasz";
const SIP = "sip:London PBX";

type Req = Omit<ReportRequest, "format">;

/** Every report of the month, as the Download Reports screen offers them. */
const REQUESTS: { name: string; req: Req }[] = [
  { name: "summary", req: { report: "summary", month: MONTH } },
  { name: "purchases", req: { report: "purchases", month: MONTH } },
  { name: "allocations-credit", req: { report: "allocations", month: MONTH, feature: "credit" } },
  { name: "allocations-subscription", req: { report: "allocations", month: MONTH, feature: "subscription" } },
  { name: "allocations-number", req: { report: "allocations", month: MONTH, feature: "number" } },
  { name: "usage-member", req: { report: "usage", month: MONTH, subject: MEMBER } },
  { name: "usage-sip", req: { report: "usage", month: MONTH, subject: SIP } },
];

interface Documents {
  json: JsonReport;
  /** The CSV's header and data rows. */
  header: string[];
  rows: string[][];
  pdf: Buffer;
  xlsx: Buffer;
}

let db: Database;
let drop: () => Promise<void> = () => Promise.resolve();
let companyId = 0;
let viewer: Viewer;
const docs = new Map<string, Promise<Documents>>();

async function bytes(stream: NodeJS.ReadableStream): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(typeof c === "string" ? Buffer.from(c) : c);
  return Buffer.concat(chunks);
}

async function render(req: Req, format: ReportFormat): Promise<Buffer> {
  const company = await loadCompany(db, companyId);
  const result = await runReport(db, company, { ...req, format }, viewer, NOW);
  return bytes(renderReport(result, format, { generatedAtMs: NOW }));
}

/** The four documents of a request, rendered once and shared by the tests. */
function documents(req: Req): Promise<Documents> {
  const key = JSON.stringify(req);
  let found = docs.get(key);
  if (found === undefined) {
    found = (async () => {
      const json = JSON.parse((await render(req, "json")).toString("utf8")) as JsonReport;
      const csv: string[][] = parseCsv(await render(req, "csv"), { bom: true });
      const [header = [], ...rows] = csv;
      return { json, header, rows, pdf: await render(req, "pdf"), xlsx: await render(req, "xlsx") };
    })();
    docs.set(key, found);
  }
  return found;
}

/** A workbook read back from XLSX bytes (exceljs declares its own `Buffer` type, hence the cast). */
async function loadXlsx(data: Buffer): Promise<ExcelJS.Workbook> {
  const workbook = new ExcelJS.Workbook();
  await workbook.xlsx.load(data as unknown as ArrayBuffer);
  return workbook;
}

/** The text of each page, its items joined by spaces and runs of white space collapsed (as documents.test.ts). */
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

/** "12.34" or "-0.05" in integer cents, by string manipulation (no floats). */
function cents(text: string): number {
  const m = /^(-?)(\d+)\.(\d{2})$/.exec(text);
  if (!m) throw new Error(`not a 2-decimal amount: "${text}"`);
  const [, sign = "", whole = "0", fraction = "00"] = m;
  const value = Number(whole) * 100 + Number(fraction);
  return sign === "-" ? -value : value;
}

/** A JSON total that is an amount, in cents. */
function totalCents(json: JsonReport, key: string): number {
  const value = json.totals[key];
  if (typeof value !== "string") throw new Error(`total ${key} is not an amount: ${String(value)}`);
  return cents(value);
}

/** The CSV column of `key` as a getter on a CSV row. */
function column(header: readonly string[], key: string): (row: readonly string[]) => string {
  const i = header.indexOf(key);
  if (i < 0) throw new Error(`no column ${key} in ${header.join(",")}`);
  return (row) => row[i] ?? "";
}

/** Sum in cents of a column of the CSV rows that `where` keeps; an empty cell counts 0. */
function sumCents(
  d: Pick<Documents, "header" | "rows">,
  key: string,
  where: (get: (k: string) => string) => boolean = () => true,
): number {
  const get = (row: readonly string[]) => (k: string) => column(d.header, k)(row);
  const cell = column(d.header, key);
  return d.rows
    .filter((r) => where(get(r)))
    .reduce((sum, r) => sum + (cell(r) === "" ? 0 : cents(cell(r))), 0);
}

/** For each JSON row, the strings that identify it in the PDF, in the order the PDF shows them. */
function identifying(report: string, row: JsonReport["rows"][number]): string[] {
  const text = (key: string) => {
    const value = row[key];
    if (value === null || value === undefined) throw new Error(`row without ${key}: ${JSON.stringify(row)}`);
    return String(value);
  };
  switch (report) {
    case "summary":
      return [text("recipient")];
    case "purchases":
      return [text("reference")];
    // The amount is followed by its currency cell: " 5.00 EUR" cannot match inside "15.00 EUR".
    case "allocations":
      return [text("recipient"), ` ${text("amount")} ${CURRENCY}`];
    case "usage":
      return [text("external_id")];
    default:
      throw new Error(`unknown report ${report}`);
  }
}

beforeAll(async () => {
  ({ db, drop } = await createTestDatabase("sqlite"));
  const imported = await importBundle(db, generateDemoBundle({ now: NOW, seed: 42 }), { nowMs: NOW });
  companyId = imported.company_id;
  const company = await loadCompany(db, companyId);
  const admin = await findAdmin(db, companyId, DEMO_OWNER_EMAIL);
  if (!admin) throw new Error("fixture: no owner");
  if (admin.privacy_acknowledged_at_ms === null)
    await inTransaction(db, (tx) => acknowledgePrivacy(tx, company, admin, NOW));
  const acknowledged = await findAdmin(db, companyId, DEMO_OWNER_EMAIL);
  if (acknowledged?.privacy_acknowledged_at_ms == null) throw new Error("fixture: privacy not acknowledged");
  viewer = { kind: "admin", admin: acknowledged };
});

afterAll(async () => {
  await drop();
});

describe(`demo company, ${MONTH}: every report in JSON, CSV, PDF and XLSX`, () => {
  for (const { name, req } of REQUESTS) {
    describe(name, () => {
      it("has rows, and the JSON and the CSV hold the same rows", async () => {
        const d = await documents(req);
        expect(d.json.month).toBe(MONTH);
        expect(d.json.currency).toBe(CURRENCY);
        expect(d.json.rows.length, "rows").toBeGreaterThan(0);
        expect(d.header).toEqual(REPORT_COLUMNS[req.report].map((c) => c.key));
        expect(d.rows).toHaveLength(d.json.rows.length);
      });

      it("PDF: every total with its label, and every row's identifying value in the rows' order", async () => {
        const d = await documents(req);
        expect(d.pdf.subarray(0, 5).toString("latin1")).toBe("%PDF-");
        const pages = await pdfPages(d.pdf);
        const all = pages.join(" ");
        expect(all).toContain("Northwind Telecom Ltd");
        expect(all).toContain(monthLabel(MONTH));
        pages.forEach((text, i) => expect(text).toContain(`Page ${i + 1} of ${pages.length}`));
        for (const [key, value] of Object.entries(d.json.totals)) {
          const shown = typeof value === "string" ? `${value} ${CURRENCY}` : String(value);
          expect(all, `total ${key}`).toContain(`${humanLabel(key)} ${shown}`);
        }
        // After the heading, each row's values follow the previous row's.
        let at = all.indexOf(humanLabel(REPORT_COLUMNS[req.report][0]?.key ?? ""));
        expect(at, "header row").toBeGreaterThanOrEqual(0);
        const missing: string[] = [];
        d.json.rows.forEach((row, i) => {
          for (const value of identifying(req.report, row)) {
            const found = all.indexOf(value, at);
            if (found < 0) {
              missing.push(`row ${i + 1}: "${value}" (anywhere: ${all.includes(value)})`);
              continue;
            }
            at = found + value.length;
          }
        });
        expect(missing, "row values missing from the PDF's text, or out of order").toEqual([]);
      });

      it("XLSX: the CSV's header, as many data rows, every amount cell equal to the CSV's decimal", async () => {
        const d = await documents(req);
        const workbook = await loadXlsx(d.xlsx);
        expect(workbook.worksheets).toHaveLength(1);
        const sheet = workbook.worksheets[0];
        if (!sheet) throw new Error("no sheet");
        const width = d.header.length;
        const cells = (r: number) => Array.from({ length: width }, (_, c) => sheet.getRow(r).getCell(c + 1));
        expect(cells(1).map((cell) => cell.value)).toEqual(d.header);
        // Header, data rows, totals row.
        expect(sheet.rowCount).toBe(d.rows.length + 2);
        expect(sheet.getRow(d.rows.length + 2).getCell(1).value).toBe("Total");
        const kinds = REPORT_COLUMNS[req.report].map((c) => c.kind);
        const wrong: string[] = [];
        let amounts = 0;
        d.rows.forEach((csvRow, i) => {
          cells(i + 2).forEach((cell, c) => {
            const kind = kinds[c];
            if (kind !== "amount" && kind !== "rate") return;
            const text = csvRow[c] ?? "";
            const where = `${d.header[c] ?? c} row ${i + 1}`;
            if (text === "") {
              if (cell.value !== null) wrong.push(`${where}: CSV empty, cell ${JSON.stringify(cell.value)}`);
              return;
            }
            const decimals = kind === "amount" ? 2 : 4;
            if (kind === "amount") {
              amounts += 1;
              // The CSV already holds the currency's 2 decimals.
              if (!/^-?\d+\.\d{2}$/.test(text)) wrong.push(`${where}: CSV "${text}" is not 2 decimals`);
            }
            if (typeof cell.value !== "number") {
              wrong.push(`${where}: cell is ${JSON.stringify(cell.value)}, not a number`);
              return;
            }
            if (Number(text).toFixed(decimals) !== cell.value.toFixed(decimals))
              wrong.push(`${where}: CSV "${text}", cell ${cell.value.toFixed(decimals)}`);
          });
        });
        expect(wrong).toEqual([]);
        if (REPORT_COLUMNS[req.report].some((c) => c.kind === "amount"))
          expect(amounts, "amount cells").toBeGreaterThan(0);
      });

      it("JSON totals are the CSV rows' sums, in integer cents", async () => {
        const d = await documents(req);
        const t = d.json;
        const expected: Record<string, number> = {};
        const got: Record<string, number> = {};
        const check = (key: string, value: number, isAmount = true) => {
          expected[key] = value;
          got[key] = isAmount ? totalCents(t, key) : Number(t.totals[key]);
        };
        switch (req.report) {
          case "summary":
            check("allocated_credit", sumCents(d, "credit_allocated"));
            check("reclaimed_credit", sumCents(d, "credit_reclaimed"));
            check("features_cost", sumCents(d, "features_cost"));
            check("usage_charged", sumCents(d, "usage_charged"));
            check(
              "closing_company_balance",
              totalCents(t, "opening_company_balance") +
                totalCents(t, "purchased") -
                totalCents(t, "allocated_credit") +
                totalCents(t, "reclaimed_credit") -
                totalCents(t, "features_cost"),
            );
            break;
          case "purchases": {
            const completed = (get: (k: string) => string) => get("status") === "completed";
            check("count", d.rows.length, false);
            check("completed_amount", sumCents(d, "amount", completed));
            check("completed_vat", sumCents(d, "vat", completed));
            check("completed_total", sumCents(d, "total", completed));
            for (const row of d.rows)
              expect(cents(column(d.header, "total")(row)), row.join(",")).toBe(
                cents(column(d.header, "amount")(row)) + cents(column(d.header, "vat")(row)),
              );
            break;
          }
          case "allocations": {
            const action = (a: string) => (get: (k: string) => string) => get("action") === a;
            check("count", d.rows.length, false);
            check("allocated", sumCents(d, "amount", action("allocate")));
            check("reclaimed", sumCents(d, "amount", action("reclaim")));
            check("auto_allocated", sumCents(d, "amount", action("auto-allocate")));
            const feature = column(d.header, "feature");
            expect(new Set(d.rows.map(feature))).toEqual(new Set([req.feature]));
            break;
          }
          case "usage": {
            const kind = column(d.header, "kind");
            const billed = column(d.header, "billed_s");
            check("calls", d.rows.filter((r) => kind(r) === "call").length, false);
            check("sms", d.rows.filter((r) => kind(r) === "sms").length, false);
            check(
              "billed_seconds",
              d.rows.reduce((sum, r) => sum + (billed(r) === "" ? 0 : Number(billed(r))), 0),
              false,
            );
            check("charged", sumCents(d, "charge"));
            break;
          }
        }
        expect(Object.keys(expected).length).toBeGreaterThan(0);
        expect(got).toEqual(expected);
      });
    });
  }
});

describe(`demo company, ${MONTH}: the reports agree with each other`, () => {
  const byName = (name: string) => {
    const found = REQUESTS.find((r) => r.name === name);
    if (!found) throw new Error(name);
    return documents(found.req);
  };

  it("Summary's purchased, allocated, reclaimed and features are the Purchases' and Allocations' totals", async () => {
    const summary = (await byName("summary")).json;
    const purchases = (await byName("purchases")).json;
    const credit = (await byName("allocations-credit")).json;
    const subscription = (await byName("allocations-subscription")).json;
    const number = (await byName("allocations-number")).json;
    expect({
      purchased: totalCents(summary, "purchased"),
      allocated_credit: totalCents(summary, "allocated_credit"),
      reclaimed_credit: totalCents(summary, "reclaimed_credit"),
      features_cost: totalCents(summary, "features_cost"),
    }).toEqual({
      purchased: totalCents(purchases, "completed_amount"),
      allocated_credit: totalCents(credit, "allocated") + totalCents(credit, "auto_allocated"),
      reclaimed_credit: totalCents(credit, "reclaimed"),
      features_cost: totalCents(subscription, "allocated") + totalCents(number, "allocated"),
    });
  });

  it("the opening balance is the previous month's closing balance", async () => {
    const september = await documents({ report: "summary", month: "2026-09" });
    const october = (await byName("summary")).json;
    expect(totalCents(october, "opening_company_balance")).toBe(
      totalCents(september.json, "closing_company_balance"),
    );
  });

  it("each usage subject's Summary row shows the Usage report's charge", async () => {
    const summary = await byName("summary");
    const recipientOf = column(summary.header, "recipient");
    const usernameOf = column(summary.header, "username");
    const usageOf = column(summary.header, "usage_charged");
    const lukasz = summary.rows.find((r) => usernameOf(r) === MEMBER);
    const london = summary.rows.find((r) => usernameOf(r) === "" && recipientOf(r) === "London PBX");
    if (!lukasz || !london) throw new Error("summary rows of the usage subjects");
    expect(cents(usageOf(lukasz))).toBe(totalCents((await byName("usage-member")).json, "charged"));
    expect(cents(usageOf(london))).toBe(totalCents((await byName("usage-sip")).json, "charged"));
  });
});
