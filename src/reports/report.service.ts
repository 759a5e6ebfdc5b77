/**
 * @module Running a report: validates the request (month, feature, subject, filters — one schema per
 * report), enforces the privacy rules of PRODUCT.md §6 for Usage, writes the audit entry, and returns the
 * totals with a stream of rows. Every interface (CLI, HTTP, UI) calls this and renders the result.
 */
import { z } from "zod";
import { inTransaction } from "../db/database";
import type { Db } from "../db/database";
import type { Admin } from "../db/schema";
import { formatAmount } from "../money/money";
import { writeAudit } from "../services/audit";
import type { CompanyContext } from "../services/company-context";
import { accountBalance } from "../services/ledger";
import { findSubject, SIP_PREFIX } from "../services/people.service";
import type { Subject } from "../services/people.service";
import { AppError, invalid, notFound } from "../shared/errors";
import { formatLocalIso, monthOf, parseMonth } from "../time/month";
import { FEATURES, FILTER_KEYS, REPORT_COLUMNS, REPORT_NAMES, REPORT_TITLES } from "./definitions";
import type { ColumnSpec, FeatureName, ReportName, ReportRow } from "./definitions";
import * as q from "./queries";
import { batchedRows, mapBatches } from "./rows";

export const REPORT_FORMATS = ["json", "csv", "pdf", "xlsx"] as const;
export type ReportFormat = (typeof REPORT_FORMATS)[number];

/** Who asks: an admin of the company, a member for their own usage, or the operator at the command line. */
export type Viewer =
  { kind: "admin"; admin: Admin } | { kind: "member"; memberId: number } | { kind: "operator" };

export interface ReportRequest {
  report: ReportName;
  /** "YYYY-MM"; the current month in the company's timezone when absent. */
  month?: string | undefined;
  feature?: string | undefined;
  /** For Usage: a member's username or "sip:" + a SIP profile's name. */
  subject?: string | undefined;
  filter?: Readonly<Record<string, string>>;
  format: ReportFormat;
}

export interface ReportResult {
  report: ReportName;
  title: string;
  companyId: number;
  companyName: string;
  month: string;
  currency: string;
  timezone: string;
  feature: FeatureName | null;
  subject: { type: Subject["type"]; name: string; username: string | null } | null;
  filter: Record<string, string>;
  totals: Record<string, string | number>;
  columns: readonly ColumnSpec[];
  rows: AsyncIterable<ReportRow>;
}

const name200 = z.string().min(1).max(200);
const FILTER_SCHEMAS = {
  summary: z.strictObject({ group: name200.optional() }),
  purchases: z.strictObject({
    status: z.enum(["completed", "pending", "failed"]).optional(),
    payment_method: z.enum(["card", "bank_transfer", "invoice", "voucher"]).optional(),
  }),
  allocations: z.strictObject({
    group: name200.optional(),
    recipient: name200.optional(),
    action: z.enum(["allocate", "reclaim", "auto-allocate"]).optional(),
  }),
  usage: z.strictObject({
    kind: z.enum(["call", "sms"]).optional(),
    prefix: z
      .string()
      .regex(/^\d{1,15}$/, "must be 1 to 15 digits")
      .optional(),
  }),
} as const;

function parseFilter<R extends ReportName>(report: R, raw: Readonly<Record<string, string>>) {
  const allowed = FILTER_KEYS[report];
  for (const key of Object.keys(raw))
    if (!allowed.includes(key))
      throw invalid(
        `unknown filter "${key}" for the ${REPORT_TITLES[report]} report (allowed: ${allowed.join(", ")})`,
      );
  const parsed = FILTER_SCHEMAS[report].safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const key = String(issue?.path[0] ?? "filter");
    throw invalid(`filter ${key}: ${issue?.message ?? "is not valid"} (got "${raw[key] ?? ""}")`);
  }
  return parsed.data as z.infer<(typeof FILTER_SCHEMAS)[R]>;
}

export async function runReport(
  db: Db,
  company: CompanyContext,
  request: ReportRequest,
  viewer: Viewer,
  nowMs: number,
): Promise<ReportResult> {
  if (!REPORT_NAMES.includes(request.report))
    throw invalid(`unknown report "${String(request.report)}" (one of ${REPORT_NAMES.join(", ")})`);
  let month = monthOf(nowMs, company.timezone);
  if (request.month !== undefined) {
    const parsed = parseMonth(request.month);
    if (!parsed.ok) throw invalid(parsed.error, "month");
    month = parsed.value;
  }
  const rawFilter = request.filter ?? {};
  const base = {
    title: REPORT_TITLES[request.report],
    companyId: company.id,
    companyName: company.name,
    month,
    currency: company.currency,
    timezone: company.timezone,
    feature: null,
    subject: null,
    columns: REPORT_COLUMNS[request.report],
  };
  const money = (minor: number) => formatAmount(minor, company.currency);
  const when = (ms: number) => formatLocalIso(ms, company.timezone);
  const cur = company.currency;
  if (viewer.kind === "member" && request.report !== "usage")
    throw new AppError("forbidden", "members can open only their own usage");

  switch (request.report) {
    case "summary": {
      const filter = parseFilter("summary", rawFilter);
      const t = await q.summaryTotals(db, company, month);
      const closing = t.opening + t.purchased - t.allocated + t.reclaimed - t.features;
      const rows = mapBatches(q.summaryRowBatches(db, company, month, filter), (r) => ({
        recipient_type: r.kind === "member" ? "member" : "sip_profile",
        recipient: r.recipient,
        username: r.username,
        groups: r.groups,
        credit_allocated: money(Number(r.allocated)),
        credit_reclaimed: money(Number(r.reclaimed)),
        features_cost: money(Number(r.features)),
        usage_charged: money(Number(r.usage)),
        closing_balance: money(Number(r.closing)),
        currency: cur,
      }));
      return {
        ...base,
        report: "summary",
        filter: compact(filter),
        totals: {
          opening_company_balance: money(t.opening),
          purchased: money(t.purchased),
          allocated_credit: money(t.allocated),
          reclaimed_credit: money(t.reclaimed),
          features_cost: money(t.features),
          usage_charged: money(t.usage),
          closing_company_balance: money(closing),
        },
        rows: batchedRows(rows),
      };
    }
    case "purchases": {
      const filter = parseFilter("purchases", rawFilter);
      const t = await q.purchasesTotals(db, company, month, filter);
      const rows = mapRows(q.purchasesRows(db, company, month, filter), (r) => ({
        date: when(r.created_at_ms),
        reference: r.reference,
        payment_method: r.payment_method,
        status: r.status,
        amount: money(r.amount_minor),
        vat: money(r.vat_minor),
        total: money(r.total_minor),
        currency: cur,
        purchased_by: r.email,
      }));
      return {
        ...base,
        report: "purchases",
        filter: compact(filter),
        totals: {
          count: t.count,
          completed_amount: money(t.amount),
          completed_vat: money(t.vat),
          completed_total: money(t.total),
        },
        rows,
      };
    }
    case "allocations": {
      const feature = (request.feature ?? "credit") as FeatureName;
      if (!FEATURES.includes(feature))
        throw invalid(`unknown feature "${feature}" (one of ${FEATURES.join(", ")})`, "feature");
      const filter = parseFilter("allocations", rawFilter);
      let recipientAccountId: number | undefined;
      if (filter.recipient !== undefined) {
        const s = await findSubject(db, company.id, filter.recipient);
        if (!s) throw notFound(`filter recipient: ${describeMissing(filter.recipient)}`);
        recipientAccountId = s.accountId;
      }
      const f: q.AllocationFilter = {
        ...(filter.group !== undefined ? { group: filter.group } : {}),
        ...(filter.action !== undefined ? { action: filter.action } : {}),
        ...(recipientAccountId !== undefined ? { recipientAccountId } : {}),
      };
      const t = await q.allocationsTotals(db, company, month, feature, f);
      const rows = mapRows(q.allocationsRows(db, company, month, feature, f), (r) => ({
        date: when(r.at_ms),
        feature,
        action: r.kind === "subscription" || r.kind === "number" ? "allocate" : r.kind,
        recipient_type: r.recipient_type,
        recipient: r.recipient,
        username: r.username,
        groups: r.groups,
        detail: r.detail,
        amount: money(r.amount_minor),
        currency: cur,
        allocated_by: r.email,
      }));
      return {
        ...base,
        report: "allocations",
        feature,
        filter: compact(filter),
        totals: {
          count: t.count,
          allocated: money(t.allocated),
          reclaimed: money(t.reclaimed),
          auto_allocated: money(t.auto),
        },
        rows,
      };
    }
    case "usage": {
      if (request.subject === undefined || request.subject === "")
        throw invalid("a Usage report is for one member (username) or one SIP profile (sip:NAME)", "subject");
      const subject = await findSubject(db, company.id, request.subject);
      if (!subject) throw notFound(describeMissing(request.subject));
      const filter = parseFilter("usage", rawFilter);
      await guardUsage(db, company, subject, viewer, { month, format: request.format, nowMs });
      const t = await q.usageTotals(db, company, subject.accountId, month, filter);
      const batches = q.usageRowBatches(db, company, subject.accountId, month, filter);
      const rows = mapBatches(batches, (r) => ({
        started_at: when(r.started_at_ms),
        kind: r.kind,
        destination: r.destination,
        destination_name: r.status === "unrated" ? null : r.rate_name,
        duration_s: r.kind === "sms" ? null : r.duration_s,
        billed_s: r.kind === "sms" || r.status === "unrated" ? null : r.billed_s,
        rate_per_minute: r.kind === "sms" || r.status === "unrated" ? null : r.rate_per_minute,
        charge: r.status === "unrated" ? null : money(r.charge_minor),
        currency: cur,
        status: r.status,
        covered_by: r.covered_by,
        external_id: r.external_id,
      }));
      return {
        ...base,
        report: "usage",
        subject: { type: subject.type, name: subject.name, username: subject.username },
        filter: compact(filter),
        totals: { calls: t.calls, sms: t.sms, billed_seconds: t.billed, charged: money(t.charged) },
        rows: batchedRows(rows),
      };
    }
  }
}

function describeMissing(ref: string): string {
  return ref.startsWith(SIP_PREFIX)
    ? `no SIP profile named "${ref.slice(SIP_PREFIX.length)}"`
    : `no member with username "${ref}"`;
}

function compact(filter: Record<string, string | undefined>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(filter)) if (v !== undefined) out[k] = v;
  return out;
}

async function* mapRows<T>(source: AsyncIterable<T>, fn: (row: T) => ReportRow): AsyncIterable<ReportRow> {
  for await (const row of source) yield fn(row);
}

/** The privacy rules of PRODUCT.md §6, checked at the moment the report is asked for, and audited. */
async function guardUsage(
  db: Db,
  company: CompanyContext,
  subject: Subject,
  viewer: Viewer,
  ctx: { month: string; format: ReportFormat; nowMs: number },
): Promise<void> {
  const subjectRef = subject.username ?? `${SIP_PREFIX}${subject.name}`;
  if (viewer.kind === "member") {
    // A member always sees their own usage, and nobody else's.
    const own = subject.type === "member" && subject.id === viewer.memberId;
    if (!own) throw new AppError("forbidden", "members can open only their own usage");
    await audited(db, company, "member:" + subjectRef, subjectRef, ctx, "usage_report.opened");
    return;
  }
  if (viewer.kind === "operator")
    throw new AppError(
      "forbidden",
      "a Usage report must be asked for by an owner, admin or viewer of the company (--as EMAIL)",
    );
  const admin = viewer.admin;
  if (admin.privacy_acknowledged_at_ms === null)
    throw new AppError(
      "privacy_ack_required",
      "before opening Usage reports, read the data-privacy notice and choose " +
        '"I want to access my members reports", then "I want to access the reports": by accessing and ' +
        "monitoring personal and traffic data of members you may be required to comply with local data privacy laws",
    );
  if (subject.type === "member" && subject.accountType === "personal") {
    const member = await db.k
      .selectFrom("members")
      .select("reports_consent")
      .where("id", "=", subject.id)
      .executeTakeFirstOrThrow();
    if (member.reports_consent !== 1) {
      const balance = formatAmount(await accountBalance(db, subject.accountId), company.currency);
      await audited(db, company, admin.email, subjectRef, ctx, "usage_report.refused");
      throw new AppError(
        "consent_required",
        `${subject.name} has a personal account and has not given consent to share usage reports with the ` +
          `company; only the current balance can be shown: ${balance} ${company.currency}`,
        { details: { balance, currency: company.currency } },
      );
    }
  }
  await audited(db, company, admin.email, subjectRef, ctx, "usage_report.opened");
}

async function audited(
  db: Db,
  company: CompanyContext,
  actor: string,
  subjectRef: string,
  ctx: { month: string; format: ReportFormat; nowMs: number },
  action: string,
): Promise<void> {
  await inTransaction(db, (tx) =>
    writeAudit(tx, company.id, {
      atMs: ctx.nowMs,
      actor,
      action,
      subject: subjectRef,
      details: { month: ctx.month, format: ctx.format },
    }),
  );
}
