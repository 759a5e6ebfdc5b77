/** @module Admins, members, groups and SIP profiles of a company; subjects of usage and allocations. */
import type { Db } from "../db/database";
import type { AccountType, Admin, AdminRole } from "../db/schema";
import { AppError, conflict, invalid, notFound } from "../shared/errors";
import type { CompanyContext } from "./company-context";
import { writeAudit } from "./audit";
import { bumpCompanyRevision } from "./revision";

/** A member or SIP profile: whoever holds a balance, makes calls and receives allocations. */
export interface Subject {
  type: "member" | "sip_profile";
  id: number;
  accountId: number;
  name: string;
  /** The member's username; null for a SIP profile. */
  username: string | null;
  accountType: AccountType | null;
}

export const SIP_PREFIX = "sip:";

export async function createAdmin(
  db: Db,
  company: CompanyContext,
  input: {
    email: string;
    name: string;
    role: AdminRole;
    passwordHash: string | null;
    privacyAcknowledgedAtMs: number | null;
    nowMs: number;
  },
): Promise<number> {
  const email = input.email.trim().toLowerCase();
  const existing = await db.k
    .selectFrom("admins")
    .select(["id", "removed_at_ms"])
    .where("company_id", "=", company.id)
    .where("email", "=", email)
    .executeTakeFirst();
  if (existing && existing.removed_at_ms === null)
    throw conflict(`an admin with email ${email} already exists`);
  if (existing) {
    // A removed admin added again gets their row back (the history already names them).
    await db.k
      .updateTable("admins")
      .set({
        name: input.name,
        role: input.role,
        password_hash: input.passwordHash,
        privacy_acknowledged_at_ms: input.privacyAcknowledgedAtMs,
        removed_at_ms: null,
      })
      .where("id", "=", existing.id)
      .execute();
    return existing.id;
  }
  const row = await db.k
    .insertInto("admins")
    .values({
      company_id: company.id,
      email,
      name: input.name,
      role: input.role,
      password_hash: input.passwordHash,
      privacy_acknowledged_at_ms: input.privacyAcknowledgedAtMs,
      created_at_ms: input.nowMs,
    })
    .returning("id")
    .executeTakeFirstOrThrow();
  return row.id;
}

export async function findAdmin(db: Db, companyId: number, email: string): Promise<Admin | undefined> {
  return db.k
    .selectFrom("admins")
    .selectAll()
    .where("company_id", "=", companyId)
    .where("email", "=", email.trim().toLowerCase())
    .where("removed_at_ms", "is", null)
    .executeTakeFirst();
}

/** The admin behind `email`, who must hold one of `roles`; otherwise a clear refusal. */
export async function requireAdmin(
  db: Db,
  companyId: number,
  email: string,
  roles: readonly AdminRole[],
): Promise<Admin> {
  const admin = await findAdmin(db, companyId, email);
  if (!admin) throw new AppError("forbidden", `${email} is not an owner, admin or viewer of this company`);
  if (!roles.includes(admin.role))
    throw new AppError(
      "forbidden",
      `${email} is a ${admin.role} and may not do this (needs ${roles.join(" or ")})`,
    );
  return admin;
}

export async function acknowledgePrivacy(
  db: Db,
  company: CompanyContext,
  admin: Admin,
  atMs: number,
): Promise<void> {
  if (admin.privacy_acknowledged_at_ms !== null) return;
  await db.k
    .updateTable("admins")
    .set({ privacy_acknowledged_at_ms: atMs })
    .where("id", "=", admin.id)
    .execute();
  await writeAudit(db, company.id, { atMs, actor: admin.email, action: "privacy.acknowledged" });
}

export async function createMember(
  db: Db,
  company: CompanyContext,
  input: {
    name: string;
    username: string;
    email: string | null;
    accountType: AccountType;
    reportsConsent: boolean;
    nowMs: number;
  },
): Promise<{ id: number; accountId: number }> {
  const taken = await db.k
    .selectFrom("members")
    .select("id")
    .where("company_id", "=", company.id)
    .where("username", "=", input.username)
    .executeTakeFirst();
  if (taken) throw conflict(`the username ${input.username} is already taken`);
  const account = await db.k
    .insertInto("accounts")
    .values({ company_id: company.id, kind: "member", balance_minor: 0 })
    .returning("id")
    .executeTakeFirstOrThrow();
  const consent = input.accountType === "personal" && input.reportsConsent;
  const row = await db.k
    .insertInto("members")
    .values({
      company_id: company.id,
      account_id: account.id,
      name: input.name,
      username: input.username,
      email: input.email,
      account_type: input.accountType,
      reports_consent: consent ? 1 : 0,
      consent_changed_at_ms: consent ? input.nowMs : null,
      created_at_ms: input.nowMs,
    })
    .returning("id")
    .executeTakeFirstOrThrow();
  if (consent) {
    await db.k
      .insertInto("consent_events")
      .values({ company_id: company.id, member_id: row.id, granted: 1, at_ms: input.nowMs })
      .execute();
  }
  await bumpCompanyRevision(db, company.id);
  return { id: row.id, accountId: account.id };
}

export async function createGroup(db: Db, company: CompanyContext, name: string): Promise<number> {
  const taken = await db.k
    .selectFrom("groups")
    .select("id")
    .where("company_id", "=", company.id)
    .where("name", "=", name)
    .executeTakeFirst();
  if (taken) throw conflict(`a group named ${name} already exists`);
  const row = await db.k
    .insertInto("groups")
    .values({ company_id: company.id, name })
    .returning("id")
    .executeTakeFirstOrThrow();
  await bumpCompanyRevision(db, company.id);
  return row.id;
}

export async function addMemberToGroup(
  db: Db,
  company: CompanyContext,
  memberId: number,
  groupId: number,
): Promise<void> {
  await db.k
    .insertInto("member_groups")
    .values({ company_id: company.id, member_id: memberId, group_id: groupId })
    .onConflict((oc) => oc.columns(["member_id", "group_id"]).doNothing())
    .execute();
  await bumpCompanyRevision(db, company.id);
}

export async function createSipProfile(
  db: Db,
  company: CompanyContext,
  input: { name: string; channels: number; nowMs: number },
): Promise<{ id: number; accountId: number }> {
  if (!Number.isInteger(input.channels) || input.channels < 1)
    throw invalid("channels must be a whole number ≥ 1");
  const taken = await db.k
    .selectFrom("sip_profiles")
    .select("id")
    .where("company_id", "=", company.id)
    .where("name", "=", input.name)
    .executeTakeFirst();
  if (taken) throw conflict(`a SIP profile named ${input.name} already exists`);
  const account = await db.k
    .insertInto("accounts")
    .values({ company_id: company.id, kind: "sip_profile", balance_minor: 0 })
    .returning("id")
    .executeTakeFirstOrThrow();
  const row = await db.k
    .insertInto("sip_profiles")
    .values({
      company_id: company.id,
      account_id: account.id,
      name: input.name,
      channels: input.channels,
      created_at_ms: input.nowMs,
    })
    .returning("id")
    .executeTakeFirstOrThrow();
  await bumpCompanyRevision(db, company.id);
  return { id: row.id, accountId: account.id };
}

/** Records a personal member's consent to the company reading their usage, with its time. */
export async function setConsent(
  db: Db,
  company: CompanyContext,
  memberId: number,
  granted: boolean,
  atMs: number,
): Promise<void> {
  const member = await db.k
    .selectFrom("members")
    .select(["id", "account_type", "username"])
    .where("company_id", "=", company.id)
    .where("id", "=", memberId)
    .executeTakeFirst();
  if (!member) throw notFound(`member ${memberId} does not exist`);
  await db.k
    .updateTable("members")
    .set({ reports_consent: granted ? 1 : 0, consent_changed_at_ms: atMs })
    .where("id", "=", memberId)
    .execute();
  await db.k
    .insertInto("consent_events")
    .values({ company_id: company.id, member_id: memberId, granted: granted ? 1 : 0, at_ms: atMs })
    .execute();
  await writeAudit(db, company.id, {
    atMs,
    actor: member.username,
    action: granted ? "consent.granted" : "consent.withdrawn",
    subject: member.username,
  });
}

/**
 * Finds a subject by reference: a member's username, or "sip:" + a SIP profile's name.
 * Scoped to the company: another company's subject is simply not found.
 */
export async function findSubject(db: Db, companyId: number, ref: string): Promise<Subject | undefined> {
  if (ref.startsWith(SIP_PREFIX)) {
    const name = ref.slice(SIP_PREFIX.length);
    const sip = await db.k
      .selectFrom("sip_profiles")
      .select(["id", "account_id", "name"])
      .where("company_id", "=", companyId)
      .where("name", "=", name)
      .executeTakeFirst();
    return sip
      ? {
          type: "sip_profile",
          id: sip.id,
          accountId: sip.account_id,
          name: sip.name,
          username: null,
          accountType: null,
        }
      : undefined;
  }
  const m = await db.k
    .selectFrom("members")
    .select(["id", "account_id", "name", "username", "account_type"])
    .where("company_id", "=", companyId)
    .where("username", "=", ref)
    .executeTakeFirst();
  return m
    ? {
        type: "member",
        id: m.id,
        accountId: m.account_id,
        name: m.name,
        username: m.username,
        accountType: m.account_type,
      }
    : undefined;
}

export async function requireSubject(db: Db, companyId: number, ref: string): Promise<Subject> {
  const s = await findSubject(db, companyId, ref);
  if (!s)
    throw notFound(
      ref.startsWith(SIP_PREFIX)
        ? `no SIP profile named "${ref.slice(4)}"`
        : `no member with username "${ref}"`,
    );
  return s;
}

/** Every subject of a company, keyed by its reference ("username" or "sip:NAME"): for batch ingestion. */
export async function subjectDirectory(db: Db, companyId: number): Promise<Map<string, Subject>> {
  const out = new Map<string, Subject>();
  const members = await db.k
    .selectFrom("members")
    .select(["id", "account_id", "name", "username", "account_type"])
    .where("company_id", "=", companyId)
    .execute();
  for (const m of members)
    out.set(m.username, {
      type: "member",
      id: m.id,
      accountId: m.account_id,
      name: m.name,
      username: m.username,
      accountType: m.account_type,
    });
  const sips = await db.k
    .selectFrom("sip_profiles")
    .select(["id", "account_id", "name"])
    .where("company_id", "=", companyId)
    .execute();
  for (const s of sips)
    out.set(SIP_PREFIX + s.name, {
      type: "sip_profile",
      id: s.id,
      accountId: s.account_id,
      name: s.name,
      username: null,
      accountType: null,
    });
  return out;
}
