/**
 * @module Inviting personal members (§1, §2): an admin invites an email, the person opens the link within
 * INVITATION_VALID_MS and accepts (a personal member is created, consent off) or declines. The token is
 * shown once; only its SHA-256 is stored, so a copy of the database holds no usable link.
 */
import type { Db } from "../db/database";
import { conflict, notFound } from "../shared/errors";
import { writeAudit } from "./audit";
import { randomToken, sha256 } from "./auth.service";
import { loadCompany } from "./company-context";
import type { CompanyContext } from "./company-context";
import type { Actor, MemberView } from "./member-admin.service";
import { getMember, requireFreeMemberEmail } from "./member-admin.service";
import { createMember } from "./people.service";

/** An invitation can be used for 30 days from when it was sent (§2). */
export const INVITATION_VALID_MS = 30 * 86_400_000;
/** Random bytes in an invitation token (256 bits: not guessable, so the public routes need no throttle). */
export const INVITATION_TOKEN_BYTES = 32;

export type InvitationStatus = "pending" | "accepted" | "declined" | "expired";

export interface InvitationView {
  id: number;
  email: string;
  status: InvitationStatus;
  created_at_ms: number;
  expires_at_ms: number;
  member_id: number | null;
}

interface InvitationRow {
  id: number;
  company_id: number;
  email: string;
  status: "pending" | "accepted" | "declined";
  created_at_ms: number;
  expires_at_ms: number;
  member_id: number | null;
}

/** Expiry is computed, not stored: an invitation is expired from the instant `expires_at` is reached. */
function statusAt(row: InvitationRow, nowMs: number): InvitationStatus {
  return row.status === "pending" && nowMs >= row.expires_at_ms ? "expired" : row.status;
}

const view = (row: InvitationRow, nowMs: number): InvitationView => ({
  id: row.id,
  email: row.email,
  status: statusAt(row, nowMs),
  created_at_ms: row.created_at_ms,
  expires_at_ms: row.expires_at_ms,
  member_id: row.member_id,
});

function invitationQuery(db: Db) {
  return db.k
    .selectFrom("invitations")
    .select(["id", "company_id", "email", "status", "created_at_ms", "expires_at_ms", "member_id"]);
}

export async function createInvitation(
  db: Db,
  company: CompanyContext,
  input: { email: string },
  actor: Actor,
  nowMs: number,
): Promise<InvitationView & { token: string }> {
  const email = input.email.trim().toLowerCase();
  await requireFreeMemberEmail(db, company.id, email);
  const token = randomToken(INVITATION_TOKEN_BYTES);
  const row = await db.k
    .insertInto("invitations")
    .values({
      company_id: company.id,
      email,
      token_hash: sha256(token),
      invited_by_admin_id: actor.adminId,
      created_at_ms: nowMs,
      expires_at_ms: nowMs + INVITATION_VALID_MS,
      status: "pending",
      member_id: null,
    })
    .returning("id")
    .executeTakeFirstOrThrow();
  await writeAudit(db, company.id, {
    atMs: nowMs,
    actor: actor.label,
    action: "invitation.sent",
    subject: email,
  });
  return {
    id: row.id,
    email,
    status: "pending",
    created_at_ms: nowMs,
    expires_at_ms: nowMs + INVITATION_VALID_MS,
    member_id: null,
    token,
  };
}

export async function listInvitations(
  db: Db,
  company: CompanyContext,
  nowMs: number,
): Promise<InvitationView[]> {
  const rows = await invitationQuery(db)
    .where("company_id", "=", company.id)
    .orderBy("created_at_ms", "desc")
    .orderBy("id", "desc")
    .execute();
  return rows.map((r) => view(r, nowMs));
}

/**
 * Revokes an invitation that was not accepted: its link stops working at once. The row is deleted (the
 * audit log keeps the record); an accepted invitation is history and cannot be revoked.
 */
export async function revokeInvitation(
  db: Db,
  company: CompanyContext,
  id: number,
  actor: Actor,
  nowMs: number,
): Promise<void> {
  const row = await invitationQuery(db)
    .where("company_id", "=", company.id)
    .where("id", "=", id)
    .executeTakeFirst();
  if (!row) throw notFound(`invitation ${id} does not exist`);
  if (row.status === "accepted")
    throw conflict(`the invitation of ${row.email} was accepted; it cannot be revoked`);
  await db.k.deleteFrom("invitations").where("id", "=", id).execute();
  await writeAudit(db, company.id, {
    atMs: nowMs,
    actor: actor.label,
    action: "invitation.revoked",
    subject: row.email,
    details: { status: statusAt(row, nowMs) },
  });
}

/** The invitation behind a token, which must still be usable; otherwise a message that says why not. */
async function usableInvitation(db: Db, token: string, nowMs: number): Promise<InvitationRow> {
  const row = await invitationQuery(db).where("token_hash", "=", sha256(token)).executeTakeFirst();
  if (!row) throw notFound("this invitation link is not valid (or the invitation was revoked)");
  const status = statusAt(row, nowMs);
  if (status === "expired")
    throw conflict(
      `this invitation expired on ${new Date(row.expires_at_ms).toISOString()}; ask the company for a new one`,
    );
  if (status !== "pending") throw conflict(`this invitation was already ${status}`);
  return row;
}

/** What the invitation page shows before the person decides. */
export async function describeInvitation(
  db: Db,
  token: string,
  nowMs: number,
): Promise<{ company: string; email: string; expires_at_ms: number }> {
  const row = await usableInvitation(db, token, nowMs);
  const company = await loadCompany(db, row.company_id);
  return { company: company.name, email: row.email, expires_at_ms: row.expires_at_ms };
}

/**
 * Marks a usable invitation as answered. The status check is in the UPDATE itself, so of two answers that
 * race, exactly one wins (PostgreSQL re-checks the row after the first commits; SQLite writes one at a time).
 */
async function answer(
  db: Db,
  row: InvitationRow,
  status: "accepted" | "declined",
  memberId: number | null,
): Promise<void> {
  const done = await db.k
    .updateTable("invitations")
    .set({ status, member_id: memberId })
    .where("id", "=", row.id)
    .where("status", "=", "pending")
    .executeTakeFirst();
  if (Number(done.numUpdatedRows) !== 1) throw conflict("this invitation was already answered");
}

export async function acceptInvitation(
  db: Db,
  token: string,
  input: { name: string; username: string; passwordHash: string },
  nowMs: number,
): Promise<{ company: CompanyContext; member: MemberView }> {
  const row = await usableInvitation(db, token, nowMs);
  const company = await loadCompany(db, row.company_id);
  await answer(db, row, "accepted", null);
  await requireFreeMemberEmail(db, company.id, row.email);
  const { id } = await createMember(db, company, {
    name: input.name.trim(),
    username: input.username,
    email: row.email,
    accountType: "personal",
    reportsConsent: false,
    nowMs,
  });
  await db.k.updateTable("members").set({ password_hash: input.passwordHash }).where("id", "=", id).execute();
  await db.k.updateTable("invitations").set({ member_id: id }).where("id", "=", row.id).execute();
  await writeAudit(db, company.id, {
    atMs: nowMs,
    actor: row.email,
    action: "invitation.accepted",
    subject: input.username,
  });
  return { company, member: await getMember(db, company, id) };
}

export async function declineInvitation(db: Db, token: string, nowMs: number): Promise<void> {
  const row = await usableInvitation(db, token, nowMs);
  await answer(db, row, "declined", null);
  await writeAudit(db, row.company_id, {
    atMs: nowMs,
    actor: row.email,
    action: "invitation.declined",
    subject: row.email,
  });
}
