/**
 * The four reports in Chromium, as an owner clicks through them: the left menu, Previous month / Next month
 * and the Month drop-down (figures checked against the JSON API for the same month), a filter that narrows
 * the rows, and the README's screenshot of the Summary page.
 */
import fs from "node:fs";
import path from "node:path";
import type { Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  browserAvailable,
  digits,
  eventually,
  pickUsageSubject,
  reportJson,
  reportTotal,
  startE2E,
  tableRows,
} from "./harness";
import type { E2E } from "./harness";

const ok = browserAvailable();
const SCREENSHOT = path.resolve(import.meta.dirname, "../../docs/screenshot-reports.png");

describe.skipIf(!ok)("Reports in Chromium", () => {
  let e: E2E;
  let page: Page;
  beforeAll(async () => {
    e = await startE2E();
    page = await e.newPage();
    await e.signIn(page);
    // Usage needs the data-privacy steps once (privacy.e2e.test.ts clicks through them).
    const csrf = ((await (await page.request.get("/api/v1/auth/session")).json()) as { csrf_token: string })
      .csrf_token;
    await page.request.post("/api/v1/privacy/acknowledge", { headers: { "x-csrf-token": csrf } });
  }, 120_000);
  afterAll(async () => {
    const pageErrors = e?.pageErrors ?? [];
    await e?.close();
    // No page of the app threw an uncaught error along the way.
    expect(pageErrors).toEqual([]);
  });

  const menu = () => page.getByRole("navigation", { name: "Reports menu" });
  const heading = () => page.getByRole("heading", { level: 1 });

  it("opens Summary, Purchases, Allocations (Credit, Subscriptions, Numbers) and Usage from the menu", async () => {
    await page.goto("/reports/summary");
    await eventually(() => heading().textContent()).toBe("Summary — November 2026");
    const summary = await reportJson(page, "summary", { month: "2026-11" });
    await eventually(() => tableRows(page)).toBe(summary.rows.length);
    await eventually(async () => digits(await reportTotal(page, "Closing balance").textContent())).toBe(
      digits(String(summary.totals["closing_company_balance"])),
    );

    await menu().getByRole("link", { name: "Purchases", exact: true }).click();
    await eventually(() => heading().textContent()).toBe("Purchases — November 2026");
    const purchases = await reportJson(page, "purchases", { month: "2026-11" });
    await eventually(() => tableRows(page)).toBe(purchases.rows.length);

    await menu().getByRole("link", { name: "Allocations", exact: true }).click();
    await page.waitForURL(/\/reports\/allocations\/credit/);
    await eventually(() => heading().textContent()).toBe("Allocations: Credit — November 2026");
    const credit = await reportJson(page, "allocations", { month: "2026-11", feature: "credit" });
    expect(credit.rows.length).toBeGreaterThan(0);
    await eventually(() => tableRows(page)).toBe(credit.rows.length);

    for (const [label, feature] of [
      ["Subscriptions", "subscription"],
      ["Numbers", "number"],
    ] as const) {
      await menu().getByRole("link", { name: label, exact: true }).click();
      await eventually(() => heading().textContent()).toBe(`Allocations: ${label} — November 2026`);
      const doc = await reportJson(page, "allocations", { month: "2026-11", feature });
      await eventually(() => reportTotal(page, "Rows").textContent()).toBe(String(doc.rows.length));
      if (doc.rows.length > 0) await eventually(() => tableRows(page)).toBe(doc.rows.length);
      else await eventually(() => page.locator(".empty").textContent()).toContain("No ");
    }

    await menu().getByRole("link", { name: "Usage", exact: true }).click();
    await eventually(() => heading().textContent()).toBe("Usage");
    await pickUsageSubject(page, "Amélie", "Amélie Dubois");
    await page.waitForURL(/\/reports\/usage\/northwind\.amelie/);
    await eventually(() => heading().textContent()).toBe("Usage: Amélie Dubois — November 2026");
    const usage = await reportJson(page, "usage", { month: "2026-11", subject: "northwind.amelie" });
    expect(usage.rows.length).toBeGreaterThan(0);
    await eventually(() => tableRows(page)).toBe(usage.rows.length);
    await eventually(async () => digits(await reportTotal(page, "Charged").textContent())).toBe(
      digits(String(usage.totals["charged"])),
    );
  });

  it("changes the figures with Previous month, Next month and the Month drop-down", async () => {
    const [nov, oct, sep] = await Promise.all(
      ["2026-11", "2026-10", "2026-09"].map((month) => reportJson(page, "summary", { month })),
    );
    const purchased = (doc: typeof nov) => digits(String(doc?.totals["purchased"]));
    const closing = (doc: typeof nov) => digits(String(doc?.totals["closing_company_balance"]));
    // The months differ, or this test would prove nothing.
    expect(purchased(nov)).not.toBe(purchased(oct));
    expect(closing(oct)).not.toBe(closing(sep));

    await page.goto("/reports/summary");
    await eventually(() => heading().textContent()).toBe("Summary — November 2026");
    await eventually(async () => digits(await reportTotal(page, "Purchased").textContent())).toBe(
      purchased(nov),
    );
    await eventually(() => page.getByRole("button", { name: "Next month" }).isDisabled()).toBe(true);

    await page.getByRole("button", { name: "Previous month" }).click();
    await eventually(() => new URL(page.url()).searchParams.get("month")).toBe("2026-10");
    await eventually(() => heading().textContent()).toBe("Summary — October 2026");
    await eventually(async () => digits(await reportTotal(page, "Purchased").textContent())).toBe(
      purchased(oct),
    );
    await eventually(async () => digits(await reportTotal(page, "Closing balance").textContent())).toBe(
      closing(oct),
    );

    await page.getByRole("button", { name: "Next month" }).click();
    await eventually(() => heading().textContent()).toBe("Summary — November 2026");
    await eventually(async () => digits(await reportTotal(page, "Purchased").textContent())).toBe(
      purchased(nov),
    );

    await page.getByRole("combobox", { name: /^Month/ }).selectOption({ label: "September 2026" });
    await eventually(() => heading().textContent()).toBe("Summary — September 2026");
    await eventually(async () => digits(await reportTotal(page, "Closing balance").textContent())).toBe(
      closing(sep),
    );
    // The oldest month with data: nothing before it.
    await eventually(() => page.getByRole("button", { name: "Previous month" }).isDisabled()).toBe(true);

    // The month stays when moving to another report.
    await menu().getByRole("link", { name: "Purchases", exact: true }).click();
    await eventually(() => heading().textContent()).toBe("Purchases — September 2026");
    const septPurchases = await reportJson(page, "purchases", { month: "2026-09" });
    await eventually(() => tableRows(page)).toBe(septPurchases.rows.length);
  });

  it("narrows the rows with a filter: Purchases by status, Usage by kind", async () => {
    await page.goto("/reports/purchases?month=2026-11");
    const all = await reportJson(page, "purchases", { month: "2026-11" });
    const completed = await reportJson(page, "purchases", { month: "2026-11", status: "completed" });
    expect(completed.rows.length).toBeLessThan(all.rows.length);
    await eventually(() => tableRows(page)).toBe(all.rows.length);
    await page.getByRole("combobox", { name: "Filter" }).selectOption({ label: "Status: Completed" });
    await eventually(() => new URL(page.url()).searchParams.get("status")).toBe("completed");
    await eventually(() => tableRows(page)).toBe(completed.rows.length);
    await eventually(() => page.locator(".row-count").textContent()).toBe(`${completed.rows.length} rows`);
    const table = page.getByRole("region", { name: /: rows$/ });
    await eventually(() => table.getByRole("cell", { name: "Pending", exact: true }).count()).toBe(0);
    await page.getByRole("combobox", { name: "Filter" }).selectOption({ label: "No filter" });
    await eventually(() => tableRows(page)).toBe(all.rows.length);

    await page.goto("/reports/usage/northwind.lukasz?month=2026-11");
    const calls = await reportJson(page, "usage", { month: "2026-11", subject: "northwind.lukasz" });
    const sms = await reportJson(page, "usage", {
      month: "2026-11",
      subject: "northwind.lukasz",
      kind: "sms",
    });
    expect(sms.rows.length).toBeGreaterThan(0);
    expect(sms.rows.length).toBeLessThan(calls.rows.length);
    await eventually(() => tableRows(page)).toBe(calls.rows.length);
    await page.getByRole("combobox", { name: "Filter" }).selectOption({ label: "Kind: SMS" });
    await eventually(() => tableRows(page)).toBe(sms.rows.length);
    await eventually(() => reportTotal(page, "Calls").textContent()).toBe("0");
    await eventually(async () => digits(await reportTotal(page, "Charged").textContent())).toBe(
      digits(String(sms.totals["charged"])),
    );
  });

  it("takes the README's screenshot of the Summary page (1280×900)", async () => {
    const shot = await e.newPage({ width: 1280, height: 900 });
    await e.signIn(shot);
    await shot.goto("/reports/summary");
    await eventually(() => shot.getByRole("heading", { level: 1 }).textContent()).toBe(
      "Summary — November 2026",
    );
    // Both charts drawn (no "Loading the chart…"), the balance and the table shown, nothing fetching.
    await eventually(() => shot.locator("canvas[role=img]").count()).toBe(2);
    await eventually(() => shot.getByRole("region", { name: "Company balance" }).count()).toBe(1);
    await eventually(() => tableRows(shot)).toBeGreaterThan(0);
    await eventually(() => shot.locator("[aria-busy=true], .loading").count()).toBe(0);
    fs.mkdirSync(path.dirname(SCREENSHOT), { recursive: true });
    const png = await shot.screenshot({ path: SCREENSHOT, fullPage: true, animations: "disabled" });
    expect(png.subarray(1, 4).toString()).toBe("PNG");
    expect(png.length).toBeLessThan(300 * 1024);
    await shot.context().close();
  });
});
