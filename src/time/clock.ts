/** @module Clock: the only way domain code learns the time; tests pass a ManualClock they set. */

export interface Clock {
  /** Milliseconds since the Unix epoch. */
  now(): number;
}

/** The real clock, for the edges (server, CLI) to hand to the domain. */
export const systemClock: Clock = { now: () => Date.now() };

/** A clock that moves only when told to: deterministic tests, no sleeps. */
export class ManualClock implements Clock {
  private ms: number;

  constructor(startMs: number) {
    this.ms = startMs;
  }

  now(): number {
    return this.ms;
  }

  set(ms: number): void {
    this.ms = ms;
  }

  advance(ms: number): void {
    this.ms += ms;
  }
}
