/**
 * @module Browser tests: the real server (in-process, on a loopback port, a fresh SQLite database with the
 * demo company at a fixed date) driven by playwright-core in Debian's Chromium. Never downloads a browser.
 * Without /usr/bin/chromium the suites skip with a notice — except under CI=true, where they must run.
 */
import fs from "node:fs";
import { createRequire } from "node:module";
import os from "node:os";
import path from "node:path";
import { chromium } from "playwright-core";
import type { Browser, Page } from "playwright-core";
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
    async newPage(opts = {}) {
      const context = await browser.newContext({
        baseURL: server.url,
        viewport: { width: opts.width ?? 1280, height: opts.height ?? 900 },
        locale: opts.locale ?? "en-GB",
        timezoneId: "Europe/London",
        acceptDownloads: true,
      });
      return context.newPage();
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
