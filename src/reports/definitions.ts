/**
 * @module The four reports' contract (PRODUCT.md §4): names, columns in order, what kind of value each
 * column holds, and which filters each report takes. Pure data; renderers and queries follow it.
 */
export type ReportName = "summary" | "purchases" | "allocations" | "usage";
export const REPORT_NAMES: readonly ReportName[] = ["summary", "purchases", "allocations", "usage"];

/**
 * text: free text, protected against formula injection in spreadsheets; phone: a validated +digits
 * number written as it is; amount/rate: decimal strings; date: local ISO 8601; int: a whole number;
 * code: one of a fixed set of words.
 */
export type ColumnKind = "text" | "phone" | "amount" | "rate" | "date" | "int" | "code";

export interface ColumnSpec {
  readonly key: string;
  readonly kind: ColumnKind;
}

const col = (key: string, kind: ColumnKind): ColumnSpec => ({ key, kind });

export const REPORT_COLUMNS: Readonly<Record<ReportName, readonly ColumnSpec[]>> = {
  summary: [
    col("recipient_type", "code"),
    col("recipient", "text"),
    col("username", "text"),
    col("groups", "text"),
    col("credit_allocated", "amount"),
    col("credit_reclaimed", "amount"),
    col("features_cost", "amount"),
    col("usage_charged", "amount"),
    col("closing_balance", "amount"),
    col("currency", "code"),
  ],
  purchases: [
    col("date", "date"),
    col("reference", "text"),
    col("payment_method", "code"),
    col("status", "code"),
    col("amount", "amount"),
    col("vat", "amount"),
    col("total", "amount"),
    col("currency", "code"),
    col("purchased_by", "text"),
  ],
  allocations: [
    col("date", "date"),
    col("feature", "code"),
    col("action", "code"),
    col("recipient_type", "code"),
    col("recipient", "text"),
    col("username", "text"),
    col("groups", "text"),
    // A plan's name (free text) or a phone number: cells that are validated numbers are written as they are.
    col("detail", "text"),
    col("amount", "amount"),
    col("currency", "code"),
    col("allocated_by", "text"),
  ],
  usage: [
    col("started_at", "date"),
    col("kind", "code"),
    col("destination", "phone"),
    col("destination_name", "text"),
    col("duration_s", "int"),
    col("billed_s", "int"),
    col("rate_per_minute", "rate"),
    col("charge", "amount"),
    col("currency", "code"),
    col("status", "code"),
    col("covered_by", "text"),
    col("external_id", "text"),
  ],
};

export const REPORT_TITLES: Readonly<Record<ReportName, string>> = {
  summary: "Summary",
  purchases: "Purchases",
  allocations: "Allocations",
  usage: "Usage",
};

/** A report row: the CSV's columns as keys; amounts as decimal strings, null where the CSV cell is empty. */
export type ReportRow = Record<string, string | number | null>;

export const FILTER_KEYS: Readonly<Record<ReportName, readonly string[]>> = {
  summary: ["group"],
  purchases: ["status", "payment_method"],
  allocations: ["group", "recipient", "action"],
  usage: ["kind", "prefix"],
};

export const FEATURES = ["credit", "subscription", "number"] as const;
export type FeatureName = (typeof FEATURES)[number];
