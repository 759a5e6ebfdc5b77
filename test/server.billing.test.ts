/**
 * Billing over HTTP on SQLite and PostgreSQL: purchases, credit, subscriptions, numbers, auto-allocation
 * rules, rates, plans, usage batches, balances and the audit log — figures worked out by hand from the
 * PRODUCT.md §8 example (Acme at 2026-11-27T12:00Z: company 115.01, acme.bob 15.00, zoe.ng 0.00,
 * London PBX −0.22) — plus roles, API-key scopes, tenant isolation, idempotency and 200 racing allocations.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { importBundle } from "../src/bundle/import";
import { findBalanceMismatches } from "../src/services/allocation.service";
import { createApiKey } from "../src/services/auth.service";
import { USAGE_BATCH_RECORDS_MAX } from "../src/services/usage.service";
import { DIALECTS, postgresAvailable } from "./helpers/databases";
import { createTestServer } from "./helpers/http";
import type { TestClient, TestServer } from "./helpers/http";
import { NOW } from "./helpers/reports";
import { specExampleBundle } from "./helpers/spec-example-bundle";
import type { JsonObject } from "./helpers/spec-example-bundle";

const pgOk = await postgresAvailable();
if (!pgOk) console.warn("NOTICE: PostgreSQL is not reachable: the billing HTTP suites run on SQLite only.");
const PASSWORD = "optional plain text, hashed on import";

/** Acme (the §8 example) with an admin and a viewer besides its owner. */
function acmeBundle(): JsonObject {
  const b = specExampleBundle();
  (b["admins"] as JsonObject[]).push(
    { email: "adam@acme.example", name: "Adam Admin", role: "admin", password: PASSWORD },
    { email: "vic@acme.example", name: "Vic Viewer", role: "viewer", password: PASSWORD },
  );
  return b;
}

/** Another company with the same history, its own names. */
function betaBundle(): JsonObject {
  const text = JSON.stringify(specExampleBundle())
    .replaceAll("Acme Ltd", "Beta GmbH")
    .replaceAll("ana@acme.example", "olga@beta.example")
    .replaceAll("acme.bob", "beta.bob")
    .replaceAll("zoe.ng", "beta.zoe")
    .replaceAll("London PBX", "Berlin PBX")
    .replaceAll("P-10", "B-10");
  return JSON.parse(text) as JsonObject;
}

const enc = encodeURIComponent;

describe.each(DIALECTS.filter((d) => d === "sqlite" || pgOk))("billing routes on %s", (dialect) => {
  let s: TestServer;
  let acmeId: number;
  let betaId: number;
  let owner: TestClient;
  let admin: TestClient;
  let viewer: TestClient;
  let betaOwner: TestClient;

  beforeAll(async () => {
    s = await createTestServer(dialect);
    acmeId = (await importBundle(s.db, acmeBundle(), { nowMs: NOW })).company_id;
    betaId = (await importBundle(s.db, betaBundle(), { nowMs: NOW })).company_id;
    owner = s.client();
    admin = s.client();
    viewer = s.client();
    betaOwner = s.client();
    expect((await owner.login("ana@acme.example", PASSWORD)).status).toBe(200);
    expect((await admin.login("adam@acme.example", PASSWORD)).status).toBe(200);
    expect((await viewer.login("vic@acme.example", PASSWORD)).status).toBe(200);
    expect((await betaOwner.login("olga@beta.example", PASSWORD)).status).toBe(200);
  });
  afterAll(async () => s.drop());

  const balances = async (c: TestClient = owner) => {
    const res = await c.get("/api/v1/balances");
    expect(res.status).toBe(200);
    const bySubject = Object.fromEntries(
      (res.json.subjects as { subject: string; balance: string }[]).map((x) => [x.subject, x.balance]),
    );
    return { company: res.json.company_balance as string, ...bySubject } as Record<string, string>;
  };

  it("GET /balances: the company and every member and SIP profile (viewer may read)", async () => {
    const res = await viewer.get("/api/v1/balances");
    expect(res.status).toBe(200);
    expect(res.json).toEqual({
      currency: "EUR",
      company_balance: "115.01",
      subjects: [
        { type: "member", subject: "acme.bob", name: "Bob Byrne", balance: "15.00" },
        { type: "member", subject: "zoe.ng", name: "Zoë Ng", balance: "0.00" },
        { type: "sip_profile", subject: "sip:London PBX", name: "London PBX", balance: "-0.22" },
      ],
    });
    expect((await balances(betaOwner)).company).toBe("115.01");
    expect(Object.keys(await balances(betaOwner))).not.toContain("acme.bob");
  });

  it("purchases: record (VAT half up), settle, read; validation, roles, duplicates, other company", async () => {
    const completed = await owner.post("/api/v1/purchases", {
      reference: "P-2001",
      amount: "40.00",
      vat_rate: "0.20",
      payment_method: "card",
      status: "completed",
    });
    expect(completed.status).toBe(201);
    expect(completed.json).toMatchObject({
      reference: "P-2001",
      amount: "40.00",
      vat_rate: "0.20",
      vat: "8.00",
      total: "48.00",
      currency: "EUR",
      status: "completed",
      date: "2026-11-27T12:00:00+00:00",
      settled_at: "2026-11-27T12:00:00+00:00",
      purchased_by: "ana@acme.example",
      company_balance: "155.01", // 115.01 + 40.00 net
    });
    // 12.34 × 0.175 = 2.1595 → 2.16 (half up); pending adds nothing yet.
    const pending = await admin.post("/api/v1/purchases", {
      reference: "P-2002",
      amount: "12.34",
      vat_rate: "0.175",
      payment_method: "bank_transfer",
      status: "pending",
    });
    expect(pending.status).toBe(201);
    expect(pending.json).toMatchObject({
      vat: "2.16",
      total: "14.50",
      status: "pending",
      settled_at: null,
      purchased_by: "adam@acme.example",
      company_balance: "155.01",
    });
    s.clock.advance(60_000);
    const settled = await owner.post("/api/v1/purchases/P-2002/settle", { status: "completed" });
    expect(settled.status).toBe(200);
    expect(settled.json).toMatchObject({
      status: "completed",
      settled_at: "2026-11-27T12:01:00+00:00",
      company_balance: "167.35", // 155.01 + 12.34
    });
    s.clock.set(NOW);
    const again = await owner.post("/api/v1/purchases/P-2002/settle", { status: "failed" });
    expect(again.status).toBe(409);
    const read = await viewer.get("/api/v1/purchases/P-2002");
    expect(read.status).toBe(200);
    expect(read.json).toMatchObject({ reference: "P-2002", status: "completed", company_balance: "167.35" });

    const tooPrecise = await owner.post("/api/v1/purchases", {
      reference: "P-2003",
      amount: "10.123",
      payment_method: "card",
      status: "completed",
    });
    expect(tooPrecise.status).toBe(400);
    expect(tooPrecise.json.error).toMatchObject({
      code: "invalid_input",
      message: "amount: more decimals than EUR allows",
    });
    const badMethod = await owner.post("/api/v1/purchases", {
      reference: "P-2003",
      amount: "10.00",
      payment_method: "cash",
      status: "completed",
    });
    expect(badMethod.status).toBe(400);
    expect(badMethod.json.error.message).toMatch(/^payment_method: /);
    const badVat = await owner.post("/api/v1/purchases", {
      reference: "P-2003",
      amount: "10.00",
      vat_rate: "1.5",
      payment_method: "card",
      status: "completed",
    });
    expect(badVat.json.error.message).toBe("vat_rate: must be between 0 and 1");
    const duplicate = await owner.post("/api/v1/purchases", {
      reference: "P-2001",
      amount: "1.00",
      payment_method: "card",
      status: "completed",
    });
    expect(duplicate.status).toBe(409);
    const byViewer = await viewer.post("/api/v1/purchases", {
      reference: "P-2004",
      amount: "1.00",
      payment_method: "card",
      status: "completed",
    });
    expect(byViewer.status).toBe(403);
    expect(byViewer.json.error).toEqual({ code: "forbidden", message: "a viewer may not do this" });
    expect((await owner.get("/api/v1/purchases/B-1001")).status).toBe(404);
    expect((await owner.post("/api/v1/purchases/B-1002/settle", { status: "completed" })).status).toBe(404);
    expect((await balances()).company).toBe("167.35");
  });

  it("credit: allocate and reclaim answer the new balances; refusals change nothing", async () => {
    const res = await owner.post("/api/v1/allocations/credit", { to: "acme.bob", amount: "10.00" });
    expect(res.status).toBe(200);
    expect(res.json).toEqual({
      transfer_id: expect.any(Number),
      amount: "10.00",
      currency: "EUR",
      subject: "acme.bob",
      recipient_balance: "25.00", // 15.00 + 10.00
      company_balance: "157.35", // 167.35 − 10.00
    });
    const other = await owner.post("/api/v1/allocations/credit", { to: "beta.bob", amount: "1.00" });
    expect(other.status).toBe(404);
    expect(other.json.error.message).toBe('no member with username "beta.bob"');
    expect(
      (await owner.post("/api/v1/allocations/credit", { to: "sip:Berlin PBX", amount: "1.00" })).status,
    ).toBe(404);
    const tooPrecise = await owner.post("/api/v1/allocations/credit", { to: "acme.bob", amount: "0.001" });
    expect(tooPrecise.json.error.message).toBe("amount: more decimals than EUR allows");
    const negative = await owner.post("/api/v1/allocations/credit", { to: "acme.bob", amount: "-1.00" });
    expect(negative.status).toBe(400);
    expect(negative.json.error.message).toMatch(/^amount: /);
    const missing = await owner.post("/api/v1/allocations/credit", { amount: "1.00" });
    expect(missing.status).toBe(400);
    expect(missing.json.error.message).toMatch(/^to: /);
    const tooMuch = await owner.post("/api/v1/allocations/credit", { to: "acme.bob", amount: "157.36" });
    expect(tooMuch.status).toBe(422);
    expect(tooMuch.json.error).toEqual({
      code: "insufficient_balance",
      message: "the company balance is 157.35 EUR, 157.36 EUR is needed",
    });
    expect((await viewer.post("/api/v1/allocations/credit", { to: "acme.bob", amount: "1.00" })).status).toBe(
      403,
    );

    const reclaim = await admin.post("/api/v1/reclaims", { from: "acme.bob", amount: "5.00" });
    expect(reclaim.status).toBe(200);
    expect(reclaim.json).toMatchObject({
      subject: "acme.bob",
      recipient_balance: "20.00",
      company_balance: "162.35",
    });
    const personal = await owner.post("/api/v1/reclaims", { from: "zoe.ng", amount: "0.01" });
    expect(personal.status).toBe(403);
    const overdraw = await owner.post("/api/v1/reclaims", { from: "acme.bob", amount: "20.01" });
    expect(overdraw.status).toBe(422);
    expect(overdraw.json.error.message).toBe("Bob Byrne has 20.00 EUR; at most that can be reclaimed");
    expect((await owner.post("/api/v1/reclaims", { from: "beta.bob", amount: "1.00" })).status).toBe(404);
    expect(await balances()).toMatchObject({ company: "162.35", "acme.bob": "20.00" });
  });

  it("idempotency: one key, one transfer, the same answer; another body is refused", async () => {
    const key = { "idempotency-key": "alloc-zoe-1" };
    const first = await owner.post("/api/v1/allocations/credit", { to: "zoe.ng", amount: "1.50" }, key);
    expect(first.status).toBe(200);
    expect(first.json).toMatchObject({ recipient_balance: "1.50", company_balance: "160.85" });
    const retry = await owner.post("/api/v1/allocations/credit", { to: "zoe.ng", amount: "1.50" }, key);
    expect(retry.status).toBe(200);
    expect(retry.headers.get("idempotent-replayed")).toBe("true");
    expect(retry.json).toEqual(first.json);
    const changed = await owner.post("/api/v1/allocations/credit", { to: "zoe.ng", amount: "2.50" }, key);
    expect(changed.status).toBe(422);
    expect(changed.json.error.code).toBe("idempotency_key_reused");
    const transfers = await s.db.k
      .selectFrom("transfers as t")
      .innerJoin("members as m", "m.account_id", "t.recipient_account_id")
      .select((eb) => eb.fn.countAll<number>().as("n"))
      .where("m.username", "=", "zoe.ng")
      .where("t.kind", "=", "allocate")
      .executeTakeFirstOrThrow();
    expect(Number(transfers.n)).toBe(1);
    expect(await balances()).toMatchObject({ company: "160.85", "zoe.ng": "1.50" });
  });

  let euPlanId: number;

  it("plans: create and list; validation names the field", async () => {
    const res = await owner.post("/api/v1/plans", {
      name: "EU Roam",
      price: "9.99",
      prefixes: ["33", "49"],
      minutes: 300,
    });
    expect(res.status).toBe(201);
    euPlanId = res.json.id as number;
    expect(res.json).toEqual({
      id: euPlanId,
      name: "EU Roam",
      price: "9.99",
      currency: "EUR",
      prefixes: ["33", "49"],
      minutes: 300,
    });
    const list = await viewer.get("/api/v1/plans");
    expect((list.json.items as { name: string; price: string }[]).map((p) => `${p.name} ${p.price}`)).toEqual(
      ["Unlimited UK 4.99", "EU Roam 9.99"],
    );
    expect((await betaOwner.get("/api/v1/plans")).json.items).toHaveLength(1);
    const dup = await owner.post("/api/v1/plans", {
      name: "EU Roam",
      price: "1.00",
      prefixes: ["33"],
      minutes: 1,
    });
    expect(dup.status).toBe(409);
    const badPrefix = await owner.post("/api/v1/plans", {
      name: "X",
      price: "1.00",
      prefixes: ["3a"],
      minutes: 1,
    });
    expect(badPrefix.json.error.message).toBe('prefixes: "3a" is not a digits prefix');
    const noMinutes = await owner.post("/api/v1/plans", { name: "X", price: "1.00", prefixes: ["3"] });
    expect(noMinutes.json.error.message).toMatch(/^minutes: /);
    expect(
      (await viewer.post("/api/v1/plans", { name: "X", price: "1.00", prefixes: ["3"], minutes: 1 })).status,
    ).toBe(403);
  });

  it("subscriptions: allocate (paid now, one month), list active and past with used minutes", async () => {
    const res = await owner.post("/api/v1/subscriptions", {
      to: "sip:London PBX",
      plan_id: euPlanId,
      renew: true,
    });
    expect(res.status).toBe(201);
    expect(res.json).toEqual({
      item: {
        id: expect.any(Number),
        subject: "sip:London PBX",
        recipient: "London PBX",
        plan_id: euPlanId,
        plan: "EU Roam",
        price: "9.99",
        allocated_at: "2026-11-27T12:00:00+00:00",
        active_from: "2026-11-27T12:00:00+00:00",
        active_until: "2026-12-27T12:00:00+00:00",
        status: "active",
        minutes: 300,
        used_minutes: 0,
        remaining_minutes: 300,
        renew: true,
        renewal_state: "active",
      },
      company_balance: "150.86", // 160.85 − 9.99
    });
    const twice = await owner.post("/api/v1/subscriptions", { to: "sip:London PBX", plan_id: euPlanId });
    expect(twice.status).toBe(409);
    const betaPlan = await s.db.k
      .selectFrom("plans")
      .select("id")
      .where("company_id", "=", betaId)
      .executeTakeFirstOrThrow();
    expect((await owner.post("/api/v1/subscriptions", { to: "acme.bob", plan_id: betaPlan.id })).status).toBe(
      404,
    );
    expect((await owner.post("/api/v1/subscriptions", { to: "beta.bob", plan_id: euPlanId })).status).toBe(
      404,
    );

    const list = await viewer.get("/api/v1/subscriptions");
    expect(list.status).toBe(200);
    expect(list.json.items).toHaveLength(2);
    // Bob's Unlimited UK of 2026-09-01 covered one 125 s call: billed 180 s, 3 minutes of 1000.
    expect(list.json.items[1]).toMatchObject({
      subject: "acme.bob",
      plan: "Unlimited UK",
      price: "4.99",
      active_from: "2026-09-01T10:06:00+01:00",
      active_until: "2026-10-01T10:06:00+01:00",
      status: "ended",
      used_minutes: 3,
      remaining_minutes: 997,
      renew: false,
      renewal_state: "active",
    });
    const bobs = await viewer.get(`/api/v1/subscriptions?subject=acme.bob`);
    expect(bobs.json.items).toHaveLength(1);
    expect((await owner.get("/api/v1/subscriptions?subject=beta.bob")).status).toBe(404);
    const page = await owner.get(`/api/v1/subscriptions?limit=1&before=${res.json.item.id}`);
    expect((page.json.items as { plan: string }[]).map((x) => x.plan)).toEqual(["Unlimited UK"]);
    expect((await owner.get("/api/v1/subscriptions?limit=501")).status).toBe(400);

    const off = await admin.patch(`/api/v1/subscriptions/${res.json.item.id}`, { renew: false });
    expect(off.status).toBe(200);
    expect(off.json.renew).toBe(false);
    const betaSub = await s.db.k
      .selectFrom("subscriptions")
      .select("id")
      .where("company_id", "=", betaId)
      .executeTakeFirstOrThrow();
    expect((await owner.patch(`/api/v1/subscriptions/${betaSub.id}`, { renew: true })).status).toBe(404);
  });

  it("numbers: allocate for a term, list, renewal switch; validation and isolation", async () => {
    const res = await owner.post("/api/v1/numbers", {
      to: "acme.bob",
      number: "+442079460999",
      months: 12,
      price: "24.00",
    });
    expect(res.status).toBe(201);
    expect(res.json).toEqual({
      item: {
        id: expect.any(Number),
        subject: "acme.bob",
        recipient: "Bob Byrne",
        number: "+442079460999",
        months: 12,
        price: "24.00",
        allocated_at: "2026-11-27T12:00:00+00:00",
        active_until: "2027-11-27T12:00:00+00:00",
        status: "active",
        renew: false,
        renewal_state: "active",
      },
      company_balance: "126.86", // 150.86 − 24.00
    });
    const taken = await owner.post("/api/v1/numbers", {
      to: "zoe.ng",
      number: "+442079460999",
      months: 1,
      price: "1.00",
    });
    expect(taken.status).toBe(409);
    const badNumber = await owner.post("/api/v1/numbers", {
      to: "acme.bob",
      number: "00442079460998",
      months: 1,
      price: "1.00",
    });
    expect(badNumber.json.error.message).toBe(
      'number: "00442079460998" is not a phone number like +442079460000',
    );
    const badMonths = await owner.post("/api/v1/numbers", {
      to: "acme.bob",
      number: "+442079460998",
      months: 0,
      price: "1.00",
    });
    expect(badMonths.status).toBe(400);
    expect(badMonths.json.error.message).toMatch(/^months: /);
    const badPrice = await owner.post("/api/v1/numbers", {
      to: "acme.bob",
      number: "+442079460998",
      months: 1,
      price: "1.005",
    });
    expect(badPrice.json.error.message).toBe("price: more decimals than EUR allows");

    const list = await viewer.get("/api/v1/numbers");
    expect(list.json.items).toMatchObject([
      { number: "+442079460999", status: "active" },
      // 2026-09-01 10:07 BST + 3 months = 2026-12-01 10:07 GMT.
      { number: "+442079460000", subject: "sip:London PBX", active_until: "2026-12-01T10:07:00+00:00" },
    ]);
    const on = await owner.patch(`/api/v1/numbers/${res.json.item.id}`, { renew: true });
    expect(on.json).toMatchObject({ renew: true, renewal_state: "active" });
    expect((await viewer.patch(`/api/v1/numbers/${res.json.item.id}`, { renew: false })).status).toBe(403);
    const betaNumber = await s.db.k
      .selectFrom("numbers")
      .select("id")
      .where("company_id", "=", betaId)
      .executeTakeFirstOrThrow();
    expect((await owner.patch(`/api/v1/numbers/${betaNumber.id}`, { renew: true })).status).toBe(404);
    expect((await betaOwner.get("/api/v1/numbers")).json.items).toHaveLength(1);
  });

  it("auto-allocation rules: list, set, remove (audited); another company's subject is 404", async () => {
    const list = await viewer.get("/api/v1/auto-rules");
    expect(list.json.items).toEqual([
      {
        subject: "acme.bob",
        recipient: "Bob Byrne",
        threshold: "2.00",
        amount: "10.00",
        monthly_cap: "30.00",
        set_by: "ana@acme.example",
        updated_at: "2026-09-01T10:08:00+01:00",
      },
    ]);
    const path = `/api/v1/auto-rules/${enc("sip:London PBX")}`;
    const put = await admin.put(path, { threshold: "1.00", amount: "5.00", monthly_cap: "20.00" });
    expect(put.status).toBe(200);
    expect(put.json).toEqual({
      subject: "sip:London PBX",
      recipient: "London PBX",
      threshold: "1.00",
      amount: "5.00",
      monthly_cap: "20.00",
      set_by: "adam@acme.example",
      updated_at: "2026-11-27T12:00:00+00:00",
    });
    const bad = await admin.put(path, { threshold: "1.00", amount: "5.001", monthly_cap: "20.00" });
    expect(bad.json.error.message).toBe("amount: more decimals than EUR allows");
    expect((await viewer.put(path, { threshold: "1", amount: "5", monthly_cap: "20" })).status).toBe(403);
    expect((await admin.delete(path)).status).toBe(204);
    expect((await admin.delete(path)).status).toBe(404);
    expect(
      (await owner.put(`/api/v1/auto-rules/beta.bob`, { threshold: "1", amount: "5", monthly_cap: "20" }))
        .status,
    ).toBe(404);
    expect((await owner.delete(`/api/v1/auto-rules/beta.bob`)).status).toBe(404);
    expect((await betaOwner.get("/api/v1/auto-rules")).json.items).toHaveLength(1);
  });

  it("rates: list, put, delete; a bad price names the field", async () => {
    const list = await viewer.get("/api/v1/rates");
    expect(
      (list.json.items as { prefix: string; per_minute: string }[]).map((r) => [r.prefix, r.per_minute]),
    ).toEqual([
      ["44", "0.0230"],
      ["447", "0.1500"],
    ]);
    const rate = {
      name: "France",
      per_minute: "0.0500",
      connection_fee: "0.0100",
      interval: "30/6",
      sms: "0.0900",
    };
    const put = await owner.put("/api/v1/rates/33", rate);
    expect(put.status).toBe(200);
    expect(put.json).toEqual({ prefix: "33", ...rate });
    const bad = await owner.put("/api/v1/rates/33", { ...rate, per_minute: "abc" });
    expect(bad.status).toBe(400);
    expect(bad.json.error.message).toBe('per_minute: must be a decimal string like "0.0230"');
    const badInterval = await owner.put("/api/v1/rates/33", { ...rate, interval: "60" });
    expect(badInterval.json.error.message).toMatch(/^interval: /);
    expect((await owner.put("/api/v1/rates/3x", rate)).status).toBe(400);
    expect((await viewer.put("/api/v1/rates/33", rate)).status).toBe(403);
    expect((await betaOwner.get("/api/v1/rates")).json.items).toHaveLength(2);
    expect((await betaOwner.delete("/api/v1/rates/33")).status).toBe(404);
    expect((await owner.delete("/api/v1/rates/33")).status).toBe(204);
    expect((await owner.delete("/api/v1/rates/33")).status).toBe(404);
  });

  it("usage batches: valid records stored and charged, invalid ones listed, duplicates counted", async () => {
    const at = "2026-11-27T11:00:00Z";
    const records = [
      // 125 s at 44 (60/60): billed 180 s; 0.0390 + 0.0230 × 3 = 0.1080 → 0.11 (up).
      {
        external_id: "h-1",
        subject: "sip:London PBX",
        kind: "call",
        started_at: at,
        destination: "+44 20 7946 0123",
        duration_s: 125,
      },
      // One SMS at 447: 0.1100.
      { external_id: "h-2", subject: "acme.bob", kind: "sms", started_at: at, destination: "+447700900123" },
      // No rate for 999: stored unrated, charge 0.
      {
        external_id: "h-3",
        subject: "zoe.ng",
        kind: "call",
        started_at: at,
        destination: "+99912345678",
        duration_s: 30,
      },
      {
        external_id: "h-4",
        subject: "nobody",
        kind: "call",
        started_at: at,
        destination: "+442079460123",
        duration_s: 1,
      },
      {
        external_id: "h-5",
        subject: "acme.bob",
        kind: "call",
        started_at: at,
        destination: "+442079460123",
        duration_s: -1,
      },
      {
        external_id: "h-1",
        subject: "sip:London PBX",
        kind: "call",
        started_at: at,
        destination: "+442079460123",
        duration_s: 125,
      },
      "not a record",
      { external_id: "h-8", subject: "beta.bob", kind: "sms", started_at: at, destination: "+447700900123" },
    ];
    const res = await owner.post("/api/v1/usage", { records });
    expect(res.status).toBe(200);
    expect(res.json).toEqual({
      stored: 3,
      duplicates: 1,
      unrated: 1,
      charged: "0.22",
      currency: "EUR",
      auto_allocations: 0,
      rejected: [
        { index: 3, external_id: "h-4", field: "subject", reason: 'no member with username "nobody"' },
        { index: 4, external_id: "h-5", field: "duration_s", reason: "must be at least 0" },
        {
          index: 6,
          external_id: null,
          field: "",
          reason:
            "must be an object with the keys external_id, subject, kind, started_at, destination, duration_s, segments",
        },
        { index: 7, external_id: "h-8", field: "subject", reason: 'no member with username "beta.bob"' },
      ],
    });
    // PBX −0.22 − 0.11; Bob 20.00 − 0.11 (still above his 2.00 threshold: no auto-allocation).
    expect(await balances()).toMatchObject({
      company: "126.86",
      "acme.bob": "19.89",
      "sip:London PBX": "-0.33",
    });
    const again = await owner.post("/api/v1/usage", { records });
    expect(again.json).toMatchObject({ stored: 0, duplicates: 4, unrated: 0, charged: "0.00" });
    expect(again.json.rejected).toHaveLength(4);
    expect(await balances()).toMatchObject({ "acme.bob": "19.89", "sip:London PBX": "-0.33" });

    const tooMany = await owner.post("/api/v1/usage", {
      records: Array.from({ length: USAGE_BATCH_RECORDS_MAX + 1 }, () => ({})),
    });
    expect(tooMany.status).toBe(400);
    expect(tooMany.json.error.message).toMatch(/^records: /);
    expect((await owner.post("/api/v1/usage", [])).status).toBe(400);
    expect((await viewer.post("/api/v1/usage", { records: [] })).status).toBe(403);
  });

  it("API keys: reports:read cannot post usage; usage:write can, and nothing else", async () => {
    const ana = await s.db.k
      .selectFrom("admins")
      .selectAll()
      .where("company_id", "=", acmeId)
      .where("email", "=", "ana@acme.example")
      .executeTakeFirstOrThrow();
    const readKey = await createApiKey(s.db, {
      companyId: acmeId,
      name: "reports",
      scopes: ["reports:read"],
      admin: ana,
      nowMs: NOW,
    });
    const usageKey = await createApiKey(s.db, {
      companyId: acmeId,
      name: "pbx",
      scopes: ["usage:write"],
      admin: ana,
      nowMs: NOW,
    });
    const record = {
      external_id: "k-1",
      subject: "acme.bob",
      kind: "sms",
      started_at: "2026-11-27T11:30:00Z",
      destination: "+447700900123",
      segments: 2,
    };
    const reader = s.client();
    reader.bearer = readKey.key;
    const refused = await reader.post("/api/v1/usage", { records: [record] });
    expect(refused.status).toBe(403);
    expect(refused.json.error.message).toBe("this API key lacks the usage:write scope");
    expect((await reader.get("/api/v1/balances")).status).toBe(200);

    const pbx = s.client();
    pbx.bearer = usageKey.key;
    const ok = await pbx.post("/api/v1/usage", { records: [record] });
    expect(ok.status).toBe(200);
    expect(ok.json).toMatchObject({ stored: 1, charged: "0.22", rejected: [] });
    expect((await pbx.post("/api/v1/allocations/credit", { to: "acme.bob", amount: "1.00" })).status).toBe(
      403,
    );
    expect((await pbx.get("/api/v1/balances")).status).toBe(403);
    expect((await balances())["acme.bob"]).toBe("19.67"); // 19.89 − 2 × 0.11
  });

  it("audit log: owners only, newest first, filtered by action, paged by id", async () => {
    const res = await owner.get("/api/v1/audit-log?action=auto_rule.deleted");
    expect(res.status).toBe(200);
    expect(res.json.items).toEqual([
      {
        id: expect.any(Number),
        at: "2026-11-27T12:00:00+00:00",
        actor: "adam@acme.example",
        action: "auto_rule.deleted",
        subject: "sip:London PBX",
        details: null,
      },
    ]);
    const rate = await owner.get("/api/v1/audit-log?action=rate.set");
    expect(rate.json.items[0]).toMatchObject({
      subject: "33",
      details: { name: "France", interval: "30/6" },
    });
    const page1 = await owner.get("/api/v1/audit-log?limit=2");
    expect(page1.json.items).toHaveLength(2);
    expect(page1.json.next_before).toBe(page1.json.items[1].id);
    const page2 = await owner.get(`/api/v1/audit-log?limit=2&before=${page1.json.next_before}`);
    expect(page2.json.items[0].id).toBeLessThan(page1.json.next_before);
    expect((await owner.get("/api/v1/audit-log?limit=501")).status).toBe(400);
    expect((await viewer.get("/api/v1/audit-log")).status).toBe(403);
    expect((await admin.get("/api/v1/audit-log")).status).toBe(403);
    const beta = await betaOwner.get("/api/v1/audit-log");
    expect((beta.json.items as { actor: string }[]).every((e) => !e.actor.includes("acme"))).toBe(true);
  });

  it("the ledger still adds up", async () => {
    expect(await findBalanceMismatches(s.db, acmeId)).toEqual([]);
    expect(await findBalanceMismatches(s.db, betaId)).toEqual([]);
  });
});

describe.each(DIALECTS.filter((d) => d === "sqlite" || pgOk))(
  "200 racing allocations over HTTP on %s",
  (dialect) => {
    let s: TestServer;
    let companyId: number;
    beforeAll(async () => {
      s = await createTestServer(dialect);
      const b = specExampleBundle();
      b["events"] = [
        {
          at: "2026-11-01T09:00:00Z",
          type: "purchase",
          by: "ana@acme.example",
          reference: "P-1",
          amount: "50.00",
          payment_method: "card",
          status: "completed",
        },
      ];
      companyId = (await importBundle(s.db, b, { nowMs: NOW })).company_id;
    });
    afterAll(async () => s.drop());

    it("exactly 50 of 200 allocations of 1.00 succeed against 50.00; the balance ends at 0.00", async () => {
      const c = s.client();
      await c.login("ana@acme.example", PASSWORD);
      const results = await Promise.all(
        Array.from({ length: 200 }, (_, i) =>
          c.post(
            "/api/v1/allocations/credit",
            { to: i % 2 === 0 ? "acme.bob" : "sip:London PBX", amount: "1.00" },
            { "idempotency-key": `race-${i}` },
          ),
        ),
      );
      const ok = results.filter((r) => r.status === 200);
      const refused = results.filter((r) => r.status === 422);
      expect(ok).toHaveLength(50);
      expect(refused).toHaveLength(150);
      for (const r of refused) expect(r.json.error.code).toBe("insufficient_balance");
      const res = await c.get("/api/v1/balances");
      expect(res.json.company_balance).toBe("0.00");
      const subjects = res.json.subjects as { balance: string }[];
      const total = subjects.reduce((sum, x) => sum + Math.round(Number(x.balance) * 100), 0);
      expect(total).toBe(5000);
      expect(await findBalanceMismatches(s.db, companyId)).toEqual([]);
    });
  },
);
