/** @module The facts about a company every service needs, loaded once per operation. */
import type { Db } from "../db/database";
import { currencyExponent } from "../money/currency";
import { notFound } from "../shared/errors";

export interface CompanyContext {
  readonly id: number;
  readonly name: string;
  readonly currency: string;
  readonly exponent: number;
  readonly timezone: string;
  readonly companyAccountId: number;
  /** System accounts: the source of purchased credit and the sinks of usage charges and feature costs. */
  readonly purchasesAccountId: number;
  readonly usageAccountId: number;
  readonly featuresAccountId: number;
}

export async function loadCompany(db: Db, companyId: number): Promise<CompanyContext> {
  const company = await db.k
    .selectFrom("companies")
    .selectAll()
    .where("id", "=", companyId)
    .executeTakeFirst();
  if (!company) throw notFound(`Company ${companyId} does not exist`);
  const accounts = await db.k
    .selectFrom("accounts")
    .select(["id", "kind"])
    .where("company_id", "=", companyId)
    .where("kind", "in", ["company", "purchases", "usage", "features"])
    .execute();
  const byKind = new Map(accounts.map((a) => [a.kind, a.id]));
  const need = (kind: "company" | "purchases" | "usage" | "features"): number => {
    const id = byKind.get(kind);
    if (id === undefined) throw new Error(`Company ${companyId} has no ${kind} account`);
    return id;
  };
  return {
    id: company.id,
    name: company.name,
    currency: company.currency,
    exponent: currencyExponent(company.currency),
    timezone: company.timezone,
    companyAccountId: need("company"),
    purchasesAccountId: need("purchases"),
    usageAccountId: need("usage"),
    featuresAccountId: need("features"),
  };
}
