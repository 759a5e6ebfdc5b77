/**
 * @module Benchmark fixtures: a company of N members with a rate table and credit, and a seeded usage CSV
 * (the same file on every run) — shared by bench/run.ts and bench/ingest-file.ts.
 */
import fs from "node:fs";
import { once } from "node:events";
import type { Database } from "../src/db/database";
import { inTransaction } from "../src/db/database";
import { USAGE_RECORD_KEYS } from "../src/ingest/usage-record";
import { allocateCredit } from "../src/services/allocation.service";
import { putRate } from "../src/services/catalog.service";
import { createCompany } from "../src/services/company.service";
import { createMember, createSipProfile, subjectDirectory } from "../src/services/people.service";
import { recordPurchase } from "../src/services/purchase.service";

export const START_MS = Date.UTC(2026, 8, 1);
const MONTH_MS = 30 * 86_400_000;

/** A small deterministic PRNG (mulberry32): the same file on every run. */
export function random(seed: number): () => number {
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

/** Creates the bench company (members m0…m{N-1}, 10 SIP profiles, rates, credit); returns its id. */
export async function setupCompany(db: Database, members: number): Promise<number> {
  return inTransaction(db, async (tx) => {
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
}

/** Writes a usage CSV of `records` lines (seeded: identical on every run). */
export async function writeUsageCsv(csvFile: string, records: number, members: number): Promise<void> {
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
}
