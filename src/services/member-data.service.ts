/**
 * @module A member's data rights: the export of everything the company holds about them (profile, groups,
 * balance, allocations, subscriptions, numbers, auto-allocation rule, consent history, usage) as one JSON
 * document or a zip of CSVs, and erasure — the person pseudonymised while every ledger entry, balance and
 * monthly total stays. Both are audited. Decisions: docs/decisions/0010-erasure-and-audit-chain.md.
 */
import crypto from "node:crypto";
import fs from "node:fs";
import { Readable } from "node:stream";
import { sql } from "kysely";
import { inTransaction } from "../db/database";
import type { Db } from "../db/database";
import type { AccountType, Admin } from "../db/schema";
import { zipReports } from "../documents/zip";
import { formatAmount } from "../money/money";
import { csvStream } from "../reports/csv";
import { REPORT_COLUMNS } from "../reports/definitions";
import type { ColumnSpec, ReportRow } from "../reports/definitions";
import { notFound } from "../shared/errors";
import { formatLocalIso, monthOf } from "../time/month";
import { writeAudit } from "./audit";
import { lockCompanyBalance } from "./ledger";
import { bumpCompanyRevision } from "./revision";
import type { CompanyContext } from "./company-context";

export const MEMBER_EXPORT_FORMAT = "switchboard-member-export/1";
export const MEMBER_EXPORT_FORMATS = ["json", "zip"] as const;
export type MemberExportFormat = (typeof MEMBER_EXPORT_FORMATS)[number];

/** Who asks for an export: the member themself, an owner or admin of the company, or the operator (CLI). */
export type ExportRequester =
  | { kind: "member"; memberId: number; label: string }
  | { kind: "admin"; admin: Admin }
  | { kind: "operator" };

export type MemberExport = {
  format: typeof MEMBER_EXPORT_FORMAT;
  generated_at: string;
  company: { id: number; name: string; currency: string; timezone: string };
  member: {
    id: number;
    name: string;
    username: string;
    email: string | null;
    account_type: AccountType;
    groups: string[];
    created_at: string;
    erased_at: string | null;
    balance: string;
    reports_consent: boolean;
    consent_changed_at: string | null;
  };
  consent_history: { at: string; granted: boolean }[];
  allocations: {
    date: string;
    feature: string;
    action: string;
    detail: string | null;
    amount: string;
    currency: string;
  }[];
  subscriptions: {
    plan: string;
    allocated_at: string;
    active_from: string;
    active_until: string;
    minutes: number;
    used_minutes: number;
    renew: boolean;
  }[];
  numbers: {
    number: string;
    months: number;
    price: string;
    allocated_at: string;
    active_until: string;
    renew: boolean;
  }[];
  auto_allocation_rule: { threshold: string; amount: string; monthly_cap: string; updated_at: string } | null;
  /** The Usage report's columns (PRODUCT.md §4), every month still kept; or why it is left out (§6). */
  usage: { included: true; records: ReportRow[] } | { included: false; reason: string; records: [] };
};

async function requireMember(db: Db, company: CompanyContext, memberId: number) {
  const m = await db.k
    .selectFrom("members")
    .selectAll()
    .where("company_id", "=", company.id)
    .where("id", "=", memberId)
    .executeTakeFirst();
  if (!m) throw notFound(`member ${memberId} does not exist in this company`);
  return m;
}

/** The member of the company with this username (for the command line). */
export async function memberIdByUsername(db: Db, company: CompanyContext, username: string): Promise<number> {
  const m = await db.k
    .selectFrom("members")
    .select("id")
    .where("company_id", "=", company.id)
    .where("username", "=", username)
    .executeTakeFirst();
  if (!m) throw notFound(`no member with username "${username}" in company ${company.id}`);
  return m.id;
}

/**
 * Why the requester may not see this member's usage, or null when they may. PRODUCT.md §6: a member always
 * sees their own; an admin must have acknowledged the privacy notice, and a personal member's usage needs
 * that member's consent at this moment. The operator acts for the member (a data-subject request).
 */
function usageRefusal(
  requester: ExportRequester,
  member: { name: string; account_type: AccountType; reports_consent: number },
): string | null {
  if (requester.kind !== "admin") return null;
  if (requester.admin.privacy_acknowledged_at_ms === null)
    return "the data-privacy notice has not been acknowledged yet: open a Usage report once and accept it";
  if (member.account_type === "personal" && member.reports_consent !== 1)
    return `${member.name} has a personal account and has not given consent to share usage with the company`;
  return null;
}

function requesterLabel(r: ExportRequester): string {
  switch (r.kind) {
    case "member":
      return r.label;
    case "admin":
      return r.admin.email;
    case "operator":
      return "operator";
  }
}

/** Everything the company holds about the member, as one document; the export is written to the audit log. */
export async function exportMemberData(
  db: Db,
  company: CompanyContext,
  memberId: number,
  requester: ExportRequester,
  opts: { format: MemberExportFormat; nowMs: number },
): Promise<MemberExport> {
  const m = await requireMember(db, company, memberId);
  const tz = company.timezone;
  const at = (ms: number) => formatLocalIso(ms, tz);
  const money = (minor: number) => formatAmount(minor, company.currency);

  const [account, groups, consent, transfers, subscriptions, numbers, rule] = await Promise.all([
    db.k
      .selectFrom("accounts")
      .select("balance_minor")
      .where("id", "=", m.account_id)
      .executeTakeFirstOrThrow(),
    db.k
      .selectFrom("member_groups as mg")
      .innerJoin("groups as g", "g.id", "mg.group_id")
      .select("g.name")
      .where("mg.member_id", "=", m.id)
      .where("mg.company_id", "=", company.id)
      .orderBy("g.name")
      .execute(),
    db.k
      .selectFrom("consent_events")
      .select(["at_ms", "granted"])
      .where("member_id", "=", m.id)
      .where("company_id", "=", company.id)
      .orderBy("at_ms")
      .orderBy("id")
      .execute(),
    db.k
      .selectFrom("transfers")
      .select(["at_ms", "feature", "kind", "detail", "amount_minor"])
      .where("recipient_account_id", "=", m.account_id)
      .where("company_id", "=", company.id)
      .orderBy("at_ms")
      .orderBy("id")
      .execute(),
    db.k
      .selectFrom("subscriptions as s")
      .innerJoin("plans as p", "p.id", "s.plan_id")
      .select([
        "p.name",
        "s.allocated_at_ms",
        "s.active_from_ms",
        "s.active_until_ms",
        "s.minutes",
        "s.used_minutes",
        "s.renew",
      ])
      .where("s.account_id", "=", m.account_id)
      .where("s.company_id", "=", company.id)
      .orderBy("s.allocated_at_ms")
      .orderBy("s.id")
      .execute(),
    db.k
      .selectFrom("numbers")
      .select(["number", "months", "price_minor", "allocated_at_ms", "active_until_ms", "renew"])
      .where("account_id", "=", m.account_id)
      .where("company_id", "=", company.id)
      .orderBy("allocated_at_ms")
      .orderBy("id")
      .execute(),
    db.k
      .selectFrom("auto_rules")
      .select(["threshold_minor", "amount_minor", "monthly_cap_minor", "updated_at_ms"])
      .where("account_id", "=", m.account_id)
      .where("company_id", "=", company.id)
      .executeTakeFirst(),
  ]);

  const refusal = usageRefusal(requester, m);
  let usage: MemberExport["usage"];
  /** The first and last company-local month of the usage handed out (§6: the audit log says which months). */
  let usageMonths: string[] = [];
  if (refusal !== null) {
    usage = { included: false, reason: refusal, records: [] };
  } else {
    const records = await db.k
      .selectFrom("usage_records")
      .select([
        "started_at_ms",
        "kind",
        "destination",
        "rate_name",
        "duration_s",
        "billed_s",
        "rate_per_minute",
        "charge_minor",
        "status",
        "covered_by",
        "external_id",
      ])
      .where("account_id", "=", m.account_id)
      .where("company_id", "=", company.id)
      .orderBy("started_at_ms")
      .orderBy("external_id")
      .execute();
    const first = records[0];
    const last = records[records.length - 1];
    if (first && last) usageMonths = [monthOf(first.started_at_ms, tz), monthOf(last.started_at_ms, tz)];
    // The same cells as the Usage report (report.service.ts), so a member reads their data as admins do.
    usage = {
      included: true,
      records: records.map((r) => ({
        started_at: at(r.started_at_ms),
        kind: r.kind,
        destination: r.destination,
        destination_name: r.status === "unrated" ? null : r.rate_name,
        duration_s: r.kind === "sms" ? null : r.duration_s,
        billed_s: r.kind === "sms" || r.status === "unrated" ? null : r.billed_s,
        rate_per_minute: r.kind === "sms" || r.status === "unrated" ? null : r.rate_per_minute,
        charge: r.status === "unrated" ? null : money(r.charge_minor),
        currency: company.currency,
        status: r.status,
        covered_by: r.covered_by,
        external_id: r.external_id,
      })),
    };
  }

  const doc: MemberExport = {
    format: MEMBER_EXPORT_FORMAT,
    generated_at: at(opts.nowMs),
    company: { id: company.id, name: company.name, currency: company.currency, timezone: company.timezone },
    member: {
      id: m.id,
      name: m.name,
      username: m.username,
      email: m.email,
      account_type: m.account_type,
      groups: groups.map((g) => g.name),
      created_at: at(m.created_at_ms),
      erased_at: m.erased_at_ms === null ? null : at(m.erased_at_ms),
      balance: money(account.balance_minor),
      reports_consent: m.reports_consent === 1,
      consent_changed_at: m.consent_changed_at_ms === null ? null : at(m.consent_changed_at_ms),
    },
    consent_history: consent.map((e) => ({ at: at(e.at_ms), granted: e.granted === 1 })),
    allocations: transfers.map((t) => ({
      date: at(t.at_ms),
      feature: t.feature ?? "credit",
      action: t.kind === "subscription" || t.kind === "number" ? "allocate" : t.kind,
      detail: t.detail,
      amount: money(t.amount_minor),
      currency: company.currency,
    })),
    subscriptions: subscriptions.map((s) => ({
      plan: s.name,
      allocated_at: at(s.allocated_at_ms),
      active_from: at(s.active_from_ms),
      active_until: at(s.active_until_ms),
      minutes: s.minutes,
      used_minutes: s.used_minutes,
      renew: s.renew === 1,
    })),
    numbers: numbers.map((n) => ({
      number: n.number,
      months: n.months,
      price: money(n.price_minor),
      allocated_at: at(n.allocated_at_ms),
      active_until: at(n.active_until_ms),
      renew: n.renew === 1,
    })),
    auto_allocation_rule: rule
      ? {
          threshold: money(rule.threshold_minor),
          amount: money(rule.amount_minor),
          monthly_cap: money(rule.monthly_cap_minor),
          updated_at: at(rule.updated_at_ms),
        }
      : null,
    usage,
  };

  await writeAudit(db, company.id, {
    atMs: opts.nowMs,
    actor: requesterLabel(requester),
    action: "member.data_exported",
    subject: m.username,
    details: {
      member_id: m.id,
      format: opts.format,
      usage_included: usage.included,
      usage_records: usage.records.length,
      usage_month_range: usageMonths,
    },
  });
  return doc;
}

const col = (key: string, kind: ColumnSpec["kind"]): ColumnSpec => ({ key, kind });
const ALLOCATION_COLUMNS: readonly ColumnSpec[] = [
  col("date", "date"),
  col("feature", "code"),
  col("action", "code"),
  col("detail", "text"),
  col("amount", "amount"),
  col("currency", "code"),
];
const CONSENT_COLUMNS: readonly ColumnSpec[] = [col("at", "date"), col("granted", "code")];

async function* rowsOf(rows: readonly ReportRow[]): AsyncIterable<ReportRow> {
  for (const r of rows) yield r;
  await Promise.resolve();
}

/** The export as a zip: `member.json` (the whole document) and CSVs of usage, allocations and consent (§4 CSV rules). */
export function memberExportZip(doc: MemberExport): Readable {
  const stem = `member-${doc.member.id}`;
  const json = Buffer.from(`${JSON.stringify(doc, null, 2)}\n`, "utf8");
  return zipReports([
    { name: `${stem}.json`, stream: Readable.from([json]) },
    { name: `${stem}-usage.csv`, stream: csvStream(REPORT_COLUMNS.usage, rowsOf(doc.usage.records)) },
    { name: `${stem}-allocations.csv`, stream: csvStream(ALLOCATION_COLUMNS, rowsOf(doc.allocations)) },
    {
      name: `${stem}-consent.csv`,
      stream: csvStream(
        CONSENT_COLUMNS,
        rowsOf(doc.consent_history.map((c) => ({ at: c.at, granted: c.granted ? "true" : "false" }))),
      ),
    },
  ]);
}

// ----------------------------------------------------------------------------------------------- erasure

export interface ErasureResult {
  member_id: number;
  /** The stable pseudonym the member is known by from now on. */
  name: string;
  username: string;
  erased_at: string;
  /** True when the member had already been erased: nothing was changed. */
  already_erased: boolean;
}

/** The pseudonym of an erased member: derived from ids only (never from the person's data), so it is stable. */
export function erasedPseudonym(companyId: number, memberId: number): { name: string; username: string } {
  const tag = crypto
    .createHash("sha256")
    .update(`switchboard-erased-member:${companyId}:${memberId}`)
    .digest("hex")
    .slice(0, 12);
  return { name: `Erased member ${tag}`, username: `erased-${tag}` };
}

/** How an erased member's destinations read: `+`, the digits of the rate prefix that priced the record, XXXX. */
export const MASKED_DESTINATION_SUFFIX = "XXXX";

/**
 * Erases the member as a person: name, username and email become a pseudonym (email removed); password,
 * sessions, invitations, login throttling records, cached idempotent responses and background report files
 * that carry their data are removed; their usage destinations are masked to the rate prefix. Every transfer,
 * balance, monthly total, usage charge and group membership stays, so the ledger and every report total are
 * unchanged. Irreversible; a second call changes nothing. Owners only (the route and command check).
 * Returns also the report files to delete once the transaction has committed.
 */
export async function eraseMember(
  db: Db,
  company: CompanyContext,
  memberId: number,
  actor: string,
  nowMs: number,
): Promise<ErasureResult & { filesToRemove: string[] }> {
  return inTransaction(db, async (tx) => {
    let m = await requireMember(tx, company, memberId);
    if (m.erased_at_ms === null) {
      // The company's ledger lock: usage being ingested for the member commits before the masking (and is
      // masked too) or starts after it (and no longer finds the old username). Taken only when there is
      // something to erase, so that erasing again changes nothing, not even the company's revision.
      await lockCompanyBalance(tx, company);
      m = await requireMember(tx, company, memberId);
    }
    if (m.erased_at_ms !== null)
      return {
        member_id: m.id,
        name: m.name,
        username: m.username,
        erased_at: formatLocalIso(m.erased_at_ms, company.timezone),
        already_erased: true,
        filesToRemove: [],
      };
    const pseudonym = erasedPseudonym(company.id, m.id);
    const oldLabel = `member:${m.username}`;
    const texts = [m.name, m.username, ...(m.email === null ? [] : [m.email])].filter((t) => t.length > 0);
    const contains = (column: string, value: string) =>
      tx.dialect === "postgres"
        ? sql<boolean>`strpos(${sql.ref(column)}, ${value}) > 0`
        : sql<boolean>`instr(${sql.ref(column)}, ${value}) > 0`;

    const sessions = await tx.k
      .deleteFrom("sessions")
      .where("principal_kind", "=", "member")
      .where("principal_id", "=", m.id)
      .executeTakeFirst();
    const invitations = await tx.k
      .deleteFrom("invitations")
      .where("company_id", "=", company.id)
      .where((eb) =>
        m.email === null
          ? eb("member_id", "=", m.id)
          : eb.or([eb("member_id", "=", m.id), eb("email", "=", m.email)]),
      )
      .executeTakeFirst();
    if (m.email !== null)
      await tx.k
        .deleteFrom("login_attempts")
        .where("bucket", "=", `email:${m.email.toLowerCase()}`)
        .execute();
    // Replayable responses of retried requests may quote the person (their page, an admin's edit of them).
    await tx.k
      .deleteFrom("idempotency_keys")
      .where("company_id", "=", company.id)
      .where((eb) =>
        eb.or([eb("principal", "=", oldLabel), ...texts.map((t) => contains("response_body", t))]),
      )
      .execute();
    // Report files generated in the background (a Usage report of them, their own downloads).
    const jobs = await tx.k
      .selectFrom("download_jobs")
      .select(["id", "file_path"])
      .where("company_id", "=", company.id)
      .where((eb) => eb.or([eb("requested_by", "=", oldLabel), contains("file_name", m.username)]))
      .execute();
    if (jobs.length > 0)
      await tx.k
        .deleteFrom("download_jobs")
        .where(
          "id",
          "in",
          jobs.map((j) => j.id),
        )
        .execute();

    await tx.k
      .updateTable("members")
      .set({
        name: pseudonym.name,
        username: pseudonym.username,
        email: null,
        password_hash: null,
        erased_at_ms: nowMs,
      })
      .where("id", "=", m.id)
      .execute();
    // Usage rows are ledger detail and otherwise never change: only the destination is masked, the charge stays.
    const masked = await sql`update usage_records
      set destination = '+' || coalesce(rate_prefix, '') || ${MASKED_DESTINATION_SUFFIX}
      where company_id = ${company.id} and account_id = ${m.account_id}`.execute(tx.k);

    // Reports name the member: a report cached before the erasure must not be served after it (the ledger
    // lock above bumps the revision too; this says why erasure needs it).
    await bumpCompanyRevision(tx, company.id);
    await writeAudit(tx, company.id, {
      atMs: nowMs,
      actor,
      action: "member.erased",
      subject: pseudonym.username,
      details: {
        member_id: m.id,
        sessions_removed: Number(sessions.numDeletedRows),
        invitations_removed: Number(invitations.numDeletedRows),
        usage_records_masked: Number(masked.numAffectedRows ?? 0),
      },
    });
    return {
      member_id: m.id,
      name: pseudonym.name,
      username: pseudonym.username,
      erased_at: formatLocalIso(nowMs, company.timezone),
      already_erased: false,
      filesToRemove: jobs.map((j) => j.file_path).filter((p): p is string => p !== null),
    };
  });
}

/** Deletes the report files an erasure released (after its transaction committed); a missing file is fine. */
export async function removeErasedFiles(paths: readonly string[]): Promise<void> {
  for (const p of paths) await fs.promises.rm(p, { force: true });
}
