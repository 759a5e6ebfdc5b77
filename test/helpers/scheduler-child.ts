/**
 * @module A second server's scheduler, in its own process, for test/scheduler.multiprocess.test.ts: opens the
 * database named by argv[2], says "ready", waits for "go" on stdin (so every process starts at the same
 * moment), runs the scheduler once at the instant argv[3] with a manual clock, and prints its totals as JSON.
 */
import readline from "node:readline";
import { openDatabase } from "../../src/db/database";
import { startScheduler } from "../../src/http/scheduler";
import { ManualClock } from "../../src/time/clock";

const [, , url = "", at = ""] = process.argv;
const db = openDatabase(url);
const totals = { renewed: 0, lapsed: 0, skipped: 0, failed: 0, errors: [] as unknown[] };
const count = (facts: Record<string, unknown>): void => {
  for (const k of ["renewed", "lapsed", "skipped", "failed"] as const) totals[k] += Number(facts[k] ?? 0);
  if (Array.isArray(facts["errors"])) totals.errors.push(...(facts["errors"] as unknown[]));
  if (typeof facts["error"] === "string") totals.errors.push(facts["error"]);
};
// Load the modules and open the connection before the start signal.
await db.k.selectFrom("companies").select("id").limit(1).execute();
process.stdout.write("ready\n");
const lines = readline.createInterface({ input: process.stdin });
for await (const line of lines) if (line.trim() === "go") break;
lines.close();
const scheduler = startScheduler(
  { db, clock: new ManualClock(Date.parse(at)) },
  {
    intervalMs: 60_000,
    log: {
      info: (_message, facts) => count(facts),
      error: (_message, facts) => count(facts),
    },
  },
);
// The scheduler ran once on start; one more run, as a second tick of a busy server would.
await scheduler.runNow();
await scheduler.stop();
await db.close();
process.stdout.write(`${JSON.stringify(totals)}\n`);
