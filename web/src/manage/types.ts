/** @module The shapes the public API answers with, as the manage and member screens use them. */

export interface GroupRef {
  id: number;
  name: string;
}

export interface Member {
  id: number;
  name: string;
  username: string;
  email: string | null;
  account_type: "business" | "personal";
  groups: GroupRef[];
  balance: string;
  reports_consent: boolean;
  erased: boolean;
}

export interface MemberList {
  total: number;
  limit: number;
  offset: number;
  members: Member[];
}

export interface Group {
  id: number;
  name: string;
  members: number;
}

export interface Invitation {
  id: number;
  email: string;
  status: "pending" | "accepted" | "declined" | "expired";
  created_at: string;
  expires_at: string;
  member_id: number | null;
}

export interface SentInvitation {
  id: number;
  email: string;
  expires_at: string;
  link: string;
  token: string;
}

export interface SipProfile {
  id: number;
  name: string;
  channels: number;
  balance: string;
}

export type PaymentMethod = "card" | "bank_transfer" | "invoice" | "voucher";
export type PurchaseStatus = "completed" | "pending" | "failed";

export interface Purchase {
  id: number;
  reference: string;
  amount: string;
  vat_rate: string;
  vat: string;
  total: string;
  currency: string;
  payment_method: PaymentMethod;
  status: PurchaseStatus;
  date: string;
  settled_at: string | null;
  purchased_by: string | null;
  company_balance: string;
}

export interface PurchaseRow {
  date: string;
  reference: string;
  payment_method: PaymentMethod;
  status: PurchaseStatus;
  amount: string;
  vat: string;
  total: string;
  currency: string;
  purchased_by: string | null;
}

export interface Plan {
  id: number;
  name: string;
  price: string;
  currency: string;
  prefixes: string[];
  minutes: number;
}

export interface Subscription {
  id: number;
  subject: string;
  recipient: string;
  plan_id: number;
  plan: string;
  price: string;
  allocated_at: string;
  active_from: string;
  active_until: string;
  status: "upcoming" | "active" | "ended";
  minutes: number;
  used_minutes: number;
  remaining_minutes: number;
  renew: boolean;
  renewal_state: "active" | "renewed" | "lapsed";
}

export interface PhoneNumber {
  id: number;
  subject: string;
  recipient: string;
  number: string;
  months: number;
  price: string;
  allocated_at: string;
  active_until: string;
  status: "active" | "ended";
  renew: boolean;
  renewal_state: "active" | "renewed" | "lapsed";
}

export interface AutoRule {
  subject: string;
  recipient: string;
  threshold: string;
  amount: string;
  monthly_cap: string;
  set_by: string | null;
  updated_at: string;
}

export type Role = "owner" | "admin" | "viewer";

export interface Admin {
  id: number;
  email: string;
  name: string;
  role: Role;
  privacy_acknowledged: boolean;
  created_at: string;
}

export const API_KEY_SCOPES = [
  "reports:read",
  "usage:write",
  "members:read",
  "members:write",
  "billing:write",
] as const;

export interface ApiKey {
  id: number;
  name: string;
  prefix: string;
  scopes: string[];
  created_at: string;
  last_used_at: string | null;
  revoked_at: string | null;
}

export interface AuditEntry {
  id: number;
  at: string;
  actor: string;
  action: string;
  subject: string | null;
  details: Record<string, unknown> | null;
}

export interface AuditPage {
  items: AuditEntry[];
  next_before: number | null;
}

export interface Me {
  id: number;
  name: string;
  username: string;
  email: string | null;
  account_type: "business" | "personal";
  balance: string;
  currency: string;
  reports_consent: boolean;
  consent_changed_at: string | null;
  month: string;
  allocations: { date: string; feature: string; action: string; detail: string | null; amount: string }[];
}

export interface PublicInvitation {
  company: string;
  email: string;
  expires_at: string;
}
