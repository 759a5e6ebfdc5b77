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
import { CsvError, parse } from "csv-parse";
import type { Info } from "csv-parse";
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

/** Lines a usage file may have (header and blank lines included); split larger files. */
export const USAGE_FILE_LINES_MAX = 50_000_000;
/**
 * Characters one line (one CSV record) may have. Real usage lines are about 100 characters; the limit
 * bounds memory when a file is not what it claims to be (a binary, a CSV with a quote never closed).
 */
export const USAGE_FILE_LINE_CHARS_MAX = 64 * 1024;
/** Records stored per transaction by default; at most USAGE_BATCH_RECORDS_MAX. */
export const USAGE_FILE_BATCH_RECORDS_DEFAULT = 2_000;
/** Bytes read from disk at a time. */
const READ_CHUNK_BYTES = 1024 * 1024;
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
}

/** One data line of the file: a raw record for `parseUsageRecord`, or why it could not even be read as one. */
type SourceLine =
  | { kind: "record"; line: number; cells: readonly string[]; record: unknown }
  | { kind: "unreadable"; line: number; cells: readonly string[]; reason: string }
  /** The file cannot be read past this line (a CSV quote never closed, too many lines). */
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
  const source = format === "csv" ? await openCsv(filePath) : openNdjson(filePath);
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
  const flush = async (): Promise<void> => {
    if (batch.length === 0) return;
    const records = batch;
    batch = [];
    const stored = await inTransaction(db, (tx) =>
      ingestUsage(tx, company, records, { nowMs: opts.nowMs, rates }),
    );
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
    for await (const item of source.lines) {
      if (item.kind === "fatal") {
        // Keep what was read before the unreadable part, then stop with a message that says so.
        await flush();
        result.rejectsPath = await rejects.close();
        throw invalid(
          `${filePath} line ${item.line}: ${item.reason}. The ${result.lines} lines before it were processed ` +
            `(${result.stored} stored, ${result.rejected} rejected); after fixing the file, run it again: ` +
            `records already stored are counted as duplicates`,
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
async function openCsv(filePath: string): Promise<RecordSource> {
  const input = fs.createReadStream(filePath, { highWaterMark: READ_CHUNK_BYTES });
  const parser = input.pipe(
    parse({
      bom: true,
      info: true,
      // A stray quote inside a cell is kept as text; a wrong number of cells is the row's problem, not the file's.
      relax_quotes: true,
      relax_column_count: true,
      skip_empty_lines: true,
      max_record_size: USAGE_FILE_LINE_CHARS_MAX,
    }),
  );
  input.on("error", (error) => parser.destroy(error));
  const rows = parser[Symbol.asyncIterator]() as AsyncIterator<{ record: string[]; info: Info }>;
  const close = (): void => {
    input.destroy();
    parser.destroy();
  };

  let first: IteratorResult<{ record: string[]; info: Info }>;
  try {
    first = await rows.next();
  } catch (error) {
    close();
    if (error instanceof CsvError)
      throw invalid(`${filePath} line 1 is not a CSV header: ${csvErrorReason(error)}`);
    throw error;
  }
  if (first.done) {
    close();
    throw invalid(`${filePath} is empty: a usage CSV starts with the header ${USAGE_RECORD_KEYS.join(",")}`);
  }
  const header = first.value.record;
  const headerProblem = checkHeader(header);
  if (headerProblem !== null) {
    close();
    throw invalid(
      `${filePath} line ${first.value.info.lines}: the header must name the columns ` +
        `${USAGE_RECORD_KEYS.join(",")} (in any order); ${headerProblem}`,
    );
  }

  async function* lines(): AsyncGenerator<SourceLine> {
    let lastLine = first.value.info.lines;
    // csv-parse counts every CR and LF inside a quoted cell as a line end, so a CRLF inside a cell counts
    // twice; `drift` is how far its count has run ahead of the file's real (LF-terminated) lines.
    let drift = 0;
    try {
      for (;;) {
        let next: IteratorResult<{ record: string[]; info: Info }>;
        try {
          next = await rows.next();
        } catch (error) {
          if (!(error instanceof CsvError)) throw error;
          yield { kind: "fatal", line: lastLine + 1, reason: csvErrorReason(error) };
          return;
        }
        if (next.done) return;
        const { record: cells, info } = next.value;
        // info.lines is where the record ends; a quoted cell may span lines, and the record starts earlier.
        let breaks = 0;
        for (const cell of cells) {
          if (!cell.includes("\n") && !cell.includes("\r")) continue;
          drift += countChar(cell, "\r");
          breaks += countChar(cell, "\n");
        }
        lastLine = info.lines - drift;
        const line = lastLine - breaks;
        if (lastLine > USAGE_FILE_LINES_MAX) {
          yield {
            kind: "fatal",
            line,
            reason: `the file has more than ${USAGE_FILE_LINES_MAX} lines: split it`,
          };
          return;
        }
        if (cells.length !== header.length) {
          yield {
            kind: "unreadable",
            line,
            cells,
            reason: `has ${cells.length} ${cells.length === 1 ? "cell" : "cells"}, the header has ${header.length}`,
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
        yield { kind: "record", line, cells, record };
      }
    } finally {
      close();
    }
  }
  return { columns: header, lines: lines() };
}

function countChar(text: string, char: string): number {
  let n = 0;
  for (let i = text.indexOf(char); i !== -1; i = text.indexOf(char, i + 1)) n++;
  return n;
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

function csvErrorReason(error: CsvError): string {
  switch (error.code) {
    case "CSV_QUOTE_NOT_CLOSED":
      return 'a quoted cell is never closed (a " is missing)';
    case "CSV_MAX_RECORD_SIZE":
      return `the line is longer than ${USAGE_FILE_LINE_CHARS_MAX} characters`;
    default:
      return `not valid CSV (${error.message})`;
  }
}

// ---------------------------------------------------------------------------------------------------------
// NDJSON

function openNdjson(filePath: string): RecordSource {
  async function* lines(): AsyncGenerator<SourceLine> {
    for await (const { line, text } of textLines(filePath, USAGE_FILE_LINE_CHARS_MAX)) {
      if (line > USAGE_FILE_LINES_MAX) {
        yield {
          kind: "fatal",
          line,
          reason: `the file has more than ${USAGE_FILE_LINES_MAX} lines: split it`,
        };
        return;
      }
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

/**
 * The file's lines, numbered from 1, without their line ends (LF or CRLF) and a leading byte-order mark.
 * A line longer than `charsMax` is not kept in memory: it comes back as `text: null`.
 */
async function* textLines(
  filePath: string,
  charsMax: number,
): AsyncGenerator<{ line: number; text: string | null }> {
  const input = fs.createReadStream(filePath, { encoding: "utf8", highWaterMark: READ_CHUNK_BYTES });
  let line = 0;
  let carry = "";
  let tooLong = false;
  const finish = (text: string): { line: number; text: string | null } => {
    line++;
    if (tooLong) return { line, text: null };
    const withoutCr = text.endsWith("\r") ? text.slice(0, -1) : text;
    return { line, text: line === 1 ? withoutCr.replace(/^\uFEFF/, "") : withoutCr };
  };
  try {
    for await (const chunk of input as AsyncIterable<string>) {
      let start = 0;
      for (;;) {
        const end = chunk.indexOf("\n", start);
        if (end === -1) break;
        const piece = chunk.slice(start, end);
        const item = finish(carry === "" ? piece : carry + piece);
        if (!tooLong && item.text !== null && item.text.length > charsMax) item.text = null;
        yield item;
        carry = "";
        tooLong = false;
        start = end + 1;
      }
      if (!tooLong) {
        carry += chunk.slice(start);
        if (carry.length > charsMax) {
          tooLong = true;
          carry = "";
        }
      }
    }
    if (carry !== "" || tooLong) yield finish(carry);
  } finally {
    input.destroy();
  }
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
      this.stringifier = stringify({ bom: true, record_delimiter: "\r\n" });
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
