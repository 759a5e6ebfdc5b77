/** @module Subscriptions and numbers: allocate them (confirmed, paid from the company balance), list them, turn renewal on or off; calling plans: list and create. */
import { useMutation, useQuery } from "@tanstack/react-query";
import { useState } from "react";
import type { FormEvent, ReactNode } from "react";
import { useTranslation } from "react-i18next";
import { api, idempotencyKey } from "../api";
import { normalizeAmount, subtractAmounts, toMinor } from "./money";
import type { PhoneNumber, Plan, Subscription } from "./types";
import {
  checkAmountField,
  ConfirmDialog,
  Empty,
  ErrorAlert,
  Field,
  fieldOf,
  Loading,
  SubjectPicker,
  useBalances,
  useCompany,
  useFormat,
  useRefreshAll,
  useSubjectName,
} from "./ui";

type Tab = "subscriptions" | "numbers" | "plans";

export function FeaturesPage(): ReactNode {
  const { t } = useTranslation();
  const [tab, setTab] = useState<Tab>("subscriptions");
  return (
    <div className="manage-page">
      <h1>{t("features.title")}</h1>
      <div className="segmented" role="group" aria-label={t("features.show")}>
        {(["subscriptions", "numbers", "plans"] as const).map((x) => (
          <button
            key={x}
            type="button"
            className={tab === x ? undefined : "secondary"}
            aria-pressed={tab === x}
            onClick={() => setTab(x)}
          >
            {t(`features.${x}`)}
          </button>
        ))}
      </div>
      {tab === "subscriptions" && <Subscriptions />}
      {tab === "numbers" && <Numbers />}
      {tab === "plans" && <Plans />}
    </div>
  );
}

function usePlans() {
  return useQuery({ queryKey: ["plans"], queryFn: () => api.get<{ items: Plan[] }>("/plans") });
}

/** The company balance before and after paying `price`, for the confirmation. */
function BalanceChange({ price }: { price: string }): ReactNode {
  const { t } = useTranslation();
  const { currency } = useCompany();
  const fmt = useFormat();
  const company = useBalances().data?.company_balance;
  if (!company) return null;
  const after = subtractAmounts(company, price, currency);
  return (
    <>
      <p>{t("confirm.companyGoes", { from: fmt.money(company), to: fmt.money(after) })}</p>
      {toMinor(after, currency) < 0n && <p className="warning">{t("confirm.companyShort")}</p>}
    </>
  );
}

function RenewToggle({ label, checked, path }: { label: string; checked: boolean; path: string }): ReactNode {
  const refresh = useRefreshAll();
  const change = useMutation({
    mutationFn: (renew: boolean) => api.patch(path, { renew }),
    onSuccess: () => refresh(),
  });
  return (
    <>
      <label className="check">
        <input
          type="checkbox"
          checked={change.isPending ? change.variables : checked}
          disabled={change.isPending}
          onChange={(e) => change.mutate(e.target.checked)}
        />
        <span className="visually-hidden">{label}</span>
      </label>
      <ErrorAlert error={change.error} />
    </>
  );
}

// ---------------------------------------------------------------------------------------------- subscriptions

function Subscriptions(): ReactNode {
  const { t } = useTranslation();
  const fmt = useFormat();
  const plans = usePlans();
  const nameOf = useSubjectName();
  const refresh = useRefreshAll();
  const list = useQuery({
    queryKey: ["subscriptions"],
    queryFn: () => api.get<{ items: Subscription[] }>("/subscriptions?limit=200"),
  });
  const [to, setTo] = useState("");
  const [planId, setPlanId] = useState("");
  const [renew, setRenew] = useState(false);
  const [errors, setErrors] = useState<{ to?: string | undefined; plan_id?: string | undefined }>({});
  const [key, setKey] = useState<Record<string, string> | null>(null);
  const plan = plans.data?.items.find((p) => String(p.id) === planId);
  const allocate = useMutation({
    mutationFn: (k: Record<string, string>) =>
      api.post<{ item: Subscription; company_balance: string }>(
        "/subscriptions",
        { to, plan_id: Number(planId), renew },
        k,
      ),
    onSuccess: () => {
      setKey(null);
      return refresh();
    },
    onError: (err) => {
      const f = fieldOf(err, ["to", "plan_id"]);
      if (f) {
        setKey(null);
        setErrors({ [f.field]: f.message });
      }
    },
  });
  const submit = (e: FormEvent) => {
    e.preventDefault();
    const next = { to: to ? undefined : t("check.pick"), plan_id: planId ? undefined : t("check.plan") };
    setErrors(next);
    allocate.reset();
    if (!next.to && !next.plan_id) setKey(idempotencyKey());
  };
  return (
    <div className="columns wide-left">
      <section className="panel" aria-labelledby="subs-list-title">
        <h2 id="subs-list-title">{t("features.subscriptions")}</h2>
        {list.isPending && <Loading />}
        <ErrorAlert error={list.error} />
        {list.data && list.data.items.length === 0 && <Empty>{t("subs.none")}</Empty>}
        {list.data && list.data.items.length > 0 && (
          <div className="table-wrap">
            <table>
              <thead>
                <tr>
                  <th scope="col">{t("col.recipient")}</th>
                  <th scope="col">{t("col.plan")}</th>
                  <th scope="col">{t("col.status")}</th>
                  <th scope="col">{t("col.until")}</th>
                  <th scope="col" className="num">
                    {t("col.minutesLeft")}
                  </th>
                  <th scope="col" className="num">
                    {t("col.price")}
                  </th>
                  <th scope="col">{t("col.renew")}</th>
                </tr>
              </thead>
              <tbody>
                {list.data.items.map((s) => (
                  <tr key={s.id}>
                    <td>{s.recipient}</td>
                    <td>{s.plan}</td>
                    <td>{t(`featureStatus.${s.status}`)}</td>
                    <td>{fmt.day(s.active_until)}</td>
                    <td className="num">
                      {s.remaining_minutes} / {s.minutes}
                    </td>
                    <td className="num">{fmt.money(s.price)}</td>
                    <td>
                      {s.status === "ended" ? (
                        t(`renewal.${s.renewal_state}`)
                      ) : (
                        <RenewToggle
                          label={t("subs.renewOf", { plan: s.plan, name: s.recipient })}
                          checked={s.renew}
                          path={`/subscriptions/${s.id}`}
                        />
                      )}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
      </section>
      <section className="panel" aria-labelledby="subs-new-title">
        <h2 id="subs-new-title">{t("subs.allocate")}</h2>
        <form className="stack" onSubmit={submit} noValidate>
          <SubjectPicker label={t("allocate.to")} value={to} onChange={setTo} error={errors.to} />
          <Field label={t("col.plan")} error={errors.plan_id}>
            {(a11y) => (
              <select {...a11y} value={planId} onChange={(e) => setPlanId(e.target.value)}>
                <option value="">{t("subs.choosePlan")}</option>
                {plans.data?.items.map((p) => (
                  <option key={p.id} value={p.id}>
                    {t("subs.planOption", { name: p.name, price: fmt.money(p.price), minutes: p.minutes })}
                  </option>
                ))}
              </select>
            )}
          </Field>
          <label className="check">
            <input type="checkbox" checked={renew} onChange={(e) => setRenew(e.target.checked)} />
            {t("subs.renew")}
          </label>
          <div className="actions">
            <button type="submit">{t("subs.submit")}</button>
          </div>
        </form>
        {allocate.data && (
          <div className="success" role="status">
            <p>{t("subs.done", { plan: allocate.data.item.plan, name: allocate.data.item.recipient })}</p>
            <p>
              {t("result.companyBalance")} <strong>{fmt.money(allocate.data.company_balance)}</strong>
            </p>
          </div>
        )}
        <ConfirmDialog
          open={key !== null}
          title={t("subs.confirmTitle")}
          confirmLabel={t("subs.submit")}
          busy={allocate.isPending}
          error={fieldOf(allocate.error, ["to", "plan_id"]) ? null : allocate.error}
          onConfirm={() => key && allocate.mutate(key)}
          onCancel={() => setKey(null)}
        >
          {plan && (
            <>
              <p className="confirm-question">
                {t("subs.question", { plan: plan.name, price: fmt.money(plan.price), name: nameOf(to) })}
              </p>
              <BalanceChange price={plan.price} />
            </>
          )}
        </ConfirmDialog>
      </section>
    </div>
  );
}

// ---------------------------------------------------------------------------------------------- numbers

const NUMBER_FIELDS = ["to", "number", "months", "price"] as const;
type NumberField = (typeof NUMBER_FIELDS)[number];

function Numbers(): ReactNode {
  const { t } = useTranslation();
  const { currency } = useCompany();
  const fmt = useFormat();
  const nameOf = useSubjectName();
  const refresh = useRefreshAll();
  const list = useQuery({
    queryKey: ["numbers"],
    queryFn: () => api.get<{ items: PhoneNumber[] }>("/numbers?limit=200"),
  });
  const [values, setValues] = useState<Record<NumberField, string>>({
    to: "",
    number: "",
    months: "12",
    price: "",
  });
  const [renew, setRenew] = useState(false);
  const [errors, setErrors] = useState<Partial<Record<NumberField, string>>>({});
  const [confirming, setConfirming] = useState<{ key: Record<string, string>; price: string } | null>(null);
  const allocate = useMutation({
    mutationFn: (c: { key: Record<string, string>; price: string }) =>
      api.post<{ item: PhoneNumber; company_balance: string }>(
        "/numbers",
        { to: values.to, number: values.number.trim(), months: Number(values.months), price: c.price, renew },
        c.key,
      ),
    onSuccess: () => {
      setConfirming(null);
      setValues({ ...values, number: "", price: "" });
      return refresh();
    },
    onError: (err) => {
      const f = fieldOf(err, NUMBER_FIELDS);
      if (f) {
        setConfirming(null);
        setErrors({ [f.field]: f.message });
      }
    },
  });
  const submit = (e: FormEvent) => {
    e.preventDefault();
    const next: Partial<Record<NumberField, string>> = {};
    if (!values.to) next.to = t("check.pick");
    const digits = values.number.replace(/[\s().-]/g, "");
    if (!values.number.trim()) next.number = t("check.required");
    else if (!/^\+\d{8,15}$/.test(digits)) next.number = t("check.phone");
    if (!/^\d+$/.test(values.months) || Number(values.months) < 1 || Number(values.months) > 120)
      next.months = t("check.months");
    const p = checkAmountField(t, values.price, currency, true);
    if (p) next.price = p;
    setErrors(next);
    allocate.reset();
    if (Object.keys(next).length === 0)
      setConfirming({ key: idempotencyKey(), price: normalizeAmount(values.price, currency) });
  };
  const set = (f: NumberField, v: string) => setValues({ ...values, [f]: v });
  return (
    <div className="columns wide-left">
      <section className="panel" aria-labelledby="numbers-list-title">
        <h2 id="numbers-list-title">{t("features.numbers")}</h2>
        {list.isPending && <Loading />}
        <ErrorAlert error={list.error} />
        {list.data && list.data.items.length === 0 && <Empty>{t("numbers.none")}</Empty>}
        {list.data && list.data.items.length > 0 && (
          <div className="table-wrap">
            <table>
              <thead>
                <tr>
                  <th scope="col">{t("col.number")}</th>
                  <th scope="col">{t("col.recipient")}</th>
                  <th scope="col">{t("col.status")}</th>
                  <th scope="col">{t("col.until")}</th>
                  <th scope="col" className="num">
                    {t("col.price")}
                  </th>
                  <th scope="col">{t("col.renew")}</th>
                </tr>
              </thead>
              <tbody>
                {list.data.items.map((n) => (
                  <tr key={n.id}>
                    <td>{n.number}</td>
                    <td>{n.recipient}</td>
                    <td>{t(`featureStatus.${n.status}`)}</td>
                    <td>{fmt.day(n.active_until)}</td>
                    <td className="num">
                      {fmt.money(n.price)}{" "}
                      <span className="muted">{t("numbers.forMonths", { count: n.months })}</span>
                    </td>
                    <td>
                      {n.status === "ended" ? (
                        t(`renewal.${n.renewal_state}`)
                      ) : (
                        <RenewToggle
                          label={t("numbers.renewOf", { number: n.number })}
                          checked={n.renew}
                          path={`/numbers/${n.id}`}
                        />
                      )}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
      </section>
      <section className="panel" aria-labelledby="numbers-new-title">
        <h2 id="numbers-new-title">{t("numbers.allocate")}</h2>
        <form className="stack" onSubmit={submit} noValidate>
          <SubjectPicker
            label={t("allocate.to")}
            value={values.to}
            onChange={(v) => set("to", v)}
            error={errors.to}
          />
          <Field label={t("numbers.number")} hint={t("numbers.numberHint")} error={errors.number}>
            {(a11y) => (
              <input
                {...a11y}
                type="tel"
                value={values.number}
                onChange={(e) => set("number", e.target.value)}
                placeholder="+442079460000"
              />
            )}
          </Field>
          <Field label={t("numbers.months")} error={errors.months}>
            {(a11y) => (
              <input
                {...a11y}
                type="number"
                min={1}
                max={120}
                value={values.months}
                onChange={(e) => set("months", e.target.value)}
              />
            )}
          </Field>
          <Field label={t("numbers.price", { currency })} error={errors.price}>
            {(a11y) => (
              <input
                {...a11y}
                inputMode="decimal"
                value={values.price}
                onChange={(e) => set("price", e.target.value)}
                placeholder="15.00"
              />
            )}
          </Field>
          <label className="check">
            <input type="checkbox" checked={renew} onChange={(e) => setRenew(e.target.checked)} />
            {t("numbers.renew")}
          </label>
          <div className="actions">
            <button type="submit">{t("numbers.submit")}</button>
          </div>
        </form>
        {allocate.data && (
          <div className="success" role="status">
            <p>
              {t("numbers.done", { number: allocate.data.item.number, name: allocate.data.item.recipient })}
            </p>
            <p>
              {t("result.companyBalance")} <strong>{fmt.money(allocate.data.company_balance)}</strong>
            </p>
          </div>
        )}
        <ConfirmDialog
          open={confirming !== null}
          title={t("numbers.confirmTitle")}
          confirmLabel={t("numbers.submit")}
          busy={allocate.isPending}
          error={fieldOf(allocate.error, NUMBER_FIELDS) ? null : allocate.error}
          onConfirm={() => confirming && allocate.mutate(confirming)}
          onCancel={() => setConfirming(null)}
        >
          {confirming && (
            <>
              <p className="confirm-question">
                {t("numbers.question", {
                  number: values.number.trim(),
                  name: nameOf(values.to),
                  count: Number(values.months),
                  price: fmt.money(confirming.price),
                })}
              </p>
              <BalanceChange price={confirming.price} />
            </>
          )}
        </ConfirmDialog>
      </section>
    </div>
  );
}

// ---------------------------------------------------------------------------------------------- plans

const PLAN_FIELDS = ["name", "price", "prefixes", "minutes"] as const;
type PlanField = (typeof PLAN_FIELDS)[number];

function Plans(): ReactNode {
  const { t } = useTranslation();
  const { currency } = useCompany();
  const fmt = useFormat();
  const refresh = useRefreshAll();
  const plans = usePlans();
  const [values, setValues] = useState<Record<PlanField, string>>({
    name: "",
    price: "",
    prefixes: "",
    minutes: "",
  });
  const [errors, setErrors] = useState<Partial<Record<PlanField, string>>>({});
  const create = useMutation({
    mutationFn: (body: Record<string, unknown>) => api.post<Plan>("/plans", body),
    onSuccess: () => {
      setValues({ name: "", price: "", prefixes: "", minutes: "" });
      return refresh();
    },
    onError: (err) => {
      const f = fieldOf(err, PLAN_FIELDS);
      if (f) setErrors({ [f.field]: f.message });
    },
  });
  const submit = (e: FormEvent) => {
    e.preventDefault();
    const next: Partial<Record<PlanField, string>> = {};
    if (!values.name.trim()) next.name = t("check.required");
    const p = checkAmountField(t, values.price, currency, true);
    if (p) next.price = p;
    const prefixes = values.prefixes
      .split(/[\s,;]+/)
      .map((x) => x.trim())
      .filter(Boolean);
    if (prefixes.length === 0) next.prefixes = t("check.required");
    else if (prefixes.some((x) => !/^\d{1,15}$/.test(x))) next.prefixes = t("check.prefixes");
    if (!/^\d+$/.test(values.minutes.trim())) next.minutes = t("check.minutes");
    setErrors(next);
    if (Object.keys(next).length === 0)
      create.mutate({
        name: values.name.trim(),
        price: normalizeAmount(values.price, currency),
        prefixes,
        minutes: Number(values.minutes),
      });
  };
  const set = (f: PlanField, v: string) => setValues({ ...values, [f]: v });
  return (
    <div className="columns wide-left">
      <section className="panel" aria-labelledby="plans-list-title">
        <h2 id="plans-list-title">{t("features.plans")}</h2>
        {plans.isPending && <Loading />}
        <ErrorAlert error={plans.error} />
        {plans.data && plans.data.items.length === 0 && <Empty>{t("plans.none")}</Empty>}
        {plans.data && plans.data.items.length > 0 && (
          <div className="table-wrap">
            <table>
              <thead>
                <tr>
                  <th scope="col">{t("col.name")}</th>
                  <th scope="col" className="num">
                    {t("plans.monthlyPrice")}
                  </th>
                  <th scope="col">{t("plans.prefixes")}</th>
                  <th scope="col" className="num">
                    {t("plans.minutes")}
                  </th>
                </tr>
              </thead>
              <tbody>
                {plans.data.items.map((p) => (
                  <tr key={p.id}>
                    <td>{p.name}</td>
                    <td className="num">{fmt.money(p.price)}</td>
                    <td>{p.prefixes.map((x) => `+${x}`).join(", ")}</td>
                    <td className="num">{p.minutes}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
      </section>
      <section className="panel" aria-labelledby="plans-new-title">
        <h2 id="plans-new-title">{t("plans.create")}</h2>
        <form className="stack" onSubmit={submit} noValidate>
          <Field label={t("col.name")} error={errors.name}>
            {(a11y) => <input {...a11y} value={values.name} onChange={(e) => set("name", e.target.value)} />}
          </Field>
          <Field label={t("plans.price", { currency })} error={errors.price}>
            {(a11y) => (
              <input
                {...a11y}
                inputMode="decimal"
                value={values.price}
                onChange={(e) => set("price", e.target.value)}
                placeholder="4.99"
              />
            )}
          </Field>
          <Field label={t("plans.prefixes")} hint={t("plans.prefixesHint")} error={errors.prefixes}>
            {(a11y) => (
              <input
                {...a11y}
                value={values.prefixes}
                onChange={(e) => set("prefixes", e.target.value)}
                placeholder="44, 353"
              />
            )}
          </Field>
          <Field label={t("plans.minutes")} error={errors.minutes}>
            {(a11y) => (
              <input
                {...a11y}
                type="number"
                min={0}
                value={values.minutes}
                onChange={(e) => set("minutes", e.target.value)}
              />
            )}
          </Field>
          {!fieldOf(create.error, PLAN_FIELDS) && <ErrorAlert error={create.error} />}
          {create.isSuccess && (
            <p className="success" role="status">
              {t("plans.created", { name: create.data.name })}
            </p>
          )}
          <div className="actions">
            <button type="submit" disabled={create.isPending}>
              {create.isPending ? t("state.working") : t("plans.submit")}
            </button>
          </div>
        </form>
      </section>
    </div>
  );
}
