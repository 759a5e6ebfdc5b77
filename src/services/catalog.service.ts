/** @module A company's rate table and calling plans. */
import type { Db } from "../db/database";
import { parseRate, RateTable } from "../rating/rate-table";
import type { RateInput } from "../rating/rate-table";
import { conflict, invalid } from "../shared/errors";
import type { CompanyContext } from "./company-context";

export const PLAN_PREFIXES_MAX = 100;

/** Adds or replaces the rate for a prefix. */
export async function putRate(db: Db, company: CompanyContext, input: RateInput): Promise<void> {
  const parsed = parseRate(input);
  if (!parsed.ok) throw invalid(parsed.error);
  const r = parsed.value;
  const values = {
    name: r.name,
    per_minute: r.perMinuteText,
    connection_fee: input.connectionFee,
    interval: r.intervalText,
    sms: input.sms,
  };
  await db.k
    .insertInto("rates")
    .values({ company_id: company.id, prefix: r.prefix, ...values })
    .onConflict((oc) => oc.columns(["company_id", "prefix"]).doUpdateSet(values))
    .execute();
}

export async function loadRateTable(db: Db, companyId: number): Promise<RateTable> {
  const rows = await db.k.selectFrom("rates").selectAll().where("company_id", "=", companyId).execute();
  const rates = rows.map((row) => {
    const parsed = parseRate({
      prefix: row.prefix,
      name: row.name,
      perMinute: row.per_minute,
      connectionFee: row.connection_fee,
      interval: row.interval,
      sms: row.sms,
    });
    if (!parsed.ok) throw new Error(`stored rate ${row.prefix} is invalid: ${parsed.error}`);
    return parsed.value;
  });
  return new RateTable(rates);
}

export async function createPlan(
  db: Db,
  company: CompanyContext,
  input: { name: string; priceMinor: number; prefixes: readonly string[]; minutes: number },
): Promise<number> {
  if (input.priceMinor <= 0) throw invalid("a plan's price must be greater than zero", "price");
  if (input.prefixes.length === 0 || input.prefixes.length > PLAN_PREFIXES_MAX)
    throw invalid(`a plan needs 1 to ${PLAN_PREFIXES_MAX} destination prefixes`, "prefixes");
  for (const p of input.prefixes)
    if (!/^\d{1,15}$/.test(p)) throw invalid(`"${p}" is not a digits prefix`, "prefixes");
  if (!Number.isInteger(input.minutes) || input.minutes < 0)
    throw invalid("must be a whole number ≥ 0", "minutes");
  const taken = await db.k
    .selectFrom("plans")
    .select("id")
    .where("company_id", "=", company.id)
    .where("name", "=", input.name)
    .executeTakeFirst();
  if (taken) throw conflict(`a plan named ${input.name} already exists`);
  const row = await db.k
    .insertInto("plans")
    .values({
      company_id: company.id,
      name: input.name,
      price_minor: input.priceMinor,
      prefixes: input.prefixes.join(","),
      minutes: input.minutes,
    })
    .returning("id")
    .executeTakeFirstOrThrow();
  return row.id;
}
