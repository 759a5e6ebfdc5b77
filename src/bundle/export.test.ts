/** Unit tests of the pure half of the exporter: rows → bundle items, ordering, the merge and the JSON text. */
import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { parseRate } from "../rating/rate-table";
import { BundleEventSchema } from "./bundle.schema";
import {
  compareItems,
  consentItem,
  EVENT_RANK,
  isoInstant,
  jsonListText,
  memberKeys,
  mergeSorted,
  positionalKeys,
  purchaseItems,
  ratedAsNow,
  ruleFiguresOf,
  ruleItems,
  transferItem,
  unmaskedDestination,
  usageItem,
} from "./export";
import type { ExportItem } from "./export";

const T = Date.parse("2026-09-01T09:00:00Z");

describe("isoInstant", () => {
  it("writes UTC with Z, milliseconds only when there are some", () => {
    expect(isoInstant(T)).toBe("2026-09-01T09:00:00Z");
    expect(isoInstant(T + 5)).toBe("2026-09-01T09:00:00.005Z");
  });
  it("round-trips every instant through Date.parse", () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: Date.parse("2100-01-01T00:00:00Z") }), (ms) => {
        expect(Date.parse(isoInstant(ms))).toBe(ms);
      }),
    );
  });
});

describe("keys", () => {
  it("members are keyed by username when it is a valid key, else by a position no username can take", () => {
    const long = `a${"b".repeat(80)}`;
    const keys = memberKeys([
      { id: 7, username: "acme.bob" },
      { id: 9, username: long },
    ]);
    expect(keys.get(7)).toBe("acme.bob");
    expect(keys.get(9)).toBe("_m2");
  });
  it("groups, SIP profiles and plans are keyed by position", () => {
    expect([...positionalKeys([{ id: 40 }, { id: 12 }], "g").values()]).toEqual(["g1", "g2"]);
  });
});

describe("purchases", () => {
  const base = {
    id: 3,
    reference: "P-1",
    payment_method: "card" as const,
    amount_minor: 10_000,
    vat_rate: "0.20",
    created_at_ms: T,
  };
  it("one completed at once is one event with its final status", () => {
    const items = purchaseItems(
      { ...base, status: "completed", settled_at_ms: T },
      "ana@acme.example",
      "EUR",
    );
    expect(items.map((i) => i.event)).toEqual([
      {
        at: "2026-09-01T09:00:00Z",
        type: "purchase",
        by: "ana@acme.example",
        reference: "P-1",
        amount: "100.00",
        vat_rate: "0.20",
        payment_method: "card",
        status: "completed",
      },
    ]);
  });
  it("one settled later is made pending, then settled at its own time", () => {
    const items = purchaseItems({ ...base, status: "failed", settled_at_ms: T + 60_000 }, "a@b.c", "JPY");
    expect(items.map((i) => [i.event.type, i.event.at, "status" in i.event ? i.event.status : null])).toEqual(
      [
        ["purchase", "2026-09-01T09:00:00Z", "pending"],
        ["settle_purchase", "2026-09-01T09:01:00Z", "failed"],
      ],
    );
    expect((items[0]?.event as { amount: string }).amount).toBe("10000");
  });
  it("a pending one stays pending", () => {
    const items = purchaseItems({ ...base, status: "pending", settled_at_ms: null }, "a@b.c", "EUR");
    expect(items).toHaveLength(1);
    expect(items[0]?.event).toMatchObject({ status: "pending" });
  });
});

describe("transfers, consent and usage", () => {
  const l = { by: "ana@acme.example", subject: "sip:p1", planKey: () => "plan1", currency: "BHD" };
  const t = {
    id: 5,
    at_ms: T,
    amount_minor: 1_500,
    recipient_account_id: 9,
    plan_id: null,
    number: null,
    months: null,
    price_minor: null,
  };
  it("maps each kind an admin makes to its event, each valid against the bundle schema", () => {
    const events = [
      transferItem({ ...t, kind: "allocate" }, l).event,
      transferItem({ ...t, kind: "reclaim" }, l).event,
      transferItem({ ...t, kind: "subscription", plan_id: 2 }, l).event,
      transferItem({ ...t, kind: "number", number: "+442079460000", months: 3, price_minor: 1_500 }, l).event,
      consentItem({ id: 1, at_ms: T, granted: 0 }, "zoe").event,
      usageItem(
        {
          id: 1,
          account_id: 9,
          external_id: "cdr-1",
          kind: "call",
          started_at_ms: T,
          destination: "+442079460123",
          duration_s: 125,
          segments: null,
        },
        "bob",
      ).event,
      usageItem(
        {
          id: 2,
          account_id: 9,
          external_id: "cdr-2",
          kind: "sms",
          started_at_ms: T,
          destination: "+447700900123",
          duration_s: null,
          segments: 2,
        },
        "bob",
      ).event,
    ];
    expect(events.map((e) => e.type)).toEqual([
      "allocate_credit",
      "reclaim_credit",
      "allocate_subscription",
      "allocate_number",
      "consent",
      "usage",
      "usage",
    ]);
    expect(events[0]).toMatchObject({ to: "sip:p1", amount: "1.500" });
    expect(events[1]).toMatchObject({ from: "sip:p1", amount: "1.500" });
    expect(events[3]).toMatchObject({ number: "+442079460000", months: 3, price: "1.500" });
    expect(events[6]).toMatchObject({ kind: "sms", segments: 2 });
    for (const e of events) expect(BundleEventSchema.parse(e)).toEqual(e);
  });
});

describe("auto-allocation rule history", () => {
  const set = (id: number, atMs: number, threshold: string, actor = "ana@acme.example") => ({
    id,
    at_ms: atMs,
    actor,
    action: "auto_rule.set",
    subject: "acme.bob",
    details: JSON.stringify({ threshold, amount: "10.00", monthly_cap: "30.00" }),
  });
  const current = {
    threshold: "3.00",
    amount: "10.00",
    monthly_cap: "30.00",
    updated_at_ms: T + 2,
    by: "x@y.z",
  };
  const by = (actor: string) => actor;

  it("replays every change from the audit log; nothing more when it ends in the current rule", () => {
    const { items } = ruleItems("bob", [set(1, T, "2.00"), set(2, T + 2, "3.00")], current, by, "0.00");
    expect(items.map((i) => (i.event as { threshold: string }).threshold)).toEqual(["2.00", "3.00"]);
    expect(items.every((i) => i.rank === EVENT_RANK.rule)).toBe(true);
  });
  it("a deleted rule becomes the same rule with monthly_cap 0, which never fires", () => {
    const deleted = { ...set(2, T + 1, "2.00"), action: "auto_rule.deleted", details: null };
    const { items, deleted: n } = ruleItems("bob", [set(1, T, "2.00"), deleted], null, by, "0.00");
    expect(n).toBe(1);
    expect(items[1]?.event).toMatchObject({ threshold: "2.00", amount: "10.00", monthly_cap: "0.00" });
  });
  it("without audit entries the current rule is written at its own time", () => {
    const { items } = ruleItems("bob", [], current, by, "0.00");
    expect(items.map((i) => [i.atMs, i.event])).toEqual([
      [
        T + 2,
        {
          at: isoInstant(T + 2),
          type: "auto_allocate_rule",
          by: "x@y.z",
          to: "bob",
          threshold: "3.00",
          amount: "10.00",
          monthly_cap: "30.00",
        },
      ],
    ]);
  });
  it("unreadable details are skipped", () => {
    expect(ruleFiguresOf("not json")).toBeNull();
    expect(ruleFiguresOf(JSON.stringify({ threshold: 1 }))).toBeNull();
  });
});

describe("ordering and merging", () => {
  const item = (atMs: number, rank: number, seq: number): ExportItem => ({
    atMs,
    rank,
    seq,
    event: { at: isoInstant(atMs), type: "consent", member: "m", granted: true },
  });
  it("orders by at, then money in before money out, usage last, then id", () => {
    const items = [item(2, 5, 1), item(1, 3, 9), item(1, 0, 4), item(1, 3, 2)];
    expect(items.sort(compareItems).map((i) => [i.atMs, i.rank, i.seq])).toEqual([
      [1, 0, 4],
      [1, 3, 2],
      [1, 3, 9],
      [2, 5, 1],
    ]);
  });
  it("merging a sorted list with a sorted stream gives the sorted union", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.tuple(fc.integer({ min: 0, max: 20 }), fc.integer({ min: 0, max: 4 })), {
          maxLength: 30,
        }),
        fc.array(fc.integer({ min: 0, max: 20 }), { maxLength: 30 }),
        async (listed, streamed) => {
          const a = listed.map(([at, rank], i) => item(at, rank, i)).sort(compareItems);
          const b = streamed.map((at, i) => item(at, 5, i)).sort(compareItems);
          async function* stream() {
            for (const x of b) yield await Promise.resolve(x);
          }
          const merged: ExportItem[] = [];
          for await (const x of mergeSorted(a, stream())) merged.push(x);
          expect(merged).toEqual([...a, ...b].sort(compareItems));
        },
      ),
    );
  });
});

describe("JSON text and rating notices", () => {
  it("writes one item per line", () => {
    expect(jsonListText("groups", [])).toBe('  "groups": []');
    expect(jsonListText("groups", [{ key: "g1" }, { key: "g2" }])).toBe(
      '  "groups": [\n    {"key":"g1"},\n    {"key":"g2"}\n  ]',
    );
  });
  it("knows when a record was rated with a rate the table no longer has", () => {
    const parsed = parseRate({
      prefix: "44",
      name: "United Kingdom",
      perMinute: "0.0230",
      connectionFee: "0.0390",
      interval: "60/60",
      sms: "0.11",
    });
    if (!parsed.ok) throw new Error(parsed.error);
    const rated = {
      status: "rated",
      rate_prefix: "44",
      rate_name: "United Kingdom",
      rate_per_minute: "0.0230",
      rate_connection_fee: "0.0390",
      rate_interval: "60/60",
    };
    expect(ratedAsNow(rated, parsed.value)).toBe(true);
    expect(ratedAsNow({ ...rated, rate_per_minute: "0.0200" }, parsed.value)).toBe(false);
    expect(ratedAsNow({ ...rated, status: "unrated" }, undefined)).toBe(true);
    expect(ratedAsNow({ ...rated, status: "unrated" }, parsed.value)).toBe(false);
  });
});

describe("masked destinations of erased members", () => {
  const rate = (prefix: string) => {
    const parsed = parseRate({
      prefix,
      name: prefix,
      perMinute: "0.01",
      connectionFee: "0",
      interval: "60/60",
      sms: "0.1",
    });
    if (!parsed.ok) throw new Error(parsed.error);
    return parsed.value;
  };
  const table = new Map([
    ["44", rate("44")],
    ["4400", rate("4400")],
    ["1", rate("1")],
  ]);
  const match = (digits: string) => {
    for (let n = digits.length; n > 0; n--) {
      const r = table.get(digits.slice(0, n));
      if (r) return r;
    }
    return undefined;
  };
  it("fills the prefix with the first digit that still matches the same rate", () => {
    expect(unmaskedDestination("+44XXXX", "44", match)).toBe("+44111111");
    expect(unmaskedDestination("+4400XXXX", "4400", match)).toBe("+44000000");
    expect(unmaskedDestination("+XXXX", null, match)).toBe("+00000000");
  });
  it("leaves phone numbers alone and gives up on what it cannot rate the same", () => {
    expect(unmaskedDestination("+442079460123", "44", match)).toBe("+442079460123");
    expect(unmaskedDestination("+44XXXX", "49", match)).toBeNull();
    expect(unmaskedDestination("hello", null, match)).toBeNull();
  });
});
