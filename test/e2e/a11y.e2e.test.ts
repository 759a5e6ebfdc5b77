/**
 * Accessibility and reach in Chromium: axe-core finds no serious or critical violation on any main page
 * (reports, management, a member's own page, sign-in); the Summary fits a phone's width; the app speaks
 * German after the language switch.
 */
import type { Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  axeViolations,
  browserAvailable,
  createMember,
  eventually,
  invite,
  startE2E,
  tableRows,
} from "./harness";
import type { E2E } from "./harness";

const ok = browserAvailable();

const MEMBER = {
  email: "ada.okafor@example.com",
  name: "Ada Okafor",
  username: "ada.okafor",
  password: "ada-password-1",
};

/** Waits until the page has its heading and nothing is loading any more. */
async function settled(page: Page): Promise<void> {
  await page.getByRole("heading", { level: 1 }).first().waitFor();
  await eventually(() => page.locator(".loading, [aria-busy=true]").count()).toBe(0);
}

describe.skipIf(!ok)("Accessibility in Chromium", () => {
  let e: E2E;
  let owner: Page;
  beforeAll(async () => {
    e = await startE2E();
    owner = await e.newPage();
    await e.signIn(owner);
  }, 120_000);
  afterAll(async () => {
    const pageErrors = e?.pageErrors ?? [];
    await e?.close();
    // No page of the app threw an uncaught error along the way.
    expect(pageErrors).toEqual([]);
  });

  it("has no serious or critical axe violations on the sign-in page, which keeps the server's CSP", async () => {
    const page = await e.newPage();
    const res = await page.goto("/login");
    expect(res?.headers()["content-security-policy"]).toContain("script-src 'self'");
    await settled(page);
    expect(await axeViolations(page)).toEqual([]);
    // The checker is awake: an image without a text alternative is a critical violation.
    await page.evaluate(
      "document.body.append(Object.assign(document.createElement('img'), { src: '/x.png' }))",
    );
    expect((await axeViolations(page)).map((v) => v.id)).toContain("image-alt");
    await page.context().close();
  });

  it.each([
    ["Summary", "/reports/summary"],
    ["Purchases", "/reports/purchases"],
    ["Allocations: Credit", "/reports/allocations/credit"],
    ["Allocations: Subscriptions", "/reports/allocations/subscription"],
    ["Download Reports", "/reports/download"],
    ["Usage (pick a member)", "/reports/usage"],
  ])("has no serious or critical axe violations on %s", async (_name, url) => {
    await owner.goto(url);
    await settled(owner);
    expect(await axeViolations(owner)).toEqual([]);
  });

  it("has none on the Usage privacy notice, nor on the Usage report after acknowledging", async () => {
    await owner.goto("/reports/usage/northwind.amelie");
    await eventually(() => owner.getByRole("heading", { level: 1 }).textContent()).toBe(
      "Before you open Usage reports",
    );
    expect(await axeViolations(owner)).toEqual([]);
    await owner.getByRole("checkbox", { name: "I want to access my members reports" }).check();
    await owner.getByRole("button", { name: "I want to access the reports" }).click();
    await eventually(() => owner.getByRole("heading", { level: 1 }).textContent()).toBe(
      "Usage: Amélie Dubois — November 2026",
    );
    await eventually(() => tableRows(owner)).toBeGreaterThan(0);
    await settled(owner);
    expect(await axeViolations(owner)).toEqual([]);

    // A personal member without consent: only the balance, and why.
    await owner.goto("/reports/usage/mehmet.yilmaz");
    await eventually(() => owner.getByRole("heading", { level: 1 }).textContent()).toContain(
      "Usage report not available",
    );
    expect(await axeViolations(owner)).toEqual([]);
  });

  it.each([
    ["Members", "/manage/members"],
    ["SIP profiles", "/manage/sip-profiles"],
    ["Allocate", "/manage/allocate"],
    ["Buy credit", "/manage/buy"],
    ["Subscriptions & numbers", "/manage/features"],
    ["Auto-allocation", "/manage/rules"],
    ["Admins", "/manage/admins"],
    ["Audit log", "/manage/audit"],
  ])("has no serious or critical axe violations on %s", async (name, url) => {
    await owner.goto(url);
    await settled(owner);
    expect(new URL(owner.url()).pathname).toBe(url);
    expect(await axeViolations(owner)).toEqual([]);
    // The toolbar marks where one is.
    expect(
      await owner.getByRole("navigation", { name: "Main" }).locator("[aria-current=page]").textContent(),
    ).toBe(name);
  });

  it("has none on a member's own page (/me) nor on an invitation page", async () => {
    await createMember(owner, MEMBER);
    const member = await e.newPage();
    await e.signIn(member, MEMBER.email, MEMBER.password);
    expect(new URL(member.url()).pathname).toBe("/me");
    await settled(member);
    await eventually(() => member.getByRole("switch").count()).toBe(1);
    expect(await axeViolations(member)).toEqual([]);
    await member.context().close();

    const token = await invite(owner, "someone.else@example.com");
    const guest = await e.newPage();
    await guest.goto(`/invite/${token}`);
    await settled(guest);
    await eventually(() => guest.getByRole("button", { name: "Accept and create my account" }).count()).toBe(
      1,
    );
    expect(await axeViolations(guest)).toEqual([]);
    await guest.context().close();
  });

  it("fits the Summary into a phone's width (390×844) without sideways scrolling", async () => {
    const phone = await e.newPage({ width: 390, height: 844 });
    await e.signIn(phone);
    await phone.goto("/reports/summary");
    await settled(phone);
    await eventually(() => phone.locator("canvas[role=img]").count()).toBe(2);
    await eventually(() => tableRows(phone)).toBeGreaterThan(0);
    const { scrollWidth, innerWidth } = await phone.evaluate<{ scrollWidth: number; innerWidth: number }>(
      "({ scrollWidth: document.documentElement.scrollWidth, innerWidth: window.innerWidth })",
    );
    expect(innerWidth).toBe(390);
    expect(scrollWidth).toBeLessThanOrEqual(innerWidth);
    expect(await axeViolations(phone)).toEqual([]);
    await phone.context().close();
  });

  it("switches to German with the language drop-down", async () => {
    const page = await e.newPage();
    await e.signIn(page);
    await settled(page);
    await page.getByRole("combobox", { name: "Language" }).selectOption({ label: "Deutsch" });
    const nav = page.getByRole("navigation", { name: "Main" });
    await eventually(() => nav.getByRole("link").first().textContent()).toBe("Berichte");
    await eventually(() => page.locator("html").getAttribute("lang")).toBe("de");
    await eventually(() => page.getByRole("button", { name: "Abmelden" }).count()).toBe(1);
    // The choice is kept: after a reload the app is still in German.
    await page.reload();
    await eventually(() => nav.getByRole("link").first().textContent()).toBe("Berichte");
    await settled(page);
    expect(await axeViolations(page)).toEqual([]);
    await page.context().close();
  });
});
