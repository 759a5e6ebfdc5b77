/**
 * @module Managing a company's people over the API: members (one by one or from a CSV list), groups, SIP
 * profiles, admins and their roles, API keys, and the company overview. Every query is scoped to the
 * company: another company's id is simply not found. Callers own the transaction.
 */
import { sql } from "kysely";
import type { Db } from "../db/database";
import type { AccountType, AdminRole } from "../db/schema";
import { splitCsvRecord } from "../ingest/csv-records";
import { formatAmount } from "../money/money";
import { AppError, conflict, invalid, notFound } from "../shared/errors";
import { writeAudit } from "./audit";
import type { CompanyContext } from "./company-context";
import { addMemberToGroup, createAdmin, createGroup, createMember, createSipProfile } from "./people.service";
import { bumpCompanyRevision } from "./revision";

export const NAME_CHARS_MAX = 200;
export const USERNAME_CHARS_MAX = 100;
export const EMAIL_CHARS_MAX = 254;
export const GROUP_NAME_CHARS_MAX = 200;
export const SIP_CHANNELS_MAX = 100_000;
export const API_KEY_NAME_CHARS_MAX = 100;
/** Members per page of GET /members. */
export const MEMBERS_PAGE_ROWS_MAX = 500;
export const MEMBERS_PAGE_ROWS_DEFAULT = 100;
/** Data rows (header excluded) of one CSV import of members. */
export const MEMBERS_IMPORT_ROWS_MAX = 5000;
/** Groups a member can be put in with one create or update. */
export const MEMBER_GROUPS_MAX = 100;
/** The window the company's average daily usage is measured over, for `days_left`. */
export const USAGE_WINDOW_DAYS = 30;
const DAY_MS = 86_400_000;

export const USERNAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;
export const EMAIL_PATTERN = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;
export const USERNAME_RULE = "must be letters, digits, '.', '_' or '-', starting with a letter or digit";

export interface Actor {
  /** How the audit log names who did it (an admin's email, `api-key:…`). */
  label: string;
  /** The admin behind the request; null for an API key. */
  adminId: number | null;
}

export interface GroupRef {
  id: number;
  name: string;
}

export interface MemberView {
  id: number;
  name: string;
  username: string;
  email: string | null;
  account_type: AccountType;
  groups: GroupRef[];
  balance: string;
  reports_consent: boolean;
  /** The person was erased (pseudonymised): their name and email can no longer be changed. */
  erased: boolean;
}

// ---------------------------------------------------------------------------------------------- members

/** `%` and `_` in a search term are literal characters, not wildcards. */
function likePattern(q: string): string {
  return `%${q.toLowerCase().replace(/[\\%_]/g, (ch) => `\\${ch}`)}%`;
}

async function groupsOf(db: Db, companyId: number, memberIds: number[]): Promise<Map<number, GroupRef[]>> {
  const out = new Map<number, GroupRef[]>();
  if (memberIds.length === 0) return out;
  const rows = await db.k
    .selectFrom("member_groups as mg")
    .innerJoin("groups as g", "g.id", "mg.group_id")
    .select(["mg.member_id", "g.id", "g.name"])
    .where("mg.company_id", "=", companyId)
    .where("mg.member_id", "in", memberIds)
    .orderBy("g.name")
    .execute();
  for (const r of rows) {
    const list = out.get(r.member_id) ?? [];
    list.push({ id: r.id, name: r.name });
    out.set(r.member_id, list);
  }
  return out;
}

function memberQuery(db: Db, companyId: number) {
  return db.k
    .selectFrom("members as m")
    .innerJoin("accounts as a", "a.id", "m.account_id")
    .select([
      "m.id",
      "m.name",
      "m.username",
      "m.email",
      "m.account_type",
      "m.reports_consent",
      "m.erased_at_ms",
      "a.balance_minor",
    ])
    .where("m.company_id", "=", companyId);
}

type MemberRow = Awaited<ReturnType<ReturnType<typeof memberQuery>["executeTakeFirstOrThrow"]>>;

function memberView(r: MemberRow, groups: GroupRef[], company: CompanyContext): MemberView {
  return {
    id: r.id,
    name: r.name,
    username: r.username,
    email: r.email,
    account_type: r.account_type,
    groups,
    balance: formatAmount(r.balance_minor, company.currency),
    reports_consent: r.reports_consent === 1,
    erased: r.erased_at_ms !== null,
  };
}

export async function listMembers(
  db: Db,
  company: CompanyContext,
  input: { q?: string | undefined; groupId?: number | undefined; limit: number; offset: number },
): Promise<{ total: number; members: MemberView[] }> {
  let base = memberQuery(db, company.id);
  if (input.q !== undefined && input.q.trim() !== "") {
    const pattern = likePattern(input.q.trim());
    base = base.where((eb) =>
      eb.or(
        (["m.name", "m.username", "m.email"] as const).map(
          (col) => sql<boolean>`lower(${sql.ref(col)}) like ${pattern} escape '\\'`,
        ),
      ),
    );
  }
  if (input.groupId !== undefined) {
    const groupId = input.groupId;
    base = base.where((eb) =>
      eb.exists(
        eb
          .selectFrom("member_groups as mg")
          .select("mg.member_id")
          .whereRef("mg.member_id", "=", "m.id")
          .where("mg.group_id", "=", groupId),
      ),
    );
  }
  const counted = await base
    .clearSelect()
    .select((eb) => eb.fn.countAll<number>().as("n"))
    .executeTakeFirstOrThrow();
  const rows = await base.orderBy("m.name").orderBy("m.id").limit(input.limit).offset(input.offset).execute();
  const groups = await groupsOf(
    db,
    company.id,
    rows.map((r) => r.id),
  );
  return {
    total: Number(counted.n),
    members: rows.map((r) => memberView(r, groups.get(r.id) ?? [], company)),
  };
}

export async function getMember(db: Db, company: CompanyContext, memberId: number): Promise<MemberView> {
  const r = await memberQuery(db, company.id).where("m.id", "=", memberId).executeTakeFirst();
  if (!r) throw notFound(`member ${memberId} does not exist`);
  const groups = await groupsOf(db, company.id, [r.id]);
  return memberView(r, groups.get(r.id) ?? [], company);
}

/** Refuses an email another member of the company already signs in with (sign-in would be ambiguous). */
export async function requireFreeMemberEmail(
  db: Db,
  companyId: number,
  email: string,
  exceptMemberId?: number,
): Promise<void> {
  let q = db.k
    .selectFrom("members")
    .select("username")
    .where("company_id", "=", companyId)
    .where(({ fn }) => fn("lower", ["email"]), "=", email.toLowerCase());
  if (exceptMemberId !== undefined) q = q.where("id", "<>", exceptMemberId);
  const other = await q.executeTakeFirst();
  if (other) throw conflict(`the email ${email} is already used by the member ${other.username}`);
}

async function requireGroups(db: Db, companyId: number, groupIds: readonly number[]): Promise<void> {
  const unique = [...new Set(groupIds)];
  if (unique.length === 0) return;
  const found = await db.k
    .selectFrom("groups")
    .select("id")
    .where("company_id", "=", companyId)
    .where("id", "in", unique)
    .execute();
  const known = new Set(found.map((g) => g.id));
  const missing = unique.find((id) => !known.has(id));
  if (missing !== undefined) throw notFound(`group ${missing} does not exist`);
}

/** Creates a business member (created and owned by the company), optionally in groups and with a password. */
export async function createBusinessMember(
  db: Db,
  company: CompanyContext,
  input: {
    name: string;
    username: string;
    email: string;
    passwordHash: string | null;
    groupIds: readonly number[];
  },
  actor: Actor,
  nowMs: number,
): Promise<MemberView> {
  const email = input.email.trim().toLowerCase();
  await requireFreeMemberEmail(db, company.id, email);
  await requireGroups(db, company.id, input.groupIds);
  const { id } = await createMember(db, company, {
    name: input.name.trim(),
    username: input.username,
    email,
    accountType: "business",
    reportsConsent: false,
    nowMs,
  });
  if (input.passwordHash !== null)
    await db.k
      .updateTable("members")
      .set({ password_hash: input.passwordHash })
      .where("id", "=", id)
      .execute();
  for (const groupId of new Set(input.groupIds)) await addMemberToGroup(db, company, id, groupId);
  await writeAudit(db, company.id, {
    atMs: nowMs,
    actor: actor.label,
    action: "member.created",
    subject: input.username,
    details: { account_type: "business", email },
  });
  return getMember(db, company, id);
}

export async function updateMember(
  db: Db,
  company: CompanyContext,
  memberId: number,
  patch: { name?: string | undefined; email?: string | undefined; groupIds?: readonly number[] | undefined },
  actor: Actor,
  nowMs: number,
): Promise<MemberView> {
  const member = await db.k
    .selectFrom("members")
    .select(["id", "username", "account_type", "name", "email", "erased_at_ms"])
    .where("company_id", "=", company.id)
    .where("id", "=", memberId)
    .executeTakeFirst();
  if (!member) throw notFound(`member ${memberId} does not exist`);
  const changes: Record<string, unknown> = {};
  if (patch.name !== undefined || patch.email !== undefined) {
    if (member.erased_at_ms !== null)
      throw conflict(`${member.username} was erased: the pseudonym and the missing email stay as they are`);
    // A personal account belongs to its person; the company only invited it (§1).
    if (member.account_type === "personal")
      throw conflict(`${member.username} is a personal member: their name and email are their own to change`);
    const set: { name?: string; email?: string } = {};
    if (patch.name !== undefined && patch.name.trim() !== member.name)
      set.name = changes["name"] = patch.name.trim();
    if (patch.email !== undefined) {
      const email = patch.email.trim().toLowerCase();
      if (email !== member.email) {
        await requireFreeMemberEmail(db, company.id, email, memberId);
        set.email = changes["email"] = email;
      }
    }
    if (Object.keys(set).length > 0)
      await db.k.updateTable("members").set(set).where("id", "=", memberId).execute();
  }
  if (patch.groupIds !== undefined) {
    await requireGroups(db, company.id, patch.groupIds);
    await db.k
      .deleteFrom("member_groups")
      .where("company_id", "=", company.id)
      .where("member_id", "=", memberId)
      .execute();
    for (const groupId of new Set(patch.groupIds)) await addMemberToGroup(db, company, memberId, groupId);
    changes["groups"] = [...new Set(patch.groupIds)];
  }
  if (Object.keys(changes).length > 0) await bumpCompanyRevision(db, company.id);
  if (Object.keys(changes).length > 0)
    await writeAudit(db, company.id, {
      atMs: nowMs,
      actor: actor.label,
      action: "member.updated",
      subject: member.username,
      details: changes,
    });
  return getMember(db, company, memberId);
}

// ------------------------------------------------------------------------------------------- CSV import

export interface MemberImportRow {
  line: number;
  name: string;
  email: string;
}

const IMPORT_HEADER = ["first_name", "last_name", "email"] as const;

/**
 * Reads a CSV list of `first_name,last_name,email` (with that header; UTF-8, an optional byte-order mark,
 * LF or CRLF, RFC 4180 quotes). Blank lines are skipped. The first problem is refused with its line:
 * `line 4: email "x" is not an email address`. Nothing is written here.
 */
export function parseMembersCsv(text: string): MemberImportRow[] {
  const lines = (text.startsWith("\uFEFF") ? text.slice(1) : text).split("\n");
  const rows: MemberImportRow[] = [];
  const seen = new Map<string, number>();
  let header = false;
  for (const [i, raw] of lines.entries()) {
    const line = i + 1;
    const at = `line ${line}`;
    const textLine = raw.endsWith("\r") ? raw.slice(0, -1) : raw;
    if (textLine.trim() === "") continue;
    const split = splitCsvRecord(textLine);
    if (split.kind === "open") throw invalid('a quoted cell is never closed (a " is missing)', at);
    if (split.kind === "bad") throw invalid(split.reason, at);
    const cells = split.cells.map((cell) => cell.trim());
    if (!header) {
      const got = cells.map((cell) => cell.toLowerCase()).join(",");
      if (got !== IMPORT_HEADER.join(","))
        throw invalid(`the header must be "${IMPORT_HEADER.join(",")}" (got "${got.slice(0, 100)}")`, at);
      header = true;
      continue;
    }
    if (cells.length !== IMPORT_HEADER.length)
      throw invalid(
        `has ${cells.length} cells; expected ${IMPORT_HEADER.length} (${IMPORT_HEADER.join(",")})`,
        at,
      );
    if (rows.length === MEMBERS_IMPORT_ROWS_MAX)
      throw invalid(`more than ${MEMBERS_IMPORT_ROWS_MAX} members in one import; split the file`, at);
    const [first = "", last = "", email = ""] = cells;
    const name = `${first} ${last}`.trim();
    if (name === "") throw invalid("first_name and last_name are both empty", at);
    if (name.length > NAME_CHARS_MAX)
      throw invalid(`the name is longer than ${NAME_CHARS_MAX} characters`, at);
    if (email.length > EMAIL_CHARS_MAX || !EMAIL_PATTERN.test(email))
      throw invalid(`email ${JSON.stringify(email.slice(0, 100))} is not an email address`, at);
    const lower = email.toLowerCase();
    const earlier = seen.get(lower);
    if (earlier !== undefined) throw invalid(`email "${lower}" is already on line ${earlier}`, at);
    seen.set(lower, line);
    rows.push({ line, name, email: lower });
  }
  if (!header) throw invalid(`the file is empty: it needs the header "${IMPORT_HEADER.join(",")}"`, "line 1");
  if (rows.length === 0) throw invalid("the file has a header but no members", "line 2");
  return rows;
}

/** A username from an email's local part: lower case, only the characters usernames allow. */
export function usernameBase(email: string): string {
  const local = (email.split("@")[0] ?? "").toLowerCase();
  const cleaned = local.replace(/[^a-z0-9_.-]/g, "").replace(/^[^a-z0-9]+/, "");
  return (cleaned === "" ? "member" : cleaned).slice(0, USERNAME_CHARS_MAX - 6);
}

/** `base`, or `base2`, `base3`, … : the first that is not taken (and then marks it taken). */
export function uniqueUsername(base: string, taken: Set<string>): string {
  let name = base;
  for (let n = 2; taken.has(name); n++) name = `${base}${n}`;
  taken.add(name);
  return name;
}

/** Creates every row as a business member, or (on the first problem) none: the caller's transaction. */
export async function importMembers(
  db: Db,
  company: CompanyContext,
  rows: readonly MemberImportRow[],
  actor: Actor,
  nowMs: number,
): Promise<MemberView[]> {
  const existing = await db.k
    .selectFrom("members")
    .select(["username", "email"])
    .where("company_id", "=", company.id)
    .execute();
  const taken = new Set(existing.map((m) => m.username));
  const emails = new Map(existing.map((m) => [(m.email ?? "").toLowerCase(), m.username]));
  const ids: number[] = [];
  for (const row of rows) {
    const holder = emails.get(row.email);
    if (holder !== undefined)
      throw conflict(`line ${row.line}: the email ${row.email} is already used by the member ${holder}`);
    const username = uniqueUsername(usernameBase(row.email), taken);
    const { id } = await createMember(db, company, {
      name: row.name,
      username,
      email: row.email,
      accountType: "business",
      reportsConsent: false,
      nowMs,
    });
    ids.push(id);
  }
  await writeAudit(db, company.id, {
    atMs: nowMs,
    actor: actor.label,
    action: "member.imported",
    details: { count: ids.length },
  });
  const created = await memberQuery(db, company.id).where("m.id", "in", ids).orderBy("m.id").execute();
  return created.map((r) => memberView(r, [], company));
}

// ----------------------------------------------------------------------------------------------- groups

export interface GroupView {
  id: number;
  name: string;
  members: number;
}

export async function listGroups(db: Db, company: CompanyContext): Promise<GroupView[]> {
  const rows = await db.k
    .selectFrom("groups as g")
    .leftJoin("member_groups as mg", "mg.group_id", "g.id")
    .select(["g.id", "g.name", (eb) => eb.fn.count<number>("mg.member_id").as("members")])
    .where("g.company_id", "=", company.id)
    .groupBy(["g.id", "g.name"])
    .orderBy("g.name")
    .execute();
  return rows.map((r) => ({ id: r.id, name: r.name, members: Number(r.members) }));
}

async function requireGroup(
  db: Db,
  companyId: number,
  groupId: number,
): Promise<{ id: number; name: string }> {
  const g = await db.k
    .selectFrom("groups")
    .select(["id", "name"])
    .where("company_id", "=", companyId)
    .where("id", "=", groupId)
    .executeTakeFirst();
  if (!g) throw notFound(`group ${groupId} does not exist`);
  return g;
}

async function requireMember(
  db: Db,
  companyId: number,
  memberId: number,
): Promise<{ id: number; username: string }> {
  const m = await db.k
    .selectFrom("members")
    .select(["id", "username"])
    .where("company_id", "=", companyId)
    .where("id", "=", memberId)
    .executeTakeFirst();
  if (!m) throw notFound(`member ${memberId} does not exist`);
  return m;
}

async function groupView(db: Db, company: CompanyContext, groupId: number): Promise<GroupView> {
  const view = (await listGroups(db, company)).find((g) => g.id === groupId);
  if (!view) throw notFound(`group ${groupId} does not exist`);
  return view;
}

export async function addGroup(
  db: Db,
  company: CompanyContext,
  name: string,
  actor: Actor,
  nowMs: number,
): Promise<GroupView> {
  const id = await createGroup(db, company, name.trim());
  await writeAudit(db, company.id, {
    atMs: nowMs,
    actor: actor.label,
    action: "group.created",
    subject: name.trim(),
  });
  return { id, name: name.trim(), members: 0 };
}

export async function renameGroup(
  db: Db,
  company: CompanyContext,
  groupId: number,
  name: string,
  actor: Actor,
  nowMs: number,
): Promise<GroupView> {
  const group = await requireGroup(db, company.id, groupId);
  const next = name.trim();
  if (next !== group.name) {
    const clash = await db.k
      .selectFrom("groups")
      .select("id")
      .where("company_id", "=", company.id)
      .where("name", "=", next)
      .executeTakeFirst();
    if (clash) throw conflict(`a group named ${next} already exists`);
    await db.k.updateTable("groups").set({ name: next }).where("id", "=", groupId).execute();
    await bumpCompanyRevision(db, company.id);
    await writeAudit(db, company.id, {
      atMs: nowMs,
      actor: actor.label,
      action: "group.renamed",
      subject: next,
      details: { from: group.name },
    });
  }
  return groupView(db, company, groupId);
}

export async function deleteGroup(
  db: Db,
  company: CompanyContext,
  groupId: number,
  actor: Actor,
  nowMs: number,
): Promise<void> {
  const group = await requireGroup(db, company.id, groupId);
  const removed = await db.k
    .deleteFrom("member_groups")
    .where("company_id", "=", company.id)
    .where("group_id", "=", groupId)
    .executeTakeFirst();
  await db.k.deleteFrom("groups").where("id", "=", groupId).execute();
  await bumpCompanyRevision(db, company.id);
  await writeAudit(db, company.id, {
    atMs: nowMs,
    actor: actor.label,
    action: "group.deleted",
    subject: group.name,
    details: { memberships_removed: Number(removed.numDeletedRows) },
  });
}

export async function setGroupMembership(
  db: Db,
  company: CompanyContext,
  groupId: number,
  memberId: number,
  inGroup: boolean,
  actor: Actor,
  nowMs: number,
): Promise<GroupView> {
  const group = await requireGroup(db, company.id, groupId);
  const member = await requireMember(db, company.id, memberId);
  const present = await db.k
    .selectFrom("member_groups")
    .select("member_id")
    .where("member_id", "=", memberId)
    .where("group_id", "=", groupId)
    .executeTakeFirst();
  // Putting a member where they already are (or taking them from where they are not) is success, not an error.
  if (inGroup && !present) await addMemberToGroup(db, company, memberId, groupId);
  if (!inGroup && present)
    await db.k
      .deleteFrom("member_groups")
      .where("member_id", "=", memberId)
      .where("group_id", "=", groupId)
      .execute();
  if (inGroup !== Boolean(present)) await bumpCompanyRevision(db, company.id);
  if (inGroup !== Boolean(present))
    await writeAudit(db, company.id, {
      atMs: nowMs,
      actor: actor.label,
      action: inGroup ? "group.member_added" : "group.member_removed",
      subject: member.username,
      details: { group: group.name },
    });
  return groupView(db, company, groupId);
}

// ------------------------------------------------------------------------------------------ SIP profiles

export interface SipProfileView {
  id: number;
  name: string;
  channels: number;
  balance: string;
}

function sipQuery(db: Db, companyId: number) {
  return db.k
    .selectFrom("sip_profiles as s")
    .innerJoin("accounts as a", "a.id", "s.account_id")
    .select(["s.id", "s.name", "s.channels", "a.balance_minor"])
    .where("s.company_id", "=", companyId);
}

export async function listSipProfiles(db: Db, company: CompanyContext): Promise<SipProfileView[]> {
  const rows = await sipQuery(db, company.id).orderBy("s.name").execute();
  return rows.map((r) => ({
    id: r.id,
    name: r.name,
    channels: r.channels,
    balance: formatAmount(r.balance_minor, company.currency),
  }));
}

export async function getSipProfile(db: Db, company: CompanyContext, id: number): Promise<SipProfileView> {
  const r = await sipQuery(db, company.id).where("s.id", "=", id).executeTakeFirst();
  if (!r) throw notFound(`SIP profile ${id} does not exist`);
  return {
    id: r.id,
    name: r.name,
    channels: r.channels,
    balance: formatAmount(r.balance_minor, company.currency),
  };
}

export async function addSipProfile(
  db: Db,
  company: CompanyContext,
  input: { name: string; channels: number },
  actor: Actor,
  nowMs: number,
): Promise<SipProfileView> {
  const name = input.name.trim();
  const { id } = await createSipProfile(db, company, { name, channels: input.channels, nowMs });
  await writeAudit(db, company.id, {
    atMs: nowMs,
    actor: actor.label,
    action: "sip_profile.created",
    subject: name,
    details: { channels: input.channels },
  });
  return getSipProfile(db, company, id);
}

export async function updateSipProfile(
  db: Db,
  company: CompanyContext,
  id: number,
  patch: { name?: string | undefined; channels?: number | undefined },
  actor: Actor,
  nowMs: number,
): Promise<SipProfileView> {
  const current = await getSipProfile(db, company, id);
  const set: { name?: string; channels?: number } = {};
  if (patch.name !== undefined && patch.name.trim() !== current.name) {
    const name = patch.name.trim();
    const clash = await db.k
      .selectFrom("sip_profiles")
      .select("id")
      .where("company_id", "=", company.id)
      .where("name", "=", name)
      .executeTakeFirst();
    if (clash) throw conflict(`a SIP profile named ${name} already exists`);
    set.name = name;
  }
  if (patch.channels !== undefined && patch.channels !== current.channels) set.channels = patch.channels;
  if (Object.keys(set).length === 0) return current;
  await db.k.updateTable("sip_profiles").set(set).where("id", "=", id).execute();
  await bumpCompanyRevision(db, company.id);
  await writeAudit(db, company.id, {
    atMs: nowMs,
    actor: actor.label,
    action: "sip_profile.updated",
    subject: set.name ?? current.name,
    details: { ...set, ...(set.name ? { from: current.name } : {}) },
  });
  return getSipProfile(db, company, id);
}

// ----------------------------------------------------------------------------------------------- admins

export interface AdminView {
  id: number;
  email: string;
  name: string;
  role: AdminRole;
  privacy_acknowledged: boolean;
  created_at_ms: number;
}

export async function listAdmins(db: Db, company: CompanyContext): Promise<AdminView[]> {
  const rows = await db.k
    .selectFrom("admins")
    .select(["id", "email", "name", "role", "privacy_acknowledged_at_ms", "created_at_ms"])
    .where("company_id", "=", company.id)
    .where("removed_at_ms", "is", null)
    .orderBy("email")
    .execute();
  return rows.map((r) => ({
    id: r.id,
    email: r.email,
    name: r.name,
    role: r.role,
    privacy_acknowledged: r.privacy_acknowledged_at_ms !== null,
    created_at_ms: r.created_at_ms,
  }));
}

async function requireAdminRow(db: Db, companyId: number, adminId: number): Promise<AdminView> {
  const r = await db.k
    .selectFrom("admins")
    .select(["id", "email", "name", "role", "privacy_acknowledged_at_ms", "created_at_ms"])
    .where("company_id", "=", companyId)
    .where("id", "=", adminId)
    .where("removed_at_ms", "is", null)
    .executeTakeFirst();
  if (!r) throw notFound(`admin ${adminId} does not exist`);
  return {
    id: r.id,
    email: r.email,
    name: r.name,
    role: r.role,
    privacy_acknowledged: r.privacy_acknowledged_at_ms !== null,
    created_at_ms: r.created_at_ms,
  };
}

/**
 * The company's owners, locked on PostgreSQL so that two owners demoting or removing each other at the
 * same moment cannot leave the company with none (SQLite's write transactions already run one at a time).
 */
async function lockOwners(db: Db, companyId: number): Promise<number[]> {
  let q = db.k
    .selectFrom("admins")
    .select("id")
    .where("company_id", "=", companyId)
    .where("role", "=", "owner")
    .where("removed_at_ms", "is", null);
  if (db.dialect === "postgres") q = q.forUpdate();
  return (await q.execute()).map((r) => r.id);
}

export async function addAdmin(
  db: Db,
  company: CompanyContext,
  input: { email: string; name: string; role: AdminRole; passwordHash: string },
  actor: Actor,
  nowMs: number,
): Promise<AdminView> {
  const id = await createAdmin(db, company, {
    email: input.email,
    name: input.name.trim(),
    role: input.role,
    passwordHash: input.passwordHash,
    privacyAcknowledgedAtMs: null,
    nowMs,
  });
  const view = await requireAdminRow(db, company.id, id);
  await writeAudit(db, company.id, {
    atMs: nowMs,
    actor: actor.label,
    action: "admin.added",
    subject: view.email,
    details: { role: view.role },
  });
  return view;
}

export async function changeAdminRole(
  db: Db,
  company: CompanyContext,
  adminId: number,
  role: AdminRole,
  actor: Actor,
  nowMs: number,
): Promise<AdminView> {
  const owners = await lockOwners(db, company.id);
  const admin = await requireAdminRow(db, company.id, adminId);
  if (admin.role === role) return admin;
  if (admin.role === "owner" && owners.length <= 1)
    throw conflict(`${admin.email} is the company's last owner; make another admin an owner first`);
  await db.k.updateTable("admins").set({ role }).where("id", "=", adminId).execute();
  await writeAudit(db, company.id, {
    atMs: nowMs,
    actor: actor.label,
    action: "admin.role_changed",
    subject: admin.email,
    details: { from: admin.role, to: role },
  });
  return { ...admin, role };
}

/**
 * Removes an admin and ends their sessions. An admin whose name is on the company's history (purchases,
 * allocations, auto-allocation rules) keeps their row, marked removed, because the reports name them as
 * `purchased_by` / `allocated_by` and ledger rows never change; they can no longer sign in.
 */
export async function removeAdmin(
  db: Db,
  company: CompanyContext,
  adminId: number,
  actor: Actor,
  nowMs: number,
): Promise<void> {
  const owners = await lockOwners(db, company.id);
  const admin = await requireAdminRow(db, company.id, adminId);
  if (actor.adminId === adminId) throw conflict("you cannot remove yourself; ask another owner");
  if (admin.role === "owner" && owners.length <= 1)
    throw conflict(`${admin.email} is the company's last owner and cannot be removed`);
  const history = await db.k
    .selectFrom("transfers")
    .select("id")
    .where("company_id", "=", company.id)
    .where("actor_admin_id", "=", adminId)
    .union(
      db.k
        .selectFrom("purchases")
        .select("id")
        .where("company_id", "=", company.id)
        .where("purchased_by_admin_id", "=", adminId),
    )
    .union(
      db.k
        .selectFrom("auto_rules")
        .select("id")
        .where("company_id", "=", company.id)
        .where("set_by_admin_id", "=", adminId),
    )
    .limit(1)
    .executeTakeFirst();
  await db.k
    .deleteFrom("sessions")
    .where("principal_kind", "=", "admin")
    .where("principal_id", "=", adminId)
    .execute();
  await db.k
    .updateTable("api_keys")
    .set({ created_by_admin_id: null })
    .where("company_id", "=", company.id)
    .where("created_by_admin_id", "=", adminId)
    .execute();
  await db.k
    .updateTable("invitations")
    .set({ invited_by_admin_id: null })
    .where("company_id", "=", company.id)
    .where("invited_by_admin_id", "=", adminId)
    .execute();
  if (history) {
    // Named in immutable history (reports print their email): marked removed, never deleted.
    await db.k
      .updateTable("admins")
      .set({ removed_at_ms: nowMs, password_hash: null })
      .where("id", "=", adminId)
      .execute();
  } else {
    await db.k.deleteFrom("admins").where("id", "=", adminId).execute();
  }
  await writeAudit(db, company.id, {
    atMs: nowMs,
    actor: actor.label,
    action: "admin.removed",
    subject: admin.email,
    details: { role: admin.role },
  });
}

// --------------------------------------------------------------------------------------------- API keys

export interface ApiKeyView {
  id: number;
  name: string;
  prefix: string;
  scopes: string[];
  created_at_ms: number;
  last_used_at_ms: number | null;
  revoked_at_ms: number | null;
}

function apiKeyQuery(db: Db, companyId: number) {
  return db.k
    .selectFrom("api_keys")
    .select(["id", "name", "key_prefix", "scopes", "created_at_ms", "last_used_at_ms", "revoked_at_ms"])
    .where("company_id", "=", companyId);
}

type ApiKeyRow = Awaited<ReturnType<ReturnType<typeof apiKeyQuery>["executeTakeFirstOrThrow"]>>;

const apiKeyView = (r: ApiKeyRow): ApiKeyView => ({
  id: r.id,
  name: r.name,
  prefix: r.key_prefix,
  scopes: r.scopes.split(" ").filter((s) => s !== ""),
  created_at_ms: r.created_at_ms,
  last_used_at_ms: r.last_used_at_ms,
  revoked_at_ms: r.revoked_at_ms,
});

export async function listApiKeys(db: Db, company: CompanyContext): Promise<ApiKeyView[]> {
  return (await apiKeyQuery(db, company.id).orderBy("id").execute()).map(apiKeyView);
}

export async function getApiKey(db: Db, company: CompanyContext, id: number): Promise<ApiKeyView> {
  const r = await apiKeyQuery(db, company.id).where("id", "=", id).executeTakeFirst();
  if (!r) throw notFound(`API key ${id} does not exist`);
  return apiKeyView(r);
}

/** Revokes a key at once (its next request is refused). Revoking a revoked key changes nothing. */
export async function revokeApiKey(
  db: Db,
  company: CompanyContext,
  id: number,
  actor: Actor,
  nowMs: number,
): Promise<ApiKeyView> {
  const key = await getApiKey(db, company, id);
  if (key.revoked_at_ms !== null) return key;
  await db.k.updateTable("api_keys").set({ revoked_at_ms: nowMs }).where("id", "=", id).execute();
  await writeAudit(db, company.id, {
    atMs: nowMs,
    actor: actor.label,
    action: "api_key.revoked",
    subject: key.name,
    details: { prefix: key.prefix },
  });
  return { ...key, revoked_at_ms: nowMs };
}

// ---------------------------------------------------------------------------------------------- company

export interface CompanyOverview {
  id: number;
  name: string;
  currency: string;
  timezone: string;
  balanceMinor: number;
  /** Usage charged over the last USAGE_WINDOW_DAYS days, in minor units. */
  usageWindowMinor: number;
  daysLeft: number | null;
}

/**
 * The company account's balance and how long it lasts: balance ÷ the average daily usage charges of the
 * last USAGE_WINDOW_DAYS days (null when nothing was charged; 0 when the balance is not positive).
 */
export async function companyOverview(
  db: Db,
  company: CompanyContext,
  nowMs: number,
): Promise<CompanyOverview> {
  const account = await db.k
    .selectFrom("accounts")
    .select("balance_minor")
    .where("id", "=", company.companyAccountId)
    .executeTakeFirstOrThrow();
  const usage = await db.k
    .selectFrom("usage_records")
    .select((eb) => eb.fn.coalesce(eb.fn.sum<number>("charge_minor"), sql<number>`0`).as("charged"))
    .where("company_id", "=", company.id)
    .where("started_at_ms", ">=", nowMs - USAGE_WINDOW_DAYS * DAY_MS)
    .where("started_at_ms", "<", nowMs)
    .executeTakeFirstOrThrow();
  const charged = Number(usage.charged);
  const balance = account.balance_minor;
  const daysLeft =
    charged <= 0 ? null : balance <= 0 ? 0 : Math.floor(balance / (charged / USAGE_WINDOW_DAYS));
  return {
    id: company.id,
    name: company.name,
    currency: company.currency,
    timezone: company.timezone,
    balanceMinor: balance,
    usageWindowMinor: charged,
    daysLeft,
  };
}

/** The `AppError` for a route that only a signed-in admin (not an API key) can use. */
export const needsAdmin = (what: string): AppError =>
  new AppError("forbidden", `${what} needs a signed-in owner or admin, not an API key`);
