/** @module Tests of the demo bundle: it parses, obeys the import's rules, and examples/bundle.json is its exact output. */
import { readFileSync } from "node:fs";
import { DateTime } from "luxon";
import { describe, expect, it } from "vitest";
import type { Bundle } from "./bundle.schema";
import { BundleSchema } from "./bundle.schema";
import { EXAMPLE_BUNDLE_OPTIONS, generateDemoBundle, mulberry32 } from "./demo-bundle";

const EXAMPLE_PATH = new URL("../../examples/bundle.json", import.meta.url);
const OTHER_NOWS = [
  "2027-03-10T09:00:00Z",
  "2027-01-01T00:30:00Z",
  "2026-03-29T01:30:00Z",
  "2026-10-25T23:59:59Z",
];

const example = generateDemoBundle(EXAMPLE_BUNDLE_OPTIONS);

const minor = (amount: string): number => Math.round(Number(amount) * 100);
const local = (at: string): DateTime => DateTime.fromISO(at, { zone: "Europe/London" });

/**
 * Every rule of PRODUCT.md §2–§3 and §7–§8 that the bundle's data can be held to without rating
 * it, as a list of broken ones (empty when the bundle is importable).
 */
function importProblems(bundle: Bundle, now: number): string[] {
  const problems: string[] = [];
  const check = (ok: boolean, index: number, why: string): void => {
    if (!ok) problems.push(`events[${index}]: ${why}`);
  };

  const admins = new Set(bundle.admins.filter((a) => a.role !== "viewer").map((a) => a.email));
  const members = new Map(bundle.members.map((m) => [m.key, m]));
  const subjects = new Set([...members.keys(), ...bundle.sip_profiles.map((p) => `sip:${p.key}`)]);
  const groups = new Set(bundle.groups.map((g) => g.key));
  const plans = new Map(bundle.plans.map((p) => [p.key, p]));
  for (const member of members.values()) {
    for (const group of member.groups)
      if (!groups.has(group)) problems.push(`${member.key}: no group ${group}`);
  }
  if (new Set(bundle.members.map((m) => m.username)).size !== bundle.members.length)
    problems.push("usernames repeat");

  // The company balance, with each auto-allocation rule's monthly cap set aside for every month
  // it is in force: the lowest the real balance can be, whatever the rules end up allocating.
  let companyMinor = 0;
  const pending = new Map<string, number>();
  const rules = new Map<string, number>();
  const subscribed = new Map<string, DateTime>();
  const allocatedMinor = new Map<string, number>();
  const externalIds = new Set<string>();
  let monthEndMs = -Infinity;
  let previousAt = -Infinity;

  bundle.events.forEach((event, i) => {
    const at = Date.parse(event.at);
    check(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/.test(event.at), i, "at is not an ISO UTC second");
    check(at <= now, i, "after now");
    check(at >= previousAt, i, "out of order");
    previousAt = at;
    // Events are in order, so a new company-local month starts when one passes the month's end.
    if (at >= monthEndMs) {
      monthEndMs = local(event.at).startOf("month").plus({ months: 1 }).toMillis();
      for (const capMinor of rules.values()) companyMinor -= capMinor;
    }
    if ("by" in event) check(admins.has(event.by), i, `${event.by} is not an owner or admin`);
    const pay = (amountMinor: number): void => {
      companyMinor -= amountMinor;
      check(companyMinor >= 0, i, "company balance short");
    };
    switch (event.type) {
      case "purchase":
        check(!pending.has(event.reference), i, "reference repeats");
        if (event.status === "completed") companyMinor += minor(event.amount);
        if (event.status === "pending") pending.set(event.reference, minor(event.amount));
        break;
      case "settle_purchase":
        check(pending.has(event.reference), i, "settles no pending purchase");
        if (event.status === "completed") companyMinor += pending.get(event.reference) ?? 0;
        pending.delete(event.reference);
        break;
      case "allocate_credit":
        check(subjects.has(event.to), i, "unknown recipient");
        pay(minor(event.amount));
        allocatedMinor.set(event.to, (allocatedMinor.get(event.to) ?? 0) + minor(event.amount));
        break;
      case "allocate_subscription": {
        check(subjects.has(event.to), i, "unknown recipient");
        const plan = plans.get(event.plan);
        check(plan !== undefined, i, "unknown plan");
        const previous = subscribed.get(`${event.to} ${event.plan}`);
        check(
          previous === undefined || local(event.at) > previous.plus({ months: 1 }),
          i,
          "plan still active",
        );
        subscribed.set(`${event.to} ${event.plan}`, local(event.at));
        pay(minor(plan?.price ?? "0"));
        break;
      }
      case "allocate_number":
        check(subjects.has(event.to), i, "unknown recipient");
        pay(minor(event.price));
        break;
      case "auto_allocate_rule":
        check(subjects.has(event.to), i, "unknown recipient");
        check(!rules.has(event.to), i, "second rule for the same recipient");
        rules.set(event.to, minor(event.monthly_cap));
        pay(minor(event.monthly_cap));
        break;
      case "reclaim_credit":
        check(members.get(event.from)?.account_type === "business", i, "reclaim from a non-business member");
        // Small against what was given, so usage cannot have spent it (replay() proves the bound).
        check(minor(event.amount) * 10 <= (allocatedMinor.get(event.from) ?? 0), i, "reclaim too large");
        companyMinor += minor(event.amount);
        break;
      case "usage":
        check(subjects.has(event.subject), i, "unknown subject");
        check(!externalIds.has(event.external_id), i, "external_id repeats");
        externalIds.add(event.external_id);
        // §7: "+" and 8 to 15 digits once spaces, dashes, dots and parentheses are removed.
        check(/^\+\d{8,15}$/.test(event.destination.replace(/[\s().-]/g, "")), i, "bad destination");
        break;
      case "consent":
        check(
          members.get(event.member)?.account_type === "personal",
          i,
          "consent from a non-personal member",
        );
        break;
    }
  });
  return problems;
}

function expectImportable(bundle: Bundle, now: number): void {
  expect(BundleSchema.parse(bundle)).toEqual(bundle);
  expect(importProblems(bundle, now)).toEqual([]);
}

describe("generateDemoBundle", () => {
  it("produces an importable bundle for the example's date", () => {
    expectImportable(example, EXAMPLE_BUNDLE_OPTIONS.now);
  });

  it("is checked by tests that do catch a broken bundle", () => {
    const broken = structuredClone(example);
    const allocation = broken.events.find((event) => event.type === "allocate_credit");
    const usage = broken.events.filter((event) => event.type === "usage");
    if (allocation?.type !== "allocate_credit" || usage[1] === undefined || usage[0] === undefined) {
      throw new Error("the example has allocations and usage");
    }
    allocation.amount = "99999.00";
    usage[1].external_id = usage[0].external_id;
    broken.events.reverse();
    const problems = importProblems(broken, EXAMPLE_BUNDLE_OPTIONS.now);
    expect(problems.some((p) => p.endsWith("company balance short"))).toBe(true);
    expect(problems.some((p) => p.endsWith("external_id repeats"))).toBe(true);
    expect(problems.some((p) => p.endsWith("out of order"))).toBe(true);
  });

  it("is what examples/bundle.json holds, so the two cannot drift", () => {
    const committed: unknown = JSON.parse(readFileSync(EXAMPLE_PATH, "utf8"));
    expect(committed).toEqual(example);
  });

  it.each(OTHER_NOWS)("produces an importable bundle for now = %s", (nowIso) => {
    const now = Date.parse(nowIso);
    const bundle = generateDemoBundle({ now, seed: 7 });
    expectImportable(bundle, now);
    // Three calendar months ending in the month of `now`; that month may still be empty.
    const nowMonth = local(nowIso).startOf("month");
    const expected = [2, 1, 0].map((back) => nowMonth.minus({ months: back }).toFormat("yyyy-MM"));
    const months = new Set(bundle.events.map((event) => local(event.at).toFormat("yyyy-MM")));
    for (const m of months) expect(expected).toContain(m);
    expect([...months]).toEqual(expect.arrayContaining(expected.slice(0, 2)));
  });

  it("is deterministic for a seed and differs between seeds", () => {
    expect(generateDemoBundle(EXAMPLE_BUNDLE_OPTIONS)).toEqual(example);
    const other = generateDemoBundle({ ...EXAMPLE_BUNDLE_OPTIONS, seed: 43 });
    expect(other.events).not.toEqual(example.events);
    expect(other.members).toEqual(example.members);
  });

  it("tells a believable story that exercises the reports", () => {
    const { members, events } = example;
    const usage = events.filter((event) => event.type === "usage");
    const calls = usage.filter((event) => event.kind === "call");
    const sms = usage.filter((event) => event.kind === "sms");
    expect(members.length).toBeGreaterThanOrEqual(18);
    expect(usage.length).toBeGreaterThan(2_500);
    expect(usage.length).toBeLessThan(3_500);
    expect(calls.some((call) => call.duration_s === 0)).toBe(true);
    expect(new Set(sms.map((message) => message.segments))).toEqual(new Set([1, 2, 3]));
    expect(usage.map((event) => event.destination)).toContain("+88234567890");

    const personal = members.filter((m) => m.account_type === "personal");
    expect(personal.some((m) => m.reports_consent)).toBe(true);
    expect(personal.some((m) => !m.reports_consent)).toBe(true);
    expect(members.some((m) => /^[=+\-@]/.test(m.name))).toBe(true);
    expect(members.some((m) => m.groups.length === 0)).toBe(true);
    expect(members.some((m) => m.groups.length === 2)).toBe(true);
    expect(example.admins.every((admin) => admin.privacy_acknowledged_at === undefined)).toBe(true);

    const types = new Set(events.map((event) => event.type));
    expect([...types].sort()).toEqual([
      "allocate_credit",
      "allocate_number",
      "allocate_subscription",
      "auto_allocate_rule",
      "consent",
      "purchase",
      "reclaim_credit",
      "settle_purchase",
      "usage",
    ]);
    const purchases = events.filter((event) => event.type === "purchase");
    expect(new Set(purchases.map((p) => p.status))).toEqual(new Set(["completed", "pending", "failed"]));

    // Office hours in London carry most of the calls.
    const officeHours = usage.filter((event) => {
      const hour = local(event.at).hour;
      return hour >= 9 && hour < 18;
    });
    expect(officeHours.length / usage.length).toBeGreaterThan(0.75);
  });
});

describe("mulberry32", () => {
  it("repeats for a seed and stays in [0, 1)", () => {
    const a = mulberry32(42);
    const b = mulberry32(42);
    const values = Array.from({ length: 1_000 }, () => a());
    expect(Array.from({ length: 1_000 }, () => b())).toEqual(values);
    expect(values.every((v) => v >= 0 && v < 1)).toBe(true);
    expect(new Set(values).size).toBe(values.length);
  });
});
