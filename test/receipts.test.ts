/**
 * Purchase receipts (issue 5, item 5) over HTTP on SQLite and PostgreSQL: the PDF of a completed purchase
 * holds the seller, the buyer, the reference and the amounts of the stored row (text extracted with pdf.js);
 * a purchase settled later has one too; pending and failed ones answer 409; another company's reference 404;
 * members 403; API keys with billing:write or reports:read may read it. One receipt is rendered to PNG in
 * artifacts/ (when pdftoppm is installed) for a person to look at.
 */
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { getDocument } from "pdfjs-dist/legacy/build/pdf.mjs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { importBundle } from "../src/bundle/import";
import { receiptPdf, vatPercent } from "../src/documents/receipt";
import { createApiKey } from "../src/services/auth.service";
import { DIALECTS, postgresAvailable } from "./helpers/databases";
import { createTestServer } from "./helpers/http";
import type { TestClient, TestServer } from "./helpers/http";
import { NOW } from "./helpers/reports";
import { specExampleBundle } from "./helpers/spec-example-bundle";
import type { JsonObject } from "./helpers/spec-example-bundle";

const pgOk = await postgresAvailable();
const PASSWORD = "optional plain text, hashed on import";
const SELLER = {
  SELLER_NAME: "Switchboard Telecom Ltd",
  SELLER_ADDRESS: "1 Exchange Street\\nLondon EC1A 1AA",
  SELLER_VAT_ID: "GB123456789",
};

/** Another company with the same history and its own names (its purchases are B-1001, B-1002). */
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

/** The text of a PDF, its items joined by spaces and runs of white space collapsed. */
async function pdfText(pdf: Buffer): Promise<string> {
  const doc = await getDocument({ data: new Uint8Array(pdf), verbosity: 0 }).promise;
  expect(doc.numPages).toBe(1);
  const pages: string[] = [];
  for (let n = 1; n <= doc.numPages; n++) {
    const content = await (await doc.getPage(n)).getTextContent();
    pages.push(content.items.map((item) => ("str" in item ? item.str : "")).join(" "));
  }
  await doc.destroy();
  return pages.join(" ").replace(/\s+/g, " ").trim();
}

const receiptUrl = (reference: string) => `/api/v1/purchases/${encodeURIComponent(reference)}/receipt.pdf`;

describe("vatPercent", () => {
  it("moves the decimal point of the stored rate without floating point", () => {
    expect(vatPercent("0.20")).toBe("20 %");
    expect(vatPercent("0.175")).toBe("17.5 %");
    expect(vatPercent("0")).toBe("0 %");
    expect(vatPercent("0.07")).toBe("7 %");
    expect(vatPercent("1")).toBe("100 %");
  });
});

describe("receiptPdf", () => {
  it("prints a company and buyer in any script, and a currency without decimals", async () => {
    const company = "王芳 Σοφία Дмитрий Łukasz Żółć KK";
    const pdf = await receiptPdf({
      seller: { name: "Switchboard", address: [], vatId: undefined },
      companyName: company,
      timezone: "Asia/Tokyo",
      currency: "JPY",
      buyerName: "Zoë Ng",
      buyerEmail: null,
      reference: "R/2026-0001",
      paymentMethod: "voucher",
      createdAtMs: Date.parse("2026-09-01T09:00:00Z"),
      settledAtMs: Date.parse("2026-09-01T09:00:00Z"),
      amountMinor: 10000,
      vatRate: "0.10",
      vatMinor: 1000,
      totalMinor: 11000,
      generatedAtMs: NOW,
    });
    expect(pdf.toString("latin1")).toContain("/FontFile3"); // the CJK fallback face was embedded
    const text = await pdfText(pdf);
    for (const expected of [company, "Zoë Ng", "R/2026-0001", "2026-09-01 18:00:00 +09:00", "Voucher"])
      expect(text).toContain(expected);
    for (const expected of ["10000 JPY", "10 %", "1000 JPY", "11000 JPY"]) expect(text).toContain(expected);
    const tool = ["/usr/bin/pdftoppm", "/usr/local/bin/pdftoppm"].find((p) => fs.existsSync(p));
    if (!tool) return;
    const dir = path.resolve("artifacts");
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(path.join(dir, "receipt-unicode.pdf"), pdf);
    execFileSync(tool, [
      "-png",
      "-r",
      "60",
      path.join(dir, "receipt-unicode.pdf"),
      path.join(dir, "receipt-unicode"),
    ]);
  });
});

describe.each(DIALECTS.filter((d) => d === "sqlite" || pgOk))("purchase receipts on %s", (dialect) => {
  let s: TestServer;
  let acmeId: number;
  let owner: TestClient;

  /** A receipt fetched as `client`, as bytes (the test client reads bodies as text, so fetch directly). */
  const fetchPdf = async (reference: string, client: TestClient = owner) => {
    const headers: Record<string, string> = {};
    if (client.cookie) headers["cookie"] = client.cookie;
    if (client.bearer) headers["authorization"] = `Bearer ${client.bearer}`;
    const res = await s.app.request(receiptUrl(reference), { headers });
    return { status: res.status, headers: res.headers, body: Buffer.from(await res.arrayBuffer()) };
  };

  beforeAll(async () => {
    s = await createTestServer(dialect, SELLER);
    acmeId = (await importBundle(s.db, specExampleBundle(), { nowMs: NOW })).company_id;
    await importBundle(s.db, betaBundle(), { nowMs: NOW });
    owner = s.client();
    expect((await owner.login("ana@acme.example", PASSWORD)).status).toBe(200);
  });
  afterAll(async () => s.drop());

  it("P-1001: a PDF with seller, buyer, reference, dates, payment method, net, VAT and total", async () => {
    const res = await fetchPdf("P-1001");
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("application/pdf");
    expect(res.headers.get("content-disposition")).toBe('inline; filename="receipt-P-1001.pdf"');
    expect(res.body.subarray(0, 5).toString("latin1")).toBe("%PDF-");
    const raw = res.body.toString("latin1");
    expect(raw).toContain("/FontFile2"); // Noto Sans embedded
    expect(raw).not.toContain("/Helvetica");
    const text = await pdfText(res.body);
    for (const expected of [
      "Receipt",
      "Switchboard Telecom Ltd",
      "1 Exchange Street",
      "London EC1A 1AA",
      "VAT ID GB123456789",
      "Acme Ltd",
      "Ana Admin",
      "ana@acme.example",
      "P-1001",
      "2026-09-01 10:00:00 +01:00", // 09:00Z in Europe/London (summer time)
      "Card",
      "Prepaid calling credit",
      "100.00 EUR",
      "20 %",
      "20.00 EUR",
      "120.00 EUR",
    ])
      expect(text).toContain(expected);

    if (dialect !== "sqlite") return;
    const tool = ["/usr/bin/pdftoppm", "/usr/local/bin/pdftoppm"].find((p) => fs.existsSync(p));
    if (!tool) return; // a look for a person, not an assertion
    const dir = path.resolve("artifacts");
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(path.join(dir, "receipt-P-1001.pdf"), res.body);
    execFileSync(tool, ["-png", "-r", "60", path.join(dir, "receipt-P-1001.pdf"), path.join(dir, "receipt")]);
    expect(fs.existsSync(path.join(dir, "receipt-1.png"))).toBe(true);
  });

  it("P-1002, pending then completed: its receipt shows both dates and no VAT", async () => {
    const res = await fetchPdf("P-1002");
    expect(res.status).toBe(200);
    const text = await pdfText(res.body);
    expect(text).toContain("P-1002");
    expect(text).toContain("2026-09-01 10:01:00 +01:00"); // purchased
    expect(text).toContain("2026-09-21 13:00:00 +01:00"); // settled
    expect(text).toContain("Bank transfer");
    expect(text).toContain("0 %");
    expect(text).toContain("50.00 EUR");
    expect(text).toContain("0.00 EUR");
  });

  it("a pending or failed purchase has no receipt (409)", async () => {
    for (const [reference, status] of [
      ["P-3001", "pending"],
      ["P-3002", "failed"],
    ] as const) {
      const made = await owner.post("/api/v1/purchases", {
        reference,
        amount: "10.00",
        vat_rate: "0.20",
        payment_method: "invoice",
        status,
      });
      expect(made.status).toBe(201);
      const res = await owner.get(receiptUrl(reference));
      expect(res.status).toBe(409);
      expect(res.json.error.code).toBe("conflict");
      expect(res.json.error.message).toContain("only a completed purchase has a receipt");
    }
  });

  it("another company's reference and an unknown one are 404", async () => {
    expect((await owner.get(receiptUrl("B-1001"))).status).toBe(404);
    expect((await owner.get(receiptUrl("P-9999"))).status).toBe(404);
  });

  it("members may not; API keys with billing:write or reports:read may, others may not", async () => {
    const made = await owner.post("/api/v1/members", {
      name: "Carla Diaz",
      username: "carla",
      email: "carla@acme.example",
      password: "carla-password",
    });
    expect(made.status).toBe(201);
    const member = s.client();
    expect((await member.login("carla@acme.example", "carla-password")).json.kind).toBe("member");
    expect((await member.get(receiptUrl("P-1001"))).status).toBe(403);
    expect((await s.client().get(receiptUrl("P-1001"))).status).toBe(401);

    const ana = await s.db.k
      .selectFrom("admins")
      .selectAll()
      .where("company_id", "=", acmeId)
      .where("email", "=", "ana@acme.example")
      .executeTakeFirstOrThrow();
    const keyWith = async (scope: string) => {
      const key = await createApiKey(s.db, {
        companyId: acmeId,
        name: scope,
        scopes: [scope],
        admin: ana,
        nowMs: NOW,
      });
      const client = s.client();
      client.bearer = key.key;
      return client;
    };
    expect((await fetchPdf("P-1001", await keyWith("billing:write"))).status).toBe(200);
    expect((await fetchPdf("P-1001", await keyWith("reports:read"))).status).toBe(200);
    expect((await fetchPdf("P-1001", await keyWith("usage:write"))).status).toBe(403);
  });
});
