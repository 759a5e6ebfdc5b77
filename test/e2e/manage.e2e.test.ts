/**
 * Management in Chromium: allocating credit through the form and its confirmation dialog moves money from
 * the company balance to the member (checked against GET /api/v1/balances); a viewer sees no management
 * links and cannot open a management page.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { apiGet, browserAvailable, digits, eventually, startE2E, VIEWER } from "./harness";
import type { E2E } from "./harness";

const ok = browserAvailable();

interface Balances {
  company_balance: string;
  subjects: { subject: string; name: string; balance: string }[];
}

/** "2504.23" → 250423 (cents), so that amounts are compared without floats. */
const cents = (amount: string): number => Number(amount.replace(".", ""));

describe.skipIf(!ok)("Management in Chromium", () => {
  let e: E2E;
  beforeAll(async () => {
    e = await startE2E();
  }, 120_000);
  afterAll(async () => {
    const pageErrors = e?.pageErrors ?? [];
    await e?.close();
    // No page of the app threw an uncaught error along the way.
    expect(pageErrors).toEqual([]);
  });

  it("allocates credit after confirmation, and both balances change by the amount", async () => {
    const page = await e.newPage();
    await e.signIn(page);
    const before = await apiGet<Balances>(page, "/balances");
    const bjornBefore = before.subjects.find((s) => s.subject === "northwind.bjorn");
    expect(bjornBefore).toBeDefined();

    await page
      .getByRole("navigation", { name: "Main" })
      .getByRole("link", { name: "Allocate", exact: true })
      .click();
    await eventually(() => page.getByRole("heading", { level: 1 }).textContent()).toBe(
      "Allocate and reclaim credit",
    );
    const form = page.getByRole("region", { name: "Allocate credit" });
    await form.getByRole("searchbox", { name: "Find — Recipient" }).fill("Björn");
    const recipient = form.getByRole("listbox", { name: "Recipient", exact: true });
    await eventually(() => recipient.getByRole("option").count()).toBe(1);
    await recipient.selectOption("northwind.bjorn");
    await form.getByLabel("Amount (EUR)").fill("12.50");
    await form.getByRole("button", { name: "Allocate…" }).click();

    const dialog = page.getByRole("dialog", { name: "Allocate credit?" });
    await eventually(() => dialog.isVisible()).toBe(true);
    await eventually(() => dialog.textContent()).toContain("Allocate €12.50 to Björn Åkesson?");
    const companyAfter = ((cents(before.company_balance) - 1250) / 100).toFixed(2);
    const bjornAfter = ((cents(bjornBefore?.balance ?? "0") + 1250) / 100).toFixed(2);
    const goes = await dialog.getByText("The company balance goes from").textContent();
    expect(digits(goes)).toBe(digits(before.company_balance) + digits(companyAfter));
    // Nothing moves before the confirmation.
    expect((await apiGet<Balances>(page, "/balances")).company_balance).toBe(before.company_balance);
    await dialog.getByRole("button", { name: "Allocate", exact: true }).click();
    await eventually(() => dialog.isVisible()).toBe(false);

    const done = form.getByRole("status");
    await eventually(() => done.textContent()).toContain("€12.50 allocated to Björn Åkesson.");
    const after = await apiGet<Balances>(page, "/balances");
    expect(after.company_balance).toBe(companyAfter);
    expect(after.subjects.find((s) => s.subject === "northwind.bjorn")?.balance).toBe(bjornAfter);
    // The new balances are shown after it, as the API has them.
    expect(digits(await done.getByText("Company balance now:").textContent())).toBe(digits(companyAfter));
    expect(digits(await done.getByText("Björn Åkesson's balance now:").textContent())).toBe(
      digits(bjornAfter),
    );
    await eventually(async () => digits(await page.locator(".company-balance strong").textContent())).toBe(
      digits(companyAfter),
    );
    await page.context().close();
  });

  it("shows a viewer no management links, and sends them away from /manage/allocate", async () => {
    const page = await e.newPage();
    await e.signIn(page, VIEWER.email, VIEWER.password);
    const nav = page.getByRole("navigation", { name: "Main" });
    await eventually(() => nav.getByRole("link").allTextContents()).toEqual(["Reports"]);
    for (const name of ["Members", "Allocate", "Buy credit", "Admins", "Audit log"])
      expect(await page.getByRole("link", { name, exact: true }).count()).toBe(0);

    await page.goto("/manage/allocate");
    await page.waitForURL((url) => url.pathname === "/reports/summary");
    await eventually(() => page.getByRole("heading", { level: 1 }).textContent()).toBe(
      "Summary — November 2026",
    );
    expect(await page.getByRole("button", { name: "Allocate…" }).count()).toBe(0);
    await page.goto("/manage/members");
    await page.waitForURL((url) => url.pathname === "/reports/summary");

    // The API refuses the viewer too, whatever the screens show.
    const csrf = (await apiGet<{ csrf_token: string }>(page, "/auth/session")).csrf_token;
    const res = await page.request.post("/api/v1/allocations/credit", {
      data: { to: "northwind.bjorn", amount: "1.00" },
      headers: { "x-csrf-token": csrf, "idempotency-key": "viewer-try" },
    });
    expect(res.status()).toBe(403);
    await page.context().close();
  });
});
