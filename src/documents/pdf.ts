/**
 * @module A report as PDF (PRODUCT.md §4): company, report, month, filter, generated-at time in the
 * company's timezone, the totals, then every row in a table that continues across pages — header row
 * repeated on each page, no row split, amounts right-aligned, "Page n of N" in the footer, landscape A4
 * where the columns need it. Fonts are embedded (see fonts.ts) with a per-character CJK fallback.
 *
 * Streaming and memory. Rows are drawn as they arrive and each page is written out (compressed) as soon as
 * the next one starts, so memory holds one page, never the rows. The total N in "Page n of N" is not known
 * until the last row, and pdfkit's `bufferPages` would keep every page of the document in memory to number
 * them at the end (tens of thousands of pages for a million-row month). Instead every footer draws one
 * shared form XObject after "Page n of ", and that object's content — the number N — is written once, at
 * the end. Memory holds one page plus the output buffer, whose back-pressure pauses the row loop, plus
 * pdfkit's bookkeeping of each finished page (the page tree must list them all): measured at ~2.5 KB a
 * page, 1 million usage rows (28.6k pages) peaked at 254 MB RSS against 183 MB for 200k rows.
 */
import { PassThrough } from "node:stream";
import type { Readable } from "node:stream";
import PDFDocument from "pdfkit";
import type { ColumnKind, ColumnSpec, ReportName, ReportRow } from "../reports/definitions";
import type { ReportResult } from "../reports/report.service";
import { formatLocalIso } from "../time/month";
import { FONT_SLOTS, loadFont } from "./fonts";
import { filterLabel, humanLabel, monthLabel, readableLocalTime, reportHeading } from "./labels";
import { Typesetter } from "./pdf-text";
import { drained } from "./streams";
import type { Weight } from "./pdf-text";

/** A4 in points. */
const A4_SHORT_PT = 595.28;
const A4_LONG_PT = 841.89;
const PAGE_MARGIN_PT = 36;
const FOOTER_HEIGHT_PT = 18;
const TABLE_FONT_PT = 7;
const TABLE_LINE_PT = 8.6;
const CELL_PAD_X_PT = 2.5;
const CELL_PAD_Y_PT = 2.6;
/** A cell longer than this many lines ends in "…": keeps every row shorter than a page. */
const CELL_LINES_MAX = 8;
const FOOTER_FONT_PT = 7;
/** Room kept right of "Page n of " for N: seven digits cover any report the row limits allow. */
const PAGE_TOTAL_DIGITS_MAX = 7;
/** The row loop waits for the reader when this much PDF is waiting to be read. */
const OUTPUT_HIGH_WATER_BYTES = 1 << 20;

/** Reports whose columns need the width of landscape A4. */
const LANDSCAPE: Readonly<Record<ReportName, boolean>> = {
  summary: true,
  purchases: false,
  allocations: true,
  usage: true,
};

/** Natural column widths in points; a table is then scaled to the page's width. */
const COLUMN_WIDTH_PT: Readonly<Record<string, number>> = {
  date: 108,
  started_at: 108,
  recipient_type: 50,
  recipient: 100,
  username: 76,
  groups: 72,
  reference: 68,
  payment_method: 58,
  status: 46,
  purchased_by: 92,
  allocated_by: 100,
  feature: 52,
  action: 58,
  detail: 76,
  kind: 28,
  destination: 70,
  destination_name: 84,
  duration_s: 44,
  billed_s: 40,
  rate_per_minute: 44,
  covered_by: 70,
  external_id: 84,
  currency: 44,
};
const AMOUNT_WIDTH_PT = 56;
const OTHER_WIDTH_PT = 56;

const RIGHT_ALIGNED: ReadonlySet<ColumnKind> = new Set(["amount", "rate", "int"]);

export interface PdfOptions {
  /** When the document is made: printed, in the company's timezone, under the heading. */
  generatedAtMs: number;
}

interface Column {
  spec: ColumnSpec;
  label: string;
  x: number;
  width: number;
  right: boolean;
}

/** The text a PDF cell shows for a CSV value: dates readable, everything else exactly as in the CSV. */
function cellText(value: string | number | null | undefined, spec: ColumnSpec): string {
  if (value === null || value === undefined) return "";
  if (typeof value === "number") return String(value);
  return spec.kind === "date" ? readableLocalTime(value) : value;
}

class ReportPdf {
  readonly doc: PDFKit.PDFDocument;
  private readonly ts: Typesetter;
  private readonly pageWidth: number;
  private readonly pageHeight: number;
  private readonly columns: Column[];
  private readonly pageTotal: ReturnType<Typesetter["placeholder"]>;
  private readonly footerLeft: string;
  private pageNumber = 0;
  private y = 0;

  constructor(
    private readonly result: ReportResult,
    private readonly opts: PdfOptions,
  ) {
    const landscape = LANDSCAPE[result.report];
    this.pageWidth = landscape ? A4_LONG_PT : A4_SHORT_PT;
    this.pageHeight = landscape ? A4_SHORT_PT : A4_LONG_PT;
    const heading = `${result.companyName} — ${reportHeading(result)} — ${monthLabel(result.month)}`;
    this.footerLeft = heading;
    this.doc = new PDFDocument({
      size: [this.pageWidth, this.pageHeight],
      margin: PAGE_MARGIN_PT,
      autoFirstPage: false,
      // No default Helvetica: every glyph comes from an embedded font.
      font: "",
      // pdfkit caches the layout of every distinct word for the document's life; this module does not
      // use pdfkit's text layout (see pdf-text.ts), and the cache must not grow with the rows.
      fontLayoutCache: false,
      compress: true,
      info: {
        Title: heading,
        Author: result.companyName,
        Creator: "Switchboard",
        CreationDate: new Date(opts.generatedAtMs),
      },
    });
    for (const slot of FONT_SLOTS) this.doc.registerFont(slot, loadFont(slot) as unknown as Buffer);
    this.ts = new Typesetter(this.doc);
    this.pageTotal = this.ts.placeholder(FOOTER_FONT_PT);
    this.columns = this.layoutColumns(result.columns);
  }

  private layoutColumns(specs: readonly ColumnSpec[]): Column[] {
    const natural = specs.map(
      (s) => COLUMN_WIDTH_PT[s.key] ?? (s.kind === "amount" ? AMOUNT_WIDTH_PT : OTHER_WIDTH_PT),
    );
    const sum = natural.reduce((a, b) => a + b, 0);
    const scale = (this.pageWidth - 2 * PAGE_MARGIN_PT) / sum;
    let x = PAGE_MARGIN_PT;
    return specs.map((spec, i) => {
      const width = (natural[i] ?? OTHER_WIDTH_PT) * scale;
      const column = { spec, label: humanLabel(spec.key), x, width, right: RIGHT_ALIGNED.has(spec.kind) };
      x += width;
      return column;
    });
  }

  private get bottom(): number {
    return this.pageHeight - PAGE_MARGIN_PT - FOOTER_HEIGHT_PT;
  }

  /** Starts a page with its footer; the caller draws what comes first on it. */
  private newPage(): void {
    this.doc.addPage({ size: [this.pageWidth, this.pageHeight], margin: PAGE_MARGIN_PT });
    this.pageNumber += 1;
    const ts = this.ts;
    const footerTop = this.pageHeight - PAGE_MARGIN_PT - FOOTER_FONT_PT;
    const right = this.pageWidth - PAGE_MARGIN_PT;
    const totalX = right - ts.width("0".repeat(PAGE_TOTAL_DIGITS_MAX), "regular", FOOTER_FONT_PT);
    const pageText = `Page ${this.pageNumber} of `;
    const pageX = totalX - ts.width(pageText, "regular", FOOTER_FONT_PT);
    const leftMaxWidth = pageX - PAGE_MARGIN_PT - 12;
    const [left = ""] = ts.wrap(this.footerLeft, "regular", FOOTER_FONT_PT, leftMaxWidth, 1);
    const ops =
      ts.show(left, "regular", FOOTER_FONT_PT, PAGE_MARGIN_PT, footerTop) +
      ts.show(pageText, "regular", FOOTER_FONT_PT, pageX, footerTop);
    this.doc.addContent(
      `q 0.7 G 0.5 w ${PAGE_MARGIN_PT} ${footerTop - 4} m ${right} ${footerTop - 4} l S Q\n` +
        ts.batch(ops, 0.35),
    );
    // The shared "N" object, drawn right after "Page n of " on the same baseline.
    const xobjects = this.doc.page.xobjects as Record<string, PDFKit.PDFKitReference>;
    xobjects["PageTotal"] = this.pageTotal.ref;
    const baseline = footerTop + ts.ascent(FOOTER_FONT_PT);
    this.doc.addContent(`q 0.35 g 1 0 0 -1 ${totalX.toFixed(2)} ${baseline.toFixed(2)} cm /PageTotal Do Q`);
    this.y = PAGE_MARGIN_PT;
  }

  /** A block of text lines at the current y; returns nothing, advances y. */
  private textLine(text: string, weight: Weight, size: number, gray = 0.1, gapAfter = 0): void {
    const width = this.pageWidth - 2 * PAGE_MARGIN_PT;
    const lines = this.ts.wrap(text, weight, size, width, CELL_LINES_MAX);
    let ops = "";
    for (const line of lines) {
      ops += this.ts.show(line, weight, size, PAGE_MARGIN_PT, this.y);
      this.y += size * 1.35;
    }
    this.doc.addContent(this.ts.batch(ops, gray));
    this.y += gapAfter;
  }

  /** The first page's heading: company, report, month, filter, generated-at and the totals. */
  drawHeading(): void {
    const r = this.result;
    this.newPage();
    this.textLine(r.companyName, "bold", 16, 0.1, 2);
    this.textLine(`${reportHeading(r)} report`, "bold", 12, 0.2, 4);
    const generated = readableLocalTime(formatLocalIso(this.opts.generatedAtMs, r.timezone));
    const facts: [string, string][] = [
      ["Month", monthLabel(r.month)],
      ["Filter", filterLabel(r.filter)],
      ["Currency", r.currency],
      ["Generated", `${generated} (${r.timezone})`],
    ];
    this.keyValues(facts, 8.5, 70, 0);
    this.y += 6;
    this.textLine("Totals", "bold", 9.5, 0.1, 1);
    const money = new Set(
      Object.entries(r.totals)
        .filter(([, v]) => typeof v === "string")
        .map(([k]) => k),
    );
    const totals: [string, string][] = Object.entries(r.totals).map(([k, v]) => [
      humanLabel(k),
      money.has(k) ? `${String(v)} ${r.currency}` : String(v),
    ]);
    this.keyValues(totals, 8.5, 150, 120);
    this.y += 10;
  }

  /** Label–value lines; values right-aligned in a column of `valueWidth` when it is not 0. */
  private keyValues(
    pairs: readonly [string, string][],
    size: number,
    labelWidth: number,
    valueWidth: number,
  ): void {
    const ts = this.ts;
    let ops = "";
    const maxValueWidth = this.pageWidth - 2 * PAGE_MARGIN_PT - labelWidth;
    // Label then value, line by line, so that extracted text reads "Month October 2026".
    for (const [label, value] of pairs) {
      ops += "0.4 g\n" + ts.show(label, "regular", size, PAGE_MARGIN_PT, this.y) + "0.1 g\n";
      const [line = ""] = ts.wrap(value, "regular", size, maxValueWidth, 1);
      const x =
        valueWidth > 0
          ? PAGE_MARGIN_PT + labelWidth + valueWidth - ts.width(line, "regular", size)
          : PAGE_MARGIN_PT + labelWidth;
      ops += ts.show(line, valueWidth > 0 ? "bold" : "regular", size, x, this.y);
      this.y += size * 1.45;
    }
    this.doc.addContent(ts.batch(ops));
  }

  /** Lays out one row's cells: the lines of each cell and the row's height. */
  private measure(texts: readonly string[], weight: Weight): { lines: string[][]; height: number } {
    const lines = this.columns.map((c, i) =>
      this.ts.wrap(texts[i] ?? "", weight, TABLE_FONT_PT, c.width - 2 * CELL_PAD_X_PT, CELL_LINES_MAX),
    );
    const count = Math.max(1, ...lines.map((l) => l.length));
    return { lines, height: count * TABLE_LINE_PT + 2 * CELL_PAD_Y_PT };
  }

  private drawCells(lines: readonly string[][], height: number, weight: Weight, background: boolean): void {
    const ts = this.ts;
    const left = PAGE_MARGIN_PT;
    const right = this.pageWidth - PAGE_MARGIN_PT;
    let ops = "";
    this.columns.forEach((c, i) => {
      let top = this.y + CELL_PAD_Y_PT + (TABLE_LINE_PT - TABLE_FONT_PT) / 2;
      for (const line of lines[i] ?? []) {
        const x = c.right
          ? c.x + c.width - CELL_PAD_X_PT - ts.width(line, weight, TABLE_FONT_PT)
          : c.x + CELL_PAD_X_PT;
        ops += ts.show(line, weight, TABLE_FONT_PT, x, top);
        top += TABLE_LINE_PT;
      }
    });
    const bottom = (this.y + height).toFixed(2);
    const fill = background
      ? `q 0.92 g ${left} ${this.y.toFixed(2)} ${right - left} ${height.toFixed(2)} re f Q\n`
      : "";
    this.doc.addContent(
      `${fill}q ${background ? "0.55" : "0.85"} G 0.4 w ${left} ${bottom} m ${right} ${bottom} l S Q\n` +
        ts.batch(ops),
    );
    this.y += height;
  }

  private drawHeaderRow(): void {
    const { lines, height } = this.measure(
      this.columns.map((c) => c.label),
      "bold",
    );
    this.drawCells(lines, height, "bold", true);
  }

  /** Starts the table under the heading, on the first page. */
  startTable(): void {
    if (this.y + 4 * TABLE_LINE_PT > this.bottom) this.newPage();
    this.drawHeaderRow();
  }

  /** Draws one row, starting a new page (with the header row) when it does not fit whole on this one. */
  drawRow(row: ReportRow): void {
    const texts = this.columns.map((c) => cellText(row[c.spec.key], c.spec));
    const { lines, height } = this.measure(texts, "regular");
    if (this.y + height > this.bottom) {
      this.newPage();
      this.drawHeaderRow();
    }
    this.drawCells(lines, height, "regular", false);
  }

  /** A line under an empty table, so that a report with no rows says so. */
  drawNoRows(): void {
    this.y += 4;
    this.textLine("No rows for this month and filter.", "regular", 8.5, 0.4);
  }

  /** Writes N into the footers' shared object and closes the document. */
  finish(): void {
    this.pageTotal.fill(String(this.pageNumber));
    this.doc.end();
  }
}

/**
 * Streams the PDF of a report. The rows are read as the reader consumes the PDF; an error while reading
 * them destroys the returned stream with that error.
 */
export function pdfStream(result: ReportResult, opts: PdfOptions): Readable {
  const out = new PassThrough({ highWaterMark: OUTPUT_HIGH_WATER_BYTES });
  let pdf: ReportPdf;
  try {
    pdf = new ReportPdf(result, opts);
  } catch (error) {
    out.destroy(error as Error);
    return out;
  }
  // pdfkit pushes into its Readable outside `_read`; left in flowing mode its buffer is not emptied while the
  // row loop runs, and grew with the document. So the loop pumps it into `out` itself, after every row.
  const pump = () => {
    for (let chunk = pdf.doc.read() as Buffer | null; chunk !== null; chunk = pdf.doc.read() as Buffer | null)
      out.write(chunk);
  };
  pdf.doc.on("readable", pump);
  pdf.doc.on("end", () => out.end());
  pdf.doc.on("error", (error: Error) => out.destroy(error));

  const produce = async (): Promise<void> => {
    pdf.drawHeading();
    pdf.startTable();
    let rows = 0;
    for await (const row of result.rows) {
      if (out.destroyed) return; // the reader went away: leaving the loop closes the row cursor
      pdf.drawRow(row);
      rows += 1;
      pump();
      await drained(out);
    }
    if (rows === 0) pdf.drawNoRows();
    pdf.finish();
    pump();
  };
  produce().catch((error: unknown) => out.destroy(error instanceof Error ? error : new Error(String(error))));
  return out;
}
