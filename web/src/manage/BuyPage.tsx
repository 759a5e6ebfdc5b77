/** @module Buy credit: record a purchase (confirmed, with the company balance before and after), and settle pending purchases. */
import { useMutation, useQuery } from "@tanstack/react-query";
import { useState } from "react";
import type { FormEvent, ReactNode } from "react";
import { useTranslation } from "react-i18next";
import { api, idempotencyKey } from "../api";
import { addAmounts, fromMinor, normalizeAmount, toMinor } from "./money";
import type { PaymentMethod, Purchase, PurchaseRow, PurchaseStatus } from "./types";
import {
  checkAmountField,
  ConfirmDialog,
  Empty,
  ErrorAlert,
  Field,
  fieldOf,
  Loading,
  useBalances,
  useCompany,
  useFormat,
  useRefreshAll,
} from "./ui";

const METHODS: PaymentMethod[] = ["card", "bank_transfer", "invoice", "voucher"];
const STATUSES: PurchaseStatus[] = ["completed", "pending", "failed"];
const FIELDS = ["reference", "amount", "vat_rate", "payment_method", "status"] as const;
type FieldName = (typeof FIELDS)[number];

/** VAT = net × rate, rounded half up to the minor unit (§3), on exact integers. */
export function vatOf(net: string, rate: string, currency: string): string {
  const netMinor = toMinor(net, currency);
  const [w = "0", f = ""] = rate.split(".");
  const scale = 10n ** BigInt(f.length);
  const rateScaled = BigInt(w + f);
  const twice = (2n * netMinor * rateScaled) / scale;
  return fromMinor((twice + 1n) / 2n, currency);
}

export function BuyPage(): ReactNode {
  const { t } = useTranslation();
  const fmt = useFormat();
  const balances = useBalances();
  return (
    <div className="manage-page">
      <h1>{t("buy.title")}</h1>
      <p className="company-balance">
        {t("allocate.companyBalance")}{" "}
        <strong>{balances.data ? fmt.money(balances.data.company_balance) : "…"}</strong>
      </p>
      <div className="columns">
        <PurchaseForm />
        <PendingPurchases />
      </div>
    </div>
  );
}

function PurchaseForm(): ReactNode {
  const { t } = useTranslation();
  const { currency } = useCompany();
  const fmt = useFormat();
  const balances = useBalances();
  const refresh = useRefreshAll();
  const [values, setValues] = useState<Record<FieldName, string>>({
    reference: "",
    amount: "",
    vat_rate: "0",
    payment_method: "card",
    status: "completed",
  });
  const [errors, setErrors] = useState<Partial<Record<FieldName, string>>>({});
  const [confirming, setConfirming] = useState<{ key: Record<string, string>; amount: string } | null>(null);
  const buy = useMutation({
    mutationFn: (c: { key: Record<string, string>; amount: string }) =>
      api.post<Purchase>(
        "/purchases",
        { ...values, reference: values.reference.trim(), amount: c.amount, vat_rate: values.vat_rate.trim() },
        c.key,
      ),
    onSuccess: () => {
      setConfirming(null);
      setValues({ ...values, reference: "", amount: "" });
      return refresh();
    },
    onError: (err) => {
      const f = fieldOf(err, FIELDS);
      if (f) {
        setConfirming(null);
        setErrors({ [f.field]: f.message });
      }
    },
  });
  const submit = (e: FormEvent) => {
    e.preventDefault();
    const next: Partial<Record<FieldName, string>> = {};
    if (!values.reference.trim()) next.reference = t("check.required");
    next.amount = checkAmountField(t, values.amount, currency);
    const rate = values.vat_rate.trim();
    if (!/^\d+(\.\d+)?$/.test(rate) || Number(rate) > 1) next.vat_rate = t("check.vatRate");
    if (!next.amount) delete next.amount;
    setErrors(next);
    buy.reset();
    if (Object.keys(next).length > 0) return;
    setConfirming({ key: idempotencyKey(), amount: normalizeAmount(values.amount, currency) });
  };
  const set = (field: FieldName, value: string) => setValues({ ...values, [field]: value });
  const company = balances.data?.company_balance;
  const vat = confirming ? vatOf(confirming.amount, values.vat_rate.trim(), currency) : "0";
  return (
    <section className="panel" aria-labelledby="buy-form-title">
      <h2 id="buy-form-title">{t("buy.record")}</h2>
      <form className="stack" onSubmit={submit} noValidate>
        <Field label={t("buy.reference")} error={errors.reference}>
          {(a11y) => (
            <input
              {...a11y}
              value={values.reference}
              onChange={(e) => set("reference", e.target.value)}
              placeholder="P-1003"
            />
          )}
        </Field>
        <Field label={t("buy.amount", { currency })} error={errors.amount}>
          {(a11y) => (
            <input
              {...a11y}
              inputMode="decimal"
              value={values.amount}
              onChange={(e) => set("amount", e.target.value)}
              placeholder="500.00"
            />
          )}
        </Field>
        <Field label={t("buy.vatRate")} hint={t("buy.vatHint")} error={errors.vat_rate}>
          {(a11y) => (
            <input
              {...a11y}
              inputMode="decimal"
              value={values.vat_rate}
              onChange={(e) => set("vat_rate", e.target.value)}
            />
          )}
        </Field>
        <Field label={t("buy.method")} error={errors.payment_method}>
          {(a11y) => (
            <select
              {...a11y}
              value={values.payment_method}
              onChange={(e) => set("payment_method", e.target.value)}
            >
              {METHODS.map((m) => (
                <option key={m} value={m}>
                  {t(`method.${m}`)}
                </option>
              ))}
            </select>
          )}
        </Field>
        <Field label={t("buy.status")} error={errors.status}>
          {(a11y) => (
            <select {...a11y} value={values.status} onChange={(e) => set("status", e.target.value)}>
              {STATUSES.map((s) => (
                <option key={s} value={s}>
                  {t(`status.${s}`)}
                </option>
              ))}
            </select>
          )}
        </Field>
        <div className="actions">
          <button type="submit">{t("buy.submit")}</button>
        </div>
      </form>
      {buy.data && (
        <div className="success" role="status">
          <p>
            {t("buy.done", {
              reference: buy.data.reference,
              total: fmt.money(buy.data.total),
              status: t(`status.${buy.data.status}`),
            })}
          </p>
          <p>
            {t("result.companyBalance")} <strong>{fmt.money(buy.data.company_balance)}</strong>
          </p>
        </div>
      )}
      <ConfirmDialog
        open={confirming !== null}
        title={t("buy.confirmTitle")}
        confirmLabel={t("buy.confirm")}
        busy={buy.isPending}
        error={fieldOf(buy.error, FIELDS) ? null : buy.error}
        onConfirm={() => confirming && buy.mutate(confirming)}
        onCancel={() => setConfirming(null)}
      >
        {confirming && (
          <>
            <p className="confirm-question">
              {t("buy.question", {
                reference: values.reference.trim(),
                amount: fmt.money(confirming.amount),
                vat: fmt.money(vat),
                total: fmt.money(addAmounts(confirming.amount, vat, currency)),
                method: t(`method.${values.payment_method}`),
              })}
            </p>
            {values.status === "completed" && company ? (
              <p>
                {t("confirm.companyGoes", {
                  from: fmt.money(company),
                  to: fmt.money(addAmounts(company, confirming.amount, currency)),
                })}
              </p>
            ) : (
              <p>{t(values.status === "pending" ? "buy.pendingNote" : "buy.failedNote")}</p>
            )}
          </>
        )}
      </ConfirmDialog>
    </section>
  );
}

/** Pending purchases come from the Purchases report of each month that has data. */
function PendingPurchases(): ReactNode {
  const { t } = useTranslation();
  const { currency } = useCompany();
  const fmt = useFormat();
  const balances = useBalances();
  const refresh = useRefreshAll();
  const pending = useQuery({
    queryKey: ["purchases", "pending"],
    queryFn: async () => {
      const { months } = await api.get<{ current: string; months: string[] }>("/reports-months");
      const pages = await Promise.all(
        months.map((m) => api.get<{ rows: PurchaseRow[] }>(`/reports/purchases?month=${m}&status=pending`)),
      );
      return pages.flatMap((p) => p.rows);
    },
  });
  const [settling, setSettling] = useState<{
    row: PurchaseRow;
    status: "completed" | "failed";
    key: Record<string, string>;
  } | null>(null);
  const settle = useMutation({
    mutationFn: (s: { row: PurchaseRow; status: "completed" | "failed"; key: Record<string, string> }) =>
      api.post<Purchase>(
        `/purchases/${encodeURIComponent(s.row.reference)}/settle`,
        { status: s.status },
        s.key,
      ),
    onSuccess: () => {
      setSettling(null);
      return refresh();
    },
  });
  const company = balances.data?.company_balance;
  return (
    <section className="panel" aria-labelledby="pending-title">
      <h2 id="pending-title">{t("buy.pending")}</h2>
      {pending.isPending && <Loading />}
      <ErrorAlert error={pending.error} />
      {pending.data && pending.data.length === 0 && <Empty>{t("buy.noPending")}</Empty>}
      {pending.data && pending.data.length > 0 && (
        <ul className="plain-list">
          {pending.data.map((p) => (
            <li key={p.reference}>
              <span className="grow">
                <strong>{p.reference}</strong> · {fmt.money(p.amount)} · {t(`method.${p.payment_method}`)} ·{" "}
                {fmt.date(p.date)}
              </span>
              <button
                type="button"
                className="small"
                onClick={() => {
                  settle.reset();
                  setSettling({ row: p, status: "completed", key: idempotencyKey() });
                }}
              >
                {t("buy.settleCompleted")}
                <span className="visually-hidden"> {p.reference}</span>
              </button>
              <button
                type="button"
                className="secondary small danger-outline"
                onClick={() => {
                  settle.reset();
                  setSettling({ row: p, status: "failed", key: idempotencyKey() });
                }}
              >
                {t("buy.settleFailed")}
                <span className="visually-hidden"> {p.reference}</span>
              </button>
            </li>
          ))}
        </ul>
      )}
      {settle.data && (
        <div className="success" role="status">
          <p>
            {t("buy.settled", {
              reference: settle.data.reference,
              status: t(`status.${settle.data.status}`),
            })}
          </p>
          <p>
            {t("result.companyBalance")} <strong>{fmt.money(settle.data.company_balance)}</strong>
          </p>
        </div>
      )}
      <ConfirmDialog
        open={settling !== null}
        danger={settling?.status === "failed"}
        title={t("buy.settleTitle")}
        confirmLabel={settling?.status === "failed" ? t("buy.settleFailed") : t("buy.settleCompleted")}
        busy={settle.isPending}
        error={settle.error}
        onConfirm={() => settling && settle.mutate(settling)}
        onCancel={() => setSettling(null)}
      >
        {settling && (
          <>
            <p className="confirm-question">
              {t(settling.status === "completed" ? "buy.settleQuestion" : "buy.failQuestion", {
                reference: settling.row.reference,
                amount: fmt.money(settling.row.amount),
              })}
            </p>
            {settling.status === "completed" && company && (
              <p>
                {t("confirm.companyGoes", {
                  from: fmt.money(company),
                  to: fmt.money(addAmounts(company, settling.row.amount, currency)),
                })}
              </p>
            )}
          </>
        )}
      </ConfirmDialog>
    </section>
  );
}
