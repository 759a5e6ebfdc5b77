/** @module Allocate credit to a member or SIP profile, and reclaim it from business members and SIP profiles — each confirmed, with the new balances shown. */
import { useQuery } from "@tanstack/react-query";
import { useCallback, useState } from "react";
import type { FormEvent, ReactNode } from "react";
import { useTranslation } from "react-i18next";
import { api, idempotencyKey } from "../api";
import { addAmounts, normalizeAmount, subtractAmounts, toMinor } from "./money";
import {
  checkAmountField,
  ConfirmDialog,
  Field,
  fieldOf,
  SubjectPicker,
  useBalances,
  useCompany,
  useFormat,
  useRefreshAll,
  useSubjectName,
} from "./ui";
import type { Subject } from "./ui";
import type { MemberList } from "./types";

interface TransferResult {
  transfer_id: number;
  amount: string;
  currency: string;
  subject: string;
  recipient_balance: string;
  company_balance: string;
}

type Mode = "allocate" | "reclaim";

export function AllocatePage(): ReactNode {
  const { t } = useTranslation();
  const fmt = useFormat();
  const balances = useBalances();
  return (
    <div className="manage-page">
      <h1>{t("allocate.title")}</h1>
      <p className="company-balance">
        {t("allocate.companyBalance")}{" "}
        <strong>{balances.data ? fmt.money(balances.data.company_balance) : "…"}</strong>
      </p>
      <div className="columns">
        <TransferForm mode="allocate" />
        <TransferForm mode="reclaim" />
      </div>
    </div>
  );
}

function TransferForm({ mode }: { mode: Mode }): ReactNode {
  const { t } = useTranslation();
  const { currency } = useCompany();
  const fmt = useFormat();
  const balances = useBalances();
  const nameOf = useSubjectName();
  const refresh = useRefreshAll();
  // Reclaims are for business members and SIP profiles: personal members' credit is their own (§3).
  const members = useQuery({
    queryKey: ["members", "all-types"],
    queryFn: () => api.get<MemberList>("/members?limit=500"),
    enabled: mode === "reclaim",
  });
  const allow = useCallback(
    (s: Subject) =>
      mode === "allocate" ||
      s.type === "sip_profile" ||
      members.data?.members.find((m) => m.username === s.subject)?.account_type === "business",
    [mode, members.data],
  );
  const [subject, setSubject] = useState("");
  const [amount, setAmount] = useState("");
  const [errors, setErrors] = useState<{ subject?: string | undefined; amount?: string | undefined }>({});
  const [confirming, setConfirming] = useState<{ key: Record<string, string>; amount: string } | null>(null);
  const [busy, setBusy] = useState(false);
  const [dialogError, setDialogError] = useState<unknown>(null);
  const [done, setDone] = useState<TransferResult | null>(null);

  const submit = (e: FormEvent) => {
    e.preventDefault();
    const next = {
      subject: subject ? undefined : t("check.pick"),
      amount: checkAmountField(t, amount, currency),
    };
    setErrors(next);
    setDone(null);
    if (next.subject || next.amount) return;
    setDialogError(null);
    setConfirming({ key: idempotencyKey(), amount: normalizeAmount(amount, currency) });
  };

  const confirm = () => {
    if (!confirming) return;
    setBusy(true);
    setDialogError(null);
    const body =
      mode === "allocate"
        ? { to: subject, amount: confirming.amount }
        : { from: subject, amount: confirming.amount };
    api
      .post<TransferResult>(mode === "allocate" ? "/allocations/credit" : "/reclaims", body, confirming.key)
      .then((r) => {
        setDone(r);
        setConfirming(null);
        setAmount("");
        return refresh();
      })
      .catch((err: unknown) => {
        const f = fieldOf(err, ["to", "from", "amount"]);
        if (f) {
          setConfirming(null);
          setErrors(f.field === "amount" ? { amount: f.message } : { subject: f.message });
        } else setDialogError(err);
      })
      .finally(() => setBusy(false));
  };

  const picked = balances.data?.subjects.find((s) => s.subject === subject);
  const company = balances.data?.company_balance;
  const name = nameOf(subject);
  const sign = mode === "allocate" ? -1 : 1;
  const companyAfter =
    company && confirming
      ? sign < 0
        ? subtractAmounts(company, confirming.amount, currency)
        : addAmounts(company, confirming.amount, currency)
      : undefined;
  const recipientAfter =
    picked && confirming
      ? sign < 0
        ? addAmounts(picked.balance, confirming.amount, currency)
        : subtractAmounts(picked.balance, confirming.amount, currency)
      : undefined;
  const short =
    confirming &&
    (mode === "allocate"
      ? company !== undefined && toMinor(company, currency) < toMinor(confirming.amount, currency)
      : picked !== undefined && toMinor(picked.balance, currency) < toMinor(confirming.amount, currency));

  return (
    <section className="panel" aria-labelledby={`${mode}-title`}>
      <h2 id={`${mode}-title`}>{t(`${mode}.heading`)}</h2>
      <p className="hint">{t(`${mode}.intro`)}</p>
      <form className="stack" onSubmit={submit} noValidate>
        <SubjectPicker
          label={t(mode === "allocate" ? "allocate.to" : "reclaim.from")}
          value={subject}
          onChange={(s) => {
            setSubject(s);
            setErrors((x) => ({ ...x, subject: undefined }));
          }}
          error={errors.subject}
          allow={allow}
        />
        <Field label={t("field.amount", { currency })} error={errors.amount}>
          {(a11y) => (
            <input
              {...a11y}
              inputMode="decimal"
              value={amount}
              onChange={(e) => setAmount(e.target.value)}
              placeholder="20.00"
            />
          )}
        </Field>
        <div className="actions">
          <button type="submit">{t(`${mode}.submit`)}</button>
        </div>
      </form>
      {done && (
        <div className="success" role="status">
          <p>{t(`${mode}.done`, { amount: fmt.money(done.amount), name: nameOf(done.subject) })}</p>
          <ul>
            <li>
              {t("result.recipientBalance", { name: nameOf(done.subject) })}{" "}
              <strong>{fmt.money(done.recipient_balance)}</strong>
            </li>
            <li>
              {t("result.companyBalance")} <strong>{fmt.money(done.company_balance)}</strong>
            </li>
          </ul>
        </div>
      )}
      <ConfirmDialog
        open={confirming !== null}
        title={t(`${mode}.confirmTitle`)}
        confirmLabel={t(`${mode}.confirm`)}
        busy={busy}
        error={dialogError}
        onConfirm={confirm}
        onCancel={() => setConfirming(null)}
      >
        {confirming && (
          <>
            <p className="confirm-question">
              {t(`${mode}.question`, { amount: fmt.money(confirming.amount), name })}
            </p>
            {!short && company && companyAfter && (
              <p>{t("confirm.companyGoes", { from: fmt.money(company), to: fmt.money(companyAfter) })}</p>
            )}
            {!short && picked && recipientAfter && (
              <p>
                {t("confirm.recipientGoes", {
                  name,
                  from: fmt.money(picked.balance),
                  to: fmt.money(recipientAfter),
                })}
              </p>
            )}
            {short && (
              <p className="warning">
                {t(mode === "allocate" ? "confirm.companyShort" : "confirm.recipientShort")}
              </p>
            )}
          </>
        )}
      </ConfirmDialog>
    </section>
  );
}
