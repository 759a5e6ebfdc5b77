/**
 * @module The receipt of one completed purchase as PDF (issue 5, item 5): seller (from configuration),
 * buyer (the company and the admin who bought), reference, purchase and settlement dates in the company's
 * timezone, payment method, and one line "Prepaid calling credit" with net, VAT rate, VAT and total, all
 * from the stored purchase. A4 portrait; fonts embedded as in every document (fonts.ts), text drawn with
 * the same typesetter as the reports (pdf-text.ts), so a name in any script prints.
 */
import PDFDocument from "pdfkit";
import type { SellerConfig } from "../config";
import type { PaymentMethod } from "../db/schema";
import { formatAmount } from "../money/money";
import { formatLocalIso } from "../time/month";
import { FONT_SLOTS, loadFont } from "./fonts";
import { humanLabel, readableLocalTime } from "./labels";
import { Typesetter } from "./pdf-text";
import type { Weight } from "./pdf-text";

/** A4 portrait in points. */
const PAGE_WIDTH_PT = 595.28;
const PAGE_HEIGHT_PT = 841.89;
const MARGIN_PT = 56;
const BLOCK_GAP_PT = 24;
const LINE_FACTOR = 1.4;
/** A seller or buyer line longer than this many wrapped lines ends in "…". */
const BLOCK_LINES_MAX = 3;

const GRAY_TEXT = 0.1;
const GRAY_LABEL = 0.45;

export const RECEIPT_LINE_DESCRIPTION = "Prepaid calling credit";

/** Everything a receipt shows, as stored: amounts in minor units, instants in ms. */
export interface ReceiptInput {
  seller: SellerConfig;
  companyName: string;
  timezone: string;
  currency: string;
  /** The admin who recorded the purchase; null when it was not a person (an API key, the importer). */
  buyerName: string | null;
  buyerEmail: string | null;
  reference: string;
  paymentMethod: PaymentMethod;
  createdAtMs: number;
  settledAtMs: number;
  amountMinor: number;
  /** The stored decimal rate, "0.20". */
  vatRate: string;
  vatMinor: number;
  totalMinor: number;
  /** When the document is made: printed in the footer. */
  generatedAtMs: number;
}

/**
 * A stored VAT rate as a percentage, by moving the decimal point (no floating point): "0.20" → "20 %",
 * "0.175" → "17.5 %", "0" → "0 %", "1" → "100 %".
 */
export function vatPercent(rate: string): string {
  const match = /^(\d+)(?:\.(\d+))?$/.exec(rate.trim());
  if (!match) return rate;
  const whole = match[1] ?? "0";
  const fraction = (match[2] ?? "").padEnd(2, "0");
  const integer = (whole + fraction.slice(0, 2)).replace(/^0+(?=\d)/, "");
  const rest = fraction.slice(2).replace(/0+$/, "");
  return `${integer}${rest === "" ? "" : `.${rest}`} %`;
}

/** "2026-09-01 10:00:00 +01:00" in the company's timezone. */
const localTime = (ms: number, tz: string): string => readableLocalTime(formatLocalIso(ms, tz));

class ReceiptPdf {
  readonly doc: PDFKit.PDFDocument;
  private readonly ts: Typesetter;
  private y = MARGIN_PT;
  private ops = "";

  constructor(private readonly r: ReceiptInput) {
    this.doc = new PDFDocument({
      size: [PAGE_WIDTH_PT, PAGE_HEIGHT_PT],
      margin: MARGIN_PT,
      autoFirstPage: false,
      // No default Helvetica: every glyph comes from an embedded font.
      font: "",
      compress: true,
      info: {
        Title: `Receipt ${r.reference}`,
        Author: r.seller.name,
        Subject: `Receipt for ${r.companyName}`,
        Creator: "Switchboard",
        CreationDate: new Date(r.generatedAtMs),
      },
    });
    for (const slot of FONT_SLOTS) this.doc.registerFont(slot, loadFont(slot) as unknown as Buffer);
    this.ts = new Typesetter(this.doc);
  }

  private get right(): number {
    return PAGE_WIDTH_PT - MARGIN_PT;
  }

  /** Queues one string whose top-left corner is (x, top), in a gray. */
  private text(text: string, weight: Weight, size: number, x: number, top: number, gray = GRAY_TEXT): void {
    this.ops += `${gray} g\n` + this.ts.show(text, weight, size, x, top);
  }

  /** Queues one string whose right edge is at `right`. */
  private textRight(
    text: string,
    weight: Weight,
    size: number,
    right: number,
    top: number,
    gray = GRAY_TEXT,
  ) {
    this.text(text, weight, size, right - this.ts.width(text, weight, size), top, gray);
  }

  /** Writes the queued text to the page. */
  private flush(): void {
    this.doc.addContent(this.ts.batch(this.ops));
    this.ops = "";
  }

  private rule(top: number, gray = 0.75, width = 0.6): void {
    this.doc.addContent(
      `q ${gray} G ${width} w ${MARGIN_PT} ${top.toFixed(2)} m ${this.right} ${top.toFixed(2)} l S Q\n`,
    );
  }

  /** A labelled block of lines in a column; returns the y under it. */
  private block(label: string, lines: readonly [string, Weight][], x: number, width: number, top: number) {
    let y = top;
    this.text(label.toUpperCase(), "bold", 8, x, y, GRAY_LABEL);
    y += 8 * LINE_FACTOR + 2;
    for (const [line, weight] of lines) {
      const size = weight === "bold" ? 11 : 9.5;
      for (const part of this.ts.wrap(line, weight, size, width, BLOCK_LINES_MAX)) {
        this.text(part, weight, size, x, y);
        y += size * LINE_FACTOR;
      }
    }
    return y;
  }

  draw(): void {
    const r = this.r;
    const money = (minor: number): string => `${formatAmount(minor, r.currency)} ${r.currency}`;
    this.doc.addPage({ size: [PAGE_WIDTH_PT, PAGE_HEIGHT_PT], margin: MARGIN_PT });

    // Title and reference.
    this.text("Receipt", "bold", 24, MARGIN_PT, this.y);
    this.textRight(r.seller.name, "bold", 11, this.right, this.y + 4, GRAY_LABEL);
    this.y += 24 * LINE_FACTOR;
    this.text(`Reference ${r.reference}`, "regular", 10, MARGIN_PT, this.y, GRAY_LABEL);
    this.y += 10 * LINE_FACTOR + 10;
    this.flush();
    this.rule(this.y);
    this.y += 16;

    // Seller and buyer side by side.
    const columnWidth = (this.right - MARGIN_PT - BLOCK_GAP_PT) / 2;
    const seller: [string, Weight][] = [
      [r.seller.name, "bold"],
      ...r.seller.address.map((l): [string, Weight] => [l, "regular"]),
    ];
    if (r.seller.vatId !== undefined) seller.push([`VAT ID ${r.seller.vatId}`, "regular"]);
    const buyer: [string, Weight][] = [[r.companyName, "bold"]];
    if (r.buyerName !== null) buyer.push([`Purchased by ${r.buyerName}`, "regular"]);
    if (r.buyerEmail !== null) buyer.push([r.buyerEmail, "regular"]);
    const sellerBottom = this.block("Seller", seller, MARGIN_PT, columnWidth, this.y);
    const buyerBottom = this.block(
      "Buyer",
      buyer,
      MARGIN_PT + columnWidth + BLOCK_GAP_PT,
      columnWidth,
      this.y,
    );
    this.y = Math.max(sellerBottom, buyerBottom) + 18;

    // The facts of the purchase.
    const facts: [string, string][] = [
      ["Reference", r.reference],
      ["Purchase date", localTime(r.createdAtMs, r.timezone)],
      ["Settlement date", localTime(r.settledAtMs, r.timezone)],
      ["Payment method", humanLabel(r.paymentMethod)],
      ["Status", "Completed"],
      ["Currency", r.currency],
    ];
    const factSize = 9.5;
    for (const [label, value] of facts) {
      this.text(label, "regular", factSize, MARGIN_PT, this.y, GRAY_LABEL);
      const [line = ""] = this.ts.wrap(value, "regular", factSize, this.right - MARGIN_PT - 110, 1);
      this.text(line, "regular", factSize, MARGIN_PT + 110, this.y);
      this.y += factSize * 1.6;
    }
    this.y += 16;
    this.flush();

    // The line: description, net, VAT rate, VAT, total — amounts right-aligned.
    const size = 9.5;
    const rowHeight = 22;
    const pad = 6;
    const cols: { label: string; right: number; value: string }[] = [
      { label: "Net", right: MARGIN_PT + 265, value: money(r.amountMinor) },
      { label: "VAT rate", right: MARGIN_PT + 320, value: vatPercent(r.vatRate) },
      { label: "VAT", right: MARGIN_PT + 400, value: money(r.vatMinor) },
      { label: "Total", right: this.right - pad, value: money(r.totalMinor) },
    ];
    const textTop = (rowTop: number) => rowTop + (rowHeight - size) / 2 - 1;
    this.doc.addContent(
      `q 0.93 g ${MARGIN_PT} ${this.y.toFixed(2)} ${this.right - MARGIN_PT} ${rowHeight} re f Q\n`,
    );
    this.text("Description", "bold", size, MARGIN_PT + pad, textTop(this.y));
    for (const c of cols) this.textRight(c.label, "bold", size, c.right, textTop(this.y));
    this.y += rowHeight;
    this.text(RECEIPT_LINE_DESCRIPTION, "regular", size, MARGIN_PT + pad, textTop(this.y));
    for (const c of cols) this.textRight(c.value, "regular", size, c.right, textTop(this.y));
    this.y += rowHeight;
    this.flush();
    this.rule(this.y, 0.6);
    this.y += 14;

    // Totals, right-aligned under the table.
    const labelRight = MARGIN_PT + 350;
    const totals: [string, string, Weight][] = [
      ["Net amount", money(r.amountMinor), "regular"],
      [`VAT ${vatPercent(r.vatRate)}`, money(r.vatMinor), "regular"],
    ];
    for (const [label, value, weight] of totals) {
      this.textRight(label, weight, 10, labelRight, this.y, GRAY_LABEL);
      this.textRight(value, weight, 10, this.right - pad, this.y);
      this.y += 10 * 1.7;
    }
    this.flush();
    this.doc.addContent(
      `q 0.3 G 0.8 w ${labelRight - 80} ${(this.y + 1).toFixed(2)} m ${this.right} ${(this.y + 1).toFixed(2)} l S Q\n`,
    );
    this.y += 7;
    this.textRight("Total paid", "bold", 12, labelRight, this.y);
    this.textRight(money(r.totalMinor), "bold", 12, this.right - pad, this.y);
    this.y += 12 * 1.6;
    this.flush();

    // Footer.
    const footerTop = PAGE_HEIGHT_PT - MARGIN_PT - 8;
    this.rule(footerTop - 8);
    const generated = localTime(r.generatedAtMs, r.timezone);
    const footer = `Issued by ${r.seller.name} on ${generated}. Times are in ${r.timezone}.`;
    const [line = ""] = this.ts.wrap(footer, "regular", 7.5, this.right - MARGIN_PT, 1);
    this.text(line, "regular", 7.5, MARGIN_PT, footerTop, GRAY_LABEL);
    this.flush();
  }
}

/** The receipt of one completed purchase as PDF bytes (one page: small enough to build in memory). */
export function receiptPdf(input: ReceiptInput): Promise<Buffer> {
  return new Promise<Buffer>((resolve, reject) => {
    const pdf = new ReceiptPdf(input);
    const chunks: Buffer[] = [];
    pdf.doc.on("data", (chunk: Buffer) => chunks.push(chunk));
    pdf.doc.on("end", () => resolve(Buffer.concat(chunks)));
    pdf.doc.on("error", reject);
    try {
      pdf.draw();
      pdf.doc.end();
    } catch (error) {
      reject(error instanceof Error ? error : new Error(String(error)));
    }
  });
}
