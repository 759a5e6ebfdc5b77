/**
 * @module The reports screens' pure logic (no React, no DOM): report and column contract as the API gives
 * it, sorting, the month list and Previous/Next, filters in the URL, the "where credit went" figures, the
 * Download Reports selection, and the file name of a download. Tested in test/web-reports.test.ts.
 */
import { shiftMonth } from "../format";

export type ReportName = "summary" | "purchases" | "allocations" | "usage";
export type Feature = "credit" | "subscription" | "number";
export const FEATURES: readonly Feature[] = ["credit", "subscription", "number"];

export type Cell = string | number | null;
export type ReportRow = Record<string, Cell>;

/** A report as GET /api/v1/reports/{report}?format=json returns it (PRODUCT.md §4). */
export interface ReportDoc {
  report: ReportName;
  company_id: number;
  month: string;
  currency: string;
  feature?: Feature;
  subject?: { type: "member" | "sip_profile"; name: string; username: string | null };
  filter: Record<string, string>;
  totals: Record<string, string | number>;
  rows: ReportRow[];
}

/** amount/rate: decimal strings; date: ISO 8601 with offset; int: whole numbers; code: a word of a fixed set. */
export type ColumnKind = "text" | "phone" | "amount" | "rate" | "date" | "int" | "code" | "groups";

export interface Column {
  key: string;
  kind: ColumnKind;
}

const c = (key: string, kind: ColumnKind): Column => ({ key, kind });

/** The columns of each report, in the API's (and CSV's) order. */
export const COLUMNS: Readonly<Record<ReportName, readonly Column[]>> = {
  summary: [
    c("recipient_type", "code"),
    c("recipient", "text"),
    c("username", "text"),
    c("groups", "groups"),
    c("credit_allocated", "amount"),
    c("credit_reclaimed", "amount"),
    c("features_cost", "amount"),
    c("usage_charged", "amount"),
    c("closing_balance", "amount"),
    c("currency", "code"),
  ],
  purchases: [
    c("date", "date"),
    c("reference", "text"),
    c("payment_method", "code"),
    c("status", "code"),
    c("amount", "amount"),
    c("vat", "amount"),
    c("total", "amount"),
    c("currency", "code"),
    c("purchased_by", "text"),
  ],
  allocations: [
    c("date", "date"),
    c("feature", "code"),
    c("action", "code"),
    c("recipient_type", "code"),
    c("recipient", "text"),
    c("username", "text"),
    c("groups", "groups"),
    c("detail", "text"),
    c("amount", "amount"),
    c("currency", "code"),
    c("allocated_by", "text"),
  ],
  usage: [
    c("started_at", "date"),
    c("kind", "code"),
    c("destination", "phone"),
    c("destination_name", "text"),
    c("duration_s", "int"),
    c("billed_s", "int"),
    c("rate_per_minute", "rate"),
    c("charge", "amount"),
    c("currency", "code"),
    c("status", "code"),
    c("covered_by", "text"),
    c("external_id", "text"),
  ],
};

/** The totals of each report, in the order they are shown; amounts are decimal strings, the rest counts. */
export const TOTALS: Readonly<Record<ReportName, readonly { key: string; kind: "amount" | "int" }[]>> = {
  summary: [
    { key: "opening_company_balance", kind: "amount" },
    { key: "purchased", kind: "amount" },
    { key: "allocated_credit", kind: "amount" },
    { key: "reclaimed_credit", kind: "amount" },
    { key: "features_cost", kind: "amount" },
    { key: "usage_charged", kind: "amount" },
    { key: "closing_company_balance", kind: "amount" },
  ],
  purchases: [
    { key: "count", kind: "int" },
    { key: "completed_amount", kind: "amount" },
    { key: "completed_vat", kind: "amount" },
    { key: "completed_total", kind: "amount" },
  ],
  allocations: [
    { key: "count", kind: "int" },
    { key: "allocated", kind: "amount" },
    { key: "reclaimed", kind: "amount" },
    { key: "auto_allocated", kind: "amount" },
  ],
  usage: [
    { key: "calls", kind: "int" },
    { key: "sms", kind: "int" },
    { key: "billed_seconds", kind: "int" },
    { key: "charged", kind: "amount" },
  ],
};

const NUMERIC: ReadonlySet<ColumnKind> = new Set(["amount", "rate", "int"]);
export const isNumeric = (kind: ColumnKind): boolean => NUMERIC.has(kind);

/**
 * Orders two cells of a column: numbers (and decimal strings) by value, dates by instant, text
 * alphabetically for people (accents, case, digits inside names); empty cells last.
 */
export function compareCells(a: Cell | undefined, b: Cell | undefined, kind: ColumnKind): number {
  const aEmpty = a === null || a === undefined || a === "";
  const bEmpty = b === null || b === undefined || b === "";
  if (aEmpty || bEmpty) return aEmpty === bEmpty ? 0 : aEmpty ? 1 : -1;
  if (isNumeric(kind)) return compareDecimals(String(a), String(b));
  if (kind === "date") return Date.parse(String(a)) - Date.parse(String(b));
  return COLLATOR.compare(String(a), String(b));
}

const COLLATOR = new Intl.Collator(undefined, { numeric: true, sensitivity: "base" });

/** Compares decimal strings ("-12.50", "3", "1234.5678") exactly, without floats. */
export function compareDecimals(a: string, b: string): number {
  const [an, ad] = splitDecimal(a);
  const [bn, bd] = splitDecimal(b);
  const scale = Math.max(ad.length, bd.length);
  const av = BigInt(an + ad.padEnd(scale, "0"));
  const bv = BigInt(bn + bd.padEnd(scale, "0"));
  return av < bv ? -1 : av > bv ? 1 : 0;
}

function splitDecimal(text: string): [string, string] {
  const m = /^(-?)(\d*)(?:\.(\d*))?$/.exec(text.trim());
  if (!m) return ["0", ""];
  return [`${m[1] ?? ""}${m[2] || "0"}`, m[3] ?? ""];
}

/** A decimal string in minor units of a currency with `decimals` places ("12.3" → 1230 for 2). */
export function toMinor(amount: string | number | null | undefined, decimals = 2): number {
  if (amount === null || amount === undefined || amount === "") return 0;
  const [whole, frac] = splitDecimal(String(amount));
  const negative = whole.startsWith("-");
  const digits = (negative ? whole.slice(1) : whole) + frac.padEnd(decimals, "0").slice(0, decimals);
  const n = Number(digits);
  return negative ? -n : n;
}

/** Minor units back to a decimal string with `decimals` places (1230 → "12.30"). */
export function fromMinor(minor: number, decimals = 2): string {
  const negative = minor < 0;
  const digits = String(Math.abs(minor)).padStart(decimals + 1, "0");
  const text = decimals === 0 ? digits : `${digits.slice(0, -decimals)}.${digits.slice(-decimals)}`;
  return negative ? `-${text}` : text;
}

// ---------------------------------------------------------------------------------------------- months

/** Previous (older) and next (newer) month within the list of months that can be asked for. */
export function monthNeighbours(
  months: readonly string[],
  month: string,
): { previous: string | null; next: string | null } {
  const set = new Set(months);
  const previous = shiftMonth(month, -1);
  const next = shiftMonth(month, 1);
  return { previous: set.has(previous) ? previous : null, next: set.has(next) ? next : null };
}

/** The months of the drop-down, newest first; a month from the URL that is not in the list is kept. */
export function monthOptions(months: readonly string[], month: string): string[] {
  const all = new Set(months);
  if (isMonth(month)) all.add(month);
  return [...all].sort().reverse();
}

export const isMonth = (text: string | null | undefined): text is string =>
  typeof text === "string" && /^\d{4}-(0[1-9]|1[0-2])$/.test(text);

/** The `count` months ending with `month`, oldest first ("2026-11", 3 → ["2026-09", "2026-10", "2026-11"]). */
export function lastMonths(month: string, count: number): string[] {
  const out: string[] = [];
  for (let i = count - 1; i >= 0; i--) out.push(shiftMonth(month, -i));
  return out;
}

// ---------------------------------------------------------------------------------------------- filters

export type FilterKey = "group" | "status" | "payment_method" | "recipient" | "action" | "kind" | "prefix";

/** Which filters each report takes (PRODUCT.md §4), in the order the drop-down offers them. */
export const REPORT_FILTERS: Readonly<Record<ReportName, readonly FilterKey[]>> = {
  summary: ["group"],
  purchases: ["status", "payment_method"],
  allocations: ["group", "action", "recipient"],
  usage: ["kind", "prefix"],
};

export const ALL_FILTER_KEYS: readonly FilterKey[] = [
  "group",
  "status",
  "payment_method",
  "recipient",
  "action",
  "kind",
  "prefix",
];

/** Filters whose values are a fixed list; `group` comes from the company's groups, the rest are typed. */
export const FILTER_VALUES: Readonly<Partial<Record<FilterKey, readonly string[]>>> = {
  status: ["completed", "pending", "failed"],
  payment_method: ["card", "bank_transfer", "invoice", "voucher"],
  action: ["allocate", "reclaim", "auto-allocate"],
  kind: ["call", "sms"],
};

/** The report's filter as the URL has it (only the keys this report takes, non-empty). */
export function filterFromParams(
  report: ReportName,
  params: { get(key: string): string | null },
): Partial<Record<FilterKey, string>> {
  const out: Partial<Record<FilterKey, string>> = {};
  for (const key of REPORT_FILTERS[report]) {
    const v = params.get(key);
    if (v !== null && v !== "") out[key] = v;
  }
  return out;
}

export const PREFIX_PATTERN = /^\d{1,15}$/;

/** The query string of a report request: month, feature/subject, then the filter, format json. */
export function reportQuery(opts: {
  month: string;
  feature?: Feature | undefined;
  subject?: string | undefined;
  filter?: Partial<Record<FilterKey, string>>;
}): string {
  const q = new URLSearchParams({ month: opts.month, format: "json" });
  if (opts.feature) q.set("feature", opts.feature);
  if (opts.subject) q.set("subject", opts.subject);
  for (const [k, v] of Object.entries(opts.filter ?? {})) if (v) q.set(k, v);
  return q.toString();
}

// ---------------------------------------------------------------------------------------------- charts

export interface Slice {
  label: string;
  /** Minor units. */
  value: number;
}

/**
 * Where credit went in a month: per member and SIP profile, usage charged plus features' cost, the `top`
 * largest (ties by name), the rest summed as one "Others" slice; recipients who spent nothing are left out.
 */
export function creditSpent(rows: readonly ReportRow[], top: number, othersLabel: string): Slice[] {
  const spent = rows
    .map((r) => ({
      label: String(r["recipient"] ?? ""),
      value: toMinor(r["usage_charged"]) + toMinor(r["features_cost"]),
    }))
    .filter((s) => s.value > 0)
    .sort((a, b) => b.value - a.value || COLLATOR.compare(a.label, b.label));
  if (spent.length <= top) return spent;
  const others = spent.slice(top).reduce((sum, s) => sum + s.value, 0);
  return [...spent.slice(0, top), { label: othersLabel, value: others }];
}

// ---------------------------------------------------------------------------------------------- downloads

/** The files Download Reports offers, as the server's `reports=` names them. */
export const DOWNLOAD_ITEMS = [
  "summary",
  "purchases",
  "allocations:credit",
  "allocations:subscription",
  "allocations:number",
] as const;
export type DownloadItem = (typeof DOWNLOAD_ITEMS)[number];
export const DOWNLOAD_FORMATS = ["csv", "pdf", "xlsx"] as const;
export type DownloadFormat = (typeof DOWNLOAD_FORMATS)[number];

/** The query of GET /api/v1/downloads; the ticked items in the offered order. */
export function downloadQuery(month: string, format: DownloadFormat, ticked: ReadonlySet<string>): string {
  const reports = DOWNLOAD_ITEMS.filter((i) => ticked.has(i)).join(",");
  return new URLSearchParams({ month, format, reports }).toString();
}

/** The file name of a Content-Disposition header (`filename*=UTF-8''…` or `filename="…"`), or the fallback. */
export function fileNameFromDisposition(header: string | null, fallback: string): string {
  if (!header) return fallback;
  const star = /filename\*\s*=\s*(?:UTF-8|utf-8)''([^;]+)/.exec(header);
  if (star?.[1]) {
    try {
      return sanitizeFileName(decodeURIComponent(star[1].trim())) || fallback;
    } catch {
      // Not valid percent-encoding: fall back to the plain name.
    }
  }
  const plain = /filename\s*=\s*(?:"([^"]*)"|([^;\s]+))/.exec(header);
  const name = plain?.[1] ?? plain?.[2];
  return name ? sanitizeFileName(name) || fallback : fallback;
}

const sanitizeFileName = (name: string): string => name.replace(/[/\\]/g, "_").trim();

/** A username or a SIP profile as the API's `subject` names it. */
export const sipSubject = (name: string): string => `sip:${name}`;
export const isSipSubject = (subject: string): boolean => subject.startsWith("sip:");

/** How many decimals the currency's amounts have (EUR 2, JPY 0). */
export function currencyDecimals(currency: string): number {
  try {
    return (
      new Intl.NumberFormat("en", { style: "currency", currency }).resolvedOptions().maximumFractionDigits ??
      2
    );
  } catch {
    return 2;
  }
}
