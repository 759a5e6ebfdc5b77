/**
 * @module Who is asking, and may they: the authentication middleware (session cookie or API key), CSRF
 * protection for cookie-authenticated writes, and the guards route handlers call.
 */
import type { Context, MiddlewareHandler } from "hono";
import { getCookie } from "hono/cookie";
import type { Database } from "../db/database";
import type { AdminRole } from "../db/schema";
import { findApiKey, findSessionPrincipal, safeEqual, touchSession } from "../services/auth.service";
import { loadCompany } from "../services/company-context";
import type { CompanyContext } from "../services/company-context";
import { companyRevision } from "../services/revision";
import { AppError } from "../shared/errors";
import { API_KEY_SCOPES } from "./context";
import type { ApiKeyScope, AppEnv, Principal } from "./context";

export const SESSION_COOKIE = "sb_session";
export const CSRF_HEADER = "x-csrf-token";
/** A session's expiry is pushed forward at most this often (not on every request). */
const SESSION_TOUCH_EVERY_MS = 60_000;
/** An API key's "last used" time is written at most this often. */
const API_KEY_TOUCH_EVERY_MS = 60_000;

const SAFE_METHODS = new Set(["GET", "HEAD", "OPTIONS"]);

export function authenticate(): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const { db, clock, config } = c.get("deps");
    const now = clock.now();
    const authorization = c.req.header("authorization");
    if (authorization !== undefined) {
      const match = /^Bearer\s+(\S+)$/i.exec(authorization);
      const key = match?.[1] ? await findApiKey(db, match[1]) : undefined;
      if (!key) throw new AppError("unauthenticated", "the API key is not valid (or was revoked)");
      const scopes = new Set(
        key.scopes
          .split(" ")
          .filter((s): s is ApiKeyScope => (API_KEY_SCOPES as readonly string[]).includes(s)),
      );
      c.set("companyRevision", Number(key.company_revision));
      c.set("principal", {
        kind: "api_key",
        companyId: key.company_id,
        keyId: key.id,
        name: key.name,
        scopes,
      });
      // "Last used" to the minute: a read-only request must not cost a write.
      if (key.last_used_at_ms === null || now - key.last_used_at_ms > API_KEY_TOUCH_EVERY_MS)
        await db.k.updateTable("api_keys").set({ last_used_at_ms: now }).where("id", "=", key.id).execute();
      return next();
    }
    const token = getCookie(c, SESSION_COOKIE);
    if (token !== undefined) {
      // One indexed query finds the session and the person it belongs to.
      const found = await findSessionPrincipal(db, token, now);
      if (found) {
        const session = found.session;
        const principal: Principal =
          found.kind === "admin"
            ? {
                kind: "admin",
                companyId: session.company_id,
                admin: found.admin,
                csrfToken: session.csrf_token,
                sessionHash: session.token_hash,
              }
            : {
                kind: "member",
                companyId: session.company_id,
                memberId: found.member.id,
                username: found.member.username,
                csrfToken: session.csrf_token,
                sessionHash: session.token_hash,
              };
        // A browser's write must carry the CSRF token that only our pages can read.
        if (!SAFE_METHODS.has(c.req.method)) {
          const sent = c.req.header(CSRF_HEADER) ?? "";
          if (!safeEqual(sent, session.csrf_token))
            throw new AppError("forbidden", `missing or wrong CSRF token (send the ${CSRF_HEADER} header)`);
        }
        if (now - session.last_seen_ms > SESSION_TOUCH_EVERY_MS)
          await touchSession(db, session.token_hash, now, config.sessionTtlMs);
        c.set("principal", principal);
        c.set("companyRevision", found.companyRevision);
      }
    }
    return next();
  };
}

export function principalOf(c: Context<AppEnv>): Principal {
  const p = c.get("principal");
  if (!p) throw new AppError("unauthenticated", "sign in first (or send an API key)");
  return p;
}

/** Access rule of a route: which admin roles, whether members may, which API-key scope. */
export interface Access {
  roles?: readonly AdminRole[];
  member?: boolean;
  scope?: ApiKeyScope;
}

export const READ: Access = { roles: ["owner", "admin", "viewer"] };
export const MANAGE: Access = { roles: ["owner", "admin"] };
export const OWNER: Access = { roles: ["owner"] };

/** Company contexts of this database handle, each valid while the company is at the revision it was read at. */
const companyContexts = new WeakMap<Database, Map<number, { revision: number; company: CompanyContext }>>();
/** Companies whose context one process keeps; past this the map starts again (a context is one query away). */
const COMPANY_CONTEXTS_MAX = 10_000;

/**
 * The caller's company and its current revision (src/services/revision.ts): the revision came with the
 * session or API key (or costs one small query), and the context (name, currency, timezone, account ids) is
 * read again only when the revision moved.
 */
async function companyAtRevision(
  db: Database,
  companyId: number,
  knownRevision: number | undefined,
): Promise<{ company: CompanyContext; revision: number }> {
  const revision = knownRevision ?? (await companyRevision(db, companyId));
  if (revision === undefined) return { company: await loadCompany(db, companyId), revision: -1 };
  let contexts = companyContexts.get(db);
  if (contexts === undefined) {
    contexts = new Map<number, { revision: number; company: CompanyContext }>();
    companyContexts.set(db, contexts);
  }
  const known = contexts.get(companyId);
  if (known !== undefined && known.revision === revision) return known;
  const fresh = { company: await loadCompany(db, companyId), revision };
  if (contexts.size >= COMPANY_CONTEXTS_MAX) contexts.clear();
  contexts.set(companyId, fresh);
  return fresh;
}

/**
 * Checks the caller against a route's access rule; returns the caller, their company, and the company's
 * revision when the request started (what a cached report is keyed by).
 */
export async function authorize(
  c: Context<AppEnv>,
  access: Access,
): Promise<{ principal: Principal; company: CompanyContext; revision: number }> {
  const principal = principalOf(c);
  const allowed =
    (principal.kind === "admin" && (access.roles ?? []).includes(principal.admin.role)) ||
    (principal.kind === "member" && access.member === true) ||
    (principal.kind === "api_key" && access.scope !== undefined && principal.scopes.has(access.scope));
  if (!allowed) {
    const why =
      principal.kind === "api_key"
        ? access.scope
          ? `this API key lacks the ${access.scope} scope`
          : "API keys cannot do this"
        : principal.kind === "admin"
          ? `${principal.admin.role === "viewer" ? "a" : "an"} ${principal.admin.role} may not do this`
          : "members may not do this";
    throw new AppError("forbidden", why);
  }
  const { company, revision } = await companyAtRevision(
    c.get("deps").db,
    principal.companyId,
    c.get("companyRevision"),
  );
  return { principal, company, revision };
}

export function adminOf(p: Principal): Extract<Principal, { kind: "admin" }>["admin"] | null {
  return p.kind === "admin" ? p.admin : null;
}
