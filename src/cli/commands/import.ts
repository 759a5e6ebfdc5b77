/** @module `switchboard import FILE`: loads a company's whole history from a bundle, all or nothing. */
import fs from "node:fs/promises";
import type { Command } from "commander";
import { importBundle } from "../../bundle/import";
import { invalid } from "../../shared/errors";
import type { CliContext } from "../context";

/** A bundle is read whole (it is one JSON document); larger histories are moved with several files. */
export const IMPORT_FILE_BYTES_MAX = 1024 * 1024 * 1024;

export async function readJsonFile(file: string, bytesMax: number): Promise<unknown> {
  const stat = await fs.stat(file).catch(() => null);
  if (!stat || !stat.isFile()) throw invalid(`cannot read ${file}: no such file`);
  if (stat.size > bytesMax) throw invalid(`${file} is larger than ${bytesMax} bytes`);
  const text = await fs.readFile(file, "utf8");
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    // One line: the parser quotes the text around the fault, which may hold line breaks.
    throw invalid(`${file} is not valid JSON: ${(error as Error).message.replace(/\s+/g, " ")}`);
  }
}

export function registerImport(program: Command, ctx: CliContext): void {
  program
    .command("import")
    .argument("<file>", "a switchboard-bundle/1 JSON document (see examples/bundle.json)")
    .description(
      "Import a whole company's history in one transaction: all of it, or — on the first invalid item — " +
        "nothing, with a message that names the item. Prints one JSON object: company_id, members, events, " +
        "usage_ingested, duplicates, unrated.",
    )
    .action(async (file: string) => {
      const doc = await readJsonFile(file, IMPORT_FILE_BYTES_MAX);
      const db = await ctx.db();
      const result = await importBundle(db, doc, { nowMs: ctx.clock.now() });
      ctx.out.write(`${JSON.stringify(result)}\n`);
    });
}
