/** @module Rendering a report result as JSON or CSV, streamed. (PDF and XLSX come from their own modules.) */
import { Readable } from "node:stream";
import { csvStream } from "./csv";
import type { ReportResult } from "./report.service";

/** The JSON document of PRODUCT.md §4, written row by row so memory stays flat. */
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
      yield `${opening.slice(0, -1)},"rows":[`;
      let first = true;
      for await (const row of result.rows) {
        yield (first ? "\n" : ",\n") + JSON.stringify(row);
        first = false;
      }
      yield first ? "]}\n" : "\n]}\n";
    })(),
  );
}

export function renderReport(result: ReportResult, format: "json" | "csv"): Readable {
  return format === "json" ? jsonStream(result) : csvStream(result.columns, result.rows);
}
