/** @module The viewer benchmark reports run as: the company's owner (privacy notice acknowledged by the generator). */
import type { Db } from "../../src/db/database";
import type { Viewer } from "../../src/reports/report.service";

export async function ownerViewer(db: Db, companyId: number): Promise<Viewer> {
  const admin = await db.k
    .selectFrom("admins")
    .selectAll()
    .where("company_id", "=", companyId)
    .where("role", "=", "owner")
    .orderBy("id")
    .executeTakeFirstOrThrow();
  return { kind: "admin", admin };
}
