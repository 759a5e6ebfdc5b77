/**
 * @module The example bundle of PRODUCT.md §8, copied verbatim as a fresh object per call, so that a test
 * can mutate one field and check what the importer says about it.
 */

/** A JSON value as a bundle document holds it. */
export type Json = string | number | boolean | null | Json[] | { [key: string]: Json };
export type JsonObject = { [key: string]: Json };

/** A new copy of the §8 example bundle (Acme Ltd, EUR, Europe/London). */
export function specExampleBundle(): JsonObject {
  return {
    format: "switchboard-bundle/1",
    company: { name: "Acme Ltd", currency: "EUR", timezone: "Europe/London" },
    admins: [
      {
        email: "ana@acme.example",
        name: "Ana Admin",
        role: "owner",
        password: "optional plain text, hashed on import",
        privacy_acknowledged_at: "2026-09-01T08:00:00Z",
      },
    ],
    groups: [{ key: "sales", name: "Sales" }],
    members: [
      {
        key: "bob",
        name: "Bob Byrne",
        username: "acme.bob",
        email: "bob@acme.example",
        account_type: "business",
        groups: ["sales"],
      },
      {
        key: "zoe",
        name: "Zoë Ng",
        username: "zoe.ng",
        email: "zoe@example.org",
        account_type: "personal",
        groups: [],
        reports_consent: true,
      },
    ],
    sip_profiles: [{ key: "pbx", name: "London PBX", channels: 4 }],
    rates: [
      {
        prefix: "44",
        name: "United Kingdom",
        per_minute: "0.0230",
        connection_fee: "0.0390",
        interval: "60/60",
        sms: "0.1100",
      },
      {
        prefix: "447",
        name: "United Kingdom mobile",
        per_minute: "0.1500",
        connection_fee: "0.0390",
        interval: "60/1",
        sms: "0.1100",
      },
    ],
    plans: [{ key: "uk", name: "Unlimited UK", price: "4.99", prefixes: ["44"], minutes: 1000 }],
    events: [
      {
        at: "2026-09-01T09:00:00Z",
        type: "purchase",
        by: "ana@acme.example",
        reference: "P-1001",
        amount: "100.00",
        vat_rate: "0.20",
        payment_method: "card",
        status: "completed",
      },
      {
        at: "2026-09-01T09:01:00Z",
        type: "purchase",
        by: "ana@acme.example",
        reference: "P-1002",
        amount: "50.00",
        payment_method: "bank_transfer",
        status: "pending",
      },
      {
        at: "2026-09-01T09:05:00Z",
        type: "allocate_credit",
        by: "ana@acme.example",
        to: "bob",
        amount: "20.00",
      },
      {
        at: "2026-09-01T09:06:00Z",
        type: "allocate_subscription",
        by: "ana@acme.example",
        to: "bob",
        plan: "uk",
      },
      {
        at: "2026-09-01T09:07:00Z",
        type: "allocate_number",
        by: "ana@acme.example",
        to: "sip:pbx",
        number: "+442079460000",
        months: 3,
        price: "15.00",
      },
      {
        at: "2026-09-01T09:08:00Z",
        type: "auto_allocate_rule",
        by: "ana@acme.example",
        to: "bob",
        threshold: "2.00",
        amount: "10.00",
        monthly_cap: "30.00",
      },
      {
        at: "2026-09-02T10:00:00Z",
        type: "usage",
        subject: "bob",
        kind: "call",
        destination: "+44 20 7946 0123",
        duration_s: 125,
        external_id: "cdr-1",
      },
      {
        at: "2026-09-02T11:00:00Z",
        type: "usage",
        subject: "sip:pbx",
        kind: "sms",
        destination: "+447700900123",
        segments: 2,
        external_id: "cdr-2",
      },
      {
        at: "2026-09-20T12:00:00Z",
        type: "reclaim_credit",
        by: "ana@acme.example",
        from: "bob",
        amount: "5.00",
      },
      { at: "2026-09-21T12:00:00Z", type: "settle_purchase", reference: "P-1002", status: "completed" },
      { at: "2026-09-22T12:00:00Z", type: "consent", member: "zoe", granted: false },
    ],
  };
}
