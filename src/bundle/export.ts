/**
 * @module Exporting a company as a bundle (PRODUCT.md §8): the inverse of import.ts, so that
 * `import(export(x))` reproduces every report. Pure mapping functions (database rows → bundle items) come
 * first; `exportBundle` reads one consistent snapshot and writes the JSON incrementally — usage records are
 * streamed in `at` order and merged with the other events, so millions of them never sit in memory.
 * What the bundle cannot express, and what we do instead: docs/decisions/0009-export-round-trip.md.
 */
import { sql } from "kysely";
import type { Db } from "../db/database";
import type { PaymentMethod, PurchaseStatus } from "../db/schema";
import { formatDecimal } from "../money/decimal";
import { formatAmount } from "../money/money";
import { parseRate, RateTable } from "../rating/rate-table";
import type { Rate } from "../rating/rate-table";
import { loadCompany } from "../services/company-context";
import { purgedUsageMonths } from "../services/retention.service";
import type { AppError } from "../shared/errors";
import { invalid } from "../shared/errors";
import { addMonths, monthOf, monthStartMs } from "../time/month";
import { BUNDLE_FORMAT, BundleEventSchema, BundleSchema, describeZodError } from "./bundle.schema";
import type {
  BundleAdmin,
  BundleCompany,
  BundleEvent,
  BundleGroup,
  BundleMember,
  BundlePlan,
  BundleRate,
  BundleSipProfile,
} from "./bundle.schema";

// ---------------------------------------------------------------------------------------------------------
// Pure mapping: rows → bundle items
// ---------------------------------------------------------------------------------------------------------

/** An instant as the bundle writes it: UTC ISO 8601, milliseconds only when there are some. */
export function isoInstant(ms: number): string {
  return new Date(ms).toISOString().replace(".000Z", "Z");
}

const KEY_PATTERN = /^[A-Za-z0-9_.-]{1,64}$/;

/**
 * Bundle keys of members: the username when it is a valid key (usernames are unique per company), else
 * `_m` + position. A username starts with a letter or digit, so a `_m…` key can never collide with one.
 */
export function memberKeys(members: readonly { id: number; username: string }[]): Map<number, string> {
  const out = new Map<number, string>();
  for (const [i, m] of members.entries())
    out.set(m.id, KEY_PATTERN.test(m.username) ? m.username : `_m${i + 1}`);
  return out;
}

/** Keys by position (`g1`, `g2`, …): ids differ between databases, positions survive a round trip. */
export function positionalKeys(rows: readonly { id: number }[], prefix: string): Map<number, string> {
  return new Map(rows.map((r, i) => [r.id, `${prefix}${i + 1}`]));
}

/** How events at the same instant are ordered: money in before money out, usage last. */
export const EVENT_RANK = { purchase: 0, settle: 1, rule: 2, transfer: 3, consent: 4, usage: 5 } as const;

/** An event with its sort key: `at`, then rank, then the row's id within its table. */
export interface ExportItem {
  atMs: number;
  rank: number;
  seq: number;
  event: BundleEvent;
}

export function compareItems(a: ExportItem, b: ExportItem): number {
  return a.atMs - b.atMs || a.rank - b.rank || a.seq - b.seq;
}

export interface PurchaseRow {
  id: number;
  reference: string;
  payment_method: PaymentMethod;
  status: PurchaseStatus;
  amount_minor: number;
  vat_rate: string;
  created_at_ms: number;
  settled_at_ms: number | null;
}

/**
 * A purchase as it was made, and — when it was settled later — its settlement at its own time. One
 * settled in the same millisecond it was made is written with its final status: the effect is the same.
 */
export function purchaseItems(p: PurchaseRow, by: string, currency: string): ExportItem[] {
  const settledLater =
    p.status !== "pending" && p.settled_at_ms !== null && p.settled_at_ms !== p.created_at_ms;
  const made: ExportItem = {
    atMs: p.created_at_ms,
    rank: EVENT_RANK.purchase,
    seq: p.id,
    event: {
      at: isoInstant(p.created_at_ms),
      type: "purchase",
      by,
      reference: p.reference,
      amount: formatAmount(p.amount_minor, currency),
      vat_rate: p.vat_rate,
      payment_method: p.payment_method,
      status: settledLater ? "pending" : p.status,
    },
  };
  if (!settledLater || p.settled_at_ms === null || p.status === "pending") return [made];
  return [
    made,
    {
      atMs: p.settled_at_ms,
      rank: EVENT_RANK.settle,
      seq: p.id,
      event: {
        at: isoInstant(p.settled_at_ms),
        type: "settle_purchase",
        reference: p.reference,
        status: p.status,
      },
    },
  ];
}

/** A transfer an admin made (auto-allocations and purchases are not events: import re-derives them). */
export interface TransferRow {
  id: number;
  at_ms: number;
  kind: "allocate" | "reclaim" | "subscription" | "number";
  amount_minor: number;
  recipient_account_id: number;
  plan_id: number | null;
  number: string | null;
  months: number | null;
  price_minor: number | null;
}

export function transferItem(
  t: TransferRow,
  l: { by: string; subject: string; planKey: (planId: number) => string; currency: string },
): ExportItem {
  const at = isoInstant(t.at_ms);
  const base = { atMs: t.at_ms, rank: EVENT_RANK.transfer, seq: t.id };
  switch (t.kind) {
    case "allocate":
      return {
        ...base,
        event: {
          at,
          type: "allocate_credit",
          by: l.by,
          to: l.subject,
          amount: formatAmount(t.amount_minor, l.currency),
        },
      };
    case "reclaim":
      return {
        ...base,
        event: {
          at,
          type: "reclaim_credit",
          by: l.by,
          from: l.subject,
          amount: formatAmount(t.amount_minor, l.currency),
        },
      };
    case "subscription":
      if (t.plan_id === null)
        throw new Error(`Assertion failed: subscription transfer ${t.id} has no subscription`);
      return {
        ...base,
        event: { at, type: "allocate_subscription", by: l.by, to: l.subject, plan: l.planKey(t.plan_id) },
      };
    case "number":
      if (t.number === null || t.months === null)
        throw new Error(`Assertion failed: number transfer ${t.id} has no number`);
      return {
        ...base,
        event: {
          at,
          type: "allocate_number",
          by: l.by,
          to: l.subject,
          number: t.number,
          months: t.months,
          price: formatAmount(t.price_minor ?? t.amount_minor, l.currency),
        },
      };
  }
}

export function consentItem(
  c: { id: number; at_ms: number; granted: number },
  memberKey: string,
): ExportItem {
  return {
    atMs: c.at_ms,
    rank: EVENT_RANK.consent,
    seq: c.id,
    event: { at: isoInstant(c.at_ms), type: "consent", member: memberKey, granted: c.granted === 1 },
  };
}

export interface UsageRow {
  id: number;
  account_id: number;
  external_id: string;
  kind: "call" | "sms";
  started_at_ms: number;
  destination: string;
  duration_s: number | null;
  segments: number | null;
}

export function usageItem(u: UsageRow, subject: string): ExportItem {
  const at = isoInstant(u.started_at_ms);
  const base = { atMs: u.started_at_ms, rank: EVENT_RANK.usage, seq: u.id };
  if (u.kind === "call")
    return {
      ...base,
      event: {
        at,
        type: "usage",
        subject,
        kind: "call",
        destination: u.destination,
        duration_s: u.duration_s ?? 0,
        external_id: u.external_id,
      },
    };
  return {
    ...base,
    event: {
      at,
      type: "usage",
      subject,
      kind: "sms",
      destination: u.destination,
      segments: u.segments ?? 1,
      external_id: u.external_id,
    },
  };
}

/** The figures of an auto-allocation rule, as decimal strings of the company's currency. */
export interface RuleFigures {
  threshold: string;
  amount: string;
  monthly_cap: string;
}

export interface RuleAuditRow {
  id: number;
  at_ms: number;
  actor: string;
  action: string;
  subject: string | null;
  details: string | null;
}

/** The figures an `auto_rule.set` audit entry recorded, or null when they cannot be read. */
export function ruleFiguresOf(details: string | null): RuleFigures | null {
  if (details === null) return null;
  let parsed: unknown;
  try {
    parsed = JSON.parse(details);
  } catch {
    return null;
  }
  if (typeof parsed !== "object" || parsed === null) return null;
  const d = parsed as Record<string, unknown>;
  const { threshold, amount, monthly_cap } = d;
  if (typeof threshold !== "string" || typeof amount !== "string" || typeof monthly_cap !== "string")
    return null;
  return { threshold, amount, monthly_cap };
}

/**
 * The history of one subject's auto-allocation rule, from the audit log (`auto_rule.set` and
 * `auto_rule.deleted` entries, in order) and the rule as it is now. A bundle cannot delete a rule: a
 * deleted one is written as the same rule with `monthly_cap` 0, which never fires (every allocation would
 * exceed the cap). When the audit log does not end in the current rule (or has no entry for it), the
 * current rule is written at its own time, so the imported company always ends with the rule it has.
 */
export function ruleItems(
  subject: string,
  audit: readonly RuleAuditRow[],
  current: (RuleFigures & { updated_at_ms: number; by: string }) | null,
  resolveBy: (actor: string) => string,
  zero: string,
): { items: ExportItem[]; deleted: number } {
  const items: ExportItem[] = [];
  let last = null as RuleFigures | null;
  let lastAt = -Infinity;
  let deleted = 0;
  for (const a of audit) {
    let figures: RuleFigures | null;
    if (a.action === "auto_rule.set") figures = ruleFiguresOf(a.details);
    else if (a.action === "auto_rule.deleted" && last !== null) {
      figures = { ...last, monthly_cap: zero };
      deleted++;
    } else figures = null;
    if (figures === null) continue;
    items.push({
      atMs: a.at_ms,
      rank: EVENT_RANK.rule,
      seq: a.id,
      event: {
        at: isoInstant(a.at_ms),
        type: "auto_allocate_rule",
        by: resolveBy(a.actor),
        to: subject,
        ...figures,
      },
    });
    last = figures;
    lastAt = a.at_ms;
  }
  if (
    current !== null &&
    (last === null ||
      last.threshold !== current.threshold ||
      last.amount !== current.amount ||
      last.monthly_cap !== current.monthly_cap)
  ) {
    const atMs = Math.max(current.updated_at_ms, lastAt);
    items.push({
      atMs,
      rank: EVENT_RANK.rule,
      // After every audit entry of the same instant (audit ids are far below this).
      seq: Number.MAX_SAFE_INTEGER,
      event: {
        at: isoInstant(atMs),
        type: "auto_allocate_rule",
        by: current.by,
        to: subject,
        threshold: current.threshold,
        amount: current.amount,
        monthly_cap: current.monthly_cap,
      },
    });
  }
  return { items, deleted };
}

/**
 * Merges events already sorted in memory with a sorted stream of usage events: the usage stream is read
 * one row at a time, so its size does not matter.
 */
export async function* mergeSorted(
  sorted: readonly ExportItem[],
  stream: AsyncIterable<ExportItem>,
): AsyncGenerator<ExportItem> {
  let i = 0;
  for await (const item of stream) {
    while (i < sorted.length && compareItems(sorted[i] as ExportItem, item) <= 0)
      yield sorted[i++] as ExportItem;
    yield item;
  }
  while (i < sorted.length) yield sorted[i++] as ExportItem;
}

/** `  "name": [ … ]` with one item per line, so that a bundle diffs line by line. */
export function jsonListText(name: string, items: readonly unknown[]): string {
  if (items.length === 0) return `  ${JSON.stringify(name)}: []`;
  return `  ${JSON.stringify(name)}: [\n${items.map((i) => `    ${JSON.stringify(i)}`).join(",\n")}\n  ]`;
}

/** Whether a usage record's stored rating agrees with the rate the current table would pick for it. */
export function ratedAsNow(
  u: {
    status: string;
    rate_prefix: string | null;
    rate_name: string | null;
    rate_per_minute: string | null;
    rate_connection_fee: string | null;
    rate_interval: string | null;
  },
  now: Rate | undefined,
): boolean {
  if (now === undefined) return u.status === "unrated";
  return (
    u.status !== "unrated" &&
    u.rate_prefix === now.prefix &&
    u.rate_name === now.name &&
    u.rate_per_minute === now.perMinuteText &&
    u.rate_connection_fee === formatDecimal(now.connectionFee) &&
    u.rate_interval === now.intervalText
  );
}

const E164 = /^\+\d{8,15}$/;
const MASKED = /^\+(\d*)X+$/;

/**
 * A destination an erasure masked (`+44XXXX`: the rate prefix that priced the call, then X) is not a phone
 * number, and import would refuse it. It is written as the prefix filled up with one repeated digit to the
 * shortest valid length — the first fill the current rate table matches to the same rate (none, for an
 * unrated record) — so that the record rates as it did. Null when no fill does; other destinations as they are.
 */
export function unmaskedDestination(
  destination: string,
  ratePrefix: string | null,
  match: (digits: string) => Rate | undefined,
): string | null {
  if (E164.test(destination)) return destination;
  const masked = MASKED.exec(destination);
  if (!masked) return null;
  const prefix = masked[1] ?? "";
  for (const fill of "0123456789") {
    const digits = prefix + fill.repeat(Math.max(8 - prefix.length, 1));
    if (digits.length > 15) return null;
    if ((match(digits)?.prefix ?? null) === ratePrefix) return `+${digits}`;
  }
  return null;
}

// ---------------------------------------------------------------------------------------------------------
// Reading the database and writing the document
// ---------------------------------------------------------------------------------------------------------

/** Usage rows fetched per round trip while streaming. */
export const EXPORT_STREAM_ROWS_CHUNK = 2_000;

export interface ExportResult {
  company_id: number;
  members: number;
  events: number;
  usage: number;
  /** What the bundle could not carry exactly, one sentence each (the CLI prints them on stderr). */
  notices: string[];
}

/**
 * Runs `fn` on one consistent snapshot: PostgreSQL `repeatable read, read only`; SQLite a deferred read
 * transaction (in WAL mode writers carry on; the export sees the database as it was when it began).
 */
async function inSnapshot<T>(db: Db, fn: (snap: Db) => Promise<T>): Promise<T> {
  if (db.inTransaction) return fn(db);
  return db.k.connection().execute(async (conn) => {
    await sql
      .raw(
        db.dialect === "postgres" ? "begin transaction isolation level repeatable read, read only" : "begin",
      )
      .execute(conn);
    try {
      const result = await fn({ ...db, k: conn, inTransaction: true });
      await sql.raw("commit").execute(conn);
      return result;
    } catch (error) {
      await sql
        .raw("rollback")
        .execute(conn)
        .catch(() => undefined);
      throw error;
    }
  });
}

/** Writes company `companyId` as a `switchboard-bundle/1` document through `write`, chunk by chunk. */
export interface ExportOptions {
  /**
   * Export even when retention has purged some months' usage detail. The bundle cannot carry charges
   * without their records: the import would miss them (higher balances, those months' usage absent).
   */
  allowIncomplete?: boolean;
}

export async function exportBundle(
  db: Db,
  companyId: number,
  write: (chunk: string) => Promise<void> | void,
  opts: ExportOptions = {},
): Promise<ExportResult> {
  return inSnapshot(db, (snap) => writeBundle(snap, companyId, write, opts));
}

function refuse(message: string): AppError {
  return invalid(`this company cannot be exported as a bundle: ${message}`);
}

async function writeBundle(
  db: Db,
  companyId: number,
  write: (chunk: string) => Promise<void> | void,
  opts: ExportOptions,
): Promise<ExportResult> {
  const company = await loadCompany(db, companyId);
  const cur = company.currency;
  const money = (minor: number): string => formatAmount(minor, cur);
  const notices: string[] = [];
  const k = db.k;

  const purged = await purgedUsageMonths(db, company.id);
  if (purged.length > 0) {
    const months = `${purged[0] ?? ""}${purged.length > 1 ? ` to ${purged[purged.length - 1] ?? ""}` : ""}`;
    const what =
      `the usage detail of ${purged.length} months (${months}) was removed by retention, and a bundle ` +
      "cannot carry charges without their records: an import would not reproduce those months or the balances";
    if (!opts.allowIncomplete)
      throw refuse(`${what}. Back up the database instead, or export anyway with --allow-incomplete`);
    notices.push(what);
  }

  // People and catalogue, in creation order (import creates them in bundle order, so positions survive).
  const adminRows = await k
    .selectFrom("admins")
    .selectAll()
    .where("company_id", "=", company.id)
    .orderBy("id")
    .execute();
  const groupRows = await k
    .selectFrom("groups")
    .select(["id", "name"])
    .where("company_id", "=", company.id)
    .orderBy("id")
    .execute();
  const memberRows = await k
    .selectFrom("members")
    .selectAll()
    .where("company_id", "=", company.id)
    .orderBy("id")
    .execute();
  const memberGroupRows = await k
    .selectFrom("member_groups")
    .select(["member_id", "group_id"])
    .where("company_id", "=", company.id)
    .orderBy("member_id")
    .orderBy("group_id")
    .execute();
  const sipRows = await k
    .selectFrom("sip_profiles")
    .selectAll()
    .where("company_id", "=", company.id)
    .orderBy("id")
    .execute();
  const rateRows = await k.selectFrom("rates").selectAll().where("company_id", "=", company.id).execute();
  const planRows = await k
    .selectFrom("plans")
    .selectAll()
    .where("company_id", "=", company.id)
    .orderBy("id")
    .execute();

  const groupKeys = positionalKeys(groupRows, "g");
  const mKeys = memberKeys(memberRows);
  const sipKeys = positionalKeys(sipRows, "p");
  const planKeys = positionalKeys(planRows, "plan");
  const subjectByAccount = new Map<number, string>();
  for (const m of memberRows) subjectByAccount.set(m.account_id, mKeys.get(m.id) as string);
  for (const s of sipRows) subjectByAccount.set(s.account_id, `sip:${sipKeys.get(s.id) as string}`);
  const subjectOf = (accountId: number): string => {
    const key = subjectByAccount.get(accountId);
    if (key === undefined)
      throw new Error(`Assertion failed: account ${accountId} is no member or SIP profile`);
    return key;
  };
  const planKey = (planId: number): string => {
    const key = planKeys.get(planId);
    if (key === undefined) throw new Error(`Assertion failed: plan ${planId} is not the company's`);
    return key;
  };

  // Who may be named as `by`: an owner or admin. The history's actors are resolved to one of them.
  const adminById = new Map(adminRows.map((a) => [a.id, a]));
  const fallback =
    adminRows.find((a) => a.role === "owner" && a.removed_at_ms === null) ??
    adminRows.find((a) => a.role === "owner");
  if (!fallback) throw refuse("it has no owner");
  const namedInHistory = new Set<number>();
  let unnamedActors = 0;
  const byOf = (adminId: number | null): string => {
    const a = adminId === null ? undefined : adminById.get(adminId);
    if (!a) {
      unnamedActors++;
      namedInHistory.add(fallback.id);
      return fallback.email;
    }
    namedInHistory.add(a.id);
    return a.email;
  };
  const adminIdByEmail = new Map(adminRows.map((a) => [a.email, a.id]));
  const byLabel = (actor: string, otherwise: number | null): string => {
    const id = adminIdByEmail.get(actor.toLowerCase());
    return byOf(id ?? otherwise);
  };

  const items: ExportItem[] = [];

  const purchaseRows = await k
    .selectFrom("purchases")
    .select([
      "id",
      "reference",
      "payment_method",
      "status",
      "amount_minor",
      "vat_rate",
      "created_at_ms",
      "settled_at_ms",
      "purchased_by_admin_id",
    ])
    .where("company_id", "=", company.id)
    .execute();
  for (const p of purchaseRows) items.push(...purchaseItems(p, byOf(p.purchased_by_admin_id), cur));

  const transferRows = await k
    .selectFrom("transfers as t")
    .leftJoin("subscriptions as s", "s.transfer_id", "t.id")
    .leftJoin("numbers as n", "n.transfer_id", "t.id")
    .select([
      "t.id",
      "t.at_ms",
      "t.kind",
      "t.amount_minor",
      "t.recipient_account_id",
      "t.actor_admin_id",
      "s.plan_id",
      "s.active_from_ms",
      "n.number",
      "n.months",
      "n.price_minor",
    ])
    .where("t.company_id", "=", company.id)
    .where("t.kind", "in", ["allocate", "reclaim", "subscription", "number"])
    .execute();
  const planPrice = new Map(planRows.map((p) => [p.id, p.price_minor]));
  let repriced = 0;
  let lateTerms = 0;
  for (const t of transferRows) {
    if (t.recipient_account_id === null)
      throw new Error(`Assertion failed: transfer ${t.id} has no recipient`);
    if (t.kind !== "allocate" && t.kind !== "reclaim" && t.kind !== "subscription" && t.kind !== "number")
      continue;
    if (t.kind === "subscription" && t.plan_id !== null && planPrice.get(t.plan_id) !== t.amount_minor)
      repriced++;
    // A renewal starts the new term where the old one ended; replayed, it starts when the renewal ran.
    if (t.kind === "subscription" && t.active_from_ms !== null && t.active_from_ms !== t.at_ms) lateTerms++;
    items.push(
      transferItem(
        { ...t, kind: t.kind, recipient_account_id: t.recipient_account_id },
        { by: byOf(t.actor_admin_id), subject: subjectOf(t.recipient_account_id), planKey, currency: cur },
      ),
    );
  }

  const consentRows = await k
    .selectFrom("consent_events")
    .select(["id", "member_id", "granted", "at_ms"])
    .where("company_id", "=", company.id)
    .execute();
  for (const c of consentRows) items.push(consentItem(c, mKeys.get(c.member_id) as string));

  const ruleRows = await k
    .selectFrom("auto_rules")
    .selectAll()
    .where("company_id", "=", company.id)
    .execute();
  const ruleAudit = await k
    .selectFrom("audit_log")
    .select(["id", "at_ms", "actor", "action", "subject", "details"])
    .where("company_id", "=", company.id)
    .where("action", "in", ["auto_rule.set", "auto_rule.deleted"])
    .orderBy("at_ms")
    .orderBy("id")
    .execute();
  // The audit log names a subject as the HTTP API does: a username, or "sip:" + the profile's name.
  const accountByRef = new Map<string, number>();
  for (const m of memberRows) accountByRef.set(m.username, m.account_id);
  for (const s of sipRows) accountByRef.set(`sip:${s.name}`, s.account_id);
  const auditByAccount = new Map<number, RuleAuditRow[]>();
  for (const a of ruleAudit) {
    const accountId = a.subject === null ? undefined : accountByRef.get(a.subject);
    if (accountId === undefined) continue;
    const list = auditByAccount.get(accountId) ?? [];
    list.push(a);
    auditByAccount.set(accountId, list);
  }
  const currentRules = new Map(ruleRows.map((r) => [r.account_id, r]));
  let deletedRules = 0;
  for (const accountId of new Set([...auditByAccount.keys(), ...currentRules.keys()])) {
    const r = currentRules.get(accountId);
    const setter = r?.set_by_admin_id ?? null;
    const { items: ruleEvents, deleted } = ruleItems(
      subjectOf(accountId),
      auditByAccount.get(accountId) ?? [],
      r
        ? {
            threshold: money(r.threshold_minor),
            amount: money(r.amount_minor),
            monthly_cap: money(r.monthly_cap_minor),
            updated_at_ms: r.updated_at_ms,
            by: byOf(setter),
          }
        : null,
      (actor) => byLabel(actor, setter),
      money(0),
    );
    items.push(...ruleEvents);
    deletedRules += deleted;
  }
  items.sort(compareItems);

  // The header: everything before `events`, validated whole before the first byte is written.
  const bundleCompany: BundleCompany = { name: company.name, currency: cur, timezone: company.timezone };
  let promoted = 0;
  let removed = 0;
  const admins: BundleAdmin[] = adminRows
    .filter((a) => a.removed_at_ms === null || namedInHistory.has(a.id))
    .map((a) => {
      // A viewer or removed admin named as `by` in the history must be able to replay it.
      let role = a.role;
      if (namedInHistory.has(a.id) && role === "viewer") {
        role = "admin";
        promoted++;
      }
      if (a.removed_at_ms !== null) removed++;
      return {
        email: a.email,
        name: a.name,
        role,
        ...(a.privacy_acknowledged_at_ms === null
          ? {}
          : { privacy_acknowledged_at: isoInstant(a.privacy_acknowledged_at_ms) }),
      };
    });
  const groupsByMember = new Map<number, string[]>();
  for (const mg of memberGroupRows) {
    const list = groupsByMember.get(mg.member_id) ?? [];
    list.push(groupKeys.get(mg.group_id) as string);
    groupsByMember.set(mg.member_id, list);
  }
  let inventedEmails = 0;
  const members: BundleMember[] = memberRows.map((m) => {
    const key = mKeys.get(m.id) as string;
    let email = m.email;
    if (email === null || email === "") {
      email = `${key}@members.invalid`;
      inventedEmails++;
    }
    // Consent is carried by the consent events (their history), so every member starts without it.
    return {
      key,
      name: m.name,
      username: m.username,
      email,
      account_type: m.account_type,
      groups: groupsByMember.get(m.id) ?? [],
      reports_consent: false,
    };
  });
  const groups: BundleGroup[] = groupRows.map((g) => ({ key: groupKeys.get(g.id) as string, name: g.name }));
  const sipProfiles: BundleSipProfile[] = sipRows.map((s) => ({
    key: sipKeys.get(s.id) as string,
    name: s.name,
    channels: s.channels,
  }));
  const rates: BundleRate[] = [...rateRows]
    .sort((a, b) => (a.prefix < b.prefix ? -1 : a.prefix > b.prefix ? 1 : 0))
    .map((r) => ({
      prefix: r.prefix,
      name: r.name,
      per_minute: r.per_minute,
      connection_fee: r.connection_fee,
      interval: r.interval,
      sms: r.sms,
    }));
  const plans: BundlePlan[] = planRows.map((p) => ({
    key: planKeys.get(p.id) as string,
    name: p.name,
    price: money(p.price_minor),
    prefixes: p.prefixes.split(","),
    minutes: p.minutes,
  }));
  const header = {
    format: BUNDLE_FORMAT,
    company: bundleCompany,
    admins,
    groups,
    members,
    sip_profiles: sipProfiles,
    rates,
    plans,
  };
  const checked = BundleSchema.safeParse({ ...header, events: [] });
  if (!checked.success) {
    const { path, message } = describeZodError(checked.error);
    throw refuse(`${path}: ${message}`);
  }
  const rateTable = new RateTable(
    rates.map((r) => {
      const parsed = parseRate({
        prefix: r.prefix,
        name: r.name,
        perMinute: r.per_minute,
        connectionFee: r.connection_fee,
        interval: r.interval,
        sms: r.sms ?? "0",
      });
      if (!parsed.ok) throw refuse(`rate ${r.prefix}: ${parsed.error}`);
      return parsed.value;
    }),
  );

  await write(
    `{\n  "format": ${JSON.stringify(BUNDLE_FORMAT)},\n  "company": ${JSON.stringify(bundleCompany)},\n` +
      [
        jsonListText("admins", admins),
        jsonListText("groups", groups),
        jsonListText("members", members),
        jsonListText("sip_profiles", sipProfiles),
        jsonListText("rates", rates),
        jsonListText("plans", plans),
      ].join(",\n") +
      `,\n  "events": [`,
  );

  let rerated = 0;
  let masked = 0;
  let usage = 0;
  // Usage month by month (company-local months, in which `started_at` order is also global order): each
  // query sorts one month only. PostgreSQL prunes to that month's partition; SQLite walks the
  // (account_id, started_at_ms) index of the company's accounts for the month's time range.
  const accountsOfCompany = k.selectFrom("accounts").select("id").where("company_id", "=", company.id);
  const span = await k
    .selectFrom("usage_records")
    .select((eb) => [eb.fn.min("started_at_ms").as("first"), eb.fn.max("started_at_ms").as("last")])
    .where("account_id", "in", accountsOfCompany)
    .executeTakeFirst();
  const usageMonths: string[] = [];
  if (span && span.first !== null && span.last !== null) {
    const lastMonth = monthOf(Number(span.last), company.timezone);
    for (let m = monthOf(Number(span.first), company.timezone); m <= lastMonth; m = addMonths(m, 1))
      usageMonths.push(m);
  }
  const usageRows = async function* () {
    for (const month of usageMonths) {
      let q = k
        .selectFrom("usage_records")
        .select([
          "id",
          "account_id",
          "external_id",
          "kind",
          "started_at_ms",
          "destination",
          "duration_s",
          "segments",
          "status",
          "rate_prefix",
          "rate_name",
          "rate_per_minute",
          "rate_connection_fee",
          "rate_interval",
        ])
        .orderBy("started_at_ms")
        .orderBy("id");
      q =
        db.dialect === "postgres"
          ? q.where("company_id", "=", company.id).where("month", "=", month)
          : q
              .where("account_id", "in", accountsOfCompany)
              .where("started_at_ms", ">=", monthStartMs(month, company.timezone))
              .where("started_at_ms", "<", monthStartMs(addMonths(month, 1), company.timezone));
      yield* q.stream(EXPORT_STREAM_ROWS_CHUNK);
    }
  };
  const usageStream = async function* (): AsyncGenerator<ExportItem> {
    const rows = usageRows();
    for await (const u of rows) {
      usage++;
      let destination = u.destination;
      if (!E164.test(destination)) {
        const unmasked = unmaskedDestination(destination, u.rate_prefix, (d) => rateTable.match(d));
        if (unmasked === null)
          throw refuse(
            `usage record ${u.external_id} has the destination "${destination}", which cannot be rated again`,
          );
        destination = unmasked;
        masked++;
      } else if (!ratedAsNow(u, rateTable.match(destination.slice(1)))) rerated++;
      yield usageItem({ ...u, destination }, subjectOf(u.account_id));
    }
  };

  let events = 0;
  for await (const item of mergeSorted(items, usageStream())) {
    const parsed = BundleEventSchema.safeParse(item.event);
    if (!parsed.success) {
      const { path, message } = describeZodError(parsed.error);
      throw refuse(`events[${events}]${path === "" ? "" : `.${path}`}: ${message}`);
    }
    await write(`${events === 0 ? "\n" : ",\n"}    ${JSON.stringify(item.event)}`);
    events++;
  }
  await write(events === 0 ? "]\n}\n" : "\n  ]\n}\n");

  if (unnamedActors > 0)
    notices.push(
      `${unnamedActors} purchases, allocations or rules were made by no admin (an API key, a removed row); ` +
        `the bundle names the owner ${fallback.email} as their \`by\``,
    );
  if (promoted > 0)
    notices.push(
      `${promoted} viewers who made changes earlier are exported as admins (a bundle's \`by\` must be an owner or ` +
        `admin); change their role back after import`,
    );
  if (removed > 0)
    notices.push(
      `${removed} removed admins are named in the history and exported as admins (the bundle cannot mark them ` +
        `removed); remove them again after import`,
    );
  if (inventedEmails > 0)
    notices.push(
      `${inventedEmails} members have no email; they are exported with an address at members.invalid`,
    );
  if (deletedRules > 0)
    notices.push(
      `${deletedRules} auto-allocation rules were deleted; the bundle cannot delete a rule, so they are exported ` +
        `with monthly_cap 0 (never fires); delete them after import`,
    );
  // Live usage is auto-allocated when it is processed; replayed, at the call's start (ADR 0004).
  const lateAuto = await k
    .selectFrom("transfers as t")
    .select((eb) => eb.fn.countAll<number>().as("n"))
    .where("t.company_id", "=", company.id)
    .where("t.kind", "=", "auto-allocate")
    .where((eb) =>
      eb.not(
        eb.exists(
          eb
            .selectFrom("usage_records as u")
            .select("u.id")
            .whereRef("u.account_id", "=", "t.recipient_account_id")
            .whereRef("u.started_at_ms", "=", "t.at_ms"),
        ),
      ),
    )
    .executeTakeFirstOrThrow();
  if (Number(lateAuto.n) > 0)
    notices.push(
      `${Number(lateAuto.n)} auto-allocations were made when usage was ingested after the call started; import ` +
        `makes them at the call's start (their date in the Allocations report moves, and a monthly cap may count ` +
        `them in another month)`,
    );
  const renewing = await k
    .selectFrom("subscriptions")
    .select((eb) => eb.fn.countAll<number>().as("n"))
    .where("company_id", "=", company.id)
    .where("renew", "=", 1)
    .where("renewal_state", "=", "active")
    .executeTakeFirstOrThrow();
  const renewingNumbers = await k
    .selectFrom("numbers")
    .select((eb) => eb.fn.countAll<number>().as("n"))
    .where("company_id", "=", company.id)
    .where("renew", "=", 1)
    .where("renewal_state", "=", "active")
    .executeTakeFirstOrThrow();
  const renewals = Number(renewing.n) + Number(renewingNumbers.n);
  if (renewals > 0)
    notices.push(
      `${renewals} subscriptions and numbers renew at the end of their term; a bundle cannot say so, so after ` +
        `import none renews until renewal is turned on again`,
    );
  if (lateTerms > 0)
    notices.push(
      `${lateTerms} subscription terms started before they were paid for (a renewal that ran late); import ` +
        `starts them when they were paid for`,
    );
  if (repriced > 0)
    notices.push(
      `${repriced} subscriptions were allocated at a price their plan no longer has; import charges the plan's price`,
    );
  if (masked > 0)
    notices.push(
      `${masked} usage records of erased members have masked destinations; they are exported as the rate ` +
        `prefix filled with one digit (+44XXXX → +44000000), which rates the same but reads differently`,
    );
  if (rerated > 0)
    notices.push(
      `${rerated} usage records were rated with a rate the rate table no longer has (or were unrated); ` +
        `import rates them with the current rates`,
    );
  return { company_id: company.id, members: members.length, events, usage, notices };
}
