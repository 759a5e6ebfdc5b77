/**
 * @module Months and instants in a company's IANA timezone: the calendar maths behind every
 * monthly report, subscription window and CSV date.
 *
 * The traps this module handles so that callers need not:
 * - A month is local: 2026-09-30T23:30:00Z is already October in Europe/London (+01:00).
 * - DST makes some local times happen twice (Europe/London 2026-10-25 01:30 is both +01:00 and
 *   +00:00) and others never (01:30 on 2026-03-29); a month can even start at a local midnight
 *   that is ambiguous (America/Havana 2026-11-01) or missing (America/Asuncion 2017-10-01).
 * - Offsets are not whole hours everywhere (Asia/Kolkata +05:30, Pacific/Chatham +12:45/+13:45).
 * Offsets come from luxon (the platform's tz database); nothing here hard-codes a rule.
 */
import { DateTime, IANAZone } from "luxon";
import { err, ok } from "../shared/result";
import type { Result } from "../shared/result";

/** A calendar month in a company's timezone, written "YYYY-MM". */
export type Month = string;

const MONTH_PATTERN = /^(\d{4})-(\d{2})$/;
const YEAR_MIN = 1970;
const YEAR_MAX = 9999;
const MINUTE_MS = 60_000;
const HOUR_MS = 3_600_000;
const DAY_MS = 86_400_000;
/** Zones whose offset cache grows beyond this many hour buckets start afresh (a bound on memory). */
const OFFSET_CACHE_ENTRIES_MAX = 100_000;
/** Inputs longer than this are not dates; refuse them before any parsing. */
const INSTANT_TEXT_CHARS_MAX = 64;

function quoteInput(text: string): string {
  return JSON.stringify(
    text.length > INSTANT_TEXT_CHARS_MAX ? `${text.slice(0, INSTANT_TEXT_CHARS_MAX)}…` : text,
  );
}

function pad2(n: number): string {
  return n < 10 ? `0${n}` : String(n);
}

function splitMonth(month: Month): { year: number; month: number } {
  const match = MONTH_PATTERN.exec(month);
  const year = Number(match?.[1]);
  const monthNumber = Number(match?.[2]);
  if (!match || monthNumber < 1 || monthNumber > 12) {
    throw new Error(`Assertion failed: ${JSON.stringify(month)} is not a parsed month`);
  }
  return { year, month: monthNumber };
}

/** Parse "YYYY-MM" (months 01..12, years 1970..9999). */
export function parseMonth(text: string): Result<Month, string> {
  const match = MONTH_PATTERN.exec(text);
  if (!match) return err(`${quoteInput(text)} is not a month: write it as YYYY-MM, e.g. 2026-09`);
  const year = Number(match[1]);
  const month = Number(match[2]);
  if (month < 1 || month > 12) return err(`${quoteInput(text)} is not a month: the month must be 01 to 12`);
  if (year < YEAR_MIN || year > YEAR_MAX) {
    return err(`${quoteInput(text)} is out of range: the year must be ${YEAR_MIN} to ${YEAR_MAX}`);
  }
  return ok(text);
}

/** True for a timezone name the tz database knows ("Europe/London", "UTC"). */
export function isValidTimeZone(tz: string): boolean {
  return IANAZone.isValidZone(tz);
}

/**
 * A zone with a cache of its offset per UTC hour. Real tz transitions are never less than an hour
 * apart, so when the offsets at both ends of an hour agree, the whole hour has that offset; an hour
 * that contains a transition is not cached and asks luxon every time.
 */
interface CachedZone {
  readonly zone: IANAZone;
  readonly offsetByHour: Map<number, number>;
}

const zones = new Map<string, CachedZone>();

function cachedZone(tz: string): CachedZone {
  let cached = zones.get(tz);
  if (cached === undefined) {
    if (!IANAZone.isValidZone(tz))
      throw new Error(`Assertion failed: unknown timezone ${JSON.stringify(tz)}`);
    cached = { zone: IANAZone.create(tz), offsetByHour: new Map() };
    zones.set(tz, cached);
  }
  return cached;
}

/** The zone's offset from UTC in minutes at instant `ms` (may be fractional for old local mean times). */
function offsetMinutes(cached: CachedZone, ms: number): number {
  const hour = Math.floor(ms / HOUR_MS);
  const known = cached.offsetByHour.get(hour);
  if (known !== undefined) return known;
  const atStart = cached.zone.offset(hour * HOUR_MS);
  const atEnd = cached.zone.offset(hour * HOUR_MS + HOUR_MS - 1);
  if (atStart !== atEnd) return cached.zone.offset(ms);
  if (cached.offsetByHour.size >= OFFSET_CACHE_ENTRIES_MAX) cached.offsetByHour.clear();
  cached.offsetByHour.set(hour, atStart);
  return atStart;
}

/** Local calendar fields of a "wall clock" instant (ms + offset), read in UTC so no zone applies twice. */
function wallFields(wallMs: number): { year: number; month: number; day: number } {
  const date = new Date(Math.floor(wallMs / DAY_MS) * DAY_MS);
  return { year: date.getUTCFullYear(), month: date.getUTCMonth() + 1, day: date.getUTCDate() };
}

/** The month (in `tz`) that contains instant `ms`. */
export function monthOf(ms: number, tz: string): Month {
  const offset = offsetMinutes(cachedZone(tz), ms);
  const { year, month } = wallFields(ms + offset * MINUTE_MS);
  return `${year}-${pad2(month)}`;
}

/** The instant at which the zone's local calendar reaches year-month-day (local midnight, or the first instant after a DST gap). */
function localDayStartMs(year: number, month: number, day: number, tz: string): number {
  const cached = cachedZone(tz);
  const wallMidnight = Date.UTC(year, month - 1, day);
  // Every instant at which the wall clock shows midnight is wallMidnight − offset for an offset in
  // force then; trying the offsets of the surrounding days finds them all. When midnight is
  // ambiguous (a fall-back at midnight) the earlier instant starts the day.
  let best: number | undefined;
  for (const probe of [wallMidnight - DAY_MS, wallMidnight, wallMidnight + DAY_MS]) {
    const candidate = wallMidnight - cached.zone.offset(probe) * MINUTE_MS;
    if (cached.zone.offset(candidate) * MINUTE_MS + candidate === wallMidnight) {
      best = best === undefined ? candidate : Math.min(best, candidate);
    }
  }
  if (best !== undefined) return best;
  // Midnight falls in a DST gap: the day starts when the gap ends, which luxon finds by moving forward.
  return DateTime.fromObject({ year, month, day }, { zone: cached.zone }).toMillis();
}

/** The instant the month starts in `tz`: local midnight on the 1st (DST-correct). */
export function monthStartMs(month: Month, tz: string): number {
  const parts = splitMonth(month);
  return localDayStartMs(parts.year, parts.month, 1, tz);
}

/** The instant the month ends in `tz`, exclusive: the start of the next month. */
export function monthEndMs(month: Month, tz: string): number {
  return monthStartMs(addMonths(month, 1), tz);
}

/** The month `n` months after `month` (n may be negative): addMonths("2026-01", -1) = "2025-12". */
export function addMonths(month: Month, n: number): Month {
  if (!Number.isSafeInteger(n)) throw new Error(`Assertion failed: month count ${n} is not an integer`);
  const parts = splitMonth(month);
  const index = parts.year * 12 + (parts.month - 1) + n;
  const year = Math.floor(index / 12);
  return `${String(year).padStart(4, "0")}-${pad2(index - year * 12 + 1)}`;
}

function formatOffset(offset: number): string {
  const sign = offset < 0 ? "-" : "+";
  const abs = Math.abs(offset);
  return `${sign}${pad2(Math.floor(abs / 60))}:${pad2(abs % 60)}`;
}

/** The date text of the last local day formatted (a day number of wall-clock time is zone-independent). */
const lastDay = { dayNumber: Number.NaN, text: "" };

/**
 * Instant `ms` as local ISO 8601 in `tz`, to the second, always with a numeric offset:
 * "2026-10-25T01:30:00+01:00", "+00:00" rather than "Z". Called once per CSV row, so the offset
 * comes from the per-hour cache and the fields from integer arithmetic.
 */
export function formatLocalIso(ms: number, tz: string): string {
  const cached = cachedZone(tz);
  const offset = offsetMinutes(cached, ms);
  if (!Number.isInteger(offset)) {
    // Local mean time with an offset in seconds (before ~1972): rare, so let luxon do it.
    return DateTime.fromMillis(ms, { zone: cached.zone }).toFormat("yyyy-MM-dd'T'HH:mm:ssZZ");
  }
  const wallMs = ms + offset * MINUTE_MS;
  const dayNumber = Math.floor(wallMs / DAY_MS);
  // Rows come in time order, so consecutive calls mostly share a local day: reuse its date text.
  if (dayNumber !== lastDay.dayNumber) {
    const { year, month, day } = wallFields(wallMs);
    lastDay.dayNumber = dayNumber;
    lastDay.text = `${String(year).padStart(4, "0")}-${pad2(month)}-${pad2(day)}T`;
  }
  const seconds = Math.floor((wallMs - dayNumber * DAY_MS) / 1000);
  const hh = Math.floor(seconds / 3600);
  const mm = Math.floor((seconds % 3600) / 60);
  const ss = seconds % 60;
  return `${lastDay.text}${pad2(hh)}:${pad2(mm)}:${pad2(ss)}${formatOffset(offset)}`;
}

const INSTANT_PATTERN =
  /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?(?<offset>Z|[+-]\d{2}(?::?\d{2})?)?$/;

/**
 * Parse an ISO 8601 date-time that says which instant it is: with "Z" or a numeric offset
 * ("2026-09-01T09:00:00Z", "2026-09-01T10:00:00+01:00", fractional seconds allowed).
 */
export function parseInstant(text: string): Result<number, string> {
  const match = text.length <= INSTANT_TEXT_CHARS_MAX ? INSTANT_PATTERN.exec(text) : null;
  if (!match) {
    return err(`${quoteInput(text)} is not an ISO 8601 date-time like 2026-09-01T09:00:00Z`);
  }
  if (match.groups?.["offset"] === undefined) {
    return err(`${quoteInput(text)} has no UTC offset: add Z or an offset such as +01:00`);
  }
  const parsed = DateTime.fromISO(text, { setZone: true });
  if (!parsed.isValid) return err(`${quoteInput(text)} is not a valid date-time`);
  return ok(parsed.toMillis());
}

/**
 * The same local day and time `n` months later in `tz` (n may be negative). A day the target
 * month lacks becomes its last day: Jan 31 + 1 month = Feb 28 (29 in a leap year). A local time
 * that the target day skips (DST gap) moves forward by the gap.
 */
export function addMonthsLocal(ms: number, n: number, tz: string): number {
  if (!Number.isSafeInteger(n)) throw new Error(`Assertion failed: month count ${n} is not an integer`);
  return DateTime.fromMillis(ms, { zone: cachedZone(tz).zone })
    .plus({ months: n })
    .toMillis();
}
