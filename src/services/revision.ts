/**
 * @module The per-company revision: a counter that every write which can change a report bumps inside its
 * own transaction. A report cached under revision N is served only while the company is still at N, so a
 * stale report is never served — across server processes and command-line writes too
 * (docs/decisions/0007-report-serving.md).
 */
import { sql } from "kysely";
import type { Db } from "../db/database";

/**
 * Bumps the company's revision. Call it inside the transaction that changes what a report shows (money,
 * members, groups, SIP profiles, admins' names and emails, plans): it commits or rolls back with the change.
 * Services call it after their writes, so that even a caller that forgot the transaction bumps after the
 * change is visible, never before. On PostgreSQL it holds the company row's no-key-update lock until
 * commit, which foreign-key checks (key-share locks) do not wait for.
 */
export async function bumpCompanyRevision(db: Db, companyId: number): Promise<void> {
  await db.k
    .updateTable("companies")
    .set({ revision: sql<number>`revision + 1` })
    .where("id", "=", companyId)
    .execute();
}

/** The company's current revision, or undefined when there is no such company. */
export async function companyRevision(db: Db, companyId: number): Promise<number | undefined> {
  const row = await db.k
    .selectFrom("companies")
    .select("revision")
    .where("id", "=", companyId)
    .executeTakeFirst();
  return row === undefined ? undefined : Number(row.revision);
}
