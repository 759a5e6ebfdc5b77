/** @module Auto-allocation rules: per member or SIP profile, a threshold, an amount and a monthly cap; set, change and remove them. */
import { useMutation, useQuery } from "@tanstack/react-query";
import { useState } from "react";
import type { FormEvent, ReactNode } from "react";
import { useTranslation } from "react-i18next";
import { api } from "../api";
import { normalizeAmount } from "./money";
import type { AutoRule } from "./types";
import {
  checkAmountField,
  ConfirmDialog,
  Empty,
  ErrorAlert,
  Field,
  fieldOf,
  Loading,
  SubjectPicker,
  useCompany,
  useFormat,
  useRefreshAll,
} from "./ui";

const FIELDS = ["threshold", "amount", "monthly_cap"] as const;
type RuleField = (typeof FIELDS)[number];
type Values = Record<RuleField | "subject", string>;
const EMPTY: Values = { subject: "", threshold: "", amount: "", monthly_cap: "" };

export function RulesPage(): ReactNode {
  const { t } = useTranslation();
  const { currency } = useCompany();
  const fmt = useFormat();
  const refresh = useRefreshAll();
  const rules = useQuery({
    queryKey: ["auto-rules"],
    queryFn: () => api.get<{ items: AutoRule[] }>("/auto-rules"),
  });
  const [values, setValues] = useState<Values>(EMPTY);
  const [errors, setErrors] = useState<Partial<Record<keyof Values, string>>>({});
  const [removing, setRemoving] = useState<AutoRule | null>(null);
  const save = useMutation({
    mutationFn: (v: Values) =>
      api.put<AutoRule>(`/auto-rules/${encodeURIComponent(v.subject)}`, {
        threshold: normalizeAmount(v.threshold, currency),
        amount: normalizeAmount(v.amount, currency),
        monthly_cap: normalizeAmount(v.monthly_cap, currency),
      }),
    onSuccess: () => {
      setValues(EMPTY);
      return refresh();
    },
    onError: (err) => {
      const f = fieldOf(err, FIELDS);
      if (f) setErrors({ [f.field]: f.message });
    },
  });
  const remove = useMutation({
    mutationFn: (subject: string) => api.delete(`/auto-rules/${encodeURIComponent(subject)}`),
    onSuccess: () => {
      setRemoving(null);
      return refresh();
    },
  });
  const submit = (e: FormEvent) => {
    e.preventDefault();
    const next: Partial<Record<keyof Values, string>> = {};
    if (!values.subject) next.subject = t("check.pick");
    for (const f of FIELDS) {
      const p = checkAmountField(t, values[f], currency, f === "threshold");
      if (p) next[f] = p;
    }
    setErrors(next);
    save.reset();
    if (Object.keys(next).length === 0) save.mutate(values);
  };
  const set = (f: keyof Values, v: string) => setValues({ ...values, [f]: v });
  return (
    <div className="manage-page">
      <h1>{t("rules.title")}</h1>
      <p className="hint">{t("rules.intro")}</p>
      <div className="columns wide-left">
        <section className="panel" aria-labelledby="rules-list-title">
          <h2 id="rules-list-title">{t("rules.list")}</h2>
          {rules.isPending && <Loading />}
          <ErrorAlert error={rules.error} />
          {rules.data && rules.data.items.length === 0 && <Empty>{t("rules.none")}</Empty>}
          {rules.data && rules.data.items.length > 0 && (
            <div className="table-wrap">
              <table>
                <thead>
                  <tr>
                    <th scope="col">{t("col.recipient")}</th>
                    <th scope="col" className="num">
                      {t("rules.threshold")}
                    </th>
                    <th scope="col" className="num">
                      {t("rules.amount")}
                    </th>
                    <th scope="col" className="num">
                      {t("rules.cap")}
                    </th>
                    <th scope="col">{t("rules.setBy")}</th>
                    <th scope="col">
                      <span className="visually-hidden">{t("col.actions")}</span>
                    </th>
                  </tr>
                </thead>
                <tbody>
                  {rules.data.items.map((r) => (
                    <tr key={r.subject}>
                      <td>
                        {r.recipient} <span className="muted">({r.subject})</span>
                      </td>
                      <td className="num">{fmt.money(r.threshold)}</td>
                      <td className="num">{fmt.money(r.amount)}</td>
                      <td className="num">{fmt.money(r.monthly_cap)}</td>
                      <td>{r.set_by ?? ""}</td>
                      <td className="row-actions">
                        <button
                          type="button"
                          className="secondary small"
                          onClick={() => {
                            setErrors({});
                            setValues({
                              subject: r.subject,
                              threshold: r.threshold,
                              amount: r.amount,
                              monthly_cap: r.monthly_cap,
                            });
                          }}
                        >
                          {t("action.edit")}
                          <span className="visually-hidden"> {r.recipient}</span>
                        </button>
                        <button
                          type="button"
                          className="secondary small danger-outline"
                          onClick={() => {
                            remove.reset();
                            setRemoving(r);
                          }}
                        >
                          {t("action.remove")}
                          <span className="visually-hidden"> {r.recipient}</span>
                        </button>
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          )}
        </section>
        <section className="panel" aria-labelledby="rules-form-title">
          <h2 id="rules-form-title">{t("rules.set")}</h2>
          <form className="stack" onSubmit={submit} noValidate>
            <SubjectPicker
              label={t("rules.for")}
              value={values.subject}
              onChange={(v) => set("subject", v)}
              error={errors.subject}
            />
            <Field
              label={t("rules.thresholdLabel", { currency })}
              hint={t("rules.thresholdHint")}
              error={errors.threshold}
            >
              {(a11y) => (
                <input
                  {...a11y}
                  inputMode="decimal"
                  value={values.threshold}
                  onChange={(e) => set("threshold", e.target.value)}
                  placeholder="2.00"
                />
              )}
            </Field>
            <Field label={t("rules.amountLabel", { currency })} error={errors.amount}>
              {(a11y) => (
                <input
                  {...a11y}
                  inputMode="decimal"
                  value={values.amount}
                  onChange={(e) => set("amount", e.target.value)}
                  placeholder="10.00"
                />
              )}
            </Field>
            <Field
              label={t("rules.capLabel", { currency })}
              hint={t("rules.capHint")}
              error={errors.monthly_cap}
            >
              {(a11y) => (
                <input
                  {...a11y}
                  inputMode="decimal"
                  value={values.monthly_cap}
                  onChange={(e) => set("monthly_cap", e.target.value)}
                  placeholder="30.00"
                />
              )}
            </Field>
            {!fieldOf(save.error, FIELDS) && <ErrorAlert error={save.error} />}
            {save.isSuccess && (
              <p className="success" role="status">
                {t("rules.saved", { name: save.data.recipient })}
              </p>
            )}
            <div className="actions">
              <button type="submit" disabled={save.isPending}>
                {save.isPending ? t("state.working") : t("rules.submit")}
              </button>
            </div>
          </form>
        </section>
      </div>
      <ConfirmDialog
        open={removing !== null}
        danger
        title={t("rules.removeTitle")}
        confirmLabel={t("action.remove")}
        busy={remove.isPending}
        error={remove.error}
        onConfirm={() => removing && remove.mutate(removing.subject)}
        onCancel={() => setRemoving(null)}
      >
        <p>{removing && t("rules.removeQuestion", { name: removing.recipient })}</p>
      </ConfirmDialog>
    </div>
  );
}
