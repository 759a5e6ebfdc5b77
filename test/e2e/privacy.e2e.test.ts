/**
 * The data-privacy steps of Usage reports in Chromium: an admin acknowledges the notice once; a personal
 * member without consent shows only their balance and why; a member invited by email accepts in their own
 * browser, grants consent on their page, and the admin's Usage view of them follows — then withdraws it.
 */
import type { Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  ADMIN,
  apiGet,
  browserAvailable,
  digits,
  eventually,
  invite,
  pickUsageSubject,
  startE2E,
  tableRows,
} from "./harness";
import type { E2E } from "./harness";

const ok = browserAvailable();

const NEW_MEMBER = {
  email: "noor.haddad@example.com",
  name: "Noor Haddad",
  username: "noor.haddad",
  password: "noor-password-1",
};

describe.skipIf(!ok)("Usage privacy and consent in Chromium", () => {
  let e: E2E;
  let admin: Page;
  beforeAll(async () => {
    e = await startE2E();
    admin = await e.newPage();
    await e.signIn(admin, ADMIN.email, ADMIN.password);
  }, 120_000);
  afterAll(async () => {
    const pageErrors = e?.pageErrors ?? [];
    await e?.close();
    // No page of the app threw an uncaught error along the way.
    expect(pageErrors).toEqual([]);
  });

  const heading = (page: Page) => page.getByRole("heading", { level: 1 });
  const stepOne = () => admin.getByRole("checkbox", { name: "I want to access my members reports" });
  const stepTwo = () => admin.getByRole("button", { name: "I want to access the reports" });

  it("asks an admin who has not acknowledged to go through the two steps before Usage shows", async () => {
    const session = await apiGet<{ privacy_acknowledged: boolean }>(admin, "/auth/session");
    expect(session.privacy_acknowledged).toBe(false);
    await admin.goto("/reports/usage");
    await pickUsageSubject(admin, "Amélie", "Amélie Dubois");
    await eventually(() => heading(admin).textContent()).toBe("Before you open Usage reports");
    await eventually(() => admin.getByText(/comply with the local data privacy laws/).count()).toBe(1);
    // No report behind the notice, and the second step waits for the first.
    expect(await tableRows(admin)).toBeNull();
    expect(await stepTwo().isDisabled()).toBe(true);
    await stepOne().check();
    await eventually(() => stepTwo().isEnabled()).toBe(true);
    await stepTwo().click();
    await eventually(() => heading(admin).textContent()).toBe("Usage: Amélie Dubois — November 2026");
    const usage = await apiGet<{ rows: unknown[] }>(
      admin,
      "/reports/usage?format=json&month=2026-11&subject=northwind.amelie",
    );
    await eventually(() => tableRows(admin)).toBe(usage.rows.length);

    // Asked once: after a reload the report opens straight away.
    expect(
      (await apiGet<{ privacy_acknowledged: boolean }>(admin, "/auth/session")).privacy_acknowledged,
    ).toBe(true);
    await admin.reload();
    await eventually(() => heading(admin).textContent()).toBe("Usage: Amélie Dubois — November 2026");
    expect(await stepOne().count()).toBe(0);
  });

  it("shows only the balance, and why, for a personal member without consent", async () => {
    const balances = await apiGet<{ subjects: { subject: string; balance: string }[] }>(admin, "/balances");
    const mehmet = balances.subjects.find((s) => s.subject === "mehmet.yilmaz");
    expect(mehmet).toBeDefined();
    await admin.goto("/reports/usage");
    await pickUsageSubject(admin, "Mehmet", "Mehmet Yılmaz");
    await eventually(() => heading(admin).textContent()).toBe("Usage report not available: Mehmet Yılmaz");
    const panel = admin.getByRole("article", { name: /Usage report not available/ });
    await eventually(() => panel.textContent()).toContain("has a personal account and has not given consent");
    await eventually(async () => digits(await panel.locator(".balance-amount").textContent())).toBe(
      digits(mehmet?.balance),
    );
    expect(await tableRows(admin)).toBeNull();
    expect(await admin.getByRole("region", { name: "Totals" }).count()).toBe(0);
  });

  it("follows a member's consent: invited, accepted, granted on /me, then withdrawn", async () => {
    const owner = await e.newPage();
    await e.signIn(owner);
    const token = await invite(owner, NEW_MEMBER.email);

    // The invited person opens the link in a browser of their own and chooses a password.
    const member = await e.newPage();
    await member.goto(`/invite/${token}`);
    await eventually(() => heading(member).textContent()).toBe("Join a company on Switchboard");
    await eventually(() => member.getByText(NEW_MEMBER.email, { exact: false }).count()).toBeGreaterThan(0);
    await member.getByLabel("Name", { exact: true }).fill(NEW_MEMBER.name);
    await member.getByLabel("Username", { exact: true }).fill(NEW_MEMBER.username);
    await member.getByLabel("Password", { exact: true }).fill(NEW_MEMBER.password);
    await member.getByLabel("Repeat the new password").fill(NEW_MEMBER.password);
    await member.getByRole("button", { name: "Accept and create my account" }).click();
    await eventually(() => member.getByRole("status").textContent()).toContain(
      `Your account ${NEW_MEMBER.username} is ready`,
    );
    await member.getByRole("link", { name: "Sign in" }).click();
    await member.waitForURL(/\/login/);
    await e.signIn(member, NEW_MEMBER.email, NEW_MEMBER.password);
    expect(new URL(member.url()).pathname).toBe("/me");
    await eventually(() => heading(member).textContent()).toBe(`Hello, ${NEW_MEMBER.name}`);

    // Before consent the admin sees the refusal.
    const usageUrl = `/reports/usage/${NEW_MEMBER.username}`;
    await admin.goto(usageUrl);
    await eventually(() => heading(admin).textContent()).toBe(
      `Usage report not available: ${NEW_MEMBER.name}`,
    );

    // The member grants consent with the switch on their page…
    const consent = member.getByRole("switch", { name: "Share my usage reports with my company" });
    await eventually(() => consent.isChecked()).toBe(false);
    await consent.click();
    await eventually(() => consent.isChecked()).toBe(true);
    await eventually(() => consent.isEnabled()).toBe(true);
    await eventually(() => member.getByText(/^On since /).count()).toBe(1);
    expect((await apiGet<{ reports_consent: boolean }>(member, "/me")).reports_consent).toBe(true);

    // …and the admin's Usage view shows the report (an empty month: the member has not called yet).
    await admin.reload();
    await eventually(() => heading(admin).textContent()).toBe(`Usage: ${NEW_MEMBER.name} — November 2026`);
    await eventually(() => admin.getByText("No calls or SMS in November 2026.").count()).toBe(1);
    await eventually(() => admin.getByRole("region", { name: "Totals" }).count()).toBe(1);

    // Withdrawn: the admin sees the refusal again.
    await consent.click();
    await eventually(() => consent.isChecked()).toBe(false);
    await eventually(() => member.getByText(/^Off since /).count()).toBe(1);
    await admin.reload();
    await eventually(() => heading(admin).textContent()).toBe(
      `Usage report not available: ${NEW_MEMBER.name}`,
    );
    expect(await admin.getByRole("region", { name: "Totals" }).count()).toBe(0);

    await member.context().close();
    await owner.context().close();
  });
});
