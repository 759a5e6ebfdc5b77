/** Sign-in, sessions, CSRF, throttling, reports and privacy over HTTP, on SQLite and PostgreSQL. */
import { Validator } from "@seriousme/openapi-schema-validator";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { importBundle } from "../src/bundle/import";
import { specExampleBundle } from "./helpers/spec-example-bundle";
import { DIALECTS, postgresAvailable } from "./helpers/databases";
import { createTestServer } from "./helpers/http";
import type { TestServer } from "./helpers/http";
import { NOW } from "./helpers/reports";

const pgOk = await postgresAvailable();
const PASSWORD = "optional plain text, hashed on import";

describe.each(DIALECTS.filter((d) => d === "sqlite" || pgOk))("HTTP sign-in and reports on %s", (dialect) => {
  let s: TestServer;
  beforeAll(async () => {
    s = await createTestServer(dialect);
    await importBundle(s.db, specExampleBundle(), { nowMs: NOW });
  });
  afterAll(async () => s.drop());

  it("health and readiness", async () => {
    const c = s.client();
    expect((await c.get("/healthz")).json).toEqual({ status: "ok" });
    expect((await c.get("/readyz")).json).toEqual({ status: "ready" });
  });

  it("refuses anonymous requests with 401 and the error shape", async () => {
    const res = await s.client().get("/api/v1/reports/summary");
    expect(res.status).toBe(401);
    expect(res.json).toEqual({
      error: { code: "unauthenticated", message: "sign in first (or send an API key)" },
    });
  });

  it("signs in with a secure session cookie and reads the Summary", async () => {
    const c = s.client();
    const res = await c.login("ana@acme.example", PASSWORD);
    expect(res.status).toBe(200);
    expect(res.json).toMatchObject({
      kind: "admin",
      role: "owner",
      email: "ana@acme.example",
      company: { currency: "EUR" },
    });
    const cookie = res.headers.get("set-cookie") ?? "";
    expect(cookie).toMatch(/HttpOnly/i);
    expect(cookie).toMatch(/SameSite=Lax/i);
    const summary = await c.get("/api/v1/reports/summary?month=2026-09");
    expect(summary.status).toBe(200);
    expect(summary.json.totals.closing_company_balance).toBe("115.01");
    const csv = await c.get("/api/v1/reports/purchases?month=2026-09&format=csv&status=completed");
    expect(csv.headers.get("content-type")).toContain("text/csv");
    expect(csv.text.split("\r\n")[1]).toBe(
      "2026-09-01T10:00:00+01:00,P-1001,card,completed,100.00,20.00,120.00,EUR,ana@acme.example",
    );
    const bad = await c.get("/api/v1/reports/summary?month=2026-9");
    expect(bad.status).toBe(400);
    expect(bad.json.error.code).toBe("invalid_input");
  });

  it("a wrong password is 401; repeated failures are throttled with 429", async () => {
    const c = s.client();
    for (let i = 0; i < 5; i++) expect((await c.login("bob@acme.example", "wrong")).status).toBe(401);
    expect((await c.login("bob@acme.example", "wrong")).status).toBe(429);
  });

  it("a write without the CSRF token is refused", async () => {
    const c = s.client();
    await c.login("ana@acme.example", PASSWORD);
    const res = await c.request("POST", "/api/v1/privacy/acknowledge", {}, { "x-csrf-token": "nope" });
    expect(res.status).toBe(403);
    expect(res.json.error.message).toContain("CSRF");
  });

  it("sessions expire", async () => {
    const c = s.client();
    await c.login("ana@acme.example", PASSWORD);
    s.clock.advance(13 * 3600_000);
    expect((await c.get("/api/v1/auth/session")).status).toBe(401);
    s.clock.set(NOW);
  });

  it("sign-out ends the session", async () => {
    const c = s.client();
    await c.login("ana@acme.example", PASSWORD);
    const cookie = c.cookie;
    expect((await c.post("/api/v1/auth/logout")).status).toBe(204);
    c.cookie = cookie;
    expect((await c.get("/api/v1/auth/session")).status).toBe(401);
  });

  it("usage reports obey consent, and are audited", async () => {
    const c = s.client();
    await c.login("ana@acme.example", PASSWORD);
    const bob = await c.get("/api/v1/reports/usage?month=2026-09&subject=acme.bob");
    expect(bob.status).toBe(200);
    expect(bob.json.rows[0].status).toBe("covered");
    const zoe = await c.get("/api/v1/reports/usage?month=2026-09&subject=zoe.ng");
    expect(zoe.status).toBe(403);
    expect(zoe.json.error).toMatchObject({ code: "consent_required", details: { balance: "0.00" } });
  });

  it("downloads a report as PDF and XLSX", async () => {
    const c = s.client();
    await c.login("ana@acme.example", PASSWORD);
    const pdf = await c.get("/api/v1/reports/summary?month=2026-09&format=pdf");
    expect(pdf.status).toBe(200);
    expect(pdf.headers.get("content-type")).toBe("application/pdf");
    expect(pdf.text.startsWith("%PDF-")).toBe(true);
    const xlsx = await c.get("/api/v1/reports/purchases?month=2026-09&format=xlsx");
    expect(xlsx.status).toBe(200);
    expect(xlsx.headers.get("content-disposition")).toContain("purchases-2026-09.xlsx");
  });

  it("removing an admin named in the history marks them removed: no sign-in, the reports still name them", async () => {
    const ana = s.client();
    await ana.login("ana@acme.example", PASSWORD);
    const added = await ana.post("/api/v1/admins", {
      email: "olga@acme.example",
      name: "Olga Owner",
      role: "owner",
      password: "another-long-password",
    });
    expect(added.status).toBeLessThan(300);
    const olga = s.client();
    await olga.login("olga@acme.example", "another-long-password");
    const admins = (await olga.get("/api/v1/admins")).json as
      { admins?: { id: number; email: string }[] } | { id: number; email: string }[];
    const list = Array.isArray(admins) ? admins : (admins.admins ?? []);
    const anaId = list.find((a) => a.email === "ana@acme.example")?.id;
    expect(anaId).toBeDefined();
    const removed = await olga.delete(`/api/v1/admins/${String(anaId)}`);
    expect(removed.status).toBeLessThan(300);
    expect((await s.client().login("ana@acme.example", PASSWORD)).status).toBe(401);
    expect((await ana.get("/api/v1/auth/session")).status).toBe(401);
    const report = await olga.get("/api/v1/reports/allocations?month=2026-09");
    expect(report.json.rows[0].allocated_by).toBe("ana@acme.example");
    const again = await olga.get("/api/v1/admins");
    expect(JSON.stringify(again.json)).not.toContain("ana@acme.example");
  });

  it("member search folds case beyond ASCII (Zoë found by ZOË)", async () => {
    const c = s.client();
    await c.login("olga@acme.example", "another-long-password");
    const res = await c.get(`/api/v1/members?q=${encodeURIComponent("ZOË")}`);
    expect(res.status).toBe(200);
    expect(JSON.stringify(res.json)).toContain("zoe.ng");
  });

  it("serves a valid OpenAPI 3.1 document", async () => {
    const res = await s.client().get("/api/openapi.json");
    expect(res.status).toBe(200);
    expect(res.json.openapi).toBe("3.1.0");
    const validator = new Validator();
    const verdict = await validator.validate(res.json);
    expect(verdict.errors ?? []).toEqual([]);
    expect(verdict.valid).toBe(true);
    expect(Object.keys(res.json.paths)).toContain("/api/v1/reports/{report}");
  });
});
