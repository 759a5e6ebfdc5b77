/**
 * `switchboard export` round trips, on SQLite and PostgreSQL: import(export(x)) reproduces every report
 * (Summary, Purchases, Allocations of each feature, Usage of every member and SIP profile — every month,
 * JSON) and every balance, on the demo company, on the §8 example and on random histories (fast-check);
 * export(import(export(x))) is byte-for-byte export(x); an export holds one company's data and nothing else.
 */
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { exportBundle } from "../src/bundle/export";
import { generateDemoBundle } from "../src/bundle/demo-bundle";
import { importBundle } from "../src/bundle/import";
import type { ImportResult } from "../src/bundle/import";
import { BundleSchema } from "../src/bundle/bundle.schema";
import { inTransaction } from "../src/db/database";
import type { Database, Db } from "../src/db/database";
import { findBalanceMismatches, setAutoRule, setRenewal } from "../src/services/allocation.service";
import { writeAudit } from "../src/services/audit";
import { loadRateTable, putRate } from "../src/services/catalog.service";
import { changeAdminRole, removeAdmin } from "../src/services/member-admin.service";
import { requireAdmin, requireSubject, setConsent } from "../src/services/people.service";
import { eraseMember } from "../src/services/member-data.service";
import { recordPurchase } from "../src/services/purchase.service";
import { purgeUsageDetail } from "../src/services/retention.service";
import { ingestUsage } from "../src/services/usage.service";
import { loadCompany } from "../src/services/company-context";
import { AppError } from "../src/shared/errors";
import { addMonths, monthOf } from "../src/time/month";
import { PassThrough } from "node:stream";
import { main } from "../src/cli/main";
import { ManualClock } from "../src/time/clock";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { createTestDatabase, DIALECTS, postgresAvailable } from "./helpers/databases";
import { NOW, reportJson } from "./helpers/reports";
import type { JsonReport } from "./helpers/reports";
import { specExampleBundle } from "./helpers/spec-example-bundle";
import type { JsonObject } from "./helpers/spec-example-bundle";

const pgOk = await postgresAvailable();

/** Random histories per dialect: PostgreSQL is slower per import, so it runs fewer. */
const RUNS = { sqlite: 25, postgres: 6 } as const;

async function exportText(db: Db, companyId: number): Promise<string> {
  const parts: string[] = [];
  await exportBundle(db, companyId, (chunk) => {
    parts.push(chunk);
  });
  return parts.join("");
}

/** Every report of every month the company has activity in (and the month after), plus every balance. */
async function everything(db: Db, companyId: number): Promise<Record<string, unknown>> {
  const company = await loadCompany(db, companyId);
  const k = db.k;
  const times: number[] = [];
  for (const t of [
    await k
      .selectFrom("transfers")
      .select((eb) => [eb.fn.min("at_ms").as("lo"), eb.fn.max("at_ms").as("hi")])
      .where("company_id", "=", companyId)
      .executeTakeFirstOrThrow(),
    await k
      .selectFrom("usage_records")
      .select((eb) => [eb.fn.min("started_at_ms").as("lo"), eb.fn.max("started_at_ms").as("hi")])
      .where("company_id", "=", companyId)
      .executeTakeFirstOrThrow(),
    await k
      .selectFrom("purchases")
      .select((eb) => [eb.fn.min("created_at_ms").as("lo"), eb.fn.max("created_at_ms").as("hi")])
      .where("company_id", "=", companyId)
      .executeTakeFirstOrThrow(),
  ]) {
    if (t.lo !== null) times.push(Number(t.lo));
    if (t.hi !== null) times.push(Number(t.hi));
  }
  const out: Record<string, unknown> = {};
  const strip = (r: JsonReport): unknown => ({ ...r, company_id: undefined });
  const members = await k
    .selectFrom("members")
    .select(["id", "username", "account_id"])
    .where("company_id", "=", companyId)
    .orderBy("id")
    .execute();
  const sips = await k
    .selectFrom("sip_profiles")
    .select(["name", "account_id"])
    .where("company_id", "=", companyId)
    .orderBy("id")
    .execute();
  const owner = await k
    .selectFrom("admins")
    .selectAll()
    .where("company_id", "=", companyId)
    .where("role", "=", "owner")
    .orderBy("id")
    .executeTakeFirstOrThrow();
  const reader = {
    kind: "admin" as const,
    admin: { ...owner, privacy_acknowledged_at_ms: owner.privacy_acknowledged_at_ms ?? 1 },
  };
  if (times.length > 0) {
    const last = addMonths(monthOf(Math.max(...times), company.timezone), 1);
    for (let m = monthOf(Math.min(...times), company.timezone); m <= last; m = addMonths(m, 1)) {
      out[`${m} summary`] = strip(await reportJson(db, companyId, { report: "summary", month: m }));
      out[`${m} purchases`] = strip(await reportJson(db, companyId, { report: "purchases", month: m }));
      for (const feature of ["credit", "subscription", "number"])
        out[`${m} allocations ${feature}`] = strip(
          await reportJson(db, companyId, { report: "allocations", month: m, feature }),
        );
      for (const mem of members)
        out[`${m} usage ${mem.username}`] = strip(
          await reportJson(
            db,
            companyId,
            { report: "usage", month: m, subject: mem.username },
            { kind: "member", memberId: mem.id },
          ),
        );
      for (const s of sips)
        out[`${m} usage sip:${s.name}`] = strip(
          await reportJson(db, companyId, { report: "usage", month: m, subject: `sip:${s.name}` }, reader),
        );
    }
  }
  const balance = async (accountId: number) =>
    (
      await k
        .selectFrom("accounts")
        .select("balance_minor")
        .where("id", "=", accountId)
        .executeTakeFirstOrThrow()
    ).balance_minor;
  out["balance company"] = await balance(company.companyAccountId);
  for (const mem of members) out[`balance ${mem.username}`] = await balance(mem.account_id);
  for (const s of sips) out[`balance sip:${s.name}`] = await balance(s.account_id);
  expect(await findBalanceMismatches(db, companyId)).toEqual([]);
  return out;
}

/** Import `doc`, export it, import the export, export again: the reports agree and the exports are equal. */
async function roundTrip(db: Db, doc: unknown): Promise<{ text: string; reports: number }> {
  return roundTripOf(db, await importBundle(db, doc, { nowMs: NOW }));
}

async function roundTripOf(db: Db, a: ImportResult): Promise<{ text: string; reports: number }> {
  const first = await exportText(db, a.company_id);
  const b = await importBundle(db, JSON.parse(first) as unknown, { nowMs: NOW });
  const before = await everything(db, a.company_id);
  expect(await everything(db, b.company_id)).toEqual(before);
  expect(b.usage_ingested).toBe(a.usage_ingested);
  expect(b.unrated).toBe(a.unrated);
  expect(await exportText(db, b.company_id)).toBe(first);
  return { text: first, reports: Object.keys(before).length };
}

// ---------------------------------------------------------------------------------------------------------
// Random histories
// ---------------------------------------------------------------------------------------------------------

const CURRENCIES = ["EUR", "JPY", "BHD", "GBP"] as const;
const ZONES = [
  "Europe/London",
  "America/New_York",
  "Asia/Tokyo",
  "Australia/Lord_Howe",
  "Asia/Kathmandu",
] as const;
const DESTINATIONS = [
  "+442079460123",
  "+447700900123",
  "+4930123456",
  "+12025550123",
  "+81312345678",
  "+99912345678",
];
const OWNER = "owner@example.test";
const ADMIN = "admin@example.test";

const amount = (exponent: number, minorMax: number) =>
  fc.integer({ min: 1, max: minorMax }).map((minor) => {
    if (exponent === 0) return String(minor);
    const s = String(minor).padStart(exponent + 1, "0");
    return `${s.slice(0, -exponent)}.${s.slice(-exponent)}`;
  });
const EXPONENT: Record<string, number> = { EUR: 2, JPY: 0, BHD: 3, GBP: 2 };

/** A random company: people, rates, plans, and 20 to 80 events spread over up to about five months. */
const randomBundle = fc
  .record({
    currency: fc.constantFrom(...CURRENCIES),
    timezone: fc.constantFrom(...ZONES),
    members: fc.array(
      fc.record({ personal: fc.boolean(), consent: fc.boolean(), groups: fc.subarray(["g1", "g2"]) }),
      { minLength: 1, maxLength: 3 },
    ),
    sips: fc.integer({ min: 0, max: 1 }),
    start: fc.integer({ min: Date.parse("2025-01-01T00:00:00Z"), max: Date.parse("2026-06-01T00:00:00Z") }),
    gaps: fc.array(fc.integer({ min: 1, max: 2 * 24 * 3600 * 1000 }), { minLength: 20, maxLength: 80 }),
  })
  .chain((p) => {
    const exp = EXPONENT[p.currency] ?? 2;
    const subjects = [
      ...p.members.map((_, i) => `m${i}`),
      ...Array.from({ length: p.sips }, (_, i) => `sip:s${i}`),
    ];
    const kinds = fc.constantFrom(
      "purchase",
      "purchase",
      "settle",
      "allocate",
      "allocate",
      "reclaim",
      "subscription",
      "number",
      "rule",
      "usage",
      "usage",
      "usage",
      "usage",
      "usage",
      "consent",
      "duplicate",
    );
    return fc.record({
      p: fc.constant(p),
      exp: fc.constant(exp),
      subjects: fc.constant(subjects),
      steps: fc.array(
        fc.record({
          kind: kinds,
          subject: fc.constantFrom(...subjects),
          amount: amount(exp, 5 * 10 ** exp),
          big: amount(exp, 500 * 10 ** exp),
          status: fc.constantFrom("completed", "completed", "pending", "failed"),
          settle: fc.constantFrom("completed", "failed"),
          destination: fc.constantFrom(...DESTINATIONS),
          call: fc.boolean(),
          duration: fc.oneof(
            fc.constant(0),
            fc.integer({ min: 1, max: 900 }),
            fc.integer({ min: 1, max: 7200 }),
          ),
          segments: fc.integer({ min: 1, max: 3 }),
          plan: fc.constantFrom("uk", "world"),
          months: fc.integer({ min: 1, max: 3 }),
          flag: fc.boolean(),
          by: fc.constantFrom(OWNER, ADMIN),
        }),
        { minLength: p.gaps.length, maxLength: p.gaps.length },
      ),
    });
  })
  .map(({ p, exp, subjects, steps }) => {
    const rate = (perMinute: string) => ({
      per_minute: perMinute,
      connection_fee: exp === 0 ? "1" : "0.0390",
    });
    const bundle = {
      format: "switchboard-bundle/1",
      company: { name: "Random Ltd", currency: p.currency, timezone: p.timezone },
      admins: [
        { email: OWNER, name: "Olu Owner", role: "owner", privacy_acknowledged_at: "2024-12-01T00:00:00Z" },
        { email: ADMIN, name: "Ada Admin", role: "admin" },
        { email: "viewer@example.test", name: "Vic Viewer", role: "viewer" },
      ],
      groups: [
        { key: "g1", name: "Sales" },
        { key: "g2", name: "=Ops" },
      ],
      members: p.members.map((m, i) => ({
        key: `m${i}`,
        name: `Member ${i} Ñ`,
        username: `user${i}`,
        email: `user${i}@example.test`,
        account_type: m.personal ? "personal" : "business",
        groups: m.groups,
        reports_consent: m.consent,
      })),
      sip_profiles: Array.from({ length: p.sips }, (_, i) => ({
        key: `s${i}`,
        name: `PBX ${i}`,
        channels: 2,
      })),
      rates: [
        {
          prefix: "44",
          name: "United Kingdom",
          ...rate(exp === 0 ? "3" : "0.0230"),
          interval: "60/60",
          sms: exp === 0 ? "11" : "0.1100",
        },
        {
          prefix: "447",
          name: "UK mobile",
          ...rate(exp === 0 ? "15" : "0.1500"),
          interval: "60/1",
          sms: exp === 0 ? "11" : "0.1100",
        },
        {
          prefix: "1",
          name: "North America",
          ...rate(exp === 0 ? "1" : "0.0100"),
          interval: "1/1",
          sms: exp === 0 ? "5" : "0.0500",
        },
        {
          prefix: "81",
          name: "Japan",
          ...rate(exp === 0 ? "7" : "0.0700"),
          interval: "30/6",
          sms: exp === 0 ? "9" : "0.0900",
        },
      ],
      plans: [
        { key: "uk", name: "Unlimited UK", price: exp === 0 ? "499" : "4.99", prefixes: ["44"], minutes: 30 },
        {
          key: "world",
          name: "World 100",
          price: exp === 0 ? "999" : "9.99",
          prefixes: ["1", "81", "447"],
          minutes: 100,
        },
      ],
      events: [] as JsonObject[],
    };
    let t = p.start;
    let n = 0;
    const pending: string[] = [];
    const usageIds: string[] = [];
    // A first purchase so that there is usually money to move.
    bundle.events.push({
      at: new Date(t).toISOString(),
      type: "purchase",
      by: OWNER,
      reference: "P-0",
      amount: exp === 0 ? "20000" : "200.00",
      vat_rate: "0.20",
      payment_method: "card",
      status: "completed",
    });
    for (const [i, s] of steps.entries()) {
      t += p.gaps[i] ?? 1;
      const at = new Date(t).toISOString();
      const by = s.by;
      const sub = s.subject;
      switch (s.kind) {
        case "purchase": {
          const reference = `P-${++n}`;
          if (s.status === "pending") pending.push(reference);
          bundle.events.push({
            at,
            type: "purchase",
            by,
            reference,
            amount: s.big,
            vat_rate: s.flag ? "0.20" : "0",
            payment_method: s.flag ? "card" : "invoice",
            status: s.status,
          });
          break;
        }
        case "settle": {
          const reference = pending.shift();
          if (reference) bundle.events.push({ at, type: "settle_purchase", reference, status: s.settle });
          break;
        }
        case "allocate":
          bundle.events.push({ at, type: "allocate_credit", by, to: sub, amount: s.amount });
          break;
        case "reclaim":
          bundle.events.push({ at, type: "reclaim_credit", by, from: sub, amount: s.amount });
          break;
        case "subscription":
          bundle.events.push({ at, type: "allocate_subscription", by, to: sub, plan: s.plan });
          break;
        case "number":
          bundle.events.push({
            at,
            type: "allocate_number",
            by,
            to: sub,
            number: `+4420794600${String(i).padStart(2, "0")}`,
            months: s.months,
            price: s.amount,
          });
          break;
        case "rule":
          bundle.events.push({
            at,
            type: "auto_allocate_rule",
            by,
            to: sub,
            threshold: s.amount,
            amount: s.amount,
            monthly_cap: s.big,
          });
          break;
        case "consent": {
          const member = subjects.find((x) => !x.startsWith("sip:"));
          if (member) bundle.events.push({ at, type: "consent", member, granted: s.flag });
          break;
        }
        case "duplicate": {
          const id = usageIds[s.segments % Math.max(usageIds.length, 1)];
          if (id)
            bundle.events.push({
              at,
              type: "usage",
              subject: sub,
              kind: "sms",
              destination: s.destination,
              external_id: id,
            });
          break;
        }
        default: {
          const external_id = `cdr-${i}`;
          usageIds.push(external_id);
          bundle.events.push(
            s.call
              ? {
                  at,
                  type: "usage",
                  subject: sub,
                  kind: "call",
                  destination: s.destination,
                  duration_s: s.duration,
                  external_id,
                }
              : {
                  at,
                  type: "usage",
                  subject: sub,
                  kind: "sms",
                  destination: s.destination,
                  segments: s.segments,
                  external_id,
                },
          );
        }
      }
    }
    return bundle;
  });

/** Imports `doc`, dropping an event the replay refuses (a reclaim above the balance, …) until it imports. */
async function importRepaired(db: Db, doc: { events: JsonObject[] }): Promise<ImportResult> {
  for (let attempt = 0; attempt < 80; attempt++) {
    try {
      return await importBundle(db, doc, { nowMs: NOW });
    } catch (error) {
      const index = error instanceof AppError ? /^events\[(\d+)\]/.exec(error.path ?? "") : null;
      if (!index) throw error;
      doc.events.splice(Number(index[1]), 1);
    }
  }
  throw new Error("could not repair the random bundle");
}

for (const dialect of DIALECTS) {
  describe.skipIf(dialect === "postgres" && !pgOk)(`export round trip (${dialect})`, () => {
    let database: Database;
    let drop: () => Promise<void>;
    beforeAll(async () => {
      ({ db: database, drop } = await createTestDatabase(dialect));
    });
    afterAll(async () => drop());

    it("the §8 example: every report, every balance; the second export is the first, byte for byte", async () => {
      const { text, reports } = await roundTrip(database, specExampleBundle());
      expect(reports).toBeGreaterThan(10);
      const doc = JSON.parse(text) as { events: { type: string }[]; admins: Record<string, unknown>[] };
      expect(BundleSchema.safeParse(doc).success).toBe(true);
      // Passwords never leave; consent history is carried as events.
      expect(doc.admins.every((a) => !("password" in a))).toBe(true);
      expect(doc.events.filter((e) => e.type === "consent")).toHaveLength(2);
    });

    it("the demo company: every report of every month, every balance", async () => {
      const { reports } = await roundTrip(database, generateDemoBundle({ now: NOW, seed: 7 }));
      expect(reports).toBeGreaterThan(60);
    });

    it(`random histories (${RUNS[dialect]} cases): import(export(x)) reproduces every report`, async () => {
      let imported = 0;
      await fc.assert(
        fc.asyncProperty(randomBundle, async (bundle) => {
          await roundTripOf(database, await importRepaired(database, structuredClone(bundle)));
          imported++;
        }),
        { numRuns: RUNS[dialect] },
      );
      expect(imported).toBe(RUNS[dialect]);
    });
  });
}

/** The §8 example with two more admins, each of whom allocates once (the history names them). */
function exampleWithAdmins(): JsonObject {
  const doc = specExampleBundle();
  (doc["admins"] as JsonObject[]).push(
    { email: "max@acme.example", name: "Max Mustermann", role: "admin" },
    { email: "val@acme.example", name: "Val Viewer-to-be", role: "admin" },
  );
  const events = doc["events"] as JsonObject[];
  events.splice(3, 0, {
    at: "2026-09-01T09:05:30Z",
    type: "allocate_credit",
    by: "max@acme.example",
    to: "sip:pbx",
    amount: "5.00",
  });
  events.splice(4, 0, {
    at: "2026-09-01T09:05:40Z",
    type: "allocate_credit",
    by: "val@acme.example",
    to: "zoe",
    amount: "5.00",
  });
  return doc;
}

/** Usage ingested live, on time (each record processed at its own start, as the importer replays it). */
async function ingestOnTime(db: Db, companyId: number, subject: string, at: string, id: string) {
  const company = await loadCompany(db, companyId);
  const rates = await loadRateTable(db, companyId);
  const startedAtMs = Date.parse(at);
  await inTransaction(db, async (tx) =>
    ingestUsage(
      tx,
      company,
      [
        {
          externalId: id,
          subject: await requireSubject(tx, companyId, subject),
          kind: "call",
          startedAtMs,
          destination: "+447700900123",
          durationS: 600,
          segments: null,
          processedAtMs: startedAtMs,
        },
      ],
      { nowMs: startedAtMs, rates },
    ),
  );
}

describe.each(DIALECTS.filter((d) => d === "sqlite" || pgOk))("a history made live (%s)", (dialect) => {
  it("rule changed and deleted, consent given, an admin removed and one demoted: the same reports after a move", async () => {
    const { db, drop } = await createTestDatabase(dialect);
    try {
      const { company_id: id } = await importBundle(db, exampleWithAdmins(), { nowMs: NOW });
      const company = await loadCompany(db, id);
      const ana = await requireAdmin(db, id, "ana@acme.example", ["owner"]);
      const bob = await requireSubject(db, id, "acme.bob");
      const rule = (atIso: string, threshold: number, amountMinor: number) =>
        inTransaction(db, (tx) =>
          setAutoRule(tx, company, {
            subject: bob,
            thresholdMinor: threshold,
            amountMinor,
            monthlyCapMinor: 10_000,
            atMs: Date.parse(atIso),
            actorAdminId: ana.id,
            actor: ana.email,
          }),
        );
      await rule("2026-10-01T10:00:00Z", 10_000, 300);
      await ingestOnTime(db, id, "acme.bob", "2026-10-02T10:00:00Z", "live-1");
      await rule("2026-10-03T10:00:00Z", 5_000, 200);
      await ingestOnTime(db, id, "acme.bob", "2026-10-04T10:00:00Z", "live-2");
      // What DELETE /auto-rules/{subject} does.
      await inTransaction(db, async (tx) => {
        await tx.k.deleteFrom("auto_rules").where("account_id", "=", bob.accountId).execute();
        await writeAudit(tx, id, {
          atMs: Date.parse("2026-10-05T10:00:00Z"),
          actor: ana.email,
          action: "auto_rule.deleted",
          subject: "acme.bob",
        });
      });
      await ingestOnTime(db, id, "acme.bob", "2026-10-06T10:00:00Z", "live-3");
      const zoe = await requireSubject(db, id, "zoe.ng");
      await inTransaction(db, (tx) =>
        setConsent(tx, company, zoe.id, true, Date.parse("2026-10-07T10:00:00Z")),
      );
      const actor = { label: ana.email, adminId: ana.id };
      const max = await requireAdmin(db, id, "max@acme.example", ["admin"]);
      const val = await requireAdmin(db, id, "val@acme.example", ["admin"]);
      await inTransaction(db, (tx) => removeAdmin(tx, company, max.id, actor, NOW));
      await inTransaction(db, (tx) => changeAdminRole(tx, company, val.id, "viewer", actor, NOW));
      const autoAllocations = await db.k
        .selectFrom("transfers")
        .select("amount_minor")
        .where("company_id", "=", id)
        .where("kind", "=", "auto-allocate")
        .execute();
      expect(autoAllocations.map((t) => t.amount_minor)).toEqual([300, 200]);

      const parts: string[] = [];
      const result = await exportBundle(db, id, (c) => {
        parts.push(c);
      });
      const text = parts.join("");
      expect(result.notices.join("\n")).toMatch(/1 viewers who made changes/);
      expect(result.notices.join("\n")).toMatch(/1 removed admins/);
      expect(result.notices.join("\n")).toMatch(/1 auto-allocation rules were deleted/);
      const doc = JSON.parse(text) as { admins: { email: string; role: string }[] };
      expect(doc.admins.map((a) => `${a.email} ${a.role}`)).toEqual([
        "ana@acme.example owner",
        "max@acme.example admin",
        "val@acme.example admin",
      ]);
      const again = await importBundle(db, JSON.parse(text) as unknown, { nowMs: NOW });
      expect(await everything(db, again.company_id)).toEqual(await everything(db, id));
      expect(await exportText(db, again.company_id)).toBe(text);
    } finally {
      await drop();
    }
  });

  it("what the bundle cannot carry is named: a rate changed since, a purchase by an API key, late usage, renewals", async () => {
    const { db, drop } = await createTestDatabase(dialect);
    try {
      const { company_id: id } = await importBundle(db, specExampleBundle(), { nowMs: NOW });
      const company = await loadCompany(db, id);
      await inTransaction(db, async (tx) => {
        await putRate(tx, company, {
          prefix: "44",
          name: "United Kingdom",
          perMinute: "0.0300",
          connectionFee: "0.0390",
          interval: "60/60",
          sms: "0.1100",
        });
        await recordPurchase(tx, company, {
          reference: "API-1",
          amountMinor: 1_000,
          vatRate: "0",
          paymentMethod: "card",
          status: "completed",
          atMs: Date.parse("2026-10-01T10:00:00Z"),
          actorAdminId: null,
        });
      });
      // A call ingested two days after it started, which fires an auto-allocation then; a plan set to renew.
      const bob = await requireSubject(db, id, "acme.bob");
      const ana = await requireAdmin(db, id, "ana@acme.example", ["owner"]);
      const sub = await db.k
        .selectFrom("subscriptions")
        .select("id")
        .where("company_id", "=", id)
        .executeTakeFirstOrThrow();
      await inTransaction(db, async (tx) => {
        await setRenewal(tx, company, "subscriptions", sub.id, true);
        await setAutoRule(tx, company, {
          subject: bob,
          thresholdMinor: 10_000,
          amountMinor: 100,
          monthlyCapMinor: 5_000,
          atMs: Date.parse("2026-10-09T10:00:00Z"),
          actorAdminId: ana.id,
          actor: ana.email,
        });
      });
      const startedAtMs = Date.parse("2026-10-10T10:00:00Z");
      await inTransaction(db, async (tx) =>
        ingestUsage(
          tx,
          company,
          [
            {
              externalId: "late-1",
              subject: bob,
              kind: "call",
              startedAtMs,
              destination: "+447700900123",
              durationS: 60,
              segments: null,
            },
          ],
          { nowMs: startedAtMs + 2 * 86_400_000, rates: await loadRateTable(tx, id) },
        ),
      );
      const result = await exportBundle(db, id, () => undefined);
      expect(result.notices.join("\n")).toMatch(/1 auto-allocations were made when usage was ingested after/);
      expect(result.notices.join("\n")).toMatch(/1 subscriptions and numbers renew at the end of their term/);
      expect(result.notices.join("\n")).toMatch(
        /1 usage records were rated with a rate the rate table no longer has/,
      );
      expect(result.notices.join("\n")).toMatch(/1 purchases, allocations or rules were made by no admin/);
    } finally {
      await drop();
    }
  });
});

describe("erasure and retention", () => {
  it("an erased member moves with every total and balance; masked destinations rate the same", async () => {
    const { db, drop } = await createTestDatabase("sqlite");
    try {
      const { company_id: id } = await importBundle(db, specExampleBundle(), { nowMs: NOW });
      const company = await loadCompany(db, id);
      const bob = await requireSubject(db, id, "acme.bob");
      const erased = await eraseMember(db, company, bob.id, "ana@acme.example", NOW);
      const parts: string[] = [];
      const result = await exportBundle(db, id, (c) => {
        parts.push(c);
      });
      expect(result.notices.join("\n")).toMatch(/1 usage records of erased members have masked destinations/);
      expect(result.notices.join("\n")).toMatch(/1 members have no email/);
      const text = parts.join("");
      expect(text).not.toContain("Bob Byrne");
      expect(text).not.toContain("bob@acme.example");
      expect(text).toContain('"destination":"+44000000"');
      const again = await importBundle(db, JSON.parse(text) as unknown, { nowMs: NOW });
      const before = await everything(db, id);
      const after = await everything(db, again.company_id);
      // Only the masked destination reads differently (+44XXXX → +44000000); every figure is the same.
      const usageKey = `2026-09 usage ${erased.username}`;
      const rows = (r: unknown) => (r as JsonReport).rows.map((row) => ({ ...row, destination: null }));
      expect(rows(after[usageKey])).toEqual(rows(before[usageKey]));
      expect({ ...after, [usageKey]: null }).toEqual({ ...before, [usageKey]: null });
    } finally {
      await drop();
    }
  });

  it("a company whose old usage detail was purged is refused, unless --allow-incomplete", async () => {
    const { db, drop } = await createTestDatabase("sqlite");
    try {
      const { company_id: id } = await importBundle(db, specExampleBundle(), { nowMs: NOW });
      await purgeUsageDetail(db, { nowMs: Date.parse("2027-06-01T12:00:00Z"), retentionMonths: 6 });
      const written: string[] = [];
      await expect(exportBundle(db, id, (c) => void written.push(c))).rejects.toThrow(
        /usage detail of 1 months \(2026-09\) was removed by retention.*--allow-incomplete/,
      );
      expect(written).toEqual([]);
      const result = await exportBundle(db, id, () => undefined, { allowIncomplete: true });
      expect(result.usage).toBe(0);
      expect(result.notices[0]).toMatch(/removed by retention/);
    } finally {
      await drop();
    }
  });
});

describe("an export holds one company and nothing else", () => {
  it("the §8 company's export is the same whether the demo company shares its database or not", async () => {
    const alone = await createTestDatabase("sqlite");
    const shared = await createTestDatabase("sqlite");
    try {
      const a = await importBundle(alone.db, specExampleBundle(), { nowMs: NOW });
      await importBundle(shared.db, generateDemoBundle({ now: NOW, seed: 3 }), { nowMs: NOW });
      const b = await importBundle(shared.db, specExampleBundle(), { nowMs: NOW });
      await importBundle(shared.db, generateDemoBundle({ now: NOW, seed: 4 }), { nowMs: NOW });
      const text = await exportText(shared.db, b.company_id);
      expect(text).toBe(await exportText(alone.db, a.company_id));
      expect(text).not.toContain("northwind");
    } finally {
      await alone.drop();
      await shared.drop();
    }
  });
});

describe("switchboard export (CLI, in-process)", () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "sb-export-"));
  const env = { DATABASE_URL: `sqlite:${path.join(dir, "sb.db")}` };
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
  async function run(args: string[]) {
    const out = new PassThrough();
    const err = new PassThrough();
    let outText = "";
    let errText = "";
    out.on("data", (b: Buffer) => (outText += b.toString()));
    err.on("data", (b: Buffer) => (errText += b.toString()));
    const code = await main(["node", "switchboard", ...args], { env, out, err, clock: new ManualClock(NOW) });
    return { code, out: outText, err: errText };
  }

  it("writes the bundle to stdout or --out, and the file imports again", async () => {
    const bundleFile = path.join(dir, "in.json");
    fs.writeFileSync(bundleFile, JSON.stringify(specExampleBundle()));
    expect((await run(["import", bundleFile])).code).toBe(0);
    const stdout = await run(["export", "--company", "1"]);
    expect(stdout.code).toBe(0);
    expect(stdout.err).toContain("company 1:");
    const outFile = path.join(dir, "out.json");
    expect((await run(["export", "--company", "1", "--out", outFile])).code).toBe(0);
    expect(fs.readFileSync(outFile, "utf8")).toBe(stdout.out);
    const again = await run(["import", outFile]);
    expect(again.code).toBe(0);
    expect(JSON.parse(again.out)).toMatchObject({ company_id: 2, usage_ingested: 2 });
    expect(fs.readdirSync(dir).filter((f) => f.endsWith(".partial"))).toEqual([]);
  });

  it("an unknown company is one sentence and exit 1, and --out is not created", async () => {
    const outFile = path.join(dir, "none.json");
    const r = await run(["export", "--company", "99", "--out", outFile]);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/^switchboard: Company 99 does not exist\n$/);
    expect(fs.existsSync(outFile)).toBe(false);
    expect(fs.readdirSync(dir).filter((f) => f.endsWith(".partial"))).toEqual([]);
    expect((await run(["export", "--company", "abc"])).code).toBe(1);
    const noDir = await run(["export", "--company", "1", "--out", path.join(dir, "missing", "x.json")]);
    expect(noDir.code).toBe(1);
    expect(noDir.err).toMatch(/its directory does not exist/);
  });
});
