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
import { once } from "node:events";
import { Session } from "node:inspector/promises";
import { inTransaction, openDatabase } from "../src/db/database";
import { migrate } from "../src/db/migrate";
import { ingestUsageFile, USAGE_FILE_BATCH_RECORDS_DEFAULT } from "../src/ingest/usage-file";
import { USAGE_RECORD_KEYS } from "../src/ingest/usage-record";
import { allocateCredit } from "../src/services/allocation.service";
import { putRate } from "../src/services/catalog.service";
import { createCompany } from "../src/services/company.service";
import { createMember, createSipProfile, subjectDirectory } from "../src/services/people.service";
import { recordPurchase } from "../src/services/purchase.service";

const BENCH_DIR = "data/bench";
const START_MS = Date.UTC(2026, 8, 1);
const MONTH_MS = 30 * 86_400_000;

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

/** A small deterministic PRNG (mulberry32): the same file on every run. */
function random(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const RATES = [
  { prefix: "44", name: "United Kingdom", perMinute: "0.0230", interval: "60/60" },
  { prefix: "447", name: "United Kingdom mobile", perMinute: "0.1500", interval: "60/1" },
  { prefix: "33", name: "France", perMinute: "0.0210", interval: "60/60" },
  { prefix: "336", name: "France mobile", perMinute: "0.1200", interval: "30/6" },
  { prefix: "1", name: "United States", perMinute: "0.0120", interval: "6/6" },
  { prefix: "49", name: "Germany", perMinute: "0.0250", interval: "60/60" },
  { prefix: "4915", name: "Germany mobile", perMinute: "0.1800", interval: "60/1" },
];
/** Destinations start with these; 99 has no rate, so about 1 in 9 records is unrated. */
const DESTINATION_PREFIXES = ["44", "447", "33", "336", "1", "49", "4915", "81", "99"];

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
  const companyId = await inTransaction(db, async (tx) => {
    const company = await createCompany(tx, {
      name: "Bench Ltd",
      currency: "EUR",
      timezone: "Europe/London",
      nowMs: START_MS,
    });
    for (const r of RATES) await putRate(tx, company, { ...r, connectionFee: "0.0390", sms: "0.1100" });
    await recordPurchase(tx, company, {
      reference: "BENCH-1",
      amountMinor: 1_000_000_000,
      vatRate: "0",
      paymentMethod: "invoice",
      status: "completed",
      atMs: START_MS,
      actorAdminId: null,
    });
    for (let i = 0; i < members; i++) {
      await createMember(tx, company, {
        name: `Member ${i}`,
        username: `m${i}`,
        email: null,
        accountType: "business",
        reportsConsent: false,
        nowMs: START_MS,
      });
    }
    for (let i = 0; i < 10; i++)
      await createSipProfile(tx, company, { name: `PBX ${i}`, channels: 8, nowMs: START_MS });
    for (const subject of (await subjectDirectory(tx, company.id)).values())
      await allocateCredit(tx, company, {
        to: subject,
        amountMinor: 100_000,
        atMs: START_MS,
        actorAdminId: null,
      });
    return company.id;
  });

  const rand = random(42);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)] as T;
  const out = fs.createWriteStream(csvFile);
  out.write(`${USAGE_RECORD_KEYS.join(",")}\n`);
  for (let i = 0; i < records; i++) {
    const subject = rand() < 0.05 ? `sip:PBX ${Math.floor(rand() * 10)}` : `m${Math.floor(rand() * members)}`;
    const prefix = pick(DESTINATION_PREFIXES);
    const destination = `+${prefix}${String(Math.floor(rand() * 1e9)).padStart(9, "0")}`;
    const startedAt = new Date(START_MS + Math.floor(rand() * MONTH_MS)).toISOString();
    const isCall = rand() < 0.8;
    const duration = isCall ? String(rand() < 0.1 ? 0 : Math.floor(rand() * 600)) : "";
    const segments = isCall ? "" : String(1 + Math.floor(rand() * 3));
    const line = `cdr-${i},${subject},${isCall ? "call" : "sms"},${startedAt},${destination},${duration},${segments}\n`;
    if (!out.write(line)) await once(out, "drain");
  }
  out.end();
  await once(out, "finish");

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
