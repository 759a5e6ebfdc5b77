/**
 * @module Throughput of `usage ingest`: writes an N-record usage CSV for a company of ~1,000 members in a
 * fresh SQLite database under data/bench/, ingests it with `ingestUsageFile`, and prints records per second.
 *
 *   npx tsx bench/ingest-file.ts [--records 200000] [--members 1000] [--batch 2000] [--dir data/bench]
 *                                [--cpu-prof FILE]
 *
 * --cpu-prof writes a V8 CPU profile of the ingestion alone (not the set-up), for Chrome DevTools.
 */
import fs from "node:fs";
import path from "node:path";
import { Session } from "node:inspector/promises";
import { openDatabase } from "../src/db/database";
import { migrate } from "../src/db/migrate";
import { ingestUsageFile, USAGE_FILE_BATCH_RECORDS_DEFAULT } from "../src/ingest/usage-file";
import { setupCompany, writeUsageCsv } from "./fixtures";

const BENCH_DIR = "data/bench";

function intArg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  if (i === -1) return fallback;
  const n = Number(process.argv[i + 1]);
  if (!Number.isSafeInteger(n) || n < 1) throw new Error(`--${name} needs a positive whole number`);
  return n;
}

function stringArg(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i === -1 ? undefined : process.argv[i + 1];
}

async function main(): Promise<void> {
  const records = intArg("records", 200_000);
  const members = intArg("members", 1_000);
  const batchRecordsMax = intArg("batch", USAGE_FILE_BATCH_RECORDS_DEFAULT);
  const dir = stringArg("dir") ?? BENCH_DIR;
  fs.mkdirSync(dir, { recursive: true });
  const dbFile = path.join(dir, `ingest-${records}.db`);
  const csvFile = path.join(dir, `usage-${records}.csv`);
  for (const f of [dbFile, `${dbFile}-wal`, `${dbFile}-shm`, `${csvFile}.rejects.csv`])
    fs.rmSync(f, { force: true });

  const db = openDatabase(`sqlite:${dbFile}`);
  await migrate(db);
  const companyId = await setupCompany(db, members);
  await writeUsageCsv(csvFile, records, members);
  const profileFile = stringArg("cpu-prof");
  const session = profileFile === undefined ? undefined : new Session();
  if (session) {
    session.connect();
    await session.post("Profiler.enable");
    await session.post("Profiler.start");
  }
  const t0 = performance.now();
  const result = await ingestUsageFile(db, companyId, csvFile, { nowMs: Date.now(), batchRecordsMax });
  const seconds = (performance.now() - t0) / 1000;
  if (session && profileFile !== undefined) {
    const { profile } = await session.post("Profiler.stop");
    fs.writeFileSync(profileFile, JSON.stringify(profile));
    session.disconnect();
  }
  await db.close();
  console.log(JSON.stringify(result));
  console.log(
    `ingested ${records} records (${members} members, batches of ${batchRecordsMax}) in ${seconds.toFixed(2)} s: ` +
      `${Math.round(records / seconds)} records/s`,
  );
}

await main();
