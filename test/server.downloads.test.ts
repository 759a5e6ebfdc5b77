/**
 * @module Download Reports over HTTP on SQLite and PostgreSQL: several reports of a month come as one zip
 * holding exactly the chosen files, named `<company>-<month>-<report>.<ext>`, each the same bytes as the
 * single report; one report comes as its file; the query is validated (clear 400s); owners, admins and
 * viewers may download, members may not. Data: the PRODUCT.md §8 example (Acme Ltd, September 2026).
 */
import zlib from "node:zlib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { importBundle } from "../src/bundle/import";
import { DIALECTS, postgresAvailable } from "./helpers/databases";
import { createTestServer } from "./helpers/http";
import type { TestClient, TestServer } from "./helpers/http";
import { NOW } from "./helpers/reports";
import { specExampleBundle } from "./helpers/spec-example-bundle";
import type { JsonObject } from "./helpers/spec-example-bundle";

const pgOk = await postgresAvailable();
if (!pgOk) console.warn("NOTICE: PostgreSQL is not reachable: the downloads suites run on SQLite only.");
const PASSWORD = "optional plain text, hashed on import";

function acmeBundle(): JsonObject {
  const b = specExampleBundle();
  (b["admins"] as JsonObject[]).push({
    email: "vic@acme.example",
    name: "Vic Viewer",
    role: "viewer",
    password: PASSWORD,
  });
  return b;
}

/** The names and contents of a zip's entries, read from its central directory (stored or deflated). */
function readZip(zip: Buffer): Map<string, Buffer> {
  const eocd = zip.lastIndexOf(Buffer.from([0x50, 0x4b, 0x05, 0x06]));
  expect(eocd).toBeGreaterThan(0);
  const count = zip.readUInt16LE(eocd + 10);
  let at = zip.readUInt32LE(eocd + 16);
  const files = new Map<string, Buffer>();
  for (let i = 0; i < count; i++) {
    expect(zip.readUInt32LE(at)).toBe(0x02014b50);
    const method = zip.readUInt16LE(at + 10);
    const size = zip.readUInt32LE(at + 20);
    const nameLength = zip.readUInt16LE(at + 28);
    const extra = zip.readUInt16LE(at + 30);
    const comment = zip.readUInt16LE(at + 32);
    const local = zip.readUInt32LE(at + 42);
    const name = zip.toString("utf8", at + 46, at + 46 + nameLength);
    const dataStart = local + 30 + zip.readUInt16LE(local + 26) + zip.readUInt16LE(local + 28);
    const data = zip.subarray(dataStart, dataStart + size);
    files.set(name, method === 8 ? zlib.inflateRawSync(data) : Buffer.from(data));
    at += 46 + nameLength + extra + comment;
  }
  return files;
}

describe.each(DIALECTS.filter((d) => d === "sqlite" || pgOk))("Download Reports on %s", (dialect) => {
  let s: TestServer;
  let owner: TestClient;
  let viewer: TestClient;
  let member: TestClient;

  /** A GET whose body is read as bytes (the test client reads text). */
  const download = async (c: TestClient, query: string) => {
    const res = await s.app.request(`/api/v1/downloads?${query}`, {
      headers: c.cookie ? { cookie: c.cookie } : {},
    });
    const body = Buffer.from(await res.arrayBuffer());
    return { status: res.status, headers: res.headers, body };
  };

  beforeAll(async () => {
    s = await createTestServer(dialect);
    await importBundle(s.db, acmeBundle(), { nowMs: NOW });
    owner = s.client();
    viewer = s.client();
    member = s.client();
    expect((await owner.login("ana@acme.example", PASSWORD)).status).toBe(200);
    expect((await viewer.login("vic@acme.example", PASSWORD)).status).toBe(200);
    const created = await owner.post("/api/v1/members", {
      name: "Mia Member",
      username: "mia",
      email: "mia@acme.example",
      password: "mia-password-1",
    });
    expect(created.status).toBe(201);
    expect((await member.login("mia@acme.example", "mia-password-1")).json.kind).toBe("member");
  });
  afterAll(async () => s.drop());

  it("a zip of 3 reports holds exactly those 3 files, named <company>-<month>-<report>.<ext>", async () => {
    const res = await download(
      owner,
      "month=2026-09&format=csv&reports=summary,purchases,allocations:credit",
    );
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("application/zip");
    expect(res.headers.get("content-disposition")).toBe(
      'attachment; filename="acme-ltd-2026-09-reports.zip"',
    );
    const files = readZip(res.body);
    expect([...files.keys()]).toEqual([
      "acme-ltd-2026-09-summary.csv",
      "acme-ltd-2026-09-purchases.csv",
      "acme-ltd-2026-09-allocations-credit.csv",
    ]);
    // Each file is the very report a single request gives.
    for (const [name, path] of [
      ["acme-ltd-2026-09-summary.csv", "summary"],
      ["acme-ltd-2026-09-purchases.csv", "purchases"],
      ["acme-ltd-2026-09-allocations-credit.csv", "allocations?feature=credit&"],
    ] as const) {
      const sep = path.includes("?") ? "" : "?";
      const single = await owner.get(`/api/v1/reports/${path}${sep}month=2026-09&format=csv`);
      expect(single.status).toBe(200);
      // The test client reads text, which drops the byte-order mark.
      expect(files.get(name)?.toString("utf8")).toBe(`\uFEFF${single.text}`);
    }
    expect(files.get("acme-ltd-2026-09-purchases.csv")?.toString("utf8")).toContain("P-1001");
  });

  it("a single report returns that file, not a zip", async () => {
    const res = await download(owner, "month=2026-09&format=pdf&reports=purchases");
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("application/pdf");
    expect(res.headers.get("content-disposition")).toBe(
      'attachment; filename="acme-ltd-2026-09-purchases.pdf"',
    );
    expect(res.body.subarray(0, 5).toString("latin1")).toBe("%PDF-");

    const csv = await download(owner, "month=2026-09&format=csv&reports=allocations");
    expect(csv.status).toBe(200);
    expect(csv.headers.get("content-disposition")).toBe(
      'attachment; filename="acme-ltd-2026-09-allocations-credit.csv"',
    );
    expect(csv.body.subarray(0, 3)).toEqual(Buffer.from([0xef, 0xbb, 0xbf]));
  });

  it("a viewer may download (XLSX zip of the three allocation features)", async () => {
    const res = await download(
      viewer,
      "month=2026-09&format=xlsx&reports=allocations:credit,allocations:subscription,allocations:number",
    );
    expect(res.status).toBe(200);
    const files = readZip(res.body);
    expect([...files.keys()]).toEqual([
      "acme-ltd-2026-09-allocations-credit.xlsx",
      "acme-ltd-2026-09-allocations-subscription.xlsx",
      "acme-ltd-2026-09-allocations-number.xlsx",
    ]);
    // Each XLSX is itself a zip (starts with "PK").
    for (const data of files.values()) expect(data.subarray(0, 2).toString("latin1")).toBe("PK");
  });

  it("a Usage report of a member can be included (privacy rules apply)", async () => {
    const res = await download(owner, "month=2026-09&format=csv&reports=summary,usage:acme.bob");
    expect(res.status, res.body.toString("utf8")).toBe(200);
    expect([...readZip(res.body).keys()]).toEqual([
      "acme-ltd-2026-09-summary.csv",
      "acme-ltd-2026-09-usage-bob-byrne.csv",
    ]);
    // Zoë (personal) withdrew her consent: nothing is sent, and the answer says why.
    const refused = await owner.get(
      "/api/v1/downloads?month=2026-09&format=csv&reports=summary,usage:zoe.ng",
    );
    expect(refused.status).toBe(403);
    expect(refused.json.error).toMatchObject({
      code: "consent_required",
      details: { balance: "0.00", currency: "EUR" },
    });
  });

  it("answers 400 with a clear message for a bad query", async () => {
    const cases: [string, RegExp][] = [
      ["month=2026-09&format=csv&reports=summary,invoices", /reports: unknown report "invoices"/],
      ["month=2026-09&format=csv&reports=allocations:credits", /unknown report "allocations:credits"/],
      ["month=2026-09&format=csv&reports=summary,summary", /"summary" is asked for twice/],
      ["month=2026-09&format=csv&reports=", /choose at least one report/],
      ["month=2026-09&format=csv", /reports/],
      ["month=2026-09&format=docx&reports=summary", /format/],
      ["month=October&format=csv&reports=summary", /month: must be a month like "2026-10"/],
      ["month=2026-09&format=csv&reports=summary&colour=red", /colour|unrecognized/i],
    ];
    for (const [query, message] of cases) {
      const res = await owner.get(`/api/v1/downloads?${query}`);
      expect(res.status, query).toBe(400);
      expect(res.json.error.code, query).toBe("invalid_input");
      expect(res.json.error.message, query).toMatch(message);
    }
  });

  it("members may not download company reports; strangers must sign in", async () => {
    const res = await member.get("/api/v1/downloads?month=2026-09&format=csv&reports=summary");
    expect(res.status).toBe(403);
    expect(res.json.error.code).toBe("forbidden");
    const anon = await s.client().get("/api/v1/downloads?month=2026-09&format=csv&reports=summary");
    expect(anon.status).toBe(401);
  });

  it("is listed in the OpenAPI document", async () => {
    const doc = await owner.get("/api/openapi.json");
    expect(doc.status).toBe(200);
    expect(Object.keys(doc.json.paths)).toContain("/api/v1/downloads");
  });
});
