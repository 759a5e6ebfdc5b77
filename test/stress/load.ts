/**
 * @module A bounded loopback load for the soak test: several clients, each sending a seeded mix of report
 * reads (all four reports as JSON, CSV downloads, a zip of several), credit allocations and reclaims, and
 * usage batches, until the time is up. Every answer is classified (a 2xx, an expected refusal, or an error)
 * and timed; the figures are reported, never asserted as timings.
 */
import { performance } from "node:perf_hooks";
import { DESTINATIONS, OWNER_EMAIL, OWNER_PASSWORD, seededRandom, SUBJECTS } from "./crash-harness";

export interface LoadOptions {
  baseUrl: string;
  apiKey: string;
  seconds: number;
  clients: number;
  seed: number;
  /** The current month in the company's timezone (the reports' month). */
  month: string;
}

export interface LoadResult {
  seconds: number;
  requests: number;
  /** Answers by kind of request. */
  byKind: Record<string, number>;
  /** The 99th percentile of each kind's times, in ms. */
  p99MsByKind: Record<string, number>;
  /** Refusals the mix expects (a reclaim above the balance). */
  expectedRefusals: number;
  /** Anything else: 5xx, an unexpected 4xx, a network failure — each with what was asked. */
  errors: string[];
  requestsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  usageRecords: number;
  /** The external ids sent (each batch's ids are new), to check each is stored exactly once. */
  externalIds: Set<string>;
}

interface Req {
  kind: string;
  method: "GET" | "POST";
  path: string;
  body?: unknown;
  auth: "key" | "session";
  /** An expected refusal's error code. */
  allowed?: string;
}

const cents = (minor: number): string => `${Math.floor(minor / 100)}.${String(minor % 100).padStart(2, "0")}`;

/** Signs in as the owner and returns the session cookie (Usage reports are opened by people, not API keys). */
export async function signInCookie(baseUrl: string): Promise<string> {
  const res = await fetch(new URL("api/v1/auth/login", baseUrl), {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ email: OWNER_EMAIL, password: OWNER_PASSWORD }),
  });
  const cookie = res.headers.get("set-cookie")?.split(";")[0];
  if (res.status !== 200 || !cookie) throw new Error(`sign-in failed: ${res.status} ${await res.text()}`);
  return cookie;
}

function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

export async function runLoad(o: LoadOptions): Promise<LoadResult> {
  const cookie = await signInCookie(o.baseUrl);
  const latencies: number[] = [];
  const latenciesByKind = new Map<string, number[]>();
  const byKind: Record<string, number> = {};
  const errors: string[] = [];
  const externalIds = new Set<string>();
  let expectedRefusals = 0;
  let usageRecords = 0;
  const started = performance.now();
  const deadline = started + o.seconds * 1000;

  const nextRequest = (rand: () => number, client: number, n: number): Req => {
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;
    const roll = rand();
    const m = `month=${o.month}`;
    if (roll < 0.08) return { kind: "summary", method: "GET", path: `reports/summary?${m}`, auth: "key" };
    if (roll < 0.14) return { kind: "purchases", method: "GET", path: `reports/purchases?${m}`, auth: "key" };
    if (roll < 0.22) {
      const feature = pick(["credit", "subscription", "number"]);
      return {
        kind: "allocations",
        method: "GET",
        path: `reports/allocations?${m}&feature=${feature}`,
        auth: "key",
      };
    }
    if (roll < 0.3) {
      const subject = encodeURIComponent(pick(SUBJECTS));
      return {
        kind: "usage report",
        method: "GET",
        path: `reports/usage?${m}&subject=${subject}`,
        auth: "session",
      };
    }
    if (roll < 0.35) {
      const report = pick(["summary", "purchases", "allocations"]);
      return { kind: "csv", method: "GET", path: `reports/${report}?${m}&format=csv`, auth: "key" };
    }
    if (roll < 0.38)
      return {
        kind: "zip",
        method: "GET",
        path: `downloads?${m}&format=csv&reports=summary,purchases,allocations:credit`,
        auth: "key",
      };
    if (roll < 0.6)
      return {
        kind: "allocate",
        method: "POST",
        path: "allocations/credit",
        body: { to: pick(SUBJECTS), amount: cents(1 + Math.floor(rand() * 1_000)) },
        auth: "key",
      };
    if (roll < 0.68)
      return {
        kind: "reclaim",
        method: "POST",
        path: "reclaims",
        body: { from: pick(SUBJECTS), amount: cents(1 + Math.floor(rand() * 500)) },
        auth: "key",
        allowed: "insufficient_balance",
      };
    const count = 20 + Math.floor(rand() * 81);
    const now = Date.now();
    const records = Array.from({ length: count }, (_, j) => {
      const sms = rand() < 0.2;
      return {
        external_id: `soak-${o.seed}-${client}-${n}-${j}`,
        subject: pick(SUBJECTS),
        kind: sms ? "sms" : "call",
        started_at: new Date(now - Math.floor(rand() * 600_000)).toISOString(),
        destination: pick(DESTINATIONS),
        ...(sms ? { segments: 1 } : { duration_s: Math.floor(rand() * 600) }),
      };
    });
    return { kind: "usage batch", method: "POST", path: "usage", body: { records }, auth: "key" };
  };

  const client = async (index: number) => {
    const rand = seededRandom(o.seed * 1_000 + index);
    for (let n = 0; performance.now() < deadline; n++) {
      const r = nextRequest(rand, index, n);
      const t0 = performance.now();
      try {
        const res = await fetch(new URL(`api/v1/${r.path}`, o.baseUrl), {
          method: r.method,
          headers: {
            ...(r.auth === "key" ? { authorization: `Bearer ${o.apiKey}` } : { cookie }),
            ...(r.body === undefined ? {} : { "content-type": "application/json" }),
          },
          ...(r.body === undefined ? {} : { body: JSON.stringify(r.body) }),
        });
        // The whole body is read: a report streamed in full is part of the request's time.
        const text = await res.text();
        const ms = performance.now() - t0;
        latencies.push(ms);
        latenciesByKind.set(r.kind, [...(latenciesByKind.get(r.kind) ?? []), ms]);
        byKind[r.kind] = (byKind[r.kind] ?? 0) + 1;
        if (res.status >= 200 && res.status < 300) {
          if (r.kind === "usage batch") {
            const body = JSON.parse(text) as { stored: number; rejected: unknown[] };
            const sent = (r.body as { records: { external_id: string }[] }).records;
            for (const rec of sent) externalIds.add(rec.external_id);
            usageRecords += sent.length;
            if (body.stored !== sent.length || body.rejected.length > 0)
              errors.push(`${r.kind}: stored ${body.stored} of ${sent.length}: ${text.slice(0, 200)}`);
          }
          continue;
        }
        const code = (JSON.parse(text) as { error?: { code?: string } }).error?.code;
        if (r.allowed !== undefined && code === r.allowed) expectedRefusals++;
        else errors.push(`${r.method} ${r.path}: ${res.status} ${text.slice(0, 200)}`);
      } catch (error) {
        errors.push(`${r.method} ${r.path}: ${String(error)}`);
      }
    }
  };
  await Promise.all(Array.from({ length: o.clients }, (_, i) => client(i)));
  const seconds = (performance.now() - started) / 1000;
  const sorted = [...latencies].sort((a, b) => a - b);
  return {
    seconds,
    requests: latencies.length,
    byKind,
    p99MsByKind: Object.fromEntries(
      [...latenciesByKind].map(([kind, xs]) => [
        kind,
        percentile(
          [...xs].sort((a, b) => a - b),
          99,
        ),
      ]),
    ),
    expectedRefusals,
    errors,
    requestsPerSecond: latencies.length / seconds,
    p50Ms: percentile(sorted, 50),
    p99Ms: percentile(sorted, 99),
    maxMs: sorted.at(-1) ?? 0,
    usageRecords,
    externalIds,
  };
}
