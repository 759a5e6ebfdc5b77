/**
 * The security review as tests: the authorization matrix of every route (generated from the OpenAPI
 * document: a route without an entry fails) × anonymous, member, viewer, admin, owner, another company's
 * owner and an API key of each scope; session fixation; CSRF; cookie flags; sign-in throttling; API-key
 * revocation; the constant-time comparison helper; security headers; error responses that leak nothing.
 * Authorization does not depend on the database, so this suite runs on SQLite (the fuzz and isolation
 * suites run on both).
 */
import fs from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { hashPassword } from "../src/auth/password";
import { importBundle } from "../src/bundle/import";
import { inTransaction } from "../src/db/database";
import { API_DOCS_CSP } from "../src/http/app";
import { jsonDepthExceeds, jsonHasNul } from "../src/http/input-guard";
import { API_KEY_SCOPES } from "../src/http/context";
import type { ApiKeyScope } from "../src/http/context";
import {
  createApiKey,
  LOGIN_FAILURES_PER_ADDRESS_MAX,
  LOGIN_FAILURES_PER_EMAIL_MAX,
  LOGIN_WINDOW_MS,
  safeEqual,
} from "../src/services/auth.service";
import { companyFingerprint, leakIn, routeKey, routesOf, VALID_BODIES } from "./helpers/fuzz";
import type { OpenApiDocument, RouteInfo } from "./helpers/fuzz";
import { createTestServer } from "./helpers/http";
import type { TestServer } from "./helpers/http";
import { NOW } from "./helpers/reports";
import { specExampleBundle } from "./helpers/spec-example-bundle";

const PASSWORD = "optional plain text, hashed on import";

type Role = "owner" | "admin" | "viewer";
interface Rule {
  /** No sign-in needed: everyone may call it. */
  public?: boolean;
  /** Any signed-in person (not an API key). */
  sessions?: boolean;
  /** Anyone signed in or holding any API key. */
  anyone?: boolean;
  roles?: readonly Role[];
  member?: boolean;
  scopes?: readonly ApiKeyScope[];
}

const READ: readonly Role[] = ["owner", "admin", "viewer"];
const MANAGE: readonly Role[] = ["owner", "admin"];
const OWNER: readonly Role[] = ["owner"];
const MEMBERS_READ: Rule = { roles: READ, scopes: ["members:read"] };
const MEMBERS_WRITE: Rule = { roles: MANAGE, scopes: ["members:write"] };
const BILLING_READ: Rule = { roles: READ, scopes: ["billing:write"] };
const BILLING_WRITE: Rule = { roles: MANAGE, scopes: ["billing:write"] };
const REPORTS: Rule = { roles: READ, scopes: ["reports:read"] };

/** Who may call what (PRODUCT.md §1 and the API-key scopes). Every route of the API must be here. */
const MATRIX: Record<string, Rule> = {
  "POST /api/v1/auth/login": { public: true },
  "GET /api/v1/auth/session": { sessions: true },
  "POST /api/v1/auth/logout": { anyone: true },
  "POST /api/v1/auth/password": { sessions: true },
  // Tested with the Summary: members open only their own Usage report.
  "GET /api/v1/reports/{report}": REPORTS,
  "GET /api/v1/reports-months": { ...REPORTS, member: true },
  "POST /api/v1/privacy/acknowledge": { roles: READ },
  "GET /api/v1/me": { member: true },
  "POST /api/v1/me/consent": { member: true },
  "GET /api/v1/members": MEMBERS_READ,
  "POST /api/v1/members": MEMBERS_WRITE,
  "GET /api/v1/members/{id}": MEMBERS_READ,
  "PATCH /api/v1/members/{id}": MEMBERS_WRITE,
  "POST /api/v1/members/import": MEMBERS_WRITE,
  "POST /api/v1/invitations": MEMBERS_WRITE,
  "GET /api/v1/invitations": MEMBERS_READ,
  "DELETE /api/v1/invitations/{id}": MEMBERS_WRITE,
  "GET /api/v1/invitations/by-token/{token}": { public: true },
  "POST /api/v1/invitations/by-token/{token}/accept": { public: true },
  "POST /api/v1/invitations/by-token/{token}/decline": { public: true },
  "GET /api/v1/groups": MEMBERS_READ,
  "POST /api/v1/groups": MEMBERS_WRITE,
  "PATCH /api/v1/groups/{id}": MEMBERS_WRITE,
  "DELETE /api/v1/groups/{id}": MEMBERS_WRITE,
  "PUT /api/v1/groups/{id}/members/{memberId}": MEMBERS_WRITE,
  "DELETE /api/v1/groups/{id}/members/{memberId}": MEMBERS_WRITE,
  "GET /api/v1/sip-profiles": MEMBERS_READ,
  "POST /api/v1/sip-profiles": MEMBERS_WRITE,
  "PATCH /api/v1/sip-profiles/{id}": MEMBERS_WRITE,
  "GET /api/v1/admins": { roles: READ },
  "POST /api/v1/admins": { roles: OWNER },
  "PATCH /api/v1/admins/{id}": { roles: OWNER },
  "DELETE /api/v1/admins/{id}": { roles: OWNER },
  "GET /api/v1/api-keys": { roles: MANAGE },
  "POST /api/v1/api-keys": { roles: MANAGE },
  "DELETE /api/v1/api-keys/{id}": { roles: MANAGE },
  "GET /api/v1/company": { ...REPORTS, member: true },
  "POST /api/v1/purchases": BILLING_WRITE,
  "POST /api/v1/purchases/{reference}/settle": BILLING_WRITE,
  "GET /api/v1/purchases/{reference}": BILLING_READ,
  "GET /api/v1/purchases/{reference}/receipt.pdf": { roles: READ, scopes: ["billing:write", "reports:read"] },
  "POST /api/v1/allocations/credit": BILLING_WRITE,
  "POST /api/v1/reclaims": BILLING_WRITE,
  "POST /api/v1/subscriptions": BILLING_WRITE,
  "GET /api/v1/subscriptions": BILLING_READ,
  "PATCH /api/v1/subscriptions/{id}": BILLING_WRITE,
  "POST /api/v1/numbers": BILLING_WRITE,
  "GET /api/v1/numbers": BILLING_READ,
  "PATCH /api/v1/numbers/{id}": BILLING_WRITE,
  "GET /api/v1/auto-rules": BILLING_READ,
  "PUT /api/v1/auto-rules/{subject}": BILLING_WRITE,
  "DELETE /api/v1/auto-rules/{subject}": BILLING_WRITE,
  "GET /api/v1/rates": BILLING_READ,
  "PUT /api/v1/rates/{prefix}": BILLING_WRITE,
  "DELETE /api/v1/rates/{prefix}": BILLING_WRITE,
  "GET /api/v1/plans": BILLING_READ,
  "POST /api/v1/plans": BILLING_WRITE,
  "POST /api/v1/usage": { roles: MANAGE, scopes: ["usage:write"] },
  "GET /api/v1/balances": REPORTS,
  "GET /api/v1/audit-log": { roles: OWNER },
  "GET /api/v1/downloads": REPORTS,
  "POST /api/v1/downloads/jobs": REPORTS,
  "GET /api/v1/downloads/jobs": REPORTS,
  "GET /api/v1/downloads/jobs/{id}": REPORTS,
  "DELETE /api/v1/downloads/jobs/{id}": REPORTS,
  "GET /api/v1/downloads/jobs/{id}/file": REPORTS,
  "GET /api/v1/me/data-export": { member: true },
  "GET /api/v1/members/{id}/data-export": { roles: MANAGE },
  "POST /api/v1/members/{id}/erase": { roles: OWNER },
};

type Who =
  | { kind: "anonymous" }
  | { kind: "session"; role: Role | "member"; other?: boolean }
  | { kind: "api_key"; scope: ApiKeyScope };

function allowed(rule: Rule, who: Who): boolean {
  if (rule.public) return true;
  if (who.kind === "anonymous") return false;
  if (rule.anyone) return true;
  if (who.kind === "api_key") return (rule.scopes ?? []).includes(who.scope);
  if (rule.sessions) return true;
  if (who.role === "member") return rule.member === true;
  return (rule.roles ?? []).includes(who.role);
}

/** A refusal by authentication or authorization (not by the input, the state or the privacy rules). */
const DENIAL =
  /sign in first|not valid \(or was revoked\)|may not do this|lacks the .+ scope|API keys cannot do this|has no session|has no password|not API keys/;

function denied(status: number, body: unknown): boolean {
  if (status === 401) return true;
  const e = (body as { error?: { code?: string; message?: string } } | undefined)?.error;
  return status === 403 && e?.code === "forbidden" && DENIAL.test(e.message ?? "");
}

const whoLabel = (w: Who): string =>
  w.kind === "anonymous"
    ? "anonymous"
    : w.kind === "api_key"
      ? `API key [${w.scope}]`
      : `${w.other ? "other company's " : ""}${w.role}`;

/** Company A with an admin, a viewer and a throwaway viewer; company B with its own owner. */
function companyA(): unknown {
  const doc = specExampleBundle() as { admins: Record<string, unknown>[] };
  doc.admins.push(
    { email: "adam@acme.example", name: "Adam", role: "admin", password: PASSWORD },
    { email: "vera@acme.example", name: "Vera", role: "viewer", password: PASSWORD },
    { email: "victim@acme.example", name: "Victim", role: "viewer", password: PASSWORD },
  );
  return doc;
}
function companyB(): unknown {
  const text = JSON.stringify(specExampleBundle())
    .replaceAll("Acme Ltd", "Beta GmbH")
    .replaceAll("acme.example", "beta.example")
    .replaceAll("acme.bob", "beta.bert")
    .replaceAll("P-100", "B-200");
  return JSON.parse(text);
}

describe("security review", () => {
  let s: TestServer;
  let aId: number;
  let routes: RouteInfo[];
  const ids: Record<string, number> = {};

  const login = async (email: string): Promise<Record<string, string>> => {
    const c = s.client();
    const res = await c.login(email, PASSWORD);
    expect(res.status, email).toBe(200);
    return { cookie: c.cookie ?? "", "x-csrf-token": c.csrf ?? "" };
  };
  const apiKey = async (companyId: number, scopes: string[]): Promise<string> => {
    const admin = await s.db.k
      .selectFrom("admins")
      .selectAll()
      .where("company_id", "=", companyId)
      .where("role", "=", "owner")
      .executeTakeFirstOrThrow();
    return (
      await inTransaction(s.db, (tx) =>
        createApiKey(tx, { companyId, name: scopes.join(" "), scopes, admin, nowMs: NOW }),
      )
    ).key;
  };
  const call = async (method: string, path: string, headers: Record<string, string>, body?: unknown) => {
    const res = await s.app.request(path, {
      method,
      headers: { ...headers, ...(body === undefined ? {} : { "content-type": "application/json" }) },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await res.text();
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      json = undefined;
    }
    return { status: res.status, headers: res.headers, text, json };
  };

  beforeAll(async () => {
    s = await createTestServer("sqlite");
    aId = (await importBundle(s.db, companyA(), { nowMs: NOW })).company_id;
    await importBundle(s.db, companyB(), { nowMs: NOW });
    await s.db.k
      .updateTable("members")
      .set({ password_hash: await hashPassword(PASSWORD) })
      .where("company_id", "=", aId)
      .where("username", "=", "acme.bob")
      .execute();
    routes = routesOf((await s.client().get("/api/openapi.json")).json as OpenApiDocument);
    const one = async (table: "members" | "groups" | "sip_profiles" | "subscriptions" | "numbers") =>
      (
        await s.db.k
          .selectFrom(table)
          .select("id")
          .where("company_id", "=", aId)
          .orderBy("id")
          .executeTakeFirstOrThrow()
      ).id;
    ids["members"] = await one("members");
    ids["groups"] = await one("groups");
    ids["sip-profiles"] = await one("sip_profiles");
    ids["subscriptions"] = await one("subscriptions");
    ids["numbers"] = await one("numbers");
    ids["admins"] = (
      await s.db.k
        .selectFrom("admins")
        .select("id")
        .where("email", "=", "victim@acme.example")
        .executeTakeFirstOrThrow()
    ).id;
  });
  afterAll(async () => s.drop());

  it("every route of the API has an entry in the authorization matrix", () => {
    const missing = routes.map(routeKey).filter((k) => MATRIX[k] === undefined);
    expect(missing, "add these routes to MATRIX in test/security.test.ts").toEqual([]);
  });

  it("authorization matrix: every route × every kind of caller", async () => {
    const bId = aId + 1;
    const victimKey = await apiKey(aId, ["reports:read"]);
    const victimKeyId = (
      await s.db.k
        .selectFrom("api_keys")
        .select("id")
        .where("key_hash", "=", (await import("../src/services/auth.service")).sha256(victimKey))
        .executeTakeFirstOrThrow()
    ).id;
    const invite = await call(
      "POST",
      "/api/v1/invitations",
      { authorization: `Bearer ${await apiKey(aId, ["members:write"])}` },
      { email: "matrix@example.org" },
    );
    expect(invite.status).toBe(201);
    const fill = (path: string): string =>
      path
        .replace(/\/members\/\{id\}\/erase/, `/members/${(throwaway.json as { id: number }).id}/erase`)
        .replace(/\/admins\/\{id\}/, `/admins/${ids["admins"]}`)
        .replace(/\/api-keys\/\{id\}/, `/api-keys/${victimKeyId}`)
        .replace(/\/invitations\/\{id\}/, `/invitations/${(invite.json as { id: number }).id}`)
        .replace(
          /\/groups\/\{id\}\/members\/\{memberId\}/,
          `/groups/${ids["groups"]}/members/${ids["members"]}`,
        )
        .replace(
          /\/(members|groups|sip-profiles|subscriptions|numbers)\/\{id\}/,
          (_m, t: string) => `/${t}/${ids[t]}`,
        )
        .replace("{id}", "1")
        .replace("{reference}", "P-1001")
        .replace("{subject}", "acme.bob")
        .replace("{prefix}", "44")
        .replace("{token}", "not-a-token")
        .replace("{report}", "summary");
    const query = (r: RouteInfo): string =>
      r.path.includes("/reports/") || r.path.endsWith("/downloads")
        ? "?month=2026-09" + (r.path.endsWith("/downloads") ? "&reports=summary&format=csv" : "")
        : "";

    // Sessions end on sign-out and erasure, so those routes are checked last.
    const last = (r: RouteInfo) => 2 * Number(r.path.endsWith("/logout")) + Number(r.path.endsWith("/erase"));
    const ordered = [...routes].sort((a, b) => last(a) - last(b));
    const throwaway = await call(
      "POST",
      "/api/v1/members",
      { authorization: `Bearer ${await apiKey(aId, ["members:write"])}` },
      { name: "Throwaway", username: "throw.away", email: "throwaway@acme.example" },
    );
    expect(throwaway.status).toBe(201);
    const failures: string[] = [];
    let checks = 0;
    const callers: [Who, Record<string, string>][] = [
      [{ kind: "anonymous" }, {}],
      [{ kind: "session", role: "owner", other: true }, await login("ana@beta.example")],
      [{ kind: "session", role: "member" }, await login("bob@acme.example")],
      [{ kind: "session", role: "viewer" }, await login("vera@acme.example")],
      [{ kind: "session", role: "admin" }, await login("adam@acme.example")],
      [{ kind: "session", role: "owner" }, await login("ana@acme.example")],
    ];
    for (const scope of API_KEY_SCOPES)
      callers.push([{ kind: "api_key", scope }, { authorization: `Bearer ${await apiKey(aId, [scope])}` }]);
    for (const route of ordered) {
      const rule = MATRIX[routeKey(route)];
      if (!rule) continue;
      for (const [who, headers] of callers) {
        const body =
          route.method === "GET" || route.method === "DELETE"
            ? undefined
            : route.path.endsWith("/auth/login")
              ? { email: "ana@acme.example", password: PASSWORD }
              : (VALID_BODIES[routeKey(route)] ?? {});
        const path = fill(route.path) + query(route);
        const beforeA = who.kind === "session" && who.other ? await companyFingerprint(s.db, aId) : "";
        const res = await call(
          route.method,
          path,
          headers,
          route.path.endsWith("/import") ? undefined : body,
        );
        checks++;
        const expected = allowed(rule, who);
        const wasDenied = denied(res.status, res.json);
        if (res.status >= 500 || expected === wasDenied)
          failures.push(
            `${whoLabel(who)} ${route.method} ${path} → ${res.status} ${res.text.slice(0, 160)} (expected ${expected ? "allowed" : "denied"})`,
          );
        if (who.kind === "session" && who.other) {
          // A's objects in the path (a download job's id is the caller's own, not A's).
          const aObjects = route.params.some((p) => ["id", "memberId", "reference", "subject"].includes(p));
          if (aObjects && !route.path.includes("/downloads/jobs/"))
            expect(res.status, `other company's owner ${route.method} ${path}`).not.toBeLessThan(300);
          expect(await companyFingerprint(s.db, aId), `other company's owner ${route.method} ${path}`).toBe(
            beforeA,
          );
        }
      }
    }
    await s.db.k.deleteFrom("login_attempts").execute();
    expect(failures).toEqual([]);
    expect(checks).toBeGreaterThan(routes.length * 10);
    expect(bId).toBeGreaterThan(aId);
  });

  it("session fixation: a pre-set session cookie is never adopted; sign-in issues a new id", async () => {
    const planted = "sb_session=attacker-chosen-session-id";
    const res = await s.app.request("/api/v1/auth/login", {
      method: "POST",
      headers: { cookie: planted, "content-type": "application/json" },
      body: JSON.stringify({ email: "ana@acme.example", password: PASSWORD }),
    });
    expect(res.status).toBe(200);
    const issued = /sb_session=([^;]+)/.exec(res.headers.get("set-cookie") ?? "")?.[1];
    expect(issued).toBeDefined();
    expect(issued).not.toBe("attacker-chosen-session-id");
    expect((await call("GET", "/api/v1/auth/session", { cookie: planted })).status).toBe(401);
    const again = await s.client().login("ana@acme.example", PASSWORD);
    expect(/sb_session=([^;]+)/.exec(again.headers.get("set-cookie") ?? "")?.[1]).not.toBe(issued);
  });

  it("CSRF: cookie-authenticated writes need the session's own token; API keys need none", async () => {
    const owner = await login("ana@acme.example");
    const other = await login("adam@acme.example");
    const before = await companyFingerprint(s.db, aId);
    const writes = routes.filter((r) => r.method !== "GET" && !MATRIX[routeKey(r)]?.public);
    expect(writes.length).toBeGreaterThan(30);
    for (const route of writes) {
      const path = route.path.replace(/\{\w+\}/g, "1");
      const body = VALID_BODIES[routeKey(route)];
      for (const token of [undefined, "", "wrong-token", other["x-csrf-token"] ?? ""]) {
        const headers: Record<string, string> = { cookie: owner.cookie ?? "" };
        if (token !== undefined) headers["x-csrf-token"] = token;
        const res = await call(route.method, path, headers, body);
        expect(res.status, `${route.method} ${path} with CSRF token ${String(token)}`).toBe(403);
        expect((res.json as { error: { message: string } }).error.message).toContain("CSRF");
      }
    }
    expect(await companyFingerprint(s.db, aId)).toBe(before);
    const key = await apiKey(aId, ["members:write"]);
    const res = await call(
      "POST",
      "/api/v1/groups",
      { authorization: `Bearer ${key}` },
      { name: "No CSRF needed" },
    );
    expect(res.status).toBe(201);
  });

  it("cookie flags: HttpOnly, SameSite=Lax, Path=/; Secure and HSTS only with SECURE_COOKIES", async () => {
    const plain = await s.client().login("ana@acme.example", PASSWORD);
    const cookie = plain.headers.get("set-cookie") ?? "";
    expect(cookie).toMatch(/HttpOnly/i);
    expect(cookie).toMatch(/SameSite=Lax/i);
    expect(cookie).toMatch(/Path=\//i);
    expect(cookie).not.toMatch(/Secure/i);
    expect(plain.headers.get("strict-transport-security")).toBeNull();
    const secure = await createTestServer("sqlite", { SECURE_COOKIES: "true" });
    try {
      await importBundle(secure.db, specExampleBundle(), { nowMs: NOW });
      const res = await secure.client().login("ana@acme.example", PASSWORD);
      expect(res.headers.get("set-cookie") ?? "").toMatch(/;\s*Secure/i);
      expect(res.headers.get("strict-transport-security")).toMatch(/max-age=\d{8,}/);
    } finally {
      await secure.drop();
    }
    const c = s.client();
    await c.login("ana@acme.example", PASSWORD);
    const out = await c.post("/api/v1/auth/logout");
    expect(out.headers.get("set-cookie") ?? "").toMatch(/sb_session=;|Max-Age=0/i);
  });

  it("sign-in throttling: per email, then per address, for the window; the right password does not bypass it", async () => {
    await s.db.k.deleteFrom("login_attempts").execute();
    const c = s.client();
    for (let i = 0; i < LOGIN_FAILURES_PER_EMAIL_MAX; i++)
      expect((await c.login("vera@acme.example", "wrong password")).status).toBe(401);
    const locked = await c.login("vera@acme.example", PASSWORD);
    expect(locked.status).toBe(429);
    expect(locked.json.error.code).toBe("rate_limited");
    await s.db.k.deleteFrom("login_attempts").execute();
    for (let i = 0; i < LOGIN_FAILURES_PER_ADDRESS_MAX; i++)
      expect((await c.login(`nobody${i}@acme.example`, "wrong password")).status).toBe(401);
    expect((await c.login("adam@acme.example", PASSWORD)).status).toBe(429);
    s.clock.advance(LOGIN_WINDOW_MS + 1);
    expect((await c.login("adam@acme.example", PASSWORD)).status).toBe(200);
    s.clock.set(NOW);
    await s.db.k.deleteFrom("login_attempts").execute();
  });

  it("API keys: a revoked, unknown or malformed key is refused with 401", async () => {
    const key = await apiKey(aId, ["reports:read"]);
    expect((await call("GET", "/api/v1/balances", { authorization: `Bearer ${key}` })).status).toBe(200);
    await s.db.k
      .updateTable("api_keys")
      .set({ revoked_at_ms: NOW })
      .where("name", "=", "reports:read")
      .execute();
    for (const auth of [
      `Bearer ${key}`,
      `Bearer ${key}x`,
      "Bearer sbk_",
      "Bearer",
      "Basic YTpi",
      `Bearer ${"a".repeat(5000)}`,
    ])
      expect((await call("GET", "/api/v1/balances", { authorization: auth })).status, auth.slice(0, 40)).toBe(
        401,
      );
  });

  it("secrets are compared in constant time or by their hashes", () => {
    expect(safeEqual("a-csrf-token", "a-csrf-token")).toBe(true);
    expect(safeEqual("a-csrf-token", "a-csrf-tokeN")).toBe(false);
    expect(safeEqual("a-csrf-token", "a-csrf-token-longer")).toBe(false);
    expect(safeEqual("", "")).toBe(true);
    expect(safeEqual("é", "e\u0301")).toBe(false);
    const auth = fs.readFileSync(new URL("../src/http/auth.ts", import.meta.url), "utf8");
    expect(auth).toMatch(/safeEqual\(sent, session\.csrf_token\)/);
    expect(auth).not.toMatch(/===\s*session\.csrf_token|csrf_token\s*===/);
    const service = fs.readFileSync(new URL("../src/services/auth.service.ts", import.meta.url), "utf8");
    expect(service).toMatch(/crypto\.timingSafeEqual/);
    // Session tokens and API keys are looked up by their SHA-256, never compared as they are.
    expect(service).toMatch(/\.where\("token_hash", "=", sha256\(token\)\)/);
    expect(service).toMatch(/\.where\("key_hash", "=", sha256\(key\)\)/);
    const invitations = fs.readFileSync(
      new URL("../src/services/invitation.service.ts", import.meta.url),
      "utf8",
    );
    expect(invitations).toMatch(/\.where\("token_hash", "=", sha256\(token\)\)/);
  });

  it("security headers on HTML, API and download responses", async () => {
    const owner = await login("ana@acme.example");
    const responses = {
      html: await call("GET", "/reports/summary", {}),
      api: await call("GET", "/api/v1/balances", owner),
      error: await call("GET", "/api/v1/members/999999", owner),
      csv: await call("GET", "/api/v1/reports/purchases?month=2026-09&format=csv", owner),
      download: await call("GET", "/api/v1/downloads?reports=summary&month=2026-09&format=csv", owner),
      receipt: await call("GET", "/api/v1/purchases/P-1001/receipt.pdf", owner),
      docs: await call("GET", "/api/docs", {}),
    };
    for (const [what, res] of Object.entries(responses)) {
      const h = res.headers;
      expect(h.get("content-security-policy"), what).toContain("frame-ancestors 'none'");
      expect(h.get("x-content-type-options"), what).toBe("nosniff");
      expect(h.get("referrer-policy"), what).toBe("same-origin");
      expect(h.get("x-frame-options"), what).toBe("DENY");
      expect(h.get("strict-transport-security"), what).toBeNull();
    }
    expect(responses.csv.status).toBe(200);
    expect(responses.receipt.status).toBe(200);
    // The API documentation page gets its own policy (Swagger UI's assets), still never framed.
    expect(responses.docs.headers.get("content-security-policy")).toBe(API_DOCS_CSP);
    expect(responses.api.headers.get("content-security-policy")).toContain("script-src 'self';");
    expect(responses.download.headers.get("content-disposition")).toMatch(/^attachment; filename="[\w.-]+"$/);
  });

  it("error responses never show stack traces or SQL, even when the database fails", async () => {
    const broken = await createTestServer("sqlite");
    await importBundle(broken.db, specExampleBundle(), { nowMs: NOW });
    const key = await (async () => {
      const admin = await broken.db.k.selectFrom("admins").selectAll().executeTakeFirstOrThrow();
      return (
        await inTransaction(broken.db, (tx) =>
          createApiKey(tx, {
            companyId: admin.company_id,
            name: "k",
            scopes: ["reports:read"],
            admin,
            nowMs: NOW,
          }),
        )
      ).key;
    })();
    await broken.db.close();
    const errors = console.error;
    console.error = () => undefined;
    try {
      for (const path of ["/api/v1/balances", "/api/v1/reports/summary?month=2026-09", "/readyz"]) {
        const res = await broken.app.request(path, { headers: { authorization: `Bearer ${key}` } });
        const text = await res.text();
        expect(res.status, path).toBeGreaterThanOrEqual(500);
        expect(leakIn(text), `${path}: ${text}`).toBeUndefined();
        expect(text).not.toMatch(/not open|closed|sqlite/i);
      }
    } finally {
      console.error = errors;
    }
    for (const [path, init] of [
      ["/api/v1/members/abc", {}],
      ["/api/v1/nope", {}],
      [
        "/api/v1/auth/login",
        { method: "POST", headers: { "content-type": "application/json" }, body: "{bad json" },
      ],
    ] as const) {
      const res = await s.app.request(path, init);
      const text = await res.text();
      expect(res.status, path).toBeLessThan(500);
      expect(leakIn(text), text).toBeUndefined();
    }
  });

  it("the input guard's scanners (JSON depth, NUL) are exact", () => {
    expect(jsonDepthExceeds("[[[]]]", 3)).toBe(false);
    expect(jsonDepthExceeds("[[[[]]]]", 3)).toBe(true);
    expect(jsonDepthExceeds('["[[[[[[", {"a":"{{{{{"}]', 2)).toBe(false);
    expect(jsonDepthExceeds('["\\"[[[["]', 1)).toBe(false);
    expect(jsonHasNul('{"a":"\\u0000"}')).toBe(true);
    expect(jsonHasNul('{"a":"\\\\u0000"}')).toBe(false);
    expect(jsonHasNul('{"a":"\\\\\\u0000"}')).toBe(true);
    expect(jsonHasNul('{"a":"x\u0000"}')).toBe(true);
    expect(jsonHasNul('{"a":"u0000"}')).toBe(false);
  });
});
