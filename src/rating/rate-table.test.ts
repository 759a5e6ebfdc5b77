import { describe, expect, it } from "vitest";
import { parseRate, RateTable } from "./rate-table";
import type { Rate, RateInput } from "./rate-table";

const UK: RateInput = {
  prefix: "44",
  name: "United Kingdom",
  perMinute: "0.0230",
  connectionFee: "0.0390",
  interval: "60/60",
  sms: "0.1100",
};

function rate(input: Partial<RateInput>): Rate {
  const parsed = parseRate({ ...UK, ...input });
  if (!parsed.ok) throw new Error(parsed.error);
  return parsed.value;
}

describe("parseRate", () => {
  it("keeps exact decimals and the table's spelling", () => {
    expect(parseRate(UK)).toEqual({
      ok: true,
      value: {
        prefix: "44",
        name: "United Kingdom",
        perMinute: { units: 230n, scale: 4 },
        perMinuteText: "0.0230",
        connectionFee: { units: 390n, scale: 4 },
        interval: { first: 60, next: 60 },
        intervalText: "60/60",
        sms: { units: 1100n, scale: 4 },
      },
    });
  });

  it.each([
    [{ prefix: "+44" }, 'prefix: "+44" must be 1 to 15 digits'],
    [{ prefix: "" }, 'prefix: "" must be 1 to 15 digits'],
    [{ prefix: "1234567890123456" }, 'prefix: "1234567890123456" must be 1 to 15 digits'],
    [{ name: "  " }, "name: must not be empty"],
    [{ perMinute: "abc" }, 'per_minute: "abc" is not a decimal number'],
    [{ perMinute: "-0.01" }, "per_minute: must not be negative"],
    [{ connectionFee: "0,039" }, 'connection_fee: "0,039" is not a decimal number'],
    [{ interval: "0/60" }, 'interval: "0/60" is out of range: both parts must be 1 to 3600 seconds'],
    [{ sms: "0.12345678901" }, "sms: has more than 10 decimals"],
  ])("refuses %j with the field named", (patch, error) => {
    expect(parseRate({ ...UK, ...patch })).toEqual({ ok: false, error });
  });
});

describe("RateTable.match", () => {
  const table = new RateTable([
    rate({ prefix: "44", name: "United Kingdom" }),
    rate({ prefix: "447", name: "United Kingdom mobile" }),
    rate({ prefix: "4479", name: "United Kingdom mobile premium" }),
    rate({ prefix: "1", name: "North America" }),
  ]);

  it("takes the longest matching prefix", () => {
    expect(table.match("447700900123")?.name).toBe("United Kingdom mobile");
    expect(table.match("447912345678")?.name).toBe("United Kingdom mobile premium");
    expect(table.match("442079460123")?.name).toBe("United Kingdom");
    expect(table.match("15550100199")?.name).toBe("North America");
  });

  it("finds nothing when no prefix matches", () => {
    expect(table.match("33123456789")).toBeUndefined();
    expect(table.match("4")).toBeUndefined();
    expect(new RateTable([]).match("442079460123")).toBeUndefined();
  });

  it("asserts that prefixes are unique", () => {
    expect(() => new RateTable([rate({}), rate({})])).toThrow(/duplicate rate prefix 44/);
  });
});
