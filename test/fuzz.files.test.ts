/**
 * Corrupted files, through the command line as an operator runs it and through the HTTP import, on SQLite
 * and PostgreSQL: the bundle (`switchboard import`), usage files in CSV and NDJSON (`switchboard usage
 * ingest`) and the members CSV list (POST /api/v1/members/import). Valid files are broken at random
 * (truncation, byte flips, invalid UTF-8, byte-order marks, CRLF/LF/CR mixes, huge lines, duplicate headers,
 * stray quotes, NUL, hostile values) and the answer must always be a clear error naming the place (or, for
 * usage, per-line rejects), the exit codes of PRODUCT.md §9/§10, never a stack trace, never a partial import.
 * Cases per format: 12 on SQLite, 5 on PostgreSQL (FUZZ_RUNS=N for N on both).
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { PassThrough } from "node:stream";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { importBundle } from "../src/bundle/import";
import type { Database, Dialect } from "../src/db/database";
import { loadConfig } from "../src/config";
import { createApp } from "../src/http/app";
import { main } from "../src/cli/main";
import { MEMBERS_IMPORT_ROWS_MAX, USAGE_FILE_LINE_CHARS_MAX } from "../src/shared/limits";
import { ManualClock } from "../src/time/clock";
import { createTestDatabase, DIALECTS, postgresAvailable } from "./helpers/databases";
import { companyFingerprint, fuzzRuns, HOSTILE_NUMBERS, HOSTILE_STRINGS, leakIn } from "./helpers/fuzz";
import { tableRowCounts } from "./helpers/ledger-state";
import { NOW } from "./helpers/reports";
import { specExampleBundle } from "./helpers/spec-example-bundle";

const pgOk = await postgresAvailable();
const RUNS: Record<Dialect, number> = { sqlite: fuzzRuns(12), postgres: fuzzRuns(5) };
const PASSWORD = "optional plain text, hashed on import";
const dir = fs.mkdtempSync(path.join(os.tmpdir(), "sb-fuzz-files-"));

/** A corruption of a file's bytes. */
type Corruption =
  | { kind: "truncate"; at: number }
  | { kind: "flip"; at: number; byte: number }
  | { kind: "invalid-utf8"; at: number }
  | { kind: "bom" }
  | { kind: "double-bom" }
  | { kind: "crlf" }
  | { kind: "cr" }
  | { kind: "mixed-eol"; at: number }
  | { kind: "huge-line"; at: number }
  | { kind: "quote"; at: number }
  | { kind: "nul"; at: number }
  | { kind: "duplicate-first-line" };

const fraction = fc.double({ min: 0, max: 1, noNaN: true, maxExcluded: true });
const corruption: fc.Arbitrary<Corruption> = fc.oneof(
  fraction.map((at) => ({ kind: "truncate" as const, at })),
  fc
    .record({ at: fraction, byte: fc.integer({ min: 0, max: 255 }) })
    .map((r) => ({ kind: "flip" as const, ...r })),
  fraction.map((at) => ({ kind: "invalid-utf8" as const, at })),
  fc.constant({ kind: "bom" as const }),
  fc.constant({ kind: "double-bom" as const }),
  fc.constant({ kind: "crlf" as const }),
  fc.constant({ kind: "cr" as const }),
  fraction.map((at) => ({ kind: "mixed-eol" as const, at })),
  fraction.map((at) => ({ kind: "huge-line" as const, at })),
  fraction.map((at) => ({ kind: "quote" as const, at })),
  fraction.map((at) => ({ kind: "nul" as const, at })),
  fc.constant({ kind: "duplicate-first-line" as const }),
);

function corrupt(text: string, c: Corruption): Buffer {
  const bytes = Buffer.from(text, "utf8");
  const pos = "at" in c ? Math.floor(c.at * bytes.length) : 0;
  const splice = (insert: Buffer) => Buffer.concat([bytes.subarray(0, pos), insert, bytes.subarray(pos)]);
  switch (c.kind) {
    case "truncate":
      return bytes.subarray(0, pos);
    case "flip": {
      const copy = Buffer.from(bytes);
      copy[pos] = c.byte;
      return copy;
    }
    case "invalid-utf8":
      return splice(Buffer.from([0xc0, 0x80, 0xff, 0xe2, 0x82]));
    case "bom":
      return Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), bytes]);
    case "double-bom":
      return Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf, 0xef, 0xbb, 0xbf]), bytes]);
    case "crlf":
      return Buffer.from(text.replace(/\n/g, "\r\n"));
    case "cr":
      return Buffer.from(text.replace(/\n/g, "\r"));
    case "mixed-eol": {
      let i = 0;
      return Buffer.from(text.replace(/\n/g, () => ["\n", "\r\n", "\r"][i++ % 3] ?? "\n"));
    }
    case "huge-line":
      return splice(Buffer.from("x".repeat(USAGE_FILE_LINE_CHARS_MAX + 10)));
    case "quote":
      return splice(Buffer.from('"'));
    case "nul":
      return splice(Buffer.from([0]));
    case "duplicate-first-line": {
      const first = text.slice(0, text.indexOf("\n") + 1);
      return Buffer.from(first + text);
    }
  }
}

/** Runs the CLI in-process; returns its exit code and what it wrote. */
async function cli(url: string, args: string[]) {
  const out = new PassThrough();
  const err = new PassThrough();
  let outText = "";
  let errText = "";
  out.on("data", (b: Buffer) => (outText += b.toString()));
  err.on("data", (b: Buffer) => (errText += b.toString()));
  const code = await main(["node", "switchboard", ...args], {
    env: { DATABASE_URL: url },
    out,
    err,
    clock: new ManualClock(NOW),
  });
  return { code, out: outText, err: errText };
}

/** A CLI refusal: one sentence on stderr, prefixed, no stack trace, no internals. */
function expectCleanRefusal(r: { code: number; err: string }, where: string): void {
  expect(r.code, `${where}: ${r.err}`).toBe(1);
  expect(r.err.startsWith("switchboard: "), `${where}: ${r.err}`).toBe(true);
  expect(r.err.trim().split("\n"), `${where}: ${r.err}`).toHaveLength(1);
  expect(leakIn(r.err), `${where}: ${r.err}`).toBeUndefined();
  expect(r.err).not.toContain("internal error");
}

const usageLines = (n: number, from = 0) =>
  Array.from({ length: n }, (_, i) => ({
    external_id: `cdr-f-${from + i}`,
    subject: i % 3 === 0 ? "sip:London PBX" : "acme.bob",
    kind: i % 4 === 0 ? "sms" : "call",
    started_at: `2026-09-10T${String(10 + (i % 10)).padStart(2, "0")}:00:${String(i % 60).padStart(2, "0")}Z`,
    destination: "+442079460123",
    duration_s: i % 4 === 0 ? "" : String(30 + i),
    segments: i % 4 === 0 ? "1" : "",
  }));
const HEADER = "external_id,subject,kind,started_at,destination,duration_s,segments";
const csvOf = (rows: ReturnType<typeof usageLines>) =>
  `${HEADER}\n${rows.map((r) => [r.external_id, `"${r.subject}"`, r.kind, r.started_at, r.destination, r.duration_s, r.segments].join(",")).join("\n")}\n`;
const ndjsonOf = (rows: ReturnType<typeof usageLines>) =>
  rows
    .map((r) =>
      JSON.stringify({
        ...r,
        duration_s: r.duration_s === "" ? undefined : Number(r.duration_s),
        segments: r.segments === "" ? undefined : Number(r.segments),
      }),
    )
    .join("\n") + "\n";

/** Sets `value` at a random place of the bundle: a top-level field, an item's field, an event's field. */
const hostileBundle = fc
  .record({
    section: fc.constantFrom(
      "company",
      "admins",
      "groups",
      "members",
      "sip_profiles",
      "rates",
      "plans",
      "events",
    ),
    index: fc.nat({ max: 20 }),
    key: fc.constantFrom(
      "name",
      "email",
      "amount",
      "at",
      "to",
      "key",
      "prefix",
      "per_minute",
      "interval",
      "duration_s",
      "destination",
      "currency",
      "timezone",
      "type",
      "unknown_key",
    ),
    value: fc.oneof(
      fc.constantFrom(...HOSTILE_STRINGS),
      fc.constantFrom<unknown>(...HOSTILE_NUMBERS, null, [], {}),
    ),
  })
  .map((m) => {
    const doc = specExampleBundle() as Record<string, unknown>;
    const target = doc[m.section];
    let place: string;
    if (Array.isArray(target)) {
      const i = m.index % target.length;
      (target[i] as Record<string, unknown>)[m.key] = m.value;
      place = `${m.section}[${i}]`;
    } else {
      (target as Record<string, unknown>)[m.key] = m.value;
      place = m.section;
    }
    return {
      text: JSON.stringify(doc),
      place,
      what: `${m.section}.${m.key} = ${JSON.stringify(m.value)?.slice(0, 40)}`,
    };
  });

describe.each(DIALECTS.filter((d) => d === "sqlite" || pgOk))("corrupted files on %s", (dialect) => {
  let db: Database;
  let drop: () => Promise<void>;
  let url: string;
  let companyId: number;
  let cases = 0;

  beforeAll(async () => {
    if (dialect === "sqlite") {
      url = `sqlite:${path.join(dir, "fuzz.db")}`;
      const r = await cli(url, ["migrate"]);
      expect(r.code, r.err).toBe(0);
      const { openDatabase } = await import("../src/db/database");
      db = openDatabase(url);
      drop = () => db.close();
    } else {
      ({ db, drop } = await createTestDatabase("postgres"));
      url = db.url;
    }
    companyId = (await importBundle(db, specExampleBundle(), { nowMs: NOW })).company_id;
  });
  afterAll(async () => {
    await drop();
    console.info(`fuzz.files on ${dialect}: ${cases} corrupted files`);
  });

  it("bundle: a corrupted file imports whole or not at all, with a clear message", async () => {
    const valid = JSON.stringify(specExampleBundle(), null, 2);
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          corruption.map((c) => ({ bytes: corrupt(valid, c), place: undefined, what: c.kind })),
          hostileBundle.map((h) => ({ bytes: Buffer.from(h.text), place: h.place, what: h.what })),
        ),
        async (input) => {
          cases++;
          const file = path.join(dir, `bundle-${dialect}.json`);
          fs.writeFileSync(file, input.bytes);
          const before = await tableRowCounts(db);
          const r = await cli(url, ["import", file]);
          const where = `bundle (${input.what})`;
          if (r.code === 0) {
            const out = JSON.parse(r.out) as { company_id: number };
            expect(out.company_id, where).toBeGreaterThan(companyId);
            expect(r.err, where).toBe("");
            return;
          }
          expectCleanRefusal(r, where);
          if (input.place !== undefined && !r.err.includes("not valid JSON"))
            expect(r.err, where).toContain(input.place.replace(/\[.*/, ""));
          expect(await tableRowCounts(db), `${where}: a refused import left rows behind`).toEqual(before);
        },
      ),
      { numRuns: RUNS[dialect] * 2, endOnFailure: true },
    );
  });

  it("bundle: a NUL character is refused with its place on both databases (PostgreSQL cannot store it)", async () => {
    const doc = specExampleBundle() as { groups: { name: string }[] };
    const group = doc.groups[0];
    if (group) group.name = "Sa\u0000les";
    const file = path.join(dir, `nul-${dialect}.json`);
    fs.writeFileSync(file, JSON.stringify(doc));
    const before = await tableRowCounts(db);
    const r = await cli(url, ["import", file]);
    expectCleanRefusal(r, "NUL in a group name");
    expect(r.err).toContain("groups[0].name: must not contain the NUL character");
    expect(await tableRowCounts(db)).toEqual(before);
  });

  for (const format of ["csv", "ndjson"] as const) {
    it(`usage ${format}: corrupted lines are rejected one by one, the rest stored once`, async () => {
      let batch = 0;
      await fc.assert(
        fc.asyncProperty(fc.array(corruption, { minLength: 1, maxLength: 2 }), async (cs) => {
          cases++;
          batch++;
          const rows = usageLines(8, batch * 1000 + (dialect === "postgres" ? 500 : 0));
          let bytes: Buffer = Buffer.from(format === "csv" ? csvOf(rows) : ndjsonOf(rows));
          for (const c of cs) bytes = corrupt(bytes.toString("utf8"), c);
          const file = path.join(dir, `usage-${dialect}-${batch}.${format}`);
          fs.writeFileSync(file, bytes);
          const where = `usage ${format} (${cs.map((c) => c.kind).join(", ")})`;
          const before = await companyFingerprint(db, companyId);
          const r = await cli(url, ["usage", "ingest", "--company", String(companyId), "--json", file]);
          if (r.code === 1) {
            // A file-level refusal (no header, not a usage file): nothing stored.
            expectCleanRefusal(r, where);
            expect(await companyFingerprint(db, companyId), where).toBe(before);
            return;
          }
          expect([0, 3], `${where}: ${r.err}`).toContain(r.code);
          expect(leakIn(r.err + r.out), where).toBeUndefined();
          const result = JSON.parse(r.out) as {
            stored: number;
            duplicates: number;
            rejected: number;
            rejects_file: string | null;
          };
          expect(result.stored, where).toBeLessThanOrEqual(rows.length);
          if (r.code === 3) {
            expect(result.rejected, where).toBeGreaterThan(0);
            const rejects = fs.readFileSync(result.rejects_file ?? "", "utf8");
            expect(rejects.split(/\r?\n/)[0], where).toMatch(/^\uFEFF?line,reason/);
            expect(rejects.split(/\r?\n/).filter((l) => /^\d+,/.test(l)).length, where).toBe(result.rejected);
          } else expect(result.rejected, where).toBe(0);
          // Re-running the same file changes nothing.
          const again = await companyFingerprint(db, companyId);
          const second = await cli(url, ["usage", "ingest", "--company", String(companyId), "--json", file]);
          expect(second.code, where).toBe(r.code);
          expect((JSON.parse(second.out) as { stored: number }).stored, where).toBe(0);
          const after = await companyFingerprint(db, companyId);
          const strip = (f: string) =>
            f
              .split("\n")
              .filter((l) => !l.startsWith("audit_log") && !l.startsWith("companies"))
              .join("\n");
          expect(strip(after), `${where}: a re-run changed something`).toBe(strip(again));
        }),
        { numRuns: RUNS[dialect], endOnFailure: true },
      );
    });
  }

  it("members CSV over HTTP: imports all rows or, on the first bad line, none — naming the line", async () => {
    const app = createApp({ db, clock: new ManualClock(NOW), config: loadConfig({ LOG_LEVEL: "silent" }) });
    const login = await app.request("/api/v1/auth/login", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ email: "ana@acme.example", password: PASSWORD, company_id: companyId }),
    });
    expect(login.status).toBe(200);
    const cookie = (login.headers.get("set-cookie") ?? "").split(";")[0] ?? "";
    const csrf = ((await login.json()) as { csrf_token: string }).csrf_token;
    const post = async (body: Buffer | string) => {
      const res = await app.request("/api/v1/members/import", {
        method: "POST",
        headers: { cookie, "x-csrf-token": csrf, "content-type": "text/csv" },
        body,
      });
      return { status: res.status, text: await res.text() };
    };
    let batch = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.array(corruption, { minLength: 1, maxLength: 2 }),
        fc.constantFrom(...HOSTILE_STRINGS.filter((x) => x.length < 100)),
        async (cs, name) => {
          cases++;
          batch++;
          const rows = Array.from(
            { length: 5 },
            (_, i) =>
              `${i === 2 ? name.replace(/[",\n\r]/g, "") : "Ann"},Lee ${i},f${batch}x${i}.${dialect}@acme.example`,
          );
          let bytes: Buffer = Buffer.from(`first_name,last_name,email\n${rows.join("\n")}\n`);
          for (const c of cs) bytes = corrupt(bytes.toString("utf8"), c);
          const where = `members CSV (${cs.map((c) => c.kind).join(", ")}; name ${JSON.stringify(name).slice(0, 30)})`;
          const before = await companyFingerprint(db, companyId);
          const r = await post(bytes);
          expect(r.status, `${where}: ${r.text}`).toBeLessThan(500);
          expect(leakIn(r.text), where).toBeUndefined();
          if (r.status >= 400) {
            const e = (JSON.parse(r.text) as { error: { code: string; message: string } }).error;
            expect(e.code, where).toBeTruthy();
            if (e.code === "invalid_input" && !/NUL/.test(e.message))
              expect(e.message, where).toMatch(/line \d+/);
            expect(
              await companyFingerprint(db, companyId),
              `${where}: a refused import changed something`,
            ).toBe(before);
          } else {
            expect(r.status, where).toBe(201);
            const created = (JSON.parse(r.text) as { created: number }).created;
            expect(created, where).toBeGreaterThan(0);
            expect(created, where).toBeLessThanOrEqual(6);
          }
        },
      ),
      { numRuns: RUNS[dialect], endOnFailure: true },
    );
    // One row over the limit: refused, naming the line, nothing created.
    const many = Array.from(
      { length: MEMBERS_IMPORT_ROWS_MAX + 1 },
      (_, i) => `M,N${i},many${i}.${dialect}@acme.example`,
    );
    const before = await companyFingerprint(db, companyId);
    const r = await post(`first_name,last_name,email\n${many.join("\n")}\n`);
    expect(r.status).toBe(400);
    expect(r.text).toContain(`line ${MEMBERS_IMPORT_ROWS_MAX + 2}`);
    expect(await companyFingerprint(db, companyId)).toBe(before);
  });

  it("usage: a line over the length limit and a file across batches", async () => {
    if (dialect !== "sqlite") return;
    const rows = usageLines(6_000, 500_000);
    const lines = ndjsonOf(rows).split("\n");
    lines[3_000] = JSON.stringify({
      external_id: "x".repeat(USAGE_FILE_LINE_CHARS_MAX),
      subject: "acme.bob",
    });
    const file = path.join(dir, "big.ndjson");
    fs.writeFileSync(file, lines.join("\n"));
    const r = await cli(url, ["usage", "ingest", "--company", String(companyId), "--json", file]);
    expect(r.code, r.err).toBe(3);
    const result = JSON.parse(r.out) as { stored: number; rejected: number };
    expect(result).toMatchObject({ stored: 5_999, rejected: 1 });
    expect(fs.readFileSync(`${file}.rejects.csv`, "utf8")).toMatch(/\r?\n3001,/);
  });
});

afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
