/** @module Rating one usage record (§7): longest-prefix rate, billed seconds, exact charge rounded up, subscription coverage. */
import { ceilToMinor, formatRational } from "../money/decimal";
import type { Decimal, Rational } from "../money/decimal";
import { billedSeconds, DEFAULT_INTERVAL } from "./interval";
import type { Rate, RateTable } from "./rate-table";

/** A subscription's window for one subscription month, with the minutes already used in it. */
export interface SubscriptionWindow {
  id: number;
  allocatedAtMs: number;
  activeFromMs: number;
  /** Exclusive. */
  activeUntilMs: number;
  prefixes: readonly string[];
  minutes: number;
  usedMinutes: number;
  planName: string;
}

export type UsageKind = "call" | "sms";

export interface UsageToRate {
  kind: UsageKind;
  /** Digits only, without the "+". */
  destinationDigits: string;
  /** Calls: whole seconds, 0 for an unanswered call. */
  durationS: number;
  /** SMS: at least 1. */
  segments: number;
  startedAtMs: number;
}

export type RatedUsage =
  | {
      status: "rated";
      rate: Rate;
      billedS: number | null;
      chargeMinor: number;
      exact: string;
      coveredMinutes: 0;
      subscriptionId: null;
    }
  | {
      status: "covered";
      rate: Rate | undefined;
      billedS: number;
      chargeMinor: 0;
      exact: "0";
      coveredMinutes: number;
      subscriptionId: number;
    }
  | {
      status: "unrated";
      rate: undefined;
      billedS: null;
      chargeMinor: 0;
      exact: null;
      coveredMinutes: 0;
      subscriptionId: null;
    };

const SECONDS_PER_MINUTE = 60;

function unrated(): RatedUsage {
  return {
    status: "unrated",
    rate: undefined,
    billedS: null,
    chargeMinor: 0,
    exact: null,
    coveredMinutes: 0,
    subscriptionId: null,
  };
}

function asRational(d: Decimal): Rational {
  return { num: d.units, den: 10n ** BigInt(d.scale) };
}

/** Exact charge of an answered call in major units: connection_fee + per_minute × billed_s / 60. */
function callCharge(rate: Rate, billedS: number): Rational {
  const fee = asRational(rate.connectionFee);
  const perMinute = asRational(rate.perMinute);
  const minutesDen = perMinute.den * BigInt(SECONDS_PER_MINUTE);
  return {
    num: fee.num * minutesDen + perMinute.num * BigInt(billedS) * fee.den,
    den: fee.den * minutesDen,
  };
}

/** The subscription that covers a call, if any: active at its start, matching prefix, enough minutes left; first allocated wins. */
function coveringSubscription(
  u: UsageToRate,
  minutesNeeded: number,
  subscriptions: readonly SubscriptionWindow[],
): SubscriptionWindow | undefined {
  let best: SubscriptionWindow | undefined;
  for (const sub of subscriptions) {
    const active = sub.activeFromMs <= u.startedAtMs && u.startedAtMs < sub.activeUntilMs;
    if (!active || sub.minutes - sub.usedMinutes < minutesNeeded) continue;
    if (!sub.prefixes.some((prefix) => u.destinationDigits.startsWith(prefix))) continue;
    const earlier =
      best === undefined ||
      sub.allocatedAtMs < best.allocatedAtMs ||
      (sub.allocatedAtMs === best.allocatedAtMs && sub.id < best.id);
    if (earlier) best = sub;
  }
  return best;
}

/**
 * Rate one call or SMS exactly as §7 says. Pure: it reads the subscriptions' used minutes but does
 * not change them; the caller records `coveredMinutes` against `subscriptionId`.
 *
 * Decision: a call whose destination matches no rate can still be covered by a subscription whose
 * prefixes match it. Coverage needs billed seconds, so those are computed with the default 60/60
 * interval; if a subscription covers the call it is "covered" (with no rate), otherwise "unrated".
 */
export function rateUsage(
  u: UsageToRate,
  table: RateTable,
  subscriptions: readonly SubscriptionWindow[],
  currencyExponent: number,
): RatedUsage {
  const rate = table.match(u.destinationDigits);

  if (u.kind === "sms") {
    if (!Number.isSafeInteger(u.segments) || u.segments < 1) {
      throw new Error(`Assertion failed: SMS segments ${u.segments} must be a whole number ≥ 1`);
    }
    if (rate === undefined) return unrated();
    const sms = asRational(rate.sms);
    const charge: Rational = { num: sms.num * BigInt(u.segments), den: sms.den };
    return {
      status: "rated",
      rate,
      billedS: null,
      chargeMinor: ceilToMinor(charge, currencyExponent),
      exact: formatRational(charge),
      coveredMinutes: 0,
      subscriptionId: null,
    };
  }

  const billedS = billedSeconds(u.durationS, rate?.interval ?? DEFAULT_INTERVAL);
  if (billedS > 0) {
    const minutesNeeded = Math.ceil(billedS / SECONDS_PER_MINUTE);
    const sub = coveringSubscription(u, minutesNeeded, subscriptions);
    if (sub !== undefined) {
      return {
        status: "covered",
        rate,
        billedS,
        chargeMinor: 0,
        exact: "0",
        coveredMinutes: minutesNeeded,
        subscriptionId: sub.id,
      };
    }
  }
  if (rate === undefined) return unrated();
  // An unanswered call (billed 0 s) costs nothing, not even the connection fee.
  const charge: Rational = billedS === 0 ? { num: 0n, den: 1n } : callCharge(rate, billedS);
  return {
    status: "rated",
    rate,
    billedS,
    chargeMinor: ceilToMinor(charge, currencyExponent),
    exact: formatRational(charge),
    coveredMinutes: 0,
    subscriptionId: null,
  };
}
