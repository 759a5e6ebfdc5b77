/** @module Exact decimals and rationals for prices and rates (per-minute prices, VAT rates): bigint, never floating point. */
import { err, ok } from "../shared/result";
import type { Result } from "../shared/result";

/** A non-negative decimal `units / 10^scale`; the scale is kept so that "0.0230" prints back as "0.0230". */
export interface Decimal {
  readonly units: bigint;
  readonly scale: number;
}

/** An exact fraction `num / den` (den > 0), used for charges before they are rounded to the minor unit. */
export interface Rational {
  num: bigint;
  den: bigint;
}

/** Longer inputs are refused before any arithmetic. */
const DECIMAL_TEXT_CHARS_MAX = 40;

const PLAIN_DECIMAL = /^(\d+)(?:\.(\d+))?$/;

function quoteInput(text: string): string {
  return JSON.stringify(
    text.length > DECIMAL_TEXT_CHARS_MAX ? `${text.slice(0, DECIMAL_TEXT_CHARS_MAX)}…` : text,
  );
}

function pow10(exponent: number): bigint {
  return 10n ** BigInt(exponent);
}

/** Parse a non-negative plain decimal ("0.0230", "0.20", "1") with at most `maxScale` decimals. */
export function parseDecimal(text: string, maxScale = 10): Result<Decimal, string> {
  if (text.length > DECIMAL_TEXT_CHARS_MAX)
    return err(`${quoteInput(text)} is too long for a decimal number`);
  if (text.startsWith("-") && PLAIN_DECIMAL.test(text.slice(1))) return err("must not be negative");
  const match = PLAIN_DECIMAL.exec(text);
  if (!match) return err(`${quoteInput(text)} is not a decimal number`);
  const fraction = match[2] ?? "";
  if (fraction.length > maxScale) return err(`has more than ${maxScale} decimals`);
  return ok({ units: BigInt((match[1] ?? "") + fraction), scale: fraction.length });
}

/** Print a decimal with exactly its scale: { units: 230n, scale: 4 } → "0.0230". */
export function formatDecimal(d: Decimal): string {
  const digits = d.units.toString();
  if (d.scale === 0) return digits;
  const padded = digits.padStart(d.scale + 1, "0");
  return `${padded.slice(0, -d.scale)}.${padded.slice(-d.scale)}`;
}

/**
 * VAT on a net amount: net × rate, rounded half up to the minor unit (§3). A negative net (a
 * correction) rounds half away from zero so that the VAT of −x is exactly −(VAT of x).
 */
export function vatMinor(netMinor: number, vatRate: Decimal): number {
  if (!Number.isSafeInteger(netMinor))
    throw new Error(`Assertion failed: net ${netMinor} is not a safe integer`);
  const negative = netMinor < 0;
  const product = BigInt(Math.abs(netMinor)) * vatRate.units;
  const den = pow10(vatRate.scale);
  // Half up: add half the divisor, then truncate. 2 × product ≥ den × (2q + 1) ⇔ the remainder is at least one half.
  const rounded = (2n * product + den) / (2n * den);
  const vat = Number(negative ? -rounded : rounded);
  if (!Number.isSafeInteger(vat)) throw new Error(`Assertion failed: VAT ${vat} is not a safe integer`);
  return vat;
}

function gcd(a: bigint, b: bigint): bigint {
  let x = a < 0n ? -a : a;
  let y = b < 0n ? -b : b;
  while (y !== 0n) [x, y] = [y, x % y];
  return x;
}

/** Reduce to lowest terms with a positive denominator. */
function reduce(r: Rational): Rational {
  if (r.den === 0n) throw new Error("Assertion failed: rational with a zero denominator");
  const sign = r.den < 0n ? -1n : 1n;
  const g = gcd(r.num, r.den);
  return { num: (sign * r.num) / g, den: (sign * r.den) / g };
}

/**
 * The exact decimal expansion of `r` when it terminates within `maxFractionDigits` digits
 * ("0.3125", "1", "0.108"; trailing zeros trimmed), otherwise the reduced fraction ("1403/60000").
 */
export function formatRational(r: Rational, maxFractionDigits = 20): string {
  const { num, den } = reduce(r);
  // A reduced fraction terminates iff its denominator is 2^a × 5^b; it then needs max(a, b) digits.
  let rest = den;
  let twos = 0;
  let fives = 0;
  while (rest % 2n === 0n) {
    rest /= 2n;
    twos += 1;
  }
  while (rest % 5n === 0n) {
    rest /= 5n;
    fives += 1;
  }
  const digits = Math.max(twos, fives);
  if (rest !== 1n || digits > maxFractionDigits) return `${num}/${den}`;
  const negative = num < 0n;
  const scaled = ((negative ? -num : num) * pow10(digits)) / den;
  const text = formatDecimal({ units: scaled, scale: digits });
  return (negative ? "-" : "") + text;
}

/** Round a rational amount in major units UP (towards +∞) to an integer number of minor units. */
export function ceilToMinor(r: Rational, exponent: number): number {
  const { num, den } = reduce(r);
  const scaled = num * pow10(exponent);
  const quotient = scaled / den; // bigint division truncates towards zero
  const ceiled = scaled % den !== 0n && scaled > 0n ? quotient + 1n : quotient;
  const minor = Number(ceiled);
  if (!Number.isSafeInteger(minor))
    throw new Error(`Assertion failed: amount ${ceiled} is not a safe integer`);
  return minor;
}
