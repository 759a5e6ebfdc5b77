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
 * which ends the database cursor and frees the connection.
 */
export function byteStream(source: Readable): ReadableStream<Uint8Array> {
  const bytes = async function* () {
    for await (const chunk of source as AsyncIterable<string | Buffer>)
      yield typeof chunk === "string" ? Buffer.from(chunk) : chunk;
  };
  return ReadableStream.from(bytes());
}

const FILTER_PARAMS = ["group", "status", "payment_method", "recipient", "action", "kind", "prefix"] as const;

export function reportRoutes() {
  const app = createRouter();

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
      const { principal, company } = await authorize(c, {
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
      const result = await runReport(
        db,
        company,
        { report, month: q.month, feature: q.feature, subject, filter, format: q.format },
        viewer,
        clock.now(),
      );
      const body = byteStream(renderReport(result, q.format, { generatedAtMs: clock.now() }));
      const media = FORMAT_MEDIA[q.format];
      if (q.format !== "json") {
        const name = `${report}-${result.month}.${media.ext}`;
        return c.body(body, 200, {
          "content-type": media.contentType,
          "content-disposition": `attachment; filename="${name}"`,
        });
      }
      return c.body(body, 200, { "content-type": "application/json; charset=utf-8" });
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
