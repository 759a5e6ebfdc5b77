/** @module Admins (owners add them, change their role, remove them) and the company's API keys (the key is shown once). */
import { useMutation, useQuery } from "@tanstack/react-query";
import { useState } from "react";
import type { FormEvent, ReactNode } from "react";
import { useTranslation } from "react-i18next";
import { api } from "../api";
import { useSession } from "../session";
import { API_KEY_SCOPES } from "./types";
import type { Admin, ApiKey, Role } from "./types";
import { ConfirmDialog, Empty, ErrorAlert, Field, fieldOf, Loading, useFormat, useRefreshAll } from "./ui";

const ROLES: Role[] = ["owner", "admin", "viewer"];
const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;

export function AdminsPage(): ReactNode {
  const { t } = useTranslation();
  const session = useSession();
  const isOwner = session.data?.role === "owner";
  return (
    <div className="manage-page">
      <h1>{t("admins.title")}</h1>
      {!isOwner && <p className="hint">{t("admins.ownerOnly")}</p>}
      <div className="columns wide-left">
        <AdminList isOwner={isOwner} me={session.data?.email ?? null} />
        {isOwner && <NewAdmin />}
      </div>
      <ApiKeys />
    </div>
  );
}

function AdminList({ isOwner, me }: { isOwner: boolean; me: string | null }): ReactNode {
  const { t } = useTranslation();
  const fmt = useFormat();
  const refresh = useRefreshAll();
  const admins = useQuery({ queryKey: ["admins"], queryFn: () => api.get<{ admins: Admin[] }>("/admins") });
  const [removing, setRemoving] = useState<Admin | null>(null);
  const role = useMutation({
    mutationFn: (x: { id: number; role: Role }) => api.patch<Admin>(`/admins/${x.id}`, { role: x.role }),
    onSuccess: () => refresh(),
  });
  const remove = useMutation({
    mutationFn: (id: number) => api.delete(`/admins/${id}`),
    onSuccess: () => {
      setRemoving(null);
      return refresh();
    },
  });
  return (
    <section className="panel" aria-labelledby="admins-list-title">
      <h2 id="admins-list-title">{t("admins.list")}</h2>
      {admins.isPending && <Loading />}
      <ErrorAlert error={admins.error ?? role.error} />
      {admins.data && admins.data.admins.length === 0 && <Empty>{t("admins.none")}</Empty>}
      {admins.data && admins.data.admins.length > 0 && (
        <div className="table-wrap">
          <table>
            <thead>
              <tr>
                <th scope="col">{t("col.name")}</th>
                <th scope="col">{t("col.email")}</th>
                <th scope="col">{t("col.role")}</th>
                <th scope="col">{t("col.since")}</th>
                {isOwner && (
                  <th scope="col">
                    <span className="visually-hidden">{t("col.actions")}</span>
                  </th>
                )}
              </tr>
            </thead>
            <tbody>
              {admins.data.admins.map((a) => (
                <tr key={a.id}>
                  <td>{a.name}</td>
                  <td>{a.email}</td>
                  <td>
                    {isOwner ? (
                      <>
                        <label className="visually-hidden" htmlFor={`role-${a.id}`}>
                          {t("admins.roleOf", { name: a.name })}
                        </label>
                        <select
                          id={`role-${a.id}`}
                          value={a.role}
                          disabled={role.isPending}
                          onChange={(e) => role.mutate({ id: a.id, role: e.target.value as Role })}
                        >
                          {ROLES.map((r) => (
                            <option key={r} value={r}>
                              {t(`role.${r}`)}
                            </option>
                          ))}
                        </select>
                      </>
                    ) : (
                      t(`role.${a.role}`)
                    )}
                  </td>
                  <td>{fmt.date(a.created_at)}</td>
                  {isOwner && (
                    <td>
                      {a.email !== me && (
                        <button
                          type="button"
                          className="secondary small danger-outline"
                          onClick={() => {
                            remove.reset();
                            setRemoving(a);
                          }}
                        >
                          {t("action.remove")}
                          <span className="visually-hidden"> {a.name}</span>
                        </button>
                      )}
                    </td>
                  )}
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      <ConfirmDialog
        open={removing !== null}
        danger
        title={t("admins.removeTitle")}
        confirmLabel={t("action.remove")}
        busy={remove.isPending}
        error={remove.error}
        onConfirm={() => removing && remove.mutate(removing.id)}
        onCancel={() => setRemoving(null)}
      >
        <p>{removing && t("admins.removeQuestion", { name: removing.name, email: removing.email })}</p>
      </ConfirmDialog>
    </section>
  );
}

const ADMIN_FIELDS = ["email", "name", "role", "password"] as const;
type AdminField = (typeof ADMIN_FIELDS)[number];

function NewAdmin(): ReactNode {
  const { t } = useTranslation();
  const refresh = useRefreshAll();
  const empty: Record<AdminField, string> = { email: "", name: "", role: "admin", password: "" };
  const [values, setValues] = useState(empty);
  const [errors, setErrors] = useState<Partial<Record<AdminField, string>>>({});
  const add = useMutation({
    mutationFn: (v: Record<AdminField, string>) =>
      api.post<Admin>("/admins", { ...v, email: v.email.trim(), name: v.name.trim() }),
    onSuccess: () => {
      setValues(empty);
      return refresh();
    },
    onError: (err) => {
      const f = fieldOf(err, ADMIN_FIELDS);
      if (f) setErrors({ [f.field]: f.message });
    },
  });
  const submit = (e: FormEvent) => {
    e.preventDefault();
    const next: Partial<Record<AdminField, string>> = {};
    if (!values.name.trim()) next.name = t("check.required");
    if (!values.email.trim()) next.email = t("check.required");
    else if (!EMAIL.test(values.email.trim())) next.email = t("check.email");
    if (values.password.length < 8) next.password = t("check.password");
    setErrors(next);
    if (Object.keys(next).length === 0) add.mutate(values);
  };
  const set = (f: AdminField, v: string) => setValues({ ...values, [f]: v });
  return (
    <section className="panel" aria-labelledby="admin-new-title">
      <h2 id="admin-new-title">{t("admins.add")}</h2>
      <form className="stack" onSubmit={submit} noValidate>
        <Field label={t("member.name")} error={errors.name}>
          {(a11y) => <input {...a11y} value={values.name} onChange={(e) => set("name", e.target.value)} />}
        </Field>
        <Field label={t("member.email")} error={errors.email}>
          {(a11y) => (
            <input
              {...a11y}
              type="email"
              autoComplete="off"
              value={values.email}
              onChange={(e) => set("email", e.target.value)}
            />
          )}
        </Field>
        <Field label={t("col.role")} error={errors.role}>
          {(a11y) => (
            <select {...a11y} value={values.role} onChange={(e) => set("role", e.target.value)}>
              {ROLES.map((r) => (
                <option key={r} value={r}>
                  {t(`role.${r}`)}
                </option>
              ))}
            </select>
          )}
        </Field>
        <Field label={t("admins.password")} hint={t("admins.passwordHint")} error={errors.password}>
          {(a11y) => (
            <input
              {...a11y}
              type="password"
              autoComplete="new-password"
              value={values.password}
              onChange={(e) => set("password", e.target.value)}
            />
          )}
        </Field>
        {!fieldOf(add.error, ADMIN_FIELDS) && <ErrorAlert error={add.error} />}
        {add.isSuccess && (
          <p className="success" role="status">
            {t("admins.added", { name: add.data.name, role: t(`role.${add.data.role}`) })}
          </p>
        )}
        <div className="actions">
          <button type="submit" disabled={add.isPending}>
            {add.isPending ? t("state.working") : t("admins.addSubmit")}
          </button>
        </div>
      </form>
    </section>
  );
}

// ---------------------------------------------------------------------------------------------- API keys

function ApiKeys(): ReactNode {
  const { t } = useTranslation();
  const fmt = useFormat();
  const refresh = useRefreshAll();
  const keys = useQuery({
    queryKey: ["api-keys"],
    queryFn: () => api.get<{ api_keys: ApiKey[] }>("/api-keys"),
  });
  const [name, setName] = useState("");
  const [scopes, setScopes] = useState<string[]>(["reports:read"]);
  const [errors, setErrors] = useState<{ name?: string | undefined; scopes?: string | undefined }>({});
  const [revoking, setRevoking] = useState<ApiKey | null>(null);
  const create = useMutation({
    mutationFn: () => api.post<{ api_key: ApiKey; key: string }>("/api-keys", { name: name.trim(), scopes }),
    onSuccess: () => {
      setName("");
      return refresh();
    },
    onError: (err) => {
      const f = fieldOf(err, ["name", "scopes"]);
      if (f) setErrors({ [f.field]: f.message });
    },
  });
  const revoke = useMutation({
    mutationFn: (id: number) => api.delete<ApiKey>(`/api-keys/${id}`),
    onSuccess: () => {
      setRevoking(null);
      return refresh();
    },
  });
  const submit = (e: FormEvent) => {
    e.preventDefault();
    const next = {
      name: name.trim() ? undefined : t("check.required"),
      scopes: scopes.length ? undefined : t("check.scopes"),
    };
    setErrors(next);
    if (!next.name && !next.scopes) create.mutate();
  };
  return (
    <div className="columns wide-left">
      <section className="panel" aria-labelledby="keys-title">
        <h2 id="keys-title">{t("keys.title")}</h2>
        {keys.isPending && <Loading />}
        <ErrorAlert error={keys.error} />
        {keys.data && keys.data.api_keys.length === 0 && <Empty>{t("keys.none")}</Empty>}
        {keys.data && keys.data.api_keys.length > 0 && (
          <div className="table-wrap">
            <table>
              <thead>
                <tr>
                  <th scope="col">{t("col.name")}</th>
                  <th scope="col">{t("keys.prefix")}</th>
                  <th scope="col">{t("keys.scopes")}</th>
                  <th scope="col">{t("keys.lastUsed")}</th>
                  <th scope="col">{t("col.status")}</th>
                  <th scope="col">
                    <span className="visually-hidden">{t("col.actions")}</span>
                  </th>
                </tr>
              </thead>
              <tbody>
                {keys.data.api_keys.map((k) => (
                  <tr key={k.id}>
                    <td>{k.name}</td>
                    <td>
                      <code>{k.prefix}…</code>
                    </td>
                    <td>{k.scopes.join(", ")}</td>
                    <td>{k.last_used_at ? fmt.date(k.last_used_at) : t("keys.never")}</td>
                    <td>
                      {k.revoked_at
                        ? t("keys.revokedAt", { date: fmt.date(k.revoked_at) })
                        : t("keys.active")}
                    </td>
                    <td>
                      {!k.revoked_at && (
                        <button
                          type="button"
                          className="secondary small danger-outline"
                          onClick={() => {
                            revoke.reset();
                            setRevoking(k);
                          }}
                        >
                          {t("keys.revoke")}
                          <span className="visually-hidden"> {k.name}</span>
                        </button>
                      )}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
      </section>
      <section className="panel" aria-labelledby="key-new-title">
        <h2 id="key-new-title">{t("keys.create")}</h2>
        <form className="stack" onSubmit={submit} noValidate>
          <Field label={t("col.name")} error={errors.name}>
            {(a11y) => (
              <input
                {...a11y}
                value={name}
                onChange={(e) => setName(e.target.value)}
                placeholder="PBX usage feed"
              />
            )}
          </Field>
          <fieldset className="inline-checks" aria-describedby={errors.scopes ? "scopes-error" : undefined}>
            <legend>{t("keys.scopes")}</legend>
            {API_KEY_SCOPES.map((s) => (
              <label key={s} className="check">
                <input
                  type="checkbox"
                  checked={scopes.includes(s)}
                  onChange={(e) =>
                    setScopes(e.target.checked ? [...scopes, s] : scopes.filter((x) => x !== s))
                  }
                />
                <code>{s}</code>
              </label>
            ))}
            {errors.scopes && (
              <small id="scopes-error" className="field-error" role="alert">
                {errors.scopes}
              </small>
            )}
          </fieldset>
          {!fieldOf(create.error, ["name", "scopes"]) && <ErrorAlert error={create.error} />}
          <div className="actions">
            <button type="submit" disabled={create.isPending}>
              {create.isPending ? t("state.working") : t("keys.submit")}
            </button>
          </div>
        </form>
        {create.data && (
          <div className="success" role="status">
            <p>
              <strong>{t("keys.once")}</strong>
            </p>
            <label className="visually-hidden" htmlFor="new-api-key">
              {t("keys.newKey")}
            </label>
            <input
              id="new-api-key"
              className="mono"
              readOnly
              value={create.data.key}
              onFocus={(e) => e.target.select()}
            />
          </div>
        )}
      </section>
      <ConfirmDialog
        open={revoking !== null}
        danger
        title={t("keys.revokeTitle")}
        confirmLabel={t("keys.revoke")}
        busy={revoke.isPending}
        error={revoke.error}
        onConfirm={() => revoking && revoke.mutate(revoking.id)}
        onCancel={() => setRevoking(null)}
      >
        <p>{revoking && t("keys.revokeQuestion", { name: revoking.name })}</p>
      </ConfirmDialog>
    </div>
  );
}
