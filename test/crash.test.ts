/**
 * @module Crash safety (issue 7 §1): the real server and the real `usage ingest` command are SIGKILLed at
 * seeded moments in the middle of heavy allocation and ingestion, restarted, and sent again what they had
 * not acknowledged (same Idempotency-Key, same external ids). After every loop: every acknowledged and
 * re-sent request took effect exactly once, no transfer is half applied, every balance is the sum of its
 * entries, money is conserved and every report adds up. CRASH_LOOPS sets the server's loops per dialect
 * (3 here), CRASH_INGEST_LOOPS the ingestion command's (2 here; `npm run test:stress` runs 50 of each),
 * CRASH_SEED the seed.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ingestUsageFile, USAGE_FILE_BATCH_RECORDS_DEFAULT } from "../src/ingest/usage-file";
import { postgresAvailable } from "./helpers/databases";
import { ledgerViolations, reportViolations } from "./helpers/ledger-state";
import {
  createFileDatabase,
  DESTINATIONS,
  exactlyOnceViolations,
  intEnv,
  moneyScript,
  runCli,
  seededRandom,
  sendAll,
  setUpCompany,
  startChildServer,
  SUBJECTS,
} from "./stress/crash-harness";
import type { Answer, ChildServer, CrashCompany, FileDatabase, MoneyRequest } from "./stress/crash-harness";

const pgOk = await postgresAvailable();
const LOOPS = intEnv("CRASH_LOOPS", 3);
/** Kills of the ingestion command per dialect (each with its own file, then a full re-run). */
const INGEST_LOOPS = intEnv("CRASH_INGEST_LOOPS", 2);
const SEED = intEnv("CRASH_SEED", 20261127);
/** Requests per loop, and how many clients send them at once. */
const REQUESTS_PER_LOOP = intEnv("CRASH_REQUESTS", 60);
const CLIENTS = 4;
/** Records of the file the ingestion command is killed in (batches of 5,000: several per run). */
const FILE_RECORDS = intEnv("CRASH_FILE_RECORDS", 8_000);
/**
 * Each loop's successful requests re-sent anyway, to show a retry changes nothing (a refusal is not kept
 * with its key — the idempotency middleware forgets errors — so a refused request is not re-sent).
 */
const RESEND_ACKNOWLEDGED_SHARE = 0.1;
const LOOP_TIMEOUT_MS = 60_000;

for (const dialect of ["sqlite", "postgres"] as const) {
  describe.skipIf(dialect === "postgres" && !pgOk)(`crash safety (${dialect})`, () => {
    let fdb: FileDatabase;
    let company: CrashCompany;
    beforeAll(async () => {
      fdb = await createFileDatabase(dialect);
      company = await setUpCompany(fdb.db, Date.now());
    });
    afterAll(async () => {
      await fdb?.drop();
    });

    it(
      `the server survives ${LOOPS} SIGKILLs during allocations, subscriptions and usage batches`,
      async () => {
        const rand = seededRandom(SEED + (dialect === "sqlite" ? 0 : 1));
        const state = { nextPair: 0 };
        const all: MoneyRequest[] = [];
        const answers = new Map<string, Answer>();
        let server: ChildServer = await startChildServer(fdb.url);
        const tally = { pendingKeys: 0, killedMidFlight: 0, unacknowledged: 0, resent: 0, replayed: 0 };
        try {
          for (let loop = 0; loop < LOOPS; loop++) {
            const script = moneyScript(rand, `L${loop}`, REQUESTS_PER_LOOP, company, state, Date.now());
            all.push(...script);
            // The kill comes after a seeded number of requests have started, plus a seeded delay of 0–15 ms: somewhere in
            // the middle of the work, whatever the machine's speed.
            const killAfterStarts = Math.floor(rand() * REQUESTS_PER_LOOP * 0.8);
            const killDelayMs = Math.floor(rand() * 16);
            let started = 0;
            let killing: Promise<void> | undefined;
            const victim = server;
            // Requests after the kill fail at once (connection refused): they are simply not acknowledged.
            const first = sendAll(victim.url, company.apiKey, script, CLIENTS, () => {
              if (started++ === killAfterStarts)
                killing = new Promise((resolve) => setTimeout(resolve, killDelayMs)).then(() =>
                  victim.kill(),
                );
              return false;
            });
            const got = await first;
            if (!killing) killing = victim.kill();
            await killing;
            const pending = await fdb.db.k
              .selectFrom("idempotency_keys")
              .select((eb) => eb.fn.countAll<number>().as("n"))
              .where("state", "=", "pending")
              .executeTakeFirstOrThrow();
            tally.pendingKeys += Number(pending.n);
            const unacknowledged = script.filter((r) => !got.has(r.key));
            if (unacknowledged.length > 0) tally.killedMidFlight++;
            tally.unacknowledged += unacknowledged.length;
            for (const [k, a] of got) answers.set(k, a);

            server = await startChildServer(fdb.url);
            const again = [
              ...unacknowledged,
              ...script.filter(
                (r) => (got.get(r.key)?.status ?? 500) < 300 && rand() < RESEND_ACKNOWLEDGED_SHARE,
              ),
            ];
            tally.resent += again.length;
            const retried = await sendAll(server.url, company.apiKey, again, CLIENTS);
            for (const r of again) {
              const a = retried.get(r.key);
              expect(a, `${r.key} re-sent after the restart`).toBeDefined();
              if (!a) continue;
              if (a.replayed) tally.replayed++;
              const before = answers.get(r.key);
              // A retry of an acknowledged request gets the very same answer.
              if (before)
                expect({ status: a.status, json: a.json }).toEqual({
                  status: before.status,
                  json: before.json,
                });
              else answers.set(r.key, a);
            }
            const problems = [
              ...(await exactlyOnceViolations(fdb.db, company.companyId, all, answers)),
              ...(await ledgerViolations(fdb.db, company.companyId)),
              ...(await reportViolations(fdb.db, company.companyId, Date.now())),
            ];
            expect(problems, `loop ${loop}`).toEqual([]);
          }
        } finally {
          await server.kill();
        }
        console.info(
          `crash (${dialect}, server): ${LOOPS} loops, ${tally.killedMidFlight} killed with requests in flight, ` +
            `${tally.unacknowledged} unacknowledged requests re-sent, ${tally.resent} re-sent in all, ` +
            `${tally.replayed} answered by replay, ${all.length} requests, ${tally.pendingKeys} idempotency keys left pending by a kill`,
        );
        expect(tally.killedMidFlight).toBeGreaterThan(0);
      },
      LOOPS * LOOP_TIMEOUT_MS + 60_000,
    );
  });
}

/** The state a usage file leaves, by names (not ids), so that two databases can be compared. */
async function ingestedState(fdb: FileDatabase, companyId: number) {
  const db = fdb.db;
  const names = new Map<number, string>();
  for (const m of await db.k
    .selectFrom("members")
    .select(["account_id", "username"])
    .where("company_id", "=", companyId)
    .execute())
    names.set(m.account_id, m.username);
  for (const s of await db.k
    .selectFrom("sip_profiles")
    .select(["account_id", "name"])
    .where("company_id", "=", companyId)
    .execute())
    names.set(s.account_id, `sip:${s.name}`);
  const accounts = await db.k
    .selectFrom("accounts")
    .select(["id", "kind", "balance_minor"])
    .where("company_id", "=", companyId)
    .execute();
  const nameOf = (id: number | null) =>
    id === null ? "-" : (names.get(id) ?? accounts.find((a) => a.id === id)?.kind ?? "?");
  const usage = await db.k
    .selectFrom("usage_records")
    .select(["external_id", "account_id", "status", "charge_minor", "billed_s", "month"])
    .where("company_id", "=", companyId)
    .orderBy("external_id")
    .execute();
  const transfers = await db.k
    .selectFrom("transfers")
    .select(["kind", "recipient_account_id", "amount_minor", "month"])
    .where("company_id", "=", companyId)
    .execute();
  const months = await db.k
    .selectFrom("account_months")
    .selectAll()
    .where("company_id", "=", companyId)
    .execute();
  return {
    balances: accounts.map((a) => `${nameOf(a.id)}=${a.balance_minor}`).sort(),
    usage: usage.map((u) => ({ ...u, account_id: nameOf(u.account_id) })),
    transfers: transfers
      .map((t) => `${t.kind}|${nameOf(t.recipient_account_id)}|${t.amount_minor}|${t.month}`)
      .sort(),
    months: months
      .map(({ company_id: _c, account_id, ...m }) => JSON.stringify({ account: nameOf(account_id), ...m }))
      .sort(),
  };
}

/** A usage CSV of `records` valid lines (calls and SMS of every subject) and an invalid one per 5,000; returns their count. */
function writeUsageFile(file: string, records: number, seed: number, nowMs: number, prefix: string): number {
  let invalid = 0;
  const rand = seededRandom(seed);
  const lines = ["external_id,subject,kind,started_at,destination,duration_s,segments"];
  for (let i = 0; i < records; i++) {
    const subject = SUBJECTS[Math.floor(rand() * SUBJECTS.length)]!;
    const destination = DESTINATIONS[Math.floor(rand() * DESTINATIONS.length)]!;
    const at = new Date(nowMs - Math.floor(rand() * 3_600_000)).toISOString();
    if (rand() < 0.2)
      lines.push(`${prefix}-${i},${subject},sms,${at},${destination},,${1 + Math.floor(rand() * 3)}`);
    else lines.push(`${prefix}-${i},${subject},call,${at},${destination},${Math.floor(rand() * 400)},`);
    if (i % 5_000 === 2_500) {
      lines.push(`${prefix}-bad-${i},${subject},call,${at},00441234,60,`);
      invalid++;
    }
  }
  fs.writeFileSync(file, lines.join("\n") + "\n");
  return invalid;
}

for (const dialect of ["sqlite", "postgres"] as const) {
  describe.skipIf(dialect === "postgres" && !pgOk)(`crash safety of usage ingest (${dialect})`, () => {
    it(
      `usage ingest killed ${INGEST_LOOPS} times in the middle of a ${FILE_RECORDS}-record file, then run again, ends as one clean run`,
      async () => {
        const rand = seededRandom(SEED + (dialect === "sqlite" ? 10 : 11));
        const nowMs = Date.now();
        const killed = await createFileDatabase(dialect);
        const clean = await createFileDatabase(dialect);
        const dir = fs.mkdtempSync(path.join(fs.realpathSync(os.tmpdir()), "sb-ingest-"));
        try {
          const a = await setUpCompany(killed.db, nowMs);
          const b = await setUpCompany(clean.db, nowMs);
          const stored = async () =>
            Number(
              (
                await killed.db.k
                  .selectFrom("usage_records")
                  .select((eb) => eb.fn.countAll<number>().as("n"))
                  .where("company_id", "=", a.companyId)
                  .executeTakeFirstOrThrow()
              ).n,
            );
          const tally = { midRun: 0, finishedFirst: 0, storedAtKills: [] as number[] };
          // Each loop: a new file (its own external ids) is killed once at a seeded point, then run again to
          // the end; the same file is ingested once, cleanly, into the other database; both must agree.
          for (let loop = 0; loop < INGEST_LOOPS; loop++) {
            const file = path.join(dir, `usage-${loop}.csv`);
            const invalid = writeUsageFile(file, FILE_RECORDS, SEED + loop, nowMs, `f${loop}`);
            const before = await stored();
            // One kill in three comes a seeded 0–4 s after the start (while it starts, migrates or writes its
            // first batch); the others once a seeded share of the file is stored — leaving at least one
            // batch of 5,000 to go — plus a seeded 0–50 ms.
            const early = rand() < 1 / 3;
            const share = early
              ? 0
              : Math.floor(rand() * Math.max(0, FILE_RECORDS - USAGE_FILE_BATCH_RECORDS_DEFAULT));
            const delayMs = early ? Math.floor(rand() * 4_000) : Math.floor(rand() * 51);
            const run = runCli(["usage", "ingest", "--company", String(a.companyId), file], killed.url);
            let exited = false;
            void run.done.then(() => (exited = true));
            while (!exited && (await stored()) < before + share) await new Promise((r) => setTimeout(r, 20));
            await new Promise((r) => setTimeout(r, delayMs));
            run.proc.kill("SIGKILL");
            const end = await run.done;
            const atKill = (await stored()) - before;
            tally.storedAtKills.push(atKill);
            if (end.signal === "SIGKILL" && atKill < FILE_RECORDS) tally.midRun++;
            if (end.signal !== "SIGKILL") tally.finishedFirst++;
            expect(await ledgerViolations(killed.db, a.companyId), `after kill ${loop}`).toEqual([]);

            const final = await runCli(
              ["usage", "ingest", "--company", String(a.companyId), file],
              killed.url,
            ).done;
            expect(final.stderr).toBe("");
            expect(final.code).toBe(3);
            expect(final.stdout).toContain(` ${atKill} duplicates, ${invalid} rejected `);
            const rejects = fs.readFileSync(`${file}.rejects.csv`, "utf8").trim().split(/\r?\n/);
            expect(rejects.length).toBe(1 + invalid);

            const once = await ingestUsageFile(clean.db, b.companyId, file, { nowMs: Date.now() });
            expect([once.stored, once.rejected, once.duplicates]).toEqual([FILE_RECORDS, invalid, 0]);
            expect(await ingestedState(killed, a.companyId), `loop ${loop}`).toEqual(
              await ingestedState(clean, b.companyId),
            );
          }
          expect(await ledgerViolations(killed.db, a.companyId)).toEqual([]);
          expect(await reportViolations(killed.db, a.companyId, Date.now())).toEqual([]);
          console.info(
            `crash (${dialect}, usage ingest): ${INGEST_LOOPS} kills, ${tally.midRun} before the file was done ` +
              `(records stored at each kill: ${tally.storedAtKills.join(", ")} of ${FILE_RECORDS}), ` +
              `${tally.finishedFirst} finished before the kill; each run again`,
          );
          expect(tally.midRun).toBeGreaterThan(0);
        } finally {
          await killed.drop();
          await clean.drop();
          fs.rmSync(dir, { recursive: true, force: true });
        }
      },
      INGEST_LOOPS * LOOP_TIMEOUT_MS + 120_000,
    );
  });
}
