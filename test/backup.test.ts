/**
 * Backups and restores as docs/operations.md describes them: `switchboard backup FILE` (SQLite's online
 * backup API) taken while usage is being written, and `pg_dump -Fc` / `pg_restore` for PostgreSQL. Each
 * restored copy is opened and every report, every balance and the company's export are compared.
 */
import { execFile } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { PassThrough } from "node:stream";
import { promisify } from "node:util";
import pg from "pg";
import { afterAll, describe, expect, it } from "vitest";
import { exportBundle } from "../src/bundle/export";
import { generateDemoBundle } from "../src/bundle/demo-bundle";
import { importBundle } from "../src/bundle/import";
import { backupSqlite } from "../src/cli/commands/backup";
import { main } from "../src/cli/main";
import { inTransaction, openDatabase } from "../src/db/database";
import type { Db } from "../src/db/database";
import { migrate } from "../src/db/migrate";
import { findBalanceMismatches } from "../src/services/allocation.service";
import { loadRateTable } from "../src/services/catalog.service";
import { loadCompany } from "../src/services/company-context";
import { requireSubject } from "../src/services/people.service";
import { ingestUsage } from "../src/services/usage.service";
import { ManualClock } from "../src/time/clock";
import { addMonths, monthOf } from "../src/time/month";
import { createTestDatabase, PG_ADMIN_URL, postgresAvailable } from "./helpers/databases";
import { NOW, reportJson } from "./helpers/reports";
import { specExampleBundle } from "./helpers/spec-example-bundle";

const run = promisify(execFile);
const pgOk = await postgresAvailable();
const pgToolsOk = await run("pg_dump", ["--version"]).then(
  () => true,
  () => false,
);

const dir = fs.mkdtempSync(path.join(os.tmpdir(), "sb-backup-"));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

async function exportText(db: Db, companyId: number): Promise<string> {
  const parts: string[] = [];
  await exportBundle(db, companyId, (chunk) => {
    parts.push(chunk);
  });
  return parts.join("");
}

/** Every report of the demo company's months (members' usage as the member, SIP profiles' as the owner) and every balance. */
async function allReports(db: Db, companyId: number): Promise<Record<string, unknown>> {
  const company = await loadCompany(db, companyId);
  const out: Record<string, unknown> = {};
  const members = await db.k
    .selectFrom("members")
    .select(["id", "username"])
    .where("company_id", "=", companyId)
    .orderBy("id")
    .execute();
  const sips = await db.k
    .selectFrom("sip_profiles")
    .select("name")
    .where("company_id", "=", companyId)
    .orderBy("id")
    .execute();
  const owner = await db.k
    .selectFrom("admins")
    .selectAll()
    .where("company_id", "=", companyId)
    .where("role", "=", "owner")
    .orderBy("id")
    .executeTakeFirstOrThrow();
  const reader = { kind: "admin" as const, admin: { ...owner, privacy_acknowledged_at_ms: 1 } };
  const last = monthOf(NOW, company.timezone);
  for (let m = addMonths(last, -4); m <= last; m = addMonths(m, 1)) {
    out[`${m} summary`] = await reportJson(db, companyId, { report: "summary", month: m });
    out[`${m} purchases`] = await reportJson(db, companyId, { report: "purchases", month: m });
    for (const feature of ["credit", "subscription", "number"])
      out[`${m} allocations ${feature}`] = await reportJson(db, companyId, {
        report: "allocations",
        month: m,
        feature,
      });
    for (const mem of members)
      out[`${m} usage ${mem.username}`] = await reportJson(
        db,
        companyId,
        { report: "usage", month: m, subject: mem.username },
        { kind: "member", memberId: mem.id },
      );
    for (const s of sips)
      out[`${m} usage sip:${s.name}`] = await reportJson(
        db,
        companyId,
        { report: "usage", month: m, subject: `sip:${s.name}` },
        reader,
      );
  }
  const accounts = await db.k
    .selectFrom("accounts")
    .select(["id", "kind", "balance_minor"])
    .where("company_id", "=", companyId)
    .orderBy("id")
    .execute();
  out["balances"] = accounts;
  expect(await findBalanceMismatches(db, companyId)).toEqual([]);
  return out;
}

describe("switchboard backup (SQLite, online backup API)", () => {
  it("a copy taken while usage is written is one committed state; at rest it has every report", async () => {
    const file = path.join(dir, "live.db");
    const db = openDatabase(`sqlite:${file}`);
    try {
      await migrate(db);
      const { company_id: id } = await importBundle(db, generateDemoBundle({ now: NOW, seed: 11 }), {
        nowMs: NOW,
      });
      const company = await loadCompany(db, id);
      const rates = await loadRateTable(db, id);
      const sip = await db.k
        .selectFrom("sip_profiles")
        .select("name")
        .where("company_id", "=", id)
        .executeTakeFirstOrThrow();
      const subject = await requireSubject(db, id, `sip:${sip.name}`);
      const before = await countUsage(db);
      // Writers keep committing batches while the backup copies pages.
      let writing = true;
      const writer = (async () => {
        for (let batch = 0; writing || batch < 3; batch++) {
          await inTransaction(db, (tx) =>
            ingestUsage(
              tx,
              company,
              Array.from({ length: 200 }, (_, i) => ({
                externalId: `live-${batch}-${i}`,
                subject,
                kind: "call" as const,
                startedAtMs: NOW - 3_600_000 + batch * 1000 + i,
                destination: "+442079460123",
                durationS: 61,
                segments: null,
              })),
              { nowMs: NOW, rates },
            ),
          );
          await new Promise((resolve) => setImmediate(resolve));
        }
      })();
      const busy = path.join(dir, "busy-copy.db");
      await backupSqlite(file, busy);
      writing = false;
      await writer;
      const copy = openDatabase(`sqlite:${busy}`);
      try {
        const n = await countUsage(copy);
        expect(n).toBeGreaterThanOrEqual(before);
        expect(n % 200).toBe(before % 200); // whole batches only: no half-written transaction
        expect(await findBalanceMismatches(copy, id)).toEqual([]);
      } finally {
        await copy.close();
      }

      // At rest: the copy answers every report exactly as the original, and exports the same bundle.
      const quiet = path.join(dir, "quiet-copy.db");
      await backupSqlite(file, quiet);
      const restored = openDatabase(`sqlite:${quiet}`);
      try {
        expect(await allReports(restored, id)).toEqual(await allReports(db, id));
        expect(await exportText(restored, id)).toBe(await exportText(db, id));
      } finally {
        await restored.close();
      }
      await expect(backupSqlite(file, quiet)).rejects.toThrow(/already exists/);
    } finally {
      await db.close();
    }
  });

  it("the command writes the copy, refuses to overwrite, and sends PostgreSQL users to pg_dump", async () => {
    const env = { DATABASE_URL: `sqlite:${path.join(dir, "cli.db")}` };
    const cli = async (args: string[], e: Record<string, string> = env) => {
      const out = new PassThrough();
      const err = new PassThrough();
      let errText = "";
      err.on("data", (b: Buffer) => (errText += b.toString()));
      out.resume();
      const code = await main(["node", "switchboard", ...args], {
        env: e,
        out,
        err,
        clock: new ManualClock(NOW),
      });
      return { code, err: errText };
    };
    const target = path.join(dir, "cli-copy.db");
    expect(await cli(["backup", target])).toEqual({ code: 0, err: "" });
    expect(fs.statSync(target).size).toBeGreaterThan(0);
    const again = await cli(["backup", target]);
    expect(again.code).toBe(1);
    expect(again.err).toMatch(/already exists/);
    if (pgOk) {
      const onPg = await cli(["backup", path.join(dir, "x.db")], { DATABASE_URL: PG_ADMIN_URL });
      expect(onPg.code).toBe(1);
      expect(onPg.err).toMatch(/pg_dump -Fc/);
    }
  });
});

async function countUsage(db: Db): Promise<number> {
  const row = await db.k
    .selectFrom("usage_records")
    .select((eb) => eb.fn.countAll<number>().as("n"))
    .executeTakeFirstOrThrow();
  return Number(row.n);
}

describe.skipIf(!pgOk || !pgToolsOk)("PostgreSQL: pg_dump -Fc, then pg_restore into a new database", () => {
  it("the restored database has every report and the same export", async () => {
    const { db, drop } = await createTestDatabase("postgres");
    const restoredName = `sb_restore_${process.pid}_${Date.now()}`;
    const admin = new pg.Client({ connectionString: PG_ADMIN_URL });
    await admin.connect();
    try {
      // The §8 example keeps this test quick; the procedure does not depend on the data.
      const { company_id: id } = await importBundle(db, specExampleBundle(), { nowMs: NOW });
      const dump = path.join(dir, "switchboard.dump");
      await run("pg_dump", ["--format=custom", "--file", dump, db.url]);
      await admin.query(`create database ${restoredName} template template0 encoding 'UTF8'`);
      const url = new URL(PG_ADMIN_URL);
      url.pathname = `/${restoredName}`;
      await run("pg_restore", ["--no-owner", "--exit-on-error", "--dbname", url.toString(), dump]);
      const restored = openDatabase(url.toString());
      try {
        expect(await migrate(restored)).toEqual([]);
        expect(await allReports(restored, id)).toEqual(await allReports(db, id));
        expect(await exportText(restored, id)).toBe(await exportText(db, id));
      } finally {
        await restored.close();
      }
    } finally {
      await admin.query(`drop database if exists ${restoredName} with (force)`);
      await admin.end();
      await drop();
    }
  });
});
