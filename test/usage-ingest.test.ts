/**
 * @module Usage file ingestion (PRODUCT.md §9) against real databases, once per dialect: CSV and NDJSON
 * files with valid, duplicate and invalid lines; counts, the rejects file, the balances charged, and a
 * second run of the same file that changes nothing. Then the `usage ingest` command, run in-process.
 */
import fs from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { PassThrough } from "node:stream";
import { parse } from "csv-parse/sync";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { main } from "../src/cli/main";
import { inTransaction, openDatabase } from "../src/db/database";
import type { Database, Db } from "../src/db/database";
import { migrate } from "../src/db/migrate";
import { ingestUsageFile } from "../src/ingest/usage-file";
import type { UsageFileProgress } from "../src/ingest/usage-file";
import { allocateCredit, findBalanceMismatches } from "../src/services/allocation.service";
import { putRate } from "../src/services/catalog.service";
import type { CompanyContext } from "../src/services/company-context";
import { createCompany } from "../src/services/company.service";
import { createMember, createSipProfile, requireSubject } from "../src/services/people.service";
import { recordPurchase } from "../src/services/purchase.service";
import { AppError } from "../src/shared/errors";
import { ManualClock } from "../src/time/clock";
import { createTestDatabase, DIALECTS, postgresAvailable } from "./helpers/databases";

const SETUP_MS = Date.UTC(2026, 8, 1, 9, 0, 0);
const NOW_MS = Date.UTC(2026, 9, 1, 12, 0, 0);
const HEADER = "external_id,subject,kind,started_at,destination,duration_s,segments";

interface Fixture {
  company: CompanyContext;
  bobAccountId: number;
  pbxAccountId: number;
}

/**
 * A EUR company with the rates of PRODUCT.md §8: 44 (0.0230/min, fee 0.0390, 60/60, SMS 0.1100) and
 * 447 (0.1500/min, fee 0.0390, 60/1, SMS 0.1100); 100.00 bought, 20.00 given to bob, 10.00 to the PBX.
 */
async function setUpCompany(db: Db, name = "Acme Ltd"): Promise<Fixture> {
  return inTransaction(db, async (tx) => {
    const company = await createCompany(tx, {
      name,
      currency: "EUR",
      timezone: "Europe/London",
      nowMs: SETUP_MS,
    });
    const bob = await createMember(tx, company, {
      name: "Bob Byrne",
      username: "bob",
      email: "bob@acme.example",
      accountType: "business",
      reportsConsent: false,
      nowMs: SETUP_MS,
    });
    const pbx = await createSipProfile(tx, company, { name: "London PBX", channels: 4, nowMs: SETUP_MS });
    await putRate(tx, company, {
      prefix: "44",
      name: "United Kingdom",
      perMinute: "0.0230",
      connectionFee: "0.0390",
      interval: "60/60",
      sms: "0.1100",
    });
    await putRate(tx, company, {
      prefix: "447",
      name: "United Kingdom mobile",
      perMinute: "0.1500",
      connectionFee: "0.0390",
      interval: "60/1",
      sms: "0.1100",
    });
    await recordPurchase(tx, company, {
      reference: "P-1001",
      amountMinor: 10_000,
      vatRate: "0.20",
      paymentMethod: "card",
      status: "completed",
      atMs: SETUP_MS,
      actorAdminId: null,
    });
    for (const [ref, amountMinor] of [
      ["bob", 2_000],
      ["sip:London PBX", 1_000],
    ] as const) {
      const to = await requireSubject(tx, company.id, ref);
      await allocateCredit(tx, company, { to, amountMinor, atMs: SETUP_MS, actorAdminId: null });
    }
    return { company, bobAccountId: bob.accountId, pbxAccountId: pbx.accountId };
  });
}

async function balances(db: Db, f: Fixture): Promise<Record<string, number>> {
  const rows = await db.k
    .selectFrom("accounts")
    .select(["id", "balance_minor"])
    .where("company_id", "=", f.company.id)
    .execute();
  const of = (id: number): number => rows.find((r) => r.id === id)?.balance_minor ?? Number.NaN;
  return {
    company: of(f.company.companyAccountId),
    bob: of(f.bobAccountId),
    pbx: of(f.pbxAccountId),
    usage: of(f.company.usageAccountId),
  };
}

async function usageCount(db: Db, companyId: number): Promise<number> {
  const rows = await db.k
    .selectFrom("usage_records")
    .select("external_id")
    .where("company_id", "=", companyId)
    .execute();
  return rows.length;
}

/** Valid, duplicate and invalid rows; what each costs is worked out by hand below. */
const CSV_LINES = [
  HEADER, // line 1
  // 44, 60/60: 125 s bills 60 + ⌈65/60⌉×60 = 180 s; 0.0390 + 0.0230 × 180/60 = 0.1080 → rounded up 0.11
  "cdr-1,bob,call,2026-09-02T10:00:00Z,+44 20 7946 0123,125,",
  // 447 SMS: 0.1100 × 2 segments = 0.22, charged to the PBX
  "cdr-2,sip:London PBX,sms,2026-09-02T11:00:00+01:00,+447700900123,,2",
  // 447, 60/1: 61 s bills 60 + ⌈1/1⌉×1 = 61 s; 0.0390 + 0.1500 × 61/60 = 0.0390 + 0.1525 = 0.1915 → 0.20
  "cdr-3,bob,call,2026-09-03T09:00:00Z,+447700900456,61,",
  // unanswered: billed 0 s, costs nothing, not even the connection fee
  "cdr-4,bob,call,2026-09-03T09:30:00Z,+442079460999,0,",
  // +33 matches no rate: stored as unrated, 0
  "cdr-5,bob,sms,2026-09-03T10:00:00Z,+33612345678,,",
  "cdr-1,bob,call,2026-09-02T10:00:00Z,+44 20 7946 0123,125,", // line 7: a duplicate of line 2
  "cdr-6,bob,call,2026-09-04T10:00:00Z,0044 20 7946 0123,30,", // line 8: bad destination
  "cdr-7,alice,call,2026-09-04T10:00:00Z,+442079460123,30,", // line 9: unknown member
  "cdr-8,bob,call,2026-09-04 10:00,+442079460123,30,", // line 10: bad started_at
  "cdr-9,sip:Paris PBX,sms,2026-09-04T10:00:00Z,+447700900123,,", // line 11: unknown SIP profile
];
/** 0.11 + 0.20 = 0.31 from bob, 0.22 from the PBX: 0.53 in all. */
const CSV_CHARGED_MINOR = 11 + 22 + 20;

const CSV_REJECTS = [
  ["8", 'destination: "0044 20 7946 0123" starts with 00: write the international prefix as + (e.g. +44…)'],
  ["9", 'subject: no member with username "alice"'],
  ["10", 'started_at: "2026-09-04 10:00" is not an ISO 8601 date-time like 2026-09-01T09:00:00Z'],
  ["11", 'subject: no SIP profile named "Paris PBX"'],
];

const ndjson = (record: Record<string, unknown>): string => JSON.stringify(record);
const NDJSON_LINES = [
  // line 1: as cdr-1 above, 0.11
  ndjson({
    external_id: "n-1",
    subject: "bob",
    kind: "call",
    started_at: "2026-09-02T10:00:00Z",
    destination: "+44 20 7946 0123",
    duration_s: 125,
  }),
  "", // line 2: blank, skipped and not counted
  // line 3: as cdr-2, 0.22
  ndjson({
    external_id: "n-2",
    subject: "sip:London PBX",
    kind: "sms",
    started_at: "2026-09-02T11:00:00+01:00",
    destination: "+447700900123",
    segments: 2,
  }),
  // line 4: a duplicate of line 1
  ndjson({
    external_id: "n-1",
    subject: "bob",
    kind: "call",
    started_at: "2026-09-02T10:00:00Z",
    destination: "+44 20 7946 0123",
    duration_s: 125,
  }),
  '{"external_id":"n-3","subject":"bob",', // line 5: malformed JSON
  // line 6: destination too short
  ndjson({
    external_id: "n-4",
    subject: "bob",
    kind: "call",
    started_at: "2026-09-04T10:00:00Z",
    destination: "+12",
    duration_s: 30,
  }),
  // line 7: unknown member
  ndjson({
    external_id: "n-5",
    subject: "zed",
    kind: "call",
    started_at: "2026-09-04T10:00:00Z",
    destination: "+442079460123",
    duration_s: 30,
  }),
  // line 8: started_at without offset
  ndjson({
    external_id: "n-6",
    subject: "bob",
    kind: "call",
    started_at: "2026-09-04T10:00:00",
    destination: "+442079460123",
    duration_s: 30,
  }),
  // line 9: as cdr-3, duration as text: 0.20
  ndjson({
    external_id: "n-7",
    subject: "bob",
    kind: "call",
    started_at: "2026-09-03T09:00:00Z",
    destination: "+447700900456",
    duration_s: "61",
  }),
  // line 10: an unknown key
  ndjson({
    external_id: "n-8",
    subject: "bob",
    kind: "sms",
    started_at: "2026-09-03T09:00:00Z",
    destination: "+447700900456",
    note: "x",
  }),
];

let tmpDir = "";
beforeAll(async () => {
  tmpDir = await fs.mkdtemp(path.join(os.tmpdir(), "switchboard-usage-"));
});
afterAll(async () => {
  await fs.rm(tmpDir, { recursive: true, force: true });
});

async function writeFile(name: string, lines: readonly string[], lineEnd = "\r\n"): Promise<string> {
  const file = path.join(tmpDir, name);
  await fs.writeFile(file, lines.join(lineEnd) + lineEnd, "utf8");
  return file;
}

async function readRejects(file: string): Promise<{ raw: string; rows: string[][] }> {
  const raw = await fs.readFile(file, "utf8");
  return { raw, rows: parse(raw, { bom: true, relax_column_count: true }) };
}

const pgAvailable = await postgresAvailable();

for (const dialect of DIALECTS) {
  describe.skipIf(dialect === "postgres" && !pgAvailable)(`usage file ingestion (${dialect})`, () => {
    let db: Database;
    let drop: () => Promise<void>;
    beforeAll(async () => {
      ({ db, drop } = await createTestDatabase(dialect));
    });
    afterAll(async () => {
      await drop();
    });

    it("stores a CSV's valid lines, counts the duplicate, rejects the rest with line and reason", async () => {
      const f = await setUpCompany(db);
      const file = await writeFile(`csv-${dialect}.csv`, CSV_LINES);
      const progress: UsageFileProgress[] = [];
      // Batches of 2 records: the duplicate of cdr-1 arrives in a later batch than cdr-1 itself.
      const result = await ingestUsageFile(db, f.company.id, file, {
        nowMs: NOW_MS,
        batchRecordsMax: 2,
        onProgress: (p) => progress.push(p),
      });
      expect(result).toEqual({
        format: "csv",
        lines: 10,
        stored: 5,
        duplicates: 1,
        rejected: 4,
        unrated: 1,
        chargedMinor: CSV_CHARGED_MINOR,
        autoAllocations: 0,
        rejectsPath: `${file}.rejects.csv`,
      });
      expect(progress.map((p) => p.stored + p.duplicates)).toEqual([2, 4, 6]);

      const rejects = await readRejects(`${file}.rejects.csv`);
      expect(rejects.raw.startsWith("\uFEFFline,reason,external_id,subject,kind,")).toBe(true);
      expect(rejects.raw.split("\r\n")).toHaveLength(6); // header, 4 rejects, and the empty rest after the last CRLF
      expect(rejects.rows).toEqual([
        ["line", "reason", ...HEADER.split(",")],
        ...CSV_REJECTS.map(([line, reason], i) => [
          line ?? "",
          reason ?? "",
          // The original fields, as the file has them.
          ...(CSV_LINES[7 + i] ?? "").split(","),
        ]),
      ]);

      // bob: 20.00 − 0.11 − 0.20 = 19.69; PBX: 10.00 − 0.22 = 9.78; the company keeps 100 − 30 = 70.00.
      expect(await balances(db, f)).toEqual({
        company: 7_000,
        bob: 1_969,
        pbx: 978,
        usage: CSV_CHARGED_MINOR,
      });
      expect(await usageCount(db, f.company.id)).toBe(5);
      expect(await findBalanceMismatches(db, f.company.id)).toEqual([]);
    });

    it("running the same CSV again stores nothing, counts every valid line as a duplicate", async () => {
      const f = await setUpCompany(db);
      const file = await writeFile(`again-${dialect}.csv`, CSV_LINES);
      await ingestUsageFile(db, f.company.id, file, { nowMs: NOW_MS });
      const before = await balances(db, f);
      const firstRejects = await fs.readFile(`${file}.rejects.csv`, "utf8");

      const again = await ingestUsageFile(db, f.company.id, file, { nowMs: NOW_MS + 60_000 });
      expect(again).toMatchObject({
        lines: 10,
        stored: 0,
        duplicates: 6,
        rejected: 4,
        chargedMinor: 0,
        unrated: 0,
      });
      expect(await balances(db, f)).toEqual(before);
      expect(await usageCount(db, f.company.id)).toBe(5);
      // The rejects file is written afresh, not appended to.
      expect(await fs.readFile(`${file}.rejects.csv`, "utf8")).toBe(firstRejects);
    });

    it("reads NDJSON: a malformed line and an unknown key are rejects, not a crash", async () => {
      const f = await setUpCompany(db);
      const file = await writeFile(`records-${dialect}.ndjson`, NDJSON_LINES, "\n");
      const result = await ingestUsageFile(db, f.company.id, file, { nowMs: NOW_MS });
      expect(result).toEqual({
        format: "ndjson",
        lines: 9,
        stored: 3,
        duplicates: 1,
        rejected: 5,
        unrated: 0,
        chargedMinor: 11 + 22 + 20,
        autoAllocations: 0,
        rejectsPath: `${file}.rejects.csv`,
      });
      const { rows } = await readRejects(`${file}.rejects.csv`);
      expect(rows.map((r) => [r[0], r[1]])).toEqual([
        ["line", "reason"],
        ["5", expect.stringMatching(/^is not valid JSON \(.+\)$/) as string],
        ["6", 'destination: "+12" is too short: it needs at least 8 digits'],
        ["7", 'subject: no member with username "zed"'],
        ["8", 'started_at: "2026-09-04T10:00:00" has no UTC offset: add Z or an offset such as +01:00'],
        [
          "10",
          "note: unknown key (the keys are external_id, subject, kind, started_at, destination, duration_s, segments)",
        ],
      ]);
      // The record's values follow in the contract's column order; a malformed line has none.
      expect(rows[0]?.slice(2)).toEqual(HEADER.split(","));
      expect(rows[1]?.slice(2)).toEqual([]);
      expect(rows[2]?.slice(2)).toEqual(["n-4", "bob", "call", "2026-09-04T10:00:00Z", "'+12", "30", ""]);
      // bob: 20.00 − 0.11 − 0.20 = 19.69; PBX: 10.00 − 0.22 = 9.78.
      expect(await balances(db, f)).toEqual({ company: 7_000, bob: 1_969, pbx: 978, usage: 53 });

      const again = await ingestUsageFile(db, f.company.id, file, { nowMs: NOW_MS });
      expect(again).toMatchObject({ stored: 0, duplicates: 4, rejected: 5 });
      expect(await balances(db, f)).toEqual({ company: 7_000, bob: 1_969, pbx: 978, usage: 53 });
    });

    it("accepts the header's columns in any order and a record that spans lines", async () => {
      const f = await setUpCompany(db);
      const file = await writeFile(`reordered-${dialect}.csv`, [
        "kind,external_id,segments,duration_s,subject,destination,started_at",
        "sms,r-1,2,,sip:London PBX,+447700900123,2026-09-02T10:00:00Z",
        'call,"r-2\r\nsecond line",,125,bob,+442079460123,2026-09-02T10:00:00Z',
        "call,r-3,,61,nobody,+447700900456,2026-09-02T10:00:00Z",
      ]);
      const result = await ingestUsageFile(db, f.company.id, file, { nowMs: NOW_MS });
      // 0.22 (SMS) + 0.11 (125 s to 44) = 0.33
      expect(result).toMatchObject({ lines: 3, stored: 2, rejected: 1, chargedMinor: 33 });
      const { rows } = await readRejects(`${file}.rejects.csv`);
      // r-2 occupies lines 3 and 4, so the reject is on line 5; its fields keep the file's column order.
      expect(rows).toEqual([
        [
          "line",
          "reason",
          "kind",
          "external_id",
          "segments",
          "duration_s",
          "subject",
          "destination",
          "started_at",
        ],
        [
          "5",
          'subject: no member with username "nobody"',
          "call",
          "r-3",
          "",
          "61",
          "nobody",
          "+447700900456",
          "2026-09-02T10:00:00Z",
        ],
      ]);
    });

    it("refuses a file with a wrong header as a whole, storing nothing", async () => {
      const f = await setUpCompany(db);
      const file = await writeFile(`header-${dialect}.csv`, [
        "external_id,subject,kind,started_at,destination,duration,segments",
        "cdr-1,bob,call,2026-09-02T10:00:00Z,+442079460123,125,",
      ]);
      const refusal = ingestUsageFile(db, f.company.id, file, { nowMs: NOW_MS });
      await expect(refusal).rejects.toBeInstanceOf(AppError);
      await expect(refusal).rejects.toThrow(
        `${file} line 1: the header must name the columns ${HEADER} (in any order); ` +
          'missing: duration_s; unknown: "duration"',
      );
      expect(await usageCount(db, f.company.id)).toBe(0);
    });

    it("removes an earlier run's rejects file when nothing is rejected any more", async () => {
      const f = await setUpCompany(db);
      const file = await writeFile(`fixed-${dialect}.csv`, CSV_LINES.slice(0, 9));
      expect((await ingestUsageFile(db, f.company.id, file, { nowMs: NOW_MS })).rejected).toBe(2);
      await fs.access(`${file}.rejects.csv`);

      await writeFile(`fixed-${dialect}.csv`, CSV_LINES.slice(0, 7)); // the two bad lines removed
      const result = await ingestUsageFile(db, f.company.id, file, { nowMs: NOW_MS });
      expect(result).toMatchObject({ lines: 6, stored: 0, duplicates: 6, rejected: 0, rejectsPath: null });
      await expect(fs.access(`${file}.rejects.csv`)).rejects.toThrow();
    });

    it("stops at the line limit, keeping the lines before it, with one clear message", async () => {
      const f = await setUpCompany(db);
      const file = await writeFile(`long-${dialect}.csv`, CSV_LINES.slice(0, 6));
      const refusal = ingestUsageFile(db, f.company.id, file, { nowMs: NOW_MS, linesMax: 4 });
      await expect(refusal).rejects.toThrow(
        `${file} line 5: the file has more than 4 lines: split it (the 3 lines before it were processed: ` +
          "3 stored, 0 rejected; ingesting the parts skips what is already stored)",
      );
      expect(await usageCount(db, f.company.id)).toBe(3);
    });

    it("tells NDJSON from CSV by the first character when the extension does not say", async () => {
      const f = await setUpCompany(db);
      const file = await writeFile(`sniffed-${dialect}.txt`, [NDJSON_LINES[0] ?? ""], "\n");
      expect(await ingestUsageFile(db, f.company.id, file, { nowMs: NOW_MS })).toMatchObject({
        format: "ndjson",
        stored: 1,
      });
    });
  });
}

describe("switchboard usage ingest (CLI, in-process)", () => {
  let dbUrl = "";
  let companyId = 0;
  beforeAll(async () => {
    dbUrl = `sqlite:${path.join(tmpDir, "cli.db")}`;
    const db = openDatabase(dbUrl);
    await migrate(db);
    companyId = (await setUpCompany(db)).company.id;
    await db.close();
  });

  async function run(...args: string[]): Promise<{ code: number; out: string; err: string }> {
    const out = new PassThrough();
    const err = new PassThrough();
    const outChunks: Buffer[] = [];
    const errChunks: Buffer[] = [];
    out.on("data", (c: Buffer) => outChunks.push(c));
    err.on("data", (c: Buffer) => errChunks.push(c));
    const code = await main(["node", "switchboard", "usage", "ingest", ...args], {
      env: { DATABASE_URL: dbUrl },
      out,
      err,
      clock: new ManualClock(NOW_MS),
    });
    return {
      code,
      out: Buffer.concat(outChunks).toString("utf8"),
      err: Buffer.concat(errChunks).toString("utf8"),
    };
  }

  it("prints one summary line and exits 3 when some lines were rejected", async () => {
    const file = await writeFile("cli.csv", CSV_LINES);
    expect(await run("--company", String(companyId), file)).toEqual({
      code: 3,
      out:
        `usage ingest: 10 lines, 5 stored, 1 duplicate, 4 rejected (see ${file}.rejects.csv), ` +
        "1 unrated, charged 0.53 EUR\n",
      err: "",
    });
  });

  it("exits 0 when every line was stored or a duplicate, and --json prints the result", async () => {
    const file = await writeFile("cli-clean.csv", [
      HEADER,
      "cli-1,bob,call,2026-09-05T10:00:00Z,+44 20 7946 0123,125,",
      "cli-1,bob,call,2026-09-05T10:00:00Z,+44 20 7946 0123,125,",
    ]);
    const { code, out, err } = await run("--company", String(companyId), "--json", file);
    expect({ code, err }).toEqual({ code: 0, err: "" });
    expect(JSON.parse(out)).toEqual({
      company_id: companyId,
      file,
      format: "csv",
      lines: 2,
      stored: 1,
      duplicates: 1,
      rejected: 0,
      unrated: 0,
      charged: "0.11",
      currency: "EUR",
      auto_allocations: 0,
      rejects_file: null,
    });
  });

  it("refuses an unknown company with one sentence on stderr and exit code 1", async () => {
    const file = await writeFile("cli-unknown.csv", CSV_LINES);
    const { code, out, err } = await run("--company", "999999", file);
    expect({ code, out, err }).toEqual({
      code: 1,
      out: "",
      err: "switchboard: Company 999999 does not exist\n",
    });
  });

  it("refuses a company id that is not a positive whole number", async () => {
    const { code, err } = await run("--company", "abc", "whatever.csv");
    expect(code).toBe(1);
    expect(err).toBe('switchboard: --company must be a company id, a positive whole number (got "abc")\n');
  });

  it("refuses a missing file with one sentence", async () => {
    const missing = path.join(tmpDir, "missing.csv");
    const { code, err } = await run("--company", String(companyId), missing);
    expect({ code, err }).toEqual({ code: 1, err: `switchboard: cannot read ${missing}: no such file\n` });
  });
});
