/** @module A member's own page: balance, this month's allocations, the consent switch (§6) with its state and time, a download of their data, and a password change. */
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useId, useState } from "react";
import type { FormEvent, ReactNode } from "react";
import { useTranslation } from "react-i18next";
import { API, api, ApiError } from "../api";
import { formatMonth } from "../format";
import type { Me } from "../manage/types";
import { Empty, ErrorAlert, Field, fieldOf, Loading, useCompany, useFormat } from "../manage/ui";

export function MePage(): ReactNode {
  const { t } = useTranslation();
  const fmt = useFormat();
  const { locale } = useCompany();
  const me = useQuery({ queryKey: ["me"], queryFn: () => api.get<Me>("/me") });
  if (me.isPending) return <Loading />;
  if (!me.data) return <ErrorAlert error={me.error} />;
  const m = me.data;
  return (
    <div className="manage-page me-page">
      <h1>{t("me.title", { name: m.name })}</h1>
      <div className="cards">
        <section className="panel balance-card" aria-labelledby="me-balance-title">
          <h2 id="me-balance-title">{t("me.balance")}</h2>
          <p className="big-number">{fmt.money(m.balance)}</p>
          <p className="muted">
            {m.username} · {t(`account.${m.account_type}`)}
          </p>
        </section>
        <Consent me={m} />
      </div>
      <section className="panel" aria-labelledby="me-allocations-title">
        <h2 id="me-allocations-title">{t("me.allocations", { month: formatMonth(m.month, locale) })}</h2>
        {m.allocations.length === 0 ? (
          <Empty>{t("me.noAllocations")}</Empty>
        ) : (
          <div className="table-wrap">
            <table>
              <thead>
                <tr>
                  <th scope="col">{t("col.when")}</th>
                  <th scope="col">{t("col.feature")}</th>
                  <th scope="col">{t("col.action")}</th>
                  <th scope="col">{t("col.details")}</th>
                  <th scope="col" className="num">
                    {t("col.amount")}
                  </th>
                </tr>
              </thead>
              <tbody>
                {m.allocations.map((a, i) => (
                  <tr key={`${a.date}-${i}`}>
                    <td>{fmt.date(a.date)}</td>
                    <td>{t(`feature.${a.feature}`, { defaultValue: a.feature })}</td>
                    <td>{t(`action.${a.action}`, { defaultValue: a.action })}</td>
                    <td>{a.detail ?? ""}</td>
                    <td className="num">{fmt.money(a.amount)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
      </section>
      <MyData />
      <PasswordForm />
    </div>
  );
}

/** The member's data export (everything the company holds about them), as JSON or a zip of CSVs. */
function MyData(): ReactNode {
  const { t } = useTranslation();
  return (
    <section className="panel narrow" aria-labelledby="me-data-title">
      <h2 id="me-data-title">{t("me.data")}</h2>
      <p className="hint">{t("me.dataHint")}</p>
      <p className="actions">
        <a href={`${API}/me/data-export`} download>
          {t("me.downloadData")}
        </a>
        <a href={`${API}/me/data-export?format=zip`} download>
          {t("me.downloadDataZip")}
        </a>
      </p>
    </section>
  );
}

function Consent({ me }: { me: Me }): ReactNode {
  const { t } = useTranslation();
  const fmt = useFormat();
  const qc = useQueryClient();
  const id = useId();
  const change = useMutation({
    mutationFn: (granted: boolean) => api.post<Me>("/me/consent", { granted }),
    onSuccess: (data) => qc.setQueryData(["me"], data),
  });
  const on = me.reports_consent;
  return (
    <section className="panel" aria-labelledby={`${id}-title`}>
      <h2 id={`${id}-title`}>{t("me.privacy")}</h2>
      <div className="switch-row">
        <input
          id={id}
          type="checkbox"
          role="switch"
          className="switch"
          checked={change.isPending ? change.variables : on}
          disabled={change.isPending}
          aria-describedby={`${id}-state`}
          onChange={(e) => change.mutate(e.target.checked)}
        />
        <label htmlFor={id}>{t("me.consent")}</label>
      </div>
      <p id={`${id}-state`} className={on ? "ok" : "muted"}>
        {me.consent_changed_at
          ? t(on ? "me.consentOnSince" : "me.consentOffSince", { date: fmt.date(me.consent_changed_at) })
          : t(on ? "me.consentOn" : "me.consentNever")}
      </p>
      <p className="hint">
        {t(me.account_type === "personal" ? "me.consentPersonal" : "me.consentBusiness")}
      </p>
      <ErrorAlert error={change.error} />
    </section>
  );
}

const FIELDS = ["current_password", "new_password"] as const;

function PasswordForm(): ReactNode {
  const { t } = useTranslation();
  const [values, setValues] = useState({ current: "", next: "", repeat: "" });
  const [errors, setErrors] = useState<{ current?: string; next?: string; repeat?: string }>({});
  const change = useMutation({
    mutationFn: () =>
      api.post("/auth/password", { current_password: values.current, new_password: values.next }),
    onSuccess: () => setValues({ current: "", next: "", repeat: "" }),
    onError: (err) => {
      const f = fieldOf(err, FIELDS);
      if (f) setErrors(f.field === "current_password" ? { current: f.message } : { next: f.message });
      else if (err instanceof ApiError && err.status === 403) setErrors({ current: t("me.wrongPassword") });
    },
  });
  const submit = (e: FormEvent) => {
    e.preventDefault();
    const next: typeof errors = {};
    if (!values.current) next.current = t("check.required");
    if (values.next.length < 8) next.next = t("check.password");
    else if (values.next !== values.repeat) next.repeat = t("check.repeat");
    setErrors(next);
    change.reset();
    if (Object.keys(next).length === 0) change.mutate();
  };
  const handled =
    fieldOf(change.error, FIELDS) || (change.error instanceof ApiError && change.error.status === 403);
  return (
    <section className="panel narrow" aria-labelledby="pw-title">
      <h2 id="pw-title">{t("me.password")}</h2>
      <form className="stack" onSubmit={submit} noValidate>
        <Field label={t("me.currentPassword")} error={errors.current}>
          {(a11y) => (
            <input
              {...a11y}
              type="password"
              autoComplete="current-password"
              value={values.current}
              onChange={(e) => setValues({ ...values, current: e.target.value })}
            />
          )}
        </Field>
        <Field label={t("me.newPassword")} hint={t("member.passwordRule")} error={errors.next}>
          {(a11y) => (
            <input
              {...a11y}
              type="password"
              autoComplete="new-password"
              value={values.next}
              onChange={(e) => setValues({ ...values, next: e.target.value })}
            />
          )}
        </Field>
        <Field label={t("me.repeatPassword")} error={errors.repeat}>
          {(a11y) => (
            <input
              {...a11y}
              type="password"
              autoComplete="new-password"
              value={values.repeat}
              onChange={(e) => setValues({ ...values, repeat: e.target.value })}
            />
          )}
        </Field>
        {!handled && <ErrorAlert error={change.error} />}
        {change.isSuccess && (
          <p className="success" role="status">
            {t("me.passwordChanged")}
          </p>
        )}
        <div className="actions">
          <button type="submit" disabled={change.isPending}>
            {change.isPending ? t("state.working") : t("me.changePassword")}
          </button>
        </div>
      </form>
    </section>
  );
}
