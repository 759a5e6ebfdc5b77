/**
 * @module Ingesting a usage file (PRODUCT.md §9): a CSV with the contract's header or NDJSON with the same
 * keys, streamed line by line. Valid records are stored in batches (one transaction each); invalid lines go
 * to `FILE.rejects.csv` with their line number and reason. Re-running the same file changes nothing.
 */
import { once } from "node:events";
import fs from "node:fs";
import fsp from "node:fs/promises";
import path from "node:path";
import { pipeline } from "node:stream/promises";
import { stringify } from "csv-stringify";
import type { Stringifier } from "csv-stringify";
import type { Db } from "../db/database";
import { inTransaction } from "../db/database";
import { protectCell } from "../reports/csv";
import { loadRateTable } from "../services/catalog.service";
import { loadCompany } from "../services/company-context";
import { subjectDirectory } from "../services/people.service";
import { ingestUsage, USAGE_BATCH_RECORDS_MAX } from "../services/usage.service";
import type { UsageInput } from "../services/usage.service";
import { assert, invalid } from "../shared/errors";
import { parseUsageRecord, USAGE_RECORD_KEYS } from "./usage-record";
import type { RecordRefusal } from "./usage-record";
import { csvRecords } from "./csv-records";
import { textLines } from "./text-lines";
import type { TextLine } from "./text-lines";

/** Lines a usage file may have (header and blank lines included); split larger files. */
export const USAGE_FILE_LINES_MAX = 50_000_000;
/**
 * Characters one line (or one CSV record spanning lines) may have. Real usage lines are about 100
 * characters; the limit bounds memory when a file is not what it claims to be (a binary, say).
 */
export const USAGE_FILE_LINE_CHARS_MAX = 64 * 1024;
/** Records stored per transaction by default; at most USAGE_BATCH_RECORDS_MAX. */
export const USAGE_FILE_BATCH_RECORDS_DEFAULT = 5_000;
/** Bytes looked at to tell NDJSON from CSV when the file's extension does not say. */
const SNIFF_BYTES_MAX = 64 * 1024;

export type UsageFileFormat = "csv" | "ndjson";

export interface UsageFileProgress {
  lines: number;
  stored: number;
  duplicates: number;
  rejected: number;
}

export interface UsageFileResult extends UsageFileProgress {
  format: UsageFileFormat;
  unrated: number;
  chargedMinor: number;
  autoAllocations: number;
  /** `FILE.rejects.csv` when some lines were rejected; null (and no such file) otherwise. */
  rejectsPath: string | null;
}

export interface UsageFileOptions {
  nowMs: number;
  batchRecordsMax?: number;
  onProgress?: (progress: UsageFileProgress) => void;
  /** At most USAGE_FILE_LINES_MAX; lower only in tests. */
  linesMax?: number;
}

/** One data line of the file: a raw record for `parseUsageRecord`, or why it could not even be read as one. */
type SourceLine =
  | { kind: "record"; line: number; cells: readonly string[]; record: unknown }
  | { kind: "unreadable"; line: number; cells: readonly string[]; reason: string }
  /** The file is not read past this line (it has more than USAGE_FILE_LINES_MAX lines). */
  | { kind: "fatal"; line: number; reason: string };

interface RecordSource {
  /** The original fields' names, as the rejects file repeats them after `line,reason`. */
  columns: readonly string[];
  lines: AsyncGenerator<SourceLine>;
}

/** `x.csv` → csv; `.ndjson` / `.jsonl` → ndjson; otherwise a file whose first non-blank character is `{` is NDJSON. */
export async function detectUsageFileFormat(filePath: string): Promise<UsageFileFormat> {
  const ext = path.extname(filePath).toLowerCase();
  if (ext === ".csv") return "csv";
  if (ext === ".ndjson" || ext === ".jsonl") return "ndjson";
  const handle = await fsp.open(filePath, "r");
  try {
    const buffer = Buffer.alloc(SNIFF_BYTES_MAX);
    const { bytesRead } = await handle.read(buffer, 0, SNIFF_BYTES_MAX, 0);
    const head = buffer
      .toString("utf8", 0, bytesRead)
      .replace(/^\uFEFF/, "")
      .trimStart();
    return head.startsWith("{") ? "ndjson" : "csv";
  } finally {
    await handle.close();
  }
}

/**
 * Streams a usage file into the company's ledger. The company, its rate table and its subject directory
 * are read once; each batch of `batchRecordsMax` valid records is one transaction, so a failure part-way
 * keeps the batches before it, and running the file again stores only what is missing.
 */
export async function ingestUsageFile(
  db: Db,
  companyId: number,
  filePath: string,
  opts: UsageFileOptions,
): Promise<UsageFileResult> {
  const batchRecordsMax = opts.batchRecordsMax ?? USAGE_FILE_BATCH_RECORDS_DEFAULT;
  assert(
    Number.isInteger(batchRecordsMax) && batchRecordsMax >= 1 && batchRecordsMax <= USAGE_BATCH_RECORDS_MAX,
    `batchRecordsMax must be 1..${USAGE_BATCH_RECORDS_MAX}`,
  );
  const stat = await fsp.stat(filePath).catch(() => null);
  if (!stat || !stat.isFile()) throw invalid(`cannot read ${filePath}: no such file`);
  const format = await detectUsageFileFormat(filePath);

  const company = await loadCompany(db, companyId);
  const rates = await loadRateTable(db, companyId);
  const subjects = await subjectDirectory(db, companyId);
  // A rejects file left by an earlier run describes that run, not this one.
  const rejectsPath = `${filePath}.rejects.csv`;
  await fsp.rm(rejectsPath, { force: true });
  const lines = linesWithin(filePath, Math.min(opts.linesMax ?? USAGE_FILE_LINES_MAX, USAGE_FILE_LINES_MAX));
  const source = format === "csv" ? await openCsv(filePath, lines) : openNdjson(lines);
  const rejects = new RejectsWriter(rejectsPath, source.columns);

  const result: UsageFileResult = {
    format,
    lines: 0,
    stored: 0,
    duplicates: 0,
    rejected: 0,
    unrated: 0,
    chargedMinor: 0,
    autoAllocations: 0,
    rejectsPath: null,
  };
  let batch: UsageInput[] = [];
  // Where each record of the batch came from, for a record `ingestUsage` itself refuses (a purged month).
  let origins: { line: number; cells: readonly string[] }[] = [];
  const flush = async (): Promise<void> => {
    if (batch.length === 0) return;
    const records = batch;
    const from = origins;
    batch = [];
    origins = [];
    const stored = await inTransaction(db, (tx) =>
      ingestUsage(tx, company, records, { nowMs: opts.nowMs, rates }),
    );
    for (const r of stored.rejected) {
      const origin = from[r.index];
      assert(origin, "a refused record is one of the batch");
      await reject(origin.line, `${r.field}: ${r.reason}`, origin.cells);
    }
    result.stored += stored.stored;
    result.duplicates += stored.duplicates;
    result.unrated += stored.unrated;
    result.chargedMinor += stored.chargedMinor;
    result.autoAllocations += stored.autoAllocations;
    opts.onProgress?.({
      lines: result.lines,
      stored: result.stored,
      duplicates: result.duplicates,
      rejected: result.rejected,
    });
  };
  const reject = async (line: number, reason: string, cells: readonly string[]): Promise<void> => {
    result.rejected++;
    await rejects.add(line, reason, cells);
  };

  try {
    for await (const item of guarded(source.lines)) {
      if (item.kind === "fatal") {
        // Keep what was read before the limit, then stop with a message that says so.
        await flush();
        result.rejectsPath = await rejects.close();
        throw invalid(
          `${filePath} line ${item.line}: ${item.reason} (the ${result.lines} lines before it were processed: ` +
            `${result.stored} stored, ${result.rejected} rejected; ingesting the parts skips what is already stored)`,
        );
      }
      result.lines++;
      if (item.kind === "unreadable") {
        await reject(item.line, item.reason, item.cells);
        continue;
      }
      const parsed = parseUsageRecord(item.record, subjects);
      if (!parsed.ok) {
        await reject(item.line, describeRefusal(parsed.error), item.cells);
        continue;
      }
      batch.push(parsed.value);
      origins.push({ line: item.line, cells: item.cells });
      if (batch.length >= batchRecordsMax) await flush();
    }
    await flush();
    result.rejectsPath = await rejects.close();
    return result;
  } catch (error) {
    await rejects.abort();
    throw error;
  }
}

function describeRefusal(refusal: RecordRefusal): string {
  return refusal.field === "" ? refusal.reason : `${refusal.field}: ${refusal.reason}`;
}

// ---------------------------------------------------------------------------------------------------------
// CSV

/** Reads the header (a wrong one refuses the whole file before anything is stored), then yields the rows. */
async function openCsv(filePath: string, fileLines: AsyncGenerator<TextLine>): Promise<RecordSource> {
  const records = csvRecords(fileLines, USAGE_FILE_LINE_CHARS_MAX);
  const first = await records.next();
  if (first.done === true) {
    throw invalid(`${filePath} is empty: a usage CSV starts with the header ${USAGE_RECORD_KEYS.join(",")}`);
  }
  const header = first.value.cells;
  const headerProblem = first.value.kind === "cells" ? checkHeader(header) : first.value.reason;
  if (headerProblem !== null) {
    await records.return(undefined);
    throw invalid(
      `${filePath} line ${first.value.line}: the header must name the columns ` +
        `${USAGE_RECORD_KEYS.join(",")} (in any order); ${headerProblem}`,
    );
  }

  async function* lines(): AsyncGenerator<SourceLine> {
    for await (const item of records) {
      if (item.kind === "unreadable") {
        yield { kind: "unreadable", line: item.line, cells: item.cells, reason: item.reason };
        continue;
      }
      const cells = item.cells;
      if (cells.length !== header.length) {
        const count = `${cells.length} ${cells.length === 1 ? "cell" : "cells"}`;
        yield {
          kind: "unreadable",
          line: item.line,
          cells,
          reason: `has ${count}, the header has ${header.length}`,
        };
        continue;
      }
      // An empty cell is an absent value (an SMS's duration_s, a default segments).
      const record: Record<string, string> = {};
      for (let i = 0; i < cells.length; i++) {
        const cell = cells[i];
        const key = header[i];
        if (cell !== undefined && cell !== "" && key !== undefined) record[key] = cell;
      }
      yield { kind: "record", line: item.line, cells, record };
    }
  }
  return { columns: header, lines: lines() };
}

/** The file's lines, stopping with an error past `linesMax`. */
async function* linesWithin(filePath: string, linesMax: number): AsyncGenerator<TextLine> {
  for await (const item of textLines(filePath, USAGE_FILE_LINE_CHARS_MAX)) {
    if (item.line > linesMax) throw new TooManyLines(item.line, linesMax);
    yield item;
  }
}

/** Raised inside the line readers and turned into a "fatal" source line by `guarded`. */
class TooManyLines extends Error {
  constructor(
    readonly line: number,
    linesMax: number,
  ) {
    super(`the file has more than ${linesMax} lines: split it`);
  }
}

/** A source's lines, with a too long file ending in one "fatal" line instead of an exception. */
async function* guarded(lines: AsyncGenerator<SourceLine>): AsyncGenerator<SourceLine> {
  try {
    yield* lines;
  } catch (error) {
    if (!(error instanceof TooManyLines)) throw error;
    yield { kind: "fatal", line: error.line, reason: error.message };
  }
}

/** A wrong header is quoted in the error, but a file that is not a CSV at all must not flood it. */
const HEADER_UNKNOWN_SHOWN_MAX = 3;
const HEADER_CELL_SHOWN_CHARS_MAX = 40;
const quoteHeaderCell = (name: string): string =>
  JSON.stringify(
    name.length > HEADER_CELL_SHOWN_CHARS_MAX ? `${name.slice(0, HEADER_CELL_SHOWN_CHARS_MAX)}…` : name,
  );

function checkHeader(header: readonly string[]): string | null {
  const expected = new Set<string>(USAGE_RECORD_KEYS);
  const seen = new Set<string>();
  const unknown: string[] = [];
  const repeated: string[] = [];
  for (const name of header) {
    if (!expected.has(name)) unknown.push(quoteHeaderCell(name));
    else if (seen.has(name)) repeated.push(name);
    seen.add(name);
  }
  const missing = USAGE_RECORD_KEYS.filter((k) => !seen.has(k));
  const problems: string[] = [];
  if (missing.length > 0) problems.push(`missing: ${missing.join(", ")}`);
  if (unknown.length > 0)
    problems.push(
      `unknown: ${unknown.slice(0, HEADER_UNKNOWN_SHOWN_MAX).join(", ")}` +
        (unknown.length > HEADER_UNKNOWN_SHOWN_MAX
          ? ` and ${unknown.length - HEADER_UNKNOWN_SHOWN_MAX} more`
          : ""),
    );
  if (repeated.length > 0) problems.push(`repeated: ${repeated.join(", ")}`);
  return problems.length === 0 ? null : problems.join("; ");
}

// ---------------------------------------------------------------------------------------------------------
// NDJSON

function openNdjson(fileLines: AsyncGenerator<TextLine>): RecordSource {
  async function* lines(): AsyncGenerator<SourceLine> {
    for await (const { line, text } of fileLines) {
      if (text === null) {
        yield {
          kind: "unreadable",
          line,
          cells: [],
          reason: `is longer than ${USAGE_FILE_LINE_CHARS_MAX} characters`,
        };
        continue;
      }
      if (text.trim() === "") continue;
      let record: unknown;
      try {
        record = JSON.parse(text);
      } catch (error) {
        yield {
          kind: "unreadable",
          line,
          cells: [],
          reason: `is not valid JSON (${(error as Error).message})`,
        };
        continue;
      }
      yield { kind: "record", line, cells: ndjsonCells(record), record };
    }
  }
  return { columns: USAGE_RECORD_KEYS, lines: lines() };
}

/** The record's values in USAGE_RECORD_KEYS order, as text for the rejects file. */
function ndjsonCells(record: unknown): string[] {
  if (typeof record !== "object" || record === null || Array.isArray(record)) return [];
  const values = record as Record<string, unknown>;
  return USAGE_RECORD_KEYS.map((key) => {
    const value = values[key];
    if (value === undefined || value === null) return "";
    return typeof value === "string" ? value : JSON.stringify(value);
  });
}

// ---------------------------------------------------------------------------------------------------------
// Rejects file

/**
 * `FILE.rejects.csv`: `line,reason`, then the line's original fields. RFC 4180 with a byte-order mark and
 * CRLF (PRODUCT.md §4), created on the first reject only. It is written under a temporary name and renamed
 * when complete, so a crash never leaves a half file that looks whole. Cells a spreadsheet would run as a
 * formula are prefixed with ' (the line number points back at the untouched original).
 */
class RejectsWriter {
  private stringifier: Stringifier | undefined;
  private written: Promise<void> | undefined;
  private readonly partialPath: string;

  constructor(
    private readonly finalPath: string,
    private readonly columns: readonly string[],
  ) {
    this.partialPath = `${finalPath}.partial`;
  }

  async add(line: number, reason: string, cells: readonly string[]): Promise<void> {
    if (this.stringifier === undefined) {
      // csv-stringify quotes a cell with the record delimiter (CRLF) but not one with a lone CR or LF,
      // which would split the row in a spreadsheet: quoted_match closes that gap.
      this.stringifier = stringify({ bom: true, record_delimiter: "\r\n", quoted_match: /[\r\n]/ });
      this.written = pipeline(this.stringifier, fs.createWriteStream(this.partialPath));
      // Awaited in close(); until then a write error must not surface as an unhandled rejection.
      this.written.catch(() => undefined);
      await this.write(["line", "reason", ...this.columns]);
    }
    await this.write([String(line), reason, ...cells.map(protectCell)]);
  }

  private async write(row: string[]): Promise<void> {
    assert(this.stringifier, "rejects file is open");
    if (!this.stringifier.write(row)) await once(this.stringifier, "drain");
  }

  /** Completes the file; returns its path, or null when nothing was rejected. */
  async close(): Promise<string | null> {
    if (this.stringifier === undefined || this.written === undefined) return null;
    this.stringifier.end();
    await this.written;
    await fsp.rename(this.partialPath, this.finalPath);
    this.stringifier = undefined;
    return this.finalPath;
  }

  async abort(): Promise<void> {
    if (this.stringifier === undefined) return;
    this.stringifier.destroy();
    await this.written?.catch(() => undefined);
    this.stringifier = undefined;
    await fsp.rm(this.partialPath, { force: true });
  }
}
