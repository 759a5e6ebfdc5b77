/**
 * @module Purchase receipts over HTTP (issue 5, item 5): the PDF receipt of one completed purchase of the
 * caller's company, for owners, admins and viewers, or an API key with billing:write or reports:read.
 */
import { createRoute, z } from "@hono/zod-openapi";
import { receiptPdf } from "../../documents/receipt";
import { REFERENCE_LENGTH_MAX } from "../../services/purchase.service";
import { conflict, notFound } from "../../shared/errors";
import { authorize, principalOf, READ } from "../auth";
import type { Access } from "../auth";
import { createRouter, errorResponses } from "../router";

const ReferenceParam = z.object({
  reference: z
    .string()
    .min(1)
    .max(REFERENCE_LENGTH_MAX)
    .openapi({ param: { name: "reference", in: "path" }, example: "P-1001" }),
});

/** A file name that is safe in a Content-Disposition header whatever the reference holds. */
export function receiptFileName(reference: string): string {
  return `receipt-${reference.replace(/[^A-Za-z0-9._-]+/g, "_")}.pdf`;
}

export function receiptRoutes() {
  const app = createRouter();

  app.openapi(
    createRoute({
      method: "get",
      path: "/purchases/{reference}/receipt.pdf",
      tags: ["Purchases"],
      summary:
        "The PDF receipt of a completed purchase: seller, buyer, reference, dates, payment method, net, VAT and total",
      request: { params: ReferenceParam },
      responses: {
        200: {
          description: "The receipt (A4, one page)",
          content: { "application/pdf": { schema: z.string().openapi({ format: "binary" }) } },
        },
        ...errorResponses,
      },
    }),
    async (c) => {
      const { reference } = c.req.valid("param");
      const caller = principalOf(c);
      // An API key may read receipts with either the billing or the reports scope.
      const access: Access =
        caller.kind === "api_key" && caller.scopes.has("reports:read")
          ? { ...READ, scope: "reports:read" }
          : { ...READ, scope: "billing:write" };
      const { company } = await authorize(c, access);
      const { db, clock, config } = c.get("deps");
      const p = await db.k
        .selectFrom("purchases as p")
        .leftJoin("admins as a", "a.id", "p.purchased_by_admin_id")
        .selectAll("p")
        .select(["a.name as admin_name", "a.email as admin_email"])
        .where("p.company_id", "=", company.id)
        .where("p.reference", "=", reference)
        .executeTakeFirst();
      if (!p) throw notFound(`no purchase with reference ${reference}`);
      if (p.status !== "completed")
        throw conflict(`only a completed purchase has a receipt (${reference} is ${p.status})`);
      const pdf = await receiptPdf({
        seller: config.seller,
        companyName: company.name,
        timezone: company.timezone,
        currency: company.currency,
        buyerName: p.admin_name,
        buyerEmail: p.admin_email,
        reference: p.reference,
        paymentMethod: p.payment_method,
        createdAtMs: p.created_at_ms,
        settledAtMs: p.settled_at_ms ?? p.created_at_ms,
        amountMinor: p.amount_minor,
        vatRate: p.vat_rate,
        vatMinor: p.vat_minor,
        totalMinor: p.total_minor,
        generatedAtMs: clock.now(),
      });
      return c.body(new Uint8Array(pdf), 200, {
        "content-type": "application/pdf",
        "content-disposition": `inline; filename="${receiptFileName(p.reference)}"`,
        "cache-control": "private, no-store",
      });
    },
  );

  return app;
}
