/**
 * @module Words a person reads in a document: column and total labels, the month's name, the filter and
 * the subject line. Pure functions of a report result; the CSV/XLSX header names stay the raw column keys.
 */
import type { ReportResult } from "../reports/report.service";

const MONTH_NAMES = [
  "January",
  "February",
  "March",
  "April",
  "May",
  "June",
  "July",
  "August",
  "September",
  "October",
  "November",
  "December",
] as const;

/** "2026-10" → "October 2026". */
export function monthLabel(month: string): string {
  const [year, mm] = month.split("-");
  const name = MONTH_NAMES[Number(mm) - 1];
  if (year === undefined || name === undefined) throw new Error(`Assertion failed: month "${month}"`);
  return `${name} ${year}`;
}

const LABEL_OVERRIDES: Readonly<Record<string, string>> = {
  duration_s: "Duration (s)",
  billed_s: "Billed (s)",
  rate_per_minute: "Rate / min",
  external_id: "External id",
  vat: "VAT",
  sms: "SMS",
  billed_seconds: "Billed seconds",
};

/** A column or total key as a label: "credit_allocated" → "Credit allocated". */
export function humanLabel(key: string): string {
  const override = LABEL_OVERRIDES[key];
  if (override !== undefined) return override;
  const words = key.replace(/_/g, " ");
  return words.charAt(0).toUpperCase() + words.slice(1);
}

/** "group = Sales; kind = call", or "none". */
export function filterLabel(filter: Readonly<Record<string, string>>): string {
  const parts = Object.entries(filter).map(([k, v]) => `${k} = ${v}`);
  return parts.length === 0 ? "none" : parts.join("; ");
}

/** The report's heading: "Allocations — Credit", "Usage — member Zoë Ng (zoe.ng)", "Summary". */
export function reportHeading(result: Pick<ReportResult, "title" | "feature" | "subject">): string {
  if (result.feature !== null)
    return `${result.title} — ${result.feature.charAt(0).toUpperCase()}${result.feature.slice(1)}`;
  if (result.subject !== null) {
    const s = result.subject;
    return s.type === "member"
      ? `${result.title} — member ${s.name}${s.username !== null ? ` (${s.username})` : ""}`
      : `${result.title} — SIP profile ${s.name}`;
  }
  return result.title;
}

/** Local ISO 8601 "2026-10-25T01:30:00+01:00" as "2026-10-25 01:30:00 +01:00" for reading. */
export function readableLocalTime(iso: string): string {
  return iso.replace("T", " ").replace(/([+-]\d{2}:\d{2})$/, " $1");
}
