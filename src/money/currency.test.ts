import { describe, expect, it } from "vitest";
import { CURRENCY_EXPONENTS, currencyExponent, isCurrency } from "./currency";

describe("currency exponents", () => {
  it.each([
    ["EUR", 2],
    ["USD", 2],
    ["GBP", 2],
    ["JPY", 0],
    ["KRW", 0],
    ["ISK", 0],
    ["CLP", 0],
    ["VND", 0],
    ["XOF", 0],
    ["BHD", 3],
    ["KWD", 3],
    ["JOD", 3],
    ["OMR", 3],
    ["TND", 3],
    ["IQD", 3],
    ["LYD", 3],
    ["CLF", 4],
    ["UYW", 4],
  ])("%s has exponent %i", (code, exponent) => {
    expect(isCurrency(code)).toBe(true);
    expect(currencyExponent(code)).toBe(exponent);
  });

  it("holds every active code: about 150 of them, all three upper-case letters, exponents 0 to 4", () => {
    const codes = Object.keys(CURRENCY_EXPONENTS);
    expect(codes.length).toBeGreaterThanOrEqual(150);
    for (const code of codes) expect(code).toMatch(/^[A-Z]{3}$/);
    for (const exponent of Object.values(CURRENCY_EXPONENTS)) expect([0, 2, 3, 4]).toContain(exponent);
  });

  it("refuses unknown, lower-case and inherited names", () => {
    expect(isCurrency("eur")).toBe(false);
    expect(isCurrency("XXX")).toBe(false);
    expect(isCurrency("toString")).toBe(false);
    expect(isCurrency("")).toBe(false);
    expect(() => currencyExponent("ABC")).toThrow(/unknown currency "ABC"/);
    expect(() => currencyExponent("constructor")).toThrow(/unknown currency/);
  });
});
