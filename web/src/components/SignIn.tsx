/** @module The sign-in page. */
import { useState } from "react";
import type { FormEvent, ReactNode } from "react";
import { useTranslation } from "react-i18next";
import { Navigate, useNavigate } from "react-router";
import { ApiError } from "../api";
import { useSession, useSignIn } from "../session";

export function SignIn(): ReactNode {
  const { t } = useTranslation();
  const session = useSession();
  const signIn = useSignIn();
  const navigate = useNavigate();
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  if (session.data)
    return <Navigate to={session.data.kind === "admin" ? "/reports/summary" : "/me"} replace />;
  const submit = (e: FormEvent<HTMLFormElement>) => {
    e.preventDefault();
    const form = new FormData(e.currentTarget);
    setBusy(true);
    setError(null);
    signIn(form.get("email") as string, form.get("password") as string)
      .then((s) => navigate(s.kind === "admin" ? "/reports/summary" : "/me"))
      .catch((err: unknown) => setError(err instanceof ApiError ? err.message : String(err)))
      .finally(() => setBusy(false));
  };
  return (
    <main className="sign-in">
      <h1>{t("signIn.title")}</h1>
      <form onSubmit={submit} aria-describedby={error ? "sign-in-error" : undefined}>
        <label>
          {t("signIn.email")}
          <input name="email" type="email" autoComplete="username" required />
        </label>
        <label>
          {t("signIn.password")}
          <input name="password" type="password" autoComplete="current-password" required />
        </label>
        {error && (
          <p id="sign-in-error" role="alert" className="error">
            {error}
          </p>
        )}
        <button type="submit" disabled={busy}>
          {t("signIn.submit")}
        </button>
      </form>
    </main>
  );
}
