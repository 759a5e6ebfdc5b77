/** The command line as a user meets it: help, usage mistakes, refusals, a closed pipe — never a stack trace. */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { PassThrough, Writable } from "node:stream";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { main } from "../src/cli/main";
import { ManualClock } from "../src/time/clock";
import { specExampleBundle } from "./helpers/spec-example-bundle";
import { NOW } from "./helpers/reports";

const dir = fs.mkdtempSync(path.join(os.tmpdir(), "sb-cli-"));
const env = { DATABASE_URL: `sqlite:${path.join(dir, "cli.db")}` };

async function run(args: string[], out: Writable = new PassThrough()) {
  const err = new PassThrough();
  let errText = "";
  err.on("data", (b: Buffer) => (errText += b.toString()));
  let outText = "";
  if (out instanceof PassThrough) out.on("data", (b: Buffer) => (outText += b.toString()));
  const code = await main(["node", "switchboard", ...args], { env, out, err, clock: new ManualClock(NOW) });
  return { code, out: outText, err: errText };
}

describe("switchboard CLI", () => {
  beforeAll(async () => {
    const file = path.join(dir, "bundle.json");
    fs.writeFileSync(file, JSON.stringify(specExampleBundle()));
    const r = await run(["import", file]);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.out)).toMatchObject({ company_id: 1, members: 2, events: 11 });
  });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  it("prints help with exit 0 and refuses an unknown command with exit 2", async () => {
    expect((await run(["--help"])).code).toBe(0);
    const r = await run(["frobnicate"]);
    expect(r.code).toBe(2);
    expect(r.err).toContain("unknown command");
  });

  it("a Usage report without --as is one sentence on stderr and exit 1", async () => {
    const r = await run(["report", "usage", "--company", "1", "--member", "acme.bob", "--format", "csv"]);
    expect(r.code).toBe(1);
    expect(r.err.trim().split("\n")).toHaveLength(1);
    expect(r.err).not.toMatch(/\bat\s.+:\d+:\d+/);
  });

  it("a reader that goes away (| head) ends the command quietly with exit 0", async () => {
    const closed = new Writable({
      write(_chunk, _enc, cb) {
        cb(Object.assign(new Error("write EPIPE"), { code: "EPIPE" }));
      },
    });
    const r = await run(
      ["report", "summary", "--company", "1", "--month", "2026-09", "--format", "csv"],
      closed,
    );
    expect(r.code).toBe(0);
    expect(r.err).toBe("");
  });
});
