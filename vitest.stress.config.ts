/**
 * `npm run test:stress`: the crash, soak, model and fuzz suites at full size. Each size comes from the
 * environment when set there, otherwise from the defaults below: 50 SIGKILL loops per dialect and target
 * (the ingestion command on files of 15,000 records: three batches),
 * 300 s of load on PostgreSQL (60 s on SQLite), 500 model histories on SQLite and 50 on PostgreSQL, 100
 * fuzz cases per property. The suites are the ones `npm test` runs with small sizes.
 */
import { defineConfig } from "vitest/config";

const sizes = {
  CRASH_LOOPS: "50",
  CRASH_INGEST_LOOPS: "50",
  CRASH_FILE_RECORDS: "15000",
  SOAK_SECONDS: "300",
  SOAK_SQLITE_SECONDS: "60",
  FC_RUNS: "500",
  FC_RUNS_PG: "50",
  FUZZ_RUNS: "100",
};

export default defineConfig({
  test: {
    include: [
      "test/crash.test.ts",
      "test/soak.test.ts",
      "test/ledger.property.test.ts",
      "test/fuzz.*.test.ts",
    ],
    env: Object.fromEntries(Object.entries(sizes).map(([k, v]) => [k, process.env[k] ?? v])),
    // Hours rather than minutes: a loop that hangs still fails, but a long run on a slow machine does not.
    testTimeout: 3 * 60 * 60_000,
    hookTimeout: 10 * 60_000,
    // As vitest.config.ts: one process per file, and the fixed fast-check seed.
    pool: "forks",
    setupFiles: ["test/setup/fast-check.ts"],
  },
});
