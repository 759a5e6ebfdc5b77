import { describe, expect, it } from "vitest";
import { isE164, normalizeDestination } from "./e164";

describe("normalizeDestination", () => {
  it.each([
    ["+442079460123", "+442079460123"],
    ["+44 20 7946 0123", "+442079460123"],
    ["+44-20-7946-0123", "+442079460123"],
    ["+44 (0)20 7946.0123", "+4402079460123"],
    ["+1 (555) 010-0199", "+15550100199"],
    [" +447700900123 ", "+447700900123"],
    // 8 digits is the shortest, 15 the longest.
    ["+12345678", "+12345678"],
    ["+123456789012345", "+123456789012345"],
  ])("%j → %s", (text, expected) => {
    expect(normalizeDestination(text)).toEqual({ ok: true, value: expected });
  });

  it("refuses 00 international prefixes", () => {
    expect(normalizeDestination("0044 20 7946 0123")).toEqual({
      ok: false,
      error: '"0044 20 7946 0123" starts with 00: write the international prefix as + (e.g. +44…)',
    });
  });

  it("refuses letters", () => {
    expect(normalizeDestination("+44 20 CALL NOW")).toEqual({
      ok: false,
      error: '"+44 20 CALL NOW" contains letters: a phone number has only digits',
    });
  });

  it("refuses too short and too long", () => {
    expect(normalizeDestination("+1234567")).toEqual({
      ok: false,
      error: '"+1234567" is too short: it needs at least 8 digits',
    });
    expect(normalizeDestination("+1234567890123456")).toEqual({
      ok: false,
      error: '"+1234567890123456" is too long: it has more than 15 digits',
    });
  });

  it.each([
    "02079460123",
    "",
    "+",
    "++442079460123",
    "+44/2079460123",
    "+44 20 7946 0123 ext 5",
    "4420794601+23",
  ])("refuses %j", (text) => {
    expect(normalizeDestination(text).ok).toBe(false);
  });

  it("says what a local number lacks", () => {
    expect(normalizeDestination("02079460123")).toEqual({
      ok: false,
      error: '"02079460123" must start with + and the country code',
    });
  });
});

describe("isE164", () => {
  it("checks an already normalised number", () => {
    expect(isE164("+442079460123")).toBe(true);
    expect(isE164("+44 20 7946 0123")).toBe(false);
    expect(isE164("442079460123")).toBe(false);
    expect(isE164("+1234567")).toBe(false);
    expect(isE164("+1234567890123456")).toBe(false);
  });
});
