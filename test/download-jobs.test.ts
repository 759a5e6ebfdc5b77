/**
 * @module Download jobs over HTTP on SQLite and PostgreSQL: a generation runs in the background with its
 * state in the database; it can be polled, cancelled (partial file removed), and its file expires after
 * DOWNLOAD_EXPIRY_MS. Jobs are the caller's own: another company's job is not found; members may not.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import zlib from "node:zlib";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { importBundle } from "../src/bundle/import";
import {
  DOWNLOAD_EXPIRY_MS,
  downloadJobHooks,
  downloadJobSettled,
  setDownloadsDir,
  sweepExpiredDownloads,
} from "../src/services/download-jobs.service";
import { DIALECTS, postgresAvailable } from "./helpers/databases";
import { createTestServer } from "./helpers/http";
import type { TestClient, TestServer } from "./helpers/http";
import { NOW } from "./helpers/reports";
import { specExampleBundle } from "./helpers/spec-example-bundle";

const pgOk = await postgresAvailable();
const PASSWORD = "optional plain text, hashed on import";
const POLLS_MAX = 500;

/** A second company of the same shape, with its own names. */
function companyB(): unknown {
  const text = JSON.stringify(specExampleBundle())
    .replaceAll("Acme Ltd", "Beta GmbH")
    .replaceAll("acme.bob", "beta.bert")
    .replaceAll("Bob Byrne", "Bert Brandt")
    .replaceAll("bob@acme.example", "bert@beta.example")
    .replaceAll("ana@acme.example", "ana@beta.example")
    .replaceAll("London PBX", "Berlin PBX")
    .replaceAll("P-1001", "B-2001")
    .replaceAll("P-1002", "B-2002")
    .replaceAll("+442079460000", "+493012345678");
  return JSON.parse(text) as unknown;
}

/** The names and contents of a zip's entries, read from its central directory (stored or deflated). */
function readZip(zip: Buffer): Map<string, Buffer> {
  const eocd = zip.lastIndexOf(Buffer.from([0x50, 0x4b, 0x05, 0x06]));
  expect(eocd).toBeGreaterThan(0);
  const count = zip.readUInt16LE(eocd + 10);
  let at = zip.readUInt32LE(eocd + 16);
  const files = new Map<string, Buffer>();
  for (let i = 0; i < count; i++) {
    expect(zip.readUInt32LE(at)).toBe(0x02014b50);
    const method = zip.readUInt16LE(at + 10);
    const size = zip.readUInt32LE(at + 20);
    const nameLength = zip.readUInt16LE(at + 28);
    const extra = zip.readUInt16LE(at + 30);
    const comment = zip.readUInt16LE(at + 32);
    const local = zip.readUInt32LE(at + 42);
    const name = zip.toString("utf8", at + 46, at + 46 + nameLength);
    const dataStart = local + 30 + zip.readUInt16LE(local + 26) + zip.readUInt16LE(local + 28);
    const data = zip.subarray(dataStart, dataStart + size);
    files.set(name, method === 8 ? zlib.inflateRawSync(data) : Buffer.from(data));
    at += 46 + nameLength + extra + comment;
  }
  return files;
}

/** The fields of a job the tests read. */
interface JobJson {
  id: number;
  state: string;
  progress_rows: number;
  file_name: string | null;
  available: boolean;
}

const tick = () => new Promise<void>((resolve) => setTimeout(resolve, 5));

describe.each(DIALECTS.filter((d) => d === "sqlite" || pgOk))("Download jobs on %s", (dialect) => {
  let s: TestServer;
  let dir: string;
  let owner: TestClient;
  let member: TestClient;
  let other: TestClient;

  const JOB = { month: "2026-09", format: "csv", reports: ["summary", "purchases", "allocations:credit"] };

  /** Polls the job until it leaves queued/running (bounded, short ticks). */
  const pollUntilSettled = async (c: TestClient, id: number): Promise<JobJson> => {
    for (let i = 0; i < POLLS_MAX; i++) {
      const res = await c.get(`/api/v1/downloads/jobs/${id}`);
      expect(res.status).toBe(200);
      if (res.json.state !== "queued" && res.json.state !== "running") return res.json as JobJson;
      await tick();
    }
    throw new Error(`job ${id} did not finish`);
  };

  const acmeId = async () =>
    (
      await s.db.k
        .selectFrom("companies")
        .select("id")
        .where("name", "=", "Acme Ltd")
        .executeTakeFirstOrThrow()
    ).id;

  const fetchFile = async (c: TestClient, id: number) => {
    const res = await s.app.request(`/api/v1/downloads/jobs/${id}/file`, {
      headers: c.cookie ? { cookie: c.cookie } : {},
    });
    return { status: res.status, headers: res.headers, body: Buffer.from(await res.arrayBuffer()) };
  };

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "sb-downloads-"));
    setDownloadsDir(dir);
    s = await createTestServer(dialect);
    await importBundle(s.db, specExampleBundle(), { nowMs: NOW });
    await importBundle(s.db, companyB(), { nowMs: NOW });
    owner = s.client();
    member = s.client();
    other = s.client();
    expect((await owner.login("ana@acme.example", PASSWORD)).status).toBe(200);
    expect((await other.login("ana@beta.example", PASSWORD)).status).toBe(200);
    const created = await owner.post("/api/v1/members", {
      name: "Mia Member",
      username: "mia",
      email: "mia@acme.example",
      password: "mia-password-1",
    });
    expect(created.status).toBe(201);
    expect((await member.login("mia@acme.example", "mia-password-1")).json.kind).toBe("member");
  });
  afterEach(() => {
    delete downloadJobHooks.beforeReport;
  });
  afterAll(async () => {
    setDownloadsDir(undefined);
    await s.drop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it("a job for 3 CSV reports runs in the background and gives a zip of exactly those 3 files", async () => {
    const res = await owner.post("/api/v1/downloads/jobs", JOB);
    expect(res.status).toBe(202);
    expect(res.json.state).toBe("queued");
    const id = res.json.id as number;
    const job = await pollUntilSettled(owner, id);
    expect(job).toMatchObject({ state: "done", available: true, file_name: "acme-ltd-2026-09-reports.zip" });
    expect(job.progress_rows).toBeGreaterThan(0);

    const file = await fetchFile(owner, id);
    expect(file.status).toBe(200);
    expect(file.headers.get("content-type")).toBe("application/zip");
    expect(file.headers.get("content-disposition")).toBe(
      'attachment; filename="acme-ltd-2026-09-reports.zip"',
    );
    const files = readZip(file.body);
    expect([...files.keys()]).toEqual([
      "acme-ltd-2026-09-summary.csv",
      "acme-ltd-2026-09-purchases.csv",
      "acme-ltd-2026-09-allocations-credit.csv",
    ]);
    expect(files.get("acme-ltd-2026-09-purchases.csv")?.toString("utf8")).toContain("P-1001");
    // The zip is the same as the one the synchronous GET gives.
    const sync = await s.app.request(
      "/api/v1/downloads?month=2026-09&format=csv&reports=summary,purchases,allocations:credit",
      { headers: { cookie: owner.cookie ?? "" } },
    );
    expect(Buffer.from(await sync.arrayBuffer()).equals(file.body)).toBe(true);
    // The rows counted are every data row of the 3 CSVs (each has one header line).
    const dataRows = [...files.values()]
      .map((b) => b.toString("utf8").trimEnd().split("\n").length - 1)
      .reduce((a, b) => a + b, 0);
    expect(job.progress_rows).toBe(dataRows);

    const list = await owner.get("/api/v1/downloads/jobs");
    expect(list.status).toBe(200);
    expect(list.json.jobs[0]).toMatchObject({ id, state: "done", reports: JOB.reports });
  });

  it("one report comes as its own file", async () => {
    const res = await owner.post("/api/v1/downloads/jobs", { ...JOB, reports: ["purchases"] });
    expect(res.status).toBe(202);
    const job = await pollUntilSettled(owner, res.json.id);
    expect(job).toMatchObject({ state: "done", file_name: "acme-ltd-2026-09-purchases.csv" });
    const file = await fetchFile(owner, res.json.id);
    expect(file.headers.get("content-type")).toBe("text/csv; charset=utf-8");
    expect(file.body.toString("utf8")).toContain("P-1001");
  });

  it("a cancelled job stops, is marked cancelled, and leaves no file", async () => {
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    downloadJobHooks.beforeReport = () => gate;
    const before = new Set(fs.readdirSync(dir));
    const res = await owner.post("/api/v1/downloads/jobs", JOB);
    expect(res.status).toBe(202);
    const id = res.json.id as number;
    const cancelled = await owner.delete(`/api/v1/downloads/jobs/${id}`);
    expect(cancelled.status).toBe(200);
    expect(cancelled.json.state).toBe("cancelled");
    release();
    await downloadJobSettled(s.db, id);
    const job = await owner.get(`/api/v1/downloads/jobs/${id}`);
    expect(job.json).toMatchObject({ state: "cancelled", available: false });
    expect(fs.readdirSync(dir).filter((f) => !before.has(f))).toEqual([]);
    expect((await fetchFile(owner, id)).status).toBe(409);
    // A finished job cannot be cancelled.
    expect((await owner.delete(`/api/v1/downloads/jobs/${id}`)).status).toBe(409);
  });

  it("a job's file expires after DOWNLOAD_EXPIRY_MS: the sweep deletes it and the file answers 410", async () => {
    const res = await owner.post("/api/v1/downloads/jobs", { ...JOB, reports: ["summary"] });
    const id = res.json.id as number;
    await pollUntilSettled(owner, id);
    expect((await fetchFile(owner, id)).status).toBe(200);
    const row = await s.db.k
      .selectFrom("download_jobs")
      .select(["file_path", "expires_at_ms"])
      .where("id", "=", id)
      .executeTakeFirstOrThrow();
    expect(row.expires_at_ms).toBe(s.clock.now() + DOWNLOAD_EXPIRY_MS);
    expect(fs.existsSync(row.file_path ?? "")).toBe(true);
    const start = s.clock.now();
    try {
      s.clock.advance(25 * 60 * 60 * 1000);
      expect(await sweepExpiredDownloads(s.db, s.clock.now())).toBeGreaterThanOrEqual(1);
      expect(fs.existsSync(row.file_path ?? "")).toBe(false);
      // A day later the morning's session has ended: sign in again.
      const later = s.client();
      expect((await later.login("ana@acme.example", PASSWORD)).status).toBe(200);
      const gone = await fetchFile(later, id);
      expect(gone.status).toBe(410);
      expect(JSON.parse(gone.body.toString("utf8")).error.code).toBe("gone");
      expect((await later.get(`/api/v1/downloads/jobs/${id}`)).json.available).toBe(false);
    } finally {
      s.clock.set(start);
    }
  });

  it("a job left running by a stopped process is marked failed after 10 minutes without progress", async () => {
    const now = s.clock.now();
    const { id } = await s.db.k
      .insertInto("download_jobs")
      .values({
        company_id: await acmeId(),
        requested_by: "ana@acme.example",
        month: "2026-09",
        format: "csv",
        reports: "summary",
        state: "running",
        progress_rows: 3,
        file_path: null,
        file_name: null,
        error: null,
        created_at_ms: now - 11 * 60_000,
        updated_at_ms: now - 11 * 60_000,
        finished_at_ms: null,
        expires_at_ms: now + DOWNLOAD_EXPIRY_MS,
      })
      .returning("id")
      .executeTakeFirstOrThrow();
    const job = await owner.get(`/api/v1/downloads/jobs/${id}`);
    expect(job.json).toMatchObject({ state: "failed", progress_rows: 3 });
  });

  it("another company's job is not found; members may not; the body is validated", async () => {
    const res = await owner.post("/api/v1/downloads/jobs", { ...JOB, reports: ["summary"] });
    const id = res.json.id as number;
    await pollUntilSettled(owner, id);
    expect((await other.get(`/api/v1/downloads/jobs/${id}`)).status).toBe(404);
    expect((await fetchFile(other, id)).status).toBe(404);
    expect((await other.delete(`/api/v1/downloads/jobs/${id}`)).status).toBe(404);
    expect((await other.get("/api/v1/downloads/jobs")).json.jobs).toEqual([]);

    expect((await member.post("/api/v1/downloads/jobs", JOB)).status).toBe(403);
    expect((await member.get("/api/v1/downloads/jobs")).status).toBe(403);
    expect((await member.get(`/api/v1/downloads/jobs/${id}`)).status).toBe(403);

    const bad = await owner.post("/api/v1/downloads/jobs", { ...JOB, reports: ["summary", "nope"] });
    expect(bad.status).toBe(400);
    expect(bad.json.error.message).toContain('unknown report "nope"');
    expect((await owner.post("/api/v1/downloads/jobs", { ...JOB, reports: [] })).status).toBe(400);
    expect((await owner.post("/api/v1/downloads/jobs", { ...JOB, month: "2026-13" })).status).toBe(400);
  });
});
