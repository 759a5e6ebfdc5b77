/**
 * @module Pure ledger rules: how each kind of transfer changes the monthly totals of the accounts it
 * touches, and when an auto-allocation rule fires. No I/O.
 */
/** What a transfer is: how credit entered the company, moved to a recipient, or paid for a feature. */
export type TransferKind = "purchase" | "allocate" | "reclaim" | "auto-allocate" | "subscription" | "number";

/** The monthly-total columns an entry can add to. */
export interface MonthDelta {
  purchased_minor: number;
  allocated_minor: number;
  auto_allocated_minor: number;
  reclaimed_minor: number;
  features_minor: number;
  usage_minor: number;
  net_minor: number;
}

export const ZERO_DELTA: Readonly<MonthDelta> = Object.freeze({
  purchased_minor: 0,
  allocated_minor: 0,
  auto_allocated_minor: 0,
  reclaimed_minor: 0,
  features_minor: 0,
  usage_minor: 0,
  net_minor: 0,
});

const delta = (d: Partial<MonthDelta>): MonthDelta => ({ ...ZERO_DELTA, ...d });

/**
 * The monthly deltas of a transfer for its debit account, its credit account and (when it is for a
 * member or SIP profile that is neither) its recipient. Feature purchases are paid by the company into
 * the features sink, and are counted as the recipient's `features_minor` without changing its balance.
 */
export function transferMonthDeltas(
  kind: TransferKind,
  amountMinor: number,
): { debit: MonthDelta; credit: MonthDelta; recipient: MonthDelta | null } {
  const a = amountMinor;
  switch (kind) {
    case "purchase":
      return {
        debit: delta({ net_minor: -a }),
        credit: delta({ purchased_minor: a, net_minor: a }),
        recipient: null,
      };
    case "allocate":
      return {
        debit: delta({ allocated_minor: a, net_minor: -a }),
        credit: delta({ allocated_minor: a, net_minor: a }),
        recipient: null,
      };
    case "auto-allocate":
      return {
        debit: delta({ allocated_minor: a, auto_allocated_minor: a, net_minor: -a }),
        credit: delta({ allocated_minor: a, auto_allocated_minor: a, net_minor: a }),
        recipient: null,
      };
    case "reclaim":
      return {
        debit: delta({ reclaimed_minor: a, net_minor: -a }),
        credit: delta({ reclaimed_minor: a, net_minor: a }),
        recipient: null,
      };
    case "subscription":
    case "number":
      return {
        debit: delta({ features_minor: a, net_minor: -a }),
        credit: delta({ net_minor: a }),
        recipient: delta({ features_minor: a }),
      };
  }
}

/** Sums deltas into `into` (mutating it): used to aggregate a batch before one upsert per account-month. */
export function addDelta(into: MonthDelta, d: Readonly<MonthDelta>): MonthDelta {
  into.purchased_minor += d.purchased_minor;
  into.allocated_minor += d.allocated_minor;
  into.auto_allocated_minor += d.auto_allocated_minor;
  into.reclaimed_minor += d.reclaimed_minor;
  into.features_minor += d.features_minor;
  into.usage_minor += d.usage_minor;
  into.net_minor += d.net_minor;
  return into;
}

export interface AutoRule {
  thresholdMinor: number;
  amountMinor: number;
  monthlyCapMinor: number;
}

export type AutoAllocationDecision =
  | { kind: "none" }
  | { kind: "allocate"; amountMinor: number }
  | { kind: "skip"; reason: "monthly_cap" | "company_balance" };

/**
 * PRODUCT.md §2: after a usage charge > 0 that leaves the balance strictly below the threshold, one
 * allocation of the rule's amount — unless it would take this month's auto-allocations above the cap,
 * or the company balance is short.
 */
export function decideAutoAllocation(input: {
  rule: AutoRule;
  chargeMinor: number;
  balanceAfterMinor: number;
  autoAllocatedThisMonthMinor: number;
  companyBalanceMinor: number;
}): AutoAllocationDecision {
  const { rule } = input;
  if (input.chargeMinor <= 0 || input.balanceAfterMinor >= rule.thresholdMinor) return { kind: "none" };
  if (input.autoAllocatedThisMonthMinor + rule.amountMinor > rule.monthlyCapMinor)
    return { kind: "skip", reason: "monthly_cap" };
  if (input.companyBalanceMinor < rule.amountMinor) return { kind: "skip", reason: "company_balance" };
  return { kind: "allocate", amountMinor: rule.amountMinor };
}
