/**
 * @module The HTTP application: middleware (dependencies, security headers, body limit, authentication,
 * idempotency), the /api/v1 route modules, the OpenAPI document, health checks, one error handler.
 * Tests drive it in-process with `app.request()`.
 */
import fs from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { serveStatic } from "@hono/node-server/serve-static";
import { swaggerUI } from "@hono/swagger-ui";
import { OpenAPIHono } from "@hono/zod-openapi";
import { sql } from "kysely";
import { bodyLimit } from "hono/body-limit";
import { secureHeaders } from "hono/secure-headers";
import { ReportCache } from "../reports/cache";
import { AppError } from "../shared/errors";
import { REQUEST_BODY_BYTES_MAX } from "../shared/limits";
import { authenticate } from "./auth";
import type { AppEnv, ServerDeps } from "./context";
import { onError } from "./errors";
import { idempotency } from "./idempotency";
import { inputGuard } from "./input-guard";
import { createLogger, requestLog } from "./logging";
import { authRoutes } from "./routes/auth.routes";
import { meRoutes } from "./routes/me.routes";
import { reportRoutes } from "./routes/reports.routes";
import { extraRoutes } from "./routes/index";

/** Request bodies larger than this are refused with 413 (defined with every other limit in shared/limits.ts). */
export { REQUEST_BODY_BYTES_MAX };

/** The built web app (`npm run build:web`), served for every path outside /api. */
export const WEB_DIST_DIR = fileURLToPath(new URL("../../web/dist", import.meta.url));

function serveWebApp(app: OpenAPIHono<AppEnv>): void {
  const root = path.relative(process.cwd(), WEB_DIST_DIR) || ".";
  const indexFile = path.join(WEB_DIST_DIR, "index.html");
  app.use("/assets/*", serveStatic({ root }));
  app.get("/favicon.ico", (c) => c.body(null, 204));
  app.get("*", async (c, next) => {
    if (c.req.path.startsWith("/api/")) return next();
    // The single-page app routes in the browser: every other path gets index.html.
    const html = await fs.readFile(indexFile, "utf8").catch(() => null);
    if (html === null)
      return c.text("The web app is not built: run `npm run build:web` (npm start does it for you).", 503);
    return c.html(html);
  });
}

/** The content policy of the API documentation page (Swagger UI, whose assets come from a CDN). */
export const API_DOCS_CSP =
  "default-src 'self' https://cdn.jsdelivr.net; style-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net; " +
  "script-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net; img-src 'self' data: https:; " +
  "frame-ancestors 'none'; base-uri 'self'; object-src 'none'";

export function createApp(deps: ServerDeps): OpenAPIHono<AppEnv> {
  const app = new OpenAPIHono<AppEnv>();
  app.use("*", async (c, next) => {
    c.set("deps", deps);
    c.set("principal", undefined);
    c.set("companyRevision", undefined);
    await next();
  });
  app.use("*", requestLog(createLogger(deps.config.logLevel)));
  // Swagger UI's page loads its assets from a CDN, so it gets its own, wider content policy. This runs
  // outside secureHeaders (registered before it), so the strict policy below does not overwrite it.
  app.use("/api/docs", async (c, next) => {
    await next();
    c.res.headers.set("content-security-policy", API_DOCS_CSP);
  });
  app.use(
    "*",
    secureHeaders({
      contentSecurityPolicy: {
        defaultSrc: ["'self'"],
        scriptSrc: ["'self'"],
        styleSrc: ["'self'", "'unsafe-inline'"],
        imgSrc: ["'self'", "data:"],
        connectSrc: ["'self'"],
        frameAncestors: ["'none'"],
        formAction: ["'self'"],
        baseUri: ["'self'"],
        objectSrc: ["'none'"],
      },
      strictTransportSecurity: deps.config.secureCookies ? "max-age=31536000; includeSubDomains" : false,
      xFrameOptions: "DENY",
      referrerPolicy: "same-origin",
    }),
  );
  app.use(
    "/api/*",
    bodyLimit({
      maxSize: REQUEST_BODY_BYTES_MAX,
      onError: () => {
        throw new AppError(
          "payload_too_large",
          `the request body is larger than ${REQUEST_BODY_BYTES_MAX} bytes`,
        );
      },
    }),
  );
  app.use("/api/v1/*", authenticate());
  app.use("/api/v1/*", inputGuard());
  app.use("/api/v1/*", idempotency());

  app.get("/healthz", (c) => c.json({ status: "ok" }));
  app.get("/readyz", async (c) => {
    try {
      await sql`select 1`.execute(deps.db.k);
      return c.json({ status: "ready" });
    } catch {
      return c.json({ status: "database unavailable" }, 503);
    }
  });

  app.route("/api/v1", authRoutes());
  const reportCache =
    deps.config.reportCacheBytes > 0
      ? new ReportCache({ bytesMax: deps.config.reportCacheBytes })
      : undefined;
  app.route("/api/v1", reportRoutes({ cache: reportCache }));
  app.route("/api/v1", meRoutes());
  for (const routes of extraRoutes()) app.route("/api/v1", routes);

  app.openAPIRegistry.registerComponent("securitySchemes", "session", {
    type: "apiKey",
    in: "cookie",
    name: "sb_session",
  });
  app.openAPIRegistry.registerComponent("securitySchemes", "apiKey", { type: "http", scheme: "bearer" });
  app.doc31("/api/openapi.json", {
    openapi: "3.1.0",
    info: {
      title: "Switchboard API",
      version: "1.0.0",
      description:
        "Prepaid calling credit for companies. Sign in (cookie session; send X-CSRF-Token on writes) or use an " +
        "API key (Authorization: Bearer sbk_…). Amounts are decimal strings in major units. Errors are " +
        '`{ "error": { "code", "message" } }`. State-changing requests accept an Idempotency-Key header.',
    },
    security: [{ session: [] }, { apiKey: [] }],
  });
  app.get("/api/docs", swaggerUI({ url: "/api/openapi.json" }));

  serveWebApp(app);
  app.notFound((c) =>
    c.json({ error: { code: "not_found", message: `no route ${c.req.method} ${c.req.path}` } }, 404),
  );
  app.onError(onError);
  return app;
}
