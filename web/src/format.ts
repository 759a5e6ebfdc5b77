/** @module Formatting for people: money, numbers and dates in the user's locale, with the company's currency and timezone. */

/**
 * Money arrives as exact decimal strings ("1234.50"). Intl's formatter takes a string too, so no value
 * ever passes through a float on its way to the screen.
 */
export function formatMoney(amount: string | null | undefined, currency: string, locale: string): string {
  if (amount === null || amount === undefined || amount === "") return "";
  const fmt = new Intl.NumberFormat(locale, { style: "currency", currency });
  return fmt.format(amount as unknown as number);
}

export function formatNumber(n: number | null | undefined, locale: string): string {
  return n === null || n === undefined ? "" : new Intl.NumberFormat(locale).format(n);
}

/** "2026-10-25T01:30:00+01:00" → a local date-time in the company's timezone, in the user's locale. */
export function formatDateTime(iso: string | null | undefined, timeZone: string, locale: string): string {
  if (!iso) return "";
  return new Intl.DateTimeFormat(locale, { dateStyle: "medium", timeStyle: "short", timeZone }).format(
    new Date(iso),
  );
}

/** "2026-10" → "October 2026" in the user's locale. */
export function formatMonth(month: string, locale: string): string {
  const [y, m] = month.split("-").map(Number);
  return new Intl.DateTimeFormat(locale, { month: "long", year: "numeric", timeZone: "UTC" }).format(
    new Date(Date.UTC(y ?? 1970, (m ?? 1) - 1, 1)),
  );
}

/** The month before or after "YYYY-MM". */
export function shiftMonth(month: string, delta: number): string {
  const [y, m] = month.split("-").map(Number);
  const i = (y ?? 1970) * 12 + (m ?? 1) - 1 + delta;
  return `${Math.floor(i / 12)}-${String((i % 12) + 1).padStart(2, "0")}`;
}
