/**
 * @module Importing a bundle (PRODUCT.md §8): one transaction that replays a company's whole history
 * through the same services as the live system — all of it, or on the first invalid item nothing, with
 * an error that names the item's path (`events[12].amount: more decimals than EUR allows`).
 */
import { hashPassword } from "../auth/password";
import { inTransaction } from "../db/database";
import type { Db } from "../db/database";
import type { AdminRole } from "../db/schema";
import { parseAmount } from "../money/money";
import { normalizeDestination } from "../phone/e164";
import { parseRate, RateTable } from "../rating/rate-table";
import {
  allocateCredit,
  allocateNumber,
  allocateSubscription,
  reclaimCredit,
  setAutoRule,
} from "../services/allocation.service";
import { createPlan, putRate } from "../services/catalog.service";
import { createCompany } from "../services/company.service";
import type { CompanyContext } from "../services/company-context";
import {
  addMemberToGroup,
  createAdmin,
  createGroup,
  createMember,
  createSipProfile,
  setConsent,
  SIP_PREFIX,
} from "../services/people.service";
import type { Subject } from "../services/people.service";
import { recordPurchase, settlePurchase } from "../services/purchase.service";
import { ingestUsage, USAGE_BATCH_RECORDS_MAX } from "../services/usage.service";
import type { UsageInput } from "../services/usage.service";
import { AppError, invalid } from "../shared/errors";
import { parseInstant } from "../time/month";
import { BundleSchema, describeZodError } from "./bundle.schema";
import type { Bundle, BundleEvent, UsageEvent } from "./bundle.schema";

export interface ImportResult {
  company_id: number;
  members: number;
  events: number;
  usage_ingested: number;
  duplicates: number;
  unrated: number;
}

/** Validates the document's shape; a failure names the first bad item's path. */
export function parseBundle(doc: unknown): Bundle {
  const parsed = BundleSchema.safeParse(doc);
  if (!parsed.success) {
    const { path, message } = describeZodError(parsed.error);
    throw invalid(message, path === "" ? undefined : path);
  }
  return parsed.data;
}

/** Re-labels an error from a service with the bundle path of the item being replayed. */
function at<T>(path: string, fn: () => Promise<T>): Promise<T> {
  return fn().catch((error: unknown) => {
    if (error instanceof AppError && !error.path?.startsWith(path)) {
      const inner = error.path ? `${path}.${error.path}` : path;
      throw new AppError(error.code, error.reason, {
        path: inner,
        ...(error.details ? { details: { ...error.details } } : {}),
      });
    }
    throw error;
  });
}

export async function importBundle(db: Db, doc: unknown, opts: { nowMs: number }): Promise<ImportResult> {
  const bundle = parseBundle(doc);
  // Hash passwords before the transaction: argon2 is deliberately slow and must not hold the write lock.
  const hashes = await Promise.all(
    bundle.admins.map(async (a) => (a.password ? hashPassword(a.password) : null)),
  );
  return inTransaction(db, (tx) => replay(tx, bundle, hashes, opts.nowMs));
}

async function replay(
  tx: Db,
  bundle: Bundle,
  hashes: (string | null)[],
  nowMs: number,
): Promise<ImportResult> {
  const company = await createCompany(tx, { ...bundle.company, nowMs });
  const money = (text: string, path: string): number => {
    const r = parseAmount(text, company.currency);
    if (!r.ok) throw invalid(r.error, path);
    return r.value;
  };
  const instant = (text: string, path: string): number => {
    const r = parseInstant(text);
    if (!r.ok) throw invalid(r.error, path);
    return r.value;
  };
  const firstAt = bundle.events[0] ? instant(bundle.events[0].at, "events[0].at") : nowMs;

  const admins = new Map<string, { id: number; role: AdminRole }>();
  for (const [i, a] of bundle.admins.entries()) {
    const email = a.email.toLowerCase();
    if (admins.has(email)) throw invalid(`duplicate admin email ${email}`, `admins[${i}].email`);
    const ack = a.privacy_acknowledged_at
      ? instant(a.privacy_acknowledged_at, `admins[${i}].privacy_acknowledged_at`)
      : null;
    const id = await at(`admins[${i}]`, () =>
      createAdmin(tx, company, {
        email,
        name: a.name,
        role: a.role,
        passwordHash: hashes[i] ?? null,
        privacyAcknowledgedAtMs: ack,
        nowMs: firstAt,
      }),
    );
    admins.set(email, { id, role: a.role });
  }

  const groups = new Map<string, number>();
  for (const [i, g] of bundle.groups.entries()) {
    if (groups.has(g.key)) throw invalid(`duplicate group key "${g.key}"`, `groups[${i}].key`);
    groups.set(g.key, await at(`groups[${i}]`, () => createGroup(tx, company, g.name)));
  }

  const subjects = new Map<string, Subject & { memberId?: number }>();
  for (const [i, m] of bundle.members.entries()) {
    if (subjects.has(m.key)) throw invalid(`duplicate member key "${m.key}"`, `members[${i}].key`);
    const created = await at(`members[${i}]`, () =>
      createMember(tx, company, {
        name: m.name,
        username: m.username,
        email: m.email,
        accountType: m.account_type,
        reportsConsent: m.reports_consent,
        nowMs: firstAt,
      }),
    );
    for (const [j, gk] of m.groups.entries()) {
      const gid = groups.get(gk);
      if (gid === undefined) throw invalid(`no group with key "${gk}"`, `members[${i}].groups[${j}]`);
      await addMemberToGroup(tx, company, created.id, gid);
    }
    subjects.set(m.key, {
      type: "member",
      id: created.id,
      accountId: created.accountId,
      name: m.name,
      username: m.username,
      accountType: m.account_type,
    });
  }
  for (const [i, s] of bundle.sip_profiles.entries()) {
    const ref = SIP_PREFIX + s.key;
    if (subjects.has(ref)) throw invalid(`duplicate SIP profile key "${s.key}"`, `sip_profiles[${i}].key`);
    const created = await at(`sip_profiles[${i}]`, () =>
      createSipProfile(tx, company, { name: s.name, channels: s.channels, nowMs: firstAt }),
    );
    subjects.set(ref, {
      type: "sip_profile",
      id: created.id,
      accountId: created.accountId,
      name: s.name,
      username: null,
      accountType: null,
    });
  }

  const prefixes = new Set<string>();
  const rates = [];
  for (const [i, r] of bundle.rates.entries()) {
    const path = `rates[${i}]`;
    if (prefixes.has(r.prefix)) throw invalid(`duplicate prefix "${r.prefix}"`, `${path}.prefix`);
    prefixes.add(r.prefix);
    if (r.sms === undefined) throw invalid("required", `${path}.sms`);
    const input = {
      prefix: r.prefix,
      name: r.name,
      perMinute: r.per_minute,
      connectionFee: r.connection_fee,
      interval: r.interval,
      sms: r.sms,
    };
    const parsed = parseRate(input);
    if (!parsed.ok) throw invalid(parsed.error, path);
    rates.push(parsed.value);
    await putRate(tx, company, input);
  }
  const rateTable = new RateTable(rates);

  const plans = new Map<string, number>();
  for (const [i, p] of bundle.plans.entries()) {
    if (plans.has(p.key)) throw invalid(`duplicate plan key "${p.key}"`, `plans[${i}].key`);
    const priceMinor = money(p.price, `plans[${i}].price`);
    plans.set(
      p.key,
      await at(`plans[${i}]`, () =>
        createPlan(tx, company, { name: p.name, priceMinor, prefixes: p.prefixes, minutes: p.minutes }),
      ),
    );
  }

  const subject = (ref: string, path: string): Subject => {
    const s = subjects.get(ref);
    if (!s)
      throw invalid(
        ref.startsWith(SIP_PREFIX)
          ? `no SIP profile with key "${ref.slice(4)}"`
          : `no member with key "${ref}"`,
        path,
      );
    return s;
  };
  const manager = (email: string, path: string): number => {
    const a = admins.get(email.toLowerCase());
    if (!a) throw invalid(`no admin with email ${email}`, path);
    if (a.role === "viewer")
      throw new AppError("forbidden", `${email} is a viewer and may not change anything`, { path });
    return a.id;
  };

  const result: ImportResult = {
    company_id: company.id,
    members: bundle.members.length,
    events: bundle.events.length,
    usage_ingested: 0,
    duplicates: 0,
    unrated: 0,
  };
  let previousAt = -Infinity;
  let pendingUsage: UsageInput[] = [];
  const flushUsage = async (): Promise<void> => {
    if (pendingUsage.length === 0) return;
    const r = await ingestUsage(tx, company, pendingUsage, { nowMs, rates: rateTable, actor: "import" });
    result.usage_ingested += r.stored;
    result.duplicates += r.duplicates;
    result.unrated += r.unrated;
    pendingUsage = [];
  };

  for (const [i, e] of bundle.events.entries()) {
    const path = `events[${i}]`;
    const atMs = instant(e.at, `${path}.at`);
    if (atMs < previousAt) throw invalid("events must be in non-decreasing `at` order", `${path}.at`);
    previousAt = atMs;
    if (e.type === "usage") {
      pendingUsage.push(usageInput(e, atMs, path, subject));
      if (pendingUsage.length >= USAGE_BATCH_RECORDS_MAX) await flushUsage();
      continue;
    }
    // Any other event must see the effects of the usage before it.
    await flushUsage();
    await at(path, () => applyEvent(tx, company, e, atMs, path, { money, subject, manager, plans }));
  }
  await flushUsage();
  return result;
}

function usageInput(
  e: UsageEvent,
  atMs: number,
  path: string,
  subject: (ref: string, path: string) => Subject,
): UsageInput {
  const destination = normalizeDestination(e.destination);
  if (!destination.ok) throw invalid(destination.error, `${path}.destination`);
  return {
    externalId: e.external_id,
    subject: subject(e.subject, `${path}.subject`),
    kind: e.kind,
    startedAtMs: atMs,
    destination: destination.value,
    durationS: e.kind === "call" ? e.duration_s : null,
    segments: e.kind === "sms" ? e.segments : null,
    // Replayed usage is processed at its own time: auto-allocations it triggers happen then.
    processedAtMs: atMs,
  };
}

interface Lookups {
  money(text: string, path: string): number;
  subject(ref: string, path: string): Subject;
  manager(email: string, path: string): number;
  plans: Map<string, number>;
}

async function applyEvent(
  tx: Db,
  company: CompanyContext,
  e: Exclude<BundleEvent, UsageEvent>,
  atMs: number,
  path: string,
  l: Lookups,
): Promise<void> {
  switch (e.type) {
    case "purchase":
      await recordPurchase(tx, company, {
        reference: e.reference,
        amountMinor: l.money(e.amount, `${path}.amount`),
        vatRate: e.vat_rate,
        paymentMethod: e.payment_method,
        status: e.status,
        atMs,
        actorAdminId: l.manager(e.by, `${path}.by`),
      });
      return;
    case "settle_purchase":
      await settlePurchase(tx, company, {
        reference: e.reference,
        status: e.status,
        atMs,
        actorAdminId: null,
      });
      return;
    case "allocate_credit":
      await allocateCredit(tx, company, {
        to: l.subject(e.to, `${path}.to`),
        amountMinor: l.money(e.amount, `${path}.amount`),
        atMs,
        actorAdminId: l.manager(e.by, `${path}.by`),
      });
      return;
    case "reclaim_credit":
      await reclaimCredit(tx, company, {
        from: l.subject(e.from, `${path}.from`),
        amountMinor: l.money(e.amount, `${path}.amount`),
        atMs,
        actorAdminId: l.manager(e.by, `${path}.by`),
      });
      return;
    case "allocate_subscription": {
      const planId = l.plans.get(e.plan);
      if (planId === undefined) throw invalid(`no plan with key "${e.plan}"`, `${path}.plan`);
      await allocateSubscription(tx, company, {
        to: l.subject(e.to, `${path}.to`),
        planId,
        atMs,
        actorAdminId: l.manager(e.by, `${path}.by`),
      });
      return;
    }
    case "allocate_number":
      await allocateNumber(tx, company, {
        to: l.subject(e.to, `${path}.to`),
        number: e.number,
        months: e.months,
        priceMinor: l.money(e.price, `${path}.price`),
        atMs,
        actorAdminId: l.manager(e.by, `${path}.by`),
      });
      return;
    case "auto_allocate_rule":
      await setAutoRule(tx, company, {
        subject: l.subject(e.to, `${path}.to`),
        thresholdMinor: l.money(e.threshold, `${path}.threshold`),
        amountMinor: l.money(e.amount, `${path}.amount`),
        monthlyCapMinor: l.money(e.monthly_cap, `${path}.monthly_cap`),
        atMs,
        actorAdminId: l.manager(e.by, `${path}.by`),
        actor: e.by,
      });
      return;
    case "consent": {
      const s = l.subject(e.member, `${path}.member`);
      if (s.type !== "member") throw invalid(`no member with key "${e.member}"`, `${path}.member`);
      await setConsent(tx, company, s.id, e.granted, atMs);
      return;
    }
  }
}
