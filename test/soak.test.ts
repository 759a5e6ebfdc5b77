/**
 * @module Load and soak (issue 7 §7): the real server (`switchboard serve`, a child process) under a bounded
 * loopback load from several clients — all four reports, CSV downloads and zips, credit allocations and
 * reclaims, usage batches — for SOAK_SECONDS per dialect (10 here; `npm run test:stress` runs 300 on
 * PostgreSQL). Then: no error at all (every answer a 2xx or an expected refusal), every usage record stored
 * exactly once, and every ledger and report invariant holds. Requests/s and p99 are printed, not asserted.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { monthOf } from "../src/time/month";
import { postgresAvailable } from "./helpers/databases";
import { ledgerViolations, reportViolations } from "./helpers/ledger-state";
import { createFileDatabase, intEnv, setUpCompany, startChildServer } from "./stress/crash-harness";
import type { ChildServer, CrashCompany, FileDatabase } from "./stress/crash-harness";
import { runLoad } from "./stress/load";

const pgOk = await postgresAvailable();
const SECONDS = {
  postgres: intEnv("SOAK_SECONDS", 10),
  sqlite: intEnv("SOAK_SQLITE_SECONDS", intEnv("SOAK_SECONDS", 10)),
};
const CLIENTS = intEnv("SOAK_CLIENTS", 6);
const SEED = intEnv("SOAK_SEED", 7);

for (const dialect of ["postgres", "sqlite"] as const) {
  describe.skipIf(dialect === "postgres" && !pgOk)(`soak (${dialect})`, () => {
    let fdb: FileDatabase;
    let company: CrashCompany;
    let server: ChildServer | undefined;
    beforeAll(async () => {
      fdb = await createFileDatabase(dialect);
      company = await setUpCompany(fdb.db, Date.now());
      server = await startChildServer(fdb.url);
    });
    afterAll(async () => {
      await server?.stop();
      await fdb?.drop();
    });

    it(
      `${CLIENTS} clients for ${SECONDS[dialect]} s of reports, downloads, allocations and usage: no error, invariants hold`,
      async () => {
        const result = await runLoad({
          baseUrl: server!.url,
          apiKey: company.apiKey,
          seconds: SECONDS[dialect],
          clients: CLIENTS,
          seed: SEED,
          month: monthOf(Date.now(), "Europe/London"),
        });
        await server!.stop();
        server = undefined;
        console.info(
          `soak (${dialect}): ${result.seconds.toFixed(1)} s, ${CLIENTS} clients, ${result.requests} requests ` +
            `(${result.requestsPerSecond.toFixed(1)} req/s), p50 ${result.p50Ms.toFixed(1)} ms, ` +
            `p99 ${result.p99Ms.toFixed(1)} ms, max ${result.maxMs.toFixed(1)} ms, ${result.usageRecords} usage records, ` +
            `${result.expectedRefusals} expected refusals, ${result.errors.length} errors; ` +
            Object.entries(result.byKind)
              .map(([k, n]) => `${k} ${n} (p99 ${(result.p99MsByKind[k] ?? 0).toFixed(0)} ms)`)
              .join(", "),
        );
        expect(result.errors.slice(0, 10)).toEqual([]);
        expect(result.requests).toBeGreaterThan(0);
        const usage = await fdb.db.k
          .selectFrom("usage_records")
          .select((eb) => eb.fn.countAll<number>().as("n"))
          .where("company_id", "=", company.companyId)
          .executeTakeFirstOrThrow();
        expect(Number(usage.n)).toBe(result.externalIds.size);
        expect(await ledgerViolations(fdb.db, company.companyId)).toEqual([]);
        expect(await reportViolations(fdb.db, company.companyId, Date.now())).toEqual([]);
      },
      (SECONDS[dialect] + 120) * 1000,
    );
  });
}
