/**
 * @module Concurrent allocations (PRODUCT.md §3): "two admins allocating at the same moment can never
 * together take the company below zero". 200 allocations of 1.00 race for a balance of 50.00: exactly 50
 * succeed, the others are refused as insufficient_balance, and the ledger still adds up. On PostgreSQL the
 * transactions run on separate connections (and, in the second case, from two separate pools).
 */
import { sql } from "kysely";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { inTransaction, openDatabase } from "../src/db/database";
import type { Database, Db, Dialect } from "../src/db/database";
import { allocateCredit, findBalanceMismatches } from "../src/services/allocation.service";
import type { CompanyContext } from "../src/services/company-context";
import { createCompany } from "../src/services/company.service";
import { createAdmin, createMember, requireSubject } from "../src/services/people.service";
import type { Subject } from "../src/services/people.service";
import { recordPurchase } from "../src/services/purchase.service";
import { AppError } from "../src/shared/errors";
import { createTestDatabase, postgresAvailable } from "./helpers/databases";

const pgOk = await postgresAvailable();

const NOW_MS = Date.UTC(2026, 8, 1, 9, 0, 0);
const COMPANY_BALANCE_MINOR = 5_000; // 50.00 EUR
const ALLOCATION_MINOR = 100; // 1.00 EUR
const ALLOCATIONS = 200;
const MEMBERS = 10;
/** Connections per pool on PostgreSQL: enough that many transactions truly wait on the same row lock. */
const POOL_CONNECTIONS = 20;

interface Company {
  company: CompanyContext;
  adminId: number;
  members: Subject[];
}

let companies = 0;

async function companyWithBalance(db: Db): Promise<Company> {
  return inTransaction(db, async (tx) => {
    const company = await createCompany(tx, {
      name: `Race ${++companies}`,
      currency: "EUR",
      timezone: "Europe/London",
      nowMs: NOW_MS,
    });
    const adminId = await createAdmin(tx, company, {
      email: "ana@race.example",
      name: "Ana",
      role: "owner",
      passwordHash: null,
      privacyAcknowledgedAtMs: null,
      nowMs: NOW_MS,
    });
    await recordPurchase(tx, company, {
      reference: "P-1",
      amountMinor: COMPANY_BALANCE_MINOR,
      vatRate: "0.20",
      paymentMethod: "card",
      status: "completed",
      atMs: NOW_MS,
      actorAdminId: adminId,
    });
    const members: Subject[] = [];
    for (let i = 0; i < MEMBERS; i++) {
      const username = `m${i}`;
      await createMember(tx, company, {
        name: `Member ${i}`,
        username,
        email: null,
        accountType: "business",
        reportsConsent: false,
        nowMs: NOW_MS,
      });
      members.push(await requireSubject(tx, company.id, username));
    }
    return { company, adminId, members };
  });
}

/**
 * Starts every allocation at once (the i-th through `handles[i % handles.length]`), each in its own
 * transaction, and waits for all. On PostgreSQL each transaction notes the server process it ran on.
 */
async function race(
  handles: readonly Db[],
  c: Company,
): Promise<{ results: PromiseSettledResult<number>[]; backendPids: Set<number> }> {
  const backendPids = new Set<number>();
  const results = await Promise.allSettled(
    Array.from({ length: ALLOCATIONS }, (_, i) => {
      const db = handles[i % handles.length]!;
      return inTransaction(db, async (tx) => {
        if (tx.dialect === "postgres") {
          const { rows } = await sql<{ pid: number }>`select pg_backend_pid() as pid`.execute(tx.k);
          backendPids.add(rows[0]!.pid);
        }
        return allocateCredit(tx, c.company, {
          to: c.members[i % MEMBERS]!,
          amountMinor: ALLOCATION_MINOR,
          atMs: NOW_MS + i,
          actorAdminId: c.adminId,
        });
      });
    }),
  );
  return { results, backendPids };
}

async function expectExactlyFiftySucceeded(
  db: Db,
  c: Company,
  results: PromiseSettledResult<number>[],
): Promise<void> {
  const fulfilled = results.filter((r) => r.status === "fulfilled");
  const rejected = results.flatMap((r) => (r.status === "rejected" ? [r.reason as unknown] : []));
  expect(fulfilled).toHaveLength(COMPANY_BALANCE_MINOR / ALLOCATION_MINOR);
  expect(rejected).toHaveLength(ALLOCATIONS - COMPANY_BALANCE_MINOR / ALLOCATION_MINOR);
  for (const error of rejected) {
    expect(error).toBeInstanceOf(AppError);
    expect((error as AppError).code).toBe("insufficient_balance");
  }

  const accounts = await db.k
    .selectFrom("accounts")
    .select(["id", "balance_minor"])
    .where("company_id", "=", c.company.id)
    .execute();
  const balance = (id: number) => accounts.find((a) => a.id === id)!.balance_minor;
  expect(balance(c.company.companyAccountId)).toBe(0);
  expect(c.members.reduce((sum, m) => sum + balance(m.accountId), 0)).toBe(COMPANY_BALANCE_MINOR);
  expect(accounts.reduce((sum, a) => sum + a.balance_minor, 0)).toBe(0);
  const allocations = await db.k
    .selectFrom("transfers")
    .select((eb) => eb.fn.countAll<number>().as("n"))
    .where("company_id", "=", c.company.id)
    .where("kind", "=", "allocate")
    .executeTakeFirstOrThrow();
  expect(Number(allocations.n)).toBe(COMPANY_BALANCE_MINOR / ALLOCATION_MINOR);
  expect(await findBalanceMismatches(db, c.company.id)).toEqual([]);
}

/** Opens another handle on the same database, with its own pool of `connections`. */
function openPool(url: string, connections: number): Database {
  const previous = process.env["DATABASE_POOL_MAX"];
  process.env["DATABASE_POOL_MAX"] = String(connections);
  try {
    return openDatabase(url);
  } finally {
    if (previous === undefined) delete process.env["DATABASE_POOL_MAX"];
    else process.env["DATABASE_POOL_MAX"] = previous;
  }
}

for (const dialect of ["sqlite", "postgres"] as const satisfies readonly Dialect[]) {
  describe.skipIf(dialect === "postgres" && !pgOk)(`concurrent allocations (${dialect})`, () => {
    let db: Database;
    let drop: () => Promise<void>;
    const extra: Database[] = [];
    beforeAll(async () => {
      ({ db, drop } = await createTestDatabase(dialect));
    });
    afterAll(async () => {
      for (const handle of extra) await handle.close();
      await drop();
    });

    it(`${ALLOCATIONS} allocations of 1.00 against 50.00: exactly 50 succeed`, async () => {
      // On PostgreSQL a handle with a pool of POOL_CONNECTIONS, so that the transactions overlap;
      // SQLite has one connection whose transactions run one after another (BEGIN IMMEDIATE).
      const handle = dialect === "postgres" ? openPool(db.url, POOL_CONNECTIONS) : db;
      if (handle !== db) extra.push(handle);
      const c = await companyWithBalance(handle);
      const { results, backendPids } = await race([handle], c);
      if (dialect === "postgres") expect(backendPids.size).toBeGreaterThanOrEqual(POOL_CONNECTIONS);
      await expectExactlyFiftySucceeded(db, c, results);
    });

    // Two handles are a PostgreSQL case: within one process, SQLite works through its one connection.
    if (dialect === "postgres")
      it("two database handles (two pools) racing: still exactly 50", async () => {
        const a = openPool(db.url, POOL_CONNECTIONS);
        const b = openPool(db.url, POOL_CONNECTIONS);
        extra.push(a, b);
        const c = await companyWithBalance(a);
        const { results, backendPids } = await race([a, b], c);
        expect(backendPids.size).toBeGreaterThanOrEqual(2 * POOL_CONNECTIONS);
        await expectExactlyFiftySucceeded(db, c, results);
      });
  });
}
