/** @module Tests of the raw usage record: every refusal reason, CSV text coercion, SMS defaults. */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { Subject } from "../services/people.service";
import {
  CALL_DURATION_S_MAX,
  EXTERNAL_ID_CHARS_MAX,
  parseCommonRecord,
  parseUsageRecord,
  SMS_SEGMENTS_MAX,
  UsageRecordSchema,
} from "./usage-record";

const bob: Subject = {
  type: "member",
  id: 1,
  accountId: 11,
  name: "Bob",
  username: "bob",
  accountType: "business",
};
const pbx: Subject = {
  type: "sip_profile",
  id: 2,
  accountId: 12,
  name: "London PBX",
  username: null,
  accountType: null,
};
const subjects = new Map<string, Subject>([
  ["bob", bob],
  ["sip:London PBX", pbx],
]);

/** 2026-09-02T10:00:00Z = 1788343200000 ms since the epoch. */
const STARTED_MS = Date.UTC(2026, 8, 2, 10, 0, 0);

/** A call as a CSV row gives it: every value text, segments absent. */
const call = {
  external_id: "cdr-1",
  subject: "bob",
  kind: "call",
  started_at: "2026-09-02T10:00:00Z",
  destination: "+44 20 7946 0123",
  duration_s: "125",
};
const sms = {
  external_id: "cdr-2",
  subject: "sip:London PBX",
  kind: "sms",
  started_at: "2026-09-02T11:00:00+01:00",
  destination: "+447700900123",
};

function refusal(raw: unknown): { field: string; reason: string } {
  const result = parseUsageRecord(raw, subjects);
  if (result.ok) throw new Error(`expected a refusal, got ${JSON.stringify(result.value)}`);
  return result.error;
}

describe("parseUsageRecord accepts", () => {
  it("a call from CSV text: numbers as strings, destination normalised", () => {
    expect(parseUsageRecord(call, subjects)).toEqual({
      ok: true,
      value: {
        externalId: "cdr-1",
        subject: bob,
        kind: "call",
        startedAtMs: STARTED_MS,
        destination: "+442079460123",
        durationS: 125,
        segments: null,
      },
    });
  });

  it("a call from NDJSON: numbers as numbers, an unanswered call of 0 s, null segments as absent", () => {
    const result = parseUsageRecord({ ...call, duration_s: 0, segments: null }, subjects);
    expect(result.ok && result.value.durationS).toBe(0);
  });

  it("an SMS without segments as 1 segment, its subject a SIP profile; 11:00+01:00 is 10:00Z", () => {
    expect(parseUsageRecord(sms, subjects)).toEqual({
      ok: true,
      value: {
        externalId: "cdr-2",
        subject: pbx,
        kind: "sms",
        startedAtMs: STARTED_MS,
        destination: "+447700900123",
        durationS: null,
        segments: 1,
      },
    });
  });

  it("an SMS with segments as text or a number, and an empty or null duration", () => {
    for (const raw of [
      { ...sms, segments: "3" },
      { ...sms, segments: 3, duration_s: null },
      { ...sms, segments: 3, duration_s: "" },
    ]) {
      const result = parseUsageRecord(raw, subjects);
      expect(result.ok && result.value.segments).toBe(3);
    }
  });

  it("the limits themselves", () => {
    expect(parseUsageRecord({ ...call, duration_s: String(CALL_DURATION_S_MAX) }, subjects).ok).toBe(true);
    expect(parseUsageRecord({ ...sms, segments: SMS_SEGMENTS_MAX }, subjects).ok).toBe(true);
    expect(parseUsageRecord({ ...call, external_id: "x".repeat(EXTERNAL_ID_CHARS_MAX) }, subjects).ok).toBe(
      true,
    );
  });
});

describe("parseUsageRecord refuses, naming the field and why", () => {
  const cases: [string, unknown, { field: string; reason: string }][] = [
    [
      "not an object",
      "cdr-1,bob",
      { field: "", reason: expect.stringContaining("must be an object") as string },
    ],
    ["an array", [call], { field: "", reason: expect.stringContaining("must be an object") as string }],
    ["no external_id", { ...call, external_id: undefined }, { field: "external_id", reason: "required" }],
    [
      "an empty external_id",
      { ...call, external_id: "" },
      { field: "external_id", reason: "must not be empty" },
    ],
    [
      "a too long external_id",
      { ...call, external_id: "x".repeat(EXTERNAL_ID_CHARS_MAX + 1) },
      { field: "external_id", reason: `must be at most ${EXTERNAL_ID_CHARS_MAX} characters` },
    ],
    ["a numeric external_id", { ...call, external_id: 17 }, { field: "external_id", reason: "must be text" }],
    ["no subject", { ...call, subject: undefined }, { field: "subject", reason: "required" }],
    [
      "an unknown member",
      { ...call, subject: "alice" },
      { field: "subject", reason: 'no member with username "alice"' },
    ],
    [
      "an unknown SIP profile",
      { ...call, subject: "sip:Paris PBX" },
      { field: "subject", reason: 'no SIP profile named "Paris PBX"' },
    ],
    ["no kind", { ...call, kind: undefined }, { field: "kind", reason: "required" }],
    [
      "an unknown kind",
      { ...call, kind: "fax" },
      { field: "kind", reason: 'must be "call" or "sms" (got "fax")' },
    ],
    [
      "a started_at without offset",
      { ...call, started_at: "2026-09-02T10:00:00" },
      {
        field: "started_at",
        reason: '"2026-09-02T10:00:00" has no UTC offset: add Z or an offset such as +01:00',
      },
    ],
    [
      "a started_at that is no date",
      { ...call, started_at: "yesterday" },
      { field: "started_at", reason: '"yesterday" is not an ISO 8601 date-time like 2026-09-01T09:00:00Z' },
    ],
    [
      "a destination with 00",
      { ...call, destination: "0044 20 7946 0123" },
      {
        field: "destination",
        reason: '"0044 20 7946 0123" starts with 00: write the international prefix as + (e.g. +44…)',
      },
    ],
    [
      "a short destination",
      { ...call, destination: "+12" },
      { field: "destination", reason: '"+12" is too short: it needs at least 8 digits' },
    ],
    [
      "a call without duration",
      { ...call, duration_s: undefined },
      { field: "duration_s", reason: "required" },
    ],
    [
      "a call with an empty duration",
      { ...call, duration_s: "" },
      { field: "duration_s", reason: "required" },
    ],
    [
      "a negative duration",
      { ...call, duration_s: "-1" },
      { field: "duration_s", reason: "must be at least 0" },
    ],
    [
      "a fractional duration",
      { ...call, duration_s: "1.5" },
      { field: "duration_s", reason: "must be a whole number" },
    ],
    [
      "a duration in words",
      { ...call, duration_s: "ten" },
      { field: "duration_s", reason: "must be a whole number" },
    ],
    [
      "a too long duration",
      { ...call, duration_s: CALL_DURATION_S_MAX + 1 },
      { field: "duration_s", reason: `must be at most ${CALL_DURATION_S_MAX}` },
    ],
    [
      "a call with segments",
      { ...call, segments: "1" },
      { field: "segments", reason: "must be empty for a call (segments are for an SMS)" },
    ],
    [
      "an SMS with a duration",
      { ...sms, duration_s: "30" },
      { field: "duration_s", reason: "must be empty for an SMS (an SMS has segments, not a duration)" },
    ],
    [
      "an SMS with 0 segments",
      { ...sms, segments: "0" },
      { field: "segments", reason: "must be at least 1" },
    ],
    [
      "an SMS with too many segments",
      { ...sms, segments: SMS_SEGMENTS_MAX + 1 },
      { field: "segments", reason: `must be at most ${SMS_SEGMENTS_MAX}` },
    ],
    [
      "an unknown key, reported before the 'required' it causes",
      { ...call, duration_s: undefined, duraton_s: "5" },
      {
        field: "duraton_s",
        reason:
          "unknown key (the keys are external_id, subject, kind, started_at, destination, duration_s, segments)",
      },
    ],
  ];
  it.each(cases)("%s", (_name, raw, expected) => {
    expect(refusal(raw)).toEqual(expected);
  });

  it("names every unknown key", () => {
    expect(refusal({ ...call, a: 1, b: 2 }).reason).toMatch(/; also unknown: b$/);
  });
});

describe("parseUsageRecord as a property", () => {
  it("reads a duration written as text exactly as the same number", () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: CALL_DURATION_S_MAX }), (d) => {
        const asText = parseUsageRecord({ ...call, duration_s: String(d) }, subjects);
        const asNumber = parseUsageRecord({ ...call, duration_s: d }, subjects);
        expect(asText).toEqual(asNumber);
        expect(asText.ok && asText.value.durationS).toBe(d);
      }),
    );
  });

  it("never throws, whatever the input", () => {
    fc.assert(
      fc.property(fc.anything(), (raw) => {
        parseUsageRecord(raw, subjects);
      }),
    );
  });

  it("the hand-written fast path accepts only what the schema accepts, with the same result", () => {
    // Values near the edges of every rule, mixed as CSV text, JSON numbers, absent and wrong types.
    const cell = (...xs: unknown[]) => fc.constantFrom(...xs);
    const record = fc.record(
      {
        external_id: cell(
          "cdr-1",
          "",
          "x".repeat(EXTERNAL_ID_CHARS_MAX),
          "x".repeat(EXTERNAL_ID_CHARS_MAX + 1),
          7,
          null,
        ),
        subject: cell("bob", "sip:London PBX", "nobody", "", 3),
        kind: cell("call", "sms", "fax", "", null, 1),
        started_at: cell(
          "2026-09-02T10:00:00Z",
          "2026-09-02T11:00:00+01:00",
          "2026-02-30T10:00:00Z",
          "2026-09-02 10:00",
          "2016-12-31T23:59:60Z",
          "",
          12,
        ),
        destination: cell("+44 20 7946 0123", "+447700900123", "0044 20", "+1", "", 447700900123),
        duration_s: cell(
          undefined,
          null,
          "",
          "0",
          "125",
          "-1",
          "1.5",
          " 5",
          125,
          CALL_DURATION_S_MAX,
          CALL_DURATION_S_MAX + 1,
          -0,
          "x",
        ),
        segments: cell(undefined, null, "", "1", "2", "0", String(SMS_SEGMENTS_MAX + 1), 3, 1.5, "y"),
        extra: cell(undefined, "?"),
      },
      { requiredKeys: [] },
    );
    fc.assert(
      fc.property(record, (raw) => {
        const fast = parseCommonRecord(raw, subjects);
        if (fast === null) return; // declined: the schema reads it (covered by every other test here)
        const schema = UsageRecordSchema.safeParse(raw);
        expect(schema.success).toBe(true);
        if (!schema.success) return;
        const r = schema.data;
        expect(fast).toEqual({
          externalId: r.external_id,
          subject: subjects.get(r.subject),
          kind: r.kind,
          startedAtMs: r.started_at,
          destination: r.destination,
          durationS: r.kind === "call" ? r.duration_s : null,
          segments: r.kind === "sms" ? r.segments : null,
        });
      }),
      { numRuns: 2_000 },
    );
  });
});
