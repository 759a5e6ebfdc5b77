/**
 * Tenant isolation, generated from the route table: every route in the OpenAPI document, called by every
 * kind of principal of company B (owner, admin, viewer, member, API key with all scopes) with company A's
 * ids and references in the path, must never show A's data — and afterwards A's data is unchanged.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { hashPassword } from "../src/auth/password";
import { importBundle } from "../src/bundle/import";
import { inTransaction } from "../src/db/database";
import type { Database } from "../src/db/database";
import { createApiKey } from "../src/services/auth.service";
import { API_KEY_SCOPES } from "../src/http/context";
import { DIALECTS, postgresAvailable } from "./helpers/databases";
import { createTestServer } from "./helpers/http";
import type { TestClient, TestServer } from "./helpers/http";
import { NOW } from "./helpers/reports";
import { specExampleBundle } from "./helpers/spec-example-bundle";

const pgOk = await postgresAvailable();
const PASSWORD = "optional plain text, hashed on import";

/** Strings only company A has: none may appear in any answer to company B. */
const A_MARKERS = [
  "Acme Ltd",
  "acme.bob",
  "Bob Byrne",
  "bob@acme.example",
  "London PBX",
  "P-1001",
  "+442079460000",
];

/** Company B: the same shape as A, with its own names. */
function companyB(): unknown {
  const text = JSON.stringify(specExampleBundle())
    .replaceAll("Acme Ltd", "Beta GmbH")
    .replaceAll("acme.bob", "beta.bert")
    .replaceAll("Bob Byrne", "Bert Brandt")
    .replaceAll("bob@acme.example", "bert@beta.example")
    .replaceAll("ana@acme.example", "ana@beta.example")
    .replaceAll("London PBX", "Berlin PBX")
    .replaceAll("P-1001", "B-2001")
    .replaceAll("P-1002", "B-2002")
    .replaceAll("+442079460000", "+493012345678");
  const doc = JSON.parse(text) as { admins: Record<string, unknown>[] };
  doc.admins.push(
    { email: "adam@beta.example", name: "Adam", role: "admin", password: PASSWORD },
    { email: "vera@beta.example", name: "Vera", role: "viewer", password: PASSWORD },
  );
  return doc;
}

async function snapshot(db: Database, companyId: number): Promise<string> {
  const out: Record<string, unknown> = {};
  for (const table of [
    "accounts",
    "admins",
    "members",
    "groups",
    "member_groups",
    "sip_profiles",
    "rates",
    "plans",
    "purchases",
    "transfers",
    "subscriptions",
    "numbers",
    "auto_rules",
    "usage_records",
    "api_keys",
    "invitations",
  ] as const) {
    out[table] = await db.k
      .selectFrom(table)
      .selectAll()
      .where("company_id", "=", companyId)
      .orderBy("company_id")
      .execute();
  }
  return JSON.stringify(out);
}

describe.each(DIALECTS.filter((d) => d === "sqlite" || pgOk))("tenant isolation on %s", (dialect) => {
  let s: TestServer;
  let aId: number;
  let bId: number;
  const idsOfA: number[] = [];
  const principals: [string, TestClient][] = [];

  beforeAll(async () => {
    s = await createTestServer(dialect);
    aId = (await importBundle(s.db, specExampleBundle(), { nowMs: NOW })).company_id;
    bId = (await importBundle(s.db, companyB(), { nowMs: NOW })).company_id;
    // A's ids of every kind, to put in B's paths.
    for (const table of [
      "members",
      "groups",
      "sip_profiles",
      "admins",
      "subscriptions",
      "numbers",
      "plans",
      "purchases",
    ] as const) {
      const rows = await s.db.k.selectFrom(table).select("id").where("company_id", "=", aId).execute();
      for (const r of rows) if (!idsOfA.includes(r.id)) idsOfA.push(r.id);
    }
    const owner = s.client();
    expect((await owner.login("ana@beta.example", PASSWORD)).status).toBe(200);
    const admin = s.client();
    await admin.login("adam@beta.example", PASSWORD);
    const viewer = s.client();
    await viewer.login("vera@beta.example", PASSWORD);
    await s.db.k
      .updateTable("members")
      .set({ password_hash: await hashPassword(PASSWORD) })
      .where("company_id", "=", bId)
      .where("username", "=", "beta.bert")
      .execute();
    const member = s.client();
    expect((await member.login("bert@beta.example", PASSWORD)).status).toBe(200);
    const keyHolder = s.client();
    const bOwner = await s.db.k
      .selectFrom("admins")
      .selectAll()
      .where("company_id", "=", bId)
      .where("role", "=", "owner")
      .executeTakeFirstOrThrow();
    keyHolder.bearer = (
      await inTransaction(s.db, (tx) =>
        createApiKey(tx, {
          companyId: bId,
          name: "all",
          scopes: [...API_KEY_SCOPES],
          admin: bOwner,
          nowMs: NOW,
        }),
      )
    ).key;
    principals.push(
      ["owner", owner],
      ["admin", admin],
      ["viewer", viewer],
      ["member", member],
      ["api key", keyHolder],
    );
  });
  afterAll(async () => s.drop());

  it("no route shows or changes company A's data to company B", async () => {
    const before = await snapshot(s.db, aId);
    const doc = (await s.client().get("/api/openapi.json")).json as {
      paths: Record<string, Record<string, unknown>>;
    };
    const routes = Object.entries(doc.paths).flatMap(([path, ops]) =>
      Object.keys(ops)
        .filter((m) => ["get", "post", "put", "patch", "delete"].includes(m))
        .map((m) => ({ method: m.toUpperCase(), path })),
    );
    expect(routes.length).toBeGreaterThan(10);
    let calls = 0;
    const refs: Record<string, string[]> = {
      reference: ["P-1001"],
      subject: ["acme.bob", "sip:London PBX"],
      report: ["summary", "purchases", "allocations", "usage"],
      prefix: ["44"],
      token: ["not-a-token"],
    };
    for (const route of routes) {
      if (route.path.endsWith("/auth/logout") || route.path.endsWith("/auth/password")) continue;
      const params = [...route.path.matchAll(/\{(\w+)\}/g)].map((m) => m[1] ?? "");
      const fills: string[] = [];
      if (params.length === 0) fills.push(route.path);
      else
        for (const value of params.flatMap((p) => refs[p] ?? idsOfA.map(String)))
          fills.push(route.path.replace(/\{\w+\}/g, encodeURIComponent(value)));
      for (const path of fills) {
        const query = route.path.includes("/reports/") ? "?subject=acme.bob&month=2026-09" : "";
        for (const [who, client] of principals) {
          const body =
            route.method === "GET" || route.method === "DELETE"
              ? undefined
              : { to: "acme.bob", from: "acme.bob", amount: "1.00" };
          const res = await client.request(route.method, path + query, body);
          calls++;
          // Echoing the caller's own input back ("no member with username …") is not a leak.
          const asked = decodeURIComponent(path + query) + JSON.stringify(body ?? "");
          for (const marker of A_MARKERS)
            if (res.text.includes(marker) && !asked.includes(marker))
              throw new Error(
                `${who} ${route.method} ${path}${query} → ${res.status} shows "${marker}": ${res.text.slice(0, 200)}`,
              );
          expect(res.status, `${who} ${route.method} ${path}`).toBeLessThan(500);
        }
      }
    }
    expect(calls).toBeGreaterThan(100);
    expect(await snapshot(s.db, aId)).toBe(before);
  });
});
