/**
 * @module Download Reports over HTTP (PRODUCT.md §4, the seed's "Download Reports"): one request for one
 * or several reports of a month in one format. One report comes as its file; several come as one zip,
 * streamed, each file named `<company>-<month>-<report>.<ext>`.
 */
import { createRoute, z } from "@hono/zod-openapi";
import { reportFileName, zipReports, ZIP_FILES_MAX } from "../../documents/zip";
import type { ZipEntry } from "../../documents/zip";
import { FEATURES } from "../../reports/definitions";
import type { FeatureName, ReportName } from "../../reports/definitions";
import { FORMAT_MEDIA, renderReport } from "../../reports/render";
import { runReport } from "../../reports/report.service";
import type { ReportResult, Viewer } from "../../reports/report.service";
import { AppError } from "../../shared/errors";
import { authorize, READ } from "../auth";
import { createRouter, errorResponses } from "../router";
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
      let viewer: Viewer;
      if (principal.kind === "admin") viewer = { kind: "admin", admin: principal.admin };
      else if (principal.kind === "api_key") viewer = { kind: "operator" };
      else throw new AppError("forbidden", "members may not do this");
      if (viewer.kind === "operator" && q.reports.some((i) => i.report === "usage"))
        throw new AppError(
          "forbidden",
          "Usage reports are opened by people (owners, admins, viewers), not API keys",
        );

      // Every report is checked (month, privacy, audit) before a byte is sent; rows stream afterwards.
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

  return app;
}
