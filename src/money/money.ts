/** @module Money amounts: integers in minor units inside, decimal strings in major units on every interface. */
import { currencyExponent } from "./currency";
import { err, ok } from "../shared/result";
import type { Result } from "../shared/result";

/** The largest amount in minor units: every amount must stay a safe integer so that sums are exact. */
export const MINOR_MAX = Number.MAX_SAFE_INTEGER;

/** Longer inputs are refused before any arithmetic; 40 characters hold every safe amount with room to spare. */
const AMOUNT_TEXT_CHARS_MAX = 40;

const PLAIN_DECIMAL = /^(\d+)(?:\.(\d+))?$/;
const NEGATIVE_DECIMAL = /^-(\d+)(?:\.(\d+))?$/;

/** Quote user text in a message without letting a huge input flood it. */
function quoteInput(text: string): string {
  return JSON.stringify(
    text.length > AMOUNT_TEXT_CHARS_MAX ? `${text.slice(0, AMOUNT_TEXT_CHARS_MAX)}…` : text,
  );
}

/**
 * Parse a decimal string in major units ("12.50") into minor units (1250) for `currency`.
 * Only plain decimals: no sign, exponent, thousands separator or surrounding spaces. The error is
 * a reason that reads well after a field path: `events[12].amount: more decimals than EUR allows`.
 */
export function parseAmount(text: string, currency: string): Result<number, string> {
  const exponent = currencyExponent(currency);
  if (text.trim() !== text) return err(`${quoteInput(text)} must not have spaces around it`);
  if (NEGATIVE_DECIMAL.test(text)) return err("must not be negative");
  const match = PLAIN_DECIMAL.exec(text);
  if (!match) return err(`${quoteInput(text)} is not a decimal number`);
  const whole = match[1] ?? "";
  const fraction = match[2] ?? "";
  if (fraction.length > exponent) return err(`more decimals than ${currency} allows`);
  const tooLarge = `is too large (at most ${formatAmount(MINOR_MAX, currency)} ${currency})`;
  if (text.length > AMOUNT_TEXT_CHARS_MAX) return err(tooLarge);
  // BigInt keeps the check exact: a number would round before it could be compared with MINOR_MAX.
  const minor = BigInt(whole + fraction.padEnd(exponent, "0"));
  if (minor > BigInt(MINOR_MAX)) return err(tooLarge);
  return ok(Number(minor));
}

/** Format minor units as a plain decimal in major units: 1250 EUR → "12.50", -1258 → "-12.58", 1250 JPY → "1250". */
export function formatAmount(minor: number, currency: string): string {
  if (!Number.isSafeInteger(minor)) {
    throw new Error(`Assertion failed: amount ${minor} is not a safe integer of minor units`);
  }
  const exponent = currencyExponent(currency);
  const sign = minor < 0 ? "-" : "";
  const digits = String(Math.abs(minor));
  if (exponent === 0) return sign + digits;
  const padded = digits.padStart(exponent + 1, "0");
  return `${sign}${padded.slice(0, -exponent)}.${padded.slice(-exponent)}`;
}
