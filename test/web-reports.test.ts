/**
 * @module The reports screens' logic, without a browser: sorting cells (amounts exactly, dates, names
 * for people, empty last), the month list and Previous/Next month, filters from the URL, the "where
 * credit went" figures, the Download Reports query, and the file name from Content-Disposition.
 */
import { describe, expect, it } from "vitest";
import {
  compareCells,
  compareDecimals,
  creditSpent,
  currencyDecimals,
  downloadQuery,
  fileNameFromDisposition,
  filterFromParams,
  fromMinor,
  lastMonths,
  monthNeighbours,
  monthOptions,
  reportQuery,
  toMinor,
} from "../web/src/reports/logic";
import type { Cell, ColumnKind, ReportRow } from "../web/src/reports/logic";

const sorted = (cells: Cell[], kind: ColumnKind) => [...cells].sort((a, b) => compareCells(a, b, kind));

describe("sorting cells", () => {
  it("orders amounts by exact value, negatives first, empty cells last", () => {
    expect(sorted(["10.00", "-12.58", null, "9.99", "100.00", "", "0.01"], "amount")).toEqual([
      "-12.58",
      "0.01",
      "9.99",
      "10.00",
      "100.00",
      null,
      "",
    ]);
    // Beyond a float's precision, still exact.
    expect(compareDecimals("90071992547409910.01", "90071992547409910.02")).toBe(-1);
    expect(compareDecimals("0.0230", "0.023")).toBe(0);
    expect(compareDecimals("-1", "-0.5")).toBe(-1);
  });

  it("orders rates and whole numbers by value, not as text", () => {
    expect(sorted(["0.1500", "0.0230", "0.0280"], "rate")).toEqual(["0.0230", "0.0280", "0.1500"]);
    expect(sorted([120, 60, 1000, null, 0], "int")).toEqual([0, 60, 120, 1000, null]);
  });

  it("orders dates by instant across offsets", () => {
    expect(
      sorted(["2026-10-25T01:30:00+01:00", "2026-10-25T01:10:00+00:00", "2026-10-24T23:00:00+00:00"], "date"),
    ).toEqual(["2026-10-24T23:00:00+00:00", "2026-10-25T01:30:00+01:00", "2026-10-25T01:10:00+00:00"]);
  });

  it("orders names for people: case and accents aside, numbers inside by value", () => {
    expect(sorted(["zoë", "Zoe", "amélie", "Bob", "PBX 10", "PBX 9"], "text")).toEqual([
      "amélie",
      "Bob",
      "PBX 9",
      "PBX 10",
      "zoë",
      "Zoe",
    ]);
  });
});

describe("money in minor units", () => {
  it("reads and writes decimal strings without floats", () => {
    expect(toMinor("12.3")).toBe(1230);
    expect(toMinor("-0.07")).toBe(-7);
    expect(toMinor(null)).toBe(0);
    expect(toMinor("1500", 0)).toBe(1500);
    expect(fromMinor(1230)).toBe("12.30");
    expect(fromMinor(-7)).toBe("-0.07");
    expect(fromMinor(1500, 0)).toBe("1500");
    expect(currencyDecimals("EUR")).toBe(2);
    expect(currencyDecimals("JPY")).toBe(0);
  });
});

describe("months", () => {
  const months = ["2026-11", "2026-10", "2026-09"];
  it("Previous month and Next month stop at the ends of the list", () => {
    expect(monthNeighbours(months, "2026-10")).toEqual({ previous: "2026-09", next: "2026-11" });
    expect(monthNeighbours(months, "2026-11")).toEqual({ previous: "2026-10", next: null });
    expect(monthNeighbours(months, "2026-09")).toEqual({ previous: null, next: "2026-10" });
  });
  it("the drop-down lists the months newest first and keeps a month from the URL", () => {
    expect(monthOptions(months, "2026-10")).toEqual(months);
    expect(monthOptions(months, "2025-01")).toEqual([...months, "2025-01"]);
    expect(monthOptions(months, "garbage")).toEqual(months);
  });
  it("the last 6 months for the chart cross the year", () => {
    expect(lastMonths("2026-02", 6)).toEqual([
      "2025-09",
      "2025-10",
      "2025-11",
      "2025-12",
      "2026-01",
      "2026-02",
    ]);
  });
});

describe("filters and queries", () => {
  it("takes only the report's own filters from the URL", () => {
    const params = new URLSearchParams("month=2026-11&status=pending&group=Sales&kind=&prefix=44");
    expect(filterFromParams("purchases", params)).toEqual({ status: "pending" });
    expect(filterFromParams("summary", params)).toEqual({ group: "Sales" });
    expect(filterFromParams("usage", params)).toEqual({ prefix: "44" });
  });
  it("builds the report request", () => {
    expect(reportQuery({ month: "2026-11", feature: "number", filter: { action: "reclaim" } })).toBe(
      "month=2026-11&format=json&feature=number&action=reclaim",
    );
    expect(reportQuery({ month: "2026-11", subject: "sip:London PBX" })).toBe(
      "month=2026-11&format=json&subject=sip%3ALondon+PBX",
    );
  });
  it("builds the download request in the offered order", () => {
    expect(downloadQuery("2026-11", "pdf", new Set(["allocations:number", "summary"]))).toBe(
      "month=2026-11&format=pdf&reports=summary%2Callocations%3Anumber",
    );
  });
});

describe("where credit went", () => {
  const row = (recipient: string, usage: string, features: string): ReportRow => ({
    recipient,
    usage_charged: usage,
    features_cost: features,
  });
  it("sums usage and features per recipient, largest first, the rest as Others; nothing spent left out", () => {
    const rows = [
      row("Amélie", "2.76", "24.99"),
      row("PBX", "20.91", "0.00"),
      row("Bob", "0.00", "0.00"),
      row("Zoë", "3.11", "0.00"),
      row("Alex", "3.11", "0.00"),
      row("Ken", "1.00", "0.50"),
    ];
    expect(creditSpent(rows, 10, "Others")).toEqual([
      { label: "Amélie", value: 2775 },
      { label: "PBX", value: 2091 },
      { label: "Alex", value: 311 },
      { label: "Zoë", value: 311 },
      { label: "Ken", value: 150 },
    ]);
    expect(creditSpent(rows, 2, "Others")).toEqual([
      { label: "Amélie", value: 2775 },
      { label: "PBX", value: 2091 },
      { label: "Others", value: 772 },
    ]);
  });
});

describe("file name of a download", () => {
  it("reads filename and filename*, and never a path", () => {
    expect(fileNameFromDisposition('attachment; filename="acme-2026-11-reports.zip"', "x")).toBe(
      "acme-2026-11-reports.zip",
    );
    expect(fileNameFromDisposition("attachment; filename*=UTF-8''zo%C3%AB.csv; filename=zoe.csv", "x")).toBe(
      "zoë.csv",
    );
    expect(fileNameFromDisposition('attachment; filename="../../etc/passwd"', "x")).toBe(".._.._etc_passwd");
    expect(fileNameFromDisposition(null, "fallback.csv")).toBe("fallback.csv");
  });
});
