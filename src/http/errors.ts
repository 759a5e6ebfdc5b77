/**
 * @module The one place HTTP answers an error: `{ "error": { "code", "message" } }` with the status that
 * matches the code. Expected failures are AppErrors; anything else is a 500 with no internals shown.
 */
import type { Context } from "hono";
import { HTTPException } from "hono/http-exception";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import { isRetryable } from "../db/database";
import { AppError } from "../shared/errors";
import type { ErrorCode } from "../shared/errors";
import type { AppEnv } from "./context";

export const STATUS_BY_CODE: Readonly<Record<ErrorCode, ContentfulStatusCode>> = {
  invalid_input: 400,
  unauthenticated: 401,
  forbidden: 403,
  privacy_ack_required: 403,
  consent_required: 403,
  not_found: 404,
  conflict: 409,
  payload_too_large: 413,
  insufficient_balance: 422,
  idempotency_key_reused: 422,
  rate_limited: 429,
};

export interface ErrorBody {
  error: { code: string; message: string; path?: string; details?: Record<string, unknown> };
}

export function errorBody(e: AppError): ErrorBody {
  return {
    error: {
      code: e.code,
      message: e.message,
      ...(e.path ? { path: e.path } : {}),
      ...(e.details ? { details: { ...e.details } } : {}),
    },
  };
}

export function onError(error: Error, c: Context<AppEnv>): Response {
  if (error instanceof AppError) return c.json(errorBody(error), STATUS_BY_CODE[error.code]);
  // Malformed JSON bodies surface from the validator as SyntaxError.
  if (error instanceof SyntaxError)
    return c.json({ error: { code: "invalid_input", message: "the request body is not valid JSON" } }, 400);
  const status = (error as { status?: unknown }).status;
  if (status === 413)
    return c.json({ error: { code: "payload_too_large", message: "the request body is too large" } }, 413);
  // The OpenAPI validator refuses a body whose content type the route does not take (HTTPException 415).
  if (status === 415)
    return c.json(
      {
        error: {
          code: "unsupported_media_type",
          message: `this route does not take a ${c.req.header("content-type")?.split(";")[0] ?? "body without a content type"} body (see /api/openapi.json)`,
        },
      },
      415,
    );
  // A deadlock or serialization failure that could not be re-run here (a request under an Idempotency-Key
  // runs in one transaction with its key): nothing was changed, and the same request may simply be sent again.
  if (isRetryable(error)) {
    c.header("retry-after", "1");
    return c.json(
      {
        error: {
          code: "busy",
          message:
            "another change to the same data got in the way and nothing was changed; send the request again (with the same Idempotency-Key)",
        },
      },
      503,
    );
  }
  if (error instanceof HTTPException && error.status >= 400 && error.status < 500)
    return c.json({ error: { code: "invalid_input", message: "the request is not valid" } }, error.status);
  console.error(`[${new Date().toISOString()}] ${c.req.method} ${c.req.path}:`, error);
  return c.json(
    { error: { code: "internal", message: "something went wrong on our side; it has been logged" } },
    500,
  );
}
