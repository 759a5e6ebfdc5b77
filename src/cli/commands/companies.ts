/** @module `switchboard companies`: lists the companies in the database with their ids. */
import type { Command } from "commander";
import { listCompanies } from "../../services/company.service";
import type { CliContext } from "../context";

export function registerCompanies(program: Command, ctx: CliContext): void {
  program
    .command("companies")
    .description("List the companies in the database (id, currency, name), to find the --company ID.")
    .action(async () => {
      const db = await ctx.db();
      const rows = await listCompanies(db);
      if (rows.length === 0) ctx.out.write("no companies yet: run `switchboard import FILE`\n");
      for (const c of rows) ctx.out.write(`${c.id}\t${c.currency}\t${c.name}\n`);
    });
}
