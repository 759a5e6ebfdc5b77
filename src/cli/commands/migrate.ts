/** @module `switchboard migrate`: brings the database schema up to date. */
import type { Command } from "commander";
import { migrate } from "../../db/migrate";
import { openDatabase } from "../../db/database";
import type { CliContext } from "../context";

export function registerMigrate(program: Command, ctx: CliContext): void {
  program
    .command("migrate")
    .description("Bring the database schema (DATABASE_URL) up to date. Every other command does this first.")
    .action(async () => {
      const db = openDatabase(ctx.env["DATABASE_URL"] || undefined);
      try {
        const applied = await migrate(db);
        ctx.out.write(
          applied.length === 0
            ? "migrate: the schema is up to date\n"
            : `migrate: applied ${applied.map((v) => `#${v}`).join(", ")}\n`,
        );
      } finally {
        await db.close();
      }
    });
}
