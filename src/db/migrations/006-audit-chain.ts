/**
 * @module The audit log becomes a hash chain per company (seq, hash; a head row per company) and append-only
 * in the database itself (triggers refuse UPDATE, DELETE and TRUNCATE); entries written before are chained
 * in id order. Members get `erased_at_ms` (data erasure, services/member-data.service.ts).
 */
import { sql } from "kysely";
import type { Kysely } from "kysely";
import type { Dialect } from "../database";
import { AUDIT_GENESIS_HASH, auditEntryHash } from "../../services/audit";

type AnyDb = Kysely<Record<string, never>>;

/** Existing entries are chained in pages of this many rows. */
const CHAIN_PAGE_ROWS = 2_000;

interface OldEntry {
  id: number;
  company_id: number;
  at_ms: number;
  actor: string;
  action: string;
  subject: string | null;
  details: string | null;
}

export async function up(db: AnyDb, dialect: Dialect): Promise<void> {
  await db.schema.alterTable("members").addColumn("erased_at_ms", "bigint").execute();
  await db.schema.alterTable("audit_log").addColumn("seq", "bigint").execute();
  await db.schema.alterTable("audit_log").addColumn("hash", "text").execute();
  await db.schema
    .createTable("audit_heads")
    .addColumn("company_id", "bigint", (c) => c.primaryKey().notNull().references("companies.id"))
    .addColumn("seq", "bigint", (c) => c.notNull())
    .addColumn("hash", "text", (c) => c.notNull())
    .execute();

  // Chain what is there: per company, in the order the entries were written (their ids).
  const heads = new Map<number, { seq: number; hash: string }>();
  let afterId = 0;
  for (;;) {
    const page = await sql<OldEntry>`select id, company_id, at_ms, actor, action, subject, details
      from audit_log where id > ${afterId} order by id limit ${CHAIN_PAGE_ROWS}`.execute(db);
    for (const row of page.rows) {
      const companyId = Number(row.company_id);
      const head = heads.get(companyId) ?? { seq: 0, hash: AUDIT_GENESIS_HASH };
      const seq = head.seq + 1;
      const hash = auditEntryHash(head.hash, {
        companyId,
        seq,
        atMs: Number(row.at_ms),
        actor: row.actor,
        action: row.action,
        subject: row.subject,
        details: row.details,
      });
      await sql`update audit_log set seq = ${seq}, hash = ${hash} where id = ${row.id}`.execute(db);
      heads.set(companyId, { seq, hash });
    }
    const last = page.rows[page.rows.length - 1];
    if (!last || page.rows.length < CHAIN_PAGE_ROWS) break;
    afterId = Number(last.id);
  }
  for (const [companyId, head] of heads)
    await sql`insert into audit_heads (company_id, seq, hash) values (${companyId}, ${head.seq}, ${head.hash})`.execute(
      db,
    );

  await db.schema
    .createIndex("audit_log_company_seq")
    .unique()
    .on("audit_log")
    .columns(["company_id", "seq"])
    .execute();

  if (dialect === "postgres") {
    await sql`alter table audit_log alter column seq set not null`.execute(db);
    await sql`alter table audit_log alter column hash set not null`.execute(db);
    await sql`create function audit_log_refuse_change() returns trigger language plpgsql as $$
      begin
        raise exception 'audit_log is append-only: % refused', tg_op using errcode = 'P0001';
      end $$`.execute(db);
    await sql`create trigger audit_log_append_only before update or delete on audit_log
      for each row execute function audit_log_refuse_change()`.execute(db);
    await sql`create trigger audit_log_no_truncate before truncate on audit_log
      for each statement execute function audit_log_refuse_change()`.execute(db);
  } else {
    // SQLite cannot add NOT NULL to an existing column: a trigger refuses an entry outside the chain instead.
    await sql`create trigger audit_log_chained before insert on audit_log
      when new.seq is null or new.hash is null
      begin select raise(abort, 'audit_log entries must be chained (seq and hash)'); end`.execute(db);
    await sql`create trigger audit_log_no_update before update on audit_log
      begin select raise(abort, 'audit_log is append-only: UPDATE refused'); end`.execute(db);
    await sql`create trigger audit_log_no_delete before delete on audit_log
      begin select raise(abort, 'audit_log is append-only: DELETE refused'); end`.execute(db);
  }
}
