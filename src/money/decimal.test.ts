import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { ceilToMinor, formatDecimal, formatRational, parseDecimal, vatMinor } from "./decimal";
import type { Decimal } from "./decimal";

function dec(text: string): Decimal {
  const parsed = parseDecimal(text);
  if (!parsed.ok) throw new Error(parsed.error);
  return parsed.value;
}

describe("parseDecimal / formatDecimal", () => {
  it("keeps the scale as written", () => {
    expect(parseDecimal("0.0230")).toEqual({ ok: true, value: { units: 230n, scale: 4 } });
    expect(parseDecimal("1")).toEqual({ ok: true, value: { units: 1n, scale: 0 } });
    expect(parseDecimal("0.20")).toEqual({ ok: true, value: { units: 20n, scale: 2 } });
    expect(formatDecimal(dec("0.0230"))).toBe("0.0230");
    expect(formatDecimal(dec("12.50"))).toBe("12.50");
    expect(formatDecimal(dec("7"))).toBe("7");
    expect(formatDecimal({ units: 5n, scale: 3 })).toBe("0.005");
  });

  it("refuses non-decimals, negatives and too many decimals with a reason", () => {
    expect(parseDecimal("-0.5")).toEqual({ ok: false, error: "must not be negative" });
    expect(parseDecimal("abc")).toEqual({ ok: false, error: '"abc" is not a decimal number' });
    expect(parseDecimal("1e-3")).toEqual({ ok: false, error: '"1e-3" is not a decimal number' });
    expect(parseDecimal(" 1")).toEqual({ ok: false, error: '" 1" is not a decimal number' });
    expect(parseDecimal("0.12345678901")).toEqual({ ok: false, error: "has more than 10 decimals" });
    expect(parseDecimal("0.123", 2)).toEqual({ ok: false, error: "has more than 2 decimals" });
    expect(parseDecimal("1".repeat(41)).ok).toBe(false);
  });

  it("round-trips any plain decimal text", () => {
    fc.assert(
      fc.property(fc.stringMatching(/^(0|[1-9]\d{0,15})(\.\d{1,10})?$/), (text) => {
        expect(formatDecimal(dec(text))).toBe(text);
      }),
    );
  });
});

describe("vatMinor (half up)", () => {
  it("rounds exactly .5 up", () => {
    // 1 cent × 0.5 = 0.5 cent → 1.
    expect(vatMinor(1, dec("0.5"))).toBe(1);
    // 1250 × 0.2 = 250 exactly.
    expect(vatMinor(1250, dec("0.20"))).toBe(250);
    // 1 × 0.20 = 0.2 → 0.
    expect(vatMinor(1, dec("0.20"))).toBe(0);
    // 5 × 0.21 = 1.05 → 1; 15 × 0.21 = 3.15 → 3; 50 × 0.21 = 10.5 → 11.
    expect(vatMinor(5, dec("0.21"))).toBe(1);
    expect(vatMinor(15, dec("0.21"))).toBe(3);
    expect(vatMinor(50, dec("0.21"))).toBe(11);
    // 333 × 0.015 = 4.995 → 5; 300 × 0.015 = 4.5 → 5; 299 × 0.015 = 4.485 → 4.
    expect(vatMinor(333, dec("0.015"))).toBe(5);
    expect(vatMinor(300, dec("0.015"))).toBe(5);
    expect(vatMinor(299, dec("0.015"))).toBe(4);
    // 10000 (100.00 EUR) × 0.20 = 2000 (20.00 EUR).
    expect(vatMinor(10_000, dec("0.20"))).toBe(2000);
    expect(vatMinor(0, dec("0.20"))).toBe(0);
    expect(vatMinor(1234, dec("0"))).toBe(0);
  });

  it("rounds a negative net symmetrically (half away from zero)", () => {
    expect(vatMinor(-1, dec("0.5"))).toBe(-1);
    expect(vatMinor(-50, dec("0.21"))).toBe(-11);
  });

  it("is within half a minor unit of the exact product, and .5 goes up", () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 1e12 }), fc.stringMatching(/^0\.\d{1,4}$/), (net, rateText) => {
        const rate = dec(rateText);
        const den = 10n ** BigInt(rate.scale);
        const exactTimesDen = BigInt(net) * rate.units;
        const diffTimes2 = 2n * (BigInt(vatMinor(net, rate)) * den - exactTimesDen);
        // -den/2 < vat − exact ≤ den/2 (in units of 1/den)
        expect(diffTimes2 > -den && diffTimes2 <= den).toBe(true);
      }),
    );
  });
});

describe("formatRational", () => {
  it.each([
    [5n, 16n, "0.3125"],
    [1n, 1n, "1"],
    [60n, 60n, "1"],
    [0n, 7n, "0"],
    [1080n, 10000n, "0.108"],
    [-1n, 2n, "-0.5"],
    [1n, -4n, "-0.25"],
    [7n, 2n, "3.5"],
    [1n, 3n, "1/3"],
    // 0.0230 × 61 / 60 = 1.403 / 60 = 1403/60000 (60000 = 2^5 × 3 × 5^4: the 3 makes it non-terminating).
    [1403n, 60000n, "1403/60000"],
    [2806n, 120000n, "1403/60000"],
  ])("%i/%i → %s", (num, den, text) => {
    expect(formatRational({ num, den })).toBe(text);
  });

  it("falls back to a fraction when the expansion needs more digits than allowed", () => {
    // 1/2^21 needs 21 digits.
    expect(formatRational({ num: 1n, den: 2n ** 21n })).toBe("1/2097152");
    expect(formatRational({ num: 1n, den: 2n ** 20n })).toBe("0.00000095367431640625");
    expect(formatRational({ num: 1n, den: 8n }, 2)).toBe("1/8");
  });
});

describe("ceilToMinor", () => {
  it("rounds up to the minor unit", () => {
    // 0.108 EUR = 10.8 cents → 11.
    expect(ceilToMinor({ num: 108n, den: 1000n }, 2)).toBe(11);
    // 0.3515 EUR = 35.15 cents → 36.
    expect(ceilToMinor({ num: 3515n, den: 10000n }, 2)).toBe(36);
    // Exactly 0.11 stays 11.
    expect(ceilToMinor({ num: 11n, den: 100n }, 2)).toBe(11);
    // 1403/60000 EUR = 2.338… cents → 3.
    expect(ceilToMinor({ num: 1403n, den: 60000n }, 2)).toBe(3);
    // JPY: 0.1 yen → 1.
    expect(ceilToMinor({ num: 1n, den: 10n }, 0)).toBe(1);
    expect(ceilToMinor({ num: 0n, den: 10n }, 0)).toBe(0);
    // BHD 3 decimals: 0.0001 → 0.001 = 1 fils.
    expect(ceilToMinor({ num: 1n, den: 10000n }, 3)).toBe(1);
    // Towards +∞ for negatives: -0.015 EUR = -1.5 cents → -1.
    expect(ceilToMinor({ num: -15n, den: 1000n }, 2)).toBe(-1);
  });

  it("refuses an amount beyond the safe-integer range instead of losing precision", () => {
    expect(() => ceilToMinor({ num: 10n ** 16n, den: 1n }, 2)).toThrow(/safe integer/);
  });

  it("is the smallest integer not below the exact amount", () => {
    fc.assert(
      fc.property(
        // At most 10^11 major units × 10^4: the result stays inside the safe-integer range that
        // ceilToMinor guards (beyond it, it refuses by design).
        fc.bigInt({ min: 0n, max: 10n ** 11n }),
        fc.bigInt({ min: 1n, max: 10n ** 6n }),
        fc.integer({ min: 0, max: 4 }),
        (num, den, exponent) => {
          const minor = BigInt(ceilToMinor({ num, den }, exponent));
          const scaled = num * 10n ** BigInt(exponent);
          expect(minor * den >= scaled).toBe(true);
          expect((minor - 1n) * den < scaled).toBe(true);
        },
      ),
    );
  });
});
