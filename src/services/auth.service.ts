/**
 * @module Signing in and staying signed in: password checks with throttling, sessions (stored by the hash
 * of their token), API keys (shown once, stored by hash, revocable).
 */
import crypto from "node:crypto";
import { hashPassword, verifyPassword } from "../auth/password";
import type { Db } from "../db/database";
import type { Admin } from "../db/schema";
import { AppError } from "../shared/errors";
import { writeAudit } from "./audit";

/** Failed sign-ins allowed per email, and per client address, within the window. */
export const LOGIN_FAILURES_PER_EMAIL_MAX = 5;
export const LOGIN_FAILURES_PER_ADDRESS_MAX = 20;
export const LOGIN_WINDOW_MS = 15 * 60_000;
export const API_KEY_PREFIX = "sbk_";

export const sha256 = (text: string): string => crypto.createHash("sha256").update(text).digest("hex");
export const randomToken = (bytes = 32): string => crypto.randomBytes(bytes).toString("base64url");

/** Compares two secrets in constant time (for equal lengths). */
export function safeEqual(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && crypto.timingSafeEqual(x, y);
}

// A real hash to verify against when the email is unknown, so that timing does not reveal who has an account.
let dummyHash: Promise<string> | undefined;

export type SignedIn =
  { kind: "admin"; companyId: number; id: number } | { kind: "member"; companyId: number; id: number };

async function throttle(db: Db, buckets: { key: string; max: number }[], nowMs: number): Promise<void> {
  for (const b of buckets) {
    const row = await db.k
      .selectFrom("login_attempts")
      .select((eb) => eb.fn.countAll<number>().as("n"))
      .where("bucket", "=", b.key)
      .where("at_ms", ">", nowMs - LOGIN_WINDOW_MS)
      .executeTakeFirstOrThrow();
    if (Number(row.n) >= b.max)
      throw new AppError("rate_limited", "too many failed sign-ins; wait 15 minutes and try again");
  }
}

/**
 * Checks an email and password. Admin accounts are tried before member accounts; when the same email
 * signs in to several companies, `companyId` chooses.
 */
export async function signIn(
  db: Db,
  input: { email: string; password: string; companyId?: number | undefined; address: string; nowMs: number },
): Promise<SignedIn> {
  const email = input.email.trim().toLowerCase();
  const buckets = [
    { key: `email:${email}`, max: LOGIN_FAILURES_PER_EMAIL_MAX },
    { key: `address:${input.address}`, max: LOGIN_FAILURES_PER_ADDRESS_MAX },
  ];
  await throttle(db, buckets, input.nowMs);
  let admins = db.k
    .selectFrom("admins")
    .select(["id", "company_id", "password_hash"])
    .where("email", "=", email)
    .where("removed_at_ms", "is", null);
  let members = db.k
    .selectFrom("members")
    .select(["id", "company_id", "password_hash"])
    .where(({ fn }) => fn("lower", ["email"]), "=", email);
  if (input.companyId !== undefined) {
    admins = admins.where("company_id", "=", input.companyId);
    members = members.where("company_id", "=", input.companyId);
  }
  const candidates: (SignedIn & { hash: string | null })[] = [
    ...(await admins.execute()).map((a) => ({
      kind: "admin" as const,
      companyId: a.company_id,
      id: a.id,
      hash: a.password_hash,
    })),
    ...(await members.execute()).map((m) => ({
      kind: "member" as const,
      companyId: m.company_id,
      id: m.id,
      hash: m.password_hash,
    })),
  ];
  const matches: SignedIn[] = [];
  for (const c of candidates) if (c.hash && (await verifyPassword(c.hash, input.password))) matches.push(c);
  if (candidates.length === 0)
    await verifyPassword(await (dummyHash ??= hashPassword(randomToken())), input.password);
  if (matches.length === 0) {
    await db.k
      .insertInto("login_attempts")
      .values(buckets.map((b) => ({ bucket: b.key, at_ms: input.nowMs })))
      .execute();
    throw new AppError("unauthenticated", "the email or password is wrong");
  }
  const companies = new Set(matches.map((m) => m.companyId));
  if (companies.size > 1)
    throw new AppError("invalid_input", "this email signs in to several companies: give company_id", {
      details: { company_ids: [...companies] },
    });
  const chosen = matches[0];
  if (!chosen) throw new Error("unreachable");
  return { kind: chosen.kind, companyId: chosen.companyId, id: chosen.id };
}

export interface NewSession {
  token: string;
  tokenHash: string;
  csrfToken: string;
  expiresAtMs: number;
}

/** Starts a new session (a new token every sign-in: no session fixation). */
export async function createSession(
  db: Db,
  who: SignedIn,
  nowMs: number,
  ttlMs: number,
): Promise<NewSession> {
  const token = randomToken();
  const csrfToken = randomToken();
  const expiresAtMs = nowMs + ttlMs;
  const tokenHash = sha256(token);
  await db.k
    .insertInto("sessions")
    .values({
      token_hash: tokenHash,
      company_id: who.companyId,
      principal_kind: who.kind,
      principal_id: who.id,
      csrf_token: csrfToken,
      created_at_ms: nowMs,
      expires_at_ms: expiresAtMs,
      last_seen_ms: nowMs,
    })
    .execute();
  return { token, tokenHash, csrfToken, expiresAtMs };
}

export async function findSession(db: Db, token: string, nowMs: number) {
  const row = await db.k
    .selectFrom("sessions")
    .selectAll()
    .where("token_hash", "=", sha256(token))
    .executeTakeFirst();
  if (!row || row.expires_at_ms <= nowMs) return undefined;
  return row;
}

/** A session's person, and their company's revision read in the same query (src/services/revision.ts). */
export type SessionPrincipal =
  | { kind: "admin"; session: SessionRow; admin: Admin; companyRevision: number }
  | {
      kind: "member";
      session: SessionRow;
      member: { id: number; username: string };
      companyRevision: number;
    };

export interface SessionRow {
  token_hash: string;
  company_id: number;
  csrf_token: string;
  expires_at_ms: number;
  last_seen_ms: number;
}

/**
 * The live session of a token with the person it belongs to, in one indexed query (a request's whole
 * authentication): undefined when the token is unknown or expired, or its admin was removed.
 */
export async function findSessionPrincipal(
  db: Db,
  token: string,
  nowMs: number,
): Promise<SessionPrincipal | undefined> {
  const row = await db.k
    .selectFrom("sessions as s")
    .leftJoin("admins as a", (j) =>
      j
        .onRef("a.id", "=", "s.principal_id")
        .on("s.principal_kind", "=", "admin")
        .on("a.removed_at_ms", "is", null),
    )
    .leftJoin("members as m", (j) =>
      j.onRef("m.id", "=", "s.principal_id").on("s.principal_kind", "=", "member"),
    )
    .innerJoin("companies as co", "co.id", "s.company_id")
    .selectAll("a")
    .select([
      "co.revision as company_revision",
      "s.token_hash as session_token_hash",
      "s.company_id as session_company_id",
      "s.csrf_token as session_csrf_token",
      "s.expires_at_ms as session_expires_at_ms",
      "s.last_seen_ms as session_last_seen_ms",
      "m.id as member_id",
      "m.username as member_username",
    ])
    .where("s.token_hash", "=", sha256(token))
    .executeTakeFirst();
  if (!row || row.session_expires_at_ms <= nowMs) return undefined;
  const {
    company_revision,
    session_token_hash,
    session_company_id,
    session_csrf_token,
    session_expires_at_ms,
    session_last_seen_ms,
    member_id,
    member_username,
    ...admin
  } = row;
  const session: SessionRow = {
    token_hash: session_token_hash,
    company_id: session_company_id,
    csrf_token: session_csrf_token,
    expires_at_ms: session_expires_at_ms,
    last_seen_ms: session_last_seen_ms,
  };
  const companyRevision = Number(company_revision);
  if (admin.id !== null) return { kind: "admin", session, admin: admin as Admin, companyRevision };
  if (member_id !== null && member_username !== null)
    return {
      kind: "member",
      session,
      member: { id: member_id, username: member_username },
      companyRevision,
    };
  return undefined;
}

/** Sliding expiry: a session used within its lifetime lives on for another lifetime. */
export async function touchSession(db: Db, tokenHash: string, nowMs: number, ttlMs: number): Promise<void> {
  await db.k
    .updateTable("sessions")
    .set({ last_seen_ms: nowMs, expires_at_ms: nowMs + ttlMs })
    .where("token_hash", "=", tokenHash)
    .execute();
}

export async function deleteSession(db: Db, tokenHash: string): Promise<void> {
  await db.k.deleteFrom("sessions").where("token_hash", "=", tokenHash).execute();
}

export async function changePassword(
  db: Db,
  who: { kind: "admin" | "member"; id: number; companyId: number; label: string },
  input: { current: string; next: string; nowMs: number; keepSessionHash: string },
): Promise<void> {
  const table = who.kind === "admin" ? "admins" : "members";
  const row = await db.k
    .selectFrom(table)
    .select("password_hash")
    .where("id", "=", who.id)
    .executeTakeFirstOrThrow();
  if (!row.password_hash || !(await verifyPassword(row.password_hash, input.current)))
    throw new AppError("forbidden", "the current password is wrong");
  const hash = await hashPassword(input.next);
  await db.k.updateTable(table).set({ password_hash: hash }).where("id", "=", who.id).execute();
  // Every other session of this person ends: a changed password locks out whoever else was signed in.
  await db.k
    .deleteFrom("sessions")
    .where("principal_kind", "=", who.kind)
    .where("principal_id", "=", who.id)
    .where("token_hash", "<>", input.keepSessionHash)
    .execute();
  await writeAudit(db, who.companyId, { atMs: input.nowMs, actor: who.label, action: "password.changed" });
}

export async function createApiKey(
  db: Db,
  input: { companyId: number; name: string; scopes: readonly string[]; admin: Admin; nowMs: number },
): Promise<{ id: number; key: string; prefix: string }> {
  const key = API_KEY_PREFIX + randomToken(30);
  const prefix = key.slice(0, API_KEY_PREFIX.length + 6);
  const row = await db.k
    .insertInto("api_keys")
    .values({
      company_id: input.companyId,
      name: input.name,
      key_prefix: prefix,
      key_hash: sha256(key),
      scopes: input.scopes.join(" "),
      created_by_admin_id: input.admin.id,
      created_at_ms: input.nowMs,
      last_used_at_ms: null,
      revoked_at_ms: null,
    })
    .returning("id")
    .executeTakeFirstOrThrow();
  await writeAudit(db, input.companyId, {
    atMs: input.nowMs,
    actor: input.admin.email,
    action: "api_key.created",
    subject: input.name,
    details: { scopes: input.scopes },
  });
  return { id: row.id, key, prefix };
}

export async function findApiKey(db: Db, key: string) {
  if (!key.startsWith(API_KEY_PREFIX)) return undefined;
  // The key's company's revision comes along: a cached report then costs this one query.
  return db.k
    .selectFrom("api_keys")
    .innerJoin("companies as co", "co.id", "api_keys.company_id")
    .selectAll("api_keys")
    .select("co.revision as company_revision")
    .where("key_hash", "=", sha256(key))
    .where("revoked_at_ms", "is", null)
    .executeTakeFirst();
}
