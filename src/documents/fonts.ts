/**
 * @module The fonts every document embeds, parsed once per process: Noto Sans (Latin with accents,
 * Cyrillic, Greek) in regular and bold, then Noto Sans S Chinese (CJK ideographs and Japanese kana) and
 * Noto Sans KR (Hangul) as the fallbacks for any character Noto Sans lacks. They come from npm packages, so every machine that
 * installs the project renders the same glyphs; nothing depends on the fonts of the host.
 */
import fs from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import * as fontkit from "fontkit";
import type { Font } from "fontkit";

/** Which face a piece of text asks for; `cjk` is only ever chosen per character, as the fallback. */
export type FontSlot = "regular" | "bold" | "cjk" | "kr";

/** Every face a document registers (pdfkit embeds only the glyphs a document uses). */
export const FONT_SLOTS: readonly FontSlot[] = ["regular", "bold", "cjk", "kr"];

const FONT_FILES: Readonly<Record<FontSlot, { pkg: string; file: string }>> = {
  regular: { pkg: "@embedpdf/fonts-latin", file: "NotoSans-Regular.ttf" },
  bold: { pkg: "@embedpdf/fonts-latin", file: "NotoSans-Bold.ttf" },
  cjk: { pkg: "@embedpdf/fonts-sc", file: "NotoSansHans-Regular.otf" },
  kr: { pkg: "@embedpdf/fonts-kr", file: "NotoSansKR-Regular.otf" },
};

const require = createRequire(import.meta.url);

/** The packages export only their file list; the fonts sit in `fonts/` beside `dist/`. */
function fontPath(slot: FontSlot): string {
  const { pkg, file } = FONT_FILES[slot];
  const entry = require.resolve(pkg);
  return path.join(path.dirname(entry), "..", "fonts", file);
}

const parsed = new Map<FontSlot, Font>();

/**
 * The parsed font of a slot. Parsing once and handing the parsed object to pdfkit avoids re-reading and
 * re-parsing an 8 MB CJK font for every document (pdfkit would do so for a path or a buffer).
 */
export function loadFont(slot: FontSlot): Font {
  const cached = parsed.get(slot);
  if (cached) return cached;
  const font = fontkit.create(fs.readFileSync(fontPath(slot)));
  if (!("layout" in font)) throw new Error(`Assertion failed: ${FONT_FILES[slot].file} is a collection`);
  parsed.set(slot, font);
  return font;
}

const coverage = new Map<number, FontSlot | null>();

/**
 * The slot that draws a code point for a text in `primary`: the primary face when it has the glyph,
 * else the CJK face, else the Korean face. Null when none has it (emoji…): the primary face then
 * draws its "missing glyph" box. Results are cached per code point, so the cost is paid once per character.
 */
export function slotFor(codePoint: number, primary: "regular" | "bold"): FontSlot {
  // Plain ASCII is in both Latin faces: the common case skips the lookups.
  if (codePoint < 0x80) return primary;
  let covered = coverage.get(codePoint);
  if (covered === undefined) {
    covered = loadFont("regular").hasGlyphForCodePoint(codePoint)
      ? "regular"
      : loadFont("cjk").hasGlyphForCodePoint(codePoint)
        ? "cjk"
        : loadFont("kr").hasGlyphForCodePoint(codePoint)
          ? "kr"
          : null;
    coverage.set(codePoint, covered);
  }
  return covered === "cjk" || covered === "kr" ? covered : primary;
}
