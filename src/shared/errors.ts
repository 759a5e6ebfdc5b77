/** @module One error style: every expected failure is an AppError with a code; each interface maps codes once. */
export type ErrorCode =
  | "invalid_input"
  | "not_found"
  | "insufficient_balance"
  | "conflict"
  | "forbidden"
  | "unauthenticated"
  | "privacy_ack_required"
  | "consent_required"
  | "idempotency_key_reused"
  | "rate_limited"
  | "payload_too_large";

export class AppError extends Error {
  readonly code: ErrorCode;
  /** Where the problem is, as a path (`events[12].amount`), when there is one. */
  readonly path: string | undefined;
  /** Extra facts a caller may show (for a refused usage report: the member's current balance). */
  readonly details: Readonly<Record<string, unknown>> | undefined;
  /** The message without its path. */
  readonly reason: string;

  constructor(
    code: ErrorCode,
    message: string,
    opts: { path?: string; details?: Record<string, unknown> } = {},
  ) {
    super(opts.path ? `${opts.path}: ${message}` : message);
    this.name = "AppError";
    this.code = code;
    this.path = opts.path;
    this.details = opts.details;
    this.reason = message;
  }
}

export const invalid = (message: string, path?: string): AppError =>
  new AppError("invalid_input", message, path === undefined ? {} : { path });
export const notFound = (message: string): AppError => new AppError("not_found", message);
export const conflict = (message: string): AppError => new AppError("conflict", message);

/** Assert a programmer invariant: crash loudly, never turn it into a user message. */
export function assert(condition: unknown, message: string): asserts condition {
  if (!condition) throw new Error(`Assertion failed: ${message}`);
}
