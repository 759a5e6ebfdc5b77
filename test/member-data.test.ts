/**
 * A member's data rights on SQLite and PostgreSQL: the export (its content worked out by hand from the §8
 * example bundle, the §6 privacy rules for admins, the zip), erasure (no personal field of the person left in
 * any text column of any table except the audit entries written before it, balances and every report total
 * unchanged, idempotent, audited, the chain whole), who may do each (member, viewer, admin, owner, another
 * company, API keys), and the `switchboard member export|erase` commands.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { PassThrough } from "node:stream";
import { sql } from "kysely";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { hashPassword } from "../src/auth/password";
import { importBundle } from "../src/bundle/import";
import { main } from "../src/cli/main";
import type { Database } from "../src/db/database";
import { verifyAuditChain } from "../src/services/audit";
import { erasedPseudonym } from "../src/services/member-data.service";
import { ManualClock } from "../src/time/clock";
import { createTestDatabase, DIALECTS, postgresAvailable } from "./helpers/databases";
import { createTestServer } from "./helpers/http";
import type { TestClient, TestServer } from "./helpers/http";
import { companySnapshot, tableRowCounts } from "./helpers/ledger-state";
import { NOW, reportJson } from "./helpers/reports";
import { specExampleBundle } from "./helpers/spec-example-bundle";
import type { Json, JsonObject } from "./helpers/spec-example-bundle";

const pgOk = await postgresAvailable();
const dialects = DIALECTS.filter((d) => d === "sqlite" || pgOk);

const PASSWORD = "optional plain text, hashed on import";

/** The §8 example under another name and owner (and its members' emails), so that ids differ. */
function otherBundle(): JsonObject {
  const swap = (v: Json): Json =>
    typeof v === "string"
      ? v.replace("ana@acme.example", "olga@other.example").replace("Acme Ltd", "Other Ltd")
      : Array.isArray(v)
        ? v.map(swap)
        : v !== null && typeof v === "object"
          ? Object.fromEntries(Object.entries(v).map(([k, x]) => [k, swap(x)]))
          : v;
  return swap(specExampleBundle()) as JsonObject;
}

/** Every text column of every table of the database (from its catalogue, so new tables are scanned too). */
async function textColumns(db: Database): Promise<{ table: string; column: string }[]> {
  if (db.dialect === "postgres") {
    const r = await sql<{
      table: string;
      column: string;
    }>`select table_name as "table", column_name as "column"
      from information_schema.columns c
      where table_schema = 'public' and data_type in ('text', 'character varying')
        and exists (select 1 from information_schema.tables t where t.table_schema = 'public'
          and t.table_name = c.table_name and t.table_type = 'BASE TABLE')`.execute(db.k);
    return r.rows;
  }
  const tables = await sql<{
    name: string;
  }>`select name from sqlite_master where type = 'table' and name not like 'sqlite_%'`.execute(db.k);
  const out: { table: string; column: string }[] = [];
  for (const t of tables.rows) {
    const cols = await sql<{
      name: string;
      type: string;
    }>`select name, type from pragma_table_info(${t.name})`.execute(db.k);
    for (const c of cols.rows) if (/text|char/i.test(c.type)) out.push({ table: t.name, column: c.name });
  }
  return out;
}

/** Where each needle still appears: "table.column" → rows, skipping audit entries with id < `auditBeforeId`. */
async function findPersonalData(
  db: Database,
  needles: string[],
  auditBeforeId: number,
): Promise<Record<string, number>> {
  const found: Record<string, number> = {};
  const has = (column: string, needle: string) =>
    db.dialect === "postgres"
      ? sql`strpos(${sql.ref(column)}, ${needle}) > 0`
      : sql`instr(${sql.ref(column)}, ${needle}) > 0`;
  for (const { table, column } of await textColumns(db)) {
    for (const needle of needles) {
      const skip = table === "audit_log" ? sql` and id >= ${auditBeforeId}` : sql``;
      const r = await sql<{ n: number }>`select count(*) as n from ${sql.table(table)}
        where ${has(column, needle)}${skip}`.execute(db.k);
      const n = Number(r.rows[0]?.n ?? 0);
      if (n > 0) found[`${table}.${column} ∋ ${needle}`] = n;
    }
  }
  return found;
}

describe.each(dialects)("member data rights over HTTP on %s", (dialect) => {
  let s: TestServer;
  let acme: number;
  let other: { company: number; bob: number };
  let owner: TestClient;
  let admin: TestClient;
  let viewer: TestClient;
  let bob: TestClient;
  let otherOwner: TestClient;
  let keyClient: TestClient;
  let bobId: number;
  let zoeId: number;

  const memberId = async (companyId: number, username: string) =>
    (
      await s.db.k
        .selectFrom("members")
        .select("id")
        .where("company_id", "=", companyId)
        .where("username", "=", username)
        .executeTakeFirstOrThrow()
    ).id;
  const auditOf = (action: string) =>
    s.db.k
      .selectFrom("audit_log")
      .select(["id", "seq", "actor", "subject", "details"])
      .where("company_id", "=", acme)
      .where("action", "=", action)
      .orderBy("id")
      .execute();

  beforeAll(async () => {
    s = await createTestServer(dialect);
    acme = (await importBundle(s.db, specExampleBundle(), { nowMs: NOW })).company_id;
    const otherId = (await importBundle(s.db, otherBundle(), { nowMs: NOW })).company_id;
    bobId = await memberId(acme, "acme.bob");
    zoeId = await memberId(acme, "zoe.ng");
    other = { company: otherId, bob: await memberId(otherId, "acme.bob") };
    const hash = await hashPassword("bob-password");
    await s.db.k.updateTable("members").set({ password_hash: hash }).where("id", "=", bobId).execute();

    owner = s.client();
    expect((await owner.login("ana@acme.example", PASSWORD)).status).toBe(200);
    for (const [email, role] of [
      ["adam@acme.example", "admin"],
      ["vera@acme.example", "viewer"],
    ] as const)
      expect(
        (await owner.post("/api/v1/admins", { email, name: email, role, password: `${role}-password` }))
          .status,
      ).toBe(201);
    admin = s.client();
    expect((await admin.login("adam@acme.example", "admin-password")).status).toBe(200);
    viewer = s.client();
    expect((await viewer.login("vera@acme.example", "viewer-password")).status).toBe(200);
    bob = s.client();
    expect((await bob.login("bob@acme.example", "bob-password", acme)).status).toBe(200);
    otherOwner = s.client();
    expect((await otherOwner.login("olga@other.example", PASSWORD)).status).toBe(200);
    const key = await owner.post("/api/v1/api-keys", {
      name: "everything",
      scopes: ["reports:read", "usage:write", "members:read", "members:write", "billing:write"],
    });
    expect(key.status).toBe(201);
    keyClient = s.client();
    keyClient.bearer = key.json.key;
  });
  afterAll(async () => s.drop());

  it("a member downloads their own data: profile, groups, balance, allocations, plan, rule, usage", async () => {
    const res = await bob.get("/api/v1/me/data-export");
    expect(res.status).toBe(200);
    expect(res.headers.get("content-disposition")).toBe(`attachment; filename="member-${bobId}-data.json"`);
    // Worked out from the §8 example (Europe/London is UTC+1 in September).
    expect(res.json).toEqual({
      format: "switchboard-member-export/1",
      generated_at: "2026-11-27T12:00:00+00:00",
      company: { id: acme, name: "Acme Ltd", currency: "EUR", timezone: "Europe/London" },
      member: {
        id: bobId,
        name: "Bob Byrne",
        username: "acme.bob",
        email: "bob@acme.example",
        account_type: "business",
        groups: ["Sales"],
        created_at: expect.any(String),
        erased_at: null,
        balance: "15.00",
        reports_consent: false,
        consent_changed_at: null,
      },
      consent_history: [],
      allocations: [
        {
          date: "2026-09-01T10:05:00+01:00",
          feature: "credit",
          action: "allocate",
          detail: null,
          amount: "20.00",
          currency: "EUR",
        },
        {
          date: "2026-09-01T10:06:00+01:00",
          feature: "subscription",
          action: "allocate",
          detail: "Unlimited UK",
          amount: "4.99",
          currency: "EUR",
        },
        {
          date: "2026-09-20T13:00:00+01:00",
          feature: "credit",
          action: "reclaim",
          detail: null,
          amount: "5.00",
          currency: "EUR",
        },
      ],
      subscriptions: [
        {
          plan: "Unlimited UK",
          allocated_at: "2026-09-01T10:06:00+01:00",
          active_from: "2026-09-01T10:06:00+01:00",
          active_until: "2026-10-01T10:06:00+01:00",
          minutes: 1000,
          used_minutes: 3,
          renew: false,
        },
      ],
      numbers: [],
      auto_allocation_rule: {
        threshold: "2.00",
        amount: "10.00",
        monthly_cap: "30.00",
        updated_at: "2026-09-01T10:08:00+01:00",
      },
      usage: {
        included: true,
        records: [
          {
            // 125 s at 60/60 bills 180 s = 3 minutes of the plan: covered, charge 0.
            started_at: "2026-09-02T11:00:00+01:00",
            kind: "call",
            destination: "+442079460123",
            destination_name: "United Kingdom",
            duration_s: 125,
            billed_s: 180,
            rate_per_minute: "0.0230",
            charge: "0.00",
            currency: "EUR",
            status: "covered",
            covered_by: "Unlimited UK",
            external_id: "cdr-1",
          },
        ],
      },
    });
    const audit = await auditOf("member.data_exported");
    expect(audit.at(-1)).toMatchObject({ actor: "member:acme.bob", subject: "acme.bob" });
    expect(JSON.parse(audit.at(-1)?.details ?? "{}")).toEqual({
      member_id: bobId,
      format: "json",
      usage_included: true,
      usage_records: 1,
      usage_month_range: ["2026-09", "2026-09"],
    });
  });

  it("comes as a zip of the document and CSVs", async () => {
    const res = await bob.get("/api/v1/me/data-export?format=zip");
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("application/zip");
    const bytes = Buffer.from(res.text, "latin1");
    expect(bytes.subarray(0, 2).toString("latin1")).toBe("PK");
    for (const name of ["json", "usage.csv", "allocations.csv", "consent.csv"].map((n) =>
      n === "json" ? `member-${bobId}.json` : `member-${bobId}-${n}`,
    ))
      expect(res.text).toContain(name);
    expect((await bob.get("/api/v1/me/data-export?format=pdf")).status).toBe(400);
  });

  it("owners and admins export a member; §6 holds back usage they may not see", async () => {
    const byOwner = await owner.get(`/api/v1/members/${bobId}/data-export`);
    expect(byOwner.status).toBe(200);
    expect(byOwner.json.usage.records).toHaveLength(1);

    // Adam has not acknowledged the privacy notice yet: everything but the usage.
    const byAdmin = await admin.get(`/api/v1/members/${bobId}/data-export`);
    expect(byAdmin.status).toBe(200);
    expect(byAdmin.json.allocations).toHaveLength(3);
    expect(byAdmin.json.usage).toEqual({
      included: false,
      reason: expect.stringContaining("data-privacy notice"),
      records: [],
    });

    // Zoë is personal and withdrew her consent on 2026-09-22: the owner does not get her usage.
    const zoe = await owner.get(`/api/v1/members/${zoeId}/data-export`);
    expect(zoe.status).toBe(200);
    expect(zoe.json.member).toMatchObject({
      username: "zoe.ng",
      account_type: "personal",
      reports_consent: false,
    });
    const history = zoe.json.consent_history as { at: string; granted: boolean }[];
    expect(history.at(-1)).toEqual({ at: "2026-09-22T13:00:00+01:00", granted: false });
    expect(zoe.json.usage).toEqual({
      included: false,
      reason: "Zoë Ng has a personal account and has not given consent to share usage with the company",
      records: [],
    });
    const audit = await auditOf("member.data_exported");
    expect(
      audit
        .slice(-3)
        .map((a) => [
          a.actor,
          a.subject,
          (JSON.parse(a.details ?? "{}") as { usage_included: boolean }).usage_included,
        ]),
    ).toEqual([
      ["ana@acme.example", "acme.bob", true],
      ["adam@acme.example", "acme.bob", false],
      ["ana@acme.example", "zoe.ng", false],
    ]);
  });

  it("who may export and erase: members their own only, no viewers, no API keys, no other company", async () => {
    const anon = s.client();
    expect((await anon.get("/api/v1/me/data-export")).status).toBe(401);
    expect((await owner.get("/api/v1/me/data-export")).status).toBe(403);
    expect((await keyClient.get("/api/v1/me/data-export")).status).toBe(403);

    const exportPath = `/api/v1/members/${bobId}/data-export`;
    expect((await anon.get(exportPath)).status).toBe(401);
    expect((await bob.get(exportPath)).status).toBe(403);
    expect((await bob.get(`/api/v1/members/${zoeId}/data-export`)).status).toBe(403);
    expect((await viewer.get(exportPath)).status).toBe(403);
    expect((await keyClient.get(exportPath)).status).toBe(403);
    expect((await otherOwner.get(exportPath)).status).toBe(404);
    expect((await owner.get(`/api/v1/members/${other.bob}/data-export`)).status).toBe(404);
    expect((await owner.get("/api/v1/members/abc/data-export")).status).toBe(400);

    const before = await tableRowCounts(s.db);
    const erasePath = `/api/v1/members/${bobId}/erase`;
    expect((await anon.post(erasePath)).status).toBe(401);
    expect((await bob.post(erasePath)).status).toBe(403);
    expect((await viewer.post(erasePath)).status).toBe(403);
    expect((await admin.post(erasePath)).status).toBe(403);
    expect((await keyClient.post(erasePath)).status).toBe(403);
    expect((await otherOwner.post(erasePath)).status).toBe(404);
    expect((await owner.post("/api/v1/members/999999/erase")).status).toBe(404);
    expect((await owner.post(erasePath, {}, { "x-csrf-token": "wrong" })).status).toBe(403);
    expect(await tableRowCounts(s.db)).toEqual(before);
  });

  it("erasure pseudonymises the person everywhere, keeps the ledger and every total, and is idempotent", async () => {
    // Pat joins by invitation (a personal member), signs in, gives consent, gets credit, calls and texts.
    const sent = await owner.post("/api/v1/invitations", { email: "pat@example.net" });
    expect(sent.status).toBe(201);
    const accepted = await s.client().post(`/api/v1/invitations/by-token/${sent.json.token}/accept`, {
      name: "Pat Quinn",
      username: "pat.q",
      password: "pat-password",
    });
    expect(accepted.status).toBe(201);
    const patId: number = accepted.json.id;
    const pat = s.client();
    expect((await pat.login("pat@example.net", "not her password")).status).toBe(401);
    expect((await pat.login("pat@example.net", "pat-password")).status).toBe(200);
    expect(
      (await pat.post("/api/v1/me/consent", { granted: true }, { "idempotency-key": "consent-1" })).status,
    ).toBe(200);
    expect(
      (
        await owner.post(
          "/api/v1/allocations/credit",
          { to: "pat.q", amount: "10.00" },
          { "idempotency-key": "a-1" },
        )
      ).status,
    ).toBe(200);
    const usage = await owner.post("/api/v1/usage", {
      records: [
        {
          external_id: "pat-1",
          subject: "pat.q",
          kind: "call",
          started_at: "2026-11-20T10:00:00Z",
          destination: "+447700900555",
          duration_s: 61,
        },
        {
          external_id: "pat-2",
          subject: "pat.q",
          kind: "sms",
          started_at: "2026-11-21T10:00:00Z",
          destination: "+442079460999",
        },
      ],
    });
    expect(usage.json).toMatchObject({ stored: 2, rejected: [] });
    expect((await pat.get("/api/v1/me/data-export")).json.usage.records).toHaveLength(2);
    // A report file generated for her, kept in the background jobs.
    const file = path.join(os.tmpdir(), `sb-erase-${dialect}-${process.pid}.csv`);
    fs.writeFileSync(file, "Pat Quinn");
    await s.db.k
      .insertInto("download_jobs")
      .values({
        company_id: acme,
        requested_by: "member:pat.q",
        month: "2026-11",
        format: "csv",
        reports: "usage",
        state: "done",
        file_path: file,
        file_name: "acme-ltd-2026-11-usage-pat.q.csv",
        error: null,
        created_at_ms: NOW,
        updated_at_ms: NOW,
        finished_at_ms: NOW,
        expires_at_ms: NOW + 86_400_000,
      })
      .execute();

    const ana = await s.db.k
      .selectFrom("admins")
      .selectAll()
      .where("email", "=", "ana@acme.example")
      .where("company_id", "=", acme)
      .executeTakeFirstOrThrow();
    const asOwner = { kind: "admin" as const, admin: ana };
    const reports = async (username: string) => ({
      summary: await reportJson(s.db, acme, { report: "summary", month: "2026-11" }),
      credit: await reportJson(s.db, acme, { report: "allocations", month: "2026-11" }),
      subscriptions: await reportJson(s.db, acme, {
        report: "allocations",
        month: "2026-09",
        feature: "subscription",
      }),
      usage: await reportJson(s.db, acme, { report: "usage", month: "2026-11", subject: username }, asOwner),
    });
    const before = await reports("pat.q");
    const cachedSummary = await owner.get("/api/v1/reports/summary?month=2026-11");
    expect(cachedSummary.status).toBe(200);
    expect(JSON.stringify(cachedSummary.json)).toContain("Pat Quinn");
    expect(before.usage.totals).toEqual({ calls: 1, sms: 1, billed_seconds: 61, charged: "0.31" });
    const ledgerBefore = await companySnapshot(s.db, acme);

    const erased = await owner.post(`/api/v1/members/${patId}/erase`);
    expect(erased.status).toBe(200);
    const pseudonym = erasedPseudonym(acme, patId);
    expect(pseudonym.name).toMatch(/^Erased member [0-9a-f]{12}$/);
    expect(erased.json).toEqual({
      member_id: patId,
      name: pseudonym.name,
      username: pseudonym.username,
      erased_at: "2026-11-27T12:00:00+00:00",
      already_erased: false,
    });
    expect(fs.existsSync(file)).toBe(false);

    // A report served over HTTP (and cached per company revision) shows the pseudonym at once.
    const servedSummary = await owner.get("/api/v1/reports/summary?month=2026-11");
    expect(JSON.stringify(servedSummary.json)).not.toContain("Pat Quinn");
    expect(servedSummary.json.totals).toEqual(cachedSummary.json.totals);
    // The ledger: every balance as it was; one more audit entry and nothing else.
    const ledgerAfter = await companySnapshot(s.db, acme);
    expect(ledgerAfter.balances).toEqual(ledgerBefore.balances);
    expect(ledgerAfter.counts).toEqual({
      ...ledgerBefore.counts,
      audit_log: (ledgerBefore.counts["audit_log"] ?? 0) + 1,
    });
    // Every report total unchanged; her rows now carry the pseudonym; her destinations are masked.
    const after = await reports(pseudonym.username);
    expect(after.summary.totals).toEqual(before.summary.totals);
    const figures = (r: Record<string, unknown>) => ({ ...r, recipient: null, username: null });
    expect(after.summary.rows.map(figures)).toEqual(before.summary.rows.map(figures));
    expect(after.summary.rows.find((r) => r["username"] === pseudonym.username)?.["recipient"]).toBe(
      pseudonym.name,
    );
    expect(after.credit.totals).toEqual(before.credit.totals);
    expect(after.credit.rows.map(figures)).toEqual(before.credit.rows.map(figures));
    expect(after.subscriptions.totals).toEqual(before.subscriptions.totals);
    expect(after.usage.totals).toEqual(before.usage.totals);
    expect(after.usage.rows.map((r) => r["destination"])).toEqual(["+447XXXX", "+44XXXX"]);
    expect(after.usage.rows.map((r) => ({ ...r, destination: null }))).toEqual(
      before.usage.rows.map((r) => ({ ...r, destination: null })),
    );

    // No personal field of Pat anywhere, except the audit entries written before the erasure (decision 0010).
    const [erasure] = await auditOf("member.erased");
    expect(erasure).toMatchObject({ actor: "ana@acme.example", subject: pseudonym.username });
    expect(JSON.parse(erasure?.details ?? "{}")).toEqual({
      member_id: patId,
      sessions_removed: 1,
      invitations_removed: 1,
      usage_records_masked: 2,
    });
    const needles = ["Pat Quinn", "pat.q", "pat@example.net"];
    expect(await findPersonalData(s.db, needles, erasure?.id ?? 0)).toEqual({});
    const olderAudit = await findPersonalData(s.db, needles, 0);
    expect(Object.keys(olderAudit).every((k) => k.startsWith("audit_log."))).toBe(true);
    expect(Object.keys(olderAudit).length).toBeGreaterThan(0);

    // She can no longer sign in, and her session is gone.
    expect((await pat.get("/api/v1/me")).status).toBe(401);
    expect((await s.client().login("pat@example.net", "pat-password")).status).toBe(401);

    // Erasing again changes nothing at all.
    const countsBefore = await tableRowCounts(s.db);
    const revision = async () =>
      (
        await s.db.k
          .selectFrom("companies")
          .select("revision")
          .where("id", "=", acme)
          .executeTakeFirstOrThrow()
      ).revision;
    const revisionBefore = await revision();
    const row = await s.db.k
      .selectFrom("members")
      .selectAll()
      .where("id", "=", patId)
      .executeTakeFirstOrThrow();
    const again = await owner.post(`/api/v1/members/${patId}/erase`);
    expect(again.status).toBe(200);
    expect(again.json).toEqual({ ...erased.json, already_erased: true });
    // The members list says so, and the pseudonym cannot be renamed back into a person.
    expect((await owner.get(`/api/v1/members/${patId}`)).json).toMatchObject({ erased: true });
    const rename = await owner.patch(`/api/v1/members/${patId}`, { name: "Pat Again" });
    expect(rename.status).toBe(409);
    expect(rename.json.error.message).toMatch(/was erased/);
    expect(await tableRowCounts(s.db)).toEqual(countsBefore);
    expect(await revision()).toBe(revisionBefore);
    expect(
      await s.db.k.selectFrom("members").selectAll().where("id", "=", patId).executeTakeFirstOrThrow(),
    ).toEqual(row);
    expect(row).toMatchObject({
      email: null,
      password_hash: null,
      erased_at_ms: NOW,
      account_type: "personal",
    });

    // The export of an erased member shows the pseudonym; the audit chain is whole.
    const exported = await owner.get(`/api/v1/members/${patId}/data-export`);
    expect(exported.json.member).toMatchObject({
      name: pseudonym.name,
      email: null,
      erased_at: erased.json.erased_at,
    });
    expect(await verifyAuditChain(s.db, acme)).toMatchObject({ broken: null });
  });
});

describe.each(dialects)("switchboard member export|erase on %s", (dialect) => {
  let db: Database;
  let drop: () => Promise<void>;
  let dir: string;
  let url: string;
  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "sb-member-"));
    if (dialect === "sqlite") {
      url = `sqlite:${path.join(dir, "member.db")}`;
      drop = () => Promise.resolve();
    } else {
      ({ db, drop } = await createTestDatabase(dialect));
      url = db.url;
    }
  });
  afterAll(async () => {
    await drop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const run = async (args: string[]) => {
    const out = new PassThrough();
    const err = new PassThrough();
    let outText = "";
    let errText = "";
    out.on("data", (b: Buffer) => (outText += b.toString()));
    err.on("data", (b: Buffer) => (errText += b.toString()));
    const code = await main(["node", "switchboard", ...args], {
      env: { DATABASE_URL: url },
      out,
      err,
      clock: new ManualClock(NOW),
    });
    return { code, out: outText, err: errText };
  };

  it("exports as JSON or zip, refuses mistakes in one sentence, erases only with --yes, once", async () => {
    const bundle = path.join(dir, "bundle.json");
    fs.writeFileSync(bundle, JSON.stringify(specExampleBundle()));
    const imported = await run(["import", bundle]);
    expect(imported.code).toBe(0);
    const company = String(JSON.parse(imported.out).company_id);

    const json = await run(["member", "export", "--company", company, "--member", "zoe.ng"]);
    expect(json.code).toBe(0);
    const doc = JSON.parse(json.out);
    expect(doc.member).toMatchObject({ name: "Zoë Ng", username: "zoe.ng", email: "zoe@example.org" });
    // The operator acts for the member (a data-subject request): the usage part is included.
    expect(doc.usage).toEqual({ included: true, records: [] });
    const asOwner = await run([
      "member",
      "export",
      "--company",
      company,
      "--member",
      "zoe.ng",
      "--as",
      "ana@acme.example",
    ]);
    expect(JSON.parse(asOwner.out).usage.included).toBe(false);

    const zipFile = path.join(dir, "zoe.zip");
    const zip = await run([
      "member",
      "export",
      "--company",
      company,
      "--member",
      "zoe.ng",
      "--format",
      "zip",
      "--out",
      zipFile,
    ]);
    expect(zip.code).toBe(0);
    expect(fs.readFileSync(zipFile).subarray(0, 2).toString()).toBe("PK");

    for (const [args, message] of [
      [["member", "export", "--company", company, "--member", "nobody"], 'no member with username "nobody"'],
      [
        ["member", "export", "--company", company, "--member", "zoe.ng", "--format", "zip"],
        "needs --out FILE",
      ],
      [["member", "erase", "--company", company, "--member", "zoe.ng"], "run again with --yes"],
      [
        [
          "member",
          "erase",
          "--company",
          company,
          "--member",
          "zoe.ng",
          "--yes",
          "--as",
          "nobody@acme.example",
        ],
        "nobody@acme.example is not an owner",
      ],
    ] as const) {
      const r = await run([...args]);
      expect(r.code).toBe(1);
      expect(r.err).toContain(message);
      expect(r.err.trim().split("\n")).toHaveLength(1);
    }

    const erased = await run(["member", "erase", "--company", company, "--member", "zoe.ng", "--yes"]);
    expect(erased.code).toBe(0);
    const username = /\((erased-[0-9a-f]{12})\)/.exec(erased.out)?.[1];
    expect(username).toBeDefined();
    expect((await run(["member", "export", "--company", company, "--member", "zoe.ng"])).code).toBe(1);
    const again = await run(["member", "erase", "--company", company, "--member", username ?? "", "--yes"]);
    expect(again).toMatchObject({ code: 0, out: expect.stringContaining("already erased") });
    const verify = await run(["audit", "verify", "--company", company]);
    expect(verify.code).toBe(0);
  });
});
