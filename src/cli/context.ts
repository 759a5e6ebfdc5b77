/** @module What every CLI command gets: a clock, the database (migrated on first use), output streams. */
import type { Writable } from "node:stream";
import { openDatabase } from "../db/database";
import type { Database } from "../db/database";
import { migrate } from "../db/migrate";
import type { Clock } from "../time/clock";

export interface CliContext {
  readonly clock: Clock;
  readonly out: Writable;
  readonly err: Writable;
  readonly env: Readonly<Record<string, string | undefined>>;
  /** Opens the database chosen by DATABASE_URL and brings its schema up to date (once per run). */
  db(): Promise<Database>;
  /** A command sets this to finish with a code other than 0 without an error (e.g. 3: some rows rejected). */
  exitCode: number;
}

export function createCliContext(opts: {
  clock: Clock;
  out: Writable;
  err: Writable;
  env: Readonly<Record<string, string | undefined>>;
}): CliContext & { close(): Promise<void> } {
  let opened: Promise<Database> | undefined;
  return {
    ...opts,
    exitCode: 0,
    db() {
      opened ??= (async () => {
        const db = openDatabase(opts.env["DATABASE_URL"] || undefined);
        await migrate(db);
        return db;
      })();
      return opened;
    },
    async close() {
      if (opened) await (await opened).close();
    },
  };
}
