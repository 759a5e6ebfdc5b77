/**
 * @module `switchboard member export|erase`: a member's data rights from the command line. Without --as the
 * operator acts for the member (a data-subject request: the whole export); with --as the §6 privacy rules of
 * that owner or admin apply. Erasure is irreversible and needs --yes.
 */
import fs from "node:fs";
import { pipeline } from "node:stream/promises";
import { Option } from "commander";
import type { Command } from "commander";
import { inTransaction } from "../../db/database";
import { loadCompany } from "../../services/company-context";
import {
  eraseMember,
  exportMemberData,
  MEMBER_EXPORT_FORMATS,
  memberExportZip,
  memberIdByUsername,
  removeErasedFiles,
} from "../../services/member-data.service";
import type { ExportRequester, MemberExportFormat } from "../../services/member-data.service";
import { requireAdmin } from "../../services/people.service";
import { invalid } from "../../shared/errors";
import type { CliContext } from "../context";
import { parseCompanyId } from "./shared";

interface ExportOptions {
  company: string;
  member: string;
  format: MemberExportFormat;
  out?: string;
  as?: string;
}

interface EraseOptions {
  company: string;
  member: string;
  yes?: boolean;
  as?: string;
}

export function registerMember(program: Command, ctx: CliContext): void {
  const member = program.command("member").description("A member's data rights: export and erasure.");

  member
    .command("export")
    .description(
      "Write everything the company holds about a member (profile, groups, allocations, subscriptions, " +
        "numbers, consent history, usage) as JSON, or a zip with CSVs. Written to the audit log.",
    )
    .requiredOption("--company <id>", "the company's id")
    .requiredOption("--member <username>", "the member's username")
    .addOption(
      new Option("--format <format>", "json or zip").choices([...MEMBER_EXPORT_FORMATS]).default("json"),
    )
    .option("--out <file>", "write to this file instead of standard output")
    .option("--as <email>", "an owner or admin asking (the §6 privacy rules then apply to the usage part)")
    .action(async (opts: ExportOptions) => {
      if (opts.format === "zip" && opts.out === undefined) throw invalid("a zip export needs --out FILE");
      const db = await ctx.db();
      const company = await loadCompany(db, parseCompanyId(opts.company));
      const memberId = await memberIdByUsername(db, company, opts.member);
      const requester: ExportRequester =
        opts.as === undefined
          ? { kind: "operator" }
          : { kind: "admin", admin: await requireAdmin(db, company.id, opts.as, ["owner", "admin"]) };
      const doc = await inTransaction(db, (tx) =>
        exportMemberData(tx, company, memberId, requester, { format: opts.format, nowMs: ctx.clock.now() }),
      );
      if (opts.format === "zip") {
        await pipeline(memberExportZip(doc), fs.createWriteStream(opts.out as string));
        return;
      }
      const text = `${JSON.stringify(doc, null, 2)}\n`;
      if (opts.out !== undefined) fs.writeFileSync(opts.out, text);
      else ctx.out.write(text);
    });

  member
    .command("erase")
    .description(
      "Erase a member as a person: name, username and email become a stable pseudonym; password, sessions " +
        "and invitations are removed; usage destinations are masked. Every ledger entry, balance and report " +
        "total stays. Irreversible (needs --yes); erasing again changes nothing.",
    )
    .requiredOption("--company <id>", "the company's id")
    .requiredOption("--member <username>", "the member's username")
    .option("--yes", "confirm: this cannot be undone")
    .option("--as <email>", "the owner asking (named in the audit log; default: operator)")
    .action(async (opts: EraseOptions) => {
      if (opts.yes !== true)
        throw invalid(`erasing ${opts.member} cannot be undone: run again with --yes to confirm`);
      const db = await ctx.db();
      const company = await loadCompany(db, parseCompanyId(opts.company));
      const actor =
        opts.as === undefined ? "operator" : (await requireAdmin(db, company.id, opts.as, ["owner"])).email;
      const memberId = await memberIdByUsername(db, company, opts.member);
      const { filesToRemove, ...result } = await eraseMember(db, company, memberId, actor, ctx.clock.now());
      await removeErasedFiles(filesToRemove);
      ctx.out.write(
        result.already_erased
          ? `member ${result.member_id} was already erased (${result.erased_at}): nothing changed\n`
          : `member ${result.member_id} erased: now "${result.name}" (${result.username})\n`,
      );
    });
}
