/**
 * Renewals of subscriptions and numbers with a clock the test sets, on SQLite and PostgreSQL: renewal on →
 * paid and continued; off → lapsed with an audit entry; balance short → lapsed with an audit entry; two
 * runs at once (two database handles on PostgreSQL) never renew twice; the scheduler logs and survives
 * failures. Figures from the PRODUCT.md §8 example: Acme's balance is 115.01 at 2026-11-27T12:00Z; Bob's
 * Unlimited UK (4.99) ended 2026-10-01 09:06Z; London PBX's +442079460000 (15.00, 3 months) ends
 * 2026-12-01 10:07Z.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { importBundle } from "../src/bundle/import";
import { openDatabase } from "../src/db/database";
import { startScheduler } from "../src/http/scheduler";
import type { SchedulerLog } from "../src/http/scheduler";
import { findBalanceMismatches } from "../src/services/allocation.service";
import { runRenewals } from "../src/services/renewal.service";
import { ManualClock } from "../src/time/clock";
import { DIALECTS, postgresAvailable } from "./helpers/databases";
import { createTestServer } from "./helpers/http";
import type { TestClient, TestServer } from "./helpers/http";
import { NOW } from "./helpers/reports";
import { specExampleBundle } from "./helpers/spec-example-bundle";

const pgOk = await postgresAvailable();
if (!pgOk) console.warn("NOTICE: PostgreSQL is not reachable: the renewal suites run on SQLite only.");
const PASSWORD = "optional plain text, hashed on import";
const BOB_SUB_END = Date.parse("2026-10-01T09:06:00Z");
const PBX_NUMBER_END = Date.parse("2026-12-01T10:07:00Z");

function memoryLog() {
  const lines: { level: "info" | "error"; message: string; facts: Record<string, unknown> }[] = [];
  const log: SchedulerLog = {
    info: (message, facts) => lines.push({ level: "info", message, facts }),
    error: (message, facts) => lines.push({ level: "error", message, facts }),
  };
  return { lines, log };
}

describe.each(DIALECTS.filter((d) => d === "sqlite" || pgOk))("renewals on %s", (dialect) => {
  let s: TestServer;
  let companyId: number;
  let owner: TestClient;

  beforeAll(async () => {
    s = await createTestServer(dialect);
    companyId = (await importBundle(s.db, specExampleBundle(), { nowMs: NOW })).company_id;
    owner = s.client();
    await owner.login("ana@acme.example", PASSWORD);
  });
  afterAll(async () => s.drop());

  /** Moves the clock; a session lasts hours, so the owner signs in again at the new time. */
  const moveTo = async (ms: number) => {
    s.clock.set(ms);
    expect((await owner.login("ana@acme.example", PASSWORD)).status).toBe(200);
  };
  const companyBalance = async () => (await owner.get("/api/v1/balances")).json.company_balance as string;
  const audit = async (action: string) =>
    (await owner.get(`/api/v1/audit-log?action=${action}`)).json.items as unknown[];

  it("renewal off: the ended subscription lapses with an audit entry, and nothing is charged", async () => {
    expect(await runRenewals(s.db, NOW)).toEqual({
      renewed: 0,
      lapsed: 1,
      skipped: 0,
      failed: 0,
      errors: [],
    });
    expect(await audit("subscription.lapsed")).toEqual([
      {
        id: expect.any(Number),
        at: "2026-11-27T12:00:00+00:00",
        actor: "system:renewals",
        action: "subscription.lapsed",
        subject: "acme.bob",
        details: {
          id: expect.any(Number),
          plan: "Unlimited UK",
          price: "4.99",
          ended_at: new Date(BOB_SUB_END).toISOString(),
          reason: "renewal is off",
        },
      },
    ]);
    expect(await companyBalance()).toBe("115.01");
    const subs = (await owner.get("/api/v1/subscriptions?subject=acme.bob")).json.items;
    expect(subs).toMatchObject([{ status: "ended", renew: false, renewal_state: "lapsed" }]);
    expect(await runRenewals(s.db, NOW)).toEqual({
      renewed: 0,
      lapsed: 0,
      skipped: 0,
      failed: 0,
      errors: [],
    });
  });

  it("renewal on: the number and the subscription are paid again and continue from their old end", async () => {
    const sub = await owner.post("/api/v1/subscriptions", { to: "zoe.ng", plan_id: 1, renew: true });
    expect(sub.status).toBe(201);
    expect(sub.json.company_balance).toBe("110.02"); // 115.01 − 4.99
    const pbxNumber = (await owner.get("/api/v1/numbers")).json.items[0];
    expect((await owner.patch(`/api/v1/numbers/${pbxNumber.id}`, { renew: true })).status).toBe(200);

    // Two hours after the number's term ended (the scheduler was late): the next term still starts at the old end.
    await moveTo(PBX_NUMBER_END + 2 * 3600_000);
    const { lines, log } = memoryLog();
    const scheduler = startScheduler(s, { intervalMs: 60_000, log });
    await scheduler.runNow();
    await scheduler.stop();
    expect(lines).toEqual([
      {
        level: "info",
        message: "renewals",
        facts: { at: "2026-12-01T12:07:00.000Z", renewed: 1, lapsed: 0, skipped: 0, failed: 0, errors: [] },
      },
    ]);
    const numbers = (await owner.get("/api/v1/numbers")).json.items;
    expect(numbers).toMatchObject([
      {
        number: "+442079460000",
        subject: "sip:London PBX",
        months: 3,
        price: "15.00",
        allocated_at: "2026-12-01T12:07:00+00:00",
        active_until: "2027-03-01T10:07:00+00:00", // 2026-12-01 10:07 + 3 months
        status: "active",
        renew: true,
        renewal_state: "active",
      },
      { number: "+442079460000", status: "ended", renewal_state: "renewed" },
    ]);
    expect(await companyBalance()).toBe("95.02"); // 110.02 − 15.00

    await moveTo(Date.parse("2026-12-27T12:00:00Z"));
    expect(await runRenewals(s.db, s.clock.now())).toEqual({
      renewed: 1,
      lapsed: 0,
      skipped: 0,
      failed: 0,
      errors: [],
    });
    const subs = (await owner.get("/api/v1/subscriptions?subject=zoe.ng")).json.items;
    expect(subs).toMatchObject([
      {
        plan: "Unlimited UK",
        price: "4.99",
        active_from: "2026-12-27T12:00:00+00:00",
        active_until: "2027-01-27T12:00:00+00:00",
        status: "active",
        used_minutes: 0,
        renew: true,
        renewal_state: "active",
      },
      { active_until: "2026-12-27T12:00:00+00:00", status: "ended", renewal_state: "renewed" },
    ]);
    expect(await companyBalance()).toBe("90.03"); // 95.02 − 4.99

    // The renewals show in the Allocations report of December, made by the admin who allocated them.
    const report = await owner.get("/api/v1/reports/allocations?month=2026-12&feature=subscription");
    expect(report.json.rows).toMatchObject([
      {
        feature: "subscription",
        action: "allocate",
        detail: "Unlimited UK",
        amount: "4.99",
        allocated_by: "ana@acme.example",
      },
    ]);
    expect(await findBalanceMismatches(s.db, companyId)).toEqual([]);
  });

  it("balance short: the subscription lapses with the reason in the audit log", async () => {
    expect((await owner.post("/api/v1/allocations/credit", { to: "acme.bob", amount: "88.00" })).status).toBe(
      200,
    );
    expect(await companyBalance()).toBe("2.03"); // 90.03 − 88.00
    await moveTo(Date.parse("2027-01-27T12:00:00Z"));
    expect(await runRenewals(s.db, s.clock.now())).toEqual({
      renewed: 0,
      lapsed: 1,
      skipped: 0,
      failed: 0,
      errors: [],
    });
    const [entry] = await audit("subscription.lapsed");
    expect(entry).toMatchObject({
      at: "2027-01-27T12:00:00+00:00",
      subject: "zoe.ng",
      details: { plan: "Unlimited UK", reason: "the company balance is 2.03 EUR, 4.99 EUR is needed" },
    });
    expect(await companyBalance()).toBe("2.03");

    // The number's next end (2027-03-01 10:07) with 2.03 against 15.00: it lapses too.
    await moveTo(Date.parse("2027-03-01T10:07:00Z"));
    expect(await runRenewals(s.db, s.clock.now())).toEqual({
      renewed: 0,
      lapsed: 1,
      skipped: 0,
      failed: 0,
      errors: [],
    });
    const [lapsedNumber] = await audit("number.lapsed");
    expect(lapsedNumber).toMatchObject({
      subject: "sip:London PBX",
      details: { number: "+442079460000", reason: "the company balance is 2.03 EUR, 15.00 EUR is needed" },
    });
    expect(await findBalanceMismatches(s.db, companyId)).toEqual([]);
    await moveTo(NOW);
  });

  it("the scheduler logs a failed run and keeps going", async () => {
    const broken = openDatabase("sqlite::memory:"); // never migrated: every query fails
    const { lines, log } = memoryLog();
    const scheduler = startScheduler(
      { db: broken, clock: new ManualClock(NOW) },
      { intervalMs: 60_000, log },
    );
    await scheduler.runNow();
    await scheduler.stop();
    expect(lines.map((l) => [l.level, l.message])).toEqual([
      ["error", "renewals failed; the next run will try again"],
      ["error", "renewals failed; the next run will try again"],
    ]);
    expect(String(lines[0]?.facts["error"])).toContain("no such table");
    await broken.close();
  });
});

describe.each(DIALECTS.filter((d) => d === "sqlite" || pgOk))(
  "renewals run twice at once on %s",
  (dialect) => {
    let s: TestServer;
    let companyId: number;
    beforeAll(async () => {
      s = await createTestServer(dialect);
      companyId = (await importBundle(s.db, specExampleBundle(), { nowMs: NOW })).company_id;
      await s.db.k.updateTable("subscriptions").set({ renew: 1 }).execute();
      await s.db.k.updateTable("numbers").set({ renew: 1 }).execute();
    });
    afterAll(async () => s.drop());

    it("renews each feature once, however many runners race", async () => {
      const at = Date.parse("2026-12-02T09:00:00Z");
      // On PostgreSQL the runners use separate pools, as two server processes would.
      const other = dialect === "postgres" ? openDatabase(s.db.url) : s.db;
      try {
        const results = await Promise.all([
          runRenewals(s.db, at),
          runRenewals(other, at),
          runRenewals(s.db, at),
          runRenewals(other, at),
        ]);
        const sum = (k: "renewed" | "lapsed" | "skipped") => results.reduce((n, r) => n + r[k], 0);
        expect(sum("renewed")).toBe(2);
        expect(sum("lapsed")).toBe(0);
      } finally {
        if (other !== s.db) await other.close();
      }
      const subs = await s.db.k.selectFrom("subscriptions").selectAll().orderBy("id").execute();
      expect(subs.map((x) => x.renewal_state)).toEqual(["renewed", "active"]);
      // Bob's subscription ended two months ago: a term already over is not charged; the new one starts now.
      expect(subs[1]).toMatchObject({
        active_from_ms: at,
        active_until_ms: Date.parse("2027-01-02T09:00:00Z"),
      });
      const numbers = await s.db.k.selectFrom("numbers").selectAll().orderBy("id").execute();
      expect(numbers.map((x) => x.renewal_state)).toEqual(["renewed", "active"]);
      expect(numbers[1]?.active_until_ms).toBe(Date.parse("2027-03-01T10:07:00Z"));
      const company = await s.db.k
        .selectFrom("accounts")
        .select("balance_minor")
        .where("company_id", "=", companyId)
        .where("kind", "=", "company")
        .executeTakeFirstOrThrow();
      expect(company.balance_minor).toBe(11_501 - 499 - 1_500);
      expect(await findBalanceMismatches(s.db, companyId)).toEqual([]);
    });

    it("a row that fails is counted and rolled back; the others still renew", async () => {
      const other = (await importBundle(s.db, specExampleBundle(), { nowMs: NOW })).company_id;
      await s.db.k.updateTable("subscriptions").set({ renew: 1 }).where("company_id", "=", other).execute();
      await s.db.k.updateTable("numbers").set({ renew: 1 }).where("company_id", "=", other).execute();
      // A corrupt time zone makes the next term impossible to compute: an assertion, not a user error.
      await s.db.k
        .updateTable("companies")
        .set({ timezone: "Mars/Olympus" })
        .where("id", "=", other)
        .execute();
      const r = await runRenewals(s.db, Date.parse("2027-03-02T09:00:00Z"));
      expect(r).toMatchObject({ renewed: 2, lapsed: 0, skipped: 0, failed: 2 });
      expect(r.errors).toHaveLength(2);
      expect(r.errors[0]).toContain('unknown timezone "Mars/Olympus"');
      const states = await s.db.k
        .selectFrom("subscriptions")
        .select("renewal_state")
        .where("company_id", "=", other)
        .execute();
      expect(states.map((x) => x.renewal_state)).toEqual(["active"]);
      const balances = await s.db.k
        .selectFrom("accounts")
        .select("balance_minor")
        .where("company_id", "in", [companyId, other])
        .where("kind", "=", "company")
        .orderBy("company_id")
        .execute();
      // The first company paid both renewals again (4.99 + 15.00); the other is untouched.
      expect(balances.map((b) => b.balance_minor)).toEqual([11_501 - 2 * 1_999, 11_501]);
      expect(await findBalanceMismatches(s.db, other)).toEqual([]);
    });
  },
);
