/**
 * @module The ledger's write path: immutable transfers, cached balances and monthly totals, all changed
 * together inside the caller's transaction. Nothing else writes balances.
 */
import { sql } from "kysely";
import type { Db } from "../db/database";
import type { Feature, TransferKind } from "../db/schema";
import { transferMonthDeltas, ZERO_DELTA } from "../ledger/rules";
import type { MonthDelta } from "../ledger/rules";
import { assert } from "../shared/errors";
import { monthOf } from "../time/month";
import type { CompanyContext } from "./company-context";
import { bumpCompanyRevision } from "./revision";

export interface TransferInput {
  atMs: number;
  kind: TransferKind;
  debitAccountId: number;
  creditAccountId: number;
  amountMinor: number;
  recipientAccountId: number | null;
  feature: Feature | null;
  detail?: string | null;
  actorAdminId: number | null;
  purchaseId?: number | null;
}

function requireTx(db: Db): void {
  assert(db.inTransaction, "ledger writes must run inside inTransaction()");
}

/**
 * Locks the company's own account row and returns its balance. Every operation that moves a company's
 * money takes this lock first, so a company's ledger has one writer at a time (lock, then check, then
 * write): two admins allocating at once can never together take the balance below zero.
 * SQLite needs no row lock: its transactions begin IMMEDIATE and so already run one at a time.
 */
export async function lockCompanyBalance(db: Db, company: CompanyContext): Promise<number> {
  requireTx(db);
  let q = db.k.selectFrom("accounts").select("balance_minor").where("id", "=", company.companyAccountId);
  if (db.dialect === "postgres") q = q.forUpdate();
  const row = await q.executeTakeFirstOrThrow();
  await bumpCompanyRevision(db, company.id); // every money movement changes a report
  return row.balance_minor;
}

export async function accountBalance(db: Db, accountId: number): Promise<number> {
  const row = await db.k
    .selectFrom("accounts")
    .select("balance_minor")
    .where("id", "=", accountId)
    .executeTakeFirstOrThrow();
  return row.balance_minor;
}

/** Adds `amountMinor` (may be negative) to an account's cached balance. */
export async function addToBalance(db: Db, accountId: number, amountMinor: number): Promise<void> {
  if (amountMinor === 0) return;
  await db.k
    .updateTable("accounts")
    .set({ balance_minor: sql<number>`balance_minor + ${amountMinor}` })
    .where("id", "=", accountId)
    .execute();
}

/** Adds a delta to one account's totals for one month (insert or add). */
export async function addToMonth(
  db: Db,
  companyId: number,
  accountId: number,
  month: string,
  d: Readonly<MonthDelta>,
): Promise<void> {
  const add = (col: keyof MonthDelta) =>
    sql<number>`account_months.${sql.ref(col)} + excluded.${sql.ref(col)}`;
  await db.k
    .insertInto("account_months")
    .values({ company_id: companyId, account_id: accountId, month, ...d })
    .onConflict((oc) =>
      oc.columns(["account_id", "month"]).doUpdateSet({
        purchased_minor: add("purchased_minor"),
        allocated_minor: add("allocated_minor"),
        auto_allocated_minor: add("auto_allocated_minor"),
        reclaimed_minor: add("reclaimed_minor"),
        features_minor: add("features_minor"),
        usage_minor: add("usage_minor"),
        net_minor: add("net_minor"),
      }),
    )
    .execute();
}

/** Writes one immutable transfer and everything derived from it (balances, monthly totals). */
export async function postTransfer(db: Db, company: CompanyContext, t: TransferInput): Promise<number> {
  requireTx(db);
  assert(
    Number.isSafeInteger(t.amountMinor) && t.amountMinor > 0,
    "transfer amount must be a positive integer",
  );
  const month = monthOf(t.atMs, company.timezone);
  const { id } = await db.k
    .insertInto("transfers")
    .values({
      company_id: company.id,
      at_ms: t.atMs,
      month,
      kind: t.kind,
      debit_account_id: t.debitAccountId,
      credit_account_id: t.creditAccountId,
      amount_minor: t.amountMinor,
      recipient_account_id: t.recipientAccountId,
      feature: t.feature,
      detail: t.detail ?? null,
      actor_admin_id: t.actorAdminId,
      purchase_id: t.purchaseId ?? null,
    })
    .returning("id")
    .executeTakeFirstOrThrow();
  await addToBalance(db, t.debitAccountId, -t.amountMinor);
  await addToBalance(db, t.creditAccountId, t.amountMinor);
  const deltas = transferMonthDeltas(t.kind, t.amountMinor);
  await addToMonth(db, company.id, t.debitAccountId, month, deltas.debit);
  await addToMonth(db, company.id, t.creditAccountId, month, deltas.credit);
  if (deltas.recipient && t.recipientAccountId !== null && deltas.recipient !== ZERO_DELTA) {
    await addToMonth(db, company.id, t.recipientAccountId, month, deltas.recipient);
  }
  return id;
}

/** Month totals of an account (zeros when it had no entries that month). */
export async function monthTotals(db: Db, accountId: number, month: string): Promise<MonthDelta> {
  const row = await db.k
    .selectFrom("account_months")
    .select([
      "purchased_minor",
      "allocated_minor",
      "auto_allocated_minor",
      "reclaimed_minor",
      "features_minor",
      "usage_minor",
      "net_minor",
    ])
    .where("account_id", "=", accountId)
    .where("month", "=", month)
    .executeTakeFirst();
  return row ?? { ...ZERO_DELTA };
}
