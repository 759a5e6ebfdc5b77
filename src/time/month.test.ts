import fc from "fast-check";
import { DateTime } from "luxon";
import { describe, expect, it } from "vitest";
import {
  addMonths,
  addMonthsLocal,
  formatLocalIso,
  isValidTimeZone,
  monthEndMs,
  monthOf,
  monthStartMs,
  parseInstant,
  parseMonth,
} from "./month";

const utc = (iso: string): number => {
  const ms = Date.parse(iso);
  if (Number.isNaN(ms)) throw new Error(`bad test date ${iso}`);
  return ms;
};

const LONDON = "Europe/London";

describe("parseMonth", () => {
  it("accepts YYYY-MM", () => {
    expect(parseMonth("2026-09")).toEqual({ ok: true, value: "2026-09" });
    expect(parseMonth("1970-01")).toEqual({ ok: true, value: "1970-01" });
    expect(parseMonth("9999-12")).toEqual({ ok: true, value: "9999-12" });
  });

  it.each(["2026-13", "2026-00", "2026-9", "26-09", "2026/09", "1969-12", "2026-09-01", " 2026-09", ""])(
    "refuses %j",
    (text) => {
      const result = parseMonth(text);
      expect(result.ok).toBe(false);
      if (!result.ok) expect(result.error).toContain(JSON.stringify(text));
    },
  );

  it("says why", () => {
    expect(parseMonth("2026-13")).toEqual({
      ok: false,
      error: '"2026-13" is not a month: the month must be 01 to 12',
    });
    expect(parseMonth("2026/09")).toEqual({
      ok: false,
      error: '"2026/09" is not a month: write it as YYYY-MM, e.g. 2026-09',
    });
  });
});

describe("addMonths", () => {
  it.each([
    ["2026-01", 1, "2026-02"],
    ["2026-12", 1, "2027-01"],
    ["2026-01", -1, "2025-12"],
    ["2026-03", -15, "2024-12"],
    ["2026-09", 0, "2026-09"],
    ["2026-09", 24, "2028-09"],
  ])("%s + %i = %s", (month, n, expected) => {
    expect(addMonths(month, n)).toBe(expected);
  });
});

describe("isValidTimeZone", () => {
  it("knows IANA names and UTC", () => {
    expect(isValidTimeZone("Europe/London")).toBe(true);
    expect(isValidTimeZone("Pacific/Chatham")).toBe(true);
    expect(isValidTimeZone("UTC")).toBe(true);
    expect(isValidTimeZone("Mars/Olympus_Mons")).toBe(false);
    expect(isValidTimeZone("")).toBe(false);
  });
});

describe("formatLocalIso", () => {
  it("Europe/London fall-back: 01:30 happens twice, told apart by the offset", () => {
    // BST (+01:00) ends 2026-10-25 at 01:00Z: 00:30Z is 01:30 BST, 01:30Z is 01:30 GMT.
    expect(formatLocalIso(utc("2026-10-25T00:30:00Z"), LONDON)).toBe("2026-10-25T01:30:00+01:00");
    expect(formatLocalIso(utc("2026-10-25T01:30:00Z"), LONDON)).toBe("2026-10-25T01:30:00+00:00");
    expect(formatLocalIso(utc("2026-10-25T00:59:59Z"), LONDON)).toBe("2026-10-25T01:59:59+01:00");
    expect(formatLocalIso(utc("2026-10-25T01:00:00Z"), LONDON)).toBe("2026-10-25T01:00:00+00:00");
  });

  it("Europe/London spring-forward: 01:00 GMT jumps to 02:00 BST", () => {
    // 2026-03-29 01:00Z: 00:59:59 GMT is followed by 02:00:00 BST.
    expect(formatLocalIso(utc("2026-03-29T00:59:59Z"), LONDON)).toBe("2026-03-29T00:59:59+00:00");
    expect(formatLocalIso(utc("2026-03-29T01:00:00Z"), LONDON)).toBe("2026-03-29T02:00:00+01:00");
  });

  it("writes +00:00, never Z, and drops milliseconds", () => {
    expect(formatLocalIso(utc("2026-01-15T12:00:00.999Z"), "UTC")).toBe("2026-01-15T12:00:00+00:00");
    expect(formatLocalIso(utc("2026-01-15T12:00:00Z"), LONDON)).toBe("2026-01-15T12:00:00+00:00");
    expect(formatLocalIso(0, "UTC")).toBe("1970-01-01T00:00:00+00:00");
  });

  it("America/New_York, Asia/Tokyo, Asia/Kolkata and Pacific/Chatham offsets", () => {
    // New York DST starts 2026-03-08 at 02:00 EST = 07:00Z.
    expect(formatLocalIso(utc("2026-03-08T06:59:59Z"), "America/New_York")).toBe("2026-03-08T01:59:59-05:00");
    expect(formatLocalIso(utc("2026-03-08T07:00:00Z"), "America/New_York")).toBe("2026-03-08T03:00:00-04:00");
    // Tokyo is +09:00 all year: 15:00Z is midnight of the next day.
    expect(formatLocalIso(utc("2026-09-30T15:00:00Z"), "Asia/Tokyo")).toBe("2026-10-01T00:00:00+09:00");
    // Kolkata +05:30: 18:29Z is 23:59 local, 18:30Z the next day.
    expect(formatLocalIso(utc("2026-12-31T18:30:00Z"), "Asia/Kolkata")).toBe("2027-01-01T00:00:00+05:30");
    // Chatham is +13:45 in its summer (January) and +12:45 in winter (July).
    expect(formatLocalIso(utc("2026-01-15T00:00:00Z"), "Pacific/Chatham")).toBe("2026-01-15T13:45:00+13:45");
    expect(formatLocalIso(utc("2026-07-01T00:00:00Z"), "Pacific/Chatham")).toBe("2026-07-01T12:45:00+12:45");
    // Negative offsets with minutes: St John's is -03:30 in winter.
    expect(formatLocalIso(utc("2026-01-01T03:29:00Z"), "America/St_Johns")).toBe("2025-12-31T23:59:00-03:30");
  });

  const zones = Intl.supportedValuesOf("timeZone");

  it("matches luxon for random instants in every zone the platform knows", () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...zones, "UTC"),
        fc.integer({ min: utc("1970-01-01T00:00:00Z"), max: utc("2100-01-01T00:00:00Z") }),
        (tz, ms) => {
          const expected = DateTime.fromMillis(ms, { zone: tz }).toFormat("yyyy-MM-dd'T'HH:mm:ssZZ");
          expect(formatLocalIso(ms, tz)).toBe(expected);
        },
      ),
      { numRuns: 2000 },
    );
  });

  it("matches luxon within a day of every DST transition (instants near changes)", () => {
    fc.assert(
      fc.property(
        fc.constantFrom(
          LONDON,
          "America/New_York",
          "Pacific/Chatham",
          "Australia/Lord_Howe",
          "America/Havana",
        ),
        fc.integer({ min: 2020, max: 2035 }),
        fc.constantFrom(3, 4, 9, 10, 11),
        fc.integer({ min: -36 * 3600, max: 36 * 3600 }),
        (tz, year, month, seconds) => {
          const ms = Date.UTC(year, month - 1, 1) + 7 * 86_400_000 * 3 + seconds * 1000;
          const expected = DateTime.fromMillis(ms, { zone: tz }).toFormat("yyyy-MM-dd'T'HH:mm:ssZZ");
          expect(formatLocalIso(ms, tz)).toBe(expected);
        },
      ),
      { numRuns: 2000 },
    );
  });
});

describe("monthOf / monthStartMs / monthEndMs", () => {
  it("a month boundary where the UTC month and the local month differ", () => {
    // 2026-09-30T23:30Z is 2026-10-01T00:30+01:00 in London.
    expect(monthOf(utc("2026-09-30T23:30:00Z"), LONDON)).toBe("2026-10");
    expect(monthOf(utc("2026-09-30T23:30:00Z"), "UTC")).toBe("2026-09");
    expect(monthOf(utc("2026-09-30T22:59:59Z"), LONDON)).toBe("2026-09");
    // Tokyo (+09:00) is a day ahead of New York (-04:00) at this instant.
    expect(monthOf(utc("2026-09-30T15:00:00Z"), "Asia/Tokyo")).toBe("2026-10");
    expect(monthOf(utc("2026-10-01T03:59:59Z"), "America/New_York")).toBe("2026-09");
    expect(monthOf(utc("2026-10-01T04:00:00Z"), "America/New_York")).toBe("2026-10");
  });

  it("London: October starts at BST midnight and ends at GMT midnight", () => {
    // 2026-10-01 00:00 +01:00 = 2026-09-30 23:00Z; 2026-11-01 00:00 +00:00 = 00:00Z.
    expect(monthStartMs("2026-10", LONDON)).toBe(utc("2026-09-30T23:00:00Z"));
    expect(monthEndMs("2026-10", LONDON)).toBe(utc("2026-11-01T00:00:00Z"));
    // October has 31 days and one extra hour (the repeated 01:00-02:00).
    expect(monthEndMs("2026-10", LONDON) - monthStartMs("2026-10", LONDON)).toBe((31 * 24 + 1) * 3_600_000);
    // March loses an hour: 31 × 24 − 1.
    expect(monthEndMs("2026-03", LONDON) - monthStartMs("2026-03", LONDON)).toBe((31 * 24 - 1) * 3_600_000);
  });

  it("New York, Tokyo, Chatham and December → January", () => {
    // EST (-05:00) on March 1st, EDT (-04:00) on April 1st.
    expect(monthStartMs("2026-03", "America/New_York")).toBe(utc("2026-03-01T05:00:00Z"));
    expect(monthStartMs("2026-04", "America/New_York")).toBe(utc("2026-04-01T04:00:00Z"));
    expect(monthStartMs("2026-10", "Asia/Tokyo")).toBe(utc("2026-09-30T15:00:00Z"));
    // Chatham winter +12:45: 00:00 on July 1st is 11:15Z on June 30th.
    expect(monthStartMs("2026-07", "Pacific/Chatham")).toBe(utc("2026-06-30T11:15:00Z"));
    // Chatham summer +13:45: 00:00 on January 1st 2027 is 10:15Z on December 31st.
    expect(monthEndMs("2026-12", "Pacific/Chatham")).toBe(utc("2026-12-31T10:15:00Z"));
    expect(monthEndMs("2026-12", "UTC")).toBe(utc("2027-01-01T00:00:00Z"));
  });

  it("a month whose first midnight happens twice starts at the earlier one (America/Havana)", () => {
    // Cuba leaves DST on Sunday 2026-11-01 at 01:00 CDT → 00:00 CST, so 00:00-01:00 happens twice:
    // first at -04:00 (04:00Z), then at -05:00 (05:00Z). The month starts at the first.
    expect(monthStartMs("2026-11", "America/Havana")).toBe(utc("2026-11-01T04:00:00Z"));
    expect(monthOf(utc("2026-11-01T04:00:00Z"), "America/Havana")).toBe("2026-11");
    expect(monthOf(utc("2026-11-01T03:59:59Z"), "America/Havana")).toBe("2026-10");
  });

  it("a month whose first midnight never happens starts when the gap ends (America/Asuncion)", () => {
    // Paraguay entered DST on Sunday 2017-10-01 at 00:00 -04:00 → 01:00 -03:00, both 04:00Z.
    expect(monthStartMs("2017-10", "America/Asuncion")).toBe(utc("2017-10-01T04:00:00Z"));
    expect(monthOf(utc("2017-10-01T03:59:59Z"), "America/Asuncion")).toBe("2017-09");
  });

  it("every instant lies in [start, end) of its month, in any zone", () => {
    const zones = Intl.supportedValuesOf("timeZone");
    fc.assert(
      fc.property(
        fc.constantFrom(...zones),
        fc.integer({ min: utc("1980-01-01T00:00:00Z"), max: utc("2090-01-01T00:00:00Z") }),
        (tz, ms) => {
          const month = monthOf(ms, tz);
          expect(month).toBe(DateTime.fromMillis(ms, { zone: tz }).toFormat("yyyy-MM"));
          expect(monthStartMs(month, tz)).toBeLessThanOrEqual(ms);
          expect(ms).toBeLessThan(monthEndMs(month, tz));
          expect(monthOf(monthStartMs(month, tz), tz)).toBe(month);
          expect(monthOf(monthStartMs(month, tz) - 1, tz)).toBe(addMonths(month, -1));
        },
      ),
      { numRuns: 1000 },
    );
  });
});

describe("parseInstant", () => {
  it("accepts Z, numeric offsets and fractional seconds", () => {
    expect(parseInstant("2026-09-01T09:00:00Z")).toEqual({ ok: true, value: utc("2026-09-01T09:00:00Z") });
    expect(parseInstant("2026-09-01T10:00:00+01:00")).toEqual({
      ok: true,
      value: utc("2026-09-01T09:00:00Z"),
    });
    expect(parseInstant("2026-09-01T04:00:00-05:00")).toEqual({
      ok: true,
      value: utc("2026-09-01T09:00:00Z"),
    });
    expect(parseInstant("2026-09-01T09:00:00.250Z")).toEqual({
      ok: true,
      value: utc("2026-09-01T09:00:00.250Z"),
    });
    expect(parseInstant("2026-09-01T09:00Z")).toEqual({ ok: true, value: utc("2026-09-01T09:00:00Z") });
    expect(parseInstant("2026-09-01T21:45:00+12:45")).toEqual({
      ok: true,
      value: utc("2026-09-01T09:00:00Z"),
    });
  });

  it("refuses a date-time without an offset, saying so", () => {
    expect(parseInstant("2026-09-01T09:00:00")).toEqual({
      ok: false,
      error: '"2026-09-01T09:00:00" has no UTC offset: add Z or an offset such as +01:00',
    });
  });

  it.each([
    "2026-09-01",
    "2026-09-01 09:00:00Z",
    "2026-02-30T09:00:00Z",
    "2026-09-01T25:00:00Z",
    "tomorrow",
    "",
  ])("refuses %j", (text) => {
    const result = parseInstant(text);
    expect(result.ok).toBe(false);
  });

  it("round-trips formatLocalIso to the second", () => {
    fc.assert(
      fc.property(
        fc.constantFrom(LONDON, "America/New_York", "Asia/Tokyo", "Pacific/Chatham", "UTC"),
        fc.integer({ min: 0, max: utc("2100-01-01T00:00:00Z") / 1000 }),
        (tz, seconds) => {
          expect(parseInstant(formatLocalIso(seconds * 1000, tz))).toEqual({
            ok: true,
            value: seconds * 1000,
          });
        },
      ),
    );
  });
});

describe("addMonthsLocal", () => {
  it("keeps the local day and time; a missing day becomes the month's last", () => {
    // London is on GMT in January and February.
    expect(addMonthsLocal(utc("2026-01-31T10:00:00Z"), 1, LONDON)).toBe(utc("2026-02-28T10:00:00Z"));
    // 2028 is a leap year: Jan 31 → Feb 29.
    expect(addMonthsLocal(utc("2028-01-31T10:00:00Z"), 1, LONDON)).toBe(utc("2028-02-29T10:00:00Z"));
    // 2026-03-31 10:00 BST (09:00Z) − 1 month = 2026-02-28 10:00 GMT (10:00Z).
    expect(addMonthsLocal(utc("2026-03-31T09:00:00Z"), -1, LONDON)).toBe(utc("2026-02-28T10:00:00Z"));
    // 2026-08-31 11:00 BST + 1 month = 2026-09-30 11:00 BST: both 10:00Z.
    expect(addMonthsLocal(utc("2026-08-31T10:00:00Z"), 1, LONDON)).toBe(utc("2026-09-30T10:00:00Z"));
  });

  it("keeps the local time across a DST change (the UTC time moves)", () => {
    // 2026-03-15 12:00 GMT + 1 month = 2026-04-15 12:00 BST = 11:00Z.
    expect(addMonthsLocal(utc("2026-03-15T12:00:00Z"), 1, LONDON)).toBe(utc("2026-04-15T11:00:00Z"));
    // A 3-month number term from 2026-09-01 10:00 BST (09:00Z) ends 2026-12-01 10:00 GMT (10:00Z).
    expect(addMonthsLocal(utc("2026-09-01T09:00:00Z"), 3, LONDON)).toBe(utc("2026-12-01T10:00:00Z"));
  });

  it("a local time that the target day skips moves forward by the gap", () => {
    // 2026-01-29 01:30 GMT + 2 months = 2026-03-29 01:30, which London skips (01:00 → 02:00 BST);
    // it becomes 02:30 BST = 01:30Z.
    expect(addMonthsLocal(utc("2026-01-29T01:30:00Z"), 2, LONDON)).toBe(utc("2026-03-29T01:30:00Z"));
  });

  it("Tokyo end of month, and 12 months", () => {
    // 2026-01-31 09:00 JST = 00:00Z → 2026-02-28 09:00 JST = 00:00Z.
    expect(addMonthsLocal(utc("2026-01-31T00:00:00Z"), 1, "Asia/Tokyo")).toBe(utc("2026-02-28T00:00:00Z"));
    expect(addMonthsLocal(utc("2028-02-29T00:00:00Z"), 12, "UTC")).toBe(utc("2029-02-28T00:00:00Z"));
  });
});
