/**
 * The core, end to end, on SQLite and PostgreSQL: import a bundle, then every report, compared with
 * figures worked out by hand from PRODUCT.md (the arithmetic is in the comments).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { importBundle } from "../src/bundle/import";
import type { Database } from "../src/db/database";
import { inTransaction } from "../src/db/database";
import { findBalanceMismatches } from "../src/services/allocation.service";
import { loadCompany } from "../src/services/company-context";
import { acknowledgePrivacy, findAdmin, requireSubject, setConsent } from "../src/services/people.service";
import { AppError } from "../src/shared/errors";
import { specExampleBundle } from "./helpers/spec-example-bundle";
import { createTestDatabase, DIALECTS, postgresAvailable } from "./helpers/databases";
import { NOW, reportCsv, reportJson } from "./helpers/reports";

const pgOk = await postgresAvailable();

const ANA = "ana@acme.example";

/** Edge cases: a local month boundary, DST, auto-allocation and its cap, unrated, duplicates, injection. */
function edgeBundle() {
  const by = ANA;
  const usage = (
    at: string,
    subject: string,
    kind: "call" | "sms",
    destination: string,
    id: string,
    d = 0,
  ) =>
    kind === "call"
      ? { at, type: "usage", subject, kind, destination, duration_s: d, external_id: id }
      : { at, type: "usage", subject, kind, destination, external_id: id };
  return {
    format: "switchboard-bundle/1",
    company: { name: "Edge Ltd", currency: "EUR", timezone: "Europe/London" },
    admins: [
      { email: ANA, name: "Ana Admin", role: "owner", privacy_acknowledged_at: "2026-09-01T00:00:00Z" },
      { email: "vic@acme.example", name: "Vic Viewer", role: "viewer" },
    ],
    groups: [
      { key: "sales", name: "Sales" },
      { key: "fin", name: "=Finance" },
    ],
    members: [
      {
        key: "bob",
        name: "Bob Byrne",
        username: "acme.bob",
        email: "bob@acme.example",
        account_type: "business",
        groups: ["sales", "fin"],
      },
      {
        key: "alex",
        name: "@lex Turner",
        username: "acme.alex",
        email: "alex@acme.example",
        account_type: "business",
      },
      {
        key: "zoe",
        name: "Zoë Ng",
        username: "zoe.ng",
        email: "zoe@example.org",
        account_type: "personal",
        reports_consent: true,
      },
    ],
    rates: [
      {
        prefix: "44",
        name: "United Kingdom",
        per_minute: "0.0230",
        connection_fee: "0.0390",
        interval: "60/60",
        sms: "0.1100",
      },
      {
        prefix: "447",
        name: "United Kingdom mobile",
        per_minute: "0.1500",
        connection_fee: "0.0390",
        interval: "60/1",
        sms: "0.1100",
      },
      {
        prefix: "49",
        name: "Germany",
        per_minute: "0.0200",
        connection_fee: "0",
        interval: "1/1",
        sms: "0.0900",
      },
    ],
    events: [
      // 22:00Z on 30 Sep is 23:00 BST: still September locally.
      {
        at: "2026-09-30T22:00:00Z",
        type: "purchase",
        by,
        reference: "P-1",
        amount: "100.10",
        vat_rate: "0.175",
        payment_method: "card",
        status: "completed",
      },
      // 23:30Z on 30 Sep is 00:30 BST on 1 Oct: an October allocation.
      { at: "2026-09-30T23:30:00Z", type: "allocate_credit", by, to: "bob", amount: "30.00" },
      {
        at: "2026-09-30T23:31:00Z",
        type: "auto_allocate_rule",
        by,
        to: "bob",
        threshold: "25.00",
        amount: "10.00",
        monthly_cap: "15.00",
      },
      { at: "2026-10-02T08:00:00Z", type: "allocate_credit", by, to: "alex", amount: "1.00" },
      usage("2026-10-05T10:00:00Z", "bob", "call", "+49 (30) 123-4567", "cdr-b1", 61),
      usage("2026-10-05T11:00:00Z", "bob", "call", "+447700900123", "cdr-b2", 300),
      usage("2026-10-06T09:00:00Z", "bob", "call", "+447700900124", "cdr-b3", 3000),
      usage("2026-10-06T10:00:00Z", "bob", "call", "+447700900124", "cdr-b4", 3000),
      usage("2026-10-06T10:30:00Z", "bob", "call", "+88234567890", "cdr-b5", 60),
      usage("2026-10-06T10:31:00Z", "bob", "call", "+49 (30) 123-4567", "cdr-b1", 61),
      // The clocks go back at 02:00 BST on 25 Oct: both of these are 01:30 local.
      usage("2026-10-25T00:30:00Z", "bob", "sms", "+447700900123", "cdr-b6"),
      usage("2026-10-25T01:30:00Z", "bob", "sms", "+447700900123", "cdr-b7"),
      usage("2026-10-31T23:59:59Z", "zoe", "call", "+442079460123", "cdr-z1", 0),
      usage("2026-11-01T00:00:00Z", "zoe", "sms", "+447700900123", "cdr-z2"),
    ],
  };
}

function yenBundle() {
  const by = "ken@tokyo.example";
  return {
    format: "switchboard-bundle/1",
    company: { name: "Tokyo KK", currency: "JPY", timezone: "Asia/Tokyo" },
    admins: [{ email: by, name: "Ken", role: "owner", privacy_acknowledged_at: "2026-09-01T00:00:00Z" }],
    members: [
      {
        key: "taro",
        name: "山田太郎",
        username: "yamada.taro",
        email: "taro@tokyo.example",
        account_type: "business",
      },
    ],
    rates: [
      { prefix: "81", name: "Japan", per_minute: "3.5", connection_fee: "0", interval: "60/60", sms: "3" },
    ],
    events: [
      // 15:00Z on 30 Sep is midnight on 1 Oct in Tokyo.
      {
        at: "2026-09-30T15:00:00Z",
        type: "purchase",
        by,
        reference: "T-1",
        amount: "10000",
        vat_rate: "0.10",
        payment_method: "invoice",
        status: "completed",
      },
      { at: "2026-10-01T00:05:00Z", type: "allocate_credit", by, to: "taro", amount: "5000" },
      {
        at: "2026-10-02T01:00:00Z",
        type: "usage",
        subject: "taro",
        kind: "call",
        destination: "+81 3 1234 5678",
        duration_s: 61,
        external_id: "j1",
      },
      {
        at: "2026-10-02T02:00:00Z",
        type: "usage",
        subject: "taro",
        kind: "call",
        destination: "+81312345678",
        duration_s: 30,
        external_id: "j2",
      },
      {
        at: "2026-10-02T03:00:00Z",
        type: "usage",
        subject: "taro",
        kind: "sms",
        destination: "+81312345678",
        external_id: "j3",
      },
    ],
  };
}

const dialects = DIALECTS.filter((d) => d === "sqlite" || pgOk);
if (!pgOk) console.warn("NOTICE: core integration suite runs on SQLite only (no PostgreSQL)");

describe.each(dialects)("core on %s", (dialect) => {
  let db: Database;
  let drop: () => Promise<void>;
  let acme: number;
  let edge: number;
  let yen: number;

  beforeAll(async () => {
    ({ db, drop } = await createTestDatabase(dialect));
    acme = (await importBundle(db, specExampleBundle(), { nowMs: NOW })).company_id;
    const e = await importBundle(db, edgeBundle(), { nowMs: NOW });
    edge = e.company_id;
    // 10 usage events (b1–b7, z1, z2 and b1 again): 9 stored, 1 duplicate, 1 unrated (+882…).
    expect(e).toEqual({
      company_id: edge,
      members: 3,
      events: 14,
      usage_ingested: 9,
      duplicates: 1,
      unrated: 1,
    });
    yen = (await importBundle(db, yenBundle(), { nowMs: NOW })).company_id;
  });
  afterAll(async () => drop());

  describe("the PRODUCT.md §8 example", () => {
    it("imports with the documented result", async () => {
      const { db: db2, drop: drop2 } = await createTestDatabase(dialect);
      try {
        const r = await importBundle(db2, specExampleBundle(), { nowMs: NOW });
        expect(r).toEqual({
          company_id: 1,
          members: 2,
          events: 11,
          usage_ingested: 2,
          duplicates: 0,
          unrated: 0,
        });
      } finally {
        await drop2();
      }
    });

    it("Summary for September 2026", async () => {
      const j = await reportJson(db, acme, { report: "summary", month: "2026-09" });
      expect(j).toMatchObject({
        report: "summary",
        company_id: acme,
        month: "2026-09",
        currency: "EUR",
        filter: {},
      });
      // purchased: P-1001 100.00 completed at once + P-1002 50.00 settled on 21 Sep = 150.00 (net, VAT excluded)
      // features: plan 4.99 + number 15.00 = 19.99; usage: the call is covered (0.00), the SMS 0.11 × 2 = 0.22
      // closing = 0 + 150.00 − 20.00 + 5.00 − 19.99 = 115.01
      expect(j.totals).toEqual({
        opening_company_balance: "0.00",
        purchased: "150.00",
        allocated_credit: "20.00",
        reclaimed_credit: "5.00",
        features_cost: "19.99",
        usage_charged: "0.22",
        closing_company_balance: "115.01",
      });
      // Zoë has no figure and a zero balance, so she has no row; Bob 20.00 − 5.00 = 15.00; the PBX −0.22.
      expect(j.rows).toEqual([
        {
          recipient_type: "member",
          recipient: "Bob Byrne",
          username: "acme.bob",
          groups: "Sales",
          credit_allocated: "20.00",
          credit_reclaimed: "5.00",
          features_cost: "4.99",
          usage_charged: "0.00",
          closing_balance: "15.00",
          currency: "EUR",
        },
        {
          recipient_type: "sip_profile",
          recipient: "London PBX",
          username: null,
          groups: null,
          credit_allocated: "0.00",
          credit_reclaimed: "0.00",
          features_cost: "15.00",
          usage_charged: "0.22",
          closing_balance: "-0.22",
          currency: "EUR",
        },
      ]);
    });

    it("Summary CSV: BOM, CRLF, header, exact cells", async () => {
      const csv = await reportCsv(db, acme, { report: "summary", month: "2026-09" });
      expect(csv.startsWith("\uFEFF")).toBe(true);
      expect(csv.slice(1).split("\r\n")).toEqual([
        "recipient_type,recipient,username,groups,credit_allocated,credit_reclaimed,features_cost,usage_charged,closing_balance,currency",
        "member,Bob Byrne,acme.bob,Sales,20.00,5.00,4.99,0.00,15.00,EUR",
        "sip_profile,London PBX,,,0.00,0.00,15.00,0.22,-0.22,EUR",
        "",
      ]);
    });

    it("Purchases for September 2026", async () => {
      const j = await reportJson(db, acme, { report: "purchases", month: "2026-09" });
      // VAT 100.00 × 0.20 = 20.00; P-1002 has no VAT rate (0). Completed: both (P-1002 settled later).
      expect(j.totals).toEqual({
        count: 2,
        completed_amount: "150.00",
        completed_vat: "20.00",
        completed_total: "170.00",
      });
      const csv = await reportCsv(db, acme, { report: "purchases", month: "2026-09" });
      expect(csv.slice(1).split("\r\n")).toEqual([
        "date,reference,payment_method,status,amount,vat,total,currency,purchased_by",
        "2026-09-01T10:00:00+01:00,P-1001,card,completed,100.00,20.00,120.00,EUR,ana@acme.example",
        "2026-09-01T10:01:00+01:00,P-1002,bank_transfer,completed,50.00,0.00,50.00,EUR,ana@acme.example",
        "",
      ]);
      const pending = await reportJson(db, acme, {
        report: "purchases",
        month: "2026-09",
        filter: { status: "pending" },
      });
      expect(pending.rows).toEqual([]);
      expect(pending.filter).toEqual({ status: "pending" });
    });

    it("Allocations of each feature for September 2026", async () => {
      const credit = await reportCsv(db, acme, { report: "allocations", month: "2026-09" });
      expect(credit.slice(1).split("\r\n")).toEqual([
        "date,feature,action,recipient_type,recipient,username,groups,detail,amount,currency,allocated_by",
        "2026-09-01T10:05:00+01:00,credit,allocate,member,Bob Byrne,acme.bob,Sales,,20.00,EUR,ana@acme.example",
        "2026-09-20T13:00:00+01:00,credit,reclaim,member,Bob Byrne,acme.bob,Sales,,5.00,EUR,ana@acme.example",
        "",
      ]);
      const sub = await reportJson(db, acme, {
        report: "allocations",
        month: "2026-09",
        feature: "subscription",
      });
      expect(sub.rows).toEqual([
        {
          date: "2026-09-01T10:06:00+01:00",
          feature: "subscription",
          action: "allocate",
          recipient_type: "member",
          recipient: "Bob Byrne",
          username: "acme.bob",
          groups: "Sales",
          detail: "Unlimited UK",
          amount: "4.99",
          currency: "EUR",
          allocated_by: ANA,
        },
      ]);
      const num = await reportCsv(db, acme, { report: "allocations", month: "2026-09", feature: "number" });
      expect(num.slice(1).split("\r\n")[1]).toBe(
        "2026-09-01T10:07:00+01:00,number,allocate,sip_profile,London PBX,,,+442079460000,15.00,EUR,ana@acme.example",
      );
      const j = await reportJson(db, acme, { report: "allocations", month: "2026-09" });
      expect(j.totals).toEqual({ count: 2, allocated: "20.00", reclaimed: "5.00", auto_allocated: "0.00" });
    });

    it("Usage: a covered call and a two-segment SMS", async () => {
      const company = await loadCompany(db, acme);
      const ana = await findAdmin(db, acme, ANA);
      if (!ana) throw new Error("no ana");
      const viewer = { kind: "admin" as const, admin: ana };
      const bob = await reportJson(
        db,
        acme,
        { report: "usage", month: "2026-09", subject: "acme.bob" },
        viewer,
      );
      // 125 s at 60/60 bills 180 s = 3 minutes of the 1000-minute Unlimited UK allowance: charge 0.
      expect(bob.rows).toEqual([
        {
          started_at: "2026-09-02T11:00:00+01:00",
          kind: "call",
          destination: "+442079460123",
          destination_name: "United Kingdom",
          duration_s: 125,
          billed_s: 180,
          rate_per_minute: "0.0230",
          charge: "0.00",
          currency: "EUR",
          status: "covered",
          covered_by: "Unlimited UK",
          external_id: "cdr-1",
        },
      ]);
      expect(bob.totals).toEqual({ calls: 1, sms: 0, billed_seconds: 180, charged: "0.00" });
      const pbx = await reportCsv(
        db,
        acme,
        { report: "usage", month: "2026-09", subject: "sip:London PBX" },
        viewer,
      );
      // 2 segments × 0.1100 = 0.22 (longest prefix 447: United Kingdom mobile)
      expect(pbx.slice(1).split("\r\n")[1]).toBe(
        "2026-09-02T12:00:00+01:00,sms,+447700900123,United Kingdom mobile,,,,0.22,EUR,rated,,cdr-2",
      );
      // Zoë withdrew consent on 22 Sep: refused on every interface, showing only her balance.
      await expect(
        reportJson(db, acme, { report: "usage", month: "2026-09", subject: "zoe.ng" }, viewer),
      ).rejects.toMatchObject({ code: "consent_required", details: { balance: "0.00", currency: "EUR" } });
      const audit = await db.k
        .selectFrom("audit_log")
        .select(["actor", "action", "subject", "details"])
        .where("company_id", "=", company.id)
        .where("action", "like", "usage_report.%")
        .orderBy("id")
        .execute();
      expect(audit.map((a) => [a.actor, a.action, a.subject])).toEqual([
        [ANA, "usage_report.opened", "acme.bob"],
        [ANA, "usage_report.opened", "sip:London PBX"],
        [ANA, "usage_report.refused", "zoe.ng"],
      ]);
      expect(JSON.parse(audit[1]?.details ?? "{}")).toEqual({ month: "2026-09", format: "csv" });
    });

    it("balances equal the sum of their entries", async () => {
      expect(await findBalanceMismatches(db, acme)).toEqual([]);
    });

    it("a cached balance that drifts from its entries is found", async () => {
      const bob = await db.k
        .selectFrom("members")
        .innerJoin("accounts", "accounts.id", "members.account_id")
        .select(["accounts.id", "accounts.balance_minor"])
        .where("members.company_id", "=", acme)
        .where("members.username", "=", "acme.bob")
        .executeTakeFirstOrThrow();
      const drift = (by: number) =>
        db.k
          .updateTable("accounts")
          .set({ balance_minor: bob.balance_minor + by })
          .where("id", "=", bob.id)
          .execute();
      await drift(1);
      try {
        expect(await findBalanceMismatches(db, acme)).toEqual([
          { accountId: bob.id, cachedMinor: bob.balance_minor + 1, fromEntriesMinor: bob.balance_minor },
        ]);
      } finally {
        await drift(0);
      }
      expect(await findBalanceMismatches(db, acme)).toEqual([]);
    });
  });

  describe("edge cases: local months, DST, auto-allocation, unrated, duplicates, injection", () => {
    it("September holds only the purchase made at 23:00 BST on the 30th", async () => {
      const j = await reportJson(db, edge, { report: "summary", month: "2026-09" });
      expect(j.totals).toMatchObject({
        purchased: "100.10",
        allocated_credit: "0.00",
        closing_company_balance: "100.10",
      });
      expect(j.rows).toEqual([]);
      // VAT 100.10 × 0.175 = 17.5175 → 17.52 (half up); total 117.62
      const p = await reportCsv(db, edge, { report: "purchases", month: "2026-09" });
      expect(p.slice(1).split("\r\n")[1]).toBe(
        "2026-09-30T23:00:00+01:00,P-1,card,completed,100.10,17.52,117.62,EUR,ana@acme.example",
      );
    });

    it("October Summary", async () => {
      const j = await reportJson(db, edge, { report: "summary", month: "2026-10" });
      // allocated: 30.00 (00:30 BST 1 Oct) + 1.00 + auto 10.00 = 41.00
      // usage: b1 +49 1/1 61 s: 0.0200 × 61/60 = 0.02033… → 0.03
      //        b2 +447 60/1 300 s: 0.0390 + 0.1500 × 5 = 0.789 → 0.79
      //        b3, b4 3000 s: 0.0390 + 0.1500 × 50 = 7.539 → 7.54 each
      //        b5 unrated 0; b6, b7 SMS 0.11 each; zoe's unanswered call 0
      //        0.03 + 0.79 + 7.54 + 7.54 + 0.11 + 0.11 = 16.12
      // closing = 100.10 − 41.00 = 59.10
      expect(j.totals).toEqual({
        opening_company_balance: "100.10",
        purchased: "0.00",
        allocated_credit: "41.00",
        reclaimed_credit: "0.00",
        features_cost: "0.00",
        usage_charged: "16.12",
        closing_company_balance: "59.10",
      });
      const csv = await reportCsv(db, edge, { report: "summary", month: "2026-10" });
      // Bob: 30 − 0.03 − 0.79 − 7.54 (21.64 < 25: auto +10 → 31.64) − 7.54 (24.10: cap 15 reached, skipped)
      //      − 0.11 − 0.11 = 23.88. Names and groups starting with @ or = are prefixed with '.
      expect(csv.slice(1).split("\r\n")).toEqual([
        "recipient_type,recipient,username,groups,credit_allocated,credit_reclaimed,features_cost,usage_charged,closing_balance,currency",
        "member,'@lex Turner,acme.alex,,1.00,0.00,0.00,0.00,1.00,EUR",
        "member,Bob Byrne,acme.bob,'=Finance;Sales,40.00,0.00,0.00,16.12,23.88,EUR",
        "",
      ]);
      const sales = await reportJson(db, edge, {
        report: "summary",
        month: "2026-10",
        filter: { group: "Sales" },
      });
      expect(sales.rows.map((r) => r["username"])).toEqual(["acme.bob"]);
      expect(sales.totals["closing_company_balance"]).toBe("59.10");
    });

    it("November: opening = October's closing; rows with only a closing balance stay", async () => {
      const j = await reportJson(db, edge, { report: "summary", month: "2026-11" });
      expect(j.totals).toMatchObject({
        opening_company_balance: "59.10",
        usage_charged: "0.11",
        closing_company_balance: "59.10",
      });
      expect(j.rows.map((r) => [r["recipient"], r["usage_charged"], r["closing_balance"]])).toEqual([
        ["@lex Turner", "0.00", "1.00"],
        ["Bob Byrne", "0.00", "23.88"],
        ["Zoë Ng", "0.11", "-0.11"],
      ]);
    });

    it("October credit allocations, with the auto-allocation and filters", async () => {
      const j = await reportJson(db, edge, { report: "allocations", month: "2026-10" });
      expect(
        j.rows.map((r) => [r["date"], r["action"], r["recipient"], r["amount"], r["allocated_by"]]),
      ).toEqual([
        ["2026-10-01T00:30:00+01:00", "allocate", "Bob Byrne", "30.00", ANA],
        ["2026-10-02T09:00:00+01:00", "allocate", "@lex Turner", "1.00", ANA],
        ["2026-10-06T10:00:00+01:00", "auto-allocate", "Bob Byrne", "10.00", ANA],
      ]);
      expect(j.totals).toEqual({ count: 3, allocated: "31.00", reclaimed: "0.00", auto_allocated: "10.00" });
      const auto = await reportJson(db, edge, {
        report: "allocations",
        month: "2026-10",
        filter: { action: "auto-allocate" },
      });
      expect(auto.rows).toHaveLength(1);
      const alex = await reportJson(db, edge, {
        report: "allocations",
        month: "2026-10",
        filter: { recipient: "acme.alex" },
      });
      expect(alex.rows.map((r) => r["amount"])).toEqual(["1.00"]);
      const fin = await reportJson(db, edge, {
        report: "allocations",
        month: "2026-10",
        filter: { group: "=Finance" },
      });
      expect(fin.rows).toHaveLength(2);
      const sept = await reportJson(db, edge, { report: "allocations", month: "2026-09" });
      expect(sept.rows).toEqual([]);
      // The two skipped auto-allocations are visible in the audit log (b4, b6, b7).
      const skips = await db.k
        .selectFrom("audit_log")
        .select("details")
        .where("company_id", "=", edge)
        .where("action", "=", "auto_allocate.skipped")
        .execute();
      expect(skips).toHaveLength(3);
    });

    it("October usage of Bob: DST, unrated, filters", async () => {
      const ana = await findAdmin(db, edge, ANA);
      if (!ana) throw new Error("no ana");
      const viewer = { kind: "admin" as const, admin: ana };
      const j = await reportJson(
        db,
        edge,
        { report: "usage", month: "2026-10", subject: "acme.bob" },
        viewer,
      );
      expect(j.rows.map((r) => [r["started_at"], r["external_id"], r["charge"]])).toEqual([
        ["2026-10-05T11:00:00+01:00", "cdr-b1", "0.03"],
        ["2026-10-05T12:00:00+01:00", "cdr-b2", "0.79"],
        ["2026-10-06T10:00:00+01:00", "cdr-b3", "7.54"],
        ["2026-10-06T11:00:00+01:00", "cdr-b4", "7.54"],
        ["2026-10-06T11:30:00+01:00", "cdr-b5", null],
        ["2026-10-25T01:30:00+01:00", "cdr-b6", "0.11"],
        ["2026-10-25T01:30:00+00:00", "cdr-b7", "0.11"],
      ]);
      expect(j.rows[0]).toMatchObject({
        destination: "+49301234567",
        destination_name: "Germany",
        duration_s: 61,
        billed_s: 61,
        rate_per_minute: "0.0200",
      });
      expect(j.rows[4]).toEqual({
        started_at: "2026-10-06T11:30:00+01:00",
        kind: "call",
        destination: "+88234567890",
        destination_name: null,
        duration_s: 60,
        billed_s: null,
        rate_per_minute: null,
        charge: null,
        currency: "EUR",
        status: "unrated",
        covered_by: null,
        external_id: "cdr-b5",
      });
      // billed: 61 + 300 + 3000 + 3000 = 6361 (the unrated call bills nothing)
      expect(j.totals).toEqual({ calls: 5, sms: 2, billed_seconds: 6361, charged: "16.12" });
      const sms = await reportJson(
        db,
        edge,
        { report: "usage", month: "2026-10", subject: "acme.bob", filter: { kind: "sms" } },
        viewer,
      );
      expect(sms.rows).toHaveLength(2);
      const mobile = await reportJson(
        db,
        edge,
        { report: "usage", month: "2026-10", subject: "acme.bob", filter: { prefix: "447" } },
        viewer,
      );
      expect(mobile.rows.map((r) => r["external_id"])).toEqual([
        "cdr-b2",
        "cdr-b3",
        "cdr-b4",
        "cdr-b6",
        "cdr-b7",
      ]);
      const csv = await reportCsv(
        db,
        edge,
        { report: "usage", month: "2026-10", subject: "acme.bob", filter: { prefix: "88" } },
        viewer,
      );
      expect(csv.slice(1).split("\r\n")[1]).toBe(
        "2026-10-06T11:30:00+01:00,call,+88234567890,,60,,,,EUR,unrated,,cdr-b5",
      );
    });

    it("privacy: acknowledgement, consent withdrawn, members and the operator", async () => {
      const company = await loadCompany(db, edge);
      const vic = await findAdmin(db, edge, "vic@acme.example");
      if (!vic) throw new Error("no vic");
      const asVic = { kind: "admin" as const, admin: vic };
      await expect(
        reportJson(db, edge, { report: "usage", month: "2026-10", subject: "zoe.ng" }, asVic),
      ).rejects.toMatchObject({ code: "privacy_ack_required" });
      await expect(
        reportJson(db, edge, { report: "usage", month: "2026-10", subject: "zoe.ng" }),
      ).rejects.toMatchObject({ code: "forbidden" });
      await inTransaction(db, (tx) => acknowledgePrivacy(tx, company, vic, NOW));
      const acked = await findAdmin(db, edge, "vic@acme.example");
      if (!acked) throw new Error("no vic");
      const asVic2 = { kind: "admin" as const, admin: acked };
      const z = await reportJson(db, edge, { report: "usage", month: "2026-10", subject: "zoe.ng" }, asVic2);
      // An unanswered call: billed 0 s and charged nothing, not even the connection fee.
      expect(z.rows).toEqual([
        expect.objectContaining({
          duration_s: 0,
          billed_s: 0,
          charge: "0.00",
          status: "rated",
          rate_per_minute: "0.0230",
        }),
      ]);
      const zoe = await requireSubject(db, edge, "zoe.ng");
      await inTransaction(db, (tx) => setConsent(tx, company, zoe.id, false, NOW));
      const refused = await reportJson(
        db,
        edge,
        { report: "usage", month: "2026-11", subject: "zoe.ng" },
        asVic2,
      ).catch((e: unknown) => e);
      expect(refused).toBeInstanceOf(AppError);
      expect((refused as AppError).message).toContain("-0.11 EUR");
      // The member herself always sees her own usage.
      const own = await reportJson(
        db,
        edge,
        { report: "usage", month: "2026-11", subject: "zoe.ng" },
        { kind: "member", memberId: zoe.id },
      );
      expect(own.totals).toEqual({ calls: 0, sms: 1, billed_seconds: 0, charged: "0.11" });
      await inTransaction(db, (tx) => setConsent(tx, company, zoe.id, true, NOW));
    });

    it("balances equal the sum of their entries", async () => {
      expect(await findBalanceMismatches(db, edge)).toEqual([]);
    });
  });

  describe("a JPY company (exponent 0) in Asia/Tokyo", () => {
    it("reports whole yen and rounds charges up to the yen", async () => {
      const j = await reportJson(db, yen, { report: "summary", month: "2026-10" });
      // VAT 10000 × 0.10 = 1000. Calls: 61 s → 120 s → 3.5 × 2 = 7; 30 s → 60 s → 3.5 → 4; SMS 3. 7 + 4 + 3 = 14
      expect(j.totals).toEqual({
        opening_company_balance: "0",
        purchased: "10000",
        allocated_credit: "5000",
        reclaimed_credit: "0",
        features_cost: "0",
        usage_charged: "14",
        closing_company_balance: "5000",
      });
      expect(j.rows).toEqual([
        expect.objectContaining({
          recipient: "山田太郎",
          usage_charged: "14",
          closing_balance: "4986",
          currency: "JPY",
        }),
      ]);
      const p = await reportCsv(db, yen, { report: "purchases", month: "2026-10" });
      expect(p.slice(1).split("\r\n")[1]).toBe(
        "2026-10-01T00:00:00+09:00,T-1,invoice,completed,10000,1000,11000,JPY,ken@tokyo.example",
      );
      const sept = await reportJson(db, yen, { report: "purchases", month: "2026-09" });
      expect(sept.totals["count"]).toBe(0);
    });
  });

  it("refuses bad report requests with a clear message", async () => {
    await expect(reportJson(db, acme, { report: "summary", month: "2026-13" })).rejects.toThrow(/month/);
    await expect(reportJson(db, acme, { report: "summary", filter: { colour: "red" } })).rejects.toThrow(
      'unknown filter "colour" for the Summary report (allowed: group)',
    );
    await expect(reportJson(db, acme, { report: "purchases", filter: { status: "lost" } })).rejects.toThrow(
      /status/,
    );
    await expect(reportJson(db, acme, { report: "usage", subject: "nobody" })).rejects.toThrow(
      'no member with username "nobody"',
    );
    await expect(reportJson(db, acme, { report: "allocations", feature: "fax" })).rejects.toThrow(
      /unknown feature/,
    );
    await expect(
      reportJson(db, acme, { report: "usage", subject: "acme.bob", filter: { prefix: "+44" } }),
    ).rejects.toThrow(/prefix/);
  });

  it("the current month is the default", async () => {
    const j = await reportJson(db, acme, { report: "summary" });
    expect(j.month).toBe("2026-11");
    expect(j.totals["opening_company_balance"]).toBe("115.01");
  });
});
