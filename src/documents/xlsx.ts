/**
 * @module A report as XLSX, streamed with exceljs's WorkbookWriter: the CSV's columns under the CSV's
 * header names (a script can read either file), amounts as numbers in the currency's number format,
 * dates as Excel dates in the company's local time, a frozen header row, and a totals row whose amount
 * cells are SUM formulas. Free text goes in as text cells, never formulas, protected as in the CSV.
 *
 * Floats. Everywhere else amounts are integers of minor units or decimal strings; here a spreadsheet cell
 * can only hold an IEEE double, so the decimal string becomes a number for the cell's value and nothing
 * else. A double holds every amount up to 2^53 minor units to the cent, and the displayed format shows
 * exactly the currency's decimals. The totals' cached results are summed exactly in minor units (BigInt)
 * before that one conversion.
 */
import { PassThrough } from "node:stream";
import type { Readable } from "node:stream";
import ExcelJS from "exceljs";
import { currencyExponent } from "../money/currency";
import { protectCell } from "../reports/csv";
import type { ColumnSpec, ReportRow } from "../reports/definitions";
import type { ReportResult } from "../reports/report.service";
import { drained, yieldToIo } from "./streams";

/** Excel's rows per sheet; a longer report goes on into "Usage (2)", each sheet with its header and totals. */
const SHEET_ROWS_MAX = 1_048_576;
/** Data rows a sheet takes: the rest of its rows hold the header and the totals. */
const SHEET_DATA_ROWS_MAX = SHEET_ROWS_MAX - 2;
/** Every this many rows the writer lets the zip compressor and the reader run. */
const YIELD_EVERY_ROWS = 512;
const OUTPUT_HIGH_WATER_BYTES = 1 << 20;
/** The longest wait for the zip compressor to ask for more before writing on regardless. */
const ZIP_DRAIN_WAIT_MS_MAX = 1_000;
const DATE_FORMAT = "yyyy-mm-dd hh:mm:ss";
const RATE_FORMAT = "0.0000";
const INT_FORMAT = "0";

/** Column widths in characters. */
const WIDTH_CHARS: Readonly<Record<string, number>> = {
  date: 20,
  started_at: 20,
  recipient: 26,
  username: 18,
  groups: 20,
  purchased_by: 26,
  allocated_by: 26,
  destination_name: 22,
  covered_by: 18,
  external_id: 20,
  destination: 16,
};

export interface XlsxOptions {
  generatedAtMs: number;
}

/** "#,##0.00" for 2 decimals, "#,##0" for none, "#,##0.000" for 3. */
export function amountFormat(exponent: number): string {
  return exponent === 0 ? "#,##0" : `#,##0.${"0".repeat(exponent)}`;
}

const LOCAL_ISO = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})[+-]\d{2}:\d{2}$/;

/**
 * The wall-clock time of a local ISO string as a Date whose UTC fields are that wall clock: exceljs turns
 * a Date into an Excel serial from its UTC fields, and Excel has no time zones, so the cell shows the
 * company's local time (the offset is in the CSV and the PDF).
 */
export function excelLocalDate(iso: string): Date {
  const m = LOCAL_ISO.exec(iso);
  if (!m) throw new Error(`Assertion failed: "${iso}" is not a local ISO time`);
  const [, y, mo, d, h, mi, s] = m.map(Number) as [number, number, number, number, number, number, number];
  return new Date(Date.UTC(y, mo - 1, d, h, mi, s));
}

/** A decimal string ("-12.58") in minor units, exactly. */
function toMinor(text: string, exponent: number): bigint {
  const negative = text.startsWith("-");
  const [whole = "0", fraction = ""] = (negative ? text.slice(1) : text).split(".");
  const minor = BigInt(whole + fraction.padEnd(exponent, "0"));
  return negative ? -minor : minor;
}

function minorToNumber(minor: bigint, exponent: number): number {
  return Number(minor) / 10 ** exponent;
}

type CellValue = string | number | Date | null;

function cellValue(value: string | number | null | undefined, spec: ColumnSpec): CellValue {
  if (value === null || value === undefined) return null;
  if (typeof value === "number") return value;
  switch (spec.kind) {
    case "amount":
    case "rate":
    case "int":
      return Number(value);
    case "date":
      return excelLocalDate(value);
    case "text":
      return protectCell(value);
    case "phone":
    case "code":
      return value;
  }
}

/** A1-style column letters for a 1-based index. */
function columnLetter(index: number): string {
  let n = index;
  let s = "";
  while (n > 0) {
    const r = (n - 1) % 26;
    s = String.fromCharCode(65 + r) + s;
    n = Math.floor((n - 1) / 26);
  }
  return s;
}

/**
 * Streams the XLSX of a report. The rows are read as the reader consumes the file; an error while reading
 * them destroys the returned stream with that error.
 */
export function xlsxStream(result: ReportResult, opts: XlsxOptions): Readable {
  const out = new PassThrough({ highWaterMark: OUTPUT_HIGH_WATER_BYTES });
  const produce = async (): Promise<void> => {
    const exponent = currencyExponent(result.currency);
    const workbook = new ExcelJS.stream.xlsx.WorkbookWriter({
      stream: out,
      useStyles: true,
      // Shared strings would keep every distinct string of the report in memory until the end.
      useSharedStrings: false,
    });
    workbook.creator = "Switchboard";
    workbook.created = new Date(opts.generatedAtMs);
    workbook.modified = workbook.created;
    const columns = result.columns;
    const amountIdx = columns.flatMap((c, i) => (c.kind === "amount" ? [i] : []));

    let sheetNumber = 0;
    let sheet: ExcelJS.Worksheet | undefined;
    let sheetRows = 0;
    let sums: bigint[] = [];

    const openSheet = () => {
      sheetNumber += 1;
      const name = sheetNumber === 1 ? result.title : `${result.title} (${sheetNumber})`;
      sheet = workbook.addWorksheet(name, { views: [{ state: "frozen", ySplit: 1 }] });
      sheet.columns = columns.map((c) => ({
        header: c.key,
        key: c.key,
        width: WIDTH_CHARS[c.key] ?? (c.kind === "amount" ? 14 : 12),
        style: {
          numFmt:
            c.kind === "amount"
              ? amountFormat(exponent)
              : c.kind === "date"
                ? DATE_FORMAT
                : c.kind === "rate"
                  ? RATE_FORMAT
                  : c.kind === "int"
                    ? INT_FORMAT
                    : "@",
        },
      }));
      const header = sheet.getRow(1);
      header.font = { bold: true };
      header.commit();
      sheetRows = 0;
      sums = amountIdx.map(() => 0n);
    };

    const closeSheet = () => {
      if (!sheet) return;
      const values: (string | ExcelJS.CellFormulaValue | null)[] = columns.map(() => null);
      values[0] = "Total";
      amountIdx.forEach((colIdx, k) => {
        const letter = columnLetter(colIdx + 1);
        const result = minorToNumber(sums[k] ?? 0n, exponent);
        values[colIdx] = { formula: `SUM(${letter}2:${letter}${sheetRows + 1})`, result, date1904: false };
      });
      const row = sheet.addRow(values);
      row.font = { bold: true };
      row.commit();
      sheet.commit();
    };

    openSheet();
    let count = 0;
    for await (const row of result.rows) {
      if (out.destroyed) return;
      if (sheetRows === SHEET_DATA_ROWS_MAX) {
        closeSheet();
        openSheet();
      }
      (sheet as ExcelJS.Worksheet).addRow(rowValues(row, columns)).commit();
      amountIdx.forEach((colIdx, k) => {
        const v = row[columns[colIdx]?.key ?? ""];
        if (typeof v === "string") sums[k] = (sums[k] ?? 0n) + toMinor(v, exponent);
      });
      sheetRows += 1;
      count += 1;
      if (count % YIELD_EVERY_ROWS === 0) {
        await yieldToIo();
        await zipCaughtUp(sheet);
        await drained(out);
      }
    }
    closeSheet();
    await workbook.commit();
  };
  produce().catch((error: unknown) => out.destroy(error instanceof Error ? error : new Error(String(error))));
  return out;
}

/** The slice of a readable-stream 3 Writable (exceljs's) that tells whether it asked for a pause. */
interface LegacyWritable {
  _writableState?: { needDrain?: boolean };
  once(event: string, listener: () => void): unknown;
  removeListener(event: string, listener: () => void): unknown;
}

/**
 * Waits until the zip compressor has taken in what the sheet wrote. exceljs 4.4.0's sheet stream writes into
 * the zip's entry stream without heeding its back-pressure, so a fast row source would pile up uncompressed
 * XML in memory (~0.4 KB a row, measured); the entry stream does say when it wants a pause (needDrain), and
 * this waits for its "drain". It reads exceljs internals (`_stream.pipes`), which is why exceljs is pinned.
 */
async function zipCaughtUp(sheet: ExcelJS.Worksheet | undefined): Promise<void> {
  const pipes = (sheet as unknown as { _stream?: { pipes?: LegacyWritable[] } } | undefined)?._stream?.pipes;
  for (const pipe of pipes ?? []) {
    if (pipe._writableState?.needDrain !== true) continue;
    await new Promise<void>((resolve) => {
      // Belt and braces: should "drain" never come, the timer keeps the process alive and moves on.
      const timer = setTimeout(() => done(), ZIP_DRAIN_WAIT_MS_MAX);
      const done = () => {
        clearTimeout(timer);
        pipe.removeListener("drain", done);
        pipe.removeListener("close", done);
        pipe.removeListener("error", done);
        resolve();
      };
      pipe.once("drain", done);
      pipe.once("close", done);
      pipe.once("error", done);
    });
  }
}

function rowValues(row: ReportRow, columns: readonly ColumnSpec[]): CellValue[] {
  return columns.map((c) => cellValue(row[c.key], c));
}
