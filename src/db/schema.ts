/**
 * @module Table types for Kysely. Ids are integers; amounts are integers in minor units (`*_minor`);
 * instants are epoch milliseconds (`*_ms`); `month` is the company-local calendar month "YYYY-MM".
 * Ledger rows (transfers, usage_records) are insert-only: their types make every column read-only on update.
 */
import type { ColumnType, Generated, Insertable, Selectable } from "kysely";
import type { TransferKind } from "../ledger/rules";

export type { TransferKind };

/** A column written once and never updated (the type system refuses `set` on it). */
type Immutable<T> = ColumnType<T, T, never>;

export type AccountKind = "company" | "member" | "sip_profile" | "purchases" | "usage" | "features";
export type AdminRole = "owner" | "admin" | "viewer";
export type AccountType = "business" | "personal";
export type PurchaseStatus = "completed" | "pending" | "failed";
export type PaymentMethod = "card" | "bank_transfer" | "invoice" | "voucher";
export type Feature = "credit" | "subscription" | "number";
export type UsageStatus = "rated" | "covered" | "unrated";

export interface CompaniesTable {
  id: Generated<number>;
  name: string;
  currency: string;
  timezone: string;
  company_account_id: number | null;
  created_at_ms: number;
  /** Bumped by every write that can change a report (src/services/revision.ts). */
  revision: Generated<number>;
}

export interface AccountsTable {
  id: Generated<number>;
  company_id: number;
  kind: AccountKind;
  /** Cached sum of this account's ledger entries, updated in the same transaction as each entry. */
  balance_minor: number;
}

export interface AdminsTable {
  id: Generated<number>;
  company_id: number;
  email: string;
  name: string;
  role: AdminRole;
  password_hash: string | null;
  privacy_acknowledged_at_ms: number | null;
  created_at_ms: number;
  /** Set when the admin was removed: they can no longer sign in, but the history still names them. */
  removed_at_ms: ColumnType<number | null, number | null | undefined, number | null>;
}

export interface MembersTable {
  id: Generated<number>;
  company_id: number;
  account_id: number;
  name: string;
  username: string;
  email: string | null;
  account_type: AccountType;
  reports_consent: number;
  consent_changed_at_ms: number | null;
  created_at_ms: number;
  password_hash: ColumnType<string | null, string | null | undefined, string | null>;
  /** Set when the person was erased (pseudonymised); their ledger history stays. */
  erased_at_ms: ColumnType<number | null, number | null | undefined, number | null>;
}

export interface GroupsTable {
  id: Generated<number>;
  company_id: number;
  name: string;
}

export interface MemberGroupsTable {
  company_id: number;
  member_id: number;
  group_id: number;
}

export interface SipProfilesTable {
  id: Generated<number>;
  company_id: number;
  account_id: number;
  name: string;
  channels: number;
  created_at_ms: number;
}

export interface RatesTable {
  id: Generated<number>;
  company_id: number;
  prefix: string;
  name: string;
  per_minute: string;
  connection_fee: string;
  interval: string;
  sms: string;
}

export interface PlansTable {
  id: Generated<number>;
  company_id: number;
  name: string;
  price_minor: number;
  /** Destination prefixes the plan covers, joined by ",". */
  prefixes: string;
  minutes: number;
}

export interface PurchasesTable {
  id: Generated<number>;
  company_id: number;
  reference: string;
  payment_method: PaymentMethod;
  status: PurchaseStatus;
  amount_minor: number;
  vat_rate: string;
  vat_minor: number;
  total_minor: number;
  created_at_ms: number;
  month: string;
  settled_at_ms: number | null;
  purchased_by_admin_id: number | null;
}

export interface TransfersTable {
  id: Generated<number>;
  company_id: Immutable<number>;
  at_ms: Immutable<number>;
  month: Immutable<string>;
  kind: Immutable<TransferKind>;
  debit_account_id: Immutable<number>;
  credit_account_id: Immutable<number>;
  amount_minor: Immutable<number>;
  /** The member's or SIP profile's account the movement is for (null for purchases). */
  recipient_account_id: Immutable<number | null>;
  feature: Immutable<Feature | null>;
  detail: Immutable<string | null>;
  actor_admin_id: Immutable<number | null>;
  purchase_id: Immutable<number | null>;
}

export interface SubscriptionsTable {
  id: Generated<number>;
  company_id: number;
  account_id: number;
  plan_id: number;
  transfer_id: number;
  allocated_at_ms: number;
  active_from_ms: number;
  active_until_ms: number;
  minutes: number;
  /** Minutes of the allowance used so far: the sum of covered_minutes of the usage it covered. */
  used_minutes: number;
  renew: ColumnType<number, number | undefined, number>;
  renewal_state: ColumnType<RenewalState, RenewalState | undefined, RenewalState>;
}

export interface NumbersTable {
  id: Generated<number>;
  company_id: number;
  account_id: number;
  number: string;
  months: number;
  price_minor: number;
  transfer_id: number;
  allocated_at_ms: number;
  active_until_ms: number;
  renew: ColumnType<number, number | undefined, number>;
  renewal_state: ColumnType<RenewalState, RenewalState | undefined, RenewalState>;
}

export interface AutoRulesTable {
  id: Generated<number>;
  company_id: number;
  account_id: number;
  threshold_minor: number;
  amount_minor: number;
  monthly_cap_minor: number;
  set_by_admin_id: number | null;
  updated_at_ms: number;
}

export interface UsageRecordsTable {
  id: Generated<number>;
  company_id: Immutable<number>;
  account_id: Immutable<number>;
  external_id: Immutable<string>;
  kind: Immutable<"call" | "sms">;
  started_at_ms: Immutable<number>;
  month: Immutable<string>;
  destination: Immutable<string>;
  duration_s: Immutable<number | null>;
  segments: Immutable<number | null>;
  billed_s: Immutable<number | null>;
  rate_prefix: Immutable<string | null>;
  rate_name: Immutable<string | null>;
  rate_per_minute: Immutable<string | null>;
  rate_connection_fee: Immutable<string | null>;
  rate_interval: Immutable<string | null>;
  charge_minor: Immutable<number>;
  /** The exact charge before rounding up, in major units ("0.3515", or "1403/60000" when it does not terminate). */
  charge_exact: Immutable<string | null>;
  status: Immutable<UsageStatus>;
  subscription_id: Immutable<number | null>;
  covered_by: Immutable<string | null>;
  covered_minutes: Immutable<number>;
  ingested_at_ms: Immutable<number>;
}

/**
 * Retention (services/retention.service.ts): a company's month whose per-call usage rows were removed, with
 * the removed rows' count and charges per account, so that "a balance is the sum of its entries" still holds
 * and a re-sent record of that month is refused instead of charged again.
 */
export interface UsagePurgesTable {
  company_id: number;
  month: string;
  account_id: number;
  records: number;
  charge_minor: number;
  purged_at_ms: number;
}

/** Per-account monthly totals, kept in the same transaction as the ledger so a Summary costs O(recipients). */
export interface AccountMonthsTable {
  company_id: number;
  account_id: number;
  month: string;
  purchased_minor: number;
  allocated_minor: number;
  auto_allocated_minor: number;
  reclaimed_minor: number;
  features_minor: number;
  usage_minor: number;
  /** Change of the account's balance in the month; a closing balance is the sum over months ≤ m. */
  net_minor: number;
}

export interface ConsentEventsTable {
  id: Generated<number>;
  company_id: number;
  member_id: number;
  granted: number;
  at_ms: number;
}

/** Append-only (triggers refuse UPDATE and DELETE); each entry chained to the previous (services/audit.ts). */
export interface AuditLogTable {
  id: Generated<number>;
  company_id: Immutable<number>;
  at_ms: Immutable<number>;
  actor: Immutable<string>;
  action: Immutable<string>;
  subject: Immutable<string | null>;
  details: Immutable<string | null>;
  /** Position in the company's chain, 1, 2, 3, … without gaps. */
  seq: Immutable<number>;
  /** sha256(previous entry's hash ‖ canonical form of this entry), hex. */
  hash: Immutable<string>;
}

/** The last entry of each company's audit chain; its row lock serialises appends for one company. */
export interface AuditHeadsTable {
  company_id: number;
  seq: number;
  hash: string;
}

/** A renewable feature: active, renewed by a successor, or lapsed (not renewed: off, or balance short). */
export type RenewalState = "active" | "renewed" | "lapsed";

export interface SessionsTable {
  token_hash: string;
  company_id: number;
  principal_kind: "admin" | "member";
  principal_id: number;
  csrf_token: string;
  created_at_ms: number;
  expires_at_ms: number;
  last_seen_ms: number;
}

export interface ApiKeysTable {
  id: Generated<number>;
  company_id: number;
  name: string;
  key_prefix: string;
  key_hash: string;
  /** Space-separated scopes, e.g. "usage:write reports:read". */
  scopes: string;
  created_by_admin_id: number | null;
  created_at_ms: number;
  last_used_at_ms: number | null;
  revoked_at_ms: number | null;
}

export interface IdempotencyKeysTable {
  company_id: number;
  principal: string;
  key: string;
  request_hash: string;
  state: "pending" | "done";
  response_status: number | null;
  response_body: string | null;
  created_at_ms: number;
}

export interface LoginAttemptsTable {
  id: Generated<number>;
  bucket: string;
  at_ms: number;
}

export interface InvitationsTable {
  id: Generated<number>;
  company_id: number;
  email: string;
  token_hash: string;
  invited_by_admin_id: number | null;
  created_at_ms: number;
  expires_at_ms: number;
  status: "pending" | "accepted" | "declined";
  member_id: number | null;
}

export type DownloadJobState = "queued" | "running" | "done" | "failed" | "cancelled";

/** A Download Reports generation run in the background (src/services/download-jobs.service.ts). */
export interface DownloadJobsTable {
  id: Generated<number>;
  company_id: number;
  /** The principal's label (principalLabel): only they see the job. */
  requested_by: string;
  month: string;
  format: string;
  /** The `reports=` list, comma-separated. */
  reports: string;
  state: DownloadJobState;
  progress_rows: ColumnType<number, number | undefined, number>;
  file_path: string | null;
  file_name: string | null;
  error: string | null;
  created_at_ms: number;
  updated_at_ms: number;
  finished_at_ms: number | null;
  expires_at_ms: number;
}

export interface DB {
  sessions: SessionsTable;
  api_keys: ApiKeysTable;
  idempotency_keys: IdempotencyKeysTable;
  login_attempts: LoginAttemptsTable;
  invitations: InvitationsTable;
  companies: CompaniesTable;
  accounts: AccountsTable;
  admins: AdminsTable;
  members: MembersTable;
  groups: GroupsTable;
  member_groups: MemberGroupsTable;
  sip_profiles: SipProfilesTable;
  rates: RatesTable;
  plans: PlansTable;
  purchases: PurchasesTable;
  transfers: TransfersTable;
  subscriptions: SubscriptionsTable;
  numbers: NumbersTable;
  auto_rules: AutoRulesTable;
  usage_records: UsageRecordsTable;
  account_months: AccountMonthsTable;
  usage_purges: UsagePurgesTable;
  consent_events: ConsentEventsTable;
  audit_log: AuditLogTable;
  audit_heads: AuditHeadsTable;
  download_jobs: DownloadJobsTable;
}

export type Company = Selectable<CompaniesTable>;
export type Member = Selectable<MembersTable>;
export type Admin = Selectable<AdminsTable>;
export type SipProfile = Selectable<SipProfilesTable>;
export type NewUsageRecord = Insertable<UsageRecordsTable>;
export type NewTransfer = Insertable<TransfersTable>;
