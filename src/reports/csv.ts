/**
 * @module CSV as PRODUCT.md §4 fixes it: RFC 4180, UTF-8 with a byte-order mark, CRLF, quotes where
 * needed, empty cells for null, and free text that a spreadsheet would run as a formula prefixed with '.
 * Rows are formatted by hand (a batch at a time, written in large chunks): a general CSV library's
 * per-row stream machinery cost more than the rows themselves.
 */
import { Readable } from "node:stream";
import type { ColumnSpec, ReportRow } from "./definitions";
import { rowBatches } from "./rows";

const FORMULA_START = /^[=+\-@\t\r\n]/;
const PHONE = /^\+\d{8,15}$/;
/** A cell with one of these is quoted (RFC 4180: separator, quote, line breaks). */
const NEEDS_QUOTES = /[",\r\n]/;
const QUOTE = /"/g;
const BOM = "\ufeff";
const CRLF = "\r\n";
/** Characters gathered before they are passed on as one chunk. */
export const CSV_CHUNK_CHARS = 64 * 1024;

/** Prefixes a free-text cell with ' when a spreadsheet would read it as a formula. */
export function protectCell(text: string): string {
  return FORMULA_START.test(text) && !PHONE.test(text) ? `'${text}` : text;
}

export function csvCell(value: string | number | null, spec: ColumnSpec): string {
  if (value === null) return "";
  if (typeof value === "number") return String(value);
  return spec.kind === "text" ? protectCell(value) : value;
}

/** A cell as it appears in the file: quoted (with doubled quotes) only when it must be. */
function quoted(text: string): string {
  return NEEDS_QUOTES.test(text) ? `"${text.replace(QUOTE, '""')}"` : text;
}

/** One record, CRLF-terminated. */
export function csvLine(columns: readonly ColumnSpec[], row: ReportRow): string {
  let line = "";
  for (let i = 0; i < columns.length; i++) {
    const spec = columns[i] as ColumnSpec;
    if (i > 0) line += ",";
    line += quoted(csvCell(row[spec.key] ?? null, spec));
  }
  return line + CRLF;
}

/** Streams rows as CSV bytes (byte-order mark and header first, no totals row). */
export function csvStream(columns: readonly ColumnSpec[], rows: AsyncIterable<ReportRow>): Readable {
  return Readable.from(
    (async function* () {
      let out = BOM + columns.map((c) => quoted(c.key)).join(",") + CRLF;
      for await (const batch of rowBatches(rows)) {
        for (const row of batch) out += csvLine(columns, row);
        if (out.length >= CSV_CHUNK_CHARS) {
          yield Buffer.from(out);
          out = "";
        }
      }
      yield Buffer.from(out);
    })(),
    { objectMode: false },
  );
}
