/** @module Tests of the bundle schema: the PRODUCT.md §8 example parses, and refusals name the path and say why. */
import { describe, expect, it } from "vitest";
import { BundleSchema, describeZodError, formatZodPath } from "./bundle.schema";

/** PRODUCT.md §8, verbatim. */
const SPEC_EXAMPLE_JSON = String.raw`{
  "format": "switchboard-bundle/1",
  "company": { "name": "Acme Ltd", "currency": "EUR", "timezone": "Europe/London" },
  "admins": [
    { "email": "ana@acme.example", "name": "Ana Admin", "role": "owner",
      "password": "optional plain text, hashed on import",
      "privacy_acknowledged_at": "2026-09-01T08:00:00Z" }
  ],
  "groups": [ { "key": "sales", "name": "Sales" } ],
  "members": [
    { "key": "bob", "name": "Bob Byrne", "username": "acme.bob",
      "email": "bob@acme.example", "account_type": "business", "groups": ["sales"] },
    { "key": "zoe", "name": "Zoë Ng", "username": "zoe.ng", "email": "zoe@example.org",
      "account_type": "personal", "groups": [], "reports_consent": true }
  ],
  "sip_profiles": [ { "key": "pbx", "name": "London PBX", "channels": 4 } ],
  "rates": [
    { "prefix": "44", "name": "United Kingdom", "per_minute": "0.0230",
      "connection_fee": "0.0390", "interval": "60/60", "sms": "0.1100" },
    { "prefix": "447", "name": "United Kingdom mobile", "per_minute": "0.1500",
      "connection_fee": "0.0390", "interval": "60/1", "sms": "0.1100" }
  ],
  "plans": [
    { "key": "uk", "name": "Unlimited UK", "price": "4.99", "prefixes": ["44"], "minutes": 1000 }
  ],
  "events": [
    { "at": "2026-09-01T09:00:00Z", "type": "purchase", "by": "ana@acme.example",
      "reference": "P-1001", "amount": "100.00", "vat_rate": "0.20",
      "payment_method": "card", "status": "completed" },
    { "at": "2026-09-01T09:01:00Z", "type": "purchase", "by": "ana@acme.example",
      "reference": "P-1002", "amount": "50.00", "payment_method": "bank_transfer",
      "status": "pending" },
    { "at": "2026-09-01T09:05:00Z", "type": "allocate_credit", "by": "ana@acme.example",
      "to": "bob", "amount": "20.00" },
    { "at": "2026-09-01T09:06:00Z", "type": "allocate_subscription", "by": "ana@acme.example",
      "to": "bob", "plan": "uk" },
    { "at": "2026-09-01T09:07:00Z", "type": "allocate_number", "by": "ana@acme.example",
      "to": "sip:pbx", "number": "+442079460000", "months": 3, "price": "15.00" },
    { "at": "2026-09-01T09:08:00Z", "type": "auto_allocate_rule", "by": "ana@acme.example",
      "to": "bob", "threshold": "2.00", "amount": "10.00", "monthly_cap": "30.00" },
    { "at": "2026-09-02T10:00:00Z", "type": "usage", "subject": "bob", "kind": "call",
      "destination": "+44 20 7946 0123", "duration_s": 125, "external_id": "cdr-1" },
    { "at": "2026-09-02T11:00:00Z", "type": "usage", "subject": "sip:pbx", "kind": "sms",
      "destination": "+447700900123", "segments": 2, "external_id": "cdr-2" },
    { "at": "2026-09-20T12:00:00Z", "type": "reclaim_credit", "by": "ana@acme.example",
      "from": "bob", "amount": "5.00" },
    { "at": "2026-09-21T12:00:00Z", "type": "settle_purchase", "reference": "P-1002",
      "status": "completed" },
    { "at": "2026-09-22T12:00:00Z", "type": "consent", "member": "zoe", "granted": false }
  ]
}`;

type Obj = Record<string, unknown>;
type Doc = Obj & {
  company: Obj;
  admins: Obj[];
  members: Obj[];
  sip_profiles: Obj[];
  rates: Obj[];
  events: Obj[];
};
const specExample = (): Doc => JSON.parse(SPEC_EXAMPLE_JSON) as Doc;

/** The example with one change made by `edit` on a fresh copy. */
function edited(edit: (doc: Doc) => void): Doc {
  const doc = specExample();
  edit(doc);
  return doc;
}

/** The item at `index`, which the test knows is there. */
function item(items: Obj[], index: number): Obj {
  const found = items[index];
  if (found === undefined) throw new Error(`no item ${index}`);
  return found;
}

function firstProblem(input: unknown): string {
  const result = BundleSchema.safeParse(input);
  if (result.success) throw new Error("expected the bundle to be refused");
  const { path, message } = describeZodError(result.error);
  return path === "" ? message : `${path}: ${message}`;
}

describe("BundleSchema", () => {
  it("parses the PRODUCT.md §8 example and fills in the defaults", () => {
    const bundle = BundleSchema.parse(specExample());
    expect(bundle.company).toEqual({ name: "Acme Ltd", currency: "EUR", timezone: "Europe/London" });
    expect(bundle.members.map((m) => m.reports_consent)).toEqual([false, true]);
    expect(bundle.events).toHaveLength(11);
    const pending = bundle.events[1];
    expect(pending?.type === "purchase" && pending.vat_rate).toBe("0");
    const call = bundle.events[6];
    expect(call).toMatchObject({ type: "usage", kind: "call", duration_s: 125 });
    expect(bundle.rates[1]?.interval).toBe("60/1");
  });

  it("defaults segments to 1, interval to 60/60 and member groups to []", () => {
    const bundle = BundleSchema.parse(
      edited((doc) => {
        delete item(doc.events, 7).segments;
        delete item(doc.rates, 0).interval;
        delete item(doc.members, 0).groups;
      }),
    );
    expect(bundle.events[7]).toMatchObject({ kind: "sms", segments: 1 });
    expect(bundle.rates[0]?.interval).toBe("60/60");
    expect(bundle.members[0]?.groups).toEqual([]);
  });

  it("refuses unknown keys, naming the key", () => {
    expect(firstProblem(edited((doc) => void (item(doc.members, 0).nickname = "Bobby")))).toBe(
      "members[0].nickname: unknown key",
    );
    expect(firstProblem(edited((doc) => void (doc.extra = 1)))).toBe("extra: unknown key");
    expect(firstProblem(edited((doc) => void (item(doc.events, 2).note = "x")))).toBe(
      "events[2].note: unknown key",
    );
    // A key of the other usage kind is unknown too: a call has no segments.
    expect(firstProblem(edited((doc) => void (item(doc.events, 6).segments = 1)))).toBe(
      "events[6].segments: unknown key",
    );
  });

  it("says which field is missing", () => {
    expect(firstProblem(edited((doc) => delete doc.company.currency))).toBe("company.currency: required");
    expect(firstProblem(edited((doc) => delete item(doc.events, 6).duration_s))).toBe(
      "events[6].duration_s: required",
    );
    expect(firstProblem(edited((doc) => delete item(doc.events, 3).type))).toBe("events[3].type: required");
    expect(firstProblem(edited((doc) => delete doc.format))).toBe("format: required");
  });

  it("refuses unknown event types and enum values", () => {
    expect(firstProblem(edited((doc) => void (item(doc.events, 3).type = "allocate")))).toBe(
      'events[3].type: unknown event type "allocate"',
    );
    expect(firstProblem(edited((doc) => void (item(doc.events, 7).kind = "fax")))).toBe(
      'events[7].kind: unknown usage kind "fax"',
    );
    expect(firstProblem(edited((doc) => void (item(doc.admins, 0).role = "root")))).toBe(
      'admins[0].role: must be one of "owner", "admin", "viewer"',
    );
    expect(firstProblem(edited((doc) => void (item(doc.events, 0).status = "done")))).toBe(
      'events[0].status: must be one of "completed", "pending", "failed"',
    );
    expect(firstProblem(edited((doc) => void (doc.format = "switchboard-bundle/2")))).toBe(
      'format: must be "switchboard-bundle/1"',
    );
  });

  it("refuses amounts that are not decimal strings", () => {
    const message = 'must be a decimal string like "12.50"';
    for (const bad of ["-5.00", "12,50", "1e3", "12.", ".5", " 5", ""]) {
      expect(firstProblem(edited((doc) => void (item(doc.events, 2).amount = bad)))).toBe(
        `events[2].amount: ${message}`,
      );
    }
    expect(firstProblem(edited((doc) => void (item(doc.events, 2).amount = 20)))).toBe(
      "events[2].amount: must be a string",
    );
    expect(firstProblem(edited((doc) => void (item(doc.rates, 0).per_minute = "0,023")))).toBe(
      `rates[0].per_minute: ${message}`,
    );
  });

  it("refuses wrong types, out-of-range integers and a document that is not an object", () => {
    expect(firstProblem(edited((doc) => void (item(doc.events, 6).duration_s = 12.5)))).toBe(
      "events[6].duration_s: must be an integer",
    );
    expect(firstProblem(edited((doc) => void (item(doc.events, 6).duration_s = -1)))).toBe(
      "events[6].duration_s: must be at least 0",
    );
    expect(firstProblem(edited((doc) => void (item(doc.events, 7).segments = 0)))).toBe(
      "events[7].segments: must be at least 1",
    );
    expect(firstProblem(edited((doc) => void (item(doc.sip_profiles, 0).channels = 0)))).toBe(
      "sip_profiles[0].channels: must be at least 1",
    );
    expect(firstProblem(edited((doc) => void (item(doc.events, 10).granted = "no")))).toBe(
      "events[10].granted: must be true or false",
    );
    expect(firstProblem(edited((doc) => void (doc.company.name = "x".repeat(201))))).toBe(
      "company.name: must be at most 200 characters",
    );
    expect(firstProblem(edited((doc) => void (item(doc.events, 6).subject = "sip:")))).toMatch(
      /^events\[6\]\.subject: /,
    );
    expect(firstProblem([])).toBe("must be an object");
  });

  it("reports the first problem in document order", () => {
    const doc = edited((d) => {
      item(d.events, 9).status = "pending";
      item(d.events, 4).months = 0;
    });
    expect(firstProblem(doc)).toBe("events[4].months: must be at least 1");
  });
});

describe("formatZodPath", () => {
  it("writes 0-based indexes in brackets and keys with dots", () => {
    expect(formatZodPath(["events", 12, "amount"])).toBe("events[12].amount");
    expect(formatZodPath([])).toBe("");
    expect(formatZodPath([0])).toBe("[0]");
    expect(formatZodPath(["a b", "c"])).toBe('["a b"].c');
  });
});
