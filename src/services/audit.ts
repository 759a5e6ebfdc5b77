/**
 * @module The audit log: who did what, when. Append-only (database triggers refuse UPDATE and DELETE) and
 * tamper-evident: every entry carries a per-company sequence number and
 * `hash = sha256(prev_hash ‖ canonical(entry))`, so editing, deleting or reordering any entry breaks the
 * chain from that entry on. `verifyAuditChain` recomputes a company's chain. Owners read the log.
 */
import crypto from "node:crypto";
import { inTransaction } from "../db/database";
import type { Db } from "../db/database";
import { assert } from "../shared/errors";

export interface AuditEntry {
  atMs: number;
  actor: string;
  action: string;
  subject?: string | null;
  details?: Record<string, unknown> | null;
}

/** The previous hash of a company's first entry: 32 zero bytes, in hex. */
export const AUDIT_GENESIS_HASH = "0".repeat(64);
/** Tag of the canonical form: a future change of the form gets a new tag, and old entries keep theirs. */
export const AUDIT_CANONICAL_TAG = "switchboard-audit/1";
/** Entries read per query while verifying a chain (keyset pages, so memory stays flat). */
export const AUDIT_VERIFY_PAGE_ROWS = 5_000;

/** One stored entry, exactly the columns the hash covers. */
export interface AuditRecord {
  companyId: number;
  seq: number;
  atMs: number;
  actor: string;
  action: string;
  subject: string | null;
  /** The details exactly as stored (JSON text): the hash covers the stored text, never a re-serialisation. */
  details: string | null;
}

/**
 * The canonical form of an entry: a JSON array in a fixed field order —
 * `["switchboard-audit/1", company_id, seq, at_ms, actor, action, subject, details]` — with integers written
 * exactly (safe integers only, no exponent, no fraction), text as JSON strings (ECMAScript's JSON.stringify:
 * deterministic escaping, lone surrogates escaped as \uXXXX) and null for an absent subject or details;
 * then encoded as UTF-8. An array (not an object) so that no key order can differ between writers.
 */
export function canonicalAuditEntry(r: AuditRecord): Buffer {
  for (const [name, n] of [
    ["company_id", r.companyId],
    ["seq", r.seq],
    ["at_ms", r.atMs],
  ] as const)
    assert(Number.isSafeInteger(n), `audit ${name} must be a safe integer (got ${String(n)})`);
  const form = [AUDIT_CANONICAL_TAG, r.companyId, r.seq, r.atMs, r.actor, r.action, r.subject, r.details];
  return Buffer.from(JSON.stringify(form), "utf8");
}

/** `sha256(prev_hash ‖ canonical(entry))`: the previous hash as its 32 raw bytes, then the canonical form. */
export function auditEntryHash(prevHashHex: string, r: AuditRecord): string {
  assert(/^[0-9a-f]{64}$/.test(prevHashHex), "a previous audit hash is 64 lowercase hex digits");
  return crypto
    .createHash("sha256")
    .update(Buffer.from(prevHashHex, "hex"))
    .update(canonicalAuditEntry(r))
    .digest("hex");
}

/**
 * Takes the next sequence number of the company's chain and the hash before it. The UPDATE … RETURNING
 * row-locks the company's head until the caller's transaction ends, so two transactions appending for one
 * company queue here instead of both chaining onto the same previous entry (PostgreSQL); SQLite has one
 * writer at a time anyway. The returned hash is the head's hash before this append.
 */
async function advanceHead(db: Db, companyId: number): Promise<{ seq: number; prevHash: string }> {
  const advance = () =>
    db.k
      .updateTable("audit_heads")
      .set((eb) => ({ seq: eb("seq", "+", 1) }))
      .where("company_id", "=", companyId)
      .returning(["seq", "hash"])
      .executeTakeFirst();
  let head = await advance();
  if (!head) {
    // The company's first entry: create its head (another transaction may be doing the same: no error).
    await db.k
      .insertInto("audit_heads")
      .values({ company_id: companyId, seq: 0, hash: AUDIT_GENESIS_HASH })
      .onConflict((oc) => oc.column("company_id").doNothing())
      .execute();
    head = await advance();
  }
  assert(head, "the company's audit head exists after it was created");
  return { seq: Number(head.seq), prevHash: head.hash };
}

/**
 * Appends one entry to the company's chain, inside the caller's transaction (or its own). Call it after the
 * transaction's other writes: the company's head stays locked until the commit, and taking it last keeps one
 * lock order everywhere (company balance and revision first, audit head last).
 */
export async function writeAudit(db: Db, companyId: number, e: AuditEntry): Promise<void> {
  await inTransaction(db, async (tx) => {
    const { seq, prevHash } = await advanceHead(tx, companyId);
    const record: AuditRecord = {
      companyId,
      seq,
      atMs: e.atMs,
      actor: e.actor,
      action: e.action,
      subject: e.subject ?? null,
      details: e.details ? JSON.stringify(e.details) : null,
    };
    const hash = auditEntryHash(prevHash, record);
    const entry = tx.k.insertInto("audit_log").values({
      company_id: companyId,
      seq,
      at_ms: record.atMs,
      actor: record.actor,
      action: record.action,
      subject: record.subject,
      details: record.details,
      hash,
    });
    if (tx.dialect === "postgres") {
      // One round trip instead of two: the insert runs as a data-modifying CTE of the head's update.
      await tx.k
        .with("entry", () => entry)
        .updateTable("audit_heads")
        .set({ hash })
        .where("company_id", "=", companyId)
        .execute();
    } else {
      await entry.execute();
      await tx.k.updateTable("audit_heads").set({ hash }).where("company_id", "=", companyId).execute();
    }
  });
}

// ------------------------------------------------------------------------------------------------ verify

export type AuditBreak =
  | { kind: "hash_mismatch"; seq: number; id: number }
  | { kind: "missing"; seq: number; foundSeq: number; id: number }
  | { kind: "unexpected"; seq: number; foundSeq: number | null; id: number }
  | { kind: "head_mismatch"; seq: number; headSeq: number }
  | { kind: "head_missing"; seq: number };

export interface AuditVerifyResult {
  companyId: number;
  /** Entries checked before the first break (all of them when the chain is whole). */
  entries: number;
  /** The hash of the last entry (the company's head): record it elsewhere to detect a rewritten tail later. */
  headHash: string;
  broken: AuditBreak | null;
}

/** The sentence `audit verify` prints for a broken chain. */
export function describeAuditBreak(companyId: number, b: AuditBreak): string {
  switch (b.kind) {
    case "hash_mismatch":
      return (
        `company ${companyId}: the audit log is broken at entry ${b.seq} (row id ${b.id}): its hash does not ` +
        `match its content and the entry before it — it was changed, or an entry before it was`
      );
    case "missing":
      return (
        `company ${companyId}: the audit log is broken at entry ${b.seq}: it is missing ` +
        `(the next entry found is ${b.foundSeq}, row id ${b.id}) — an entry was deleted or renumbered`
      );
    case "unexpected":
      return (
        `company ${companyId}: the audit log is broken at entry ${b.seq}: row id ${b.id} has sequence ` +
        `${b.foundSeq === null ? "none" : b.foundSeq} — entries were renumbered, duplicated or written outside the chain`
      );
    case "head_mismatch":
      return (
        `company ${companyId}: the audit log is broken after entry ${b.seq}: the chain's head records ` +
        `${b.headSeq} entries — the last entries were deleted or the head was changed`
      );
    case "head_missing":
      return `company ${companyId}: the audit log has ${b.seq} entries but no chain head — the head was deleted`;
  }
}

/**
 * Recomputes the company's whole chain in sequence order and returns the first break. Reads in keyset pages
 * by (seq, id); a row without a sequence number is ordered last (it can only come from tampering).
 */
export async function verifyAuditChain(db: Db, companyId: number): Promise<AuditVerifyResult> {
  let prevHash = AUDIT_GENESIS_HASH;
  let expected = 1;
  let afterSeq = 0;
  let afterId = 0;
  for (;;) {
    const rows = await db.k
      .selectFrom("audit_log")
      .select(["id", "seq", "at_ms", "actor", "action", "subject", "details", "hash"])
      .where("company_id", "=", companyId)
      .where((eb) =>
        eb.or([
          eb("seq", "is", null),
          eb("seq", ">", afterSeq),
          eb.and([eb("seq", "=", afterSeq), eb("id", ">", afterId)]),
        ]),
      )
      .orderBy("seq")
      .orderBy("id")
      .limit(AUDIT_VERIFY_PAGE_ROWS)
      .execute();
    for (const row of rows) {
      const entries = expected - 1;
      const seq = row.seq === null ? null : Number(row.seq);
      if (seq === null || seq < expected)
        return {
          companyId,
          entries,
          headHash: prevHash,
          broken: { kind: "unexpected", seq: expected, foundSeq: seq, id: row.id },
        };
      if (seq > expected)
        return {
          companyId,
          entries,
          headHash: prevHash,
          broken: { kind: "missing", seq: expected, foundSeq: seq, id: row.id },
        };
      const hash = auditEntryHash(prevHash, {
        companyId,
        seq,
        atMs: Number(row.at_ms),
        actor: row.actor,
        action: row.action,
        subject: row.subject,
        details: row.details,
      });
      if (hash !== row.hash)
        return { companyId, entries, headHash: prevHash, broken: { kind: "hash_mismatch", seq, id: row.id } };
      prevHash = hash;
      expected++;
    }
    const last = rows[rows.length - 1];
    if (rows.length < AUDIT_VERIFY_PAGE_ROWS || !last) break;
    afterSeq = Number(last.seq);
    afterId = last.id;
  }
  const entries = expected - 1;
  const head = await db.k
    .selectFrom("audit_heads")
    .select(["seq", "hash"])
    .where("company_id", "=", companyId)
    .executeTakeFirst();
  if (!head) {
    if (entries === 0) return { companyId, entries, headHash: prevHash, broken: null };
    return { companyId, entries, headHash: prevHash, broken: { kind: "head_missing", seq: entries } };
  }
  if (Number(head.seq) !== entries || head.hash !== prevHash)
    return {
      companyId,
      entries,
      headHash: prevHash,
      broken: { kind: "head_mismatch", seq: entries, headSeq: Number(head.seq) },
    };
  return { companyId, entries, headHash: prevHash, broken: null };
}
