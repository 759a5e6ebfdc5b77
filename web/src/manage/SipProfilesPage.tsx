/** @module SIP profiles: the company's PBX trunks with their channels and balances; create one, rename it or change its channels. */
import { useMutation, useQuery } from "@tanstack/react-query";
import { useState } from "react";
import type { FormEvent, ReactNode } from "react";
import { useTranslation } from "react-i18next";
import { api } from "../api";
import type { SipProfile } from "./types";
import { Empty, ErrorAlert, Field, fieldOf, Loading, useFormat, useRefreshAll } from "./ui";

type Values = { name: string; channels: string };
type Errors = Partial<Record<keyof Values, string>>;

function useCheck(): (v: Values) => Errors {
  const { t } = useTranslation();
  return (v) => {
    const e: Errors = {};
    if (!v.name.trim()) e.name = t("check.required");
    if (!v.channels.trim()) e.channels = t("check.required");
    else if (!/^\d+$/.test(v.channels.trim()) || Number(v.channels) < 1 || Number(v.channels) > 100000)
      e.channels = t("check.channels");
    return e;
  };
}

export function SipProfilesPage(): ReactNode {
  const { t } = useTranslation();
  const fmt = useFormat();
  const list = useQuery({
    queryKey: ["sip-profiles"],
    queryFn: () => api.get<{ sip_profiles: SipProfile[] }>("/sip-profiles"),
  });
  const [editing, setEditing] = useState<number | null>(null);
  return (
    <div className="manage-page">
      <h1>{t("sip.title")}</h1>
      <p className="hint">{t("sip.intro")}</p>
      <div className="columns wide-left">
        <section className="panel" aria-labelledby="sip-list-title">
          <h2 id="sip-list-title">{t("sip.list")}</h2>
          {list.isPending && <Loading />}
          <ErrorAlert error={list.error} />
          {list.data && list.data.sip_profiles.length === 0 && <Empty>{t("sip.none")}</Empty>}
          {list.data && list.data.sip_profiles.length > 0 && (
            <div className="table-wrap">
              <table>
                <thead>
                  <tr>
                    <th scope="col">{t("col.name")}</th>
                    <th scope="col">{t("col.subject")}</th>
                    <th scope="col" className="num">
                      {t("col.channels")}
                    </th>
                    <th scope="col" className="num">
                      {t("col.balance")}
                    </th>
                    <th scope="col">
                      <span className="visually-hidden">{t("col.actions")}</span>
                    </th>
                  </tr>
                </thead>
                <tbody>
                  {list.data.sip_profiles.map((s) =>
                    editing === s.id ? (
                      <tr key={s.id} className="detail-row">
                        <td colSpan={5}>
                          <EditSip profile={s} onDone={() => setEditing(null)} />
                        </td>
                      </tr>
                    ) : (
                      <tr key={s.id}>
                        <td>{s.name}</td>
                        <td>
                          <code>sip:{s.name}</code>
                        </td>
                        <td className="num">{s.channels}</td>
                        <td className="num">{fmt.money(s.balance)}</td>
                        <td>
                          <button type="button" className="secondary small" onClick={() => setEditing(s.id)}>
                            {t("action.edit")}
                            <span className="visually-hidden"> {s.name}</span>
                          </button>
                        </td>
                      </tr>
                    ),
                  )}
                </tbody>
              </table>
            </div>
          )}
        </section>
        <NewSip />
      </div>
    </div>
  );
}

function NewSip(): ReactNode {
  const { t } = useTranslation();
  const refresh = useRefreshAll();
  const check = useCheck();
  const [values, setValues] = useState<Values>({ name: "", channels: "1" });
  const [errors, setErrors] = useState<Errors>({});
  const create = useMutation({
    mutationFn: (v: Values) =>
      api.post<SipProfile>("/sip-profiles", { name: v.name.trim(), channels: Number(v.channels) }),
    onSuccess: () => {
      setValues({ name: "", channels: "1" });
      return refresh();
    },
    onError: (err) => {
      const f = fieldOf(err, ["name", "channels"]);
      if (f) setErrors({ [f.field]: f.message });
    },
  });
  const submit = (e: FormEvent) => {
    e.preventDefault();
    const next = check(values);
    setErrors(next);
    if (Object.keys(next).length === 0) create.mutate(values);
  };
  return (
    <section className="panel" aria-labelledby="sip-new-title">
      <h2 id="sip-new-title">{t("sip.create")}</h2>
      <form className="stack" onSubmit={submit} noValidate>
        <SipFields values={values} errors={errors} onChange={setValues} />
        {!fieldOf(create.error, ["name", "channels"]) && <ErrorAlert error={create.error} />}
        {create.isSuccess && (
          <p className="success" role="status">
            {t("sip.created", { name: create.data.name })}
          </p>
        )}
        <div className="actions">
          <button type="submit" disabled={create.isPending}>
            {create.isPending ? t("state.working") : t("sip.createSubmit")}
          </button>
        </div>
      </form>
    </section>
  );
}

function EditSip({ profile, onDone }: { profile: SipProfile; onDone: () => void }): ReactNode {
  const { t } = useTranslation();
  const refresh = useRefreshAll();
  const check = useCheck();
  const [values, setValues] = useState<Values>({ name: profile.name, channels: String(profile.channels) });
  const [errors, setErrors] = useState<Errors>({});
  const save = useMutation({
    mutationFn: (v: Values) =>
      api.patch<SipProfile>(`/sip-profiles/${profile.id}`, {
        name: v.name.trim(),
        channels: Number(v.channels),
      }),
    onSuccess: async () => {
      await refresh();
      onDone();
    },
    onError: (err) => {
      const f = fieldOf(err, ["name", "channels"]);
      if (f) setErrors({ [f.field]: f.message });
    },
  });
  return (
    <form
      className="inline-form"
      aria-label={t("sip.editing", { name: profile.name })}
      onSubmit={(e) => {
        e.preventDefault();
        const next = check(values);
        setErrors(next);
        if (Object.keys(next).length === 0) save.mutate(values);
      }}
      noValidate
    >
      <SipFields values={values} errors={errors} onChange={setValues} />
      <button type="submit" disabled={save.isPending}>
        {t("action.save")}
      </button>
      <button type="button" className="secondary" onClick={onDone}>
        {t("action.cancel")}
      </button>
      {!fieldOf(save.error, ["name", "channels"]) && <ErrorAlert error={save.error} />}
    </form>
  );
}

function SipFields({
  values,
  errors,
  onChange,
}: {
  values: Values;
  errors: Errors;
  onChange: (v: Values) => void;
}): ReactNode {
  const { t } = useTranslation();
  return (
    <>
      <Field label={t("sip.name")} error={errors.name}>
        {(a11y) => (
          <input
            {...a11y}
            value={values.name}
            onChange={(e) => onChange({ ...values, name: e.target.value })}
          />
        )}
      </Field>
      <Field label={t("sip.channels")} error={errors.channels}>
        {(a11y) => (
          <input
            {...a11y}
            type="number"
            min={1}
            max={100000}
            inputMode="numeric"
            value={values.channels}
            onChange={(e) => onChange({ ...values, channels: e.target.value })}
          />
        )}
      </Field>
    </>
  );
}
