/** @module Server tables: sessions, API keys, idempotency keys, login attempts, invitations, member passwords, renewals. */
import type { Kysely } from "kysely";
import type { Dialect } from "../database";
import { idColumn } from "./helpers";

type AnyDb = Kysely<Record<string, never>>;

export async function up(db: AnyDb, dialect: Dialect): Promise<void> {
  await db.schema.alterTable("members").addColumn("password_hash", "text").execute();
  await db.schema
    .alterTable("subscriptions")
    .addColumn("renew", "integer", (c) => c.notNull().defaultTo(0))
    .execute();
  await db.schema
    .alterTable("subscriptions")
    .addColumn("renewal_state", "text", (c) => c.notNull().defaultTo("active"))
    .execute();
  await db.schema
    .alterTable("numbers")
    .addColumn("renew", "integer", (c) => c.notNull().defaultTo(0))
    .execute();
  await db.schema
    .alterTable("numbers")
    .addColumn("renewal_state", "text", (c) => c.notNull().defaultTo("active"))
    .execute();

  // A session is found by the SHA-256 of its cookie token: a stolen database does not yield live cookies.
  await db.schema
    .createTable("sessions")
    .addColumn("token_hash", "text", (c) => c.primaryKey())
    .addColumn("company_id", "bigint", (c) => c.notNull().references("companies.id"))
    .addColumn("principal_kind", "text", (c) => c.notNull())
    .addColumn("principal_id", "bigint", (c) => c.notNull())
    .addColumn("csrf_token", "text", (c) => c.notNull())
    .addColumn("created_at_ms", "bigint", (c) => c.notNull())
    .addColumn("expires_at_ms", "bigint", (c) => c.notNull())
    .addColumn("last_seen_ms", "bigint", (c) => c.notNull())
    .execute();
  await db.schema
    .createIndex("sessions_principal")
    .on("sessions")
    .columns(["principal_kind", "principal_id"])
    .execute();

  await idColumn(db.schema.createTable("api_keys"), dialect)
    .addColumn("company_id", "bigint", (c) => c.notNull().references("companies.id"))
    .addColumn("name", "text", (c) => c.notNull())
    .addColumn("key_prefix", "text", (c) => c.notNull())
    .addColumn("key_hash", "text", (c) => c.notNull().unique())
    .addColumn("scopes", "text", (c) => c.notNull())
    .addColumn("created_by_admin_id", "bigint", (c) => c.references("admins.id"))
    .addColumn("created_at_ms", "bigint", (c) => c.notNull())
    .addColumn("last_used_at_ms", "bigint")
    .addColumn("revoked_at_ms", "bigint")
    .execute();

  await db.schema
    .createTable("idempotency_keys")
    .addColumn("company_id", "bigint", (c) => c.notNull())
    .addColumn("principal", "text", (c) => c.notNull())
    .addColumn("key", "text", (c) => c.notNull())
    .addColumn("request_hash", "text", (c) => c.notNull())
    .addColumn("state", "text", (c) => c.notNull())
    .addColumn("response_status", "integer")
    .addColumn("response_body", "text")
    .addColumn("created_at_ms", "bigint", (c) => c.notNull())
    .addPrimaryKeyConstraint("idempotency_keys_pk", ["company_id", "principal", "key"])
    .execute();

  await idColumn(db.schema.createTable("login_attempts"), dialect)
    .addColumn("bucket", "text", (c) => c.notNull())
    .addColumn("at_ms", "bigint", (c) => c.notNull())
    .execute();
  await db.schema
    .createIndex("login_attempts_bucket")
    .on("login_attempts")
    .columns(["bucket", "at_ms"])
    .execute();

  await idColumn(db.schema.createTable("invitations"), dialect)
    .addColumn("company_id", "bigint", (c) => c.notNull().references("companies.id"))
    .addColumn("email", "text", (c) => c.notNull())
    .addColumn("token_hash", "text", (c) => c.notNull().unique())
    .addColumn("invited_by_admin_id", "bigint", (c) => c.references("admins.id"))
    .addColumn("created_at_ms", "bigint", (c) => c.notNull())
    .addColumn("expires_at_ms", "bigint", (c) => c.notNull())
    .addColumn("status", "text", (c) => c.notNull())
    .addColumn("member_id", "bigint", (c) => c.references("members.id"))
    .execute();
  await db.schema
    .createIndex("invitations_company")
    .on("invitations")
    .columns(["company_id", "status"])
    .execute();
}
