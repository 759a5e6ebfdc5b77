/** @module Structured logs: one JSON line per request (pino), with a request id the response echoes. */
import crypto from "node:crypto";
import type { MiddlewareHandler } from "hono";
import pino from "pino";
import type { Logger } from "pino";
import type { AppEnv } from "./context";

export function createLogger(level: "debug" | "info" | "warn" | "error" | "silent"): Logger {
  return pino({ level, base: { service: "switchboard" }, timestamp: pino.stdTimeFunctions.isoTime });
}

export function requestLog(logger: Logger): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const started = performance.now();
    const id = c.req.header("x-request-id")?.slice(0, 100) ?? crypto.randomUUID();
    c.header("x-request-id", id);
    await next();
    const principal = c.get("principal");
    const entry = {
      req_id: id,
      method: c.req.method,
      path: c.req.path,
      status: c.res.status,
      ms: Math.round((performance.now() - started) * 10) / 10,
      company_id: principal?.companyId,
    };
    if (c.res.status >= 500) logger.error({ ...entry, err: c.error?.message }, "request failed");
    else logger.info(entry, "request");
  };
}
