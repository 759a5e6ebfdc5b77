/**
 * @module Retention of usage detail (USAGE_RETENTION_MONTHS), once per dialect: purging months past the
 * horizon keeps every Summary, balance and monthly total identical, empties the Usage report of a purged
 * month, records what was removed, refuses a re-sent record of a purged month (API batch, file, CLI), drops
 * whole partitions on PostgreSQL, and is safe to run again. Then `switchboard usage purge`, in-process.
 */
import fs from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { PassThrough } from "node:stream";
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from "vitest";
import { importBundle } from "../src/bundle/import";
import { main } from "../src/cli/main";
import { inTransaction, openDatabase } from "../src/db/database";
import type { Database, Db } from "../src/db/database";
import { migrate } from "../src/db/migrate";
import { listUsagePartitions } from "../src/db/partitions";
import { startScheduler } from "../src/http/scheduler";
import { ingestUsageFile } from "../src/ingest/usage-file";
import { allocateCredit } from "../src/services/allocation.service";
import { putRate } from "../src/services/catalog.service";
import type { CompanyContext } from "../src/services/company-context";
import { createCompany } from "../src/services/company.service";
import { createMember, requireSubject } from "../src/services/people.service";
import type { Subject } from "../src/services/people.service";
import { recordPurchase } from "../src/services/purchase.service";
import { purgeUsageDetail, purgedUsageMonths, retentionHorizon } from "../src/services/retention.service";
import { ingestUsage, purgedMonthReason } from "../src/services/usage.service";
import type { UsageInput } from "../src/services/usage.service";
import { loadRateTable } from "../src/services/catalog.service";
import { ManualClock } from "../src/time/clock";
import { createTestDatabase, DIALECTS, postgresAvailable } from "./helpers/databases";
import { createTestServer } from "./helpers/http";
import type { TestServer } from "./helpers/http";
import { NOW, reportJson } from "./helpers/reports";
import { specExampleBundle } from "./helpers/spec-example-bundle";

const SETUP_MS = Date.UTC(2026, 0, 5, 9, 0, 0);
/** 27 November 2026: with 6 months kept, June to November stay and January to May are purged. */
const NOW_MS = Date.UTC(2026, 10, 27, 12, 0, 0);
const MONTHS = ["2026-01", "2026-02", "2026-03", "2026-04", "2026-05", "2026-06", "2026-09", "2026-11"];
const PURGED = ["2026-01", "2026-02", "2026-03", "2026-04", "2026-05"];
const KEPT = ["2026-06", "2026-09", "2026-11"];

interface Fixture {
  company: CompanyContext;
  bob: Subject;
  ann: Subject;
}

async function setUp(db: Db, name: string): Promise<Fixture> {
  return inTransaction(db, async (tx) => {
    const company = await createCompany(tx, {
      name,
      currency: "EUR",
      timezone: "Europe/London",
      nowMs: SETUP_MS,
    });
    for (const username of ["bob", "ann"]) {
      await createMember(tx, company, {
        name: username,
        username,
        email: null,
        accountType: "business",
        reportsConsent: true,
        nowMs: SETUP_MS,
      });
    }
    await putRate(tx, company, {
      prefix: "44",
      name: "United Kingdom",
      perMinute: "0.0230",
      connectionFee: "0.0390",
      interval: "60/60",
      sms: "0.1100",
    });
    await recordPurchase(tx, company, {
      reference: "P-1",
      amountMinor: 100_000,
      vatRate: "0",
      paymentMethod: "invoice",
      status: "completed",
      atMs: SETUP_MS,
      actorAdminId: null,
    });
    for (const ref of ["bob", "ann"]) {
      const to = await requireSubject(tx, company.id, ref);
      await allocateCredit(tx, company, { to, amountMinor: 20_000, atMs: SETUP_MS, actorAdminId: null });
    }
    return {
      company,
      bob: await requireSubject(tx, company.id, "bob"),
      ann: await requireSubject(tx, company.id, "ann"),
    };
  });
}

/** Three calls and an SMS per month for each member, on the 10th of the month at noon UTC. */
function recordsFor(f: Fixture, prefix: string): UsageInput[] {
  const out: UsageInput[] = [];
  for (const month of MONTHS) {
    const [y, m] = month.split("-").map(Number) as [number, number];
    for (const subject of [f.bob, f.ann]) {
      for (let i = 0; i < 4; i++)
        out.push({
          externalId: `${prefix}-${month}-${subject.username ?? ""}-${i}`,
          subject,
          kind: i === 3 ? "sms" : "call",
          startedAtMs: Date.UTC(y, m - 1, 10, 12, i),
          destination: "+442079460123",
          durationS: i === 3 ? null : 61 + i * 30,
          segments: i === 3 ? 1 : null,
          processedAtMs: Date.UTC(y, m - 1, 10, 13),
        });
    }
  }
  return out;
}

async function ingest(db: Db, f: Fixture, records: UsageInput[]) {
  const rates = await loadRateTable(db, f.company.id);
  return inTransaction(db, (tx) => ingestUsage(tx, f.company, records, { nowMs: NOW_MS, rates }));
}

interface State {
  balances: Record<number, number>;
  months: unknown[];
  summaries: Record<string, unknown>;
}

async function state(db: Db, f: Fixture): Promise<State> {
  const accounts = await db.k
    .selectFrom("accounts")
    .select(["id", "balance_minor"])
    .where("company_id", "=", f.company.id)
    .orderBy("id")
    .execute();
  const months = await db.k
    .selectFrom("account_months")
    .selectAll()
    .where("company_id", "=", f.company.id)
    .orderBy("account_id")
    .orderBy("month")
    .execute();
  const summaries: Record<string, unknown> = {};
  for (const month of MONTHS)
    summaries[month] = await reportJson(db, f.company.id, { report: "summary", month });
  return {
    balances: Object.fromEntries(accounts.map((a) => [a.id, a.balance_minor])),
    months,
    summaries,
  };
}

/** A balance equals the sum of its entries, counting the purged usage rows by their recorded totals. */
async function balancesFromEntries(db: Db, f: Fixture): Promise<Record<number, number>> {
  const accounts = await db.k
    .selectFrom("accounts")
    .selectAll()
    .where("company_id", "=", f.company.id)
    .execute();
  const transfers = await db.k
    .selectFrom("transfers")
    .selectAll()
    .where("company_id", "=", f.company.id)
    .execute();
  const usage = await db.k
    .selectFrom("usage_records")
    .select(["account_id", "charge_minor"])
    .where("company_id", "=", f.company.id)
    .execute();
  const purges = await db.k
    .selectFrom("usage_purges")
    .selectAll()
    .where("company_id", "=", f.company.id)
    .execute();
  const out: Record<number, number> = {};
  for (const a of accounts) out[a.id] = 0;
  const add = (id: number, n: number): void => {
    out[id] = (out[id] ?? 0) + n;
  };
  for (const t of transfers) {
    add(t.credit_account_id, t.amount_minor);
    add(t.debit_account_id, -t.amount_minor);
  }
  for (const u of [...usage, ...purges]) {
    add(u.account_id, -u.charge_minor);
    add(f.company.usageAccountId, u.charge_minor);
  }
  return out;
}

let tmpDir = "";
beforeAll(async () => {
  tmpDir = await fs.mkdtemp(path.join(os.tmpdir(), "sb-retention-"));
});
afterAll(async () => {
  await fs.rm(tmpDir, { recursive: true, force: true });
});

for (const dialect of DIALECTS) {
  describe(`usage retention (${dialect})`, () => {
    let db: Database;
    let drop: () => Promise<void> = () => Promise.resolve();
    let f: Fixture;
    let before: State;

    beforeAll(async () => {
      if (dialect === "postgres" && !(await postgresAvailable())) return;
      ({ db, drop } = await createTestDatabase(dialect));
      f = await setUp(db, "Acme Ltd");
      const r = await ingest(db, f, recordsFor(f, "cdr"));
      expect(r).toMatchObject({ stored: 64, duplicates: 0, rejected: [] });
      before = await state(db, f);
    }, 60_000);
    afterAll(async () => {
      await drop();
    });

    it("keeps the current month and the five before it", ({ skip }) => {
      if (!db) skip();
      expect(retentionHorizon(NOW_MS, "Europe/London", 6)).toBe("2026-06");
      expect(retentionHorizon(NOW_MS, "Europe/London", 1)).toBe("2026-11");
      // 30 November 2026 at 23:30 UTC is already December in Asia/Tokyo.
      expect(retentionHorizon(Date.UTC(2026, 10, 30, 23, 30), "Asia/Tokyo", 6)).toBe("2026-07");
    });

    it("a dry run reports the months past the horizon and changes nothing", async ({ skip }) => {
      if (!db) skip();
      const r = await purgeUsageDetail(db, { nowMs: NOW_MS, retentionMonths: 6, dryRun: true });
      expect(r.records).toBe(40);
      expect(r.companies).toEqual([
        {
          companyId: f.company.id,
          keepFrom: "2026-06",
          months: PURGED.map((month) => ({ month, records: 8, chargeMinor: expect.any(Number) as number })),
        },
      ]);
      expect(await state(db, f)).toEqual(before);
      expect(await purgedUsageMonths(db, f.company.id)).toEqual([]);
    });

    it("0 months keeps everything", async ({ skip }) => {
      if (!db) skip();
      const r = await purgeUsageDetail(db, { nowMs: NOW_MS, retentionMonths: 0 });
      expect(r).toMatchObject({ records: 0, companies: [], partitionsDropped: [] });
      expect(await db.k.selectFrom("usage_records").select("id").execute()).toHaveLength(64);
    });

    it("purges old detail while every Summary, balance and monthly total stays identical", async ({
      skip,
    }) => {
      if (!db) skip();
      // Deleted 3 rows per transaction: each month's 8 rows take three.
      const r = await purgeUsageDetail(db, {
        nowMs: NOW_MS,
        retentionMonths: 6,
        actor: "test",
        deleteRowsMax: 3,
      });
      expect(r.records).toBe(40);
      expect(await state(db, f)).toEqual(before);
      expect(await purgedUsageMonths(db, f.company.id)).toEqual(PURGED);
      // The Usage report of a purged month is empty; a kept month's is whole.
      expect(
        (
          await reportJson(
            db,
            f.company.id,
            { report: "usage", month: "2026-03", subject: "bob" },
            { kind: "member", memberId: f.bob.id },
          )
        ).rows,
      ).toEqual([]);
      expect(
        (
          await reportJson(
            db,
            f.company.id,
            { report: "usage", month: "2026-06", subject: "bob" },
            { kind: "member", memberId: f.bob.id },
          )
        ).rows,
      ).toHaveLength(4);
      // Every balance is still the sum of its entries (the purged rows counted by their recorded totals).
      expect(await balancesFromEntries(db, f)).toEqual(before.balances);
      const audit = await db.k
        .selectFrom("audit_log")
        .select(["actor", "action", "details"])
        .where("company_id", "=", f.company.id)
        .where("action", "=", "usage.purged")
        .execute();
      expect(audit).toHaveLength(1);
      expect(audit[0]?.actor).toBe("test");
      expect(JSON.parse(audit[0]?.details ?? "{}")).toEqual({
        retention_months: 6,
        kept_from: "2026-06",
        months: PURGED,
        records: 40,
      });
    });

    it("drops the partitions of purged months on PostgreSQL (SQLite has one table)", async ({ skip }) => {
      if (!db) skip();
      const partitions = await listUsagePartitions(db);
      if (dialect === "sqlite") expect(partitions).toEqual([]);
      else {
        for (const month of PURGED) expect(partitions).not.toContain(month);
        for (const month of KEPT) expect(partitions).toContain(month);
      }
    });

    it("refuses a re-sent record of a purged month instead of charging it twice", async ({ skip }) => {
      if (!db) skip();
      const bob = f.bob;
      const call = (externalId: string, iso: string): UsageInput => ({
        externalId,
        subject: bob,
        kind: "call",
        startedAtMs: Date.parse(iso),
        destination: "+442079460123",
        durationS: 60,
        segments: null,
      });
      const r = await ingest(db, f, [
        call("cdr-2026-03-bob-0", "2026-03-10T12:00:00Z"), // re-sent, month purged
        call("new-in-may", "2026-05-31T22:30:00Z"), // 23:30 in London: still May, purged
        call("cdr-2026-09-bob-0", "2026-09-10T12:00:00Z"), // kept month: a duplicate as before
        call("new-in-june", "2026-06-01T10:00:00Z"), // kept month: stored and charged
      ]);
      expect(r.stored).toBe(1);
      expect(r.duplicates).toBe(1);
      expect(r.rejected).toEqual([
        {
          index: 0,
          externalId: "cdr-2026-03-bob-0",
          field: "started_at",
          reason: purgedMonthReason("2026-03"),
        },
        { index: 1, externalId: "new-in-may", field: "started_at", reason: purgedMonthReason("2026-05") },
      ]);
      expect(r.chargedMinor).toBeGreaterThan(0);
      const after = await state(db, f);
      expect(after.summaries["2026-03"]).toEqual(before.summaries["2026-03"]);
      expect(after.summaries["2026-05"]).toEqual(before.summaries["2026-05"]);
      expect(after.balances[bob.accountId]).toBe((before.balances[bob.accountId] ?? 0) - r.chargedMinor);
      before = after;
    });

    it("a usage file lists a purged month's line in its rejects file", async ({ skip }) => {
      if (!db) skip();
      const file = path.join(tmpDir, `purged-${dialect}.csv`);
      await fs.writeFile(
        file,
        [
          "external_id,subject,kind,started_at,destination,duration_s,segments",
          "cdr-2026-04-ann-1,ann,call,2026-04-10T12:01:00Z,+442079460123,91,",
          "file-new-1,ann,call,2026-10-02T08:00:00Z,+442079460123,30,",
        ].join("\n") + "\n",
      );
      const r = await ingestUsageFile(db, f.company.id, file, { nowMs: NOW_MS });
      expect(r).toMatchObject({ lines: 2, stored: 1, duplicates: 0, rejected: 1 });
      const rejects = await fs.readFile(`${file}.rejects.csv`, "utf8");
      expect(rejects).toContain("\r\n2,");
      expect(rejects).toContain(`started_at: ${purgedMonthReason("2026-04")}`);
      before = await state(db, f);
    });

    it("running it again changes nothing and counts nothing twice", async ({ skip }) => {
      if (!db) skip();
      const purgesBefore = await db.k.selectFrom("usage_purges").selectAll().orderBy("month").execute();
      const r = await purgeUsageDetail(db, { nowMs: NOW_MS + 86_400_000, retentionMonths: 6 });
      expect(r).toMatchObject({ records: 0, companies: [] });
      expect(await db.k.selectFrom("usage_purges").selectAll().orderBy("month").execute()).toEqual(
        purgesBefore,
      );
      expect(await state(db, f)).toEqual(before);
      expect(await balancesFromEntries(db, f)).toEqual(before.balances);
    });

    it("a company elsewhere keeps its own horizon and another company's months are untouched", async ({
      skip,
    }) => {
      if (!db) skip();
      const g = await setUp(db, "Beta GmbH");
      expect((await ingest(db, g, recordsFor(g, "beta"))).stored).toBe(64);
      const r = await purgeUsageDetail(db, { nowMs: NOW_MS, retentionMonths: 8 });
      // Eight months kept from November: April onwards. Beta loses January to March; Acme had nothing left.
      expect(r.companies.map((c) => [c.companyId, c.months.map((m) => m.month)])).toEqual([
        [g.company.id, ["2026-01", "2026-02", "2026-03"]],
      ]);
      expect(await purgedUsageMonths(db, g.company.id)).toEqual(["2026-01", "2026-02", "2026-03"]);
      expect(
        (
          await reportJson(
            db,
            g.company.id,
            { report: "usage", month: "2026-04", subject: "ann" },
            { kind: "member", memberId: g.ann.id },
          )
        ).rows,
      ).toHaveLength(4);
      expect(await purgedUsageMonths(db, f.company.id)).toEqual(PURGED);
    });

    it("switchboard usage purge: --dry-run, then the purge, as one line or JSON", async ({ skip }) => {
      if (!db) skip();
      // Its own database (the CLI opens it by URL: SQLite in a file), holding only this company.
      let cli: Database;
      let dropCli: () => Promise<void>;
      if (dialect === "sqlite") {
        cli = openDatabase(`sqlite:${path.join(tmpDir, "cli.db")}`);
        await migrate(cli);
        dropCli = () => cli.close();
      } else ({ db: cli, drop: dropCli } = await createTestDatabase(dialect));
      onTestFinished(dropCli);
      const g = await setUp(cli, "Gamma SA");
      expect((await ingest(cli, g, recordsFor(g, "gamma"))).stored).toBe(64);
      const run = async (...args: string[]) => {
        const out = new PassThrough();
        const err = new PassThrough();
        const chunks: Buffer[] = [];
        const errs: Buffer[] = [];
        out.on("data", (c: Buffer) => chunks.push(c));
        err.on("data", (c: Buffer) => errs.push(c));
        const code = await main(["node", "switchboard", "usage", "purge", ...args], {
          env: { DATABASE_URL: cli.url, USAGE_RETENTION_MONTHS: "2" },
          out,
          err,
          clock: new ManualClock(NOW_MS),
        });
        return {
          code,
          out: Buffer.concat(chunks).toString("utf8"),
          err: Buffer.concat(errs).toString("utf8"),
        };
      };
      const dry = await run("--dry-run", "--json", "--months", "6");
      expect(dry.code).toBe(0);
      expect(JSON.parse(dry.out)).toEqual({
        dry_run: true,
        retention_months: 6,
        records: 40,
        partitions_dropped: dialect === "postgres" ? PURGED : [],
        companies: [
          {
            company_id: g.company.id,
            kept_from: "2026-06",
            months: PURGED.map((month) => ({ month, records: 8 })),
          },
        ],
      });
      expect(await purgedUsageMonths(cli, g.company.id)).toEqual([]);
      const real = await run();
      expect(real).toEqual({
        code: 0,
        err: "",
        out:
          "usage purge (keeping 2 months): removed 56 records — company " +
          `${g.company.id}: ${[...PURGED, "2026-06", "2026-09"].map((m) => `${m} (8)`).join(", ")}` +
          (dialect === "postgres"
            ? `; dropped partitions ${[...PURGED, "2026-06", "2026-09"].join(", ")}`
            : "") +
          "\n",
      });
      expect(await purgedUsageMonths(cli, g.company.id)).toEqual([...PURGED, "2026-06", "2026-09"]);
      const bad = await run("--months", "-1");
      expect(bad.code).toBe(1);
      expect(bad.err).toBe('switchboard: --months must be a whole number from 0 to 1200 (got "-1")\n');
    });
  });
}

describe.each(DIALECTS)("retention through the server (%s)", (dialect) => {
  let s: TestServer | undefined;
  let companyId = 0;
  beforeAll(async () => {
    if (dialect === "postgres" && !(await postgresAvailable())) return;
    s = await createTestServer(dialect);
    // The §8 example: its usage (cdr-1, cdr-2) is in September 2026; the server's clock is 27 November.
    companyId = (await importBundle(s.db, specExampleBundle(), { nowMs: NOW })).company_id;
  }, 60_000);
  afterAll(async () => {
    await s?.drop();
  });

  it("the scheduler purges once a day; a re-sent purged record is listed as rejected by POST /usage", async ({
    skip,
  }) => {
    const server = s;
    if (!server) {
      skip();
      return;
    }
    const logged: string[] = [];
    const log = { info: (m: string) => logged.push(m), error: (m: string) => logged.push(`error: ${m}`) };
    const scheduler = startScheduler(
      { db: server.db, clock: server.clock },
      { intervalMs: 60_000, usageRetentionMonths: 2, log },
    );
    await scheduler.runNow();
    expect(logged).toContain("usage detail purged");
    expect(await purgedUsageMonths(server.db, companyId)).toEqual(["2026-09"]);
    // Within the day nothing runs again; a day later it does (and finds nothing new).
    logged.length = 0;
    server.clock.advance(3_600_000);
    await scheduler.runNow();
    server.clock.advance(86_400_000);
    await scheduler.runNow();
    await scheduler.stop();
    expect(logged).toEqual([]);

    const owner = server.client();
    expect((await owner.login("ana@acme.example", "optional plain text, hashed on import")).status).toBe(200);
    const res = await owner.post("/api/v1/usage", {
      records: [
        {
          external_id: "cdr-1",
          subject: "acme.bob",
          kind: "call",
          started_at: "2026-09-02T10:00:00Z",
          destination: "+44 20 7946 0123",
          duration_s: 125,
        },
        {
          external_id: "late-1",
          subject: "acme.bob",
          kind: "sms",
          started_at: "nope",
          destination: "+447700900123",
        },
        {
          external_id: "new-1",
          subject: "acme.bob",
          kind: "sms",
          started_at: "2026-11-27T10:00:00Z",
          destination: "+447700900123",
        },
      ],
    });
    expect(res.status).toBe(200);
    expect(res.json).toMatchObject({ stored: 1, duplicates: 0, charged: "0.11" });
    expect(res.json.rejected).toEqual([
      { index: 0, external_id: "cdr-1", field: "started_at", reason: purgedMonthReason("2026-09") },
      { index: 1, external_id: "late-1", field: "started_at", reason: expect.any(String) as string },
    ]);
  });
});
