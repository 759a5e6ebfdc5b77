#!/usr/bin/env node
// Entry point for `switchboard` / `npx switchboard`: runs the TypeScript CLI through tsx (no build step).
import { register } from "tsx/esm/api";

register();
// A closed pipe (`switchboard report … | head`) ends the command quietly instead of crashing.
process.stdout.on("error", (error) => {
  if (error.code === "EPIPE") process.exit(process.exitCode ?? 0);
  throw error;
});
const { main } = await import("../src/cli/main.ts");
process.exitCode = await main(process.argv);
