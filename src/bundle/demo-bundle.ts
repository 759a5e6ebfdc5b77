/** @module Demo bundle: a deterministic, believable three-month history of "Northwind Telecom Ltd" (`serve --demo`, examples/bundle.json). */
import { DateTime } from "luxon";
import type {
  Bundle,
  BundleAdmin,
  BundleEvent,
  BundleGroup,
  BundleMember,
  BundlePlan,
  BundleRate,
  BundleSipProfile,
  UsageEvent,
} from "./bundle.schema";
import { BUNDLE_FORMAT } from "./bundle.schema";

/** The date and seed examples/bundle.json is generated with (scripts/write-example-bundle.ts). */
export const EXAMPLE_BUNDLE_OPTIONS = { now: Date.parse("2026-11-27T12:00:00Z"), seed: 42 } as const;

export const DEMO_TIMEZONE = "Europe/London";
export const DEMO_CURRENCY = "EUR";
export const DEMO_OWNER_EMAIL = "owner@northwind.example";
export const DEMO_OWNER_PASSWORD = "demo-password-1";
const DEMO_ADMIN_EMAIL = "admin@northwind.example";
const DEMO_SEED_DEFAULT = 1;
/** Calendar months of history, the month of `now` being the last. */
const DEMO_MONTHS = 3;
const USAGE_PER_WEEKDAY_MEAN = 46;
const USAGE_PER_WEEKEND_DAY_MEAN = 4;
const CALL_UNANSWERED_PROBABILITY = 0.08;
const CALL_DURATION_S_MAX = 3_600;
const SMS_PROBABILITY = 0.14;
const SMS_SEGMENT_WEIGHTS: readonly (readonly [number, number])[] = [
  [1, 75],
  [2, 18],
  [3, 7],
];
const CALL_TO_MOBILE_PROBABILITY = 0.35;
/** A reclaim must leave at least this much (minor units) of the member's lowest possible balance. */
const RECLAIM_MARGIN_MINOR = 100;

// ---------------------------------------------------------------------------------------
// Seeded randomness: never Math.random, so the same seed always gives the same company.

/** mulberry32: a tiny 32-bit PRNG; returns floats in [0, 1). */
export function mulberry32(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

class Rng {
  private readonly next: () => number;
  constructor(seed: number) {
    this.next = mulberry32(seed);
  }
  float(): number {
    return this.next();
  }
  /** An integer in [min, max], both included. */
  int(min: number, max: number): number {
    return min + Math.floor(this.next() * (max - min + 1));
  }
  chance(probability: number): boolean {
    return this.next() < probability;
  }
  digits(count: number): string {
    let out = "";
    for (let i = 0; i < count; i += 1) out += String(this.int(0, 9));
    return out;
  }
  pick<T>(items: readonly T[]): T {
    const item = items[Math.floor(this.next() * items.length)];
    if (item === undefined) throw new Error("Assertion failed: pick from an empty list");
    return item;
  }
  weighted<T>(items: readonly (readonly [T, number])[]): T {
    const total = items.reduce((sum, [, weight]) => sum + weight, 0);
    let r = this.next() * total;
    for (const [item, weight] of items) {
      r -= weight;
      if (r < 0) return item;
    }
    const last = items[items.length - 1];
    if (last === undefined) throw new Error("Assertion failed: weighted pick from an empty list");
    return last[0];
  }
  /** A standard normal deviate (Box–Muller). */
  normal(): number {
    const u = 1 - this.next();
    const v = this.next();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
  }
}

// ---------------------------------------------------------------------------------------
// The company: people, groups, SIP profiles, rates and plans.

const ADMINS: readonly BundleAdmin[] = [
  { email: DEMO_OWNER_EMAIL, name: "Olivia Bennett", role: "owner", password: DEMO_OWNER_PASSWORD },
  { email: DEMO_ADMIN_EMAIL, name: "Priya Raman", role: "admin", password: "demo-password-2" },
  { email: "viewer@northwind.example", name: "Tomás Ruiz", role: "viewer", password: "demo-password-3" },
];

const GROUPS: readonly BundleGroup[] = [
  { key: "sales", name: "Sales" },
  { key: "support", name: "Support" },
  { key: "engineering", name: "Engineering" },
  { key: "management", name: "Management" },
];

type Country =
  "GB" | "DE" | "FR" | "US" | "ES" | "IT" | "NL" | "PL" | "RU" | "GR" | "IE" | "CN" | "JP" | "IN" | "AU";

type DemoMember = {
  member: BundleMember;
  /** How much this member calls, relative to the others. */
  usageWeight: number;
  /** Credit allocated at the start of each month, in minor units (0: none that month). */
  monthlyCreditMinor: readonly [number, number, number];
  /** The country the member calls most after the UK, if any. */
  home?: Country;
};

function demoMember(
  key: string,
  name: string,
  opts: {
    username?: string;
    email?: string;
    personal?: boolean;
    groups?: string[];
    consent?: boolean;
    weight: number;
    credit: readonly [number, number, number];
    home?: Country;
  },
): DemoMember {
  const member: BundleMember = {
    key,
    name,
    username: opts.username ?? `northwind.${key}`,
    email: opts.email ?? `${key}@northwind.example`,
    account_type: opts.personal === true ? "personal" : "business",
    groups: opts.groups ?? [],
    reports_consent: opts.consent ?? false,
  };
  return {
    member,
    usageWeight: opts.weight,
    monthlyCreditMinor: opts.credit,
    ...(opts.home === undefined ? {} : { home: opts.home }),
  };
}

const MEMBERS: readonly DemoMember[] = [
  demoMember("lukasz", "Łukasz Żółć", {
    groups: ["sales"],
    weight: 3,
    credit: [500, 500, 500],
    home: "PL",
  }),
  demoMember("dmitry", "Дмитрий Иванов", {
    groups: ["engineering"],
    weight: 2,
    credit: [3000, 3000, 3000],
    home: "RU",
  }),
  demoMember("sofia", "Σοφία Παπαδοπούλου", {
    groups: ["management", "sales"],
    weight: 2,
    credit: [3000, 3000, 3000],
    home: "GR",
  }),
  demoMember("wang.fang", "王芳", { groups: ["support"], weight: 4, credit: [500, 500, 500], home: "CN" }),
  demoMember("jose", "José Álvarez", {
    groups: ["sales"],
    weight: 2,
    credit: [5000, 4000, 4000],
    home: "ES",
  }),
  demoMember("zoe", "Zoë Ng", {
    username: "zoe.ng",
    email: "zoe.ng@example.org",
    personal: true,
    consent: true,
    weight: 1,
    credit: [2000, 2000, 2000],
  }),
  demoMember("siobhan", "Siobhán O'Neill", {
    username: "siobhan.oneill",
    email: "siobhan.oneill@example.net",
    personal: true,
    groups: ["support"],
    consent: true,
    weight: 1,
    credit: [2000, 2000, 2000],
    home: "IE",
  }),
  // A name that starts with "@": CSV exports must neutralise it (§4).
  demoMember("alex", "@lex Turner", { groups: ["sales"], weight: 4, credit: [500, 500, 500], home: "US" }),
  demoMember("bjorn", "Björn Åkesson", { groups: ["engineering"], weight: 1, credit: [2000, 2000, 2000] }),
  demoMember("amelie", "Amélie Dubois", {
    groups: ["sales", "support"],
    weight: 2,
    credit: [4000, 4000, 4000],
    home: "FR",
  }),
  demoMember("mehmet", "Mehmet Yılmaz", {
    username: "mehmet.yilmaz",
    email: "mehmet.yilmaz@example.com",
    personal: true,
    consent: false,
    weight: 1,
    credit: [2000, 2000, 2000],
  }),
  demoMember("lan", "Nguyễn Thị Lan", {
    groups: ["engineering"],
    weight: 1,
    credit: [2000, 2000, 2000],
    home: "AU",
  }),
  demoMember("ken", "佐藤 健", {
    groups: ["engineering", "management"],
    weight: 1,
    credit: [3000, 3000, 3000],
    home: "JP",
  }),
  demoMember("aarav", "Aarav Sharma", {
    groups: ["support"],
    weight: 2,
    credit: [2000, 2500, 2500],
    home: "IN",
  }),
  demoMember("fatima", "Fátima Oliveira", {
    groups: ["sales"],
    weight: 2,
    credit: [2500, 2500, 2500],
    home: "ES",
  }),
  // Joined in the second month: no groups, no credit and no calls before then.
  demoMember("kwame", "Kwame Mensah", { weight: 1, credit: [0, 2000, 2000] }),
  demoMember("ingrid", "Ingrid Søndergaard", {
    groups: ["management"],
    weight: 1,
    credit: [5000, 5000, 5000],
  }),
  demoMember("seun", "Olúwaseun Adébáyọ̀", { groups: ["support"], weight: 3, credit: [500, 500, 500] }),
  // A name with double quotes: CSV exports must quote and double them.
  demoMember("jurgen", 'Jürgen "Jay" Müller', {
    groups: ["engineering"],
    weight: 1,
    credit: [2000, 2000, 2000],
    home: "DE",
  }),
  demoMember("minjun", "김민준", {
    username: "minjun.kim",
    email: "minjun.kim@example.kr",
    personal: true,
    consent: true,
    weight: 1,
    credit: [0, 1500, 1500],
  }),
];

const SIP_PROFILES: readonly BundleSipProfile[] = [
  { key: "london", name: "London PBX", channels: 8 },
  { key: "berlin", name: "Berlin PBX", channels: 4 },
];
const SIP_USAGE_WEIGHT: Readonly<Record<string, number>> = { london: 14, berlin: 7 };
const SIP_MONTHLY_CREDIT_MINOR: Readonly<Record<string, number>> = { london: 12_000, berlin: 6_000 };
const SIP_HOME: Readonly<Record<string, Country>> = { london: "GB", berlin: "DE" };

/** [prefix, name, per_minute, connection_fee (both in 1/10,000 of a euro), interval, sms (1/10,000)]. */
const RATE_ROWS: readonly (readonly [string, string, number, number, string, number])[] = [
  ["1", "United States and Canada", 140, 0, "60/1", 900],
  ["30", "Greece", 290, 390, "60/60", 800],
  ["3069", "Greece mobile", 2100, 390, "60/1", 800],
  ["31", "Netherlands", 250, 390, "60/60", 1000],
  ["316", "Netherlands mobile", 1900, 390, "60/1", 1000],
  ["33", "France", 230, 390, "60/60", 900],
  ["336", "France mobile", 1400, 390, "60/1", 900],
  ["337", "France mobile", 1400, 390, "60/1", 900],
  ["34", "Spain", 230, 390, "60/60", 900],
  ["346", "Spain mobile", 1500, 390, "60/1", 900],
  ["353", "Ireland", 230, 390, "60/60", 1000],
  ["3538", "Ireland mobile", 1600, 390, "60/1", 1000],
  ["39", "Italy", 230, 390, "60/60", 900],
  ["393", "Italy mobile", 1700, 390, "60/1", 900],
  ["44", "United Kingdom", 230, 390, "60/60", 1100],
  ["447", "United Kingdom mobile", 1500, 390, "60/1", 1100],
  ["48", "Poland", 280, 390, "60/60", 700],
  ["49", "Germany", 230, 390, "60/60", 900],
  ["4915", "Germany mobile", 1800, 390, "60/1", 900],
  ["4916", "Germany mobile", 1800, 390, "60/1", 900],
  ["4917", "Germany mobile", 1800, 390, "60/1", 900],
  ["61", "Australia", 250, 590, "60/1", 1200],
  ["7", "Russia", 1200, 590, "1/1", 1300],
  ["81", "Japan", 390, 590, "60/1", 1400],
  ["86", "China", 200, 590, "1/1", 500],
  ["91", "India", 250, 590, "1/1", 400],
];

const RATES: readonly BundleRate[] = RATE_ROWS.map(
  ([prefix, name, perMinute, connectionFee, interval, sms]) => ({
    prefix,
    name,
    per_minute: formatTenThousandths(perMinute),
    connection_fee: formatTenThousandths(connectionFee),
    interval,
    sms: formatTenThousandths(sms),
  }),
);

const PLANS: readonly BundlePlan[] = [
  { key: "uk", name: "Unlimited UK", price: "4.99", prefixes: ["44"], minutes: 1000 },
  {
    key: "europe",
    name: "Europe 300",
    price: "9.99",
    prefixes: ["33", "34", "39", "49", "31"],
    minutes: 300,
  },
];
const PLAN_PRICE_MINOR: Readonly<Record<string, number>> = { uk: 499, europe: 999 };

// ---------------------------------------------------------------------------------------
// Destinations, written the many ways people and switches write them.

type DestinationMaker = (rng: Rng) => string;
type CountryDestinations = { landline: DestinationMaker; mobile: DestinationMaker };

const DESTINATIONS: Readonly<Record<Country, CountryDestinations>> = {
  GB: {
    // 020 7946 0xxx and 07700 900xxx are Ofcom's ranges reserved for drama: never a real line.
    landline: (r) => {
      const n = r.digits(3);
      return r.pick([`+44 20 7946 0${n}`, `+442079460${n}`, `+44-20-7946-0${n}`]);
    },
    mobile: (r) => {
      const n = r.digits(3);
      return r.pick([`+44 7700 900${n}`, `+447700900${n}`]);
    },
  },
  DE: {
    landline: (r) => {
      const n = r.digits(7);
      return r.pick([`+49 (30) ${n}`, `+49 30 ${n}`, `+4930${n}`]);
    },
    mobile: (r) => {
      const p = r.pick(["151", "160", "176"]);
      const n = r.digits(8);
      return r.pick([`+49 ${p} ${n}`, `+49-${p}-${n}`]);
    },
  },
  FR: {
    landline: (r) => {
      const [a, b, c, d] = [r.digits(2), r.digits(2), r.digits(2), r.digits(2)];
      return r.pick([`+33 1 ${a} ${b} ${c} ${d}`, `+33 1.${a}.${b}.${c}.${d}`]);
    },
    mobile: (r) => `+33 ${r.pick(["6", "7"])} ${r.digits(2)} ${r.digits(2)} ${r.digits(2)} ${r.digits(2)}`,
  },
  US: {
    landline: (r) => r.pick([`+1 (212) 555-01${r.digits(2)}`, `+1-415-555-01${r.digits(2)}`]),
    mobile: (r) => `+1 (646) 555-01${r.digits(2)}`,
  },
  ES: {
    landline: (r) => `+34 91 ${r.digits(3)} ${r.digits(2)} ${r.digits(2)}`,
    mobile: (r) => `+34 6${r.digits(2)} ${r.digits(3)} ${r.digits(3)}`,
  },
  IT: {
    landline: (r) => `+39 06 ${r.digits(4)} ${r.digits(4)}`,
    mobile: (r) => `+39 3${r.digits(2)} ${r.digits(3)} ${r.digits(4)}`,
  },
  NL: {
    landline: (r) => `+31 20 ${r.digits(3)} ${r.digits(4)}`,
    mobile: (r) => `+31 6 ${r.digits(4)} ${r.digits(4)}`,
  },
  PL: {
    landline: (r) => `+48 22 ${r.digits(3)} ${r.digits(2)} ${r.digits(2)}`,
    mobile: (r) => `+48 5${r.digits(2)} ${r.digits(3)} ${r.digits(3)}`,
  },
  RU: {
    landline: (r) => `+7 495 ${r.digits(3)}-${r.digits(2)}-${r.digits(2)}`,
    mobile: (r) => `+7 916 ${r.digits(3)}-${r.digits(2)}-${r.digits(2)}`,
  },
  GR: {
    landline: (r) => `+30 21 ${r.digits(4)} ${r.digits(4)}`,
    mobile: (r) => `+30 69${r.digits(1)} ${r.digits(3)} ${r.digits(4)}`,
  },
  IE: {
    landline: (r) => `+353 1 ${r.digits(3)} ${r.digits(4)}`,
    mobile: (r) => `+353 8${r.digits(1)} ${r.digits(3)} ${r.digits(4)}`,
  },
  CN: {
    landline: (r) => `+86 10 ${r.digits(4)} ${r.digits(4)}`,
    mobile: (r) => `+86 13${r.digits(1)} ${r.digits(4)} ${r.digits(4)}`,
  },
  JP: {
    landline: (r) => `+81 3-${r.digits(4)}-${r.digits(4)}`,
    mobile: (r) => `+81 90-${r.digits(4)}-${r.digits(4)}`,
  },
  IN: {
    landline: (r) => `+91 22 ${r.digits(4)} ${r.digits(4)}`,
    mobile: (r) => `+91 9${r.digits(4)} ${r.digits(5)}`,
  },
  AU: {
    landline: (r) => `+61 2 ${r.digits(4)} ${r.digits(4)}`,
    mobile: (r) => `+61 4${r.digits(2)} ${r.digits(3)} ${r.digits(3)}`,
  },
};

const LONDON_MIX: readonly (readonly [Country, number])[] = [
  ["GB", 60],
  ["DE", 5],
  ["FR", 5],
  ["US", 5],
  ["IE", 4],
  ["ES", 3],
  ["IT", 3],
  ["NL", 3],
  ["PL", 2],
  ["RU", 1],
  ["GR", 1],
  ["CN", 1],
  ["JP", 1],
  ["IN", 1],
  ["AU", 1],
];
const BERLIN_MIX: readonly (readonly [Country, number])[] = [
  ["DE", 60],
  ["GB", 10],
  ["FR", 6],
  ["NL", 6],
  ["PL", 6],
  ["IT", 4],
  ["US", 3],
  ["ES", 2],
  ["RU", 2],
  ["CN", 1],
];

/** Hours of the company's day (0–23) weighted towards office hours. */
const HOUR_WEIGHTS: readonly (readonly [number, number])[] = [
  [7, 0.4],
  [8, 2],
  [9, 7],
  [10, 9],
  [11, 9],
  [12, 6],
  [13, 7],
  [14, 9],
  [15, 9],
  [16, 8],
  [17, 4],
  [18, 1.5],
  [19, 0.8],
  [20, 0.5],
  [21, 0.3],
  [22, 0.2],
];

// ---------------------------------------------------------------------------------------
// Generation.

type Subject = {
  to: string;
  weight: number;
  mix: readonly (readonly [Country, number])[];
  fromMonth: number;
};
type Planned = { atMs: number; seq: number; event: BundleEvent };

/**
 * A believable company history: three calendar months (company time) ending in the month of
 * `now`, every event at or before `now`, in `at` order, and every allocation affordable when
 * it happens so that the bundle imports cleanly. The same options always give the same bundle.
 */
export function generateDemoBundle(opts: { now: number; seed?: number }): Bundle {
  const rng = new Rng(opts.seed ?? DEMO_SEED_DEFAULT);
  const nowLocal = DateTime.fromMillis(opts.now, { zone: DEMO_TIMEZONE });
  if (!nowLocal.isValid) throw new Error(`Assertion failed: invalid now ${String(opts.now)}`);
  const months = Array.from({ length: DEMO_MONTHS }, (_, i) =>
    nowLocal.startOf("month").minus({ months: DEMO_MONTHS - 1 - i }),
  );

  const planned: Planned[] = [];
  const plan = (atMs: number, event: BundleEvent): void => {
    planned.push({ atMs, seq: planned.length, event });
  };
  const at = (month: DateTime, day: number, hour: number, minute: number, second = 0): number =>
    month.set({ day, hour, minute, second, millisecond: 0 }).toMillis();

  months.forEach((month, m) => {
    planPurchases(month, m, at, plan);
    planCredit(month, m, at, plan);
    planFeatures(month, m, at, plan);
  });
  planOneOffs(months, at, plan);
  planUsage(months, rng, plan);

  planned.sort((a, b) => a.atMs - b.atMs || a.seq - b.seq);
  return {
    format: BUNDLE_FORMAT,
    company: { name: "Northwind Telecom Ltd", currency: DEMO_CURRENCY, timezone: DEMO_TIMEZONE },
    admins: ADMINS.map((admin) => ({ ...admin })),
    groups: GROUPS.map((group) => ({ ...group })),
    members: MEMBERS.map(({ member }) => ({ ...member, groups: [...member.groups] })),
    sip_profiles: SIP_PROFILES.map((profile) => ({ ...profile })),
    rates: RATES.map((rate) => ({ ...rate })),
    plans: PLANS.map((p) => ({ ...p, prefixes: [...p.prefixes] })),
    events: replay(
      planned,
      months.map((month) => month.toMillis()),
      opts.now,
    ),
  };
}

type At = (month: DateTime, day: number, hour: number, minute: number, second?: number) => number;
type Plan = (atMs: number, event: BundleEvent) => void;

const monthTag = (month: DateTime): string => month.toFormat("yyyyMM");

function planPurchases(month: DateTime, m: number, at: At, plan: Plan): void {
  const ref = (n: number): string => `NW-${monthTag(month)}-${String(n).padStart(2, "0")}`;
  const purchase = (
    atMs: number,
    n: number,
    amount: string,
    vatRate: string,
    paymentMethod: "card" | "bank_transfer" | "invoice" | "voucher",
    status: "completed" | "pending" | "failed",
    by: string,
  ): void =>
    plan(atMs, {
      at: iso(atMs),
      type: "purchase",
      by,
      reference: ref(n),
      amount,
      vat_rate: vatRate,
      payment_method: paymentMethod,
      status,
    });

  // The month's main top-up comes first thing on the 1st, before anything is allocated.
  purchase(at(month, 1, 8, 30), 1, "1500.00", "0.20", "card", "completed", DEMO_OWNER_EMAIL);
  if (m === 0) {
    const made = at(month, 3, 10, 0);
    purchase(made, 2, "500.00", "0.20", "bank_transfer", "pending", DEMO_ADMIN_EMAIL);
    const settled = at(month, 8, 11, 15);
    plan(settled, { at: iso(settled), type: "settle_purchase", reference: ref(2), status: "completed" });
  } else if (m === 1) {
    purchase(at(month, 12, 14, 0), 2, "250.00", "0.20", "card", "failed", DEMO_ADMIN_EMAIL);
    purchase(at(month, 12, 14, 6), 3, "250.00", "0.20", "card", "completed", DEMO_ADMIN_EMAIL);
  } else {
    purchase(at(month, 10, 9, 45), 2, "50.00", "0", "voucher", "completed", DEMO_OWNER_EMAIL);
    // Still awaiting payment at the end of the history: a purchase that stays pending.
    purchase(at(month, 18, 16, 20), 3, "300.00", "0.20", "invoice", "pending", DEMO_OWNER_EMAIL);
  }
}

const HEAVY_MEMBERS = ["dmitry", "sofia", "jose", "amelie", "aarav", "fatima"];

function planCredit(month: DateTime, m: number, at: At, plan: Plan): void {
  let minute = 0;
  const allocate = (atMs: number, to: string, amountMinor: number, by: string): void =>
    plan(atMs, { at: iso(atMs), type: "allocate_credit", by, to, amount: formatMinor(amountMinor) });

  for (const profile of SIP_PROFILES) {
    allocate(
      at(month, 1, 9, minute),
      `sip:${profile.key}`,
      SIP_MONTHLY_CREDIT_MINOR[profile.key] ?? 0,
      DEMO_ADMIN_EMAIL,
    );
    minute += 1;
  }
  MEMBERS.forEach(({ member, monthlyCreditMinor }, i) => {
    const amountMinor = monthlyCreditMinor[m] ?? 0;
    if (amountMinor === 0) return;
    allocate(
      at(month, 1, 9, minute, 30),
      member.key,
      amountMinor,
      i % 3 === 0 ? DEMO_OWNER_EMAIL : DEMO_ADMIN_EMAIL,
    );
    minute += 1;
  });
  // Mid-month top-ups for the busiest callers and the London trunk.
  HEAVY_MEMBERS.forEach((key, i) => allocate(at(month, 15, 10, 5 * i), key, 2000, DEMO_ADMIN_EMAIL));
  allocate(at(month, 15, 10, 40), "sip:london", 8000, DEMO_ADMIN_EMAIL);
}

const SUBSCRIBERS: readonly (readonly [string, string])[] = [
  ["sip:london", "uk"],
  ["lukasz", "uk"],
  ["siobhan", "uk"],
  ["bjorn", "uk"],
  ["sip:berlin", "europe"],
  ["dmitry", "europe"],
  ["sofia", "europe"],
  ["amelie", "europe"],
];

function planFeatures(month: DateTime, m: number, at: At, plan: Plan): void {
  // A plan is active for one month from its allocation; renewing a day later each month keeps
  // every renewal clear of the previous one's end.
  SUBSCRIBERS.forEach(([to, planKey], i) => {
    if (m === 2 && to === "siobhan") return;
    const atMs = at(month, 2 + m, 9, 30 + i);
    plan(atMs, { at: iso(atMs), type: "allocate_subscription", by: DEMO_ADMIN_EMAIL, to, plan: planKey });
  });
}

const NUMBERS: readonly (readonly [number, number, number, string, string])[] = [
  // [month, day, hour, to, number]
  [0, 1, 9, "sip:london", "+442079460100"],
  [0, 1, 9, "sip:london", "+442079460101"],
  [0, 1, 9, "sofia", "+442079460102"],
  [0, 1, 9, "jose", "+442079460103"],
  [1, 5, 11, "sip:berlin", "+493040300100"],
  [2, 9, 14, "amelie", "+442079460104"],
];

const RULE_MEMBERS = ["lukasz", "wang.fang", "alex", "seun"];

function planOneOffs(months: readonly DateTime[], at: At, plan: Plan): void {
  const month = (m: number): DateTime => {
    const found = months[m];
    if (found === undefined) throw new Error(`Assertion failed: no month ${m}`);
    return found;
  };

  NUMBERS.forEach(([m, day, hour, to, number], i) => {
    const atMs = at(month(m), day, hour, 40 + i);
    plan(atMs, {
      at: iso(atMs),
      type: "allocate_number",
      by: DEMO_OWNER_EMAIL,
      to,
      number,
      months: 12,
      price: "15.00",
    });
  });
  RULE_MEMBERS.forEach((to, i) => {
    const atMs = at(month(0), 1, 9, 50 + i);
    plan(atMs, {
      at: iso(atMs),
      type: "auto_allocate_rule",
      by: DEMO_ADMIN_EMAIL,
      to,
      threshold: "2.00",
      amount: "10.00",
      monthly_cap: "30.00",
    });
  });

  // Small reclaims from business members who were given plenty (replay() checks each is covered).
  const reclaims: readonly (readonly [number, number, number, number, string, number])[] = [
    [0, 16, 16, 0, "jose", 500],
    [1, 20, 15, 30, "amelie", 400],
    [2, 6, 12, 0, "ingrid", 500],
  ];
  for (const [m, day, hour, minute, from, amountMinor] of reclaims) {
    const atMs = at(month(m), day, hour, minute);
    plan(atMs, {
      at: iso(atMs),
      type: "reclaim_credit",
      by: DEMO_OWNER_EMAIL,
      from,
      amount: formatMinor(amountMinor),
    });
  }

  const consents: readonly (readonly [number, number, number, number, string, boolean])[] = [
    [1, 10, 18, 5, "siobhan", false],
    [2, 2, 8, 12, "siobhan", true],
    [2, 15, 20, 40, "minjun", false],
  ];
  for (const [m, day, hour, minute, member, granted] of consents) {
    const atMs = at(month(m), day, hour, minute);
    plan(atMs, { at: iso(atMs), type: "consent", member, granted });
  }

  // Two destinations that no rate covers (+882 and +870 are international networks): kept unrated.
  const call = at(month(1), 14, 11, 23, 17);
  plan(call, {
    at: iso(call),
    type: "usage",
    subject: "sip:london",
    kind: "call",
    destination: "+88234567890",
    duration_s: 47,
    external_id: "",
  });
  const sms = at(month(2), 3, 15, 2, 41);
  plan(sms, {
    at: iso(sms),
    type: "usage",
    subject: "jose",
    kind: "sms",
    destination: "+870 772 123 456",
    segments: 1,
    external_id: "",
  });
}

function planUsage(months: readonly DateTime[], rng: Rng, plan: Plan): void {
  const subjects: Subject[] = [
    ...SIP_PROFILES.map((profile) => ({
      to: `sip:${profile.key}`,
      weight: SIP_USAGE_WEIGHT[profile.key] ?? 1,
      mix: SIP_HOME[profile.key] === "DE" ? BERLIN_MIX : LONDON_MIX,
      fromMonth: 0,
    })),
    ...MEMBERS.map(({ member, usageWeight, monthlyCreditMinor, home }) => ({
      to: member.key,
      weight: usageWeight,
      mix: home === undefined ? LONDON_MIX : [...LONDON_MIX, [home, 12] as const],
      fromMonth: monthlyCreditMinor.findIndex((minor) => minor > 0),
    })),
  ];
  // Nothing is called before the first allocations are made.
  const firstMonth = months[0];
  if (firstMonth === undefined) return;
  const usageFromMs = firstMonth.set({ day: 1, hour: 10, minute: 0, second: 0, millisecond: 0 }).toMillis();

  months.forEach((month, m) => {
    const active = subjects
      .filter((s) => s.fromMonth >= 0 && s.fromMonth <= m)
      .map((s) => [s, s.weight] as const);
    for (let day = 1; day <= (month.daysInMonth ?? 28); day += 1) {
      const date = month.set({ day, hour: 0, minute: 0, second: 0, millisecond: 0 });
      const mean = date.weekday <= 5 ? USAGE_PER_WEEKDAY_MEAN : USAGE_PER_WEEKEND_DAY_MEAN;
      const count = Math.round(mean * (0.75 + 0.5 * rng.float()));
      // On the two days a year the clocks change, luxon places each hour; on the others an hour
      // of the day is a plain offset from midnight. Minutes and seconds are always plain offsets.
      const clocksChange = date.offset !== date.endOf("day").offset;
      const hourStartMs = new Map(
        HOUR_WEIGHTS.map(
          ([hour]) =>
            [
              hour,
              clocksChange ? date.set({ hour }).toMillis() : date.toMillis() + hour * 3_600_000,
            ] as const,
        ),
      );
      for (let i = 0; i < count; i += 1) {
        const subject = rng.weighted(active);
        const hourMs = hourStartMs.get(rng.weighted(HOUR_WEIGHTS)) ?? 0;
        const atMs = hourMs + rng.int(0, 59) * 60_000 + rng.int(0, 59) * 1_000;
        const country = DESTINATIONS[rng.weighted(subject.mix)];
        if (atMs < usageFromMs) continue;
        if (rng.chance(SMS_PROBABILITY)) {
          const segments = rng.weighted(SMS_SEGMENT_WEIGHTS);
          const destination = country.mobile(rng);
          plan(atMs, {
            at: iso(atMs),
            type: "usage",
            subject: subject.to,
            kind: "sms",
            destination,
            segments,
            external_id: "",
          });
        } else {
          const destination = rng.chance(CALL_TO_MOBILE_PROBABILITY)
            ? country.mobile(rng)
            : country.landline(rng);
          const duration = callDuration(rng);
          plan(atMs, {
            at: iso(atMs),
            type: "usage",
            subject: subject.to,
            kind: "call",
            destination,
            duration_s: duration,
            external_id: "",
          });
        }
      }
    }
  });
}

/** Seconds of a call: some unanswered (0), most a minute or two, a long tail up to an hour. */
function callDuration(rng: Rng): number {
  if (rng.chance(CALL_UNANSWERED_PROBABILITY)) return 0;
  const seconds = Math.round(Math.exp(Math.log(100) + 1.0 * rng.normal()));
  return Math.min(CALL_DURATION_S_MAX, Math.max(2, seconds));
}

/**
 * Walks the planned events in time order with the import's balance rules and keeps only what
 * the company can do at that moment: allocations it can afford, reclaims the member surely
 * has, subscriptions not already active. Auto-allocations cannot be known without rating, so
 * each rule's monthly cap is set aside for every month it is in force — the company balance
 * the walk sees is a lower bound of the real one. Likewise a member's balance is bounded below
 * by rating every usage without its subscriptions (a subscription can only lower a charge).
 */
function replay(planned: readonly Planned[], monthStartsMs: readonly number[], nowMs: number): BundleEvent[] {
  const events: BundleEvent[] = [];
  let companyMinor = 0;
  const pendingNetMinor = new Map<string, number>();
  const subjectLowMinor = new Map<string, number>();
  const ruleCapsMinor = new Map<string, number>();
  const subscribedAt = new Map<string, number>();
  let monthIndex = -1;
  let usageCount = 0;

  const addToSubject = (to: string, minor: number): void => {
    subjectLowMinor.set(to, (subjectLowMinor.get(to) ?? 0) + minor);
  };
  const spend = (minor: number): boolean => {
    if (companyMinor < minor) return false;
    companyMinor -= minor;
    return true;
  };

  for (const { atMs, event } of planned) {
    if (atMs > nowMs) continue;
    const thisMonth = monthStartsMs.filter((startMs) => startMs <= atMs).length;
    if (thisMonth !== monthIndex) {
      monthIndex = thisMonth;
      for (const capMinor of ruleCapsMinor.values()) companyMinor -= capMinor;
    }

    let keep = true;
    switch (event.type) {
      case "purchase": {
        const netMinor = parseMinor(event.amount);
        if (event.status === "completed") companyMinor += netMinor;
        if (event.status === "pending") pendingNetMinor.set(event.reference, netMinor);
        break;
      }
      case "settle_purchase": {
        const netMinor = pendingNetMinor.get(event.reference);
        keep = netMinor !== undefined;
        if (netMinor !== undefined && event.status === "completed") companyMinor += netMinor;
        pendingNetMinor.delete(event.reference);
        break;
      }
      case "allocate_credit": {
        const amountMinor = parseMinor(event.amount);
        keep = spend(amountMinor);
        if (keep) addToSubject(event.to, amountMinor);
        break;
      }
      case "allocate_subscription": {
        const key = `${event.to} ${event.plan}`;
        const previous = subscribedAt.get(key);
        const activeUntil =
          previous === undefined
            ? undefined
            : DateTime.fromMillis(previous, { zone: DEMO_TIMEZONE }).plus({ months: 1 }).toMillis();
        keep = (activeUntil === undefined || atMs > activeUntil) && spend(PLAN_PRICE_MINOR[event.plan] ?? 0);
        if (keep) subscribedAt.set(key, atMs);
        break;
      }
      case "allocate_number":
        keep = spend(parseMinor(event.price));
        break;
      case "auto_allocate_rule": {
        const capMinor = parseMinor(event.monthly_cap);
        keep = !ruleCapsMinor.has(event.to) && spend(capMinor);
        if (keep) ruleCapsMinor.set(event.to, capMinor);
        break;
      }
      case "reclaim_credit": {
        const amountMinor = parseMinor(event.amount);
        const business = MEMBERS.some(
          ({ member }) => member.key === event.from && member.account_type === "business",
        );
        keep = business && (subjectLowMinor.get(event.from) ?? 0) - amountMinor >= RECLAIM_MARGIN_MINOR;
        if (keep) {
          addToSubject(event.from, -amountMinor);
          companyMinor += amountMinor;
        }
        break;
      }
      case "usage":
        usageCount += 1;
        addToSubject(event.subject, -chargeUpperBoundMinor(event));
        event.external_id = `cdr-${String(usageCount).padStart(6, "0")}`;
        break;
      case "consent":
        break;
    }
    if (keep) events.push(event);
  }
  return events;
}

// ---------------------------------------------------------------------------------------
// Rating, only as far as the walk needs it: what a usage can cost at most (§7, no subscriptions).

const RATE_BY_PREFIX = new Map(RATE_ROWS.map((row) => [row[0], row] as const));

function chargeUpperBoundMinor(event: UsageEvent): number {
  const digits = event.destination.replace(/[^\d]/g, "");
  let rate: (typeof RATE_ROWS)[number] | undefined;
  for (let length = digits.length; length > 0 && rate === undefined; length -= 1) {
    rate = RATE_BY_PREFIX.get(digits.slice(0, length));
  }
  if (rate === undefined) return 0;
  const [, , perMinute, connectionFee, interval, sms] = rate;
  // Amounts in 1/10,000 of a euro; a charge is rounded up to the cent (100 of those).
  if (event.kind === "sms") return Math.ceil((sms * event.segments) / 100);
  if (event.duration_s === 0) return 0;
  const [first, next] = interval.split("/").map(Number) as [number, number];
  const billed =
    event.duration_s <= first ? first : first + Math.ceil((event.duration_s - first) / next) * next;
  return Math.ceil((connectionFee * 60 + perMinute * billed) / (60 * 100));
}

// ---------------------------------------------------------------------------------------
// Formatting.

/** An ISO 8601 UTC timestamp to the second: `2026-09-01T07:30:00Z`. */
function iso(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, "Z");
}

function formatMinor(minor: number): string {
  return `${Math.floor(minor / 100)}.${String(minor % 100).padStart(2, "0")}`;
}

function formatTenThousandths(units: number): string {
  return `${Math.floor(units / 10_000)}.${String(units % 10_000).padStart(4, "0")}`;
}

/** "12.5" or "12.50" → 1250; only for the generator's own, well-formed amounts. */
function parseMinor(amount: string): number {
  const [whole = "0", fraction = ""] = amount.split(".");
  return Number(whole) * 100 + Number(fraction.padEnd(2, "0").slice(0, 2));
}
