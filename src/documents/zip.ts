/**
 * @module Several report files as one zip (Download Reports, PRODUCT.md §4), streamed with yazl: each
 * file's stream is read only when the zip reaches it, so reports are generated one after another and
 * memory holds none of them whole. Also the files' names: `<company>-<month>-<report>.<ext>`.
 */
import { PassThrough } from "node:stream";
import type { Readable } from "node:stream";
import yazl from "yazl";

/** Zip entries are written with this time so that the same reports give the same bytes. */
const ENTRY_TIME = new Date(Date.UTC(2000, 0, 1));
/** A slug keeps names short enough for every file system. */
const SLUG_CHARS_MAX = 60;
/** One zip holds at most this many files: Download Reports offers four reports and three formats. */
export const ZIP_FILES_MAX = 64;

export interface ZipEntry {
  name: string;
  stream: Readable;
}

/**
 * A zip of the files, in order. An entry's stream that fails destroys the zip's stream with that error.
 * Names must be unique, relative, and plain (no folders).
 */
export function zipReports(files: readonly ZipEntry[]): Readable {
  if (files.length === 0 || files.length > ZIP_FILES_MAX)
    throw new Error(`Assertion failed: a zip holds 1 to ${ZIP_FILES_MAX} files (got ${files.length})`);
  const names = new Set<string>();
  for (const f of files) {
    if (names.has(f.name) || !/^[^/\\]+$/.test(f.name) || f.name === "." || f.name === "..")
      throw new Error(`Assertion failed: zip entry name "${f.name}" is repeated or not a plain file name`);
    names.add(f.name);
  }
  const zip = new yazl.ZipFile();
  const out = new PassThrough();
  for (const f of files) {
    f.stream.once("error", (error: Error) => out.destroy(error));
    zip.addReadStream(f.stream, f.name, { mtime: ENTRY_TIME, mode: 0o100644 });
  }
  zip.outputStream.once("error", (error: Error) => out.destroy(error));
  out.once("close", () => {
    // The reader went away: stop every file that is still being generated.
    for (const f of files) if (!f.stream.destroyed) f.stream.destroy();
  });
  zip.outputStream.pipe(out);
  zip.end();
  return out;
}

/** Latin letters that Unicode does not decompose into a base letter and an accent. */
const LATIN_EXTRA: Readonly<Record<string, string>> = {
  ł: "l",
  ø: "o",
  đ: "d",
  ß: "ss",
  æ: "ae",
  œ: "oe",
  þ: "th",
  ı: "i",
};

/** Lower-case ASCII letters and digits joined by "-", accents dropped: "Zoë & Co. Ltd" → "zoe-co-ltd". */
export function slugify(text: string): string {
  const slug = text
    .normalize("NFKD")
    .replace(/[\u0300-\u036f]/g, "")
    .toLowerCase()
    .replace(/[łøđßæœþı]/g, (ch) => LATIN_EXTRA[ch] ?? ch)
    .replace(/[^a-z0-9]+/g, "-")
    .replace(/^-+|-+$/g, "")
    .slice(0, SLUG_CHARS_MAX)
    .replace(/-+$/, "");
  return slug;
}

/**
 * `<company-slug>-<month>-<report>.<ext>`, with the feature or subject after the report when there is one
 * (`acme-ltd-2026-10-allocations-credit.pdf`, `acme-ltd-2026-10-usage-zoe-ng.csv`). A company whose name
 * has no Latin letters (王芳有限公司) gets "company".
 */
export function reportFileName(
  companyName: string,
  month: string,
  report: string,
  ext: string,
  qualifier?: string | null,
): string {
  const company = slugify(companyName) || "company";
  const extra = qualifier ? slugify(qualifier) : "";
  return `${company}-${month}-${report}${extra ? `-${extra}` : ""}.${ext}`;
}
