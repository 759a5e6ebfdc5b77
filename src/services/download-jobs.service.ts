/**
 * @module Download jobs (PRODUCT.md §4, Download Reports): a generation that runs in the background of the
 * server process, writes its file into DOWNLOADS_DIR (named by the job's id), and keeps its state and
 * progress in the `download_jobs` table so a page reload finds it again. Rows are counted as they stream
 * through the reports' row iterators; a cancelled job stops between rows and its partial file is removed.
 * Files expire DOWNLOAD_EXPIRY_MS after they are made: `sweepExpiredDownloads` deletes them.
 *
 * On SQLite the one connection is held while a report's rows stream, so progress is kept in memory (and
 * read from there by this process) and written to the table between reports and whenever it can.
 */
import crypto from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import type { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import type { Db } from "../db/database";
import type { DownloadJobState, DownloadJobsTable } from "../db/schema";
import type { Selectable } from "kysely";
import { zipReports } from "../documents/zip";
import type { ReportRow } from "../reports/definitions";
import { FORMAT_MEDIA, renderReport } from "../reports/render";
import type { ReportFormat, ReportResult } from "../reports/report.service";
import { conflict, notFound } from "../shared/errors";
import type { Clock } from "../time/clock";

/** A generated file can be fetched for this long after it is made; then it is deleted. */
export const DOWNLOAD_EXPIRY_MS = 24 * 60 * 60 * 1000;
/** A queued or running job of no live generator that has not progressed for this long was cut off by a crash. */
export const DOWNLOAD_STALE_MS = 10 * 60 * 1000;
/** Where files go unless DOWNLOADS_DIR (or `setDownloadsDir`) says otherwise. */
export const DEFAULT_DOWNLOADS_DIR = "./data/downloads";
/** Progress is written to the table at most once per this many rows (and after each report). */
const PROGRESS_WRITE_EVERY_ROWS = 500;
/** How many of the caller's jobs the list shows, newest first. */
export const DOWNLOAD_JOBS_LISTED_MAX = 10;

const ACTIVE_STATES: readonly DownloadJobState[] = ["queued", "running"];

let dirOverride: string | undefined;

/** Sets the folder for generated files (tests use a temporary one); undefined goes back to the default. */
export function setDownloadsDir(dir: string | undefined): void {
  dirOverride = dir;
}

/** The folder for generated files: `setDownloadsDir`, else DOWNLOADS_DIR, else ./data/downloads. */
export function downloadsDir(): string {
  return path.resolve(dirOverride ?? (process.env["DOWNLOADS_DIR"] || DEFAULT_DOWNLOADS_DIR));
}

/** Test hooks: `beforeReport` runs before each report's rows start to stream (no connection held then). */
export const downloadJobHooks: { beforeReport?: (jobId: number, index: number) => Promise<void> } = {};

interface LiveJob {
  rows: number;
  cancelled: boolean;
  finished: Promise<void>;
}

/** The generators running in this process, per database (test servers share the process). */
const liveByDb = new WeakMap<object, Map<number, LiveJob>>();
function liveJobs(db: Db): Map<number, LiveJob> {
  let map = liveByDb.get(db.k);
  if (!map) {
    map = new Map();
    liveByDb.set(db.k, map);
  }
  return map;
}

class CancelledError extends Error {
  constructor() {
    super("cancelled");
  }
}

/** Who may see a job: its company and the principal who asked for it. */
export interface JobScope {
  companyId: number;
  requestedBy: string;
}

export interface DownloadJobView {
  id: number;
  state: DownloadJobState;
  progress_rows: number;
  month: string;
  format: string;
  reports: string[];
  file_name: string | null;
  error: string | null;
  created_at_ms: number;
  finished_at_ms: number | null;
  expires_at_ms: number;
  /** True when the job is done and its file can still be fetched. */
  available: boolean;
}

type JobRow = Selectable<DownloadJobsTable>;

function view(db: Db, row: JobRow, nowMs: number): DownloadJobView {
  const liveRows = liveJobs(db).get(row.id)?.rows ?? 0;
  return {
    id: row.id,
    state: row.state,
    progress_rows: Math.max(Number(row.progress_rows), liveRows),
    month: row.month,
    format: row.format,
    reports: row.reports.split(","),
    file_name: row.file_name,
    error: row.error,
    created_at_ms: row.created_at_ms,
    finished_at_ms: row.finished_at_ms,
    expires_at_ms: row.expires_at_ms,
    available: row.state === "done" && row.file_path !== null && row.expires_at_ms > nowMs,
  };
}

async function removeFile(filePath: string | null): Promise<void> {
  if (filePath === null) return;
  await fs.promises.rm(filePath, { force: true });
}

/** Deletes the files of expired jobs and marks them (file_path cleared); returns how many. */
export async function sweepExpiredDownloads(db: Db, nowMs: number): Promise<number> {
  const expired = await db.k
    .selectFrom("download_jobs")
    .select(["id", "file_path"])
    .where("expires_at_ms", "<=", nowMs)
    .where("file_path", "is not", null)
    .execute();
  for (const job of expired) {
    await removeFile(job.file_path);
    await db.k.updateTable("download_jobs").set({ file_path: null }).where("id", "=", job.id).execute();
  }
  return expired.length;
}

/** Marks failed the caller's jobs left queued or running by a process that stopped. */
async function failStaleJobs(db: Db, scope: JobScope, nowMs: number): Promise<void> {
  const liveIds = [...liveJobs(db).keys()];
  let update = db.k
    .updateTable("download_jobs")
    .set({
      state: "failed",
      error: "the server stopped while generating; please generate again",
      finished_at_ms: nowMs,
      updated_at_ms: nowMs,
    })
    .where("company_id", "=", scope.companyId)
    .where("requested_by", "=", scope.requestedBy)
    .where("state", "in", ACTIVE_STATES)
    .where("updated_at_ms", "<", nowMs - DOWNLOAD_STALE_MS);
  if (liveIds.length > 0) update = update.where("id", "not in", liveIds);
  await update.execute();
}

async function findJob(db: Db, scope: JobScope, id: number): Promise<JobRow> {
  const row = await db.k
    .selectFrom("download_jobs")
    .selectAll()
    .where("id", "=", id)
    .where("company_id", "=", scope.companyId)
    .where("requested_by", "=", scope.requestedBy)
    .executeTakeFirst();
  if (!row) throw notFound(`no download job ${id}`);
  return row;
}

export interface NewDownloadJob extends JobScope {
  month: string;
  format: ReportFormat;
  /** The `reports=` tokens, as asked for. */
  reports: readonly string[];
  /** The checked reports (runReport already ran: month, privacy and audit), with their files' names. */
  files: readonly { name: string; result: ReportResult }[];
  /** The file's name when there are several reports (a zip). */
  zipName: string;
}

/** Records a job and starts generating its file in the background; sweeps expired files first. */
export async function createDownloadJob(
  db: Db,
  clock: Clock,
  input: NewDownloadJob,
): Promise<DownloadJobView> {
  const now = clock.now();
  await sweepExpiredDownloads(db, now);
  const row = await db.k
    .insertInto("download_jobs")
    .values({
      company_id: input.companyId,
      requested_by: input.requestedBy,
      month: input.month,
      format: input.format,
      reports: input.reports.join(","),
      state: "queued",
      progress_rows: 0,
      file_path: null,
      file_name: null,
      error: null,
      created_at_ms: now,
      updated_at_ms: now,
      finished_at_ms: null,
      expires_at_ms: now + DOWNLOAD_EXPIRY_MS,
    })
    .returningAll()
    .executeTakeFirstOrThrow();
  const live: LiveJob = { rows: 0, cancelled: false, finished: Promise.resolve() };
  const jobs = liveJobs(db);
  jobs.set(row.id, live);
  live.finished = generate(db, clock, row.id, input, live).finally(() => jobs.delete(row.id));
  return view(db, row, now);
}

/** Resolves when this process's generator of the job has stopped (at once when there is none). */
export function downloadJobSettled(db: Db, id: number): Promise<void> {
  return liveJobs(db).get(id)?.finished ?? Promise.resolve();
}

async function generate(db: Db, clock: Clock, id: number, input: NewDownloadJob, live: LiveJob) {
  const active = (k: Db["k"]) =>
    k.updateTable("download_jobs").where("id", "=", id).where("state", "in", ACTIVE_STATES);
  let written = 0;
  let writing = false;
  const writeProgress = async () => {
    const rows = live.rows;
    await active(db.k).set({ progress_rows: rows, updated_at_ms: clock.now() }).execute();
    written = rows;
  };
  const counted = (index: number, source: AsyncIterable<ReportRow>): AsyncIterable<ReportRow> =>
    (async function* () {
      await downloadJobHooks.beforeReport?.(id, index);
      if (live.cancelled) throw new CancelledError();
      for await (const row of source) {
        if (live.cancelled) throw new CancelledError();
        live.rows += 1;
        if (!writing && live.rows - written >= PROGRESS_WRITE_EVERY_ROWS) {
          // Not awaited: on SQLite it runs once this report's rows release the connection.
          writing = true;
          writeProgress()
            .catch(() => undefined)
            .finally(() => (writing = false));
        }
        yield row;
      }
      await writeProgress();
    })();

  const ext = input.files.length === 1 ? FORMAT_MEDIA[input.format].ext : "zip";
  const dir = downloadsDir();
  const filePath = path.join(dir, `${id}-${crypto.randomBytes(6).toString("hex")}.${ext}`);
  const only = input.files.length === 1 ? input.files[0] : undefined;
  const fileName = only ? only.name : input.zipName;
  let created = false;
  try {
    await active(db.k).set({ state: "running", updated_at_ms: clock.now() }).execute();
    await fs.promises.mkdir(dir, { recursive: true });
    const streams = input.files.map((f, index) => ({
      name: f.name,
      stream: renderReport({ ...f.result, rows: counted(index, f.result.rows) }, input.format, {
        generatedAtMs: clock.now(),
      }),
    }));
    const source: Readable = only ? (streams[0]?.stream as Readable) : zipReports(streams);
    created = true;
    await pipeline(source, fs.createWriteStream(filePath));
    if (live.cancelled) throw new CancelledError();
    const now = clock.now();
    const done = await active(db.k)
      .set({
        state: "done",
        progress_rows: live.rows,
        file_path: filePath,
        file_name: fileName,
        updated_at_ms: now,
        finished_at_ms: now,
        expires_at_ms: now + DOWNLOAD_EXPIRY_MS,
      })
      .executeTakeFirst();
    // Cancelled (or marked failed) meanwhile: the file is not wanted.
    if (Number(done.numUpdatedRows) === 0) await removeFile(filePath);
  } catch (error) {
    if (created) await removeFile(filePath).catch(() => undefined);
    const now = clock.now();
    const cancelled = live.cancelled || error instanceof CancelledError;
    await active(db.k)
      .set({
        state: cancelled ? "cancelled" : "failed",
        error: cancelled ? null : error instanceof Error ? error.message : String(error),
        progress_rows: live.rows,
        updated_at_ms: now,
        finished_at_ms: now,
      })
      .execute()
      .catch(() => undefined);
  }
}

/** The caller's recent jobs, newest first. */
export async function listDownloadJobs(db: Db, scope: JobScope, nowMs: number): Promise<DownloadJobView[]> {
  await failStaleJobs(db, scope, nowMs);
  const rows = await db.k
    .selectFrom("download_jobs")
    .selectAll()
    .where("company_id", "=", scope.companyId)
    .where("requested_by", "=", scope.requestedBy)
    .orderBy("created_at_ms", "desc")
    .orderBy("id", "desc")
    .limit(DOWNLOAD_JOBS_LISTED_MAX)
    .execute();
  return rows.map((r) => view(db, r, nowMs));
}

/** One of the caller's jobs; another company's or another person's is not found. */
export async function getDownloadJob(
  db: Db,
  scope: JobScope,
  id: number,
  nowMs: number,
): Promise<DownloadJobView> {
  await failStaleJobs(db, scope, nowMs);
  return view(db, await findJob(db, scope, id), nowMs);
}

/** Cancels a queued or running job: its generator stops between rows and removes the partial file. */
export async function cancelDownloadJob(
  db: Db,
  scope: JobScope,
  id: number,
  nowMs: number,
): Promise<DownloadJobView> {
  const row = await findJob(db, scope, id);
  if (!ACTIVE_STATES.includes(row.state)) throw conflict(`the download is already ${row.state}`);
  const live = liveJobs(db).get(id);
  if (live) live.cancelled = true;
  await db.k
    .updateTable("download_jobs")
    .set({ state: "cancelled", error: null, updated_at_ms: nowMs, finished_at_ms: nowMs })
    .where("id", "=", id)
    .where("state", "in", ACTIVE_STATES)
    .execute();
  // A job of no live generator here (another process, or one that crashed) leaves no file behind.
  if (!live) await removeFile(row.file_path);
  return view(db, await findJob(db, scope, id), nowMs);
}

export type JobFile =
  { kind: "file"; path: string; name: string; contentType: string } | { kind: "gone"; message: string };

/** The job's file, or "gone" when it expired; a job not done yet is a conflict. */
export async function downloadJobFile(db: Db, scope: JobScope, id: number, nowMs: number): Promise<JobFile> {
  const row = await findJob(db, scope, id);
  if (row.state !== "done") throw conflict(`the download is ${row.state}, not done`);
  if (row.file_path === null || row.expires_at_ms <= nowMs || row.file_name === null)
    return { kind: "gone", message: "this download has expired; please generate it again" };
  if (!fs.existsSync(row.file_path))
    return {
      kind: "gone",
      message: "this download's file is no longer on the server; please generate it again",
    };
  const contentType = row.file_name.endsWith(".zip")
    ? "application/zip"
    : (FORMAT_MEDIA[row.format as ReportFormat]?.contentType ?? "application/octet-stream");
  return { kind: "file", path: row.file_path, name: row.file_name, contentType };
}
