/** @module Rendering a report result in any format, streamed: JSON and CSV here, PDF and XLSX from src/documents. */
import { Readable } from "node:stream";
import { csvStream } from "./csv";
import { pdfStream } from "../documents/pdf";
import { xlsxStream } from "../documents/xlsx";
import type { ReportFormat, ReportResult } from "./report.service";
import { rowBatches } from "./rows";

/** Characters of output gathered before they are passed on: one write per row would cost more than the rows. */
export const OUTPUT_CHUNK_CHARS = 64 * 1024;

/** The JSON document of PRODUCT.md §4, written row by row (in chunks) so memory stays flat. */
export function jsonStream(result: ReportResult): Readable {
  return Readable.from(
    (async function* () {
      const head: Record<string, unknown> = {
        report: result.report,
        company_id: result.companyId,
        month: result.month,
        currency: result.currency,
      };
      if (result.feature !== null) head["feature"] = result.feature;
      if (result.subject !== null) head["subject"] = result.subject;
      head["filter"] = result.filter;
      head["totals"] = result.totals;
      const opening = JSON.stringify(head);
      let out = `${opening.slice(0, -1)},"rows":[`;
      let first = true;
      for await (const batch of rowBatches(result.rows)) {
        for (const row of batch) {
          out += (first ? "\n" : ",\n") + JSON.stringify(row);
          first = false;
        }
        if (out.length >= OUTPUT_CHUNK_CHARS) {
          yield out;
          out = "";
        }
      }
      yield out + (first ? "]}\n" : "\n]}\n");
    })(),
  );
}

export interface RenderOptions {
  /** When the document is made; PDF prints it (in the company's timezone) and XLSX stores it. */
  generatedAtMs: number;
}

/** The report as a byte stream; PDF and XLSX also need the time they are generated at. */
export function renderReport(result: ReportResult, format: "json" | "csv"): Readable;
export function renderReport(result: ReportResult, format: ReportFormat, opts: RenderOptions): Readable;
export function renderReport(result: ReportResult, format: ReportFormat, opts?: RenderOptions): Readable {
  switch (format) {
    case "json":
      return jsonStream(result);
    case "csv":
      return csvStream(result.columns, result.rows);
    case "pdf":
    case "xlsx": {
      if (opts === undefined) throw new Error(`Assertion failed: ${format} needs generatedAtMs`);
      return format === "pdf" ? pdfStream(result, opts) : xlsxStream(result, opts);
    }
  }
}

/** The file extension and media type of each format. */
export const FORMAT_MEDIA: Readonly<Record<ReportFormat, { ext: string; contentType: string }>> = {
  json: { ext: "json", contentType: "application/json; charset=utf-8" },
  csv: { ext: "csv", contentType: "text/csv; charset=utf-8" },
  pdf: { ext: "pdf", contentType: "application/pdf" },
  xlsx: { ext: "xlsx", contentType: "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet" },
};
