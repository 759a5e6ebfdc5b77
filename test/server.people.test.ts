/**
 * @module People over HTTP — members, CSV import, invitations, groups, SIP profiles, admins, API keys and the
 * company overview — on SQLite and PostgreSQL: happy paths, validation, roles, API-key scopes, and another
 * company's ids answering 404. Expected values are worked out by hand from the §8 example bundle.
 */
import { sql } from "kysely";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { importBundle } from "../src/bundle/import";
import { MEMBERS_IMPORT_ROWS_MAX } from "../src/services/member-admin.service";
import { specExampleBundle } from "./helpers/spec-example-bundle";
import type { Json, JsonObject } from "./helpers/spec-example-bundle";
import { DIALECTS, postgresAvailable } from "./helpers/databases";
import { createTestServer } from "./helpers/http";
import type { TestClient, TestServer } from "./helpers/http";
import { NOW } from "./helpers/reports";

const pgOk = await postgresAvailable();
const dialects = DIALECTS.filter((d) => d === "sqlite" || pgOk);
if (!pgOk) console.warn("NOTICE: the people HTTP suite runs on SQLite only (no PostgreSQL)");

const PASSWORD = "optional plain text, hashed on import";
const DAY_MS = 86_400_000;
/** A JSON array of the answer, typed for the test reading it. */
const rows = <T>(value: unknown): T[] => value as T[];

/** A second company (Other Ltd) with its own owner, group, member, SIP profile and API key. */
function otherBundle(): JsonObject {
  const b = specExampleBundle();
  b["company"] = { name: "Other Ltd", currency: "EUR", timezone: "Europe/London" };
  const swap = (v: Json): Json =>
    typeof v === "string"
      ? v.replace("ana@acme.example", "olga@other.example")
      : Array.isArray(v)
        ? v.map(swap)
        : v !== null && typeof v === "object"
          ? Object.fromEntries(Object.entries(v).map(([k, x]) => [k, swap(x)]))
          : v;
  return swap(b) as JsonObject;
}

describe.each(dialects)("people over HTTP on %s", (dialect) => {
  let s: TestServer;
  let acmeId: number;
  let other: { company: number; member: number; group: number; sip: number; admin: number; apiKey: number };
  let owner: TestClient;
  let admin: TestClient;
  let viewer: TestClient;
  let adminId: number;
  let bobId: number;
  let zoeId: number;
  let salesId: number;
  let pbxId: number;

  const anon = () => s.client();
  const withKey = async (scopes: string[]): Promise<TestClient> => {
    const res = await owner.post("/api/v1/api-keys", { name: `key ${scopes.join(" ")}`, scopes });
    expect(res.status).toBe(201);
    const c = s.client();
    c.bearer = res.json.key;
    return c;
  };
  const memberCount = async (companyId: number) =>
    Number(
      (
        await s.db.k
          .selectFrom("members")
          .select((eb) => eb.fn.countAll<number>().as("n"))
          .where("company_id", "=", companyId)
          .executeTakeFirstOrThrow()
      ).n,
    );

  beforeAll(async () => {
    s = await createTestServer(dialect);
    acmeId = (await importBundle(s.db, specExampleBundle(), { nowMs: NOW })).company_id;
    const otherId = (await importBundle(s.db, otherBundle(), { nowMs: NOW })).company_id;
    const first = async (table: "members" | "groups" | "sip_profiles" | "admins", companyId: number) => {
      const row = await sql<{
        id: number;
      }>`select min(id) as id from ${sql.table(table)} where company_id = ${companyId}`.execute(s.db.k);
      return Number(row.rows[0]?.id);
    };
    const oa = s.client();
    expect((await oa.login("olga@other.example", PASSWORD)).status).toBe(200);
    const otherKey = await oa.post("/api/v1/api-keys", { name: "other", scopes: ["usage:write"] });
    other = {
      company: otherId,
      member: await first("members", otherId),
      group: await first("groups", otherId),
      sip: await first("sip_profiles", otherId),
      admin: await first("admins", otherId),
      apiKey: otherKey.json.api_key.id,
    };
    bobId = await first("members", acmeId);
    zoeId = (
      await s.db.k
        .selectFrom("members")
        .select("id")
        .where("username", "=", "zoe.ng")
        .where("company_id", "=", acmeId)
        .executeTakeFirstOrThrow()
    ).id;
    salesId = await first("groups", acmeId);
    pbxId = await first("sip_profiles", acmeId);

    owner = s.client();
    expect((await owner.login("ana@acme.example", PASSWORD)).status).toBe(200);
    const a = await owner.post("/api/v1/admins", {
      email: "adam@acme.example",
      name: "Adam Admin",
      role: "admin",
      password: "adam-password",
    });
    expect(a.status).toBe(201);
    adminId = a.json.id;
    const v = await owner.post("/api/v1/admins", {
      email: "Vera@Acme.example",
      name: "Vera Viewer",
      role: "viewer",
      password: "vera-password",
    });
    expect(v.status).toBe(201);
    expect(v.json).toMatchObject({ email: "vera@acme.example", role: "viewer", privacy_acknowledged: false });
    admin = s.client();
    expect((await admin.login("adam@acme.example", "adam-password")).status).toBe(200);
    viewer = s.client();
    expect((await viewer.login("vera@acme.example", "vera-password")).status).toBe(200);
  });
  afterAll(async () => s.drop());

  describe("members", () => {
    it("lists, searches, filters by group and pages, each with groups and balance", async () => {
      const all = await viewer.get("/api/v1/members");
      expect(all.status).toBe(200);
      expect(all.json).toMatchObject({ total: 2, limit: 100, offset: 0 });
      // Bob: allocated 20.00, reclaimed 5.00; his call was covered by the plan → 15.00.
      expect(all.json.members[0]).toEqual({
        id: bobId,
        name: "Bob Byrne",
        username: "acme.bob",
        email: "bob@acme.example",
        account_type: "business",
        groups: [{ id: salesId, name: "Sales" }],
        balance: "15.00",
        reports_consent: false,
        erased: false,
      });
      expect(all.json.members[1]).toMatchObject({ username: "zoe.ng", account_type: "personal", groups: [] });
      const search = await viewer.get("/api/v1/members?q=EXAMPLE.ORG");
      expect(rows<{ username: string }>(search.json.members).map((m) => m.username)).toEqual(["zoe.ng"]);
      const literal = await viewer.get("/api/v1/members?q=%25");
      expect(literal.json.total).toBe(0);
      const sales = await viewer.get(`/api/v1/members?group=${salesId}`);
      expect(rows<{ id: number }>(sales.json.members).map((m) => m.id)).toEqual([bobId]);
      const page = await viewer.get("/api/v1/members?limit=1&offset=1");
      expect(page.json).toMatchObject({ total: 2, limit: 1, offset: 1, members: [{ username: "zoe.ng" }] });
    });

    it("refuses a page larger than 500 and another company's member", async () => {
      const big = await viewer.get("/api/v1/members?limit=501");
      expect(big.status).toBe(400);
      expect(big.json.error.message).toMatch(/^limit: /);
      expect((await viewer.get(`/api/v1/members/${bobId}`)).json.username).toBe("acme.bob");
      const theirs = await owner.get(`/api/v1/members/${other.member}`);
      expect(theirs.status).toBe(404);
      expect(theirs.json).toEqual({
        error: { code: "not_found", message: `member ${other.member} does not exist` },
      });
    });

    it("creates a business member with groups and a password, who can then sign in", async () => {
      const res = await admin.post("/api/v1/members", {
        name: "Carla Diaz",
        username: "carla",
        email: "Carla@Acme.example",
        password: "carla-password",
        groups: [salesId],
      });
      expect(res.status).toBe(201);
      expect(res.json).toMatchObject({
        name: "Carla Diaz",
        username: "carla",
        email: "carla@acme.example",
        account_type: "business",
        groups: [{ id: salesId, name: "Sales" }],
        balance: "0.00",
        reports_consent: false,
      });
      const carla = s.client();
      expect((await carla.login("carla@acme.example", "carla-password")).json.kind).toBe("member");
      const audit = await s.db.k
        .selectFrom("audit_log")
        .select(["actor", "subject"])
        .where("company_id", "=", acmeId)
        .where("action", "=", "member.created")
        .execute();
      expect(audit).toEqual([{ actor: "adam@acme.example", subject: "carla" }]);
    });

    it("refuses bad input, taken usernames, other companies' groups, viewers and the wrong API key", async () => {
      const bad = await admin.post("/api/v1/members", { name: "X", username: "x1", email: "not-an-email" });
      expect(bad.status).toBe(400);
      expect(bad.json.error.message).toMatch(/^email: must be an email address/);
      const badName = await admin.post("/api/v1/members", {
        name: "",
        username: "x1",
        email: "x1@acme.example",
      });
      expect(badName.json.error.message).toMatch(/^name: /);
      const taken = await admin.post("/api/v1/members", {
        name: "B",
        username: "acme.bob",
        email: "b2@acme.example",
      });
      expect(taken.status).toBe(409);
      const sameEmail = await admin.post("/api/v1/members", {
        name: "B",
        username: "b2",
        email: "BOB@acme.example",
      });
      expect(sameEmail.status).toBe(409);
      expect(sameEmail.json.error.message).toContain("acme.bob");
      const theirGroup = await admin.post("/api/v1/members", {
        name: "D",
        username: "d1",
        email: "d1@acme.example",
        groups: [other.group],
      });
      expect(theirGroup.status).toBe(404);
      expect(
        (await viewer.post("/api/v1/members", { name: "V", username: "v1", email: "v1@acme.example" }))
          .status,
      ).toBe(403);
      const reportsKey = await withKey(["reports:read"]);
      const refused = await reportsKey.post("/api/v1/members", {
        name: "K",
        username: "k1",
        email: "k1@acme.example",
      });
      expect(refused.status).toBe(403);
      expect(refused.json.error.message).toBe("this API key lacks the members:write scope");
      expect((await reportsKey.get("/api/v1/members")).status).toBe(403);
      const membersKey = await withKey(["members:read", "members:write"]);
      expect((await membersKey.get("/api/v1/members")).status).toBe(200);
      const made = await membersKey.post("/api/v1/members", {
        name: "Kim Key",
        username: "kim",
        email: "kim@acme.example",
      });
      expect(made.status).toBe(201);
      expect(await memberCount(other.company)).toBe(2);
    });

    it("updates name, email and groups; a personal member's name is their own", async () => {
      const created = await admin.post("/api/v1/members", {
        name: "Eve",
        username: "eve",
        email: "eve@acme.example",
      });
      const id: number = created.json.id;
      const res = await admin.patch(`/api/v1/members/${id}`, {
        name: "Eve Evans",
        email: "eve.evans@acme.example",
        groups: [salesId],
      });
      expect(res.status).toBe(200);
      expect(res.json).toMatchObject({
        name: "Eve Evans",
        email: "eve.evans@acme.example",
        groups: [{ name: "Sales" }],
      });
      expect((await admin.patch(`/api/v1/members/${id}`, { groups: [] })).json.groups).toEqual([]);
      const personal = await admin.patch(`/api/v1/members/${zoeId}`, { name: "Zoe" });
      expect(personal.status).toBe(409);
      expect((await admin.patch(`/api/v1/members/${zoeId}`, { groups: [salesId] })).status).toBe(200);
      const bad = await admin.patch(`/api/v1/members/${id}`, { email: "nope" });
      expect(bad.status).toBe(400);
      expect(bad.json.error.message).toMatch(/^email: /);
      expect((await admin.patch(`/api/v1/members/${id}`, { nickname: "E" })).status).toBe(400);
      expect((await viewer.patch(`/api/v1/members/${id}`, { name: "V" })).status).toBe(403);
      expect((await admin.patch(`/api/v1/members/${other.member}`, { name: "Mine" })).status).toBe(404);
      const theirs = await s.db.k
        .selectFrom("members")
        .select("name")
        .where("id", "=", other.member)
        .executeTakeFirstOrThrow();
      expect(theirs.name).toBe("Bob Byrne");
    });
  });

  describe("CSV import", () => {
    it("creates every member, with usernames from the email made unique", async () => {
      const body =
        "\uFEFFfirst_name,last_name,email\r\n" +
        "Frank,Fisher,frank@acme.example\r\n" +
        '"Gina ""G""",Gray,Gina@Elsewhere.example\r\n' +
        "\r\n" +
        "Frank,Foster,frank@other.example\r\n" +
        "Hal,,acme.bob@acme.example\r\n";
      const headers = { "content-type": "text/csv", "idempotency-key": "import-1" };
      const res = await admin.request("POST", "/api/v1/members/import", body, headers);
      expect(res.status).toBe(201);
      expect(res.json.created).toBe(4);
      // A retry with the same Idempotency-Key gets the first answer and creates no one twice.
      const again = await admin.request("POST", "/api/v1/members/import", body, headers);
      expect(again.status).toBe(201);
      expect(again.headers.get("idempotent-replayed")).toBe("true");
      expect(again.json).toEqual(res.json);
      expect(
        rows<{ name: string; username: string; email: string }>(res.json.members).map((m) => [
          m.name,
          m.username,
          m.email,
        ]),
      ).toEqual([
        ["Frank Fisher", "frank", "frank@acme.example"],
        ['Gina "G" Gray', "gina", "gina@elsewhere.example"],
        ["Frank Foster", "frank2", "frank@other.example"],
        ["Hal", "acme.bob2", "acme.bob@acme.example"],
      ]);
      const audit = await s.db.k
        .selectFrom("audit_log")
        .select("details")
        .where("company_id", "=", acmeId)
        .where("action", "=", "member.imported")
        .executeTakeFirstOrThrow();
      expect(JSON.parse(audit.details ?? "{}")).toEqual({ count: 4 });
    });

    it("is all or nothing: a bad line 3 creates no one", async () => {
      const before = await memberCount(acmeId);
      const body =
        "first_name,last_name,email\nIda,Ivers,ida@acme.example\nJon,Jones,x\nKai,King,kai@acme.example\n";
      const res = await admin.request("POST", "/api/v1/members/import", body, { "content-type": "text/csv" });
      expect(res.status).toBe(400);
      expect(res.json.error).toMatchObject({
        code: "invalid_input",
        path: "line 3",
        message: 'line 3: email "x" is not an email address',
      });
      expect(await memberCount(acmeId)).toBe(before);
      const existing = "first_name,last_name,email\nIda,Ivers,ida@acme.example\nBob,B,bob@acme.example\n";
      const dup = await admin.request("POST", "/api/v1/members/import", existing, {
        "content-type": "text/csv",
      });
      expect(dup.status).toBe(409);
      expect(dup.json.error.message).toBe(
        "line 3: the email bob@acme.example is already used by the member acme.bob",
      );
      expect(await memberCount(acmeId)).toBe(before);
    });

    it("refuses a wrong header, too many rows, viewers and members:read keys", async () => {
      const header = await admin.request("POST", "/api/v1/members/import", "name,email\nA,a@b.example\n", {
        "content-type": "text/csv",
      });
      expect(header.status).toBe(400);
      expect(header.json.error.message).toContain('line 1: the header must be "first_name,last_name,email"');
      const rows = Array.from({ length: MEMBERS_IMPORT_ROWS_MAX + 1 }, (_, i) => `N,${i},n${i}@acme.example`);
      const big = await admin.request(
        "POST",
        "/api/v1/members/import",
        ["first_name,last_name,email", ...rows].join("\n"),
        {
          "content-type": "text/csv",
        },
      );
      expect(big.status).toBe(400);
      expect(big.json.error.message).toBe(
        `line ${MEMBERS_IMPORT_ROWS_MAX + 2}: more than ${MEMBERS_IMPORT_ROWS_MAX} members in one import; split the file`,
      );
      const ok = "first_name,last_name,email\nLee,Lo,lee@acme.example\n";
      expect(
        (await viewer.request("POST", "/api/v1/members/import", ok, { "content-type": "text/csv" })).status,
      ).toBe(403);
      const readKey = await withKey(["members:read"]);
      expect(
        (await readKey.request("POST", "/api/v1/members/import", ok, { "content-type": "text/csv" })).status,
      ).toBe(403);
    });
  });

  describe("invitations", () => {
    it("invites by email; the public link shows, accepts once, and makes a personal member", async () => {
      const sent = await admin.post("/api/v1/invitations", { email: "Pat@Example.net" });
      expect(sent.status).toBe(201);
      expect(sent.json.email).toBe("pat@example.net");
      expect(sent.json.link).toBe(`http://localhost/invite/${sent.json.token}`);
      // NOW is 2026-11-27T12:00Z; 30 days later, in Europe/London (GMT).
      expect(sent.json.expires_at).toBe("2026-12-27T12:00:00+00:00");
      const hashOnly = await s.db.k
        .selectFrom("invitations")
        .select("token_hash")
        .where("id", "=", sent.json.id)
        .executeTakeFirstOrThrow();
      expect(hashOnly.token_hash).not.toContain(sent.json.token);

      const token: string = sent.json.token;
      const shown = await anon().get(`/api/v1/invitations/by-token/${token}`);
      expect(shown.status).toBe(200);
      expect(shown.json).toEqual({
        company: "Acme Ltd",
        email: "pat@example.net",
        expires_at: "2026-12-27T12:00:00.000Z",
      });

      const short = await anon().post(`/api/v1/invitations/by-token/${token}/accept`, {
        name: "Pat",
        username: "pat",
        password: "short",
      });
      expect(short.status).toBe(400);
      expect(short.json.error.message).toMatch(/^password: /);
      const accepted = await anon().post(`/api/v1/invitations/by-token/${token}/accept`, {
        name: "Pat Quinn",
        username: "pat.q",
        password: "pat-password",
      });
      expect(accepted.status).toBe(201);
      expect(accepted.json).toMatchObject({
        username: "pat.q",
        email: "pat@example.net",
        account_type: "personal",
        reports_consent: false,
        balance: "0.00",
      });
      expect(accepted.headers.get("set-cookie")).toBeNull();
      const again = await anon().post(`/api/v1/invitations/by-token/${token}/accept`, {
        name: "Pat",
        username: "pat.r",
        password: "pat-password",
      });
      expect(again.status).toBe(409);
      expect(again.json.error.message).toBe("this invitation was already accepted");
      const pat = s.client();
      expect((await pat.login("pat@example.net", "pat-password")).json).toMatchObject({
        kind: "member",
        username: "pat.q",
      });

      const list = await viewer.get("/api/v1/invitations");
      expect(list.json.invitations[0]).toMatchObject({
        email: "pat@example.net",
        status: "accepted",
        member_id: accepted.json.id,
      });
      expect((await admin.delete(`/api/v1/invitations/${sent.json.id}`)).status).toBe(409);
      const actions = await s.db.k
        .selectFrom("audit_log")
        .select(["action", "actor"])
        .where("company_id", "=", acmeId)
        .where("action", "like", "invitation.%")
        .orderBy("id")
        .execute();
      expect(actions).toEqual([
        { action: "invitation.sent", actor: "adam@acme.example" },
        { action: "invitation.accepted", actor: "pat@example.net" },
      ]);
    });

    it("declines, revokes, and expires after 30 days", async () => {
      const declineMe = await admin.post("/api/v1/invitations", { email: "dan@example.net" });
      expect((await anon().post(`/api/v1/invitations/by-token/${declineMe.json.token}/decline`)).status).toBe(
        204,
      );
      expect((await anon().get(`/api/v1/invitations/by-token/${declineMe.json.token}`)).status).toBe(409);

      const revokeMe = await admin.post("/api/v1/invitations", { email: "rae@example.net" });
      expect((await admin.delete(`/api/v1/invitations/${revokeMe.json.id}`)).status).toBe(204);
      expect((await anon().get(`/api/v1/invitations/by-token/${revokeMe.json.token}`)).status).toBe(404);

      const expireMe = await admin.post("/api/v1/invitations", { email: "exp@example.net" });
      const token: string = expireMe.json.token;
      s.clock.advance(30 * DAY_MS - 1);
      expect((await anon().get(`/api/v1/invitations/by-token/${token}`)).status).toBe(200);
      s.clock.advance(1);
      try {
        const late = await anon().post(`/api/v1/invitations/by-token/${token}/accept`, {
          name: "Exp",
          username: "exp",
          password: "exp-password",
        });
        expect(late.status).toBe(409);
        expect(late.json.error.message).toBe(
          "this invitation expired on 2026-12-27T12:00:00.000Z; ask the company for a new one",
        );
        // Sessions last 12 hours: thirty days on, the viewer signs in again.
        const later = s.client();
        await later.login("vera@acme.example", "vera-password");
        const statuses = rows<{ email: string; status: string }>(
          (await later.get("/api/v1/invitations")).json.invitations,
        ).map((i) => `${i.email} ${i.status}`);
        expect(statuses).toEqual([
          "exp@example.net expired",
          "dan@example.net declined",
          "pat@example.net accepted",
        ]);
      } finally {
        s.clock.set(NOW);
      }
      expect((await anon().get("/api/v1/invitations/by-token/no-such-token")).status).toBe(404);
    });

    it("refuses bad emails, existing members, viewers, and another company's invitation", async () => {
      const bad = await admin.post("/api/v1/invitations", { email: "nobody" });
      expect(bad.status).toBe(400);
      expect(bad.json.error.message).toMatch(/^email: /);
      expect((await admin.post("/api/v1/invitations", { email: "zoe@example.org" })).status).toBe(409);
      expect((await viewer.post("/api/v1/invitations", { email: "v@example.net" })).status).toBe(403);
      expect((await anon().post("/api/v1/invitations", { email: "v@example.net" })).status).toBe(401);
      const oa = s.client();
      await oa.login("olga@other.example", PASSWORD);
      const theirs = await oa.post("/api/v1/invitations", { email: "t@example.net" });
      expect((await admin.delete(`/api/v1/invitations/${theirs.json.id}`)).status).toBe(404);
      expect(
        rows<{ email: string }>((await admin.get("/api/v1/invitations")).json.invitations).map(
          (i) => i.email,
        ),
      ).not.toContain("t@example.net");
    });
  });

  describe("groups", () => {
    it("creates, renames, fills, empties and deletes a group, with member counts", async () => {
      const before = await viewer.get("/api/v1/groups");
      expect(rows<{ name: string }>(before.json.groups).find((g) => g.name === "Sales")).toMatchObject({
        id: salesId,
      });
      const made = await admin.post("/api/v1/groups", { name: " Support " });
      expect(made.status).toBe(201);
      expect(made.json).toMatchObject({ name: "Support", members: 0 });
      const gid: number = made.json.id;
      expect((await admin.post("/api/v1/groups", { name: "Support" })).status).toBe(409);
      expect((await admin.patch(`/api/v1/groups/${gid}`, { name: "Helpdesk" })).json.name).toBe("Helpdesk");
      expect((await admin.put(`/api/v1/groups/${gid}/members/${bobId}`)).json.members).toBe(1);
      expect((await admin.put(`/api/v1/groups/${gid}/members/${bobId}`)).json.members).toBe(1);
      expect((await admin.put(`/api/v1/groups/${gid}/members/${zoeId}`)).json.members).toBe(2);
      expect((await admin.delete(`/api/v1/groups/${gid}/members/${zoeId}`)).json.members).toBe(1);
      expect((await admin.delete(`/api/v1/groups/${gid}`)).status).toBe(204);
      expect(
        rows<{ name: string }>((await viewer.get(`/api/v1/members/${bobId}`)).json.groups).map((g) => g.name),
      ).toEqual(["Sales"]);
      const audit = await s.db.k
        .selectFrom("audit_log")
        .select("action")
        .where("company_id", "=", acmeId)
        .where("action", "like", "group.%")
        .orderBy("id")
        .execute();
      expect(audit.map((a) => a.action)).toEqual([
        "group.created",
        "group.renamed",
        "group.member_added",
        "group.member_added",
        "group.member_removed",
        "group.deleted",
      ]);
    });

    it("refuses empty names, viewers, and another company's groups and members", async () => {
      const bad = await admin.post("/api/v1/groups", { name: "  " });
      expect(bad.status).toBe(400);
      expect(bad.json.error.message).toMatch(/^name: /);
      expect((await viewer.post("/api/v1/groups", { name: "Nope" })).status).toBe(403);
      expect((await viewer.delete(`/api/v1/groups/${salesId}`)).status).toBe(403);
      expect((await admin.patch(`/api/v1/groups/${other.group}`, { name: "Mine" })).status).toBe(404);
      expect((await admin.delete(`/api/v1/groups/${other.group}`)).status).toBe(404);
      expect((await admin.put(`/api/v1/groups/${other.group}/members/${bobId}`)).status).toBe(404);
      expect((await admin.put(`/api/v1/groups/${salesId}/members/${other.member}`)).status).toBe(404);
      const theirs = await s.db.k
        .selectFrom("groups")
        .select("name")
        .where("id", "=", other.group)
        .executeTakeFirstOrThrow();
      expect(theirs.name).toBe("Sales");
    });
  });

  describe("SIP profiles", () => {
    it("lists with balances, creates and updates", async () => {
      const list = await viewer.get("/api/v1/sip-profiles");
      // The PBX's number (15.00) was paid by the company; its SMS cost 2 × 0.11.
      expect(list.json.sip_profiles).toEqual([
        { id: pbxId, name: "London PBX", channels: 4, balance: "-0.22" },
      ]);
      const made = await admin.post("/api/v1/sip-profiles", { name: "Paris PBX", channels: 8 });
      expect(made.status).toBe(201);
      expect(made.json).toMatchObject({ name: "Paris PBX", channels: 8, balance: "0.00" });
      const patched = await admin.patch(`/api/v1/sip-profiles/${made.json.id}`, { channels: 16 });
      expect(patched.json).toMatchObject({ name: "Paris PBX", channels: 16 });
      expect((await admin.patch(`/api/v1/sip-profiles/${made.json.id}`, { name: "London PBX" })).status).toBe(
        409,
      );
    });

    it("refuses zero channels, viewers, and another company's profile", async () => {
      const bad = await admin.post("/api/v1/sip-profiles", { name: "X", channels: 0 });
      expect(bad.status).toBe(400);
      expect(bad.json.error.message).toMatch(/^channels: /);
      expect((await viewer.post("/api/v1/sip-profiles", { name: "X", channels: 1 })).status).toBe(403);
      expect((await admin.patch(`/api/v1/sip-profiles/${other.sip}`, { channels: 99 })).status).toBe(404);
      const theirs = await s.db.k
        .selectFrom("sip_profiles")
        .select("channels")
        .where("id", "=", other.sip)
        .executeTakeFirstOrThrow();
      expect(theirs.channels).toBe(4);
    });
  });

  describe("admins", () => {
    it("lists admins; only owners add, change and remove them", async () => {
      const list = await viewer.get("/api/v1/admins");
      expect(
        rows<{ email: string; role: string }>(list.json.admins).map((a) => `${a.email} ${a.role}`),
      ).toEqual(["adam@acme.example admin", "ana@acme.example owner", "vera@acme.example viewer"]);
      const refused = await admin.post("/api/v1/admins", {
        email: "x@acme.example",
        name: "X",
        role: "owner",
        password: "x-password",
      });
      expect(refused.status).toBe(403);
      expect(refused.json.error.message).toMatch(/may not do this/);
      expect((await admin.patch(`/api/v1/admins/${adminId}`, { role: "owner" })).status).toBe(403);
      const bad = await owner.post("/api/v1/admins", {
        email: "x@acme.example",
        name: "X",
        role: "boss",
        password: "x-password",
      });
      expect(bad.status).toBe(400);
      expect(bad.json.error.message).toMatch(/^role: /);
      expect(
        (
          await owner.post("/api/v1/admins", {
            email: "adam@acme.example",
            name: "A",
            role: "admin",
            password: "x-password",
          })
        ).status,
      ).toBe(409);
      expect((await owner.patch(`/api/v1/admins/${other.admin}`, { role: "viewer" })).status).toBe(404);
      expect((await owner.delete(`/api/v1/admins/${other.admin}`)).status).toBe(404);
    });

    it("keeps a last owner and refuses removing yourself", async () => {
      const anaId = rows<{ id: number; email: string }>(
        (await viewer.get("/api/v1/admins")).json.admins,
      ).find((a) => a.email === "ana@acme.example")?.id;
      const demote = await owner.patch(`/api/v1/admins/${anaId}`, { role: "admin" });
      expect(demote.status).toBe(409);
      expect(demote.json.error.message).toBe(
        "ana@acme.example is the company's last owner; make another admin an owner first",
      );
      expect((await owner.delete(`/api/v1/admins/${anaId}`)).json.error.message).toBe(
        "you cannot remove yourself; ask another owner",
      );
    });

    it("promotes, demotes and removes an admin, whose sessions end", async () => {
      const t = await owner.post("/api/v1/admins", {
        email: "tom@acme.example",
        name: "Tom",
        role: "admin",
        password: "tom-password",
      });
      const tom = s.client();
      await tom.login("tom@acme.example", "tom-password");
      expect((await owner.patch(`/api/v1/admins/${t.json.id}`, { role: "owner" })).json.role).toBe("owner");
      expect((await tom.get("/api/v1/auth/session")).json.role).toBe("owner");
      expect((await owner.patch(`/api/v1/admins/${t.json.id}`, { role: "viewer" })).json.role).toBe("viewer");
      expect((await owner.delete(`/api/v1/admins/${t.json.id}`)).status).toBe(204);
      expect((await tom.get("/api/v1/auth/session")).status).toBe(401);
      const audit = await s.db.k
        .selectFrom("audit_log")
        .select("action")
        .where("company_id", "=", acmeId)
        .where("subject", "=", "tom@acme.example")
        .orderBy("id")
        .execute();
      expect(audit.map((a) => a.action)).toEqual([
        "admin.added",
        "admin.role_changed",
        "admin.role_changed",
        "admin.removed",
      ]);
    });
  });

  describe("API keys", () => {
    it("shows a key once, lists only its prefix, and revokes it", async () => {
      const made = await admin.post("/api/v1/api-keys", {
        name: "PBX feed",
        scopes: ["usage:write", "members:read"],
      });
      expect(made.status).toBe(201);
      const key: string = made.json.key;
      expect(key).toMatch(/^sbk_/);
      expect(made.json.api_key).toMatchObject({
        name: "PBX feed",
        scopes: ["usage:write", "members:read"],
        revoked_at: null,
      });
      expect(key.startsWith(made.json.api_key.prefix)).toBe(true);
      const list = await admin.get("/api/v1/api-keys");
      expect(list.text).not.toContain(key);
      const c = s.client();
      c.bearer = key;
      expect((await c.get("/api/v1/members?limit=1")).status).toBe(200);
      expect(
        rows<{ id: number; last_used_at: string | null }>(
          (await admin.get("/api/v1/api-keys")).json.api_keys,
        ).find((k) => k.id === made.json.api_key.id)?.last_used_at,
      ).toBe("2026-11-27T12:00:00+00:00");
      const revoked = await admin.delete(`/api/v1/api-keys/${made.json.api_key.id}`);
      expect(revoked.json.revoked_at).toBe("2026-11-27T12:00:00+00:00");
      expect((await c.get("/api/v1/members?limit=1")).status).toBe(401);
    });

    it("refuses unknown scopes, viewers, API keys, and another company's key", async () => {
      const bad = await admin.post("/api/v1/api-keys", { name: "X", scopes: ["everything"] });
      expect(bad.status).toBe(400);
      expect(bad.json.error.message).toMatch(/^scopes\[0\]: /);
      expect((await viewer.get("/api/v1/api-keys")).status).toBe(403);
      expect((await viewer.post("/api/v1/api-keys", { name: "X", scopes: ["reports:read"] })).status).toBe(
        403,
      );
      const k = await withKey(["members:write"]);
      expect((await k.post("/api/v1/api-keys", { name: "X", scopes: ["reports:read"] })).status).toBe(403);
      expect((await admin.delete(`/api/v1/api-keys/${other.apiKey}`)).status).toBe(404);
      const theirs = await s.db.k
        .selectFrom("api_keys")
        .select("revoked_at_ms")
        .where("id", "=", other.apiKey)
        .executeTakeFirstOrThrow();
      expect(theirs.revoked_at_ms).toBeNull();
    });
  });

  describe("company", () => {
    it("shows the balance and how many days it lasts", async () => {
      // 150.00 purchased − 20.00 to Bob − 4.99 plan − 15.00 number + 5.00 reclaimed = 115.01; no usage since
      // 2026-10-28, so no estimate.
      const now = await viewer.get("/api/v1/company");
      expect(now.json).toEqual({
        id: acmeId,
        name: "Acme Ltd",
        currency: "EUR",
        timezone: "Europe/London",
        balance: "115.01",
        usage_last_30_days: "0.00",
        days_left: null,
      });
      // On 2026-09-20 the last 30 days hold the PBX's SMS (0.22; Bob's call was covered): 115.01 ÷ (0.22 / 30)
      // = 15683.2 days.
      s.clock.set(Date.parse("2026-09-20T00:00:00Z"));
      try {
        const then = await owner.get("/api/v1/company");
        expect(then.json).toMatchObject({ usage_last_30_days: "0.22", days_left: 15683 });
      } finally {
        s.clock.set(NOW);
      }
      const carla = s.client();
      await carla.login("carla@acme.example", "carla-password");
      // A member sees the company's name and formats, never its money (PRODUCT.md §1).
      expect((await carla.get("/api/v1/company")).json).toMatchObject({
        name: "Acme Ltd",
        currency: "EUR",
        balance: null,
        usage_last_30_days: null,
        days_left: null,
      });
      expect((await anon().get("/api/v1/company")).status).toBe(401);
      const k = await withKey(["members:read"]);
      expect((await k.get("/api/v1/company")).status).toBe(403);
    });
  });

  it("describes every route in the OpenAPI document", async () => {
    const doc = (await anon().get("/api/openapi.json")).json;
    for (const path of [
      "/api/v1/members",
      "/api/v1/members/{id}",
      "/api/v1/members/import",
      "/api/v1/invitations",
      "/api/v1/invitations/by-token/{token}/accept",
      "/api/v1/groups/{id}/members/{memberId}",
      "/api/v1/sip-profiles/{id}",
      "/api/v1/admins/{id}",
      "/api/v1/api-keys/{id}",
      "/api/v1/company",
    ])
      expect(Object.keys(doc.paths)).toContain(path);
    for (const name of [
      "Member",
      "NewMember",
      "Invitation",
      "Group",
      "SipProfile",
      "Admin",
      "ApiKey",
      "Company",
    ])
      expect(Object.keys(doc.components.schemas)).toContain(name);
    expect(doc.paths["/api/v1/members/import"].post.requestBody.content).toHaveProperty("text/csv");
  });
});
