/** @module `switchboard audit verify [--company ID]`: recomputes every company's audit chain, names the first break. */
import type { Command } from "commander";
import { describeAuditBreak, verifyAuditChain } from "../../services/audit";
import type { AuditVerifyResult } from "../../services/audit";
import { notFound } from "../../shared/errors";
import type { CliContext } from "../context";
import { parseCompanyId } from "./shared";

export function registerAudit(program: Command, ctx: CliContext): void {
  const audit = program.command("audit").description("The tamper-evident audit log.");
  audit
    .command("verify")
    .description(
      "Recompute the hash chain of the audit log (every company, or one) and report the first broken entry. " +
        "Exit code 0 when every chain is whole, 1 when one is broken.",
    )
    .option("--company <id>", "only this company")
    .action(async (opts: { company?: string }) => {
      const db = await ctx.db();
      let ids: number[];
      if (opts.company !== undefined) {
        const id = parseCompanyId(opts.company);
        const company = await db.k
          .selectFrom("companies")
          .select("id")
          .where("id", "=", id)
          .executeTakeFirst();
        if (!company) throw notFound(`Company ${id} does not exist`);
        ids = [company.id];
      } else {
        const rows = await db.k.selectFrom("companies").select("id").orderBy("id").execute();
        ids = rows.map((r) => r.id);
      }
      const broken: AuditVerifyResult[] = [];
      for (const id of ids) {
        const r = await verifyAuditChain(db, id);
        if (r.broken) {
          broken.push(r);
          ctx.err.write(`switchboard: ${describeAuditBreak(id, r.broken)}\n`);
        } else {
          ctx.out.write(`company ${id}: audit log intact, ${r.entries} entries, head ${r.headHash}\n`);
        }
      }
      if (broken.length > 0) {
        ctx.err.write(
          `switchboard: the audit log of ${broken.length} of ${ids.length} ` +
            `${ids.length === 1 ? "company" : "companies"} is broken\n`,
        );
        ctx.exitCode = 1;
      }
    });
}
