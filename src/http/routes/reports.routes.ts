/**
 * @module The four reports over HTTP (JSON or CSV, streamed), the months that have data, and the
 * data-privacy acknowledgement that opens Usage reports (§6).
 */
import type { Readable } from "node:stream";
import { createRoute, z } from "@hono/zod-openapi";
import { inTransaction } from "../../db/database";
import { REPORT_NAMES } from "../../reports/definitions";
import type { ReportName } from "../../reports/definitions";
import { FORMAT_MEDIA, renderReport } from "../../reports/render";
import { reportCacheKey } from "../../reports/cache";
import type { ReportCache } from "../../reports/cache";
import { runReport } from "../../reports/report.service";
import type { Viewer } from "../../reports/report.service";
import { acknowledgePrivacy } from "../../services/people.service";
import { AppError } from "../../shared/errors";
import { addMonths, monthOf } from "../../time/month";
import { authorize, READ } from "../auth";
import { createRouter, errorResponses, json } from "../router";

const ReportQuery = z
  .object({
    month: z
      .string()
      .optional()
      .openapi({ example: "2026-10", description: "YYYY-MM; default: the current month" }),
    format: z.enum(["json", "csv", "pdf", "xlsx"]).default("json"),
    feature: z
      .enum(["credit", "subscription", "number"])
      .optional()
      .openapi({ description: "Allocations only" }),
    subject: z
      .string()
      .max(210)
      .optional()
      .openapi({ description: 'Usage only: a username or "sip:" + SIP profile name' }),
    group: z.string().max(200).optional(),
    status: z.string().max(20).optional(),
    payment_method: z.string().max(20).optional(),
    recipient: z.string().max(210).optional(),
    action: z.string().max(20).optional(),
    kind: z.string().max(10).optional(),
    prefix: z.string().max(20).optional(),
  })
  .strict();

/**
 * A web stream of bytes from a report stream. Cancelling it (the client went away) returns the iterator,
 * which ends the database cursor and frees the connection. `onComplete` receives the whole document when
 * it was streamed to its end and is at most `keepBytesMax` long (to cache it).
 */
export function byteStream(
  source: Readable,
  keep?: { keepBytesMax: number; onComplete(body: Buffer): void },
): ReadableStream<Uint8Array> {
  const bytes = async function* () {
    let kept: Buffer[] | null = keep === undefined ? null : [];
    let keptBytes = 0;
    for await (const chunk of source as AsyncIterable<string | Buffer>) {
      const b = typeof chunk === "string" ? Buffer.from(chunk) : chunk;
      if (kept !== null && keep !== undefined) {
        keptBytes += b.length;
        if (keptBytes > keep.keepBytesMax) kept = null;
        else kept.push(b);
      }
      yield b;
    }
    if (kept !== null) keep?.onComplete(Buffer.concat(kept, keptBytes));
  };
  return ReadableStream.from(bytes());
}

const JSON_MEDIA = "application/json; charset=utf-8";
/** Says whether a JSON report came from the report cache ("hit") or was computed ("miss"). */
export const CACHE_HEADER = "x-report-cache";

const FILTER_PARAMS = ["group", "status", "payment_method", "recipient", "action", "kind", "prefix"] as const;

/**
 * The report routes. JSON documents of the Summary, Purchases and Allocations reports are kept in `cache`
 * under the company's revision; Usage reports are never cached, because each opening is a privacy
 * decision (§6) and an audit entry.
 */
export function reportRoutes(opts: { cache?: ReportCache | undefined } = {}) {
  const app = createRouter();
  const cache = opts.cache;

  app.openapi(
    createRoute({
      method: "get",
      path: "/reports/{report}",
      tags: ["Reports"],
      summary: "A monthly report as JSON, CSV (RFC 4180, UTF-8 with BOM), PDF or XLSX",
      request: {
        params: z.object({ report: z.enum(REPORT_NAMES as [ReportName, ...ReportName[]]) }),
        query: ReportQuery,
      },
      responses: {
        200: {
          description: "The report",
          content: {
            "application/json": { schema: z.object({}).passthrough() },
            "text/csv": { schema: z.string() },
          },
        },
        ...errorResponses,
      },
    }),
    async (c) => {
      const { report } = c.req.valid("param");
      const q = c.req.valid("query");
      const { principal, company, revision } = await authorize(c, {
        ...READ,
        member: report === "usage",
        scope: "reports:read",
      });
      const { db, clock } = c.get("deps");
      const filter: Record<string, string> = {};
      for (const key of FILTER_PARAMS) {
        const v = q[key];
        if (v !== undefined) filter[key] = v;
      }
      let subject = q.subject;
      let viewer: Viewer;
      if (principal.kind === "admin") viewer = { kind: "admin", admin: principal.admin };
      else if (principal.kind === "member") {
        viewer = { kind: "member", memberId: principal.memberId };
        subject ??= principal.username;
      } else {
        if (report === "usage")
          throw new AppError(
            "forbidden",
            "Usage reports are opened by people (owners, admins, viewers), not API keys",
          );
        viewer = { kind: "operator" };
      }
      // Only people and keys allowed to see this report get this far, and what they see is the same for all.
      let cacheKey: string | undefined;
      if (cache !== undefined && q.format === "json" && report !== "usage") {
        {
          cacheKey = reportCacheKey({
            companyId: company.id,
            revision,
            report,
            month: q.month ?? monthOf(clock.now(), company.timezone),
            format: q.format,
            feature: q.feature,
            filter,
          });
          const hit = cache.get(cacheKey);
          if (hit !== undefined)
            return c.body(hit, 200, { "content-type": JSON_MEDIA, [CACHE_HEADER]: "hit" });
        }
      }
      const result = await runReport(
        db,
        company,
        { report, month: q.month, feature: q.feature, subject, filter, format: q.format },
        viewer,
        clock.now(),
      );
      const rendered = renderReport(result, q.format, { generatedAtMs: clock.now() });
      const key = cacheKey;
      const body =
        cache !== undefined && key !== undefined
          ? byteStream(rendered, {
              keepBytesMax: cache.entryBytesMax,
              onComplete: (document) => cache.set(key, new Uint8Array(document)),
            })
          : byteStream(rendered);
      const media = FORMAT_MEDIA[q.format];
      if (q.format !== "json") {
        const name = `${report}-${result.month}.${media.ext}`;
        return c.body(body, 200, {
          "content-type": media.contentType,
          "content-disposition": `attachment; filename="${name}"`,
        });
      }
      return c.body(body, 200, {
        "content-type": JSON_MEDIA,
        ...(key !== undefined ? { [CACHE_HEADER]: "miss" } : {}),
      });
    },
  );

  app.openapi(
    createRoute({
      method: "get",
      path: "/reports-months",
      tags: ["Reports"],
      summary: "The months a report can be asked for: from the company's first activity to the current month",
      responses: {
        200: json(z.object({ current: z.string(), months: z.array(z.string()) })),
        ...errorResponses,
      },
    }),
    async (c) => {
      const { company } = await authorize(c, { ...READ, member: true, scope: "reports:read" });
      const { db, clock } = c.get("deps");
      const current = monthOf(clock.now(), company.timezone);
      const first = await db.k
        .selectFrom("account_months")
        .select((eb) => eb.fn.min("month").as("m"))
        .where("company_id", "=", company.id)
        .executeTakeFirst();
      const months: string[] = [];
      let m = first?.m && first.m < current ? first.m : current;
      for (let i = 0; i < 240 && m <= current; i++, m = addMonths(m, 1)) months.push(m);
      return c.json({ current, months: months.reverse() }, 200);
    },
  );

  app.openapi(
    createRoute({
      method: "post",
      path: "/privacy/acknowledge",
      tags: ["Reports"],
      summary:
        'Record that you read the data-privacy notice and chose "I want to access my members reports", then "I want to access the reports"',
      responses: { 200: json(z.object({ acknowledged_at: z.string() })), ...errorResponses },
    }),
    async (c) => {
      const { principal, company } = await authorize(c, READ);
      if (principal.kind !== "admin") throw new AppError("forbidden", "only admins acknowledge the notice");
      const { db, clock } = c.get("deps");
      const now = clock.now();
      await inTransaction(db, (tx) => acknowledgePrivacy(tx, company, principal.admin, now));
      const at = principal.admin.privacy_acknowledged_at_ms ?? now;
      return c.json({ acknowledged_at: new Date(at).toISOString() }, 200);
    },
  );

  return app;
}
