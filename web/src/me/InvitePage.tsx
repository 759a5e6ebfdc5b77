/** @module The public invitation page: see who invites you, then accept (name, username, password) or decline. */
import { useMutation, useQuery } from "@tanstack/react-query";
import { useState } from "react";
import type { FormEvent, ReactNode } from "react";
import { useTranslation } from "react-i18next";
import { Link, useParams } from "react-router";
import { api, ApiError } from "../api";
import { formatDateTime } from "../format";
import { LANGUAGES, setLanguage } from "../i18n";
import type { Member, PublicInvitation } from "../manage/types";
import { ConfirmDialog, ErrorAlert, Field, fieldOf, Loading } from "../manage/ui";

const FIELDS = ["name", "username", "password"] as const;
type InviteField = (typeof FIELDS)[number] | "repeat";
const USERNAME = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;

export function InvitePage(): ReactNode {
  const { t, i18n } = useTranslation();
  const { token = "" } = useParams();
  const path = `/invitations/by-token/${encodeURIComponent(token)}`;
  const invitation = useQuery({
    queryKey: ["invitation", token],
    queryFn: () => api.get<PublicInvitation>(path),
    retry: false,
  });
  const [values, setValues] = useState<Record<InviteField, string>>({
    name: "",
    username: "",
    password: "",
    repeat: "",
  });
  const [errors, setErrors] = useState<Partial<Record<InviteField, string>>>({});
  const [declining, setDeclining] = useState(false);
  const accept = useMutation({
    mutationFn: () =>
      api.post<Member>(`${path}/accept`, {
        name: values.name.trim(),
        username: values.username,
        password: values.password,
      }),
    onError: (err) => {
      const f = fieldOf(err, FIELDS);
      if (f) setErrors({ [f.field]: f.message });
    },
  });
  const decline = useMutation({
    mutationFn: () => api.post(`${path}/decline`),
    onSuccess: () => setDeclining(false),
  });
  const submit = (e: FormEvent) => {
    e.preventDefault();
    const next: Partial<Record<InviteField, string>> = {};
    if (!values.name.trim()) next.name = t("check.required");
    if (!values.username) next.username = t("check.required");
    else if (!USERNAME.test(values.username)) next.username = t("check.username");
    if (values.password.length < 8) next.password = t("check.password");
    else if (values.password !== values.repeat) next.repeat = t("check.repeat");
    setErrors(next);
    accept.reset();
    if (Object.keys(next).length === 0) accept.mutate();
  };
  const set = (f: InviteField, v: string) => setValues({ ...values, [f]: v });
  const zone = Intl.DateTimeFormat().resolvedOptions().timeZone;

  let body: ReactNode;
  if (invitation.isPending) body = <Loading />;
  else if (!invitation.data)
    body = (
      <p role="alert" className="error">
        {invitation.error instanceof ApiError &&
        (invitation.error.status === 404 || invitation.error.status === 409)
          ? t("inviteAccept.invalid", { message: invitation.error.message })
          : t("error.network")}
      </p>
    );
  else if (accept.isSuccess)
    body = (
      <div className="success" role="status">
        <p>
          {t("inviteAccept.welcome", { company: invitation.data.company, username: accept.data.username })}
        </p>
        <p>
          <Link to="/login">{t("inviteAccept.signIn")}</Link>
        </p>
      </div>
    );
  else if (decline.isSuccess)
    body = (
      <p className="success" role="status">
        {t("inviteAccept.declined", { company: invitation.data.company })}
      </p>
    );
  else
    body = (
      <>
        <p>{t("inviteAccept.intro", { company: invitation.data.company, email: invitation.data.email })}</p>
        <p className="muted">
          {t("inviteAccept.expires", {
            date: formatDateTime(invitation.data.expires_at, zone, i18n.language),
          })}
        </p>
        <form className="stack" onSubmit={submit} noValidate>
          <Field label={t("member.name")} error={errors.name}>
            {(a11y) => (
              <input
                {...a11y}
                autoComplete="name"
                value={values.name}
                onChange={(e) => set("name", e.target.value)}
              />
            )}
          </Field>
          <Field label={t("member.username")} hint={t("inviteAccept.usernameHint")} error={errors.username}>
            {(a11y) => (
              <input
                {...a11y}
                autoComplete="username"
                value={values.username}
                onChange={(e) => set("username", e.target.value)}
              />
            )}
          </Field>
          <Field label={t("admins.password")} hint={t("member.passwordRule")} error={errors.password}>
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
          <Field label={t("me.repeatPassword")} error={errors.repeat}>
            {(a11y) => (
              <input
                {...a11y}
                type="password"
                autoComplete="new-password"
                value={values.repeat}
                onChange={(e) => set("repeat", e.target.value)}
              />
            )}
          </Field>
          {!fieldOf(accept.error, FIELDS) && <ErrorAlert error={accept.error} />}
          <div className="actions">
            <button
              type="button"
              className="secondary"
              onClick={() => setDeclining(true)}
              disabled={accept.isPending}
            >
              {t("inviteAccept.decline")}
            </button>
            <button type="submit" disabled={accept.isPending}>
              {accept.isPending ? t("state.working") : t("inviteAccept.accept")}
            </button>
          </div>
        </form>
        <ConfirmDialog
          open={declining}
          danger
          title={t("inviteAccept.declineTitle")}
          confirmLabel={t("inviteAccept.decline")}
          busy={decline.isPending}
          error={decline.error}
          onConfirm={() => decline.mutate()}
          onCancel={() => setDeclining(false)}
        >
          <p>{t("inviteAccept.declineQuestion", { company: invitation.data.company })}</p>
        </ConfirmDialog>
      </>
    );

  return (
    <main className="sign-in invite-page">
      <div className="invite-head">
        <h1>{t("inviteAccept.title")}</h1>
        <label className="language">
          <span className="visually-hidden">{t("nav.language")}</span>
          <select value={i18n.language} onChange={(e) => setLanguage(e.target.value)}>
            {LANGUAGES.map((l) => (
              <option key={l.code} value={l.code}>
                {l.name}
              </option>
            ))}
          </select>
        </label>
      </div>
      {body}
    </main>
  );
}
