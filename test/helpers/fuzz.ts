/**
 * @module Hostile-input fuzzing helpers: how many cases to run (FUZZ_RUNS), the hostile values every field
 * gets, the route list read from the OpenAPI document, and a fingerprint of everything a company owns so
 * that "a refused request changed nothing" can be asserted after every single request.
 */
import fc from "fast-check";
import { sql } from "kysely";
import type { Db } from "../../src/db/database";

/** Cases per route (and per file format): small in `npm test`, larger with FUZZ_RUNS=N (npm run test:stress). */
export function fuzzRuns(defaultRuns: number): number {
  const n = Number(process.env["FUZZ_RUNS"] ?? "");
  return Number.isSafeInteger(n) && n > 0 ? n : defaultRuns;
}

/** Strings that break naive code: NUL, path tricks, formula injection, huge numbers as text, odd Unicode. */
export const HOSTILE_STRINGS: readonly string[] = [
  "",
  " ",
  "\u0000",
  "a\u0000b",
  "../../../../etc/passwd",
  "..%2F..%2Fetc%2Fpasswd",
  "%2e%2e/%2e%2e/",
  "..\\..\\windows\\win.ini",
  "=cmd|' /C calc'!A0",
  '=HYPERLINK("http://evil.example","x")',
  "+1+1",
  "-2+3",
  "@SUM(A1:A2)",
  "\t=1",
  "\r=1",
  "\n=1",
  "NaN",
  "Infinity",
  "-0",
  "0.001",
  "-1",
  "-1.00",
  "1e308",
  "1E+308",
  "18446744073709551616",
  "9007199254740993",
  "99999999999999999999.99",
  "0x10",
  " 1",
  "1 ",
  "１２",
  "\uFFFD",
  "\uD800",
  "😀😀😀",
  "Zoë Ng ☎ 電話",
  "<script>alert(1)</script>",
  "' OR 1=1 --",
  '"; drop table members; --',
  "${7*7}{{7*7}}",
  "%00",
  "sip:",
  "sip:../x",
  "x".repeat(300),
  "y".repeat(20_000),
];

/** Numbers past every range: the float limits, 2^64, -0, sub-minor fractions. */
export const HOSTILE_NUMBERS: readonly number[] = [
  1e308,
  -1e308,
  2 ** 64,
  -(2 ** 63),
  2 ** 53 + 2,
  2 ** 31,
  -0,
  0,
  -1,
  0.001,
  1.5,
  5e-324,
];

/** Any JSON value a hostile client might put in a field. */
export const hostileValue: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom(...HOSTILE_STRINGS) },
  { weight: 2, arbitrary: fc.constantFrom(...HOSTILE_NUMBERS) },
  { weight: 1, arbitrary: fc.string({ unit: "binary", maxLength: 30 }) },
  { weight: 1, arbitrary: fc.integer() },
  { weight: 1, arbitrary: fc.constantFrom<unknown>(null, true, false, [], {}, [null], { a: 1 }, ["44"]) },
  { weight: 1, arbitrary: fc.array(fc.constantFrom(...HOSTILE_STRINGS.slice(0, 20)), { maxLength: 3 }) },
);

/** A path segment: plain ids and references, and every trick that could escape the segment or the range. */
export const HOSTILE_SEGMENTS: readonly string[] = [
  "1",
  "2",
  "0",
  "-1",
  "1.5",
  "1e308",
  "18446744073709551616",
  "9007199254740993",
  "abc",
  "..",
  "..%2F..%2Fetc%2Fpasswd",
  "%2e%2e%2f%2e%2e%2f",
  "%2e%2e",
  "%00",
  "1%00",
  "%ff%fe",
  "%20",
  encodeURIComponent("=cmd|' /C calc'!A0"),
  encodeURIComponent("Zoë"),
  "x".repeat(500),
];

/**
 * A well-formed body per route of the spec example company: the fuzzer breaks one to three of its fields at
 * a time, the authorization matrix sends it as it is.
 */
export const VALID_BODIES: Record<string, Record<string, unknown>> = {
  "POST /api/v1/auth/login": { email: "ana@acme.example", password: "not the password" },
  "POST /api/v1/auth/password": { current_password: "not the password", new_password: "a-new-long-password" },
  "POST /api/v1/purchases": {
    reference: "F-1",
    amount: "10.00",
    vat_rate: "0.20",
    payment_method: "card",
    status: "completed",
  },
  "POST /api/v1/purchases/{reference}/settle": { status: "completed" },
  "POST /api/v1/allocations/credit": { to: "acme.bob", amount: "1.00" },
  "POST /api/v1/reclaims": { from: "acme.bob", amount: "1.00" },
  "POST /api/v1/subscriptions": { to: "acme.bob", plan_id: 1 },
  "PATCH /api/v1/subscriptions/{id}": { renew: true },
  "POST /api/v1/numbers": { to: "acme.bob", number: "+442079460001", months: 1, price: "1.00" },
  "PATCH /api/v1/numbers/{id}": { renew: true },
  "PUT /api/v1/auto-rules/{subject}": { threshold: "1.00", amount: "1.00", monthly_cap: "5.00" },
  "PUT /api/v1/rates/{prefix}": { name: "Fuzzland", per_minute: "0.0100" },
  "POST /api/v1/plans": { name: "Fuzz plan", price: "1.00", prefixes: ["44"], minutes: 10 },
  "POST /api/v1/usage": {
    records: [
      {
        external_id: "fuzz-1",
        subject: "acme.bob",
        kind: "call",
        started_at: "2026-09-03T10:00:00Z",
        destination: "+442079460123",
        duration_s: 60,
      },
    ],
  },
  "POST /api/v1/members": { name: "New Member", username: "new.member", email: "new@acme.example" },
  "PATCH /api/v1/members/{id}": { name: "Renamed" },
  "POST /api/v1/invitations": { email: "invitee@example.org" },
  "POST /api/v1/invitations/by-token/{token}/accept": {
    name: "Invitee",
    username: "invitee",
    password: "a-long-password",
  },
  "POST /api/v1/groups": { name: "Fuzzers" },
  "PATCH /api/v1/groups/{id}": { name: "Fuzzers 2" },
  "POST /api/v1/sip-profiles": { name: "Fuzz PBX", channels: 2 },
  "PATCH /api/v1/sip-profiles/{id}": { channels: 3 },
  "POST /api/v1/admins": {
    email: "fuzz@acme.example",
    name: "Fuzz",
    role: "viewer",
    password: "a-long-password",
  },
  "PATCH /api/v1/admins/{id}": { role: "viewer" },
  "POST /api/v1/api-keys": { name: "fuzz key", scopes: ["reports:read"] },
  "POST /api/v1/me/consent": { granted: true },
  "POST /api/v1/downloads/jobs": { reports: ["summary"], month: "2026-09", format: "csv" },
};

/** Nested arrays `depth` levels deep, as JSON text. */
export const deepJson = (depth: number, open = "[", close = "]"): string =>
  open.repeat(depth) + close.repeat(depth);

/** Bytes that are not UTF-8: a lone continuation byte, an overlong NUL, a truncated sequence, 0xFF. */
export const INVALID_UTF8 = Uint8Array.from([
  0x7b, 0x22, 0x61, 0x22, 0x3a, 0x22, 0x80, 0xc0, 0x80, 0xe2, 0x82, 0xff, 0xfe, 0x22, 0x7d,
]);

export interface RouteInfo {
  method: string;
  /** The OpenAPI path, with `{param}` placeholders. */
  path: string;
  params: string[];
  query: string[];
  bodyKeys: string[];
  bodyMedia: string | undefined;
  /** True when the route needs no sign-in (`security: []`). */
  public: boolean;
}

interface OpenApiOperation {
  parameters?: { name: string; in: string }[];
  requestBody?: { content?: Record<string, { schema?: OpenApiSchema }> };
  security?: unknown[];
}
interface OpenApiSchema {
  $ref?: string;
  properties?: Record<string, unknown>;
}
export interface OpenApiDocument {
  paths: Record<string, Record<string, OpenApiOperation>>;
  components?: { schemas?: Record<string, OpenApiSchema> };
}

const METHODS = ["get", "post", "put", "patch", "delete"];

/** Every operation of the OpenAPI document with what it takes. */
export function routesOf(doc: OpenApiDocument): RouteInfo[] {
  const resolve = (s: OpenApiSchema | undefined): OpenApiSchema | undefined =>
    s?.$ref ? doc.components?.schemas?.[s.$ref.replace("#/components/schemas/", "")] : s;
  return Object.entries(doc.paths).flatMap(([path, ops]) =>
    Object.entries(ops)
      .filter(([m]) => METHODS.includes(m))
      .map(([m, op]): RouteInfo => {
        const media = Object.keys(op.requestBody?.content ?? {})[0];
        const schema = resolve(media ? op.requestBody?.content?.[media]?.schema : undefined);
        return {
          method: m.toUpperCase(),
          path,
          params: [...path.matchAll(/\{(\w+)\}/g)].map((x) => x[1] ?? ""),
          query: (op.parameters ?? []).filter((p) => p.in === "query").map((p) => p.name),
          bodyKeys: Object.keys(schema?.properties ?? {}),
          bodyMedia: media,
          public: Array.isArray(op.security) && op.security.length === 0,
        };
      }),
  );
}

/** `METHOD /path/{param}` — the key of a route in matrices and tables. */
export const routeKey = (r: { method: string; path: string }): string => `${r.method} ${r.path}`;

/** Tables whose rows belong to one company; `volatile` columns change on reads and are left out. */
const COMPANY_TABLES: readonly { table: string; volatile?: readonly string[]; countOnly?: boolean }[] = [
  { table: "accounts" },
  { table: "admins" },
  { table: "members" },
  { table: "groups" },
  { table: "member_groups" },
  { table: "sip_profiles" },
  { table: "rates" },
  { table: "plans" },
  { table: "purchases" },
  { table: "transfers" },
  { table: "subscriptions" },
  { table: "numbers" },
  { table: "auto_rules" },
  { table: "usage_records" },
  { table: "account_months" },
  { table: "consent_events" },
  { table: "audit_log" },
  { table: "api_keys", volatile: ["last_used_at_ms"] },
  { table: "invitations" },
  { table: "idempotency_keys" },
  // Background jobs move on by themselves: only whether one was created counts.
  { table: "download_jobs", countOnly: true },
];

/**
 * Everything the company owns, as one string: equal fingerprints mean nothing changed (balances, ledger,
 * people, catalogue, keys, invitations, audit log). Sessions and login attempts are not the company's data.
 */
export async function companyFingerprint(db: Db, companyId: number): Promise<string> {
  if (db.dialect === "postgres") return postgresFingerprint(db, companyId);
  const out: string[] = [];
  const company = await sql`select * from companies where id = ${companyId}`.execute(db.k);
  out.push(`companies:${JSON.stringify(company.rows)}`);
  for (const t of COMPANY_TABLES) {
    if (t.countOnly) {
      const r = await sql<{
        n: number | string;
      }>`select count(*) as n from ${sql.table(t.table)} where company_id = ${companyId}`.execute(db.k);
      out.push(`${t.table}:${String(r.rows[0]?.n)}`);
      continue;
    }
    const r = await sql<
      Record<string, unknown>
    >`select * from ${sql.table(t.table)} where company_id = ${companyId} order by 1, 2, 3`.execute(db.k);
    const rows = r.rows.map((row) => {
      const copy = { ...row };
      for (const v of t.volatile ?? []) delete copy[v];
      return copy;
    });
    out.push(`${t.table}:${JSON.stringify(rows)}`);
  }
  return out.join("\n");
}

/** Text that must never reach a client: stack frames, SQL and driver messages, file paths. */
export const LEAK_PATTERNS: readonly RegExp[] = [
  /\n\s+at /,
  /node_modules/,
  /\/work\/|\/src\/[a-z-]+\//,
  /SQLITE_[A-Z]+/,
  /\bselect\b.+\bfrom\b/i,
  /\binsert into\b/i,
  /syntax error at or near/,
  /violates (unique|foreign key|check|not-null) constraint/,
  /invalid byte sequence/,
  /TypeError|ReferenceError|RangeError/,
];

/** The first leak found in a response text, or undefined. */
export function leakIn(text: string): string | undefined {
  for (const p of LEAK_PATTERNS) {
    const m = p.exec(text);
    if (m) return m[0];
  }
  return undefined;
}

/** True when `body` is the API's error shape `{ error: { code, message } }`. */
export function isErrorShape(body: unknown): boolean {
  if (typeof body !== "object" || body === null) return false;
  const e = (body as { error?: unknown }).error;
  if (typeof e !== "object" || e === null) return false;
  const { code, message } = e as { code?: unknown; message?: unknown };
  return typeof code === "string" && code !== "" && typeof message === "string" && message !== "";
}

/** The same fingerprint in one round trip: PostgreSQL hashes each table's rows itself. */
async function postgresFingerprint(db: Db, companyId: number): Promise<string> {
  const parts = [
    sql`select 'companies' as t, md5(coalesce(string_agg(to_jsonb(x)::text, '|' order by x.id), '')) as h from companies x where x.id = ${companyId}`,
    ...COMPANY_TABLES.map((t) =>
      t.countOnly
        ? sql`select ${t.table} as t, count(*)::text as h from ${sql.table(t.table)} x where x.company_id = ${companyId}`
        : sql`select ${t.table} as t, md5(coalesce(string_agg((to_jsonb(x) ${sql.raw(
            (t.volatile ?? []).map((v) => `- '${v}'`).join(" "),
          )})::text, '|' order by to_jsonb(x)::text), '')) as h from ${sql.table(t.table)} x where x.company_id = ${companyId}`,
    ),
  ];
  const r = await sql<{ t: string; h: string }>`${sql.join(parts, sql` union all `)}`.execute(db.k);
  return r.rows.map((row) => `${row.t}:${row.h}`).join("\n");
}
