/** Signing in through the real page in Chromium; the sign-in page has no serious accessibility violations. */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { axeViolations, browserAvailable, startE2E } from "./harness";
import type { E2E } from "./harness";

const ok = browserAvailable();

describe.skipIf(!ok)("sign-in in Chromium", () => {
  let e: E2E;
  beforeAll(async () => {
    e = await startE2E();
  }, 120_000);
  afterAll(async () => e?.close());

  it("refuses a wrong password with a message, then signs in and lands on Reports", async () => {
    const page = await e.newPage();
    await page.goto("/login");
    expect(await axeViolations(page)).toEqual([]);
    await page.getByLabel("Email").fill("owner@northwind.example");
    await page.getByLabel("Password").fill("wrong-password");
    await page.getByRole("button", { name: "Sign in" }).click();
    await expect.poll(() => page.getByRole("alert").textContent()).toContain("wrong");
    await e.signIn(page);
    expect(new URL(page.url()).pathname).toBe("/reports/summary");
    await expect.poll(() => page.getByRole("link", { name: "Reports", exact: true }).count()).toBe(1);
  });
});
