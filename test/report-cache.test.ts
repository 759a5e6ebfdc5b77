/**
 * @module The report cache never serves a stale report: seeded random sequences of changes — over HTTP and
 * straight through the services (as the command line or another server process would) — interleaved with
 * cached report reads, each compared with the report computed afresh, on SQLite and PostgreSQL. Also the
 * cache's own limits (least recently used first, bytes, one entry's size).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { importBundle } from "../src/bundle/import";
import { inTransaction } from "../src/db/database";
import { ReportCache, reportCacheKey } from "../src/reports/cache";
import { allocateCredit } from "../src/services/allocation.service";
import { loadCompany } from "../src/services/company-context";
import { createMember, requireSubject } from "../src/services/people.service";
import { recordPurchase } from "../src/services/purchase.service";
import { DIALECTS, postgresAvailable } from "./helpers/databases";
import { createTestServer } from "./helpers/http";
import type { TestClient, TestServer } from "./helpers/http";
import { NOW, reportJson } from "./helpers/reports";
import { specExampleBundle } from "./helpers/spec-example-bundle";

const pgOk = await postgresAvailable();
const dialects = DIALECTS.filter((d) => d === "sqlite" || pgOk);

const PASSWORD = "optional plain text, hashed on import";
const STEPS = Number(process.env["REPORT_CACHE_STEPS"] ?? 60);

/** A small seeded PRNG (mulberry32), so a failing sequence can be replayed. */
function prng(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface Read {
  path: string;
  report: "summary" | "purchases" | "allocations";
  month?: string;
  feature?: string;
  filter?: Record<string, string>;
}

const READS: readonly Read[] = [
  { path: "/api/v1/reports/summary?month=2026-09", report: "summary", month: "2026-09" },
  { path: "/api/v1/reports/summary", report: "summary" },
  { path: "/api/v1/reports/summary?group=Sales", report: "summary", filter: { group: "Sales" } },
  { path: "/api/v1/reports/summary?group=Team+B", report: "summary", filter: { group: "Team B" } },
  { path: "/api/v1/reports/purchases", report: "purchases" },
  { path: "/api/v1/reports/purchases?month=2026-09", report: "purchases", month: "2026-09" },
  { path: "/api/v1/reports/allocations", report: "allocations" },
  {
    path: "/api/v1/reports/allocations?recipient=acme.bob",
    report: "allocations",
    filter: { recipient: "acme.bob" },
  },
  {
    path: "/api/v1/reports/allocations?feature=subscription&month=2026-09",
    report: "allocations",
    month: "2026-09",
    feature: "subscription",
  },
];

describe.each(dialects)("report cache on %s", (dialect) => {
  let s: TestServer;
  let companyId: number;
  let owner: TestClient;
  let integration: TestClient;
  let bobId: number;
  let salesId: number;
  let pbxId: number;
  /** Makes references, names and ids unique across the whole suite. */
  let n = 0;

  beforeAll(async () => {
    s = await createTestServer(dialect);
    companyId = (await importBundle(s.db, specExampleBundle(), { nowMs: NOW })).company_id;
    owner = s.client();
    expect((await owner.login("ana@acme.example", PASSWORD)).status).toBe(200);
    const key = await owner.post("/api/v1/api-keys", {
      name: "pbx",
      scopes: ["usage:write", "reports:read"],
    });
    expect(key.status).toBe(201);
    integration = s.client();
    integration.bearer = key.json.key;
    const id = async (table: "members" | "groups" | "sip_profiles") =>
      (
        await s.db.k
          .selectFrom(table)
          .select("id")
          .where("company_id", "=", companyId)
          .orderBy("id")
          .executeTakeFirstOrThrow()
      ).id;
    bobId = await id("members");
    salesId = await id("groups");
    pbxId = await id("sip_profiles");
    const teamB = await owner.post("/api/v1/groups", { name: "Team B" });
    expect(teamB.status).toBe(201);
  });
  afterAll(async () => s.drop());

  /** Reads over HTTP (maybe from the cache) and compares with the report computed afresh. */
  async function readAndCompare(read: Read, client: TestClient): Promise<string> {
    const res = await client.get(read.path);
    expect(res.status, `${read.path}: ${res.text}`).toBe(200);
    const fresh = await reportJson(s.db, companyId, {
      report: read.report,
      month: read.month,
      feature: read.feature,
      filter: read.filter ?? {},
    });
    expect(res.json, `${read.path} (${String(res.headers.get("x-report-cache"))})`).toEqual(fresh);
    return res.headers.get("x-report-cache") ?? "";
  }

  it("serves a report again from the cache until something changes it, and never after", async () => {
    const read = READS[0] as Read;
    expect(await readAndCompare(read, owner)).toBe("miss");
    expect(await readAndCompare(read, owner)).toBe("hit");
    // An API key with reports:read sees the same document.
    expect(await readAndCompare(read, integration)).toBe("hit");
    const done = await owner.post("/api/v1/allocations/credit", { to: "acme.bob", amount: "0.01" });
    expect(done.status).toBe(200);
    expect(await readAndCompare(read, owner)).toBe("miss");
    // A refused change (more than the balance) changes nothing: the revision may move, the report may not.
    const refused = await owner.post("/api/v1/reclaims", { from: "acme.bob", amount: "99999.00" });
    expect(refused.status).toBeGreaterThanOrEqual(400);
    await readAndCompare(read, owner);
  });

  /** Every kind of change the test makes: over HTTP, and straight through the services. */
  function changesOf(pick: <T>(xs: readonly T[]) => T): (() => Promise<void>)[] {
    return [
      async () => {
        const res = await owner.post("/api/v1/purchases", {
          reference: `C-${++n}`,
          amount: "3.00",
          payment_method: "card",
          status: pick(["completed", "pending", "failed"] as const),
        });
        expect(res.status).toBe(201);
      },
      async () => {
        const res = await owner.post("/api/v1/allocations/credit", {
          to: pick(["acme.bob", "sip:London PBX"]),
          amount: "0.25",
        });
        expect(res.status).toBe(200);
      },
      async () => {
        await owner.post("/api/v1/reclaims", { from: "acme.bob", amount: "0.05" });
      },
      async () => {
        const res = await owner.patch(`/api/v1/members/${bobId}`, { name: `Bob ${++n}` });
        expect(res.status).toBe(200);
      },
      async () => {
        const res = await owner.request(
          pick(["PUT", "DELETE"]),
          `/api/v1/groups/${salesId}/members/${bobId}`,
        );
        expect(res.status).toBe(200);
      },
      async () => {
        const res = await owner.patch(`/api/v1/sip-profiles/${pbxId}`, { name: `London PBX ${++n}` });
        expect(res.status).toBe(200);
        // Later HTTP allocations name it by its new name.
        const back = await owner.patch(`/api/v1/sip-profiles/${pbxId}`, { name: "London PBX" });
        expect(back.status).toBe(200);
      },
      async () => {
        const res = await integration.post("/api/v1/usage", {
          records: [
            {
              external_id: `rc-${++n}`,
              subject: "acme.bob",
              kind: "call",
              started_at: new Date(NOW - 3_600_000).toISOString(),
              destination: "+442079460123",
              duration_s: 61 + n,
            },
          ],
        });
        expect(res.status).toBe(200);
      },
      // Straight through the services on the same database, as `switchboard` commands or another server do.
      async () => {
        await inTransaction(s.db, async (tx) => {
          const company = await loadCompany(tx, companyId);
          const to = await requireSubject(tx, companyId, "acme.bob");
          await allocateCredit(tx, company, { to, amountMinor: 7, atMs: NOW, actorAdminId: null });
        });
      },
      async () => {
        await inTransaction(s.db, async (tx) => {
          const company = await loadCompany(tx, companyId);
          await recordPurchase(tx, company, {
            reference: `S-${++n}`,
            amountMinor: 500,
            vatRate: "0",
            paymentMethod: "invoice",
            status: "completed",
            atMs: Date.parse("2026-09-15T10:00:00Z"),
            actorAdminId: null,
          });
        });
      },
      async () => {
        await inTransaction(s.db, async (tx) => {
          const company = await loadCompany(tx, companyId);
          await createMember(tx, company, {
            name: `New ${++n}`,
            username: `new.${n}`,
            email: null,
            accountType: "business",
            reportsConsent: false,
            nowMs: NOW,
          });
          const to = await requireSubject(tx, companyId, `new.${n}`);
          await allocateCredit(tx, company, { to, amountMinor: 100, atMs: NOW, actorAdminId: null });
        });
      },
    ];
  }

  it("every kind of change makes every cached report be computed again", async () => {
    let i = 0;
    const changes = changesOf(<T>(xs: readonly T[]) => xs[i++ % xs.length] as T);
    for (const change of changes) {
      for (const read of READS) await readAndCompare(read, owner);
      for (const read of READS) expect(await readAndCompare(read, owner)).toBe("hit");
      await change();
      for (const read of READS) await readAndCompare(read, owner);
    }
  });

  it("random changes over HTTP and through the services never leave a stale report behind", async () => {
    const rand = prng(dialect === "sqlite" ? 7 : 11);
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)] as T;
    const changes = changesOf(pick);
    const seen = { hit: 0, miss: 0 };
    for (let step = 0; step < STEPS; step++) {
      if (rand() < 0.35) await pick(changes)();
      else {
        const outcome = await readAndCompare(pick(READS), rand() < 0.8 ? owner : integration);
        if (outcome === "hit" || outcome === "miss") seen[outcome]++;
      }
    }
    // The sequence did exercise both paths.
    expect(seen.hit).toBeGreaterThan(0);
    expect(seen.miss).toBeGreaterThan(0);
  });

  it("a failed change leaves no trace in a cached report", async () => {
    const read = READS[4] as Read;
    await readAndCompare(read, owner);
    const dup = await owner.post("/api/v1/purchases", {
      reference: "P-1001",
      amount: "1.00",
      payment_method: "card",
      status: "completed",
    });
    expect(dup.status).toBeGreaterThanOrEqual(400);
    await readAndCompare(read, owner);
  });
});

describe.each(dialects)("usage rows read in pages on %s", (dialect) => {
  it("every row once, in report order, across page boundaries and equal start times", async () => {
    const s = await createTestServer(dialect);
    try {
      const companyId = (await importBundle(s.db, specExampleBundle(), { nowMs: NOW })).company_id;
      const bob = await requireSubject(s.db, companyId, "acme.bob");
      const admin = await s.db.k
        .selectFrom("admins")
        .selectAll()
        .where("company_id", "=", companyId)
        .where("role", "=", "owner")
        .executeTakeFirstOrThrow();
      const start = Date.parse("2026-10-01T00:00:00Z");
      const rand = prng(3);
      // 1,700 rows: pages of 500, 1,000, … end inside runs of up to 9 calls that started the same second.
      const rows = Array.from({ length: 1_700 }, (_, i) => ({
        company_id: companyId,
        account_id: bob.accountId,
        external_id: `p-${Math.floor(rand() * 1e9)}-${i}`,
        kind: "call",
        started_at_ms: start + Math.floor(i / 9) * 1000,
        month: "2026-10",
        destination: "+442079460123",
        duration_s: 60,
        billed_s: 60,
        charge_minor: 1,
        status: "rated",
        covered_minutes: 0,
        ingested_at_ms: NOW,
      }));
      for (let i = 0; i < rows.length; i += 200)
        await s.db.k
          .insertInto("usage_records")
          .values(rows.slice(i, i + 200) as never)
          .execute();
      const report = await reportJson(
        s.db,
        companyId,
        { report: "usage", month: "2026-10", subject: "acme.bob", filter: {} },
        { kind: "admin", admin: { ...admin, privacy_acknowledged_at_ms: NOW } },
      );
      const expected = [...rows]
        .sort((a, b) =>
          a.started_at_ms !== b.started_at_ms
            ? a.started_at_ms - b.started_at_ms
            : a.external_id < b.external_id
              ? -1
              : a.external_id > b.external_id
                ? 1
                : 0,
        )
        .map((r) => r.external_id);
      expect(report.rows.map((r) => r["external_id"])).toEqual(expected);
      expect(report.totals["calls"]).toBe(1_700);
    } finally {
      await s.drop();
    }
  });
});

describe("ReportCache limits", () => {
  const doc = (bytes: number) => new Uint8Array(new ArrayBuffer(bytes));
  const key = (revision: number, month = "2026-09") =>
    reportCacheKey({ companyId: 1, revision, report: "summary", month, format: "json", filter: {} });

  it("keys by everything a document depends on; filter order does not matter", () => {
    const a = reportCacheKey({
      companyId: 1,
      revision: 3,
      report: "allocations",
      month: "2026-09",
      format: "json",
      filter: { group: "A", action: "reclaim" },
    });
    const b = reportCacheKey({
      companyId: 1,
      revision: 3,
      report: "allocations",
      month: "2026-09",
      format: "json",
      filter: { action: "reclaim", group: "A" },
    });
    expect(a).toBe(b);
    expect(key(3)).not.toBe(key(4));
    expect(key(3)).not.toBe(key(3, "2026-10"));
  });

  it("drops the least recently used first, by count and by bytes, and keeps no oversized entry", () => {
    const cache = new ReportCache({ entriesMax: 2, bytesMax: 100, entryBytesMax: 60 });
    cache.set(key(1), doc(10));
    cache.set(key(2), doc(10));
    expect(cache.get(key(1))).toBeDefined(); // 1 is now the most recently used
    cache.set(key(3), doc(10));
    expect(cache.get(key(2))).toBeUndefined();
    expect(cache.get(key(1))).toBeDefined();
    cache.set(key(4), doc(61));
    expect(cache.get(key(4))).toBeUndefined();
    cache.set(key(5), doc(60));
    cache.set(key(6), doc(50));
    expect(cache.stats().bytes).toBeLessThanOrEqual(100);
    expect(cache.get(key(6))).toBeDefined();
    expect(cache.get(key(5))).toBeUndefined();
  });
});
