/** @module Billing intervals "A/B": the first A seconds are billed whole, then blocks of B seconds (§7). */
import { err, ok } from "../shared/result";
import type { Result } from "../shared/result";

export interface BillingInterval {
  /** Seconds billed for any answered call up to this long (A). */
  first: number;
  /** Block size in seconds after the first part (B). */
  next: number;
}

/** An interval longer than an hour is a typo, not a tariff. */
const INTERVAL_SECONDS_MAX = 3600;
const INTERVAL_PATTERN = /^(\d{1,4})\/(\d{1,4})$/;

export const DEFAULT_INTERVAL: BillingInterval = Object.freeze({ first: 60, next: 60 });

/** Parse "60/60", "60/1", "1/1", "30/6": two positive whole numbers of seconds, each at most 3600. */
export function parseInterval(text: string): Result<BillingInterval, string> {
  const match = text.length <= 16 ? INTERVAL_PATTERN.exec(text) : null;
  const first = Number(match?.[1]);
  const next = Number(match?.[2]);
  if (!match) return err(`${JSON.stringify(text.slice(0, 16))} is not a billing interval like 60/60`);
  if (first < 1 || next < 1 || first > INTERVAL_SECONDS_MAX || next > INTERVAL_SECONDS_MAX) {
    return err(
      `${JSON.stringify(text)} is out of range: both parts must be 1 to ${INTERVAL_SECONDS_MAX} seconds`,
    );
  }
  return ok({ first, next });
}

/** Seconds billed for a call of `durationS` seconds: 0 → 0; d ≤ A → A; else A + ⌈(d − A) / B⌉ × B. */
export function billedSeconds(durationS: number, iv: BillingInterval): number {
  if (!Number.isSafeInteger(durationS) || durationS < 0) {
    throw new Error(`Assertion failed: duration ${durationS} is not a whole number of seconds ≥ 0`);
  }
  if (durationS === 0) return 0;
  if (durationS <= iv.first) return iv.first;
  // Remainder arithmetic instead of Math.ceil(x / B): exact for every safe integer, no float quotient.
  const rest = durationS - iv.first;
  const remainder = rest % iv.next;
  return iv.first + rest + (remainder === 0 ? 0 : iv.next - remainder);
}
