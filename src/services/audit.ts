/** @module The audit log: who did what, when. Append-only; owners read it. */
import type { Db } from "../db/database";

export interface AuditEntry {
  atMs: number;
  actor: string;
  action: string;
  subject?: string | null;
  details?: Record<string, unknown> | null;
}

export async function writeAudit(db: Db, companyId: number, e: AuditEntry): Promise<void> {
  await db.k
    .insertInto("audit_log")
    .values({
      company_id: companyId,
      at_ms: e.atMs,
      actor: e.actor,
      action: e.action,
      subject: e.subject ?? null,
      details: e.details ? JSON.stringify(e.details) : null,
    })
    .execute();
}
