/**
 * @module The server's scheduled work: renewals of subscriptions and numbers, run now and then every
 * `intervalMs` with the server's clock. A failed run is logged and the next one tries again; runs never
 * overlap within a process, and `runRenewals` is safe when several processes run it at once.
 */
import type { Db } from "../db/database";
import { runRenewals } from "../services/renewal.service";
import type { RenewalRunResult } from "../services/renewal.service";
import type { Clock } from "../time/clock";
import { purgeUsageDetail } from "../services/retention.service";

/** How often usage detail past the retention horizon is purged (the first time at the first run). */
export const USAGE_PURGE_INTERVAL_MS = 86_400_000;

/** How often a server looks for ended terms by default: a renewal is at most this late. */
export const RENEWAL_INTERVAL_MS_DEFAULT = 60_000;
/** Shorter intervals would only load the database: renewals are per month. */
export const RENEWAL_INTERVAL_MS_MIN = 1_000;

export interface SchedulerDeps {
  readonly db: Db;
  readonly clock: Clock;
}

export interface SchedulerOptions {
  intervalMs: number;
  /** USAGE_RETENTION_MONTHS: purge older usage detail daily; absent or 0 keeps it. */
  usageRetentionMonths?: number;
  /** Where a run's outcome and failures go; the console by default. */
  log?: SchedulerLog;
}

export interface SchedulerLog {
  info(message: string, facts: Record<string, unknown>): void;
  error(message: string, facts: Record<string, unknown>): void;
}

const consoleLog: SchedulerLog = {
  info: (message, facts) => console.log(JSON.stringify({ level: "info", message, ...facts })),
  error: (message, facts) => console.error(JSON.stringify({ level: "error", message, ...facts })),
};

export interface Scheduler {
  /** Stops the timer and waits for a run in progress to finish. */
  stop(): Promise<void>;
  /** Runs once now (after any run in progress): for tests and for an operator's nudge. */
  runNow(): Promise<void>;
}

export function startScheduler(deps: SchedulerDeps, opts: SchedulerOptions): Scheduler {
  if (!Number.isInteger(opts.intervalMs) || opts.intervalMs < RENEWAL_INTERVAL_MS_MIN)
    throw new Error(
      `Assertion failed: scheduler intervalMs must be a whole number ≥ ${RENEWAL_INTERVAL_MS_MIN}`,
    );
  const log = opts.log ?? consoleLog;
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> = Promise.resolve();
  let purgedAtMs = -Infinity;

  const once = async (): Promise<void> => {
    const nowMs = deps.clock.now();
    try {
      const r: RenewalRunResult = await runRenewals(deps.db, nowMs);
      const facts = { at: new Date(nowMs).toISOString(), ...r };
      if (r.failed > 0) log.error("some renewals failed; the next run will try them again", facts);
      else if (r.renewed + r.lapsed + r.skipped > 0) log.info("renewals", facts);
    } catch (error) {
      log.error("renewals failed; the next run will try again", {
        at: new Date(nowMs).toISOString(),
        error: error instanceof Error ? error.message : String(error),
      });
    }
    const retentionMonths = opts.usageRetentionMonths ?? 0;
    if (retentionMonths > 0 && nowMs - purgedAtMs >= USAGE_PURGE_INTERVAL_MS) {
      try {
        const p = await purgeUsageDetail(deps.db, { nowMs, retentionMonths });
        purgedAtMs = nowMs;
        if (p.records > 0 || p.partitionsDropped.length > 0)
          log.info("usage detail purged", {
            at: new Date(nowMs).toISOString(),
            records: p.records,
            partitions: p.partitionsDropped,
          });
      } catch (error) {
        log.error("usage purge failed; the next run will try again", {
          at: new Date(nowMs).toISOString(),
          error: error instanceof Error ? error.message : String(error),
        });
      }
    }
  };
  const runNow = (): Promise<void> => {
    running = running.then(once);
    return running;
  };
  const tick = (): void => {
    void runNow().then(() => {
      if (stopped) return;
      timer = setTimeout(tick, opts.intervalMs);
      timer.unref();
    });
  };
  tick();

  return {
    runNow,
    async stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      await running;
    },
  };
}
