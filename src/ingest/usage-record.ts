/**
 * @module One raw usage record as the telephony side sends it (PRODUCT.md §9) — a CSV row, an NDJSON line
 * or an HTTP API item — validated into a `UsageInput` for `ingestUsage`. Knows nothing of files.
 */
import { z } from "zod";
import { normalizeDestination } from "../phone/e164";
import { SIP_PREFIX } from "../services/people.service";
import type { Subject } from "../services/people.service";
import type { UsageInput } from "../services/usage.service";
import { err, ok } from "../shared/result";
import type { Result } from "../shared/result";
import { parseInstantFast } from "./instant";

/** The keys of a usage record, in the order of the CSV header the contract fixes. */
export const USAGE_RECORD_KEYS = [
  "external_id",
  "subject",
  "kind",
  "started_at",
  "destination",
  "duration_s",
  "segments",
] as const;
export type UsageRecordKey = (typeof USAGE_RECORD_KEYS)[number];

export const EXTERNAL_ID_CHARS_MAX = 200;
/** A username (≤ 100) or "sip:" + a SIP profile name (≤ 200), with room to spare. */
export const SUBJECT_CHARS_MAX = 256;
/** Two days: longer "calls" are a switch's stuck channel, not a conversation to charge. */
export const CALL_DURATION_S_MAX = 2 * 86_400;
export const SMS_SEGMENTS_MAX = 100;
/** Longer texts are not dates or phone numbers; the parsers refuse them, this only bounds the work. */
const TEXT_CHARS_MAX = 256;

/** A refused record: which key is wrong ("" when the record itself is), and why, in words for a person. */
export interface RecordRefusal {
  field: string;
  reason: string;
}

const quote = (value: unknown): string => (typeof value === "string" ? JSON.stringify(value) : String(value));

/** The one place that words a refused value (zod hands error maps the raw issue, input included). */
function explain(issue: z.core.$ZodRawIssue): string | undefined {
  if (issue.input === undefined && (issue.code === "invalid_type" || issue.code === "invalid_value"))
    return "required";
  switch (issue.code) {
    case "invalid_type":
      return issue.expected === "int" || issue.expected === "number"
        ? "must be a whole number"
        : "must be text";
    case "too_small":
      if (issue.origin === "string") return "must not be empty";
      return `must be at least ${String(issue.minimum)}`;
    case "too_big":
      if (issue.origin === "string") return `must be at most ${String(issue.maximum)} characters`;
      return `must be at most ${String(issue.maximum)}`;
    default:
      return undefined;
  }
}
const E = { error: explain };

/**
 * CSV gives every cell as text and NDJSON may too: a number written as text ("125", "-1", "1.5") is read
 * as the number it says, so that the range and whole-number checks word the refusal. null and "" are absent.
 */
const NUMBER_TEXT = /^-?\d{1,15}(\.\d{1,15})?$/;
function numberCell(value: unknown): unknown {
  if (value === null || value === "") return undefined;
  if (typeof value === "string" && NUMBER_TEXT.test(value)) return Number(value);
  return value;
}

const text = (charsMax: number) => z.string(E).min(1, E).max(charsMax, E);

/** A value that passes through a Result-returning parser; its refusal reason becomes the issue's message. */
const parsedText = <T>(parse: (text: string) => Result<T, string>) =>
  z
    .string(E)
    .max(TEXT_CHARS_MAX, E)
    .transform((value, ctx) => {
      const parsed = parse(value);
      if (parsed.ok) return parsed.value;
      ctx.issues.push({ code: "custom", message: parsed.error, input: value });
      return z.NEVER;
    });

const count = (min: number, max: number) => z.int(E).min(min, E).max(max, E);
const absent = (message: string) => z.preprocess(numberCell, z.undefined({ error: message }));

const common = {
  external_id: text(EXTERNAL_ID_CHARS_MAX),
  subject: text(SUBJECT_CHARS_MAX),
  started_at: parsedText(parseInstantFast),
  destination: parsedText(normalizeDestination),
};

const CallRecord = z.strictObject(
  {
    ...common,
    kind: z.literal("call"),
    duration_s: z.preprocess(numberCell, count(0, CALL_DURATION_S_MAX)),
    segments: absent("must be empty for a call (segments are for an SMS)"),
  },
  E,
);

const SmsRecord = z.strictObject(
  {
    ...common,
    kind: z.literal("sms"),
    segments: z.preprocess(numberCell, count(1, SMS_SEGMENTS_MAX).default(1)),
    duration_s: absent("must be empty for an SMS (an SMS has segments, not a duration)"),
  },
  E,
);

/** The raw usage record: keys exactly USAGE_RECORD_KEYS, `kind` deciding which of duration_s / segments it has. */
export const UsageRecordSchema = z.discriminatedUnion("kind", [CallRecord, SmsRecord], {
  error: (issue) => {
    if (issue.code === "invalid_union") {
      const input = issue.input;
      const kind =
        typeof input === "object" && input !== null ? (input as Record<string, unknown>)["kind"] : undefined;
      return kind === undefined || kind === null
        ? "required"
        : `must be "call" or "sms" (got ${quote(kind)})`;
    }
    if (issue.code === "invalid_type")
      return `must be an object with the keys ${USAGE_RECORD_KEYS.join(", ")}`;
    return undefined;
  },
});
export type UsageRecord = z.output<typeof UsageRecordSchema>;

function firstRefusal(issues: readonly z.core.$ZodIssue[]): RecordRefusal {
  // An unknown key is reported first: a misspelt key ("duraton_s") also makes the right one "required".
  const unknown = issues.find((i) => i.code === "unrecognized_keys");
  if (unknown?.code === "unrecognized_keys") {
    const others = unknown.keys.slice(1);
    return {
      field: unknown.keys[0] ?? "",
      reason:
        `unknown key (the keys are ${USAGE_RECORD_KEYS.join(", ")})` +
        (others.length > 0 ? `; also unknown: ${others.join(", ")}` : ""),
    };
  }
  const issue = issues[0];
  if (issue === undefined) return { field: "", reason: "is not a usage record" };
  return { field: issue.path.map(String).join("."), reason: issue.message };
}

function subjectRefusal(ref: string): string {
  return ref.startsWith(SIP_PREFIX)
    ? `no SIP profile named ${JSON.stringify(ref.slice(SIP_PREFIX.length))}`
    : `no member with username ${JSON.stringify(ref)}`;
}

/**
 * Validates one raw record (CSV cells as strings, NDJSON or API values as JSON) and resolves its subject
 * in the company's directory (`subjectDirectory`). The first problem is returned as a field and a reason.
 */
export function parseUsageRecord(
  raw: unknown,
  subjects: ReadonlyMap<string, Subject>,
): Result<UsageInput, RecordRefusal> {
  const fast = parseCommonRecord(raw, subjects);
  if (fast !== null) return ok(fast);
  const parsed = UsageRecordSchema.safeParse(raw);
  if (!parsed.success) return err(firstRefusal(parsed.error.issues));
  const record = parsed.data;
  const subject = subjects.get(record.subject);
  if (subject === undefined) return err({ field: "subject", reason: subjectRefusal(record.subject) });
  return ok({
    externalId: record.external_id,
    subject,
    kind: record.kind,
    startedAtMs: record.started_at,
    destination: record.destination,
    durationS: record.kind === "call" ? record.duration_s : null,
    segments: record.kind === "sms" ? record.segments : null,
  });
}

const KNOWN_KEYS: ReadonlySet<string> = new Set(USAGE_RECORD_KEYS);

/** A count the schema would accept: absent (undefined, null, "") → undefined; else a whole number in range. */
function countCell(value: unknown, min: number, max: number): number | undefined | false {
  const v = numberCell(value);
  if (v === undefined) return undefined;
  return typeof v === "number" && Number.isSafeInteger(v) && v >= min && v <= max ? v : false;
}

/**
 * The valid record as `UsageRecordSchema` would return it, checked by hand — or null whenever anything is
 * off, and the schema then words the refusal. Ingestion runs this for every record (zod costs about a fifth
 * of the time of a large file); a property test holds the two paths equal.
 */
export function parseCommonRecord(raw: unknown, subjects: ReadonlyMap<string, Subject>): UsageInput | null {
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) return null;
  const r = raw as Record<string, unknown>;
  for (const key in r) if (!KNOWN_KEYS.has(key)) return null;
  const { external_id: externalId, subject: ref, kind, started_at: startedAt, destination } = r;
  if (typeof externalId !== "string" || externalId.length < 1 || externalId.length > EXTERNAL_ID_CHARS_MAX)
    return null;
  if (typeof ref !== "string" || ref.length < 1 || ref.length > SUBJECT_CHARS_MAX) return null;
  if (typeof startedAt !== "string" || startedAt.length > TEXT_CHARS_MAX) return null;
  if (typeof destination !== "string" || destination.length > TEXT_CHARS_MAX) return null;
  let durationS: number | null = null;
  let segments: number | null = null;
  if (kind === "call") {
    const d = countCell(r["duration_s"], 0, CALL_DURATION_S_MAX);
    if (d === undefined || d === false || numberCell(r["segments"]) !== undefined) return null;
    durationS = d;
  } else if (kind === "sms") {
    const n = countCell(r["segments"], 1, SMS_SEGMENTS_MAX);
    if (n === false || numberCell(r["duration_s"]) !== undefined) return null;
    segments = n ?? 1;
  } else return null;
  const at = parseInstantFast(startedAt);
  if (!at.ok) return null;
  const to = normalizeDestination(destination);
  if (!to.ok) return null;
  const subject = subjects.get(ref);
  if (subject === undefined) return null;
  return { externalId, subject, kind, startedAtMs: at.value, destination: to.value, durationS, segments };
}
