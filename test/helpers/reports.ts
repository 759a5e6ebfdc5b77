/** @module Test helpers: run a report through the real renderers and read back JSON or CSV text. */
import type { Db } from "../../src/db/database";
import { renderReport } from "../../src/reports/render";
import { runReport } from "../../src/reports/report.service";
import type { ReportRequest, Viewer } from "../../src/reports/report.service";
import { loadCompany } from "../../src/services/company-context";

export const NOW = Date.parse("2026-11-27T12:00:00Z");

async function text(stream: NodeJS.ReadableStream): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(typeof c === "string" ? Buffer.from(c) : c);
  return Buffer.concat(chunks).toString("utf8");
}

export interface JsonReport {
  report: string;
  company_id: number;
  month: string;
  currency: string;
  filter: Record<string, string>;
  totals: Record<string, string | number>;
  rows: Record<string, string | number | null>[];
  [key: string]: unknown;
}

export async function reportJson(
  db: Db,
  companyId: number,
  req: Omit<ReportRequest, "format">,
  viewer: Viewer = { kind: "operator" },
): Promise<JsonReport> {
  const company = await loadCompany(db, companyId);
  const result = await runReport(db, company, { ...req, format: "json" }, viewer, NOW);
  return JSON.parse(await text(renderReport(result, "json"))) as JsonReport;
}

export async function reportCsv(
  db: Db,
  companyId: number,
  req: Omit<ReportRequest, "format">,
  viewer: Viewer = { kind: "operator" },
): Promise<string> {
  const company = await loadCompany(db, companyId);
  const result = await runReport(db, company, { ...req, format: "csv" }, viewer, NOW);
  return text(renderReport(result, "csv"));
}
