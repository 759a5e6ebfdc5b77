/**
 * @module Browser tests: the real server (in-process, on a loopback port, a fresh SQLite database with the
 * demo company at a fixed date) driven by playwright-core in Debian's Chromium. Never downloads a browser.
 * Without /usr/bin/chromium the suites skip with a notice — except under CI=true, where they must run.
 */
import fs from "node:fs";
import { createRequire } from "node:module";
import os from "node:os";
import path from "node:path";
import zlib from "node:zlib";
import { chromium, request } from "playwright-core";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { expect } from "vitest";
import { importBundle } from "../../src/bundle/import";
import { generateDemoBundle } from "../../src/bundle/demo-bundle";
import { loadConfig } from "../../src/config";
import { openDatabase } from "../../src/db/database";
import type { Database } from "../../src/db/database";
import { migrate } from "../../src/db/migrate";
import { startServer } from "../../src/http/server";
import type { RunningServer } from "../../src/http/server";
import { WEB_DIST_DIR } from "../../src/http/app";
import { ManualClock } from "../../src/time/clock";

const AXE_SOURCE = createRequire(import.meta.url).resolve("axe-core/axe.min.js");
export const CHROMIUM = process.env["CHROMIUM_PATH"] ?? "/usr/bin/chromium";
export const DEMO_NOW = Date.parse("2026-11-27T12:00:00Z");
/** How long a click or a wait for an element may take before the test fails (Playwright's default is 30 s). */
const ACTION_TIMEOUT_MS = 15_000;
export const OWNER = { email: "owner@northwind.example", password: "demo-password-1" };

export function browserAvailable(): boolean {
  const ok = fs.existsSync(CHROMIUM) && fs.existsSync(path.join(WEB_DIST_DIR, "index.html"));
  if (!ok) {
    const why = `Chromium at ${CHROMIUM} and a built web app (npm run build:web) are needed for browser tests`;
    if (process.env["CI"] === "true") throw new Error(`${why} (CI=true)`);
    console.warn(`NOTICE: ${why}; browser tests are skipped.`);
  }
  return ok;
}

export interface E2E {
  server: RunningServer;
  db: Database;
  browser: Browser;
  clock: ManualClock;
  dir: string;
  /** Uncaught errors of the app's pages (each "url: message"); a test may check that there are none. */
  pageErrors: string[];
  newPage(opts?: { width?: number; height?: number; locale?: string }): Promise<Page>;
  signIn(page: Page, email?: string, password?: string): Promise<void>;
  close(): Promise<void>;
}

export async function startE2E(): Promise<E2E> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "sb-e2e-"));
  const db = openDatabase(`sqlite:${path.join(dir, "e2e.db")}`);
  await migrate(db);
  const clock = new ManualClock(DEMO_NOW);
  await importBundle(db, generateDemoBundle({ now: DEMO_NOW, seed: 42 }), { nowMs: DEMO_NOW });
  const server = await startServer({ db, clock, config: loadConfig({ PORT: "0", LOG_LEVEL: "silent" }) });
  const webApp = await snapshotWebApp(path.join(dir, "web"));
  const pageErrors: string[] = [];
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
  return {
    server,
    db,
    browser,
    clock,
    dir,
    pageErrors,
    async newPage(opts = {}) {
      const context = await browser.newContext({
        baseURL: server.url,
        viewport: { width: opts.width ?? 1280, height: opts.height ?? 900 },
        locale: opts.locale ?? "en-GB",
        timezoneId: "Europe/London",
        acceptDownloads: true,
      });
      context.setDefaultTimeout(ACTION_TIMEOUT_MS);
      await serveSnapshot(context, server.url, webApp);
      const page = await context.newPage();
      page.on("pageerror", (error) => pageErrors.push(`${page.url()}: ${error.message}`));
      return page;
    },
    async signIn(page, email = OWNER.email, password = OWNER.password) {
      await page.goto("/login");
      await page.getByLabel(/email|e-mail/i).fill(email);
      await page.getByLabel(/password|passwort/i).fill(password);
      await page.getByRole("button", { name: /sign in|anmelden/i }).click();
      await page.waitForURL((url) => !url.pathname.startsWith("/login"));
    },
    async close() {
      await browser.close();
      await server.close();
      await db.close();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * A copy of the built web app, taken when the suite starts: a `npm run build:web` while the browser tests
 * run (it empties web/dist and renames every chunk) must not pull the pages from under them.
 */
async function snapshotWebApp(to: string): Promise<string> {
  const index = path.join(WEB_DIST_DIR, "index.html");
  // A build that is being written has no index.html for a moment.
  for (let waited = 0; !fs.existsSync(index); waited += 100) {
    if (waited > 30_000) throw new Error(`${index} is missing: run npm run build:web`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  fs.cpSync(WEB_DIST_DIR, to, { recursive: true });
  return to;
}

/**
 * The web app's pages and assets come from the snapshot; the documents keep the server's headers (its
 * strict CSP among them), and /api goes to the server untouched.
 */
async function serveSnapshot(context: BrowserContext, base: string, root: string): Promise<void> {
  const origin = new URL(base).origin;
  const index = fs.readFileSync(path.join(root, "index.html"));
  await context.route(
    (url) => url.origin === origin && !url.pathname.startsWith("/api/"),
    async (route) => {
      const url = new URL(route.request().url());
      if (url.pathname.startsWith("/assets/")) {
        const file = path.join(root, path.normalize(decodeURIComponent(url.pathname)));
        if (file.startsWith(root + path.sep) && fs.existsSync(file)) return route.fulfill({ path: file });
        return route.continue();
      }
      if (route.request().resourceType() !== "document") return route.continue();
      const response = await route.fetch();
      return route.fulfill({
        response,
        status: 200,
        headers: { ...response.headers(), "content-type": "text/html; charset=utf-8" },
        body: index,
      });
    },
  );
}

/** Runs axe-core in the page; returns the serious and critical violations. */
export async function axeViolations(
  page: Page,
): Promise<{ id: string; impact: string; nodes: number; help: string }[]> {
  const source = fs.readFileSync(AXE_SOURCE, "utf8");
  // Evaluated through the DevTools protocol, so the page's strict CSP (no inline scripts) stays on.
  await page.evaluate(source);
  const result = await page.evaluate(async () => {
    const axe = (
      globalThis as unknown as {
        axe: {
          run(): Promise<{
            violations: { id: string; impact: string | null; nodes: unknown[]; help: string }[];
          }>;
        };
      }
    ).axe;
    return axe.run();
  });
  return result.violations
    .filter((v) => v.impact === "serious" || v.impact === "critical")
    .map((v) => ({ id: v.id, impact: v.impact ?? "", nodes: v.nodes.length, help: v.help }));
}

// ------------------------------------------------------------------------------------------- helpers

/**
 * expect.poll with room for a busy machine (vitest's default gives up after 1 s): retries `read` until the
 * matcher passes or 10 s have gone by.
 */
export function eventually<T>(read: () => T | Promise<T>) {
  return expect.poll(read, { timeout: 10_000, interval: 50 });
}

export const ADMIN = { email: "admin@northwind.example", password: "demo-password-2" };
export const VIEWER = { email: "viewer@northwind.example", password: "demo-password-3" };

/** The signed-in context's CSRF token (GET /api/v1/auth/session), for writes made with page.request. */
export async function csrfToken(page: Page): Promise<string> {
  const res = await page.request.get("/api/v1/auth/session");
  if (!res.ok()) throw new Error(`GET /api/v1/auth/session answered ${res.status()}`);
  return ((await res.json()) as { csrf_token: string }).csrf_token;
}

/** GET an /api/v1 path with the page's cookies; the JSON body (throws on an error status). */
export async function apiGet<T = Record<string, unknown>>(page: Page, path: string): Promise<T> {
  const res = await page.request.get(`/api/v1${path}`);
  if (!res.ok()) throw new Error(`GET /api/v1${path} answered ${res.status()}: ${await res.text()}`);
  return (await res.json()) as T;
}

/** POST JSON to an /api/v1 path with the page's cookies and CSRF token; the JSON body. */
export async function apiPost<T = Record<string, unknown>>(
  page: Page,
  path: string,
  body: unknown,
): Promise<T> {
  const res = await page.request.post(`/api/v1${path}`, {
    data: body,
    headers: { "x-csrf-token": await csrfToken(page) },
  });
  if (!res.ok()) throw new Error(`POST /api/v1${path} answered ${res.status()}: ${await res.text()}`);
  return (await res.json()) as T;
}

/** As an owner or admin (signed in on `page`), invites `email`; the invitation's token. */
export async function invite(page: Page, email: string): Promise<string> {
  return (await apiPost<{ token: string }>(page, "/invitations", { email })).token;
}

/**
 * A new personal member, created through the API only (invitation, then acceptance): for tests that need
 * a member to sign in as but do not test the invitation page itself.
 */
export async function createMember(
  ownerPage: Page,
  member: { email: string; name: string; username: string; password: string },
): Promise<void> {
  const token = await invite(ownerPage, member.email);
  // The invited person is not signed in: a request context of their own, without the owner's cookies.
  const guest = await request.newContext({ baseURL: new URL(ownerPage.url()).origin });
  try {
    const res = await guest.post(`/api/v1/invitations/by-token/${token}/accept`, {
      data: { name: member.name, username: member.username, password: member.password },
    });
    if (!res.ok()) throw new Error(`accepting the invitation answered ${res.status()}: ${await res.text()}`);
  } finally {
    await guest.dispose();
  }
}

/** Only the digits of a text ("€2,504.23" → "250423"): compares amounts however the locale writes them. */
export const digits = (text: string | null | undefined): string => (text ?? "").replace(/\D/g, "");

/** The names and contents of a zip's entries, read from its central directory (stored or deflated). */
export function readZip(zip: Buffer): Map<string, Buffer> {
  const eocd = zip.lastIndexOf(Buffer.from([0x50, 0x4b, 0x05, 0x06]));
  if (eocd < 0) throw new Error("not a zip file: no end of central directory");
  const count = zip.readUInt16LE(eocd + 10);
  let at = zip.readUInt32LE(eocd + 16);
  const files = new Map<string, Buffer>();
  for (let i = 0; i < count; i++) {
    if (zip.readUInt32LE(at) !== 0x02014b50) throw new Error("broken zip central directory");
    const method = zip.readUInt16LE(at + 10);
    const size = zip.readUInt32LE(at + 20);
    const nameLength = zip.readUInt16LE(at + 28);
    const extra = zip.readUInt16LE(at + 30);
    const comment = zip.readUInt16LE(at + 32);
    const local = zip.readUInt32LE(at + 42);
    const name = zip.toString("utf8", at + 46, at + 46 + nameLength);
    const dataStart = local + 30 + zip.readUInt16LE(local + 26) + zip.readUInt16LE(local + 28);
    const data = zip.subarray(dataStart, dataStart + size);
    files.set(name, method === 8 ? zlib.inflateRawSync(data) : Buffer.from(data));
    at += 46 + nameLength + extra + comment;
  }
  return files;
}

// ------------------------------------------------------------------------------------------- report screens

/** The shown value of one of a report's totals ("Purchased", "Closing balance", "Rows"…). */
export function reportTotal(page: Page, label: string) {
  return page
    .getByRole("region", { name: "Totals" })
    .locator("div")
    .filter({ has: page.locator("dt").getByText(label, { exact: true }) })
    .locator("dd");
}

/** How many rows the report's table says it has (aria-rowcount less the header row); null without a table. */
export async function tableRows(page: Page): Promise<number | null> {
  const table = page.getByRole("region", { name: /: rows$/ }).getByRole("table");
  if ((await table.count()) === 0) return null;
  const count = await table.getAttribute("aria-rowcount");
  return count === null ? null : Number(count) - 1;
}

/** The report's JSON from the API, as the page's signed-in user. */
export interface ReportJson {
  month: string;
  totals: Record<string, string | number>;
  rows: Record<string, string | number | null>[];
  subject?: { name: string };
}
export async function reportJson(
  page: Page,
  report: string,
  query: Record<string, string>,
): Promise<ReportJson> {
  const q = new URLSearchParams({ format: "json", ...query });
  return apiGet<ReportJson>(page, `/reports/${report}?${q.toString()}`);
}

/** Types in the Usage search of the Reports menu and picks the member or SIP profile named `name`. */
export async function pickUsageSubject(page: Page, search: string, name: string): Promise<void> {
  const box = page.getByRole("combobox", { name: "Member or SIP profile" });
  await box.fill(search);
  await page.getByRole("option", { name: new RegExp(name) }).click();
}
