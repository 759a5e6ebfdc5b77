/**
 * @module The `switchboard` command line: parses arguments (commander), runs one command, and turns any
 * expected failure into one clear sentence on stderr with a non-zero exit code — never a stack trace.
 */
import type { Writable } from "node:stream";
import { Command, CommanderError } from "commander";
import { AppError } from "../shared/errors";
import type { ErrorCode } from "../shared/errors";
import { systemClock } from "../time/clock";
import type { Clock } from "../time/clock";
import { createCliContext } from "./context";
import type { CliContext } from "./context";
import { registerImport } from "./commands/import";
import { registerMigrate } from "./commands/migrate";
import { registerReport } from "./commands/report";
import { registerServe } from "./commands/serve";
import { registerUsage } from "./commands/usage";
import { registerCompanies } from "./commands/companies";
import { registerExport } from "./commands/export";
import { registerBackup } from "./commands/backup";
import { registerAudit } from "./commands/audit";
import { registerMember } from "./commands/member";

/** Exit codes: 1 a user's mistake or refusal, 2 bad command-line usage, 3 some input rows rejected, 70 a bug. */
export const EXIT = { ok: 0, failure: 1, usage: 2, rejected: 3, internal: 70 } as const;

const EXIT_BY_CODE: Readonly<Record<ErrorCode, number>> = {
  invalid_input: EXIT.failure,
  not_found: EXIT.failure,
  insufficient_balance: EXIT.failure,
  conflict: EXIT.failure,
  forbidden: EXIT.failure,
  unauthenticated: EXIT.failure,
  privacy_ack_required: EXIT.failure,
  consent_required: EXIT.failure,
  idempotency_key_reused: EXIT.failure,
  rate_limited: EXIT.failure,
  payload_too_large: EXIT.failure,
};

export function buildProgram(ctx: CliContext): Command {
  const program = new Command("switchboard")
    .description("Switchboard: a company's prepaid calling credit — ledger, rating and monthly reports.")
    .showHelpAfterError("(run with --help for usage)")
    .exitOverride()
    .configureOutput({
      writeOut: (s) => ctx.out.write(s),
      writeErr: (s) => ctx.err.write(s),
    });
  registerServe(program, ctx);
  registerMigrate(program, ctx);
  registerImport(program, ctx);
  registerUsage(program, ctx);
  registerReport(program, ctx);
  registerCompanies(program, ctx);
  registerExport(program, ctx);
  registerBackup(program, ctx);
  registerAudit(program, ctx);
  registerMember(program, ctx);
  return program;
}

/** Runs the CLI; returns the process exit code. `argv` is process.argv (node, script, ...args). */
export async function main(
  argv: readonly string[],
  opts: { clock?: Clock; out?: Writable; err?: Writable; env?: NodeJS.ProcessEnv } = {},
): Promise<number> {
  const ctx = createCliContext({
    clock: opts.clock ?? systemClock,
    out: opts.out ?? process.stdout,
    err: opts.err ?? process.stderr,
    env: opts.env ?? process.env,
  });
  const program = buildProgram(ctx);
  try {
    await program.parseAsync([...argv]);
    return ctx.exitCode;
  } catch (error) {
    if (error instanceof CommanderError) {
      // --help and --version end here too, with exit code 0.
      return error.exitCode === 0 ? EXIT.ok : EXIT.usage;
    }
    if (error instanceof AppError) {
      ctx.err.write(`switchboard: ${error.message}\n`);
      return EXIT_BY_CODE[error.code];
    }
    const e = error as { code?: unknown; message?: unknown };
    // The reader went away (`| head`): nothing more to say, like any Unix tool.
    if (e && e.code === "EPIPE") return EXIT.ok;
    if (e && (e.code === "ENOENT" || e.code === "EACCES" || e.code === "EISDIR")) {
      ctx.err.write(`switchboard: ${String(e.message)}\n`);
      return EXIT.failure;
    }
    if (
      e &&
      (e.code === "ECONNREFUSED" || e.code === "ENOTFOUND" || e.code === "3D000" || e.code === "28000")
    ) {
      ctx.err.write(`switchboard: cannot reach the database: ${String(e.message)}\n`);
      return EXIT.failure;
    }
    ctx.err.write(`switchboard: internal error (a bug — please report it): ${String(e?.message ?? error)}\n`);
    if (ctx.env["SWITCHBOARD_DEBUG"]) ctx.err.write(`${(error as Error).stack ?? ""}\n`);
    return EXIT.internal;
  } finally {
    await ctx.close();
  }
}
