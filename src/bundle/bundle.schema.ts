/** @module Bundle schema: the shape of a `switchboard-bundle/1` import document (PRODUCT.md §8); semantics are the importer's. */
import { z } from "zod";

/** The only format this schema reads. */
export const BUNDLE_FORMAT = "switchboard-bundle/1";

// Limits on everything. The counts bound memory before the importer sees the data; the
// lengths are generous for real data and small enough that no field can hide a megabyte.
export const BUNDLE_EVENTS_MAX = 5_000_000;
export const BUNDLE_ADMINS_MAX = 1_000;
export const BUNDLE_GROUPS_MAX = 10_000;
export const BUNDLE_MEMBERS_MAX = 100_000;
export const BUNDLE_SIP_PROFILES_MAX = 10_000;
export const BUNDLE_RATES_MAX = 100_000;
export const BUNDLE_PLANS_MAX = 1_000;
export const BUNDLE_PLAN_PREFIXES_MAX = 1_000;
export const BUNDLE_MEMBER_GROUPS_MAX = 100;
const NAME_CHARS_MAX = 200;
const EMAIL_CHARS_MAX = 254;
const KEY_CHARS_MAX = 64;
const USERNAME_CHARS_MAX = 100;
const PASSWORD_CHARS_MAX = 1_024;
const TIMESTAMP_CHARS_MAX = 64;
const TIMEZONE_CHARS_MAX = 64;
const REFERENCE_CHARS_MAX = 100;
const DESTINATION_CHARS_MAX = 64;
const EXTERNAL_ID_CHARS_MAX = 200;
const AMOUNT_CHARS_MAX = 32;
const PREFIX_DIGITS_MAX = 15;
const CHANNELS_MAX = 100_000;
const PLAN_MINUTES_MAX = 10_000_000;
const NUMBER_MONTHS_MAX = 120;
const CALL_DURATION_S_MAX = 7 * 24 * 3600;
const SMS_SEGMENTS_MAX = 255;

/**
 * The one place that words a refused value. Zod hands error maps the raw issue, which still
 * carries the input (finalized issues drop it), so this is where "required" can be told
 * apart from "wrong type" and where an unknown event type can be quoted.
 */
function explain(issue: z.core.$ZodRawIssue): string | undefined {
  if (issue.input === undefined && (issue.code === "invalid_type" || issue.code === "invalid_value")) {
    return "required";
  }
  switch (issue.code) {
    case "invalid_type":
      return `must be ${EXPECTED_WORDS[issue.expected] ?? `of type ${issue.expected}`}`;
    case "too_small":
      if (issue.origin === "string") return issue.minimum === 1 ? "must not be empty" : undefined;
      if (issue.origin === "array") return `must have at least ${plural(issue.minimum, "item")}`;
      return `must be at least ${String(issue.minimum)}`;
    case "too_big":
      if (issue.origin === "string") return `must be at most ${plural(issue.maximum, "character")}`;
      if (issue.origin === "array") return `must have at most ${plural(issue.maximum, "item")}`;
      return `must be at most ${String(issue.maximum)}`;
    case "invalid_value":
      return issue.values.length === 1
        ? `must be ${quote(issue.values[0])}`
        : `must be one of ${issue.values.map(quote).join(", ")}`;
    case "unrecognized_keys":
      // describeZodError points the path at the first key; the others are named here.
      return issue.keys.length === 1
        ? "unknown key"
        : `unknown key (also unknown: ${issue.keys.slice(1).map(quote).join(", ")})`;
    default:
      return undefined;
  }
}

const EXPECTED_WORDS: Readonly<Record<string, string>> = {
  string: "a string",
  number: "a number",
  int: "an integer",
  boolean: "true or false",
  array: "an array",
  object: "an object",
};

const plural = (n: number | bigint, noun: string): string => `${String(n)} ${noun}${n === 1 ? "" : "s"}`;
const quote = (value: unknown): string => (typeof value === "string" ? JSON.stringify(value) : String(value));

/** Error map for a discriminated union: a missing tag is "required", an unknown one is quoted. */
function unknownTag(what: string) {
  return (issue: z.core.$ZodRawIssue): string | undefined => {
    if (issue.code !== "invalid_union") return explain(issue);
    const tag = issue.discriminator;
    const input = issue.input;
    const value = typeof tag === "string" && isRecord(input) ? input[tag] : undefined;
    return value === undefined ? "required" : `unknown ${what} ${quote(value)}`;
  };
}

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === "object" && value !== null && !Array.isArray(value);

const E = { error: explain };

const object = <Shape extends z.core.$ZodLooseShape>(shape: Shape) => z.strictObject(shape, E);
/** PostgreSQL cannot store U+0000 in text, and no field has a use for it: refused on both databases alike. */
const noNul = (value: string): boolean => !value.includes("\u0000");
const NO_NUL_MESSAGE = "must not contain the NUL character (U+0000)";
const text = (charsMax: number) => z.string(E).min(1, E).max(charsMax, E).refine(noNul, NO_NUL_MESSAGE);
const list = <T extends z.ZodType>(item: T, itemsMax: number) => z.array(item, E).max(itemsMax, E);
const int = (min: number, max: number) => z.int(E).min(min, E).max(max, E);
const bool = () => z.boolean(E);
const oneOf = <const T extends readonly [string, ...string[]]>(values: T) => z.enum(values, E);
const pattern = (charsMax: number, regex: RegExp, message: string) =>
  z.string(E).max(charsMax, E).refine(noNul, NO_NUL_MESSAGE).regex(regex, message);

/** An amount, a price or a rate in major units; how many decimals the currency allows is the importer's check. */
const decimal = () => pattern(AMOUNT_CHARS_MAX, /^\d+(\.\d+)?$/, 'must be a decimal string like "12.50"');
/** When something happened: an ISO 8601 string with an offset, parsed by the importer. */
const timestamp = () => text(TIMESTAMP_CHARS_MAX);
const email = () =>
  pattern(EMAIL_CHARS_MAX, /^[^\s@]+@[^\s@]+$/, 'must be an email address like "ana@acme.example"');
// Keys cannot contain ":" so that `sip:` + key can never be mistaken for a member key.
const key = () =>
  pattern(KEY_CHARS_MAX, /^[A-Za-z0-9_.-]+$/, "must be a key of letters, digits, '.', '_' or '-'");
const subject = () =>
  pattern(
    KEY_CHARS_MAX + "sip:".length,
    /^(sip:)?[A-Za-z0-9_.-]+$/,
    'must be a member key or "sip:" followed by a SIP profile key',
  );
const prefix = () => pattern(PREFIX_DIGITS_MAX, /^\d+$/, 'must be a destination prefix of digits like "44"');

const CompanySchema = object({
  name: text(NAME_CHARS_MAX),
  currency: pattern(3, /^[A-Z]{3}$/, 'must be an ISO 4217 currency code like "EUR"'),
  timezone: text(TIMEZONE_CHARS_MAX),
});

const AdminSchema = object({
  email: email(),
  name: text(NAME_CHARS_MAX),
  role: oneOf(["owner", "admin", "viewer"]),
  /** Plain text, hashed on import. Without it the admin cannot sign in until one is set. */
  password: text(PASSWORD_CHARS_MAX).optional(),
  privacy_acknowledged_at: timestamp().optional(),
});

const GroupSchema = object({ key: key(), name: text(NAME_CHARS_MAX) });

const MemberSchema = object({
  key: key(),
  name: text(NAME_CHARS_MAX),
  username: pattern(
    USERNAME_CHARS_MAX,
    /^[A-Za-z0-9][A-Za-z0-9_.-]*$/,
    "must be a username of letters, digits, '.', '_' or '-' that starts with a letter or digit",
  ),
  email: email(),
  account_type: oneOf(["business", "personal"]),
  groups: list(key(), BUNDLE_MEMBER_GROUPS_MAX).default([]),
  /** Whether a personal member lets admins see their usage (§6). */
  reports_consent: bool().default(false),
});

const SipProfileSchema = object({
  key: key(),
  name: text(NAME_CHARS_MAX),
  channels: int(1, CHANNELS_MAX),
});

const RateSchema = object({
  prefix: prefix(),
  name: text(NAME_CHARS_MAX),
  per_minute: decimal(),
  connection_fee: decimal(),
  interval: pattern(
    16,
    /^[1-9]\d{0,5}\/[1-9]\d{0,5}$/,
    'must be a billing interval like "60/60" (first period / next periods, in seconds)',
  ).default("60/60"),
  /** Price of one SMS segment; without it, SMS to this prefix cannot be rated. */
  sms: decimal().optional(),
});

const PlanSchema = object({
  key: key(),
  name: text(NAME_CHARS_MAX),
  price: decimal(),
  prefixes: list(prefix(), BUNDLE_PLAN_PREFIXES_MAX).min(1, E),
  minutes: int(0, PLAN_MINUTES_MAX),
});

export const PurchaseEventSchema = object({
  at: timestamp(),
  type: z.literal("purchase", E),
  by: email(),
  reference: text(REFERENCE_CHARS_MAX),
  amount: decimal(),
  vat_rate: decimal().default("0"),
  payment_method: oneOf(["card", "bank_transfer", "invoice", "voucher"]),
  status: oneOf(["completed", "pending", "failed"]),
});

export const AllocateCreditEventSchema = object({
  at: timestamp(),
  type: z.literal("allocate_credit", E),
  by: email(),
  to: subject(),
  amount: decimal(),
});

export const AllocateSubscriptionEventSchema = object({
  at: timestamp(),
  type: z.literal("allocate_subscription", E),
  by: email(),
  to: subject(),
  plan: key(),
});

export const AllocateNumberEventSchema = object({
  at: timestamp(),
  type: z.literal("allocate_number", E),
  by: email(),
  to: subject(),
  number: pattern(
    16,
    /^\+\d{8,15}$/,
    'must be a phone number of "+" and 8 to 15 digits like "+442079460000"',
  ),
  months: int(1, NUMBER_MONTHS_MAX),
  /** The price of the whole term, paid from the company balance at allocation. */
  price: decimal(),
});

export const AutoAllocateRuleEventSchema = object({
  at: timestamp(),
  type: z.literal("auto_allocate_rule", E),
  by: email(),
  to: subject(),
  threshold: decimal(),
  amount: decimal(),
  monthly_cap: decimal(),
});

const usageBase = {
  at: timestamp(),
  type: z.literal("usage", E),
  subject: subject(),
  destination: text(DESTINATION_CHARS_MAX),
  external_id: text(EXTERNAL_ID_CHARS_MAX),
};

export const CallUsageEventSchema = object({
  ...usageBase,
  kind: z.literal("call", E),
  duration_s: int(0, CALL_DURATION_S_MAX),
});

export const SmsUsageEventSchema = object({
  ...usageBase,
  kind: z.literal("sms", E),
  segments: int(1, SMS_SEGMENTS_MAX).default(1),
});

export const UsageEventSchema = z.discriminatedUnion("kind", [CallUsageEventSchema, SmsUsageEventSchema], {
  error: unknownTag("usage kind"),
});

export const ReclaimCreditEventSchema = object({
  at: timestamp(),
  type: z.literal("reclaim_credit", E),
  by: email(),
  from: subject(),
  amount: decimal(),
});

export const SettlePurchaseEventSchema = object({
  at: timestamp(),
  type: z.literal("settle_purchase", E),
  reference: text(REFERENCE_CHARS_MAX),
  status: oneOf(["completed", "failed"]),
});

export const ConsentEventSchema = object({
  at: timestamp(),
  type: z.literal("consent", E),
  member: key(),
  granted: bool(),
});

export const BundleEventSchema = z.discriminatedUnion(
  "type",
  [
    PurchaseEventSchema,
    AllocateCreditEventSchema,
    AllocateSubscriptionEventSchema,
    AllocateNumberEventSchema,
    AutoAllocateRuleEventSchema,
    UsageEventSchema,
    ReclaimCreditEventSchema,
    SettlePurchaseEventSchema,
    ConsentEventSchema,
  ],
  { error: unknownTag("event type") },
);

/** The whole import document. Collections other than `admins` may be left out (they default to `[]`). */
export const BundleSchema = object({
  format: z.literal(BUNDLE_FORMAT, E),
  company: CompanySchema,
  admins: list(AdminSchema, BUNDLE_ADMINS_MAX).min(1, E),
  groups: list(GroupSchema, BUNDLE_GROUPS_MAX).default([]),
  members: list(MemberSchema, BUNDLE_MEMBERS_MAX).default([]),
  sip_profiles: list(SipProfileSchema, BUNDLE_SIP_PROFILES_MAX).default([]),
  rates: list(RateSchema, BUNDLE_RATES_MAX).default([]),
  plans: list(PlanSchema, BUNDLE_PLANS_MAX).default([]),
  events: list(BundleEventSchema, BUNDLE_EVENTS_MAX).default([]),
});

export type Bundle = z.infer<typeof BundleSchema>;
export type BundleCompany = z.infer<typeof CompanySchema>;
export type BundleAdmin = z.infer<typeof AdminSchema>;
export type BundleGroup = z.infer<typeof GroupSchema>;
export type BundleMember = z.infer<typeof MemberSchema>;
export type BundleSipProfile = z.infer<typeof SipProfileSchema>;
export type BundleRate = z.infer<typeof RateSchema>;
export type BundlePlan = z.infer<typeof PlanSchema>;

export type BundleEvent = z.infer<typeof BundleEventSchema>;
export type BundleEventType = BundleEvent["type"];
export type PurchaseEvent = z.infer<typeof PurchaseEventSchema>;
export type AllocateCreditEvent = z.infer<typeof AllocateCreditEventSchema>;
export type AllocateSubscriptionEvent = z.infer<typeof AllocateSubscriptionEventSchema>;
export type AllocateNumberEvent = z.infer<typeof AllocateNumberEventSchema>;
export type AutoAllocateRuleEvent = z.infer<typeof AutoAllocateRuleEventSchema>;
export type UsageEvent = z.infer<typeof UsageEventSchema>;
export type CallUsageEvent = z.infer<typeof CallUsageEventSchema>;
export type SmsUsageEvent = z.infer<typeof SmsUsageEventSchema>;
export type ReclaimCreditEvent = z.infer<typeof ReclaimCreditEventSchema>;
export type SettlePurchaseEvent = z.infer<typeof SettlePurchaseEventSchema>;
export type ConsentEvent = z.infer<typeof ConsentEventSchema>;

/** A zod path as the user reads it, 0-based: `["events", 12, "amount"]` → `events[12].amount`. */
export function formatZodPath(path: readonly PropertyKey[]): string {
  let out = "";
  for (const segment of path) {
    if (typeof segment === "number") out += `[${segment}]`;
    else if (typeof segment === "symbol") out += `[${segment.toString()}]`;
    else if (/^[A-Za-z_$][\w$]*$/.test(segment)) out += out === "" ? segment : `.${segment}`;
    else out += `[${JSON.stringify(segment)}]`;
  }
  return out;
}

/**
 * The first problem of a failed parse, as a path and one sentence
 * (`{ path: "events[3].type", message: 'unknown event type "allocate"' }`).
 * The path is `""` when the document itself is wrong (not an object).
 */
export function describeZodError(error: z.ZodError): { path: string; message: string } {
  const issue = error.issues[0];
  if (issue === undefined) return { path: "", message: "invalid bundle" };
  if (issue.code === "unrecognized_keys" && issue.keys[0] !== undefined) {
    return { path: formatZodPath([...issue.path, issue.keys[0]]), message: issue.message };
  }
  return { path: formatZodPath(issue.path), message: issue.message };
}
