/** @module The first schema: companies, people, the ledger (transfers, usage records), monthly totals, audit. */
import { sql } from "kysely";
import type { Kysely } from "kysely";
import type { Dialect } from "../database";
import { idColumn } from "./helpers";
import type { Table } from "./helpers";

// Migrations are written against an untyped Kysely: the schema they build is what schema.ts describes.
type AnyDb = Kysely<Record<string, never>>;

export async function up(db: AnyDb, dialect: Dialect): Promise<void> {
  const table = (name: string): Table => idColumn(db.schema.createTable(name), dialect);
  const ref = (t: string) => `${t}.id`;

  await table("companies")
    .addColumn("name", "text", (c) => c.notNull())
    .addColumn("currency", "text", (c) => c.notNull())
    .addColumn("timezone", "text", (c) => c.notNull())
    .addColumn("company_account_id", "bigint")
    .addColumn("created_at_ms", "bigint", (c) => c.notNull())
    .execute();

  await table("accounts")
    .addColumn("company_id", "bigint", (c) => c.notNull().references(ref("companies")))
    .addColumn("kind", "text", (c) => c.notNull())
    .addColumn("balance_minor", "bigint", (c) => c.notNull().defaultTo(0))
    .execute();
  await db.schema
    .createIndex("accounts_company_kind")
    .on("accounts")
    .columns(["company_id", "kind"])
    .execute();

  await table("admins")
    .addColumn("company_id", "bigint", (c) => c.notNull().references(ref("companies")))
    .addColumn("email", "text", (c) => c.notNull())
    .addColumn("name", "text", (c) => c.notNull())
    .addColumn("role", "text", (c) => c.notNull())
    .addColumn("password_hash", "text")
    .addColumn("privacy_acknowledged_at_ms", "bigint")
    .addColumn("created_at_ms", "bigint", (c) => c.notNull())
    .addUniqueConstraint("admins_company_email", ["company_id", "email"])
    .execute();

  await table("members")
    .addColumn("company_id", "bigint", (c) => c.notNull().references(ref("companies")))
    .addColumn("account_id", "bigint", (c) => c.notNull().references(ref("accounts")))
    .addColumn("name", "text", (c) => c.notNull())
    .addColumn("username", "text", (c) => c.notNull())
    .addColumn("email", "text")
    .addColumn("account_type", "text", (c) => c.notNull())
    .addColumn("reports_consent", "integer", (c) => c.notNull().defaultTo(0))
    .addColumn("consent_changed_at_ms", "bigint")
    .addColumn("created_at_ms", "bigint", (c) => c.notNull())
    .addUniqueConstraint("members_company_username", ["company_id", "username"])
    .execute();
  await db.schema.createIndex("members_account").on("members").column("account_id").execute();

  await table("groups")
    .addColumn("company_id", "bigint", (c) => c.notNull().references(ref("companies")))
    .addColumn("name", "text", (c) => c.notNull())
    .addUniqueConstraint("groups_company_name", ["company_id", "name"])
    .execute();

  await db.schema
    .createTable("member_groups")
    .addColumn("company_id", "bigint", (c) => c.notNull().references(ref("companies")))
    .addColumn("member_id", "bigint", (c) => c.notNull().references(ref("members")))
    .addColumn("group_id", "bigint", (c) => c.notNull().references(ref("groups")))
    .addPrimaryKeyConstraint("member_groups_pk", ["member_id", "group_id"])
    .execute();
  await db.schema.createIndex("member_groups_group").on("member_groups").column("group_id").execute();

  await table("sip_profiles")
    .addColumn("company_id", "bigint", (c) => c.notNull().references(ref("companies")))
    .addColumn("account_id", "bigint", (c) => c.notNull().references(ref("accounts")))
    .addColumn("name", "text", (c) => c.notNull())
    .addColumn("channels", "integer", (c) => c.notNull())
    .addColumn("created_at_ms", "bigint", (c) => c.notNull())
    .addUniqueConstraint("sip_profiles_company_name", ["company_id", "name"])
    .execute();
  await db.schema.createIndex("sip_profiles_account").on("sip_profiles").column("account_id").execute();

  await table("rates")
    .addColumn("company_id", "bigint", (c) => c.notNull().references(ref("companies")))
    .addColumn("prefix", "text", (c) => c.notNull())
    .addColumn("name", "text", (c) => c.notNull())
    .addColumn("per_minute", "text", (c) => c.notNull())
    .addColumn("connection_fee", "text", (c) => c.notNull())
    .addColumn("interval", "text", (c) => c.notNull())
    .addColumn("sms", "text", (c) => c.notNull())
    .addUniqueConstraint("rates_company_prefix", ["company_id", "prefix"])
    .execute();

  await table("plans")
    .addColumn("company_id", "bigint", (c) => c.notNull().references(ref("companies")))
    .addColumn("name", "text", (c) => c.notNull())
    .addColumn("price_minor", "bigint", (c) => c.notNull())
    .addColumn("prefixes", "text", (c) => c.notNull())
    .addColumn("minutes", "integer", (c) => c.notNull())
    .addUniqueConstraint("plans_company_name", ["company_id", "name"])
    .execute();

  await table("purchases")
    .addColumn("company_id", "bigint", (c) => c.notNull().references(ref("companies")))
    .addColumn("reference", "text", (c) => c.notNull())
    .addColumn("payment_method", "text", (c) => c.notNull())
    .addColumn("status", "text", (c) => c.notNull())
    .addColumn("amount_minor", "bigint", (c) => c.notNull())
    .addColumn("vat_rate", "text", (c) => c.notNull())
    .addColumn("vat_minor", "bigint", (c) => c.notNull())
    .addColumn("total_minor", "bigint", (c) => c.notNull())
    .addColumn("created_at_ms", "bigint", (c) => c.notNull())
    .addColumn("month", "text", (c) => c.notNull())
    .addColumn("settled_at_ms", "bigint")
    .addColumn("purchased_by_admin_id", "bigint", (c) => c.references(ref("admins")))
    .addUniqueConstraint("purchases_company_reference", ["company_id", "reference"])
    .execute();
  await db.schema
    .createIndex("purchases_company_month")
    .on("purchases")
    .columns(["company_id", "month", "created_at_ms"])
    .execute();

  await table("transfers")
    .addColumn("company_id", "bigint", (c) => c.notNull().references(ref("companies")))
    .addColumn("at_ms", "bigint", (c) => c.notNull())
    .addColumn("month", "text", (c) => c.notNull())
    .addColumn("kind", "text", (c) => c.notNull())
    .addColumn("debit_account_id", "bigint", (c) => c.notNull().references(ref("accounts")))
    .addColumn("credit_account_id", "bigint", (c) => c.notNull().references(ref("accounts")))
    .addColumn("amount_minor", "bigint", (c) => c.notNull().check(sqlPositive()))
    .addColumn("recipient_account_id", "bigint", (c) => c.references(ref("accounts")))
    .addColumn("feature", "text")
    .addColumn("detail", "text")
    .addColumn("actor_admin_id", "bigint", (c) => c.references(ref("admins")))
    .addColumn("purchase_id", "bigint", (c) => c.references(ref("purchases")))
    .execute();
  await db.schema
    .createIndex("transfers_company_month_feature")
    .on("transfers")
    .columns(["company_id", "month", "feature", "at_ms"])
    .execute();
  await db.schema
    .createIndex("transfers_recipient")
    .on("transfers")
    .columns(["recipient_account_id", "at_ms"])
    .execute();

  await table("subscriptions")
    .addColumn("company_id", "bigint", (c) => c.notNull().references(ref("companies")))
    .addColumn("account_id", "bigint", (c) => c.notNull().references(ref("accounts")))
    .addColumn("plan_id", "bigint", (c) => c.notNull().references(ref("plans")))
    .addColumn("transfer_id", "bigint", (c) => c.notNull().references(ref("transfers")))
    .addColumn("allocated_at_ms", "bigint", (c) => c.notNull())
    .addColumn("active_from_ms", "bigint", (c) => c.notNull())
    .addColumn("active_until_ms", "bigint", (c) => c.notNull())
    .addColumn("minutes", "integer", (c) => c.notNull())
    .addColumn("used_minutes", "integer", (c) => c.notNull().defaultTo(0))
    .execute();
  await db.schema
    .createIndex("subscriptions_account")
    .on("subscriptions")
    .columns(["account_id", "active_until_ms"])
    .execute();

  await table("numbers")
    .addColumn("company_id", "bigint", (c) => c.notNull().references(ref("companies")))
    .addColumn("account_id", "bigint", (c) => c.notNull().references(ref("accounts")))
    .addColumn("number", "text", (c) => c.notNull())
    .addColumn("months", "integer", (c) => c.notNull())
    .addColumn("price_minor", "bigint", (c) => c.notNull())
    .addColumn("transfer_id", "bigint", (c) => c.notNull().references(ref("transfers")))
    .addColumn("allocated_at_ms", "bigint", (c) => c.notNull())
    .addColumn("active_until_ms", "bigint", (c) => c.notNull())
    .execute();
  await db.schema
    .createIndex("numbers_company_number")
    .on("numbers")
    .columns(["company_id", "number", "active_until_ms"])
    .execute();

  await table("auto_rules")
    .addColumn("company_id", "bigint", (c) => c.notNull().references(ref("companies")))
    .addColumn("account_id", "bigint", (c) => c.notNull().unique().references(ref("accounts")))
    .addColumn("threshold_minor", "bigint", (c) => c.notNull())
    .addColumn("amount_minor", "bigint", (c) => c.notNull())
    .addColumn("monthly_cap_minor", "bigint", (c) => c.notNull())
    .addColumn("set_by_admin_id", "bigint", (c) => c.references(ref("admins")))
    .addColumn("updated_at_ms", "bigint", (c) => c.notNull())
    .execute();

  await table("usage_records")
    .addColumn("company_id", "bigint", (c) => c.notNull().references(ref("companies")))
    .addColumn("account_id", "bigint", (c) => c.notNull().references(ref("accounts")))
    .addColumn("external_id", "text", (c) => c.notNull())
    .addColumn("kind", "text", (c) => c.notNull())
    .addColumn("started_at_ms", "bigint", (c) => c.notNull())
    .addColumn("month", "text", (c) => c.notNull())
    .addColumn("destination", "text", (c) => c.notNull())
    .addColumn("duration_s", "integer")
    .addColumn("segments", "integer")
    .addColumn("billed_s", "integer")
    .addColumn("rate_prefix", "text")
    .addColumn("rate_name", "text")
    .addColumn("rate_per_minute", "text")
    .addColumn("rate_connection_fee", "text")
    .addColumn("rate_interval", "text")
    .addColumn("charge_minor", "bigint", (c) => c.notNull())
    .addColumn("charge_exact", "text")
    .addColumn("status", "text", (c) => c.notNull())
    .addColumn("subscription_id", "bigint")
    .addColumn("covered_by", "text")
    .addColumn("covered_minutes", "integer", (c) => c.notNull().defaultTo(0))
    .addColumn("ingested_at_ms", "bigint", (c) => c.notNull())
    .addUniqueConstraint("usage_company_external_id", ["company_id", "external_id"])
    .execute();
  await db.schema
    .createIndex("usage_account_started")
    .on("usage_records")
    .columns(["account_id", "started_at_ms", "external_id"])
    .execute();

  await db.schema
    .createTable("account_months")
    .addColumn("company_id", "bigint", (c) => c.notNull().references(ref("companies")))
    .addColumn("account_id", "bigint", (c) => c.notNull().references(ref("accounts")))
    .addColumn("month", "text", (c) => c.notNull())
    .addColumn("purchased_minor", "bigint", (c) => c.notNull().defaultTo(0))
    .addColumn("allocated_minor", "bigint", (c) => c.notNull().defaultTo(0))
    .addColumn("auto_allocated_minor", "bigint", (c) => c.notNull().defaultTo(0))
    .addColumn("reclaimed_minor", "bigint", (c) => c.notNull().defaultTo(0))
    .addColumn("features_minor", "bigint", (c) => c.notNull().defaultTo(0))
    .addColumn("usage_minor", "bigint", (c) => c.notNull().defaultTo(0))
    .addColumn("net_minor", "bigint", (c) => c.notNull().defaultTo(0))
    .addPrimaryKeyConstraint("account_months_pk", ["account_id", "month"])
    .execute();
  await db.schema
    .createIndex("account_months_company_month")
    .on("account_months")
    .columns(["company_id", "month"])
    .execute();

  await table("consent_events")
    .addColumn("company_id", "bigint", (c) => c.notNull().references(ref("companies")))
    .addColumn("member_id", "bigint", (c) => c.notNull().references(ref("members")))
    .addColumn("granted", "integer", (c) => c.notNull())
    .addColumn("at_ms", "bigint", (c) => c.notNull())
    .execute();

  await table("audit_log")
    .addColumn("company_id", "bigint", (c) => c.notNull().references(ref("companies")))
    .addColumn("at_ms", "bigint", (c) => c.notNull())
    .addColumn("actor", "text", (c) => c.notNull())
    .addColumn("action", "text", (c) => c.notNull())
    .addColumn("subject", "text")
    .addColumn("details", "text")
    .execute();
  await db.schema.createIndex("audit_company_at").on("audit_log").columns(["company_id", "at_ms"]).execute();
}

function sqlPositive() {
  return sql`amount_minor > 0`;
}
