/**
 * @module Idempotency-Key for state-changing requests: a retry with the same key and body gets the first
 * answer (and changes nothing); the same key with another body is refused (422); a duplicate that arrives
 * while the first is still running gets 409.
 */
import type { MiddlewareHandler } from "hono";
import { sha256 } from "../services/auth.service";
import { AppError } from "../shared/errors";
import { principalLabel } from "./context";
import type { AppEnv } from "./context";

export const IDEMPOTENCY_HEADER = "idempotency-key";
export const IDEMPOTENCY_KEY_LENGTH_MAX = 200;
const WRITE_METHODS = new Set(["POST", "PUT", "PATCH", "DELETE"]);

export function idempotency(): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const key = c.req.header(IDEMPOTENCY_HEADER);
    const principal = c.get("principal");
    if (key === undefined || !WRITE_METHODS.has(c.req.method) || !principal) return next();
    if (key.length === 0 || key.length > IDEMPOTENCY_KEY_LENGTH_MAX)
      throw new AppError(
        "invalid_input",
        `Idempotency-Key must be 1 to ${IDEMPOTENCY_KEY_LENGTH_MAX} characters`,
      );
    const { db, clock } = c.get("deps");
    const body = await c.req.text();
    const requestHash = sha256(`${c.req.method} ${c.req.path}\n${body}`);
    const scope = { company_id: principal.companyId, principal: principalLabel(principal), key };
    const inserted = await db.k
      .insertInto("idempotency_keys")
      .values({
        ...scope,
        request_hash: requestHash,
        state: "pending",
        response_status: null,
        response_body: null,
        created_at_ms: clock.now(),
      })
      .onConflict((oc) => oc.columns(["company_id", "principal", "key"]).doNothing())
      .executeTakeFirst();
    if (Number(inserted.numInsertedOrUpdatedRows ?? 0) === 0) {
      const prior = await db.k
        .selectFrom("idempotency_keys")
        .selectAll()
        .where("company_id", "=", scope.company_id)
        .where("principal", "=", scope.principal)
        .where("key", "=", key)
        .executeTakeFirstOrThrow();
      if (prior.request_hash !== requestHash)
        throw new AppError(
          "idempotency_key_reused",
          "this Idempotency-Key was used with a different request",
        );
      if (prior.state === "pending")
        throw new AppError("conflict", "a request with this Idempotency-Key is still being processed");
      return c.newResponse(prior.response_body ?? "", (prior.response_status ?? 200) as 200, {
        "content-type": "application/json; charset=utf-8",
        "idempotent-replayed": "true",
      });
    }
    const forget = () =>
      db.k
        .deleteFrom("idempotency_keys")
        .where("company_id", "=", scope.company_id)
        .where("principal", "=", scope.principal)
        .where("key", "=", key)
        .execute();
    try {
      await next();
    } catch (error) {
      await forget();
      throw error;
    }
    // A server fault is not an answer worth replaying: the client may retry it for real.
    if (c.res.status >= 500) {
      await forget();
      return;
    }
    const text = await c.res.clone().text();
    await db.k
      .updateTable("idempotency_keys")
      .set({ state: "done", response_status: c.res.status, response_body: text })
      .where("company_id", "=", scope.company_id)
      .where("principal", "=", scope.principal)
      .where("key", "=", key)
      .execute();
  };
}
