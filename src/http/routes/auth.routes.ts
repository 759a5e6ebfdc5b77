/** @module Sign-in, sign-out, the current session (with its CSRF token), password change. */
import { createRoute, z } from "@hono/zod-openapi";
import { deleteCookie, setCookie } from "hono/cookie";
import type { Context } from "hono";
import { PASSWORD_LENGTH_MAX, PASSWORD_LENGTH_MIN } from "../../auth/password";
import { changePassword, createSession, deleteSession, signIn } from "../../services/auth.service";
import { loadCompany } from "../../services/company-context";
import { AppError } from "../../shared/errors";
import { principalOf, SESSION_COOKIE } from "../auth";
import type { AppEnv, Principal } from "../context";
import { createRouter, errorResponses, json, jsonBody } from "../router";

const SessionSchema = z
  .object({
    kind: z.enum(["admin", "member"]),
    company: z.object({ id: z.number(), name: z.string(), currency: z.string(), timezone: z.string() }),
    email: z.string().nullable(),
    name: z.string(),
    role: z.enum(["owner", "admin", "viewer", "member"]),
    username: z.string().nullable(),
    privacy_acknowledged: z.boolean(),
    csrf_token: z.string().openapi({ description: "send it as the X-CSRF-Token header on every write" }),
  })
  .openapi("Session");

const LoginSchema = z
  .object({
    email: z.string().min(3).max(254),
    password: z.string().min(1).max(PASSWORD_LENGTH_MAX),
    company_id: z.number().int().positive().optional(),
  })
  .openapi("Login");

function clientAddress(c: Context<AppEnv>): string {
  const { config } = c.get("deps");
  if (config.trustProxy) {
    const forwarded = c.req.header("x-forwarded-for")?.split(",")[0]?.trim();
    if (forwarded) return forwarded;
  }
  const env = c.env as { incoming?: { socket?: { remoteAddress?: string } } } | undefined;
  return env?.incoming?.socket?.remoteAddress ?? "local";
}

async function describe(c: Context<AppEnv>, p: Principal) {
  if (p.kind === "api_key") throw new AppError("forbidden", "an API key has no session");
  const { db } = c.get("deps");
  const company = await loadCompany(db, p.companyId);
  const companyOut = {
    id: company.id,
    name: company.name,
    currency: company.currency,
    timezone: company.timezone,
  };
  if (p.kind === "admin")
    return {
      kind: "admin" as const,
      company: companyOut,
      email: p.admin.email,
      name: p.admin.name,
      role: p.admin.role,
      username: null,
      privacy_acknowledged: p.admin.privacy_acknowledged_at_ms !== null,
      csrf_token: p.csrfToken,
    };
  const m = await db.k
    .selectFrom("members")
    .selectAll()
    .where("id", "=", p.memberId)
    .executeTakeFirstOrThrow();
  return {
    kind: "member" as const,
    company: companyOut,
    email: m.email,
    name: m.name,
    role: "member" as const,
    username: m.username,
    privacy_acknowledged: false,
    csrf_token: p.csrfToken,
  };
}

export function authRoutes() {
  const app = createRouter();

  app.openapi(
    createRoute({
      method: "post",
      path: "/auth/login",
      tags: ["Sign-in"],
      summary: "Sign in with email and password; sets the session cookie",
      request: jsonBody(LoginSchema),
      responses: { 200: json(SessionSchema), 429: errorResponses[422], ...errorResponses },
    }),
    async (c) => {
      const { db, clock, config } = c.get("deps");
      const body = c.req.valid("json");
      const now = clock.now();
      const who = await signIn(db, {
        email: body.email,
        password: body.password,
        companyId: body.company_id,
        address: clientAddress(c),
        nowMs: now,
      });
      const session = await createSession(db, who, now, config.sessionTtlMs);
      setCookie(c, SESSION_COOKIE, session.token, {
        httpOnly: true,
        secure: config.secureCookies,
        sameSite: "Lax",
        path: "/",
        maxAge: Math.floor(config.sessionTtlMs / 1000),
      });
      const principal: Principal =
        who.kind === "admin"
          ? {
              kind: "admin",
              companyId: who.companyId,
              admin: await db.k
                .selectFrom("admins")
                .selectAll()
                .where("id", "=", who.id)
                .executeTakeFirstOrThrow(),
              csrfToken: session.csrfToken,
              sessionHash: session.tokenHash,
            }
          : {
              kind: "member",
              companyId: who.companyId,
              memberId: who.id,
              username: "",
              csrfToken: session.csrfToken,
              sessionHash: session.tokenHash,
            };
      return c.json(await describe(c, principal), 200);
    },
  );

  app.openapi(
    createRoute({
      method: "get",
      path: "/auth/session",
      tags: ["Sign-in"],
      summary: "Who is signed in, and the CSRF token for writes",
      responses: { 200: json(SessionSchema), ...errorResponses },
    }),
    async (c) => c.json(await describe(c, principalOf(c)), 200),
  );

  app.openapi(
    createRoute({
      method: "post",
      path: "/auth/logout",
      tags: ["Sign-in"],
      summary: "Sign out: ends the session",
      responses: { 204: { description: "Signed out" }, ...errorResponses },
    }),
    async (c) => {
      const p = principalOf(c);
      if (p.kind !== "api_key") await deleteSession(c.get("deps").db, p.sessionHash);
      deleteCookie(c, SESSION_COOKIE, { path: "/" });
      return c.body(null, 204);
    },
  );

  app.openapi(
    createRoute({
      method: "post",
      path: "/auth/password",
      tags: ["Sign-in"],
      summary: "Change your password (ends your other sessions)",
      request: jsonBody(
        z.object({
          current_password: z.string().min(1).max(PASSWORD_LENGTH_MAX),
          new_password: z.string().min(PASSWORD_LENGTH_MIN).max(PASSWORD_LENGTH_MAX),
        }),
      ),
      responses: { 204: { description: "Changed" }, ...errorResponses },
    }),
    async (c) => {
      const p = principalOf(c);
      if (p.kind === "api_key") throw new AppError("forbidden", "an API key has no password");
      const body = c.req.valid("json");
      const { db, clock } = c.get("deps");
      await changePassword(
        db,
        {
          kind: p.kind,
          id: p.kind === "admin" ? p.admin.id : p.memberId,
          companyId: p.companyId,
          label: p.kind === "admin" ? p.admin.email : `member:${p.username}`,
        },
        {
          current: body.current_password,
          next: body.new_password,
          nowMs: clock.now(),
          keepSessionHash: p.sessionHash,
        },
      );
      return c.body(null, 204);
    },
  );

  return app;
}
