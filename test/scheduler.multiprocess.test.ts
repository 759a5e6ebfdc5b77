/**
 * Stateless server processes (issue 6 §4), on SQLite (one database file) and PostgreSQL:
 * - scheduled work is safe across processes: three separate processes, each a server's scheduler, run the
 *   renewals of the same due subscriptions and numbers at the same moment (released together by a start
 *   signal, not by sleeps); every term is renewed and charged exactly once, and the ledger adds up;
 * - sessions live in the database: a session signed in through one app instance is valid on another app
 *   instance with its own database connection, and signing out on one ends it on both.
 * Figures from the PRODUCT.md §8 example (test/helpers/spec-example-bundle.ts): each imported company's balance
 * is 115.01; Bob's Unlimited UK (4.99) and London PBX's number (15.00) are both due on 2026-12-02 09:00Z.
 */
import { spawn } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import readline from "node:readline";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { importBundle } from "../src/bundle/import";
import { loadConfig } from "../src/config";
import { openDatabase } from "../src/db/database";
import type { Database, Dialect } from "../src/db/database";
import { migrate } from "../src/db/migrate";
import { createApp } from "../src/http/app";
import { findBalanceMismatches } from "../src/services/allocation.service";
import { ManualClock } from "../src/time/clock";
import { createTestDatabase, DIALECTS, postgresAvailable } from "./helpers/databases";
import { TestClient } from "./helpers/http";
import { NOW } from "./helpers/reports";
import { specExampleBundle } from "./helpers/spec-example-bundle";

const pgOk = await postgresAvailable();
const PROCESSES = 3;
const COMPANIES = 4;
const DUE_AT = "2026-12-02T09:00:00Z";
const PASSWORD = "optional plain text, hashed on import";

interface ChildTotals {
  renewed: number;
  lapsed: number;
  skipped: number;
  failed: number;
  errors: unknown[];
}

/** A database two processes can open: a SQLite file (in-memory would be per process) or a PostgreSQL database. */
async function sharedDatabase(dialect: Dialect): Promise<{ db: Database; drop(): Promise<void> }> {
  if (dialect === "postgres") return createTestDatabase(dialect);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "sb-multiprocess-"));
  const db = openDatabase(`sqlite:${path.join(dir, "shared.db")}`);
  await migrate(db);
  return {
    db,
    drop: async () => {
      await db.close();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Starts the scheduler processes, waits until each is ready, then releases them together. */
async function raceSchedulers(url: string): Promise<ChildTotals[]> {
  const children = Array.from({ length: PROCESSES }, () =>
    spawn(process.execPath, ["--import", "tsx", "test/helpers/scheduler-child.ts", url, DUE_AT], {
      stdio: ["pipe", "pipe", "pipe"],
    }),
  );
  const outputs = children.map((child) => {
    const lines = readline.createInterface({ input: child.stdout });
    let stderr = "";
    child.stderr.on("data", (b: Buffer) => (stderr += b.toString()));
    const ready = new Promise<void>((resolve, reject) => {
      lines.on("line", (line) => line === "ready" && resolve());
      child.once("exit", (code) =>
        reject(new Error(`scheduler process exited (${String(code)}): ${stderr}`)),
      );
    });
    const result = new Promise<ChildTotals>((resolve, reject) => {
      lines.on("line", (line) => line.startsWith("{") && resolve(JSON.parse(line) as ChildTotals));
      child.once("exit", (code) =>
        code === 0 ? undefined : reject(new Error(`scheduler process failed (${String(code)}): ${stderr}`)),
      );
    });
    return { ready, result };
  });
  await Promise.all(outputs.map((o) => o.ready));
  for (const child of children) child.stdin.write("go\n");
  const results = await Promise.all(outputs.map((o) => o.result));
  for (const child of children) child.stdin.end();
  return results;
}

describe.each(DIALECTS.filter((d) => d === "sqlite" || pgOk))("several server processes on %s", (dialect) => {
  let shared: { db: Database; drop(): Promise<void> };
  const companyIds: number[] = [];

  beforeAll(async () => {
    shared = await sharedDatabase(dialect);
    for (let i = 0; i < COMPANIES; i++)
      companyIds.push((await importBundle(shared.db, specExampleBundle(), { nowMs: NOW })).company_id);
    await shared.db.k.updateTable("subscriptions").set({ renew: 1 }).execute();
    await shared.db.k.updateTable("numbers").set({ renew: 1 }).execute();
  });
  afterAll(async () => shared.drop());

  it(`${PROCESSES} schedulers renewing at the same moment renew and charge each term once`, async () => {
    const results = await raceSchedulers(shared.db.url);
    const sum = (k: "renewed" | "lapsed" | "skipped" | "failed") => results.reduce((n, r) => n + r[k], 0);
    expect(results.flatMap((r) => r.errors)).toEqual([]);
    expect(sum("failed")).toBe(0);
    expect(sum("lapsed")).toBe(0);
    expect(sum("renewed")).toBe(2 * COMPANIES); // one subscription and one number per company

    for (const companyId of companyIds) {
      const subs = await shared.db.k
        .selectFrom("subscriptions")
        .select("renewal_state")
        .where("company_id", "=", companyId)
        .orderBy("id")
        .execute();
      expect(subs.map((s) => s.renewal_state)).toEqual(["renewed", "active"]);
      const numbers = await shared.db.k
        .selectFrom("numbers")
        .select(["renewal_state", "active_until_ms"])
        .where("company_id", "=", companyId)
        .orderBy("id")
        .execute();
      expect(numbers.map((n) => n.renewal_state)).toEqual(["renewed", "active"]);
      expect(numbers[1]?.active_until_ms).toBe(Date.parse("2027-03-01T10:07:00Z"));
      // Paid once each: the original allocation and one renewal, of each feature.
      const paid = await shared.db.k
        .selectFrom("transfers")
        .select(["kind", "amount_minor"])
        .where("company_id", "=", companyId)
        .where("kind", "in", ["subscription", "number"])
        .orderBy("id")
        .execute();
      expect(paid.map((t) => `${t.kind} ${t.amount_minor}`).sort()).toEqual([
        "number 1500",
        "number 1500",
        "subscription 499",
        "subscription 499",
      ]);
      const company = await shared.db.k
        .selectFrom("accounts")
        .select("balance_minor")
        .where("company_id", "=", companyId)
        .where("kind", "=", "company")
        .executeTakeFirstOrThrow();
      expect(company.balance_minor).toBe(11_501 - 499 - 1_500);
      expect(await findBalanceMismatches(shared.db, companyId)).toEqual([]);
    }
  });

  it("a session signed in on one app instance is valid on another, and signing out ends it on both", async () => {
    const clock = new ManualClock(NOW);
    const config = loadConfig({ LOG_LEVEL: "silent" });
    const otherDb = openDatabase(shared.db.url); // the second server's own connection (pool)
    try {
      const first = new TestClient(createApp({ db: shared.db, clock, config }));
      const second = new TestClient(createApp({ db: otherDb, clock, config }));
      expect((await first.login("ana@acme.example", PASSWORD, companyIds[0])).status).toBe(200);
      second.cookie = first.cookie;
      second.csrf = first.csrf;
      const balances = await second.get("/api/v1/balances");
      expect(balances.status).toBe(200);
      expect(balances.json.company_balance).toBe("95.02"); // 115.01 − 4.99 − 15.00 after the renewals
      // A write on the second instance with the CSRF token the first one issued.
      const allocation = await second.post("/api/v1/allocations/credit", { to: "acme.bob", amount: "1.00" });
      expect(allocation.status).toBe(200);
      expect((await first.get("/api/v1/balances")).json.company_balance).toBe("94.02");
      expect((await second.post("/api/v1/auth/logout")).status).toBeLessThan(300);
      expect((await first.get("/api/v1/balances")).status).toBe(401);
    } finally {
      await otherDb.close();
    }
  });
});
