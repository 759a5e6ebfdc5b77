/** @module Exact decimal money for the manage screens: validation of typed amounts and balance arithmetic in minor units (BigInt), never floats. */

/** How many decimals the currency has (EUR 2, JPY 0, BHD 3), as Intl knows it. */
export function currencyDigits(currency: string): number {
  try {
    return (
      new Intl.NumberFormat("en", { style: "currency", currency }).resolvedOptions().maximumFractionDigits ??
      2
    );
  } catch {
    return 2;
  }
}

export type AmountProblem = "required" | "format" | "decimals" | "zero";

/**
 * Checks a typed amount: a non-negative decimal with at most the currency's decimals. `allowZero` is for
 * thresholds and caps, which may be 0.
 */
export function checkAmount(text: string, currency: string, allowZero = false): AmountProblem | null {
  const v = text.trim();
  if (v === "") return "required";
  if (!/^\d+(\.\d+)?$/.test(v)) return "format";
  const decimals = v.includes(".") ? (v.split(".")[1]?.length ?? 0) : 0;
  if (decimals > currencyDigits(currency)) return "decimals";
  if (!allowZero && /^[0.]+$/.test(v)) return "zero";
  return null;
}

/** "12.5" → 1250n for EUR. Assumes a string `checkAmount` accepted (or an API amount, possibly negative). */
export function toMinor(text: string, currency: string): bigint {
  const digits = currencyDigits(currency);
  const v = text.trim();
  const negative = v.startsWith("-");
  const [whole = "0", frac = ""] = v.replace(/^[-+]/, "").split(".");
  const minor =
    BigInt(whole || "0") * 10n ** BigInt(digits) +
    BigInt((frac + "0".repeat(digits)).slice(0, digits) || "0");
  return negative ? -minor : minor;
}

/** 1250n → "12.50" for EUR. */
export function fromMinor(minor: bigint, currency: string): string {
  const digits = currencyDigits(currency);
  const negative = minor < 0n;
  const abs = negative ? -minor : minor;
  const s = abs.toString().padStart(digits + 1, "0");
  const out = digits === 0 ? s : `${s.slice(0, -digits)}.${s.slice(-digits)}`;
  return negative ? `-${out}` : out;
}

/** a + b on decimal strings of one currency. */
export function addAmounts(a: string, b: string, currency: string): string {
  return fromMinor(toMinor(a, currency) + toMinor(b, currency), currency);
}

/** a − b on decimal strings of one currency. */
export function subtractAmounts(a: string, b: string, currency: string): string {
  return fromMinor(toMinor(a, currency) - toMinor(b, currency), currency);
}

/** Normalizes a typed amount to the currency's decimals ("20" → "20.00"). */
export function normalizeAmount(text: string, currency: string): string {
  return fromMinor(toMinor(text, currency), currency);
}
