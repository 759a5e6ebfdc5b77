import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { parseRate, RateTable } from "./rate-table";
import type { Rate, RateInput } from "./rate-table";
import { rateUsage } from "./rate";
import type { SubscriptionWindow, UsageToRate } from "./rate";

function rate(input: RateInput): Rate {
  const parsed = parseRate(input);
  if (!parsed.ok) throw new Error(parsed.error);
  return parsed.value;
}

// The rates of PRODUCT.md §8.
const UK = rate({
  prefix: "44",
  name: "United Kingdom",
  perMinute: "0.0230",
  connectionFee: "0.0390",
  interval: "60/60",
  sms: "0.1100",
});
const UK_MOBILE = rate({
  prefix: "447",
  name: "United Kingdom mobile",
  perMinute: "0.1500",
  connectionFee: "0.0390",
  interval: "60/1",
  sms: "0.1100",
});
const GERMANY = rate({
  prefix: "49",
  name: "Germany",
  perMinute: "0.0230",
  connectionFee: "0",
  interval: "60/1",
  sms: "0.115",
});
const TABLE = new RateTable([UK, UK_MOBILE, GERMANY]);
const EUR = 2;
const JPY = 0;

const START = Date.UTC(2026, 8, 2, 10, 0, 0);

function call(destinationDigits: string, durationS: number): UsageToRate {
  return { kind: "call", destinationDigits, durationS, segments: 1, startedAtMs: START };
}

function sms(destinationDigits: string, segments: number): UsageToRate {
  return { kind: "sms", destinationDigits, durationS: 0, segments, startedAtMs: START };
}

function sub(patch: Partial<SubscriptionWindow>): SubscriptionWindow {
  return {
    id: 1,
    allocatedAtMs: Date.UTC(2026, 8, 1, 9, 6),
    activeFromMs: Date.UTC(2026, 8, 1, 9, 6),
    activeUntilMs: Date.UTC(2026, 9, 1, 9, 6),
    prefixes: ["44"],
    minutes: 1000,
    usedMinutes: 0,
    planName: "Unlimited UK",
    ...patch,
  };
}

describe("rateUsage: calls", () => {
  it("rounds the exact charge up to the minor unit (UK landline, 60/60)", () => {
    // 125 s at 60/60: 60 + ⌈65/60⌉ × 60 = 180 s. 0.0390 + 0.0230 × 180/60 = 0.0390 + 0.0690 = 0.1080 → 0.11 EUR.
    expect(rateUsage(call("442079460123", 125), TABLE, [], EUR)).toEqual({
      status: "rated",
      rate: UK,
      billedS: 180,
      chargeMinor: 11,
      exact: "0.108",
      coveredMinutes: 0,
      subscriptionId: null,
    });
  });

  it("uses the longest prefix (UK mobile, 60/1) over the shorter one", () => {
    // 447… matches 447 (and 44): 447 wins. 125 s at 60/1 → 125 s.
    // 0.0390 + 0.1500 × 125/60 = 0.0390 + 0.3125 = 0.3515 → 0.36 EUR.
    const rated = rateUsage(call("447700900123", 125), TABLE, [], EUR);
    expect(rated).toMatchObject({
      status: "rated",
      rate: UK_MOBILE,
      billedS: 125,
      chargeMinor: 36,
      exact: "0.3515",
    });
  });

  it("keeps a non-terminating exact charge as a fraction", () => {
    // 61 s at 60/1 → 61 s. 0 + 0.0230 × 61/60 = 1.403/60 = 1403/60000 = 0.02338… → 0.03 EUR.
    const rated = rateUsage(call("4930123456", 61), TABLE, [], EUR);
    expect(rated).toMatchObject({ status: "rated", billedS: 61, chargeMinor: 3, exact: "1403/60000" });
  });

  it("an exactly representable charge is not rounded further", () => {
    // 60 s at 60/60 → 60 s. 0.0390 + 0.0230 = 0.0620 → 6.2 cents → 7.
    expect(rateUsage(call("442079460123", 60), TABLE, [], EUR)).toMatchObject({
      chargeMinor: 7,
      exact: "0.062",
    });
    // 61 s at 60/60 → 120 s. 0.0390 + 0.0460 = 0.0850 → 8.5 cents → 9.
    expect(rateUsage(call("442079460123", 61), TABLE, [], EUR)).toMatchObject({
      billedS: 120,
      chargeMinor: 9,
    });
  });

  it("rounds up to whole yen for JPY (exponent 0)", () => {
    // 0.108 JPY → 1 yen.
    expect(rateUsage(call("442079460123", 125), TABLE, [], JPY)).toMatchObject({
      chargeMinor: 1,
      exact: "0.108",
    });
    const yen = new RateTable([
      rate({ prefix: "81", name: "Japan", perMinute: "3", connectionFee: "0", interval: "60/1", sms: "0.5" }),
    ]);
    // 61 s at 60/1 → 61 s. 3 × 61/60 = 3.05 → 4 yen.
    expect(rateUsage(call("81312345678", 61), yen, [], JPY)).toMatchObject({ chargeMinor: 4, exact: "3.05" });
    // 120 s: 3 × 2 = 6 exactly → 6 yen.
    expect(rateUsage(call("81312345678", 120), yen, [], JPY)).toMatchObject({ chargeMinor: 6, exact: "6" });
    // SMS 0.5 × 3 = 1.5 → 2 yen.
    expect(rateUsage(sms("81312345678", 3), yen, [], JPY)).toMatchObject({ chargeMinor: 2, exact: "1.5" });
  });

  it("bills in BHD thousandths (exponent 3)", () => {
    // 0.3515 BHD = 351.5 fils → 352.
    expect(rateUsage(call("447700900123", 125), TABLE, [], 3)).toMatchObject({ chargeMinor: 352 });
  });

  it("an unanswered call is billed 0 s and costs nothing, not even the connection fee", () => {
    expect(rateUsage(call("442079460123", 0), TABLE, [sub({})], EUR)).toEqual({
      status: "rated",
      rate: UK,
      billedS: 0,
      chargeMinor: 0,
      exact: "0",
      coveredMinutes: 0,
      subscriptionId: null,
    });
  });

  it("a destination no rate matches is unrated", () => {
    const unrated = {
      status: "unrated",
      rate: undefined,
      billedS: null,
      chargeMinor: 0,
      exact: null,
      coveredMinutes: 0,
      subscriptionId: null,
    };
    expect(rateUsage(call("33123456789", 125), TABLE, [], EUR)).toEqual(unrated);
    expect(rateUsage(call("33123456789", 0), TABLE, [], EUR)).toEqual(unrated);
    expect(rateUsage(sms("33123456789", 1), TABLE, [], EUR)).toEqual(unrated);
  });
});

describe("rateUsage: SMS", () => {
  it("charges sms × segments, no billed seconds", () => {
    // 0.1100 × 2 = 0.22 → 22 cents.
    expect(rateUsage(sms("447700900123", 2), TABLE, [], EUR)).toEqual({
      status: "rated",
      rate: UK_MOBILE,
      billedS: null,
      chargeMinor: 22,
      exact: "0.22",
      coveredMinutes: 0,
      subscriptionId: null,
    });
    // 0.115 × 1 = 11.5 cents → 12; × 3 = 0.345 → 35.
    expect(rateUsage(sms("4915112345678", 1), TABLE, [], EUR)).toMatchObject({
      chargeMinor: 12,
      exact: "0.115",
    });
    expect(rateUsage(sms("4915112345678", 3), TABLE, [], EUR)).toMatchObject({
      chargeMinor: 35,
      exact: "0.345",
    });
  });

  it("is never covered", () => {
    expect(rateUsage(sms("442079460123", 1), TABLE, [sub({})], EUR)).toMatchObject({
      status: "rated",
      chargeMinor: 11,
    });
  });

  it("asserts segments ≥ 1", () => {
    expect(() => rateUsage(sms("442079460123", 0), TABLE, [], EUR)).toThrow(/segments/);
  });
});

describe("rateUsage: subscription coverage", () => {
  it("covers a matching call within the allowance: ⌈billed/60⌉ minutes, charge 0", () => {
    // 125 s at 60/60 → 180 s → 3 minutes.
    expect(rateUsage(call("442079460123", 125), TABLE, [sub({ id: 7 })], EUR)).toEqual({
      status: "covered",
      rate: UK,
      billedS: 180,
      chargeMinor: 0,
      exact: "0",
      coveredMinutes: 3,
      subscriptionId: 7,
    });
    // The plan's prefix 44 also matches 447…: 125 s at 60/1 → 125 s → ⌈125/60⌉ = 3 minutes.
    expect(rateUsage(call("447700900123", 125), TABLE, [sub({})], EUR)).toMatchObject({
      status: "covered",
      rate: UK_MOBILE,
      billedS: 125,
      coveredMinutes: 3,
    });
  });

  it("covers when exactly enough minutes remain; otherwise rates normally", () => {
    // Needs 3 minutes: 1000 − 997 = 3 is enough, 1000 − 998 = 2 is not.
    expect(rateUsage(call("442079460123", 125), TABLE, [sub({ usedMinutes: 997 })], EUR).status).toBe(
      "covered",
    );
    expect(rateUsage(call("442079460123", 125), TABLE, [sub({ usedMinutes: 998 })], EUR)).toMatchObject({
      status: "rated",
      chargeMinor: 11,
      subscriptionId: null,
    });
  });

  it("needs the subscription active at the call's start (from inclusive, until exclusive)", () => {
    const at = (startedAtMs: number) => ({ ...call("442079460123", 125), startedAtMs });
    const window = sub({ activeFromMs: START, activeUntilMs: START + 1000 });
    expect(rateUsage(at(START), TABLE, [window], EUR).status).toBe("covered");
    expect(rateUsage(at(START + 999), TABLE, [window], EUR).status).toBe("covered");
    expect(rateUsage(at(START - 1), TABLE, [window], EUR).status).toBe("rated");
    expect(rateUsage(at(START + 1000), TABLE, [window], EUR).status).toBe("rated");
  });

  it("needs a prefix of the plan to match the destination", () => {
    expect(rateUsage(call("442079460123", 125), TABLE, [sub({ prefixes: ["33", "447"] })], EUR).status).toBe(
      "rated",
    );
    expect(rateUsage(call("447700900123", 125), TABLE, [sub({ prefixes: ["33", "447"] })], EUR).status).toBe(
      "covered",
    );
  });

  it("of two matching subscriptions, the one allocated first is used", () => {
    const later = sub({ id: 1, allocatedAtMs: Date.UTC(2026, 8, 1, 12) });
    const earlier = sub({ id: 2, allocatedAtMs: Date.UTC(2026, 8, 1, 11) });
    expect(rateUsage(call("442079460123", 125), TABLE, [later, earlier], EUR).subscriptionId).toBe(2);
    // Same allocation time: the smaller id.
    const twin = sub({ id: 3, allocatedAtMs: Date.UTC(2026, 8, 1, 11) });
    expect(rateUsage(call("442079460123", 125), TABLE, [twin, earlier], EUR).subscriptionId).toBe(2);
    // The first one allocated has too few minutes left: the next one covers.
    const exhausted = sub({ id: 2, allocatedAtMs: Date.UTC(2026, 8, 1, 11), usedMinutes: 999 });
    expect(rateUsage(call("442079460123", 125), TABLE, [later, exhausted], EUR).subscriptionId).toBe(1);
  });

  it("a destination no rate matches is covered when a plan matches (billed at the default 60/60)", () => {
    // 61 s at the default 60/60 → 120 s → 2 minutes.
    expect(rateUsage(call("33123456789", 61), TABLE, [sub({ prefixes: ["33"], id: 4 })], EUR)).toEqual({
      status: "covered",
      rate: undefined,
      billedS: 120,
      chargeMinor: 0,
      exact: "0",
      coveredMinutes: 2,
      subscriptionId: 4,
    });
    expect(
      rateUsage(call("33123456789", 61), TABLE, [sub({ prefixes: ["33"], usedMinutes: 999 })], EUR).status,
    ).toBe("unrated");
  });

  it("does not change the subscription's used minutes", () => {
    const window = sub({ usedMinutes: 10 });
    rateUsage(call("442079460123", 125), TABLE, [window], EUR);
    expect(window.usedMinutes).toBe(10);
  });
});

/** The exact string back as a fraction: "0.3515" → 3515/10000, "1403/60000" → 1403/60000. */
function exactAsFraction(exact: string): { num: bigint; den: bigint } {
  const [a, b] = exact.split("/");
  if (b !== undefined) return { num: BigInt(a ?? ""), den: BigInt(b) };
  const [whole, fraction = ""] = exact.split(".");
  return { num: BigInt((whole ?? "") + fraction), den: 10n ** BigInt(fraction.length) };
}

describe("rateUsage: properties", () => {
  const price = fc.stringMatching(/^(0|[1-9]\d{0,2})\.\d{1,4}$/);

  it("charge ≥ exact, charge − exact < 1 minor unit, billed ≥ duration, exact = fee + per_minute × billed / 60", () => {
    fc.assert(
      fc.property(
        price,
        price,
        price,
        fc.integer({ min: 1, max: 3600 }),
        fc.integer({ min: 1, max: 3600 }),
        fc.integer({ min: 0, max: 100_000 }),
        fc.constantFrom(0, 2, 3, 4),
        fc.boolean(),
        fc.integer({ min: 1, max: 10 }),
        (perMinute, connectionFee, smsPrice, first, next, durationS, exponent, isSms, segments) => {
          const r = rate({
            prefix: "44",
            name: "UK",
            perMinute,
            connectionFee,
            interval: `${first}/${next}`,
            sms: smsPrice,
          });
          const usage = isSms ? sms("442079460123", segments) : call("442079460123", durationS);
          const rated = rateUsage(usage, new RateTable([r]), [], exponent);
          if (rated.status !== "rated") throw new Error(`expected rated, got ${rated.status}`);
          const exact = exactAsFraction(rated.exact);
          const unit = 10n ** BigInt(exponent);
          // charge / unit − num / den in [0, 1/unit)  ⇔  0 ≤ charge·den − num·unit < den
          const diff = BigInt(rated.chargeMinor) * exact.den - exact.num * unit;
          expect(diff >= 0n && diff < exact.den).toBe(true);

          // The exact charge from the spec's formula, independently: decimals as fractions over 10^4.
          const d4 = (text: string) => {
            const [w, f = ""] = text.split(".");
            return BigInt((w ?? "") + f.padEnd(4, "0"));
          };
          if (isSms) {
            expect(rated.billedS).toBeNull();
            expect(exact.num * 10_000n).toBe(d4(smsPrice) * BigInt(segments) * exact.den);
          } else {
            const billed = rated.billedS ?? -1;
            expect(billed).toBeGreaterThanOrEqual(durationS);
            const expectedTimes600000 =
              durationS === 0 ? 0n : d4(connectionFee) * 60n + d4(perMinute) * BigInt(billed);
            expect(exact.num * 600_000n).toBe(expectedTimes600000 * exact.den);
          }
        },
      ),
      { numRuns: 500 },
    );
  });
});
