/** @module The fast instant parser gives exactly what parseInstant gives, on every shape it takes a short cut for and on the others. */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { parseInstant } from "../time/month";
import { parseInstantFast } from "./instant";

const pad = (n: number, width = 2): string => String(n).padStart(width, "0");

/** ISO-like texts, mostly well-formed, with fields also just outside their ranges. */
const instantText = fc
  .record({
    year: fc.oneof(fc.integer({ min: 1970, max: 2100 }), fc.integer({ min: 0, max: 9999 })),
    month: fc.integer({ min: 0, max: 13 }),
    day: fc.integer({ min: 0, max: 32 }),
    hour: fc.integer({ min: 0, max: 24 }),
    minute: fc.integer({ min: 0, max: 60 }),
    second: fc.option(fc.integer({ min: 0, max: 60 })),
    fraction: fc.option(fc.stringMatching(/^\d{1,4}$/)),
    offset: fc.oneof(
      fc.constant("Z"),
      fc.constant(""),
      fc
        .record({
          sign: fc.constantFrom("+", "-"),
          h: fc.integer({ min: 0, max: 15 }),
          m: fc.option(fc.integer({ min: 0, max: 60 })),
          colon: fc.boolean(),
        })
        .map(
          ({ sign, h, m, colon }) => `${sign}${pad(h)}${m === null ? "" : `${colon ? ":" : ""}${pad(m)}`}`,
        ),
    ),
  })
  .map((p) => {
    const seconds =
      p.second === null ? "" : `:${pad(p.second)}${p.fraction === null ? "" : `.${p.fraction}`}`;
    return `${pad(p.year, 4)}-${pad(p.month)}-${pad(p.day)}T${pad(p.hour)}:${pad(p.minute)}${seconds}${p.offset}`;
  });

describe("parseInstantFast", () => {
  it("agrees with parseInstant on generated date-times", () => {
    fc.assert(
      fc.property(instantText, (text) => {
        expect(parseInstantFast(text)).toEqual(parseInstant(text));
      }),
      { numRuns: 5_000 },
    );
  });

  it.each([
    "2026-09-02T10:00:00Z",
    "2026-09-02T11:00:00+01:00",
    "2026-02-29T10:00:00Z",
    "2028-02-29T23:59:59.999-05:30",
    "2026-09-02T10:00",
    "2026-09-02 10:00:00Z",
    "2026-09-02T10:00:00.1234Z",
    "yesterday",
  ])("agrees with parseInstant on %s", (text) => {
    expect(parseInstantFast(text)).toEqual(parseInstant(text));
  });
});
