import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { CURRENCY_EXPONENTS } from "./currency";
import { formatAmount, MINOR_MAX, parseAmount } from "./money";

describe("parseAmount", () => {
  it.each([
    // EUR has 2 decimals: minor = major × 100.
    ["12", "EUR", 1200],
    ["12.5", "EUR", 1250],
    ["12.50", "EUR", 1250],
    ["0.00", "EUR", 0],
    ["0", "EUR", 0],
    ["0.01", "EUR", 1],
    // JPY has 0 decimals: minor = major.
    ["1250", "JPY", 1250],
    // BHD has 3 decimals: 1.25 → 1.250 → 1250 fils.
    ["1.25", "BHD", 1250],
    ["1.250", "BHD", 1250],
    ["0.001", "KWD", 1],
    // CLF has 4 decimals.
    ["1.2345", "CLF", 12345],
    // The largest safe amount: 90071992547409.91 EUR = 9007199254740991 cents.
    ["90071992547409.91", "EUR", Number.MAX_SAFE_INTEGER],
  ])("%s %s → %i minor units", (text, currency, minor) => {
    expect(parseAmount(text, currency)).toEqual({ ok: true, value: minor });
  });

  it("refuses more decimals than the currency allows, naming the currency", () => {
    expect(parseAmount("12.505", "EUR")).toEqual({ ok: false, error: "more decimals than EUR allows" });
    expect(parseAmount("12.500", "EUR")).toEqual({ ok: false, error: "more decimals than EUR allows" });
    expect(parseAmount("12.5", "JPY")).toEqual({ ok: false, error: "more decimals than JPY allows" });
    expect(parseAmount("1.2345", "BHD")).toEqual({ ok: false, error: "more decimals than BHD allows" });
  });

  it("refuses negative amounts", () => {
    expect(parseAmount("-5", "EUR")).toEqual({ ok: false, error: "must not be negative" });
    expect(parseAmount("-12.50", "EUR")).toEqual({ ok: false, error: "must not be negative" });
  });

  it.each([
    "abc",
    "",
    "12,50",
    "1,000.00",
    "1e3",
    "+12",
    "12.",
    ".5",
    "0x10",
    "Infinity",
    "NaN",
    "1.2.3",
    "- 5",
  ])("refuses %j as not a decimal number", (text) => {
    const result = parseAmount(text, "EUR");
    expect(result).toEqual({ ok: false, error: `${JSON.stringify(text)} is not a decimal number` });
  });

  it("refuses surrounding whitespace", () => {
    expect(parseAmount(" 12.50", "EUR")).toEqual({
      ok: false,
      error: '" 12.50" must not have spaces around it',
    });
    expect(parseAmount("12.50\n", "EUR").ok).toBe(false);
  });

  it("refuses amounts above MINOR_MAX", () => {
    // 90071992547409.92 EUR is one cent more than Number.MAX_SAFE_INTEGER cents.
    const tooLarge = "is too large (at most 90071992547409.91 EUR)";
    expect(parseAmount("90071992547409.92", "EUR")).toEqual({ ok: false, error: tooLarge });
    expect(parseAmount("9".repeat(100), "EUR")).toEqual({ ok: false, error: tooLarge });
    expect(parseAmount("9007199254740992", "JPY").ok).toBe(false);
  });
});

describe("formatAmount", () => {
  it.each([
    [1250, "EUR", "12.50"],
    [-1258, "EUR", "-12.58"],
    [0, "EUR", "0.00"],
    [5, "EUR", "0.05"],
    [-5, "EUR", "-0.05"],
    [1250, "JPY", "1250"],
    [-7, "JPY", "-7"],
    [1250, "BHD", "1.250"],
    [1, "KWD", "0.001"],
    [12345, "CLF", "1.2345"],
    [MINOR_MAX, "EUR", "90071992547409.91"],
  ])("%i %s → %s", (minor, currency, text) => {
    expect(formatAmount(minor, currency)).toBe(text);
  });

  it("asserts on non-integers and unsafe integers", () => {
    expect(() => formatAmount(1.5, "EUR")).toThrow(/not a safe integer/);
    expect(() => formatAmount(2 ** 53, "EUR")).toThrow(/not a safe integer/);
  });
});

describe("parse/format round trip", () => {
  const currencies = Object.keys(CURRENCY_EXPONENTS);

  it("parseAmount(formatAmount(x)) = x for every non-negative safe amount and currency", () => {
    fc.assert(
      fc.property(fc.constantFrom(...currencies), fc.maxSafeNat(), (currency, minor) => {
        expect(parseAmount(formatAmount(minor, currency), currency)).toEqual({ ok: true, value: minor });
      }),
    );
  });

  it("formatAmount(-x) is formatAmount(x) with a leading minus", () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...currencies),
        fc.integer({ min: 1, max: MINOR_MAX }),
        (currency, minor) => {
          expect(formatAmount(-minor, currency)).toBe(`-${formatAmount(minor, currency)}`);
        },
      ),
    );
  });
});
