/**
 * @module Shared machinery of the crash and soak tests: a fresh database (a SQLite file or a new PostgreSQL
 * database) with one company set up through the importer, the real server (`switchboard serve`) or the real
 * CLI as a child process that can be SIGKILLed, a seeded random source, and a client that sends scripted
 * HTTP requests and remembers which were acknowledged.
 */
import { spawn } from "node:child_process";
import type { ChildProcess } from "node:child_process";
import crypto from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import pg from "pg";
import { importBundle } from "../../src/bundle/import";
import { openDatabase } from "../../src/db/database";
import type { Database, Dialect } from "../../src/db/database";
import { migrate } from "../../src/db/migrate";
import { createApiKey } from "../../src/services/auth.service";
import { PG_ADMIN_URL } from "../helpers/databases";
import { specExampleBundle } from "../helpers/spec-example-bundle";

export const REPO_ROOT = path.resolve(import.meta.dirname, "../..");
const BIN = path.join(REPO_ROOT, "bin/switchboard.mjs");
/** How long a child server may take to print its address (tsx compiles the app on start). */
const SERVER_START_TIMEOUT_MS = 60_000;

/** A small, fast, seedable PRNG (mulberry32): every kill moment and every script comes from the seed. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export const intEnv = (name: string, fallback: number): number => {
  const raw = process.env[name];
  const n = raw === undefined || raw === "" ? fallback : Number(raw);
  if (!Number.isInteger(n) || n < 0) throw new Error(`${name} must be a whole number (got "${raw ?? ""}")`);
  return n;
};

// ----------------------------------------------------------------------------------------- database

export interface FileDatabase {
  dialect: Dialect;
  url: string;
  /** The test's own connection, for setting up and for the checks (the child has its own). */
  db: Database;
  drop(): Promise<void>;
}

/** A database a child process can open too: a SQLite file in a temporary directory, or a new PostgreSQL database. */
export async function createFileDatabase(dialect: Dialect): Promise<FileDatabase> {
  if (dialect === "sqlite") {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "sb-crash-"));
    const url = `sqlite:${path.join(dir, "switchboard.db")}`;
    const db = openDatabase(url);
    await migrate(db);
    return {
      dialect,
      url,
      db,
      drop: async () => {
        await db.close();
        fs.rmSync(dir, { recursive: true, force: true });
      },
    };
  }
  const name = `sb_crash_${crypto.randomBytes(6).toString("hex")}`;
  const admin = new pg.Client({ connectionString: PG_ADMIN_URL });
  await admin.connect();
  await admin.query(`create database ${name} template template0 encoding 'UTF8'`);
  await admin.end();
  const u = new URL(PG_ADMIN_URL);
  u.pathname = `/${name}`;
  const url = u.toString();
  const db = openDatabase(url);
  await migrate(db);
  return {
    dialect,
    url,
    db,
    drop: async () => {
      await db.close();
      const c = new pg.Client({ connectionString: PG_ADMIN_URL });
      await c.connect();
      await c.query(`drop database if exists ${name} with (force)`);
      await c.end();
    },
  };
}

// ------------------------------------------------------------------------------------------ company

export const OWNER_EMAIL = "owner@crash.example";
export const OWNER_PASSWORD = "crash-password-1";
/** Business members (credit can be reclaimed) and one SIP profile; `bea` has an auto-allocation rule. */
export const SUBJECTS = ["bea", "ben", "bob", "bud", "sip:PBX"] as const;
export const PLANS_COUNT = 40;
export const DESTINATIONS = ["+442079460123", "+447700900123", "+33142685300", "+12025550123"] as const;

export interface CrashCompany {
  companyId: number;
  apiKey: string;
  /** Plan ids by index (`Plan 0` … ). */
  planIds: number[];
}

/**
 * One company: EUR, Europe/London, an owner (privacy notice acknowledged, so Usage reports open), four
 * business members, a SIP profile, two UK rates, PLANS_COUNT plans covering +44 (so that each subscription of
 * a script can go to a (subject, plan) pair of its own), ten million euros of completed purchases, an
 * auto-allocation rule, and an API key that may write billing and usage and read reports.
 */
export async function setUpCompany(db: Database, nowMs: number): Promise<CrashCompany> {
  const at = new Date(nowMs - 3_600_000).toISOString();
  const bundle = {
    format: "switchboard-bundle/1",
    company: { name: "Crash Ltd", currency: "EUR", timezone: "Europe/London" },
    admins: [
      {
        email: OWNER_EMAIL,
        name: "Olive Owner",
        role: "owner",
        password: OWNER_PASSWORD,
        privacy_acknowledged_at: at,
      },
    ],
    groups: [{ key: "ops", name: "Ops" }],
    members: ["bea", "ben", "bob", "bud"].map((key) => ({
      key,
      name: `${key[0]!.toUpperCase()}${key.slice(1)} Crash`,
      username: key,
      email: `${key}@crash.example`,
      account_type: "business",
      groups: key === "bea" ? ["ops"] : [],
    })),
    sip_profiles: [{ key: "PBX", name: "PBX", channels: 8 }],
    // The rates of PRODUCT.md §8's example.
    rates: specExampleBundle()["rates"],
    plans: Array.from({ length: PLANS_COUNT }, (_, i) => ({
      key: `p${i}`,
      name: `Plan ${i}`,
      price: "1.99",
      prefixes: ["44"],
      minutes: 30,
    })),
    events: [
      {
        at,
        type: "purchase",
        by: OWNER_EMAIL,
        reference: "P-SEED",
        amount: "10000000.00",
        vat_rate: "0.20",
        payment_method: "bank_transfer",
        status: "completed",
      },
      {
        at,
        type: "auto_allocate_rule",
        by: OWNER_EMAIL,
        to: "bea",
        threshold: "1.00",
        amount: "5.00",
        monthly_cap: "1000000.00",
      },
    ],
  };
  const { company_id: companyId } = await importBundle(db, bundle, { nowMs });
  const admin = await db.k
    .selectFrom("admins")
    .selectAll()
    .where("company_id", "=", companyId)
    .executeTakeFirstOrThrow();
  const { key } = await createApiKey(db, {
    companyId,
    name: "crash test",
    scopes: ["billing:write", "usage:write", "reports:read"],
    admin,
    nowMs,
  });
  const plans = await db.k
    .selectFrom("plans")
    .select(["id", "name"])
    .where("company_id", "=", companyId)
    .execute();
  const planIds = Array.from(
    { length: PLANS_COUNT },
    (_, i) => plans.find((p) => p.name === `Plan ${i}`)!.id,
  );
  return { companyId, apiKey: key, planIds };
}

// -------------------------------------------------------------------------------------- child processes

export interface ChildServer {
  url: string;
  proc: ChildProcess;
  /** SIGKILL, then wait until the process is gone. */
  kill(): Promise<void>;
  /** SIGTERM (graceful), then wait. */
  stop(): Promise<void>;
}

function exited(proc: ChildProcess): Promise<void> {
  if (proc.exitCode !== null || proc.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => proc.once("exit", () => resolve()));
}

/** Runs `switchboard serve` on a free loopback port and resolves once it prints where it serves. */
export async function startChildServer(
  databaseUrl: string,
  env: Record<string, string> = {},
): Promise<ChildServer> {
  const proc = spawn(process.execPath, [BIN, "serve", "--port", "0"], {
    cwd: REPO_ROOT,
    env: { ...process.env, DATABASE_URL: databaseUrl, HOST: "127.0.0.1", LOG_LEVEL: "silent", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  proc.stderr.setEncoding("utf8").on("data", (chunk: string) => {
    stderr += chunk;
  });
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => {
      proc.kill("SIGKILL");
      reject(
        new Error(`the server did not start within ${SERVER_START_TIMEOUT_MS} ms:\n${stdout}\n${stderr}`),
      );
    }, SERVER_START_TIMEOUT_MS);
    proc.stdout.setEncoding("utf8").on("data", (chunk: string) => {
      stdout += chunk;
      const match = / at (http:\/\/\S+?\/)\n/.exec(stdout);
      if (match?.[1]) {
        clearTimeout(timer);
        resolve(match[1]);
      }
    });
    proc.once("exit", (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`the server exited (${code ?? signal}) before it served:\n${stdout}\n${stderr}`));
    });
  });
  return {
    url,
    proc,
    async kill() {
      proc.kill("SIGKILL");
      await exited(proc);
    },
    async stop() {
      proc.kill("SIGTERM");
      await exited(proc);
    },
  };
}

export interface CliRun {
  proc: ChildProcess;
  done: Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }>;
}

/** Runs `switchboard ARGS…` as a child process. */
export function runCli(args: string[], databaseUrl: string): CliRun {
  const proc = spawn(process.execPath, [BIN, ...args], {
    cwd: REPO_ROOT,
    env: { ...process.env, DATABASE_URL: databaseUrl, LOG_LEVEL: "silent" },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  proc.stdout.setEncoding("utf8").on("data", (c: string) => (stdout += c));
  proc.stderr.setEncoding("utf8").on("data", (c: string) => (stderr += c));
  const done = new Promise<{
    code: number | null;
    signal: NodeJS.Signals | null;
    stdout: string;
    stderr: string;
  }>((resolve) => proc.once("exit", (code, signal) => resolve({ code, signal, stdout, stderr })));
  return { proc, done };
}

// ------------------------------------------------------------------------------------------- HTTP

export interface ScriptedRequest {
  /** Stable name of the request in the script (also its Idempotency-Key). */
  key: string;
  method: "POST" | "PUT" | "GET";
  path: string;
  body?: unknown;
}

export interface Answer {
  status: number;
  json: unknown;
  replayed: boolean;
}

/** Sends one request; a network failure (the server died, or is not there) resolves to null: not acknowledged. */
export async function send(
  baseUrl: string,
  apiKey: string,
  r: ScriptedRequest,
  signal?: AbortSignal,
): Promise<Answer | null> {
  try {
    const res = await fetch(new URL(r.path.replace(/^\//, ""), baseUrl), {
      method: r.method,
      headers: {
        authorization: `Bearer ${apiKey}`,
        ...(r.method === "GET" ? {} : { "idempotency-key": r.key, "content-type": "application/json" }),
      },
      ...(r.body === undefined ? {} : { body: JSON.stringify(r.body) }),
      ...(signal ? { signal } : {}),
    });
    const text = await res.text();
    let json: unknown = text;
    try {
      json = JSON.parse(text);
    } catch {
      // not JSON (a CSV report): kept as text
    }
    return { status: res.status, json, replayed: res.headers.get("idempotent-replayed") === "true" };
  } catch {
    return null;
  }
}

/**
 * Sends the requests with `concurrency` clients, each taking the next unsent one; stops taking new ones once
 * `stopped()` says so. Returns the answers by key: a request without an answer was not acknowledged.
 */
export async function sendAll(
  baseUrl: string,
  apiKey: string,
  requests: readonly ScriptedRequest[],
  concurrency: number,
  stopped: () => boolean = () => false,
): Promise<Map<string, Answer>> {
  const answers = new Map<string, Answer>();
  let next = 0;
  const client = async () => {
    while (!stopped()) {
      const r = requests[next++];
      if (!r) return;
      const answer = await send(baseUrl, apiKey, r);
      if (answer) answers.set(r.key, answer);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, client));
  return answers;
}

// ------------------------------------------------------------------------------------------ scripts

/** A scripted money-moving request and what its success means for the ledger. */
export interface MoneyRequest extends ScriptedRequest {
  effect:
    | { kind: "allocate" | "reclaim"; subject: string; amountMinor: number }
    | { kind: "subscription"; subject: string; amountMinor: number }
    | { kind: "usage"; externalIds: string[] };
}

export const SUBSCRIPTION_PRICE_MINOR = 199;

/** What the whole test has scripted so far: usage ids, and which (subject, plan) pairs are taken. */
export interface ScriptState {
  nextPair: number;
}

const cents = (minor: number): string => `${Math.floor(minor / 100)}.${String(minor % 100).padStart(2, "0")}`;

/**
 * A deterministic script of `count` requests for one loop (`tag` keeps keys and external ids unique across
 * loops): credit allocations and reclaims, subscriptions (each to a (subject, plan) pair of its own, so
 * every one must succeed exactly once), and usage batches of calls and text messages.
 */
export function moneyScript(
  rand: () => number,
  tag: string,
  count: number,
  company: CrashCompany,
  state: ScriptState,
  nowMs: number,
  batchRecords: { min: number; max: number } = { min: 10, max: 50 },
): MoneyRequest[] {
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;
  const out: MoneyRequest[] = [];
  for (let i = 0; i < count; i++) {
    const key = `${tag}-${i}`;
    const roll = rand();
    if (roll < 0.35) {
      const subject = pick(SUBJECTS);
      const amountMinor = 1 + Math.floor(rand() * 2_000);
      out.push({
        key,
        method: "POST",
        path: "/api/v1/allocations/credit",
        body: { to: subject, amount: cents(amountMinor) },
        effect: { kind: "allocate", subject, amountMinor },
      });
    } else if (roll < 0.5) {
      const subject = pick(SUBJECTS);
      const amountMinor = 1 + Math.floor(rand() * 300);
      out.push({
        key,
        method: "POST",
        path: "/api/v1/reclaims",
        body: { from: subject, amount: cents(amountMinor) },
        effect: { kind: "reclaim", subject, amountMinor },
      });
    } else if (roll < 0.55 && state.nextPair < SUBJECTS.length * PLANS_COUNT) {
      const pair = state.nextPair++;
      const subject = SUBJECTS[pair % SUBJECTS.length]!;
      const planId = company.planIds[Math.floor(pair / SUBJECTS.length)]!;
      out.push({
        key,
        method: "POST",
        path: "/api/v1/subscriptions",
        body: { to: subject, plan_id: planId },
        effect: { kind: "subscription", subject, amountMinor: SUBSCRIPTION_PRICE_MINOR },
      });
    } else {
      const n = batchRecords.min + Math.floor(rand() * (batchRecords.max - batchRecords.min + 1));
      const records = Array.from({ length: n }, (_, j) => {
        const sms = rand() < 0.2;
        return {
          external_id: `${key}-${j}`,
          subject: pick(SUBJECTS),
          kind: sms ? "sms" : "call",
          started_at: new Date(nowMs - Math.floor(rand() * 1_800_000)).toISOString(),
          destination: pick(DESTINATIONS),
          ...(sms ? { segments: 1 + Math.floor(rand() * 3) } : { duration_s: Math.floor(rand() * 400) }),
        };
      });
      out.push({
        key,
        method: "POST",
        path: "/api/v1/usage",
        body: { records },
        effect: { kind: "usage", externalIds: records.map((r) => r.external_id) },
      });
    }
  }
  return out;
}

/**
 * What the final answers of a script prove about the ledger, checked against the database: every successful
 * allocation, reclaim and subscription is exactly one transfer (same id, recipient and amount) and no other
 * such transfer exists; every usage record of the script is stored exactly once; every refusal is one the
 * script allows (a reclaim above the balance). Returns the violations.
 */
export async function exactlyOnceViolations(
  db: Database,
  companyId: number,
  requests: readonly MoneyRequest[],
  answers: ReadonlyMap<string, Answer>,
): Promise<string[]> {
  const out: string[] = [];
  const expected: string[] = [];
  const ids = new Set<string>();
  for (const r of requests) {
    const a = answers.get(r.key);
    if (!a) {
      out.push(`${r.key}: never acknowledged`);
      continue;
    }
    const body = a.json as Record<string, unknown> & { error?: { code?: string } };
    if (r.effect.kind === "usage") {
      for (const id of r.effect.externalIds) ids.add(id);
      const stored = Number(body["stored"]) + Number(body["duplicates"]);
      if (a.status !== 200 || stored !== r.effect.externalIds.length)
        out.push(`${r.key}: usage batch answered ${a.status} ${JSON.stringify(body).slice(0, 200)}`);
      continue;
    }
    if (a.status === 200 || a.status === 201) {
      const id =
        r.effect.kind === "subscription"
          ? `s${String((body["item"] as { id: number }).id)}`
          : `t${String(body["transfer_id"])}`;
      expected.push(`${r.effect.kind}|${r.effect.subject}|${r.effect.amountMinor}|${id}`);
    } else if (!(r.effect.kind === "reclaim" && body.error?.code === "insufficient_balance")) {
      out.push(`${r.key}: ${r.effect.kind} refused: ${a.status} ${JSON.stringify(body).slice(0, 200)}`);
    }
  }
  const transfers = await db.k
    .selectFrom("transfers as t")
    .innerJoin("accounts as a", "a.id", "t.recipient_account_id")
    .leftJoin("members as m", "m.account_id", "a.id")
    .leftJoin("sip_profiles as s", "s.account_id", "a.id")
    .leftJoin("subscriptions as sub", "sub.transfer_id", "t.id")
    .select(["t.id", "t.kind", "t.amount_minor", "m.username", "s.name", "sub.id as subscription_id"])
    .where("t.company_id", "=", companyId)
    .where("t.kind", "in", ["allocate", "reclaim", "subscription"])
    .execute();
  const actual = transfers.map((t) => {
    const subject = t.username ?? `sip:${t.name ?? "?"}`;
    const id = t.kind === "subscription" ? `s${String(t.subscription_id)}` : `t${t.id}`;
    return `${t.kind}|${subject}|${t.amount_minor}|${id}`;
  });
  const missing = expected.filter((e) => !actual.includes(e));
  const extra = actual.filter((e) => !expected.includes(e));
  if (missing.length > 0) out.push(`acknowledged but not in the ledger: ${missing.slice(0, 5).join(", ")}`);
  if (extra.length > 0)
    out.push(`in the ledger but never acknowledged (applied twice?): ${extra.slice(0, 5).join(", ")}`);
  const usage = await db.k
    .selectFrom("usage_records")
    .select((eb) => [eb.fn.countAll<number>().as("n"), eb.fn.count<number>("external_id").distinct().as("d")])
    .where("company_id", "=", companyId)
    .executeTakeFirstOrThrow();
  if (Number(usage.n) !== ids.size || Number(usage.d) !== ids.size)
    out.push(
      `usage: ${ids.size} records scripted, ${Number(usage.n)} stored (${Number(usage.d)} distinct ids)`,
    );
  return out;
}
