/**
 * @module `switchboard backup FILE`: a consistent copy of a SQLite database while the server keeps running
 * (SQLite's online backup API through better-sqlite3). PostgreSQL is backed up with its own tools
 * (`pg_dump -Fc`, docs/operations.md); `switchboard export` is the per-company logical backup on both.
 */
import fs from "node:fs";
import path from "node:path";
import SQLite from "better-sqlite3";
import type { Command } from "commander";
import { invalid } from "../../shared/errors";
import { parseDatabaseUrl } from "../../db/database";
import type { CliContext } from "../context";

/** Pages copied per backup step after the first: in practice "all of them". */
export const BACKUP_STEP_PAGES_MAX = 2 ** 30;

/** Copies a SQLite database file to `target` (which must not exist) with the online backup API. */
export async function backupSqlite(source: string, target: string): Promise<{ pages: number }> {
  const to = path.resolve(target);
  if (fs.existsSync(to)) throw invalid(`${target} already exists; choose a new file name for the backup`);
  const temporary = `${to}.${process.pid}.partial`;
  // A separate read-only connection: the backup reads pages while other connections go on writing; it
  // restarts by itself if a page it copied changes, so the copy is one committed state of the database.
  const db = new SQLite(source, { readonly: true, fileMustExist: true });
  try {
    // After the first step, the rest in one step: a step is one read transaction, so the copy is one
    // committed state even while the server writes (small steps would restart after every write and
    // could never finish under a steady load).
    const done = await db.backup(temporary, { progress: () => BACKUP_STEP_PAGES_MAX });
    fs.renameSync(temporary, to);
    return { pages: done.totalPages };
  } catch (error) {
    fs.rmSync(temporary, { force: true });
    throw error;
  } finally {
    db.close();
  }
}

export function registerBackup(program: Command, ctx: CliContext): void {
  program
    .command("backup")
    .argument("<file>", "where to write the copy (must not exist yet)")
    .description(
      "Copy the SQLite database (DATABASE_URL) to FILE, consistently, while the server runs. Restore by " +
        "stopping the server and putting FILE in place of the database. For PostgreSQL use pg_dump -Fc " +
        "(see docs/operations.md).",
    )
    .action(async (file: string) => {
      const db = await ctx.db();
      const { dialect, location } = parseDatabaseUrl(db.url);
      if (dialect !== "sqlite")
        throw invalid(
          "switchboard backup copies a SQLite database; for PostgreSQL use pg_dump -Fc (see docs/operations.md)",
        );
      if (location === ":memory:") throw invalid("an in-memory database cannot be backed up");
      const { pages } = await backupSqlite(location, file);
      ctx.out.write(`backup: ${location} → ${file} (${pages} pages)\n`);
    });
}
