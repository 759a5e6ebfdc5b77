/** @module Buying credit: purchases, their VAT, and settling pending ones. */
import type { Db } from "../db/database";
import type { PaymentMethod, PurchaseStatus } from "../db/schema";
import { parseDecimal, vatMinor } from "../money/decimal";
import { AppError, conflict, invalid, notFound } from "../shared/errors";
import { monthOf } from "../time/month";
import type { CompanyContext } from "./company-context";
import { lockCompanyBalance, postTransfer } from "./ledger";

export const PAYMENT_METHODS: readonly PaymentMethod[] = ["card", "bank_transfer", "invoice", "voucher"];
export const REFERENCE_LENGTH_MAX = 100;

export interface PurchaseInput {
  reference: string;
  amountMinor: number;
  vatRate: string;
  paymentMethod: PaymentMethod;
  status: PurchaseStatus;
  atMs: number;
  actorAdminId: number | null;
}

/** Records a purchase; a completed one adds its net amount to the company balance at once. */
export async function recordPurchase(db: Db, company: CompanyContext, p: PurchaseInput): Promise<number> {
  if (p.reference.trim() === "" || p.reference.length > REFERENCE_LENGTH_MAX)
    throw invalid(`must be 1 to ${REFERENCE_LENGTH_MAX} characters`, "reference");
  if (p.amountMinor <= 0) throw invalid("must be greater than zero", "amount");
  const rate = parseDecimal(p.vatRate);
  if (!rate.ok) throw invalid(rate.error, "vat_rate");
  if (rate.value.units > 10n ** BigInt(rate.value.scale))
    throw invalid("must be between 0 and 1", "vat_rate");
  await lockCompanyBalance(db, company);
  const existing = await db.k
    .selectFrom("purchases")
    .select("id")
    .where("company_id", "=", company.id)
    .where("reference", "=", p.reference)
    .executeTakeFirst();
  if (existing) throw conflict(`a purchase with reference ${p.reference} already exists`);
  const vat = vatMinor(p.amountMinor, rate.value);
  const { id } = await db.k
    .insertInto("purchases")
    .values({
      company_id: company.id,
      reference: p.reference,
      payment_method: p.paymentMethod,
      status: p.status,
      amount_minor: p.amountMinor,
      vat_rate: p.vatRate,
      vat_minor: vat,
      total_minor: p.amountMinor + vat,
      created_at_ms: p.atMs,
      month: monthOf(p.atMs, company.timezone),
      settled_at_ms: p.status === "pending" ? null : p.atMs,
      purchased_by_admin_id: p.actorAdminId,
    })
    .returning("id")
    .executeTakeFirstOrThrow();
  if (p.status === "completed") await creditPurchase(db, company, id, p.amountMinor, p.atMs, p.actorAdminId);
  return id;
}

async function creditPurchase(
  db: Db,
  company: CompanyContext,
  purchaseId: number,
  amountMinor: number,
  atMs: number,
  actorAdminId: number | null,
): Promise<void> {
  await postTransfer(db, company, {
    atMs,
    kind: "purchase",
    debitAccountId: company.purchasesAccountId,
    creditAccountId: company.companyAccountId,
    amountMinor,
    recipientAccountId: null,
    feature: null,
    actorAdminId,
    purchaseId,
  });
}

/** Turns a pending purchase completed (its credit enters now) or failed. */
export async function settlePurchase(
  db: Db,
  company: CompanyContext,
  input: { reference: string; status: "completed" | "failed"; atMs: number; actorAdminId: number | null },
): Promise<void> {
  await lockCompanyBalance(db, company);
  const purchase = await db.k
    .selectFrom("purchases")
    .selectAll()
    .where("company_id", "=", company.id)
    .where("reference", "=", input.reference)
    .executeTakeFirst();
  if (!purchase) throw notFound(`no purchase with reference ${input.reference}`);
  if (purchase.status !== "pending")
    throw new AppError(
      "conflict",
      `purchase ${input.reference} is already ${purchase.status}; only a pending one can be settled`,
    );
  if (input.atMs < purchase.created_at_ms)
    throw invalid("a purchase cannot be settled before it was made", "at");
  await db.k
    .updateTable("purchases")
    .set({ status: input.status, settled_at_ms: input.atMs })
    .where("id", "=", purchase.id)
    .execute();
  if (input.status === "completed")
    await creditPurchase(db, company, purchase.id, purchase.amount_minor, input.atMs, input.actorAdminId);
}
