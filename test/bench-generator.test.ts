/**
 * Keeps the benchmark data generator (bench/generate.ts) from rotting as the schema moves: a tiny dataset on
 * SQLite and PostgreSQL must be consistent the way the app would have left it — the app's own
 * `findBalanceMismatches` finds nothing, balances equal their monthly net totals, account-month usage
 * totals equal the records' charges — the reports read it, and the same seed writes the same data.
 */
import { sql } from "kysely";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { checkDataset, generateDataset, SIZES } from "../bench/generate";
import type { GeneratedDataset } from "../bench/generate";
import type { Database } from "../src/db/database";
import { runReport } from "../src/reports/report.service";
import { loadCompany } from "../src/services/company-context";
import { ownerViewer } from "../bench/lib/viewer";
import { createTestDatabase, DIALECTS, postgresAvailable } from "./helpers/databases";

const pgOk = await postgresAvailable();

async function fingerprint(db: Database): Promise<Record<string, unknown>> {
  const { rows } = await sql<Record<string, unknown>>`
    select (select count(*) from usage_records) as records,
      (select sum(charge_minor) from usage_records) as charged,
      (select count(*) from usage_records where status = 'unrated') as unrated,
      (select sum(amount_minor) from transfers) as transferred,
      (select sum(balance_minor * id) from accounts) as balances`.execute(db.k);
  return Object.fromEntries(Object.entries(rows[0] ?? {}).map(([k, v]) => [k, Number(v)]));
}

describe.each(DIALECTS.filter((d) => d === "sqlite" || pgOk))("benchmark generator on %s", (dialect) => {
  let db: Database;
  let drop: () => Promise<void>;
  let dataset: GeneratedDataset;

  beforeAll(async () => {
    ({ db, drop } = await createTestDatabase(dialect));
    dataset = await generateDataset(db, SIZES.tiny, { seed: 7 });
  });
  afterAll(async () => drop());

  it("writes the planned sizes", () => {
    expect(dataset).toMatchObject({ companies: 3, members: 30, sipProfiles: 3, records: 2_000 });
    expect(dataset.months).toEqual(["2026-08", "2026-09", "2026-10"]);
    // The trunk's 600 calls plus the members' 200 in the busiest month.
    expect(dataset.largest.busiestMonthRecords).toBe(800);
    expect(dataset.largest.busiestMemberRecords).toBeGreaterThan(0);
  });

  it("leaves balances, monthly totals and entries consistent", async () => {
    expect(await checkDataset(db, [1, 2, 3])).toEqual([]);
  });

  it("the grouped check finds a balance that does not match its entries", async () => {
    const account = await db.k
      .selectFrom("accounts")
      .select(["id", "balance_minor"])
      .where("kind", "=", "member")
      .orderBy("id")
      .executeTakeFirstOrThrow();
    await db.k
      .updateTable("accounts")
      .set({ balance_minor: account.balance_minor + 1 })
      .where("id", "=", account.id)
      .execute();
    try {
      expect(await checkDataset(db, [])).toEqual([
        `account ${account.id}: balance ≠ the sum of its entries`,
        `account ${account.id}: balance ≠ sum of its monthly net totals`,
      ]);
    } finally {
      await db.k
        .updateTable("accounts")
        .set({ balance_minor: account.balance_minor })
        .where("id", "=", account.id)
        .execute();
    }
  });

  it("is read by the reports: the Summary adds up and the trunk's Usage month has every call", async () => {
    const company = await loadCompany(db, dataset.largest.companyId);
    const summary = await runReport(
      db,
      company,
      { report: "summary", month: dataset.largest.busiestMonth, format: "json" },
      { kind: "operator" },
      Date.parse("2026-11-27T12:00:00Z"),
    );
    const t = summary.totals;
    const minor = (k: string) => Math.round(Number(t[k]) * 100);
    expect(minor("closing_company_balance")).toBe(
      minor("opening_company_balance") +
        minor("purchased") -
        minor("allocated_credit") +
        minor("reclaimed_credit") -
        minor("features_cost"),
    );
    const rows: unknown[] = [];
    for await (const r of summary.rows) rows.push(r);
    expect(rows).toHaveLength(12 + 1); // every member and the trunk got credit this month

    const usage = await runReport(
      db,
      company,
      {
        report: "usage",
        month: dataset.largest.busiestMonth,
        subject: dataset.largest.trunkSubject,
        format: "json",
      },
      await ownerViewer(db, dataset.largest.companyId),
      Date.parse("2026-11-27T12:00:00Z"),
    );
    let n = 0;
    for await (const r of usage.rows) if (r) n++;
    expect(n).toBe(SIZES.tiny.trunkBusiestRecords);
  });

  it("the same seed writes the same data", async () => {
    if (dialect !== "sqlite") return;
    const again = await createTestDatabase("sqlite");
    try {
      await generateDataset(again.db, SIZES.tiny, { seed: 7 });
      expect(await fingerprint(again.db)).toEqual(await fingerprint(db));
    } finally {
      await again.drop();
    }
  });

  it("refuses a database that already has companies", async () => {
    await expect(generateDataset(db, SIZES.tiny)).rejects.toThrow("empty database");
  });
});
