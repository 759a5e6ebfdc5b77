/**
 * @module Importing a bundle (PRODUCT.md §8) is all or nothing: each broken variant of the §8 example is
 * refused with a message that names the item's path and the reason, and leaves the database exactly as it
 * was (not one row in any table). The example itself imports, twice, and duplicates inside it are counted.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Database } from "../src/db/database";
import { importBundle } from "../src/bundle/import";
import { AppError } from "../src/shared/errors";
import type { ErrorCode } from "../src/shared/errors";
import { createTestDatabase, postgresAvailable } from "./helpers/databases";
import { SCHEMA_TABLES, tableRowCounts } from "./helpers/ledger-state";
import { specExampleBundle } from "./helpers/spec-example-bundle";
import type { JsonObject } from "./helpers/spec-example-bundle";

const pgOk = await postgresAvailable();

const NOW_MS = Date.UTC(2026, 9, 1, 12, 0, 0);
const EMPTY = Object.fromEntries(SCHEMA_TABLES.map((table) => [table, 0]));

const events = (doc: JsonObject): JsonObject[] => doc["events"] as JsonObject[];
const event = (doc: JsonObject, i: number): JsonObject => events(doc)[i]!;
const section = (doc: JsonObject, key: string): JsonObject => doc[key] as JsonObject;

/**
 * The example as a JPY company: JPY has no minor unit, so every amount loses its decimal point
 * ("100.00" → "10000" yen); rates and VAT rates keep theirs (they are not amounts of the currency).
 */
function jpyExampleBundle(): JsonObject {
  const doc = specExampleBundle();
  section(doc, "company")["currency"] = "JPY";
  const wholeYen = (o: JsonObject, key: string) => {
    const value = o[key];
    if (typeof value === "string") o[key] = value.replace(".", "");
  };
  for (const plan of doc["plans"] as JsonObject[]) wholeYen(plan, "price");
  for (const e of events(doc))
    for (const key of ["amount", "price", "threshold", "monthly_cap"]) wholeYen(e, key);
  return doc;
}

interface RefusalCase {
  name: string;
  /** The document to break; the EUR example unless said otherwise. */
  base?: () => JsonObject;
  mutate: (doc: JsonObject) => void;
  code: ErrorCode;
  path: string;
  /** The reason after "path: ": the whole of it, or a pattern it must match. */
  reason: string | RegExp;
}

// Event indexes of the §8 example: 0 purchase P-1001 (100.00 completed), 1 purchase P-1002 (50.00 pending),
// 2 allocate 20.00 to bob, 3 subscription uk to bob, 4 number to sip:pbx, 5 auto rule for bob, 6 call by
// bob, 7 SMS by sip:pbx, 8 reclaim 5.00 from bob, 9 settle P-1002, 10 consent of zoe.
const REFUSALS: RefusalCase[] = [
  {
    name: "an amount with more decimals than EUR allows",
    mutate: (doc) => (event(doc, 0)["amount"] = "100.001"),
    code: "invalid_input",
    path: "events[0].amount",
    reason: "more decimals than EUR allows",
  },
  {
    name: "a negative amount",
    mutate: (doc) => (event(doc, 0)["amount"] = "-100.00"),
    code: "invalid_input",
    path: "events[0].amount",
    reason: /negative|decimal string/,
  },
  {
    name: "an amount that is not a number",
    mutate: (doc) => (event(doc, 0)["amount"] = "one hundred"),
    code: "invalid_input",
    path: "events[0].amount",
    reason: /decimal/,
  },
  {
    name: "an amount written as a JSON number instead of a decimal string",
    mutate: (doc) => (event(doc, 0)["amount"] = 100),
    code: "invalid_input",
    path: "events[0].amount",
    reason: "must be a string",
  },
  {
    name: "an unknown top-level key",
    mutate: (doc) => (doc["customers"] = []),
    code: "invalid_input",
    path: "customers",
    reason: "unknown key",
  },
  {
    name: "an unknown key inside an event",
    mutate: (doc) => (event(doc, 2)["note"] = "for the trip"),
    code: "invalid_input",
    path: "events[2].note",
    reason: "unknown key",
  },
  {
    name: "an unknown event type",
    mutate: (doc) => (event(doc, 2)["type"] = "gift_credit"),
    code: "invalid_input",
    path: "events[2].type",
    reason: 'unknown event type "gift_credit"',
  },
  {
    name: "events out of order",
    mutate: (doc) => (event(doc, 3)["at"] = "2026-09-01T09:04:59Z"),
    code: "invalid_input",
    path: "events[3].at",
    reason: /non-decreasing/,
  },
  {
    name: "an event by a viewer",
    mutate: (doc) => {
      (doc["admins"] as JsonObject[]).push({ email: "vic@acme.example", name: "Vic Viewer", role: "viewer" });
      event(doc, 2)["by"] = "vic@acme.example";
    },
    code: "forbidden",
    path: "events[2].by",
    reason: /viewer/,
  },
  {
    name: "an allocation bigger than the company balance",
    mutate: (doc) => (event(doc, 2)["amount"] = "100.01"),
    code: "insufficient_balance",
    path: "events[2]",
    // P-1002 is still pending: only P-1001's 100.00 is there.
    reason: "the company balance is 100.00 EUR, 100.01 EUR is needed",
  },
  {
    name: "a reclaim from the personal member",
    mutate: (doc) => (event(doc, 8)["from"] = "zoe"),
    code: "forbidden",
    path: "events[8]",
    reason: /personal/,
  },
  {
    name: "a reclaim of more than the member's balance",
    mutate: (doc) => (event(doc, 8)["amount"] = "20.01"),
    code: "insufficient_balance",
    path: "events[8]",
    // Bob's call was covered by his plan: he still has the 20.00 allocated to him.
    reason: /20\.00 EUR/,
  },
  {
    name: "the same plan allocated twice while it is active",
    mutate: (doc) =>
      events(doc).splice(4, 0, {
        at: "2026-09-01T09:06:30Z",
        type: "allocate_subscription",
        by: "ana@acme.example",
        to: "bob",
        plan: "uk",
      }),
    code: "conflict",
    path: "events[4]",
    reason: /already has Unlimited UK active/,
  },
  {
    name: "a destination with 00 instead of +",
    mutate: (doc) => (event(doc, 6)["destination"] = "0044 20 7946 0123"),
    code: "invalid_input",
    path: "events[6].destination",
    reason: /00/,
  },
  {
    name: "a destination with letters",
    mutate: (doc) => (event(doc, 6)["destination"] = "+44abc"),
    code: "invalid_input",
    path: "events[6].destination",
    reason: /letters/,
  },
  {
    name: "`to` naming a member key that does not exist",
    mutate: (doc) => (event(doc, 2)["to"] = "carl"),
    code: "invalid_input",
    path: "events[2].to",
    reason: 'no member with key "carl"',
  },
  {
    name: "a settle of an unknown reference",
    mutate: (doc) => (event(doc, 9)["reference"] = "P-9999"),
    code: "not_found",
    path: "events[9]",
    reason: /P-9999/,
  },
  {
    name: "an unknown currency",
    mutate: (doc) => (section(doc, "company")["currency"] = "EUX"),
    code: "invalid_input",
    path: "company.currency",
    reason: /"EUX".*ISO 4217/,
  },
  {
    name: "an invalid timezone",
    mutate: (doc) => (section(doc, "company")["timezone"] = "Mars/Olympus"),
    code: "invalid_input",
    path: "company.timezone",
    reason: /"Mars\/Olympus".*IANA/,
  },
  {
    name: "a JPY company with an amount in fractions of a yen",
    base: jpyExampleBundle,
    mutate: (doc) => (event(doc, 0)["amount"] = "10.5"),
    code: "invalid_input",
    path: "events[0].amount",
    reason: "more decimals than JPY allows",
  },
];

async function balances(db: Database, companyId: number): Promise<Record<string, number>> {
  const rows = await db.k
    .selectFrom("accounts as a")
    .leftJoin("members as m", "m.account_id", "a.id")
    .leftJoin("sip_profiles as s", "s.account_id", "a.id")
    .select(["a.kind", "a.balance_minor", "m.username", "s.name"])
    .where("a.company_id", "=", companyId)
    .execute();
  return Object.fromEntries(rows.map((r) => [r.username ?? r.name ?? r.kind, r.balance_minor]));
}

for (const dialect of ["sqlite", "postgres"] as const) {
  describe.skipIf(dialect === "postgres" && !pgOk)(`importing a bundle (${dialect})`, () => {
    describe("refuses a broken bundle whole, naming the place", () => {
      let db: Database;
      let drop: () => Promise<void>;
      beforeAll(async () => {
        ({ db, drop } = await createTestDatabase(dialect));
      });
      afterAll(async () => {
        await drop();
      });

      it.each(REFUSALS)("$name → $path", async ({ base, mutate, code, path, reason }) => {
        const doc = (base ?? specExampleBundle)();
        mutate(doc);
        const error = await importBundle(db, doc, { nowMs: NOW_MS }).then(
          () => undefined,
          (e: unknown) => e,
        );
        expect(error).toBeInstanceOf(AppError);
        const e = error as AppError;
        expect({ code: e.code, path: e.path }).toEqual({ code, path });
        if (typeof reason === "string") expect(e.message).toBe(`${path}: ${reason}`);
        else {
          expect(e.message.startsWith(`${path}: `)).toBe(true);
          expect(e.reason).toMatch(reason);
        }
        // Nothing of the replay before the bad item survives: not a company, account or transfer.
        expect(await tableRowCounts(db)).toEqual(EMPTY);
      });
    });

    describe("imports the §8 example", () => {
      let db: Database;
      let drop: () => Promise<void>;
      beforeAll(async () => {
        ({ db, drop } = await createTestDatabase(dialect));
      });
      afterAll(async () => {
        await drop();
      });

      // Worked out by hand from §8: the company gets 100.00 + 50.00 (P-1002 settled), and pays 20.00 to
      // Bob, 4.99 for his plan and 15.00 for the number, and gets 5.00 back: 115.01. Bob's 125 s call to
      // +44 20… is covered by the plan (3 of 1000 minutes), so he keeps 20.00 − 5.00 = 15.00 and his
      // auto-allocation rule never fires. The PBX's two-segment SMS to +447… costs 2 × 0.11 = 0.22, taken
      // from a balance of zero (usage is always recorded, §3).
      const EXAMPLE_BALANCES = {
        company: 11_501,
        purchases: -15_000,
        features: 1_999,
        usage: 22,
        "acme.bob": 1_500,
        "zoe.ng": 0,
        "London PBX": -22,
      };

      it("imports it, and the identical document again as a second company", async () => {
        const first = await importBundle(db, specExampleBundle(), { nowMs: NOW_MS });
        expect(first).toEqual({
          company_id: first.company_id,
          members: 2,
          events: 11,
          usage_ingested: 2,
          duplicates: 0,
          unrated: 0,
        });
        expect(await balances(db, first.company_id)).toEqual(EXAMPLE_BALANCES);

        // Decision: a bundle is a company's history, not an update to one. Nothing in it identifies an
        // existing company (no id; names need not be unique), so importing it twice yields two companies
        // with the same history. Usage external_ids are unique per company, so none is a duplicate.
        const second = await importBundle(db, specExampleBundle(), { nowMs: NOW_MS });
        expect(second.company_id).not.toBe(first.company_id);
        expect(second).toEqual({ ...first, company_id: second.company_id });
        expect(await balances(db, second.company_id)).toEqual(EXAMPLE_BALANCES);
        const companies = await db.k.selectFrom("companies").select(["id", "name"]).orderBy("id").execute();
        expect(companies).toEqual([
          { id: first.company_id, name: "Acme Ltd" },
          { id: second.company_id, name: "Acme Ltd" },
        ]);
      });

      // The repeat either joins the same batch of usage (right after cdr-2) or comes after a reclaim, when
      // cdr-1 is already stored.
      it.each([
        { where: "in the same batch", index: 8, at: "2026-09-02T12:00:00Z" },
        { where: "after other events", index: 9, at: "2026-09-20T12:30:00Z" },
      ])("counts a usage record repeated $where as a duplicate, not an error", async ({ index, at }) => {
        const doc = specExampleBundle();
        events(doc).splice(index, 0, { ...event(doc, 6), at });
        const result = await importBundle(db, doc, { nowMs: NOW_MS });
        expect(result).toEqual({
          company_id: result.company_id,
          members: 2,
          events: 12,
          usage_ingested: 2,
          duplicates: 1,
          unrated: 0,
        });
        expect(await balances(db, result.company_id)).toEqual(EXAMPLE_BALANCES);
        const usage = await db.k
          .selectFrom("usage_records")
          .select("external_id")
          .where("company_id", "=", result.company_id)
          .orderBy("external_id")
          .execute();
        expect(usage).toEqual([{ external_id: "cdr-1" }, { external_id: "cdr-2" }]);
      });

      it("imports the JPY variant used above, so its only fault there was the 10.5", async () => {
        const result = await importBundle(db, jpyExampleBundle(), { nowMs: NOW_MS });
        expect(result.usage_ingested).toBe(2);
        // 0.22 rounds up to 1 yen: a charge is rounded up to the currency's minor unit (§7).
        expect(await balances(db, result.company_id)).toMatchObject({ company: 11_501, "London PBX": -1 });
      });
    });
  });
}
