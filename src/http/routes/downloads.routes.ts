/**
 * @module Download Reports over HTTP (PRODUCT.md §4, the seed's "Download Reports"): one request for one
 * or several reports of a month in one format. One report comes as its file; several come as one zip,
 * streamed, each file named `<company>-<month>-<report>.<ext>`.
 */
import fs from "node:fs";
import { createRoute, z } from "@hono/zod-openapi";
import type { Context } from "hono";
import type { Db } from "../../db/database";
import { reportFileName, zipReports, ZIP_FILES_MAX } from "../../documents/zip";
import type { ZipEntry } from "../../documents/zip";
import { FEATURES } from "../../reports/definitions";
import type { FeatureName, ReportName } from "../../reports/definitions";
import { FORMAT_MEDIA, renderReport } from "../../reports/render";
import { runReport } from "../../reports/report.service";
import type { ReportFormat, ReportResult, Viewer } from "../../reports/report.service";
import type { CompanyContext } from "../../services/company-context";
import {
  cancelDownloadJob,
  createDownloadJob,
  downloadJobFile,
  getDownloadJob,
  listDownloadJobs,
} from "../../services/download-jobs.service";
import { AppError, invalid } from "../../shared/errors";
import { authorize, READ } from "../auth";
import { principalLabel } from "../context";
import type { AppEnv, Principal } from "../context";
import { createRouter, ErrorSchema, errorResponses, IdParam } from "../router";
import { byteStream } from "./reports.routes";

/** Longest `reports` list accepted (every company report and feature, with room for usage subjects). */
const REPORTS_PARAM_CHARS_MAX = 2_000;
const SUBJECT_CHARS_MAX = 210;

/** One file of a download: which report, and its feature (Allocations) or subject (Usage). */
export interface DownloadItem {
  report: ReportName;
  feature?: FeatureName;
  subject?: string;
}

const ITEM_HELP =
  "summary, purchases, allocations (= allocations:credit), allocations:credit, allocations:subscription, " +
  "allocations:number, or usage:USERNAME / usage:sip:NAME";

/** "allocations:credit" → { report: "allocations", feature: "credit" }; undefined when it is not a report. */
export function parseDownloadItem(token: string): DownloadItem | undefined {
  if (token === "summary" || token === "purchases") return { report: token };
  if (token === "allocations") return { report: "allocations", feature: "credit" };
  if (token.startsWith("allocations:")) {
    const feature = token.slice("allocations:".length);
    return (FEATURES as readonly string[]).includes(feature)
      ? { report: "allocations", feature: feature as FeatureName }
      : undefined;
  }
  if (token.startsWith("usage:")) {
    const subject = token.slice("usage:".length);
    return subject !== "" && subject.length <= SUBJECT_CHARS_MAX ? { report: "usage", subject } : undefined;
  }
  return undefined;
}

const itemKey = (i: DownloadItem): string => `${i.report}:${i.feature ?? ""}:${i.subject ?? ""}`;

const ReportsList = z
  .string()
  .min(1, "choose at least one report")
  .max(REPORTS_PARAM_CHARS_MAX)
  .transform((text, ctx) => {
    const items: DownloadItem[] = [];
    const seen = new Set<string>();
    for (const raw of text.split(",")) {
      const token = raw.trim();
      const item = parseDownloadItem(token);
      if (!item) {
        ctx.addIssue({ code: "custom", message: `unknown report "${token}" (one of ${ITEM_HELP})` });
        return z.NEVER;
      }
      if (seen.has(itemKey(item))) {
        ctx.addIssue({ code: "custom", message: `report "${token}" is asked for twice` });
        return z.NEVER;
      }
      seen.add(itemKey(item));
      items.push(item);
    }
    if (items.length > ZIP_FILES_MAX) {
      ctx.addIssue({ code: "custom", message: `at most ${ZIP_FILES_MAX} reports at once` });
      return z.NEVER;
    }
    return items;
  });

const DownloadQuery = z
  .object({
    month: z
      .string()
      .regex(/^\d{4}-(0[1-9]|1[0-2])$/, 'must be a month like "2026-10"')
      .optional()
      .openapi({ example: "2026-10", description: "YYYY-MM; default: the current month" }),
    format: z.enum(["csv", "pdf", "xlsx", "json"]).default("csv"),
    reports: ReportsList.openapi({
      type: "string",
      example: "summary,purchases,allocations:credit",
      description: `Comma-separated: ${ITEM_HELP}`,
    }),
  })
  .strict();

/** Who downloads, as the reports see them; members may not, API keys may not open Usage. */
function viewerOf(principal: Principal, items: readonly DownloadItem[]): Viewer {
  let viewer: Viewer;
  if (principal.kind === "admin") viewer = { kind: "admin", admin: principal.admin };
  else if (principal.kind === "api_key") viewer = { kind: "operator" };
  else throw new AppError("forbidden", "members may not do this");
  if (viewer.kind === "operator" && items.some((i) => i.report === "usage"))
    throw new AppError(
      "forbidden",
      "Usage reports are opened by people (owners, admins, viewers), not API keys",
    );
  return viewer;
}

/** Every report is checked (month, privacy, audit) before a byte is made; rows stream afterwards. */
async function checkReports(
  db: Db,
  company: CompanyContext,
  principal: Principal,
  q: { month?: string | undefined; format: ReportFormat; reports: readonly DownloadItem[] },
  now: number,
): Promise<{ item: DownloadItem; result: ReportResult }[]> {
  const viewer = viewerOf(principal, q.reports);
  const results: { item: DownloadItem; result: ReportResult }[] = [];
  for (const item of q.reports) {
    const result = await runReport(
      db,
      company,
      {
        report: item.report,
        month: q.month,
        feature: item.feature,
        subject: item.subject,
        filter: {},
        format: q.format,
      },
      viewer,
      now,
    );
    results.push({ item, result });
  }
  return results;
}

const fileNameOf = (company: CompanyContext, item: DownloadItem, result: ReportResult, ext: string) =>
  reportFileName(company.name, result.month, item.report, ext, item.feature ?? result.subject?.name ?? null);

const DownloadJobBody = z
  .object({
    month: DownloadQuery.shape.month,
    format: z.enum(["csv", "pdf", "xlsx", "json"]).default("csv"),
    reports: z
      .array(z.string().max(REPORTS_PARAM_CHARS_MAX))
      .min(1, "choose at least one report")
      .max(ZIP_FILES_MAX)
      .openapi({ example: ["summary", "purchases", "allocations:credit"], description: ITEM_HELP }),
  })
  .strict();

const DownloadJobSchema = z
  .object({
    id: z.number().int(),
    state: z.enum(["queued", "running", "done", "failed", "cancelled"]),
    progress_rows: z.number().int(),
    month: z.string(),
    format: z.string(),
    reports: z.array(z.string()),
    file_name: z.string().nullable(),
    error: z.string().nullable(),
    created_at_ms: z.number().int(),
    finished_at_ms: z.number().int().nullable(),
    expires_at_ms: z.number().int(),
    available: z.boolean(),
  })
  .openapi("DownloadJob");

const jobJson = { "application/json": { schema: DownloadJobSchema } };
const JobIdParam = IdParam;

export function downloadRoutes() {
  const app = createRouter();

  app.openapi(
    createRoute({
      method: "get",
      path: "/downloads",
      tags: ["Reports"],
      summary:
        "Download Reports: one or several reports of a month in one format; several come as one zip " +
        "named <company>-<month>-reports.zip",
      request: { query: DownloadQuery },
      responses: {
        200: {
          description: "The report's file, or a zip of the reports' files",
          content: {
            "application/zip": { schema: z.string().openapi({ format: "binary" }) },
            "text/csv": { schema: z.string() },
          },
        },
        ...errorResponses,
      },
    }),
    async (c) => {
      const q = c.req.valid("query");
      const { principal, company } = await authorize(c, { ...READ, scope: "reports:read" });
      const { db, clock } = c.get("deps");
      const now = clock.now();
      const results = await checkReports(db, company, principal, q, now);
      const media = FORMAT_MEDIA[q.format];
      const month = results[0]?.result.month ?? q.month ?? "";
      const files: ZipEntry[] = results.map(({ item, result }) => ({
        name: reportFileName(
          company.name,
          result.month,
          item.report,
          media.ext,
          item.feature ?? result.subject?.name ?? null,
        ),
        stream: renderReport(result, q.format, { generatedAtMs: now }),
      }));
      const only = files.length === 1 ? files[0] : undefined;
      const name = only ? only.name : reportFileName(company.name, month, "reports", "zip");
      const body = byteStream(only ? only.stream : zipReports(files));
      return c.body(body, 200, {
        "content-type": only ? media.contentType : "application/zip",
        "content-disposition": `attachment; filename="${name}"`,
        "cache-control": "no-store",
      });
    },
  );

  /** The caller's jobs: their company and their own label (another's job is not found). */
  const jobAccess = async (c: Context<AppEnv>) => {
    const { principal, company } = await authorize(c, { ...READ, scope: "reports:read" });
    viewerOf(principal, []);
    const { db, clock } = c.get("deps");
    return {
      principal,
      company,
      db,
      clock,
      scope: { companyId: company.id, requestedBy: principalLabel(principal) },
    };
  };

  app.openapi(
    createRoute({
      method: "post",
      path: "/downloads/jobs",
      tags: ["Reports"],
      summary:
        "Start generating Download Reports in the background (same rules as GET /downloads); poll the job, " +
        "then fetch its file, which expires after 24 hours",
      request: { body: { content: { "application/json": { schema: DownloadJobBody } }, required: true } },
      responses: {
        202: { description: "The job, queued", content: jobJson },
        ...errorResponses,
      },
    }),
    async (c) => {
      const body = c.req.valid("json");
      const parsed = ReportsList.safeParse(body.reports.map((r) => r.trim()).join(","));
      if (!parsed.success) throw invalid(parsed.error.issues[0]?.message ?? "not valid", "reports");
      const { principal, company, db, clock, scope } = await jobAccess(c);
      const now = clock.now();
      const q = { month: body.month, format: body.format, reports: parsed.data };
      const results = await checkReports(db, company, principal, q, now);
      const ext = FORMAT_MEDIA[q.format].ext;
      const month = results[0]?.result.month ?? q.month ?? "";
      const job = await createDownloadJob(db, clock, {
        ...scope,
        month,
        format: q.format,
        reports: body.reports.map((r) => r.trim()),
        files: results.map(({ item, result }) => ({ name: fileNameOf(company, item, result, ext), result })),
        zipName: reportFileName(company.name, month, "reports", "zip"),
      });
      return c.json(job, 202);
    },
  );

  app.openapi(
    createRoute({
      method: "get",
      path: "/downloads/jobs",
      tags: ["Reports"],
      summary: "The caller's recent download jobs, newest first",
      responses: {
        200: {
          description: "The jobs",
          content: { "application/json": { schema: z.object({ jobs: z.array(DownloadJobSchema) }) } },
        },
        ...errorResponses,
      },
    }),
    async (c) => {
      const { db, clock, scope } = await jobAccess(c);
      return c.json({ jobs: await listDownloadJobs(db, scope, clock.now()) }, 200);
    },
  );

  app.openapi(
    createRoute({
      method: "get",
      path: "/downloads/jobs/{id}",
      tags: ["Reports"],
      summary: "A download job's state and progress (rows generated so far)",
      request: { params: JobIdParam },
      responses: { 200: { description: "The job", content: jobJson }, ...errorResponses },
    }),
    async (c) => {
      const { id } = c.req.valid("param");
      const { db, clock, scope } = await jobAccess(c);
      return c.json(await getDownloadJob(db, scope, id, clock.now()), 200);
    },
  );

  app.openapi(
    createRoute({
      method: "delete",
      path: "/downloads/jobs/{id}",
      tags: ["Reports"],
      summary: "Cancel a queued or running download job; its partial file is removed",
      request: { params: JobIdParam },
      responses: { 200: { description: "The job, cancelled", content: jobJson }, ...errorResponses },
    }),
    async (c) => {
      const { id } = c.req.valid("param");
      const { db, clock, scope } = await jobAccess(c);
      return c.json(await cancelDownloadJob(db, scope, id, clock.now()), 200);
    },
  );

  app.openapi(
    createRoute({
      method: "get",
      path: "/downloads/jobs/{id}/file",
      tags: ["Reports"],
      summary: "A done download job's file (410 once it has expired)",
      request: { params: JobIdParam },
      responses: {
        200: {
          description: "The report's file, or a zip of the reports' files",
          content: { "application/zip": { schema: z.string().openapi({ format: "binary" }) } },
        },
        410: {
          description: "The file has expired",
          content: { "application/json": { schema: ErrorSchema } },
        },
        ...errorResponses,
      },
    }),
    async (c) => {
      const { id } = c.req.valid("param");
      const { db, clock, scope } = await jobAccess(c);
      const file = await downloadJobFile(db, scope, id, clock.now());
      if (file.kind === "gone") return c.json({ error: { code: "gone", message: file.message } }, 410);
      return c.body(byteStream(fs.createReadStream(file.path)), 200, {
        "content-type": file.contentType,
        "content-disposition": `attachment; filename="${file.name}"`,
        "cache-control": "no-store",
      });
    },
  );

  return app;
}
