/** @module Creating a company and its accounts. */
import type { Db } from "../db/database";
import { isCurrency } from "../money/currency";
import { invalid } from "../shared/errors";
import { isValidTimeZone } from "../time/month";
import { loadCompany } from "./company-context";
import type { CompanyContext } from "./company-context";

export const COMPANY_NAME_LENGTH_MAX = 200;

export async function createCompany(
  db: Db,
  input: { name: string; currency: string; timezone: string; nowMs: number },
): Promise<CompanyContext> {
  const name = input.name.trim();
  if (name === "" || name.length > COMPANY_NAME_LENGTH_MAX)
    throw invalid(`must be 1 to ${COMPANY_NAME_LENGTH_MAX} characters`, "company.name");
  if (!isCurrency(input.currency))
    throw invalid(`"${input.currency}" is not an ISO 4217 currency code`, "company.currency");
  if (!isValidTimeZone(input.timezone))
    throw invalid(`"${input.timezone}" is not an IANA time zone name`, "company.timezone");
  const { id } = await db.k
    .insertInto("companies")
    .values({
      name,
      currency: input.currency,
      timezone: input.timezone,
      company_account_id: null,
      created_at_ms: input.nowMs,
    })
    .returning("id")
    .executeTakeFirstOrThrow();
  const accountIds: number[] = [];
  for (const kind of ["company", "purchases", "usage", "features"] as const) {
    const row = await db.k
      .insertInto("accounts")
      .values({ company_id: id, kind, balance_minor: 0 })
      .returning("id")
      .executeTakeFirstOrThrow();
    accountIds.push(row.id);
  }
  await db.k
    .updateTable("companies")
    .set({ company_account_id: accountIds[0] })
    .where("id", "=", id)
    .execute();
  return loadCompany(db, id);
}

export async function listCompanies(db: Db): Promise<{ id: number; name: string; currency: string }[]> {
  return db.k.selectFrom("companies").select(["id", "name", "currency"]).orderBy("id").execute();
}
