import { describe, expect, it } from "vitest";
import { ManualClock, systemClock } from "./clock";

describe("ManualClock", () => {
  it("moves only when told to", () => {
    const clock = new ManualClock(1_000);
    expect(clock.now()).toBe(1_000);
    clock.advance(500);
    expect(clock.now()).toBe(1_500);
    clock.set(Date.UTC(2026, 8, 1));
    expect(clock.now()).toBe(Date.UTC(2026, 8, 1));
  });

  it("systemClock reads a plausible current time", () => {
    expect(systemClock.now()).toBeGreaterThan(Date.UTC(2024, 0, 1));
  });
});
