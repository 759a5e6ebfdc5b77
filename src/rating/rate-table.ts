/** @module Rate table: destination prefixes with their prices, matched by longest prefix (§7). */
import { formatDecimal, parseDecimal } from "../money/decimal";
import type { Decimal } from "../money/decimal";
import { parseInterval } from "./interval";
import type { BillingInterval } from "./interval";
import { err, ok } from "../shared/result";
import type { Result } from "../shared/result";

/** A rate as the rate table writes it: decimal strings in major units ("0.0230"). */
export interface RateInput {
  prefix: string;
  name: string;
  perMinute: string;
  connectionFee: string;
  interval: string;
  sms: string;
}

/** A parsed rate; the `…Text` fields keep the table's spelling for reports ("0.0230", "60/60"). */
export interface Rate {
  prefix: string;
  name: string;
  perMinute: Decimal;
  perMinuteText: string;
  connectionFee: Decimal;
  interval: BillingInterval;
  intervalText: string;
  sms: Decimal;
}

/** E.164 numbers have at most 15 digits, so no prefix can be longer. */
const PREFIX_DIGITS_MAX = 15;
const PREFIX_PATTERN = /^\d{1,15}$/;
const RATE_NAME_CHARS_MAX = 200;
/** Prices have at most this many decimals (the table's "0.0230" has 4). */
const PRICE_SCALE_MAX = 10;

/**
 * Validate one rate. The error starts with the field's name as the bundle spells it
 * (`per_minute: "abc" is not a decimal number`) so that a caller can prefix its own path
 * (`rates[1].per_minute: …`).
 */
export function parseRate(input: RateInput): Result<Rate, string> {
  if (!PREFIX_PATTERN.test(input.prefix)) {
    return err(
      `prefix: ${JSON.stringify(input.prefix.slice(0, 40))} must be 1 to ${PREFIX_DIGITS_MAX} digits`,
    );
  }
  const name = input.name.trim();
  if (name === "") return err("name: must not be empty");
  if (name.length > RATE_NAME_CHARS_MAX)
    return err(`name: must be at most ${RATE_NAME_CHARS_MAX} characters`);
  const perMinute = parseDecimal(input.perMinute, PRICE_SCALE_MAX);
  if (!perMinute.ok) return err(`per_minute: ${perMinute.error}`);
  const connectionFee = parseDecimal(input.connectionFee, PRICE_SCALE_MAX);
  if (!connectionFee.ok) return err(`connection_fee: ${connectionFee.error}`);
  const interval = parseInterval(input.interval);
  if (!interval.ok) return err(`interval: ${interval.error}`);
  const sms = parseDecimal(input.sms, PRICE_SCALE_MAX);
  if (!sms.ok) return err(`sms: ${sms.error}`);
  return ok({
    prefix: input.prefix,
    name,
    perMinute: perMinute.value,
    perMinuteText: formatDecimal(perMinute.value),
    connectionFee: connectionFee.value,
    interval: interval.value,
    intervalText: `${interval.value.first}/${interval.value.next}`,
    sms: sms.value,
  });
}

/** Rates indexed by prefix; `match` tries the destination's prefixes longest first. */
export class RateTable {
  private readonly byPrefix = new Map<string, Rate>();
  /** The distinct prefix lengths in the table, longest first: at most 15 Map lookups per match. */
  private readonly lengths: readonly number[];

  /** Prefixes must be unique; callers validate that (a duplicate is a programmer error here). */
  constructor(rates: readonly Rate[]) {
    for (const rate of rates) {
      if (this.byPrefix.has(rate.prefix)) {
        throw new Error(`Assertion failed: duplicate rate prefix ${rate.prefix}`);
      }
      this.byPrefix.set(rate.prefix, rate);
    }
    this.lengths = [...new Set(rates.map((rate) => rate.prefix.length))].sort((a, b) => b - a);
  }

  /** The rate with the longest prefix of `digits` (a destination without its "+"), if any. */
  match(digits: string): Rate | undefined {
    for (const length of this.lengths) {
      if (length > digits.length) continue;
      const rate = this.byPrefix.get(digits.slice(0, length));
      if (rate !== undefined) return rate;
    }
    return undefined;
  }
}
