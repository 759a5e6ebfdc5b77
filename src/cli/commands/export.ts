/**
 * @module `switchboard export --company ID [--out FILE]`: writes a company's full history as a
 * `switchboard-bundle/1` document (PRODUCT.md §8) that `switchboard import` loads again — the per-company
 * logical backup and the way to move a company to another installation.
 */
import fs from "node:fs";
import path from "node:path";
import { once } from "node:events";
import type { Writable } from "node:stream";
import type { Command } from "commander";
import { exportBundle } from "../../bundle/export";
import type { CliContext } from "../context";
import { invalid } from "../../shared/errors";
import { parseCompanyId } from "./shared";

/** Output is gathered into pieces of about this size before it is written. */
export const EXPORT_WRITE_BYTES_CHUNK = 64 * 1024;

/** A sink that batches small chunks and waits when the stream asks it to (backpressure). */
function batchedWriter(stream: Writable): { write(chunk: string): Promise<void>; flush(): Promise<void> } {
  let pending: string[] = [];
  let size = 0;
  const flush = async (): Promise<void> => {
    if (pending.length === 0) return;
    const text = pending.join("");
    pending = [];
    size = 0;
    if (!stream.write(text)) await once(stream, "drain");
  };
  return {
    async write(chunk: string) {
      pending.push(chunk);
      size += chunk.length;
      if (size >= EXPORT_WRITE_BYTES_CHUNK) await flush();
    },
    flush,
  };
}

export function registerExport(program: Command, ctx: CliContext): void {
  program
    .command("export")
    .description(
      "Write a company's whole history as a bundle (the format `switchboard import` reads), to standard output " +
        "or --out FILE. Passwords are never exported: after an import, admins set theirs again. What the bundle " +
        "cannot carry exactly is listed on stderr (see docs/decisions/0009-export-round-trip.md).",
    )
    .requiredOption("--company <id>", "the company's id (see `switchboard companies`)")
    .option("--out <file>", "write to this file (replaced only when the export is complete)")
    .option(
      "--allow-incomplete",
      "export even when retention removed some months' usage detail (the import then lacks those charges)",
    )
    .action(async (opts: { company: string; out?: string; allowIncomplete?: boolean }) => {
      const options = { allowIncomplete: opts.allowIncomplete === true };
      const companyId = parseCompanyId(opts.company);
      const db = await ctx.db();
      let result;
      if (opts.out === undefined) {
        const sink = batchedWriter(ctx.out);
        result = await exportBundle(db, companyId, (chunk) => sink.write(chunk), options);
        await sink.flush();
      } else {
        // A temporary file beside the target, renamed at the end: FILE is never left half written.
        const target = path.resolve(opts.out);
        if (!fs.statSync(path.dirname(target), { throwIfNoEntry: false })?.isDirectory())
          throw invalid(`cannot write ${opts.out}: its directory does not exist`);
        const temporary = `${target}.${process.pid}.partial`;
        const file = fs.createWriteStream(temporary, { flags: "wx" });
        await once(file, "open");
        try {
          const sink = batchedWriter(file);
          result = await exportBundle(db, companyId, (chunk) => sink.write(chunk), options);
          await sink.flush();
          file.end();
          await once(file, "finish");
          await fs.promises.rename(temporary, target);
        } catch (error) {
          file.destroy();
          await fs.promises.rm(temporary, { force: true });
          throw error;
        }
      }
      for (const notice of result.notices) ctx.err.write(`switchboard export: note: ${notice}\n`);
      ctx.err.write(
        `switchboard export: company ${result.company_id}: ${result.members} members, ${result.events} events ` +
          `(${result.usage} usage records)\n`,
      );
    });
}
