/**
 * Download Reports in Chromium: tick reports, choose a format, Generate — the browser saves a zip of CSV
 * files (UTF-8 with a BOM, the report's header first) or a single PDF.
 */
import fs from "node:fs";
import type { Download, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { browserAvailable, eventually, readZip, startE2E } from "./harness";
import type { E2E } from "./harness";

const ok = browserAvailable();
const BOM = "\uFEFF";
const ALL_REPORTS = [
  "Summary",
  "Purchases",
  "Allocations: Credit",
  "Allocations: Subscriptions",
  "Allocations: Numbers",
] as const;
const SUMMARY_HEADER =
  "recipient_type,recipient,username,groups,credit_allocated,credit_reclaimed,features_cost,usage_charged,closing_balance,currency";

describe.skipIf(!ok)("Download Reports in Chromium", () => {
  let e: E2E;
  let page: Page;
  beforeAll(async () => {
    e = await startE2E();
    page = await e.newPage();
    await e.signIn(page);
  }, 120_000);
  afterAll(async () => {
    const pageErrors = e?.pageErrors ?? [];
    await e?.close();
    // No page of the app threw an uncaught error along the way.
    expect(pageErrors).toEqual([]);
  });

  const reports = () => page.getByRole("group", { name: "Reports" });
  const formats = () => page.getByRole("group", { name: "Format" });

  /** Ticks exactly the reports named, leaving the others unticked. */
  async function tick(...names: string[]): Promise<void> {
    for (const name of ALL_REPORTS)
      await reports().getByRole("checkbox", { name, exact: true }).setChecked(names.includes(name));
  }

  async function generate(): Promise<{ download: Download; bytes: Buffer }> {
    const [download] = await Promise.all([
      page.waitForEvent("download"),
      page.getByRole("button", { name: "Generate" }).click(),
    ]);
    const file = await download.path();
    return { download, bytes: fs.readFileSync(file) };
  }

  it("gives a zip of two CSV files for two ticked reports", async () => {
    await page.goto("/reports/summary");
    await page
      .getByRole("navigation", { name: "Reports menu" })
      .getByRole("link", { name: "Download Reports" })
      .click();
    await eventually(() => page.getByRole("heading", { level: 1 }).textContent()).toBe("Download Reports");
    await tick("Summary", "Purchases");
    expect(await reports().getByRole("checkbox").count()).toBe(ALL_REPORTS.length);
    expect(await reports().getByRole("checkbox", { checked: true }).count()).toBe(2);
    await formats().getByRole("radio", { name: "CSV (comma-separated values)" }).check();

    const { download, bytes } = await generate();
    expect(download.suggestedFilename()).toBe("northwind-telecom-ltd-2026-11-reports.zip");
    await eventually(() =>
      page.getByRole("status").filter({ hasText: "Downloaded" }).textContent(),
    ).toContain("northwind-telecom-ltd-2026-11-reports.zip");
    const files = readZip(bytes);
    expect([...files.keys()].sort()).toEqual([
      "northwind-telecom-ltd-2026-11-purchases.csv",
      "northwind-telecom-ltd-2026-11-summary.csv",
    ]);

    const summary = files.get("northwind-telecom-ltd-2026-11-summary.csv")?.toString("utf8") ?? "";
    expect(summary.startsWith(BOM)).toBe(true);
    expect(summary.slice(1).split("\r\n")[0]).toBe(SUMMARY_HEADER);
    // The same rows as the JSON report, one line each (plus the header and the final line break).
    const json = (await (
      await page.request.get("/api/v1/reports/summary?month=2026-11&format=json")
    ).json()) as {
      rows: unknown[];
    };
    expect(summary.trimEnd().split("\r\n")).toHaveLength(json.rows.length + 1);
    // A name that begins with "@" is neutralised against spreadsheet formulas.
    expect(summary).toContain("'@lex Turner");

    const purchases = files.get("northwind-telecom-ltd-2026-11-purchases.csv")?.toString("utf8") ?? "";
    expect(purchases.startsWith(BOM)).toBe(true);
    expect(purchases.slice(1).split("\r\n")[0]).toMatch(
      /^date,reference,payment_method,status,amount,vat,total/,
    );
  });

  it("gives a single PDF for one ticked report", async () => {
    await page.goto("/reports/download?month=2026-10");
    await eventually(() => page.getByRole("heading", { level: 1 }).textContent()).toBe("Download Reports");
    await tick("Summary");
    await formats().getByRole("radio", { name: "PDF" }).check();
    await eventually(() => page.getByRole("combobox", { name: /^Month of the reports/ }).inputValue()).toBe(
      "2026-10",
    );

    const { download, bytes } = await generate();
    expect(download.suggestedFilename()).toBe("northwind-telecom-ltd-2026-10-summary.pdf");
    expect(bytes.subarray(0, 5).toString("latin1")).toBe("%PDF-");
    expect(bytes.length).toBeGreaterThan(1000);
  });

  it("asks for at least one report before generating", async () => {
    await page.goto("/reports/download");
    await eventually(() => page.getByRole("heading", { level: 1 }).textContent()).toBe("Download Reports");
    await tick();
    await page.getByRole("button", { name: "Generate" }).click();
    await eventually(() => page.getByRole("alert").textContent()).toBe("Tick at least one report.");
  });
});
