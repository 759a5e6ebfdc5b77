/**
 * @module Idempotency-Key for state-changing requests: a retry with the same key and body gets the first
 * successful answer (and changes nothing); the same key with another body is refused (422); a duplicate that
 * arrives while the first is still running gets 409. Refused requests are not remembered.
 */
import type { Context, MiddlewareHandler, Next } from "hono";
import type { Database, Db } from "../db/database";
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
    const deps = c.get("deps");
    // The key, the change and the recorded answer commit together: a process killed in the middle leaves
    // no key behind (the retry runs afresh) or the key with its answer (the retry gets it) — never a key
    // "still being processed" for ever. A request that starts work outliving it (a download job) cannot run
    // inside the transaction, so its key is kept outside it, as before.
    if (OUTLIVING_WORK_PATHS.some((re) => re.test(c.req.path)))
      return keyOutsideTransaction(c, next, db, clock.now(), scope, requestHash);
    let replay: Response | undefined;
    try {
      await db.k.transaction().execute(async (trx) => {
        const tx: Database = { ...db, k: trx, inTransaction: true };
        const prior = await claim(tx, clock.now(), scope, requestHash);
        if (prior) {
          replay = prior;
          return;
        }
        c.set("deps", { ...deps, db: tx });
        try {
          await next();
        } finally {
          c.set("deps", deps);
        }
        // Only a change is worth replaying: a refusal (4xx) or a fault (5xx) rolls back with its key, so
        // that a retry after fixing the cause is answered afresh and leaves no trace of the refusal.
        if (c.error !== undefined || c.res.status >= 400) throw ROLLBACK;
        await recordAnswer(tx, scope, c.res.status, await c.res.clone().text());
      });
    } catch (error) {
      if (error !== ROLLBACK) throw error;
    }
    if (replay) return replay;
  };
}

/** Thrown inside the request's transaction to undo it (the answer itself is already in `c.res`). */
const ROLLBACK = new Error("idempotent request refused: rolled back");

/** Routes whose work goes on after the answer (download jobs): they must not see the request's transaction. */
const OUTLIVING_WORK_PATHS = [/^\/api\/v1\/downloads\//];

type KeyScope = { company_id: number; principal: string; key: string };

/**
 * Inserts the key as "pending", or finds it: then the first answer to replay, or a refusal (another body,
 * or the first request still running). Returns undefined when this request is the first and should run.
 */
async function claim(
  db: Db,
  nowMs: number,
  scope: KeyScope,
  requestHash: string,
): Promise<Response | undefined> {
  const inserted = await db.k
    .insertInto("idempotency_keys")
    .values({
      ...scope,
      request_hash: requestHash,
      state: "pending",
      response_status: null,
      response_body: null,
      created_at_ms: nowMs,
    })
    .onConflict((oc) => oc.columns(["company_id", "principal", "key"]).doNothing())
    .executeTakeFirst();
  if (Number(inserted.numInsertedOrUpdatedRows ?? 0) > 0) return undefined;
  const prior = await db.k
    .selectFrom("idempotency_keys")
    .selectAll()
    .where("company_id", "=", scope.company_id)
    .where("principal", "=", scope.principal)
    .where("key", "=", scope.key)
    .executeTakeFirstOrThrow();
  if (prior.request_hash !== requestHash)
    throw new AppError("idempotency_key_reused", "this Idempotency-Key was used with a different request");
  if (prior.state === "pending")
    throw new AppError("conflict", "a request with this Idempotency-Key is still being processed");
  return new Response(prior.response_body ?? "", {
    status: prior.response_status ?? 200,
    headers: { "content-type": "application/json; charset=utf-8", "idempotent-replayed": "true" },
  });
}

async function recordAnswer(db: Db, scope: KeyScope, status: number, body: string): Promise<void> {
  await db.k
    .updateTable("idempotency_keys")
    .set({ state: "done", response_status: status, response_body: body })
    .where("company_id", "=", scope.company_id)
    .where("principal", "=", scope.principal)
    .where("key", "=", scope.key)
    .execute();
}

/** The key kept in its own statements around the request (for requests whose work outlives them). */
async function keyOutsideTransaction(
  c: Context<AppEnv>,
  next: Next,
  db: Db,
  nowMs: number,
  scope: KeyScope,
  requestHash: string,
): Promise<Response | undefined> {
  const prior = await claim(db, nowMs, scope, requestHash);
  if (prior) return prior;
  const forget = () =>
    db.k
      .deleteFrom("idempotency_keys")
      .where("company_id", "=", scope.company_id)
      .where("principal", "=", scope.principal)
      .where("key", "=", scope.key)
      .execute();
  try {
    await next();
  } catch (error) {
    await forget();
    throw error;
  }
  if (c.error !== undefined || c.res.status >= 400) {
    await forget();
    return undefined;
  }
  await recordAnswer(db, scope, c.res.status, await c.res.clone().text());
  return undefined;
}
