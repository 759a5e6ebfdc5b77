/**
 * @module CSV as PRODUCT.md §4 fixes it: RFC 4180, UTF-8 with a byte-order mark, CRLF, quotes where
 * needed, empty cells for null, and free text that a spreadsheet would run as a formula prefixed with '.
 */
import { stringify } from "csv-stringify";
import { Readable } from "node:stream";
import type { ColumnSpec, ReportRow } from "./definitions";

const FORMULA_START = /^[=+\-@\t\r\n]/;
const PHONE = /^\+\d{8,15}$/;

/** Prefixes a free-text cell with ' when a spreadsheet would read it as a formula. */
export function protectCell(text: string): string {
  return FORMULA_START.test(text) && !PHONE.test(text) ? `'${text}` : text;
}

export function csvCell(value: string | number | null, spec: ColumnSpec): string {
  if (value === null) return "";
  if (typeof value === "number") return String(value);
  return spec.kind === "text" ? protectCell(value) : value;
}

/** Streams rows as CSV bytes (header first, no totals row). */
export function csvStream(columns: readonly ColumnSpec[], rows: AsyncIterable<ReportRow>): Readable {
  const stringifier = stringify({ bom: true, record_delimiter: "\r\n", quoted_match: /[\r\n]/ });
  const source = Readable.from(
    (async function* () {
      yield columns.map((c) => c.key);
      for await (const row of rows) yield columns.map((c) => csvCell(row[c.key] ?? null, c));
    })(),
    { objectMode: true },
  );
  source.on("error", (e) => stringifier.destroy(e));
  return source.pipe(stringifier);
}
