import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { billedSeconds, DEFAULT_INTERVAL, parseInterval } from "./interval";

describe("parseInterval", () => {
  it.each([
    ["60/60", 60, 60],
    ["60/1", 60, 1],
    ["1/1", 1, 1],
    ["30/6", 30, 6],
    ["3600/3600", 3600, 3600],
  ])("%s", (text, first, next) => {
    expect(parseInterval(text)).toEqual({ ok: true, value: { first, next } });
  });

  it.each(["0/60", "60/0", "3601/60", "60", "60/60/60", "a/b", "-60/60", " 60/60", "1.5/60", ""])(
    "refuses %j",
    (text) => {
      expect(parseInterval(text).ok).toBe(false);
    },
  );

  it("says why", () => {
    expect(parseInterval("0/60")).toEqual({
      ok: false,
      error: '"0/60" is out of range: both parts must be 1 to 3600 seconds',
    });
    expect(parseInterval("60")).toEqual({ ok: false, error: '"60" is not a billing interval like 60/60' });
  });

  it("defaults to 60/60", () => {
    expect(DEFAULT_INTERVAL).toEqual({ first: 60, next: 60 });
  });
});

describe("billedSeconds", () => {
  const iv = (first: number, next: number) => ({ first, next });

  it.each([
    // [duration, A, B, billed]: 0 → 0; d ≤ A → A; else A + ⌈(d − A)/B⌉ × B.
    [0, 60, 60, 0],
    [1, 60, 60, 60],
    [60, 60, 60, 60], // exactly A
    [61, 60, 60, 120], // A + 1: 60 + ⌈1/60⌉ × 60
    [125, 60, 60, 180], // 60 + ⌈65/60⌉ × 60 = 60 + 2 × 60
    [0, 60, 1, 0],
    [1, 60, 1, 60],
    [60, 60, 1, 60],
    [61, 60, 1, 61],
    [125, 60, 1, 125], // 60 + 65 × 1
    [0, 1, 1, 0],
    [1, 1, 1, 1],
    [2, 1, 1, 2],
    [125, 1, 1, 125],
    [0, 30, 6, 0],
    [1, 30, 6, 30],
    [30, 30, 6, 30],
    [31, 30, 6, 36], // 30 + ⌈1/6⌉ × 6
    [36, 30, 6, 36],
    [37, 30, 6, 42],
    [125, 30, 6, 126], // 30 + ⌈95/6⌉ × 6 = 30 + 16 × 6
  ])("%i s at %i/%i → %i s", (duration, first, next, billed) => {
    expect(billedSeconds(duration, iv(first, next))).toBe(billed);
  });

  it("asserts on a negative or fractional duration", () => {
    expect(() => billedSeconds(-1, DEFAULT_INTERVAL)).toThrow(/duration/);
    expect(() => billedSeconds(1.5, DEFAULT_INTERVAL)).toThrow(/duration/);
  });

  it("bills at least the duration, less than one block more, on the block grid", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 1_000_000 }),
        fc.integer({ min: 1, max: 3600 }),
        fc.integer({ min: 1, max: 3600 }),
        (duration, first, next) => {
          const billed = billedSeconds(duration, { first, next });
          expect(billed).toBeGreaterThanOrEqual(duration);
          expect(billed).toBeGreaterThanOrEqual(first);
          if (duration > first) {
            expect(billed - duration).toBeLessThan(next);
            expect((billed - first) % next).toBe(0);
          } else {
            expect(billed).toBe(first);
          }
        },
      ),
    );
  });
});
