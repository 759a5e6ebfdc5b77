/**
 * @module The benchmark data generator: a seeded, reproducible dataset written directly with plain SQL
 * (bench/lib/bulk-writer.ts) into a migrated database, consistent with what the app would have written —
 * purchases and credit allocations as transfers, usage records rated by the app's own `rateUsage`, the
 * per-account monthly totals (`account_months`) and the cached balances matching the entries.
 *
 *   node --import tsx bench/generate.ts [--quick | --tiny] [--database-url URL] [--seed N]
 *
 * The largest company (id 1, 5,000 members at full size) has a PBX trunk (the SIP profile "HQ PBX") whose
 * busiest month (the last one) holds 1,000,000 calls: the 1M-row Usage month that exports are measured on.
 */
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { CompiledQuery } from "kysely";
import { hashPassword } from "../src/auth/password";
import type { Database, Db } from "../src/db/database";
import { openDatabase } from "../src/db/database";
import { migrate } from "../src/db/migrate";
import { addDelta, transferMonthDeltas, ZERO_DELTA } from "../src/ledger/rules";
import type { MonthDelta, TransferKind } from "../src/ledger/rules";
import { currencyExponent } from "../src/money/currency";
import { formatDecimal, parseDecimal, vatMinor } from "../src/money/decimal";
import { rateUsage } from "../src/rating/rate";
import type { RatedUsage } from "../src/rating/rate";
import { parseRate, RateTable } from "../src/rating/rate-table";
import type { Rate, RateInput } from "../src/rating/rate-table";
import { addMonths, monthEndMs, monthStartMs } from "../src/time/month";
import { BulkWriter, resetIdentities } from "./lib/bulk-writer";
import type { TableSpec } from "./lib/bulk-writer";
import { random } from "./fixtures";

export interface DatasetSize {
  readonly name: "full" | "quick" | "tiny";
  readonly companies: number;
  /** Members of all companies together, the largest company's included. */
  readonly members: number;
  readonly largestMembers: number;
  readonly sipProfilesPerCompany: number;
  readonly months: number;
  /** Calls of the largest company's trunk in its busiest month (the exported Usage month) … */
  readonly trunkBusiestRecords: number;
  /** … and in each other month. */
  readonly trunkOtherRecords: number;
  /** The largest company's members' records per month (every month). */
  readonly largestMemberRecordsPerMonth: number;
  /** All usage records together. */
  readonly records: number;
}

export const SIZES: Readonly<Record<DatasetSize["name"], DatasetSize>> = {
  full: {
    name: "full",
    companies: 1_000,
    members: 50_000,
    largestMembers: 5_000,
    sipProfilesPerCompany: 2,
    months: 12,
    trunkBusiestRecords: 1_000_000,
    trunkOtherRecords: 100_000,
    largestMemberRecordsPerMonth: 250_000,
    records: 10_000_000,
  },
  quick: {
    name: "quick",
    companies: 20,
    members: 2_000,
    largestMembers: 500,
    sipProfilesPerCompany: 2,
    months: 12,
    trunkBusiestRecords: 100_000,
    trunkOtherRecords: 2_000,
    largestMemberRecordsPerMonth: 4_000,
    records: 200_000,
  },
  tiny: {
    name: "tiny",
    companies: 3,
    members: 30,
    largestMembers: 12,
    sipProfilesPerCompany: 1,
    months: 3,
    trunkBusiestRecords: 600,
    trunkOtherRecords: 50,
    largestMemberRecordsPerMonth: 200,
    records: 2_000,
  },
};

/** The last generated month: the largest company's busiest month. */
export const LAST_MONTH = "2026-10";
export const LARGEST_COMPANY_NAME = "Globex Telecom Ltd";
export const TRUNK_NAME = "HQ PBX";
/** Every company's owner signs in with this password (one argon2 hash shared by all of them). */
export const OWNER_PASSWORD = "bench-password-1";
export const ownerEmail = (companyIndex: number): string => `owner@c${companyIndex + 1}.bench.example`;

export interface GeneratedDataset {
  size: DatasetSize;
  seed: number;
  months: string[];
  companies: number;
  members: number;
  sipProfiles: number;
  records: number;
  transfers: number;
  seconds: number;
  largest: {
    companyId: number;
    ownerEmail: string;
    busiestMonth: string;
    /** Records of the busiest month, all subjects. */
    busiestMonthRecords: number;
    members: number;
    /** The trunk's Usage month of `trunkBusiestRecords` rows: "sip:HQ PBX". */
    trunkSubject: string;
    /** The member with the most calls (usage pages are measured on them). */
    busiestMember: string;
    busiestMemberRecords: number;
  };
}

const GROUP_NAMES = ["Sales", "Support", "Engineering", "Operations"];
const COMPANY_STYLES = [
  { currency: "EUR", timezone: "Europe/London" },
  { currency: "EUR", timezone: "Europe/Berlin" },
  { currency: "USD", timezone: "America/New_York" },
  { currency: "GBP", timezone: "Europe/London" },
  { currency: "EUR", timezone: "Europe/Paris" },
] as const;
const RATE_INPUTS: readonly RateInput[] = [
  { prefix: "44", name: "United Kingdom", perMinute: "0.0230", interval: "60/60" },
  { prefix: "447", name: "United Kingdom mobile", perMinute: "0.1500", interval: "60/1" },
  { prefix: "33", name: "France", perMinute: "0.0210", interval: "60/60" },
  { prefix: "336", name: "France mobile", perMinute: "0.1200", interval: "30/6" },
  { prefix: "1", name: "United States", perMinute: "0.0120", interval: "6/6" },
  { prefix: "49", name: "Germany", perMinute: "0.0250", interval: "60/60" },
  { prefix: "4915", name: "Germany mobile", perMinute: "0.1800", interval: "60/1" },
].map((r) => ({ ...r, connectionFee: "0.0390", sms: "0.1100" }));
/** Destinations start with these; 81 and 99 have no rate, so about 2 in 9 records are unrated. */
const DESTINATION_PREFIXES = ["44", "447", "33", "336", "1", "49", "4915", "81", "99"];
const VAT_RATE = "0.20";
const DAY_MS = 86_400_000;
/** Calls a month of the largest company's busiest member (fewer in small datasets: a quarter of its members' calls). */
const BUSIEST_MEMBER_CALLS_MAX = 2_000;
/** SQLite page cache of the generating connection, in KiB. */
const SQLITE_CACHE_KIB = 256 * 1024;
/** Usage rows buffered before a flush (one transaction). */
const FLUSH_USAGE_ROWS = 50_000;

const t = (name: string, columns: TableSpec["columns"]): TableSpec => ({ name, columns });
const T = {
  companies: t("companies", [
    ["id", "bigint"],
    ["name", "text"],
    ["currency", "text"],
    ["timezone", "text"],
    ["company_account_id", "bigint"],
    ["created_at_ms", "bigint"],
  ]),
  accounts: t("accounts", [
    ["id", "bigint"],
    ["company_id", "bigint"],
    ["kind", "text"],
    ["balance_minor", "bigint"],
  ]),
  admins: t("admins", [
    ["id", "bigint"],
    ["company_id", "bigint"],
    ["email", "text"],
    ["name", "text"],
    ["role", "text"],
    ["password_hash", "text"],
    ["privacy_acknowledged_at_ms", "bigint"],
    ["created_at_ms", "bigint"],
  ]),
  groups: t("groups", [
    ["id", "bigint"],
    ["company_id", "bigint"],
    ["name", "text"],
  ]),
  members: t("members", [
    ["id", "bigint"],
    ["company_id", "bigint"],
    ["account_id", "bigint"],
    ["name", "text"],
    ["username", "text"],
    ["email", "text"],
    ["account_type", "text"],
    ["reports_consent", "integer"],
    ["created_at_ms", "bigint"],
  ]),
  memberGroups: t("member_groups", [
    ["company_id", "bigint"],
    ["member_id", "bigint"],
    ["group_id", "bigint"],
  ]),
  sipProfiles: t("sip_profiles", [
    ["id", "bigint"],
    ["company_id", "bigint"],
    ["account_id", "bigint"],
    ["name", "text"],
    ["channels", "integer"],
    ["created_at_ms", "bigint"],
  ]),
  rates: t("rates", [
    ["id", "bigint"],
    ["company_id", "bigint"],
    ["prefix", "text"],
    ["name", "text"],
    ["per_minute", "text"],
    ["connection_fee", "text"],
    ["interval", "text"],
    ["sms", "text"],
  ]),
  purchases: t("purchases", [
    ["id", "bigint"],
    ["company_id", "bigint"],
    ["reference", "text"],
    ["payment_method", "text"],
    ["status", "text"],
    ["amount_minor", "bigint"],
    ["vat_rate", "text"],
    ["vat_minor", "bigint"],
    ["total_minor", "bigint"],
    ["created_at_ms", "bigint"],
    ["month", "text"],
    ["settled_at_ms", "bigint"],
    ["purchased_by_admin_id", "bigint"],
  ]),
  transfers: t("transfers", [
    ["id", "bigint"],
    ["company_id", "bigint"],
    ["at_ms", "bigint"],
    ["month", "text"],
    ["kind", "text"],
    ["debit_account_id", "bigint"],
    ["credit_account_id", "bigint"],
    ["amount_minor", "bigint"],
    ["recipient_account_id", "bigint"],
    ["feature", "text"],
    ["actor_admin_id", "bigint"],
    ["purchase_id", "bigint"],
  ]),
  usage: t("usage_records", [
    ["id", "bigint"],
    ["company_id", "bigint"],
    ["account_id", "bigint"],
    ["external_id", "text"],
    ["kind", "text"],
    ["started_at_ms", "bigint"],
    ["month", "text"],
    ["destination", "text"],
    ["duration_s", "integer"],
    ["segments", "integer"],
    ["billed_s", "integer"],
    ["rate_prefix", "text"],
    ["rate_name", "text"],
    ["rate_per_minute", "text"],
    ["rate_connection_fee", "text"],
    ["rate_interval", "text"],
    ["charge_minor", "bigint"],
    ["charge_exact", "text"],
    ["status", "text"],
    ["covered_minutes", "integer"],
    ["ingested_at_ms", "bigint"],
  ]),
  accountMonths: t("account_months", [
    ["company_id", "bigint"],
    ["account_id", "bigint"],
    ["month", "text"],
    ["purchased_minor", "bigint"],
    ["allocated_minor", "bigint"],
    ["auto_allocated_minor", "bigint"],
    ["reclaimed_minor", "bigint"],
    ["features_minor", "bigint"],
    ["usage_minor", "bigint"],
    ["net_minor", "bigint"],
  ]),
} as const;
const TABLE_ORDER: TableSpec[] = [
  T.companies,
  T.accounts,
  T.admins,
  T.groups,
  T.members,
  T.memberGroups,
  T.sipProfiles,
  T.rates,
  T.purchases,
  T.transfers,
  T.usage,
  T.accountMonths,
];
const IDENTITY_TABLES = [
  "companies",
  "accounts",
  "admins",
  "groups",
  "members",
  "sip_profiles",
  "rates",
  "purchases",
  "transfers",
  "usage_records",
];

/** Splits `total` into `parts` whole numbers proportional to `weights` (exact sum). */
function apportion(total: number, weights: readonly number[]): number[] {
  const sum = weights.reduce((a, b) => a + b, 0);
  const out = weights.map((w) => Math.floor((total * w) / sum));
  let rest = total - out.reduce((a, b) => a + b, 0);
  for (let i = 0; rest > 0; i = (i + 1) % out.length, rest--) out[i] = (out[i] ?? 0) + 1;
  return out;
}

interface Subject {
  accountId: number;
  label: string;
}

/** PostgreSQL partitions for the usage months, when the partitioning module exists (engineer A's work). */
async function preparePartitions(db: Db, months: readonly string[]): Promise<void> {
  if (db.dialect !== "postgres") return;
  const modulePath = "../src/db/partitions";
  let mod: { ensureUsagePartitions?: (db: Db, months: readonly string[]) => Promise<unknown> };
  try {
    mod = (await import(modulePath)) as typeof mod;
  } catch {
    return; // not partitioned yet: the rows go into the plain table
  }
  if (typeof mod.ensureUsagePartitions === "function") await mod.ensureUsagePartitions(db, months);
}

/** Generates the dataset into `db` (migrated here; it must hold no company yet). */
export async function generateDataset(
  db: Database,
  size: DatasetSize,
  opts: { seed?: number; log?: (line: string) => void } = {},
): Promise<GeneratedDataset> {
  const seed = opts.seed ?? 1;
  const log = opts.log ?? (() => undefined);
  const t0 = performance.now();
  await migrate(db);
  const existing = await db.k
    .selectFrom("companies")
    .select((eb) => eb.fn.countAll<number>().as("n"))
    .executeTakeFirstOrThrow();
  if (Number(existing.n) > 0) throw new Error("the generator writes into an empty database only");

  const months = Array.from({ length: size.months }, (_, i) => addMonths(LAST_MONTH, i - size.months + 1));
  await preparePartitions(db, months);
  const busiestMonth = LAST_MONTH;
  const passwordHash = await hashPassword(OWNER_PASSWORD);
  const rates: Rate[] = RATE_INPUTS.map((r) => {
    const parsed = parseRate(r);
    if (!parsed.ok) throw new Error(parsed.error);
    return parsed.value;
  });
  const table = new RateTable(rates);
  const rateText = new Map(rates.map((r) => [r.prefix, formatDecimal(r.connectionFee)]));
  const vatRate = parseDecimal(VAT_RATE);
  if (!vatRate.ok) throw new Error(vatRate.error);

  // Members per company: the largest first, the others share the rest; records likewise.
  const otherMembers = apportion(
    size.members - size.largestMembers,
    Array.from({ length: size.companies - 1 }, () => 1),
  );
  const memberCounts = [size.largestMembers, ...otherMembers];
  const largestRecords =
    size.trunkBusiestRecords +
    (size.months - 1) * size.trunkOtherRecords +
    size.months * size.largestMemberRecordsPerMonth;
  if (largestRecords > size.records) throw new Error("the largest company has more records than the total");
  const otherRecords = apportion(size.records - largestRecords, otherMembers);

  // Ten million index entries do not fit SQLite's default 2 MB page cache; a bigger one for this connection.
  if (db.dialect === "sqlite")
    await db.k.executeQuery(CompiledQuery.raw(`pragma cache_size = -${SQLITE_CACHE_KIB}`));
  const ratings = new Map<string, RatedUsage>();
  const w = new BulkWriter(db, TABLE_ORDER);
  const ids = {
    company: 0,
    account: 0,
    admin: 0,
    group: 0,
    member: 0,
    sip: 0,
    rate: 0,
    purchase: 0,
    transfer: 0,
    usage: 0,
  };
  let busiestMember = "";
  let busiestMemberRecords = 0;
  let busiestMonthRecords = 0;

  for (let c = 0; c < size.companies; c++) {
    const rand = random(seed * 1_000_003 + c);
    const largest = c === 0;
    const style = COMPANY_STYLES[c % COMPANY_STYLES.length] ?? COMPANY_STYLES[0];
    const exponent = currencyExponent(style.currency);
    const createdAt = monthStartMs(months[0] ?? LAST_MONTH, style.timezone) - DAY_MS;
    const companyId = ++ids.company;
    const account = (kind: string): number => {
      const id = ++ids.account;
      w.push(T.accounts, [id, companyId, kind, 0]);
      return id;
    };
    w.push(T.companies, [
      companyId,
      largest ? LARGEST_COMPANY_NAME : `Bench Company ${c + 1}`,
      style.currency,
      style.timezone,
      ids.account + 1,
      createdAt,
    ]);
    const companyAccount = account("company");
    const purchasesAccount = account("purchases");
    const usageAccount = account("usage");
    account("features");
    const adminId = ++ids.admin;
    w.push(T.admins, [
      adminId,
      companyId,
      ownerEmail(c),
      `Owner ${c + 1}`,
      "owner",
      passwordHash,
      createdAt,
      createdAt,
    ]);
    const groupIds = GROUP_NAMES.map((name) => {
      const id = ++ids.group;
      w.push(T.groups, [id, companyId, name]);
      return id;
    });
    for (const r of RATE_INPUTS)
      w.push(T.rates, [
        ++ids.rate,
        companyId,
        r.prefix,
        r.name,
        r.perMinute,
        r.connectionFee,
        r.interval,
        r.sms,
      ]);

    const members: Subject[] = [];
    const memberCount = memberCounts[c] ?? 0;
    for (let m = 0; m < memberCount; m++) {
      const accountId = account("member");
      const memberId = ++ids.member;
      const username = `m${m}`;
      w.push(T.members, [
        memberId,
        companyId,
        accountId,
        `Member ${m} of ${c + 1}`,
        username,
        `${username}@c${c + 1}.bench.example`,
        "business",
        0,
        createdAt,
      ]);
      w.push(T.memberGroups, [companyId, memberId, groupIds[m % groupIds.length] ?? null]);
      members.push({ accountId, label: username });
    }
    const sips: Subject[] = [];
    const sipCount = largest ? Math.max(size.sipProfilesPerCompany, 1) : size.sipProfilesPerCompany;
    for (let s = 0; s < sipCount; s++) {
      const accountId = account("sip_profile");
      const name = s === 0 && largest ? TRUNK_NAME : `PBX ${s + 1}`;
      w.push(T.sipProfiles, [++ids.sip, companyId, accountId, name, 30, createdAt]);
      sips.push({ accountId, label: `sip:${name}` });
    }
    const subjects = [...members, ...sips];
    const balances = new Map<number, number>();
    const perMonthRecords = largest
      ? []
      : apportion(
          otherRecords[c - 1] ?? 0,
          months.map(() => 1),
        );

    for (const [mi, month] of months.entries()) {
      const start = monthStartMs(month, style.timezone);
      const span = monthEndMs(month, style.timezone) - start;
      const deltas = new Map<number, MonthDelta>();
      const bump = (accountId: number, d: Readonly<MonthDelta>): void => {
        let e = deltas.get(accountId);
        if (!e) deltas.set(accountId, (e = { ...ZERO_DELTA }));
        addDelta(e, d);
      };
      const charged = new Map<number, number>();
      let monthRecords = 0;
      const memberCalls = new Map<string, number>();

      // Usage: the trunk's calls (largest company), then the members' (and other SIP profiles').
      const streams: { subject: (i: number) => Subject; count: number }[] = [];
      if (largest) {
        const trunk = sips[0] as Subject;
        streams.push({
          subject: () => trunk,
          count: month === busiestMonth ? size.trunkBusiestRecords : size.trunkOtherRecords,
        });
        // Every k-th call is the busiest member's (m0: at least BUSIEST_MEMBER_CALLS_MAX a month at full size, so
        // a 500-row page of one member is a full page); the others are skewed: rand² favours low indexes, so a
        // few members call a lot and most call a little.
        const count = size.largestMemberRecordsPerMonth;
        const k = Math.max(2, Math.ceil(count / Math.min(count / 4, BUSIEST_MEMBER_CALLS_MAX)));
        streams.push({
          subject: (i) =>
            (i % k === 0 ? members[0] : members[Math.floor(members.length * rand() ** 2)]) as Subject,
          count,
        });
      } else {
        streams.push({
          subject: () =>
            rand() < 0.05 || members.length === 0
              ? (sips[Math.floor(rand() * sips.length)] as Subject)
              : (members[Math.floor(members.length * rand() ** 2)] as Subject),
          count: perMonthRecords[mi] ?? 0,
        });
      }
      const monthCode = month.replace("-", "");
      for (const [si, stream] of streams.entries()) {
        for (let i = 0; i < stream.count; i++) {
          const subject = stream.subject(i);
          if (subject.label.startsWith("m"))
            memberCalls.set(subject.label, (memberCalls.get(subject.label) ?? 0) + 1);
          const startedAt = start + Math.floor(((i + rand()) * span) / stream.count);
          const prefix = DESTINATION_PREFIXES[Math.floor(rand() * DESTINATION_PREFIXES.length)] ?? "44";
          const destination = `+${prefix}${String(Math.floor(rand() * 1e9)).padStart(9, "0")}`;
          const isCall = rand() < 0.8;
          const durationS = isCall ? (rand() < 0.1 ? 0 : 1 + Math.floor(rand() * 600)) : null;
          const segments = isCall ? null : 1 + Math.floor(rand() * 3);
          // Without subscriptions a rating depends only on the matched rate, the kind and the duration or
          // segments: the app's rateUsage is asked once per combination.
          const digits = destination.slice(1);
          const ratingKey = `${table.match(digits)?.prefix ?? "-"}|${durationS ?? "s"}|${segments ?? "c"}|${exponent}`;
          let rated = ratings.get(ratingKey);
          if (rated === undefined) {
            rated = rateUsage(
              {
                kind: isCall ? "call" : "sms",
                destinationDigits: digits,
                durationS: durationS ?? 0,
                segments: segments ?? 1,
                startedAtMs: startedAt,
              },
              table,
              [],
              exponent,
            );
            ratings.set(ratingKey, rated);
          }
          const rate = rated.rate;
          w.push(T.usage, [
            ++ids.usage,
            companyId,
            subject.accountId,
            `cdr-${monthCode}-${si}-${i}`,
            isCall ? "call" : "sms",
            startedAt,
            month,
            destination,
            durationS,
            segments,
            rated.status === "unrated" ? null : rated.billedS,
            rate?.prefix ?? null,
            rate?.name ?? null,
            rate?.perMinuteText ?? null,
            rate ? (rateText.get(rate.prefix) ?? null) : null,
            rate?.intervalText ?? null,
            rated.chargeMinor,
            rated.exact,
            rated.status,
            rated.coveredMinutes,
            startedAt + 60_000,
          ]);
          monthRecords++;
          const charge = rated.chargeMinor;
          if (charge > 0) {
            charged.set(subject.accountId, (charged.get(subject.accountId) ?? 0) + charge);
            bump(subject.accountId, { ...ZERO_DELTA, usage_minor: charge, net_minor: -charge });
            bump(usageAccount, { ...ZERO_DELTA, usage_minor: -charge, net_minor: charge });
          }
          if (w.buffered(T.usage) >= FLUSH_USAGE_ROWS) await w.flush();
        }
      }
      if (largest && month === busiestMonth) {
        busiestMonthRecords = monthRecords;
        for (const [label, n] of memberCalls)
          if (n > busiestMemberRecords) [busiestMember, busiestMemberRecords] = [label, n];
      }

      // Transfers of the month: one purchase at its start, then one credit allocation per subject that
      // covers what it will spend (allocated at the start of the month, written after its usage).
      const transfer = (
        kind: TransferKind,
        atMs: number,
        debit: number,
        credit: number,
        amount: number,
        recipient: number | null,
        purchaseId: number | null,
      ): void => {
        w.push(T.transfers, [
          ++ids.transfer,
          companyId,
          atMs,
          month,
          kind,
          debit,
          credit,
          amount,
          recipient,
          kind === "purchase" ? null : "credit",
          adminId,
          purchaseId,
        ]);
        const d = transferMonthDeltas(kind, amount);
        bump(debit, d.debit);
        bump(credit, d.credit);
      };
      const unit = 10 ** exponent; // one major unit in minor units
      const allocations = subjects.map((s) => {
        const spend = charged.get(s.accountId) ?? 0;
        return { s, amount: Math.max(10 * unit, Math.ceil((spend * 1.1) / (10 * unit)) * 10 * unit) };
      });
      const allocatedTotal = allocations.reduce((n, a) => n + a.amount, 0);
      const purchaseAmount = (Math.ceil(allocatedTotal / (1000 * unit)) + 1) * 1000 * unit;
      const purchaseAt = start + 3_600_000;
      const purchaseId = ++ids.purchase;
      const vat = vatMinor(purchaseAmount, vatRate.value);
      w.push(T.purchases, [
        purchaseId,
        companyId,
        `GEN-${c + 1}-${month}`,
        "invoice",
        "completed",
        purchaseAmount,
        VAT_RATE,
        vat,
        purchaseAmount + vat,
        purchaseAt,
        month,
        purchaseAt,
        adminId,
      ]);
      transfer("purchase", purchaseAt, purchasesAccount, companyAccount, purchaseAmount, null, purchaseId);
      for (const [k, a] of allocations.entries())
        transfer(
          "allocate",
          purchaseAt + 60_000 + k,
          companyAccount,
          a.s.accountId,
          a.amount,
          a.s.accountId,
          null,
        );

      for (const [accountId, d] of deltas) {
        w.push(T.accountMonths, [
          companyId,
          accountId,
          month,
          d.purchased_minor,
          d.allocated_minor,
          d.auto_allocated_minor,
          d.reclaimed_minor,
          d.features_minor,
          d.usage_minor,
          d.net_minor,
        ]);
        balances.set(accountId, (balances.get(accountId) ?? 0) + d.net_minor);
      }
    }
    for (const [accountId, balance] of balances) w.setBalance(accountId, balance);
    if (largest || w.buffered(T.usage) >= FLUSH_USAGE_ROWS / 2) await w.flush();
    const tenth = Math.max(1, Math.floor(size.companies / 10));
    if (largest || (c + 1) % tenth === 0)
      log(
        `  company ${c + 1}/${size.companies}: ${ids.usage.toLocaleString("en")} usage records, ` +
          `${((performance.now() - t0) / 1000).toFixed(0)} s`,
      );
  }
  await w.flush();
  await w.close();
  await resetIdentities(db, IDENTITY_TABLES);
  // Finish the load as an operator would: statistics for the planner, and on PostgreSQL a vacuum too, so
  // that the measurements do not race autovacuum (and hint-bit writes) over ten million fresh rows.
  await db.k.executeQuery(CompiledQuery.raw(db.dialect === "postgres" ? "vacuum (analyze)" : "analyze"));
  return {
    size,
    seed,
    months,
    companies: ids.company,
    members: ids.member,
    sipProfiles: ids.sip,
    records: ids.usage,
    transfers: ids.transfer,
    seconds: (performance.now() - t0) / 1000,
    largest: {
      companyId: 1,
      ownerEmail: ownerEmail(0),
      busiestMonth,
      busiestMonthRecords,
      members: size.largestMembers,
      trunkSubject: `sip:${TRUNK_NAME}`,
      busiestMember,
      busiestMemberRecords,
    },
  };
}

/**
 * What must hold after generation: every cached balance equals its entries — the app's own check,
 * `findBalanceMismatches`, for the companies given (keep them small: it runs one correlated scan of the
 * transfers per account), and the same rule as grouped aggregates for every account — every balance equals
 * the sum of its monthly net totals, and every account-month's usage total equals its records' charges.
 */
export async function checkDataset(db: Db, companyIds: readonly number[]): Promise<string[]> {
  const { findBalanceMismatches } = await import("../src/services/allocation.service");
  const problems: string[] = [];
  for (const id of companyIds)
    for (const m of await findBalanceMismatches(db, id))
      problems.push(
        `company ${id} account ${m.accountId}: cached ${m.cachedMinor}, entries ${m.fromEntriesMinor}`,
      );
  const entriesMismatch = await db.k.executeQuery<{ id: number }>(
    CompiledQuery.raw(
      `select a.id from accounts a left join (
         select account_id, sum(amount) as s from (
           select credit_account_id as account_id, amount_minor as amount from transfers
           union all select debit_account_id, -amount_minor from transfers
           union all select account_id, -sum(charge_minor) from usage_records group by account_id
           union all select ua.id, u.total from (select company_id, sum(charge_minor) as total from usage_records group by company_id) u
             join accounts ua on ua.company_id = u.company_id and ua.kind = 'usage'
         ) x group by account_id
       ) e on e.account_id = a.id where a.balance_minor <> coalesce(e.s, 0) limit 10`,
    ),
  );
  for (const r of entriesMismatch.rows) problems.push(`account ${r.id}: balance ≠ the sum of its entries`);
  const netMismatch = await db.k.executeQuery<{ id: number }>(
    CompiledQuery.raw(
      `select a.id from accounts a left join (select account_id, sum(net_minor) as s from account_months group by account_id) m
       on m.account_id = a.id where a.balance_minor <> coalesce(m.s, 0) limit 10`,
    ),
  );
  for (const r of netMismatch.rows) problems.push(`account ${r.id}: balance ≠ sum of its monthly net totals`);
  const usageMismatch = await db.k.executeQuery<{ account_id: number; month: string }>(
    CompiledQuery.raw(
      `select u.account_id, u.month from (select account_id, month, sum(charge_minor) as s from usage_records group by account_id, month) u
       left join account_months m on m.account_id = u.account_id and m.month = u.month
       where coalesce(m.usage_minor, 0) <> u.s limit 10`,
    ),
  );
  for (const r of usageMismatch.rows)
    problems.push(`account ${r.account_id} ${r.month}: usage total ≠ its records' charges`);
  return problems;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      quick: { type: "boolean", default: false },
      tiny: { type: "boolean", default: false },
      "database-url": { type: "string", default: "sqlite:data/bench/generated.db" },
      seed: { type: "string", default: "1" },
    },
  });
  const size = values.tiny ? SIZES.tiny : values.quick ? SIZES.quick : SIZES.full;
  const db = openDatabase(values["database-url"]);
  try {
    const r = await generateDataset(db, size, { seed: Number(values.seed), log: (l) => console.error(l) });
    console.log(JSON.stringify(r));
  } finally {
    await db.close();
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await main();
