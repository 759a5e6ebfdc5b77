/**
 * Hostile requests against every HTTP route, on SQLite and PostgreSQL. The routes come from the OpenAPI
 * document (plus the few routes outside it, listed here so that a new one is noticed). Each route gets
 * fast-check–generated requests from a signed-in owner (with the CSRF token) and from an API key with every
 * scope: wrong types, missing and extra fields, hostile strings and numbers, path tricks, wrong content
 * types, invalid UTF-8, deep nesting. Every answer must be < 500 with the API's error shape when refused,
 * leak no internals, and a refused request must leave the company's data exactly as it was.
 * Cases per route and principal: 10 on SQLite, 4 on PostgreSQL (FUZZ_RUNS=N for N on both, e.g. in
 * `npm run test:stress`).
 */
import ExcelJS from "exceljs";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { importBundle } from "../src/bundle/import";
import { inTransaction } from "../src/db/database";
import { API_KEY_SCOPES } from "../src/http/context";
import { createApiKey } from "../src/services/auth.service";
import { JSON_DEPTH_MAX, REQUEST_BODY_BYTES_MAX } from "../src/shared/limits";
import { DIALECTS, postgresAvailable } from "./helpers/databases";
import {
  companyFingerprint,
  deepJson,
  fuzzRuns,
  HOSTILE_SEGMENTS,
  HOSTILE_STRINGS,
  hostileValue,
  VALID_BODIES,
  INVALID_UTF8,
  isErrorShape,
  leakIn,
  routeKey,
  routesOf,
} from "./helpers/fuzz";
import type { OpenApiDocument, RouteInfo } from "./helpers/fuzz";
import { createTestServer } from "./helpers/http";
import type { TestServer } from "./helpers/http";
import { NOW } from "./helpers/reports";
import { specExampleBundle } from "./helpers/spec-example-bundle";

const pgOk = await postgresAvailable();
const PASSWORD = "optional plain text, hashed on import";
/** Cases per route and principal: PostgreSQL answers more slowly, so it gets fewer by default. */
const RUNS: Record<"sqlite" | "postgres", number> = { sqlite: fuzzRuns(10), postgres: fuzzRuns(4) };

/** Routes outside the OpenAPI document; a new one must be added here (and fuzzed below). */
const NON_OPENAPI_ROUTES = [
  "GET /healthz",
  "GET /readyz",
  "GET /api/openapi.json",
  "GET /api/docs",
  "GET /favicon.ico",
  "GET /*",
];

/** Values that exist in the spec's example company, so that some requests get past validation. */
const VALID_SEGMENTS: Record<string, string[]> = {
  id: ["1", "2"],
  memberId: ["1", "2"],
  reference: ["P-1001", "P-1002"],
  subject: ["acme.bob", encodeURIComponent("sip:London PBX")],
  prefix: ["44", "447"],
  token: ["not-a-token"],
  report: ["summary", "purchases", "allocations", "usage"],
};

const VALID_QUERY: Record<string, string> = {
  month: "2026-09",
  subject: "acme.bob",
  format: "json",
  reports: "summary",
  limit: "10",
};

interface FuzzRequest {
  path: string;
  headers: Record<string, string>;
  body: string | Uint8Array | undefined;
  what: string;
}

/** Percent-encodes a hostile string; a lone surrogate (which has no UTF-8) becomes its raw, invalid bytes. */
function encodeSegment(text: string): string {
  try {
    return encodeURIComponent(text);
  } catch {
    return "%ED%A0%80";
  }
}

const segment = (param: string): fc.Arbitrary<string> =>
  fc.oneof(
    fc.constantFrom(...(VALID_SEGMENTS[param] ?? ["1"])),
    fc.constantFrom(...HOSTILE_SEGMENTS),
    fc.constantFrom(...HOSTILE_STRINGS).map(encodeSegment),
  );

const queryArb = (route: RouteInfo): fc.Arbitrary<string> => {
  const names = [...route.query, "extra", "__proto__"];
  return fc
    .array(
      fc.tuple(
        fc.constantFrom(...names),
        fc.oneof(
          fc.constantFrom(...HOSTILE_STRINGS).map(encodeSegment),
          fc.constantFrom(...HOSTILE_SEGMENTS),
          fc.constant(""),
        ),
      ),
      { maxLength: 4 },
    )
    .chain((pairs) =>
      fc.boolean().map((withValid) => {
        const base = withValid
          ? route.query.filter((q) => VALID_QUERY[q] !== undefined).map((q) => `${q}=${VALID_QUERY[q]}`)
          : [];
        const all = [...base, ...pairs.map(([k, v]) => `${k}=${v}`)];
        return all.length ? `?${all.join("&")}` : "";
      }),
    );
};

type Mutation = { kind: "set" | "delete"; key: string; value: unknown };

const bodyArb = (
  route: RouteInfo,
): fc.Arbitrary<{ body: string | Uint8Array; type: string; what: string }> => {
  const base = VALID_BODIES[routeKey(route)] ?? {};
  const keys = [...new Set([...route.bodyKeys, ...Object.keys(base), "extra", "__proto__", "constructor"])];
  const mutated = fc
    .array(
      fc.record({
        kind: fc.constantFrom<Mutation["kind"]>("set", "set", "delete"),
        key: fc.constantFrom(...keys),
        value: hostileValue,
      }),
      { minLength: 1, maxLength: 3 },
    )
    .map((ms) => {
      const out: Record<string, unknown> = { ...base };
      for (const m of ms) {
        if (m.kind === "delete") delete out[m.key];
        else out[m.key] = m.value;
      }
      // A usage batch is an array of records: break inside a record too.
      const records = out["records"];
      if (Array.isArray(records) && records.length === 1 && ms[0]?.key !== "records")
        out["records"] = [{ ...(records[0] as object), [ms[0]?.key ?? "x"]: ms[0]?.value }];
      return { body: JSON.stringify(out), type: "application/json", what: "mutated fields" };
    });
  const raw = fc.constantFrom(
    { body: deepJson(10_000), type: "application/json", what: "10,000 nested arrays" },
    { body: `{"records":${deepJson(10_000)}}`, type: "application/json", what: "nested records" },
    {
      body: `${'{"a":'.repeat(10_000)}1${"}".repeat(10_000)}`,
      type: "application/json",
      what: "nested objects",
    },
    { body: INVALID_UTF8, type: "application/json", what: "invalid UTF-8" },
    { body: "", type: "application/json", what: "empty body" },
    { body: "null", type: "application/json", what: "null" },
    { body: "[]", type: "application/json", what: "an array" },
    { body: '"text"', type: "application/json", what: "a string" },
    { body: '{"a":', type: "application/json", what: "truncated JSON" },
    { body: JSON.stringify(base), type: "text/plain", what: "wrong content type (text/plain)" },
    { body: JSON.stringify(base), type: "application/x-www-form-urlencoded", what: "form content type" },
    { body: JSON.stringify(base), type: "multipart/form-data; boundary=x", what: "multipart content type" },
    {
      body: "first_name,last_name,email\n=cmd|' /C calc'!A0,+1,x@acme.example\n",
      type: "text/csv",
      what: "CSV",
    },
    { body: '{"a":1,"a":2}', type: "application/json", what: "duplicate keys" },
    { body: JSON.stringify({ ...base, amount: 1e308 }), type: "application/json", what: "1e308" },
  );
  return fc.oneof({ weight: 3, arbitrary: mutated }, { weight: 1, arbitrary: raw });
};

const requestArb = (route: RouteInfo): fc.Arbitrary<FuzzRequest> => {
  const pathArb = fc.tuple(...route.params.map(segment)).map((values) => {
    let i = 0;
    return route.path.replace(/\{\w+\}/g, () => values[i++] ?? "1");
  });
  const hasBody = route.method !== "GET" && route.method !== "DELETE";
  const bodyOrNone = hasBody
    ? bodyArb(route).map((b) => b as { body: string | Uint8Array | undefined; type: string; what: string })
    : fc.constant({ body: undefined, type: "", what: "no body" });
  return fc.tuple(pathArb, queryArb(route), bodyOrNone, fc.boolean()).map(([path, query, b, idem]) => ({
    path: path + query,
    headers: {
      ...(b.type ? { "content-type": b.type } : {}),
      // Some writes carry an Idempotency-Key: a refused one must be forgotten, not stored.
      ...(idem && hasBody ? { "idempotency-key": `fuzz-${path.length}-${query.length}` } : {}),
    },
    body: b.body,
    what: b.what,
  }));
};

describe.each(DIALECTS.filter((d) => d === "sqlite" || pgOk))("hostile HTTP requests on %s", (dialect) => {
  let s: TestServer;
  let companyId: number;
  let routes: RouteInfo[];
  const fuzzed = new Set<string>();
  let cases = 0;

  /** A signed-in owner's cookie and CSRF token, and an API key with every scope (fresh for each route). */
  async function principals(): Promise<[string, Record<string, string>][]> {
    await s.db.k.deleteFrom("login_attempts").execute();
    const owner = s.client();
    expect((await owner.login("ana@acme.example", PASSWORD)).status).toBe(200);
    const admin = await s.db.k
      .selectFrom("admins")
      .selectAll()
      .where("email", "=", "ana@acme.example")
      .executeTakeFirstOrThrow();
    const { key } = await inTransaction(s.db, (tx) =>
      createApiKey(tx, { companyId, name: "fuzz", scopes: [...API_KEY_SCOPES], admin, nowMs: NOW }),
    );
    return [
      ["owner session", { cookie: owner.cookie ?? "", "x-csrf-token": owner.csrf ?? "" }],
      ["API key", { authorization: `Bearer ${key}` }],
    ];
  }

  async function send(req: FuzzRequest, auth: Record<string, string>, method: string) {
    const res = await s.app.request(req.path, {
      method,
      headers: { ...auth, ...req.headers },
      ...(req.body === undefined ? {} : { body: req.body }),
    });
    return { status: res.status, type: res.headers.get("content-type") ?? "", text: await res.text() };
  }

  beforeAll(async () => {
    s = await createTestServer(dialect);
    companyId = (await importBundle(s.db, specExampleBundle(), { nowMs: NOW })).company_id;
    routes = routesOf((await s.client().get("/api/openapi.json")).json as OpenApiDocument);
  });
  afterAll(async () => {
    await s.drop();
  });

  it("knows every route outside the OpenAPI document", () => {
    const documented = new Set(routes.map((r) => `${r.method} ${r.path.replace(/\{(\w+)\}/g, ":$1")}`));
    const others = new Set(
      s.app.routes
        .filter((r) => r.method !== "ALL" && !documented.has(`${r.method} ${r.path}`))
        .map((r) => `${r.method} ${r.path}`),
    );
    expect([...others].sort()).toEqual([...NON_OPENAPI_ROUTES].sort());
  });

  it(
    "every documented route: hostile requests are answered < 500, refused ones change nothing",
    async () => {
      expect(routes.length).toBeGreaterThan(50);
      // Routes that end the caller's own session or change a password go last.
      const ordered = [...routes].sort(
        (a, b) => Number(a.path.startsWith("/api/v1/auth/")) - Number(b.path.startsWith("/api/v1/auth/")),
      );
      const failures: string[] = [];
      for (const route of ordered) {
        for (const [who, auth] of await principals()) {
          let before = await companyFingerprint(s.db, companyId);
          const verdict = await fc.check(
            fc.asyncProperty(requestArb(route), async (req) => {
              cases++;
              const res = await send(req, auth, route.method);
              const where = `${who} ${route.method} ${req.path.slice(0, 200)} (${req.what}) → ${res.status} ${res.text.slice(0, 300)}`;
              expect(res.status, where).toBeLessThan(500);
              expect(leakIn(res.text), where).toBeUndefined();
              const after = await companyFingerprint(s.db, companyId);
              if (res.status >= 400) {
                expect(res.type, where).toContain("application/json");
                expect(isErrorShape(JSON.parse(res.text)), where).toBe(true);
                if (after !== before) {
                  const was = before.split("\n");
                  const changed = after.split("\n").filter((line, i) => line !== was[i]);
                  throw new Error(
                    `a refused request changed the company's data: ${where}\n${changed.join("\n").slice(0, 2000)}`,
                  );
                }
              }
              before = after;
            }),
            { numRuns: RUNS[dialect], endOnFailure: true },
          );
          // Every route is fuzzed even when one fails: the list of failures is the finding.
          if (verdict.failed) {
            const error = verdict.errorInstance;
            failures.push(
              error instanceof Error ? error.message.split("\n").slice(0, 3).join(" | ") : String(error),
            );
          }
        }
        fuzzed.add(routeKey(route));
      }
      expect(failures).toEqual([]);
      expect([...fuzzed].sort()).toEqual(routes.map(routeKey).sort());
      // Bounded by the test's timeout (a hang fails), which grows with FUZZ_RUNS.
    },
    Math.max(120_000, RUNS[dialect] * 15_000),
  );

  it("bodies over the limit are refused with 413, with and without a content-length", async () => {
    const [[, auth] = ["", {}]] = await principals();
    const before = await companyFingerprint(s.db, companyId);
    const big = new Uint8Array(REQUEST_BODY_BYTES_MAX + 1024).fill(0x20);
    for (const route of routes.filter((r) => r.method !== "GET" && r.method !== "DELETE")) {
      const path = route.path.replace(/\{\w+\}/g, "1");
      const sized = await s.app.request(path, {
        method: route.method,
        headers: { ...auth, "content-type": "application/json", "content-length": String(big.length) },
        body: big,
      });
      expect(sized.status, `${route.method} ${path}`).toBe(413);
      expect(isErrorShape(await sized.json()), path).toBe(true);
    }
    // Streamed in chunks with no content-length: counted as it arrives, refused once past the limit.
    const chunk = new Uint8Array(1024 * 1024).fill(0x20);
    let sent = 0;
    const stream = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (sent > REQUEST_BODY_BYTES_MAX + chunk.length) controller.close();
        else {
          sent += chunk.length;
          controller.enqueue(chunk);
        }
      },
    });
    const streamed = await s.app.request("/api/v1/usage", {
      method: "POST",
      headers: { ...auth, "content-type": "application/json" },
      body: stream,
      duplex: "half",
    });
    expect(streamed.status).toBe(413);
    expect(await companyFingerprint(s.db, companyId)).toBe(before);
  });

  it(`JSON nested deeper than ${JSON_DEPTH_MAX} levels is refused with a clear 400`, async () => {
    const [[, auth] = ["", {}]] = await principals();
    for (const body of [`{"records":${deepJson(JSON_DEPTH_MAX + 1)}}`, deepJson(10_000, '{"a":', "}")]) {
      const res = await s.app.request("/api/v1/usage", {
        method: "POST",
        headers: { ...auth, "content-type": "application/json" },
        body: body.includes('{"a":{') ? body.replace(/}$/, "1}") : body,
      });
      expect(res.status).toBe(400);
      const json = (await res.json()) as { error: { code: string; message: string } };
      expect(json.error.code).toBe("invalid_input");
      expect(json.error.message).toContain(`${JSON_DEPTH_MAX}`);
    }
  });

  it("formula injection: hostile names come out of CSV and XLSX reports neutralised", async () => {
    const [[, auth] = ["", {}]] = await principals();
    const names = ["=cmd|' /C calc'!A0", "+1+1", "-2+3", "@SUM(A1)", "\t=1"];
    for (const [i, name] of names.entries()) {
      const res = await s.app.request("/api/v1/sip-profiles", {
        method: "POST",
        headers: { ...auth, "content-type": "application/json" },
        body: JSON.stringify({ name: `${name} ${i}`, channels: 1 }),
      });
      expect(res.status, await res.clone().text()).toBe(201);
      const alloc = await s.app.request("/api/v1/allocations/credit", {
        method: "POST",
        headers: { ...auth, "content-type": "application/json" },
        body: JSON.stringify({ to: `sip:${`${name} ${i}`.trim()}`, amount: "0.01" }),
      });
      expect(alloc.status, await alloc.clone().text()).toBe(200);
    }
    const month = new Date(s.clock.now()).toISOString().slice(0, 7);
    for (const report of ["summary", "allocations"]) {
      const csv = await (
        await s.app.request(`/api/v1/reports/${report}?month=${month}&format=csv`, { headers: auth })
      ).text();
      for (const prefixed of ["'=cmd|", "'+1+1", "'-2+3", "'@SUM(A1)"])
        expect(csv, report).toContain(prefixed);
      const cells = csv.split(/,|\r\n/).map((c) => c.replace(/^"/, ""));
      for (const cell of cells) expect(/^[=+@\t\r]/.test(cell), `${report}: ${cell}`).toBe(false);
      // In a spreadsheet file the names are text cells, never formulas.
      const xlsx = await s.app.request(`/api/v1/reports/${report}?month=${month}&format=xlsx`, {
        headers: auth,
      });
      const book = new ExcelJS.Workbook();
      await book.xlsx.load(await xlsx.arrayBuffer());
      let texts = 0;
      book.eachSheet((sheet) =>
        sheet.eachRow((row) =>
          row.eachCell((cell) => {
            // The only formulas are the writer's own totals (SUM over a column).
            if (cell.type === ExcelJS.ValueType.Formula)
              expect(cell.formula, `${report}.xlsx ${cell.address}`).toMatch(/^SUM\([A-Z]+\d+:[A-Z]+\d+\)$/);
            if (typeof cell.value === "string" && cell.value.includes("=cmd|")) texts++;
          }),
        ),
      );
      expect(texts, `${report}.xlsx has the hostile name as text`).toBeGreaterThan(0);
    }
  });

  it("path tricks outside the API never reach files beyond the web app", async () => {
    for (const path of [
      "/assets/..%2f..%2fpackage.json",
      "/assets/%2e%2e/%2e%2e/package.json",
      "/assets/../../package.json",
      "/assets/..\\..\\package.json",
      "/%2e%2e/%2e%2e/etc/passwd",
      "/assets/%00",
      "/api/v1/%2e%2e/%2e%2e/healthz",
    ]) {
      const res = await s.app.request(path);
      const text = await res.text();
      expect(text, path).not.toContain('"name": "switchboard"');
      expect(text, path).not.toContain("root:x:0:0");
      expect(leakIn(text), path).toBeUndefined();
    }
    for (const path of ["/healthz", "/readyz", "/api/openapi.json", "/api/docs", "/favicon.ico"])
      expect((await s.app.request(path)).status, path).toBeLessThan(400);
  });

  afterAll(() => {
    console.info(
      `fuzz.http on ${dialect}: ${cases} cases over ${fuzzed.size} routes (${RUNS[dialect]} per route and principal)`,
    );
  });
});
