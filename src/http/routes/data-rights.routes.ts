/**
 * @module A member's data rights over HTTP: the member downloads their own data; owners and admins export a
 * member's data (§6 privacy rules apply to the usage part); owners erase a member (pseudonymised, the ledger
 * kept). API keys may do none of it. Another company's member is a 404.
 */
import { createRoute, z } from "@hono/zod-openapi";
import type { Context } from "hono";
import { inTransaction } from "../../db/database";
import {
  eraseMember,
  exportMemberData,
  MEMBER_EXPORT_FORMATS,
  memberExportZip,
  removeErasedFiles,
} from "../../services/member-data.service";
import type { ExportRequester, MemberExport } from "../../services/member-data.service";
import type { CompanyContext } from "../../services/company-context";
import { AppError } from "../../shared/errors";
import { authorize, MANAGE, OWNER } from "../auth";
import { principalLabel } from "../context";
import type { AppEnv } from "../context";
import { createRouter, errorResponses, IdParam } from "../router";

const ExportQuery = z.object({
  format: z.enum(MEMBER_EXPORT_FORMATS).default("json").openapi({
    description: "json (one document) or zip (the document and CSVs of usage, allocations, consent)",
  }),
});

const ExportSchema = z
  .record(z.string(), z.unknown())
  .openapi("MemberDataExport", { description: "format switchboard-member-export/1 (docs/decisions/0010)" });

const ErasureSchema = z
  .object({
    member_id: z.number(),
    name: z.string(),
    username: z.string(),
    erased_at: z.string(),
    already_erased: z.boolean(),
  })
  .openapi("MemberErasure");

const exportResponses = {
  200: {
    description: "The member's data",
    content: {
      "application/json": { schema: ExportSchema },
      "application/zip": { schema: z.string().openapi({ format: "binary" }) },
    },
  },
  ...errorResponses,
} as const;

async function zipBytes(doc: MemberExport): Promise<Uint8Array<ArrayBuffer>> {
  const chunks: Buffer[] = [];
  for await (const chunk of memberExportZip(doc)) chunks.push(chunk as Buffer);
  const all = Buffer.concat(chunks);
  const bytes = new Uint8Array(new ArrayBuffer(all.length));
  bytes.set(all);
  return bytes;
}

async function sendExport(
  c: Context<AppEnv>,
  company: CompanyContext,
  memberId: number,
  requester: ExportRequester,
  format: "json" | "zip",
): Promise<Response> {
  const { db, clock } = c.get("deps");
  const doc = await inTransaction(db, (tx) =>
    exportMemberData(tx, company, memberId, requester, { format, nowMs: clock.now() }),
  );
  const name = `member-${memberId}-data.${format}`;
  if (format === "zip")
    return c.body(await zipBytes(doc), 200, {
      "content-type": "application/zip",
      "content-disposition": `attachment; filename="${name}"`,
      "cache-control": "no-store",
    });
  c.header("content-disposition", `attachment; filename="${name}"`);
  c.header("cache-control", "no-store");
  return c.json(doc, 200);
}

export function dataRightsRoutes() {
  const app = createRouter();

  app.openapi(
    createRoute({
      method: "get",
      path: "/me/data-export",
      tags: ["Member"],
      summary: "Download everything the company holds about you (profile, allocations, consent, usage)",
      request: { query: ExportQuery },
      responses: exportResponses,
    }),
    async (c) => {
      const { principal, company } = await authorize(c, { member: true });
      if (principal.kind !== "member") throw new AppError("forbidden", "this export is a member's own");
      const requester: ExportRequester = {
        kind: "member",
        memberId: principal.memberId,
        label: principalLabel(principal),
      };
      return sendExport(c, company, principal.memberId, requester, c.req.valid("query").format);
    },
  );

  app.openapi(
    createRoute({
      method: "get",
      path: "/members/{id}/data-export",
      tags: ["Members"],
      summary:
        "Export a member's data (owners and admins; a personal member's usage only with their consent)",
      request: { params: IdParam, query: ExportQuery },
      responses: exportResponses,
    }),
    async (c) => {
      const { principal, company } = await authorize(c, MANAGE);
      if (principal.kind !== "admin") throw new AppError("forbidden", "only owners and admins may do this");
      const requester: ExportRequester = { kind: "admin", admin: principal.admin };
      return sendExport(c, company, c.req.valid("param").id, requester, c.req.valid("query").format);
    },
  );

  app.openapi(
    createRoute({
      method: "post",
      path: "/members/{id}/erase",
      tags: ["Members"],
      summary:
        "Erase a member: their name, username and email become a pseudonym, credentials and sessions are removed, " +
        "usage destinations masked; the ledger and every report total stay. Owners only; irreversible; repeatable.",
      request: { params: IdParam },
      responses: {
        200: {
          description: "Erased (or already erased)",
          content: { "application/json": { schema: ErasureSchema } },
        },
        ...errorResponses,
      },
    }),
    async (c) => {
      const { principal, company } = await authorize(c, OWNER);
      const { db, clock } = c.get("deps");
      const { filesToRemove, ...result } = await eraseMember(
        db,
        company,
        c.req.valid("param").id,
        principalLabel(principal),
        clock.now(),
      );
      await removeErasedFiles(filesToRemove);
      return c.json(result, 200);
    },
  );

  return app;
}
