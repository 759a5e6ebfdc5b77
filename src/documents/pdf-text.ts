/**
 * @module Low-level text for the PDF writer: measures, wraps and draws strings with per-character font
 * fallback, writing PDF text operators straight into the page. pdfkit's own `text()` lays out every word
 * through fontkit and caches each distinct word for the document's lifetime — unbounded memory on a
 * million-row report (unique call ids and timestamps) and slow. Table cells need neither kerning nor
 * ligatures, so this module encodes each code point once per document (a bounded cache: one entry per
 * distinct character) and emits `Tj` operators itself. It relies on three pdfkit 0.20.2 internals — the
 * current font object (`_font`), its `encode()`, and `page.fonts` — which is why pdfkit is pinned exactly.
 */
/// <reference types="pdfkit" />
import { slotFor } from "./fonts";
import type { FontSlot } from "./fonts";

/** The slice of pdfkit's EmbeddedFont this module uses. */
interface EmbeddedFont {
  id: string;
  /** Ascender and descender in 1/1000 em. */
  ascender: number;
  descender: number;
  encode(text: string, features?: Record<string, boolean>): [string[], { xAdvance: number }[]];
  ref(): PDFKit.PDFKitReference;
}

const NO_DECOMPOSITION = { ccmp: false } as const;

interface Glyphs {
  /** Glyph ids as 4-digit hex, ready for a PDF hex string. */
  hex: string;
  /** Advance width in 1/1000 em. */
  advance: number;
}

interface Run {
  slot: FontSlot;
  hex: string;
  /** Width in 1/1000 em. */
  advance: number;
}

export type Weight = "regular" | "bold";

/** Characters a cell could hold that a PDF line must not: control characters become spaces. */
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const CONTROL = /[\u0000-\u001f\u007f]/g;

/** Where a wrapped line may end, besides a space: after a separator that names, e-mails and groups use. */
const BREAK_AFTER = new Set([";", "/", "-", "@", ".", "_", ",", ":"]);

const ELLIPSIS = "…";

const number = (n: number): string => (Math.round(n * 100) / 100).toString();

/** One per document: the glyph cache is tied to the document's font subsets. */
export class Typesetter {
  private readonly fonts = new Map<FontSlot, EmbeddedFont>();
  private readonly glyphs = new Map<FontSlot, Map<number, Glyphs>>();

  constructor(private readonly doc: PDFKit.PDFDocument) {}

  /** pdfkit's font object for a slot, created on first use so an unused CJK face is never embedded. */
  font(slot: FontSlot): EmbeddedFont {
    let font = this.fonts.get(slot);
    if (!font) {
      this.doc.font(slot);
      font = (this.doc as unknown as { _font: EmbeddedFont })._font;
      this.fonts.set(slot, font);
    }
    return font;
  }

  private glyphsOf(slot: FontSlot, codePoint: number): Glyphs {
    let table = this.glyphs.get(slot);
    if (!table) {
      table = new Map();
      this.glyphs.set(slot, table);
    }
    let g = table.get(codePoint);
    if (!g) {
      // Without "ccmp" a precomposed letter ("ị", "ọ") stays one glyph mapped to its code point; with it the
      // font splits it into a letter and a dot-below mark that has no text, and copy/search lose the dot.
      const [hexes, positions] = this.font(slot).encode(String.fromCodePoint(codePoint), NO_DECOMPOSITION);
      let advance = 0;
      for (const p of positions) advance += p.xAdvance;
      g = { hex: hexes.join(""), advance };
      table.set(codePoint, g);
    }
    return g;
  }

  /** Splits text into runs of one font each. */
  runs(text: string, weight: Weight): Run[] {
    const runs: Run[] = [];
    let current: Run | undefined;
    for (const ch of text.replace(CONTROL, " ")) {
      const cp = ch.codePointAt(0) ?? 0x20;
      const slot = slotFor(cp, weight);
      const g = this.glyphsOf(slot, cp);
      if (current?.slot === slot) {
        current.hex += g.hex;
        current.advance += g.advance;
      } else {
        current = { slot, hex: g.hex, advance: g.advance };
        runs.push(current);
      }
    }
    return runs;
  }

  /** Width in points of `text` at `size`. */
  width(text: string, weight: Weight, size: number): number {
    let advance = 0;
    for (const ch of text.replace(CONTROL, " ")) {
      const cp = ch.codePointAt(0) ?? 0x20;
      advance += this.glyphsOf(slotFor(cp, weight), cp).advance;
    }
    return (advance * size) / 1000;
  }

  /**
   * Breaks text into lines no wider than `maxWidth`, at a space or separator when one fits, inside a
   * word otherwise; at most `linesMax` lines, the last ending in "…" when text had to be left out.
   */
  wrap(text: string, weight: Weight, size: number, maxWidth: number, linesMax: number): string[] {
    const clean = text.replace(CONTROL, " ");
    if (this.width(clean, weight, size) <= maxWidth) return [clean];
    const lines: string[] = [];
    const chars = [...clean];
    let start = 0;
    while (start < chars.length && lines.length < linesMax) {
      let width = 0;
      let end = start;
      let lastSpace = -1;
      let lastSeparator = -1;
      while (end < chars.length) {
        const ch = chars[end] ?? " ";
        const w = this.width(ch, weight, size);
        if (width + w > maxWidth && end > start) break;
        width += w;
        if (ch === " ") lastSpace = end + 1;
        else if (BREAK_AFTER.has(ch)) lastSeparator = end + 1;
        end++;
      }
      // Prefer a space ("2026-09-01 ⏎ 10:00:00"), then a separator, then wherever the width ends.
      if (end < chars.length) {
        if (lastSpace > start) end = lastSpace;
        else if (lastSeparator > start) end = lastSeparator;
      }
      lines.push(chars.slice(start, end).join("").trimEnd());
      start = end;
      while (chars[start] === " ") start++;
    }
    if (start < chars.length) {
      let last = lines.pop() ?? "";
      while (last.length > 0 && this.width(last + ELLIPSIS, weight, size) > maxWidth)
        last = [...last].slice(0, -1).join("");
      lines.push(last + ELLIPSIS);
    }
    return lines;
  }

  /** Ascender of the Latin face in points at `size`: the distance from a line's top to its baseline. */
  ascent(size: number): number {
    return (this.font("regular").ascender * size) / 1000;
  }

  /** Makes sure the page's resources name the fonts of these runs. */
  private register(runs: readonly Run[]): void {
    const pageFonts = this.doc.page.fonts as Record<string, PDFKit.PDFKitReference>;
    for (const r of runs) {
      const font = this.font(r.slot);
      pageFonts[font.id] ??= font.ref();
    }
  }

  /**
   * Text operators for one string whose top-left corner is (x, top) in pdfkit's page coordinates; append
   * them between `begin()` and `end()` of a {@link TextBatch}.
   */
  show(text: string, weight: Weight, size: number, x: number, top: number): string {
    const runs = this.runs(text, weight);
    if (runs.length === 0) return "";
    this.register(runs);
    // pdfkit's page has a top-left origin; text is drawn in a batch that flips back to PDF's bottom-left.
    const baseline = this.doc.page.height - top - this.ascent(size);
    let ops = "";
    let cursor = x;
    for (const r of runs) {
      ops += `/${this.font(r.slot).id} ${number(size)} Tf 1 0 0 1 ${number(cursor)} ${number(baseline)} Tm <${r.hex}> Tj\n`;
      cursor += (r.advance * size) / 1000;
    }
    return ops;
  }

  /** Wraps text operators so that they draw in PDF's own (bottom-left) coordinates, in a fill colour. */
  batch(ops: string, gray = 0.1): string {
    if (ops === "") return "";
    return `q 1 0 0 -1 0 ${number(this.doc.page.height)} cm ${number(gray)} g BT\n${ops}ET Q`;
  }

  /**
   * A form XObject whose content is set only at the end: used for the total in "Page n of N", which is not
   * known until the last row has been laid out. Each page draws the same object; `fill` writes it, once.
   */
  placeholder(size: number): { ref: PDFKit.PDFKitReference; fill: (text: string) => void } {
    const font = this.font("regular");
    const height = size * 2;
    const ref = this.doc.ref({
      Type: "XObject",
      Subtype: "Form",
      BBox: [0, -height, size * 10, height],
      Resources: { Font: { [font.id]: font.ref() } },
    });
    return {
      ref,
      fill: (text: string) => {
        const runs = this.runs(text, "regular").filter((r) => r.slot === "regular");
        ref.end(`BT /${font.id} ${number(size)} Tf 0 0 Td <${runs.map((r) => r.hex).join("")}> Tj ET`);
      },
    };
  }
}
