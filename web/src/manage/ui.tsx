/** @module Building blocks of the manage and member screens: fields with their errors, plain-word errors, the confirmation dialog, the subject picker. */
import { useQuery, useQueryClient } from "@tanstack/react-query";
import { useEffect, useId, useMemo, useRef, useState } from "react";
import type { ReactNode } from "react";
import { useTranslation } from "react-i18next";
import type { TFunction } from "i18next";
import { api, ApiError } from "../api";
import { formatDateTime, formatMoney } from "../format";
import { useSession } from "../session";
import { checkAmount } from "./money";
import type { AmountProblem } from "./money";

/** The company's currency and timezone, and the user's locale. */
export function useCompany(): { currency: string; timezone: string; locale: string } {
  const { i18n } = useTranslation();
  const session = useSession();
  return {
    currency: session.data?.company.currency ?? "EUR",
    timezone: session.data?.company.timezone ?? "UTC",
    locale: i18n.language,
  };
}

/** Money and dates formatted for the user, in the company's currency and timezone. */
export function useFormat(): {
  money: (amount: string | null | undefined) => string;
  date: (iso: string | null | undefined) => string;
  day: (iso: string | null | undefined) => string;
} {
  const { currency, timezone, locale } = useCompany();
  return useMemo(
    () => ({
      money: (amount) => formatMoney(amount, currency, locale),
      date: (iso) => formatDateTime(iso, timezone, locale),
      day: (iso) =>
        iso
          ? new Intl.DateTimeFormat(locale, { dateStyle: "medium", timeZone: timezone }).format(new Date(iso))
          : "",
    }),
    [currency, timezone, locale],
  );
}

/** After anything changes, every list and balance is fetched again (the session stays). */
export function useRefreshAll(): () => Promise<void> {
  const qc = useQueryClient();
  return () => qc.invalidateQueries({ predicate: (q) => q.queryKey[0] !== "session" });
}

// ------------------------------------------------------------------------------------------------ errors

/**
 * The API names the field it refuses first ("amount: must be a decimal…"). Returns that field and the rest
 * of the message when the field is one of `fields`, else null.
 */
export function fieldOf(
  error: unknown,
  fields: readonly string[],
): { field: string; message: string } | null {
  if (!(error instanceof ApiError) || error.status !== 400) return null;
  const m = /^([A-Za-z_][\w]*)(?:[[.][^:]*)?: (.+)$/s.exec(error.message);
  if (!m?.[1] || !m[2] || !fields.includes(m[1])) return null;
  return { field: m[1], message: m[2] };
}

/** An error in plain words. */
export function describeError(t: TFunction, error: unknown): string {
  if (error instanceof ApiError) {
    if (error.status === 401) return t("error.signedOut");
    if (error.status === 403 && error.code === "forbidden")
      return t("error.forbidden", { message: error.message });
    if (error.status >= 500) return t("error.server");
    return error.message.charAt(0).toUpperCase() + error.message.slice(1);
  }
  if (error instanceof TypeError) return t("error.network");
  return error instanceof Error ? error.message : String(error);
}

export function ErrorAlert({ error }: { error: unknown }): ReactNode {
  const { t } = useTranslation();
  if (!error) return null;
  return (
    <p role="alert" className="error">
      {describeError(t, error)}
    </p>
  );
}

/** Client-side words for an amount problem. */
export function amountMessage(
  t: TFunction,
  problem: AmountProblem | null,
  currency: string,
): string | undefined {
  if (!problem) return undefined;
  return t(`check.amount.${problem}`, { currency });
}

export function checkAmountField(
  t: TFunction,
  text: string,
  currency: string,
  allowZero = false,
): string | undefined {
  return amountMessage(t, checkAmount(text, currency, allowZero), currency);
}

// ------------------------------------------------------------------------------------------------ pieces

export function Loading(): ReactNode {
  const { t } = useTranslation();
  return (
    <p className="loading" role="status">
      <span className="spinner" aria-hidden="true" /> {t("state.loading")}
    </p>
  );
}

export function Empty({ children }: { children: ReactNode }): ReactNode {
  return <p className="empty">{children}</p>;
}

export interface FieldA11y {
  id: string;
  "aria-invalid": boolean;
  "aria-describedby": string | undefined;
}

/** A labelled input with its error message right under it. */
export function Field({
  label,
  error,
  hint,
  children,
  className,
}: {
  label: string;
  error?: string | undefined;
  hint?: string | undefined;
  children: (a11y: FieldA11y) => ReactNode;
  className?: string;
}): ReactNode {
  const id = useId();
  const described = [hint ? `${id}-hint` : "", error ? `${id}-error` : ""].filter(Boolean).join(" ");
  return (
    <div className={`field${className ? ` ${className}` : ""}`}>
      <label htmlFor={id}>{label}</label>
      {children({ id, "aria-invalid": Boolean(error), "aria-describedby": described || undefined })}
      {hint && (
        <small id={`${id}-hint`} className="hint">
          {hint}
        </small>
      )}
      {error && (
        <small id={`${id}-error`} className="field-error" role="alert">
          {error}
        </small>
      )}
    </div>
  );
}

/**
 * A modal confirmation on the native <dialog>: it traps focus, Escape cancels, and focus returns to the
 * button that opened it.
 */
export function ConfirmDialog({
  open,
  title,
  children,
  confirmLabel,
  busy,
  error,
  danger,
  onConfirm,
  onCancel,
}: {
  open: boolean;
  title: string;
  children: ReactNode;
  confirmLabel: string;
  busy?: boolean;
  error?: unknown;
  danger?: boolean;
  onConfirm: () => void;
  onCancel: () => void;
}): ReactNode {
  const { t } = useTranslation();
  const ref = useRef<HTMLDialogElement>(null);
  const opener = useRef<HTMLElement | null>(null);
  const confirmRef = useRef<HTMLButtonElement>(null);
  const cancelRef = useRef<HTMLButtonElement>(null);
  const titleId = useId();
  useEffect(() => {
    const d = ref.current;
    if (!d) return;
    if (open && !d.open) {
      opener.current = document.activeElement instanceof HTMLElement ? document.activeElement : null;
      d.showModal();
      (danger ? cancelRef.current : confirmRef.current)?.focus();
    } else if (!open && d.open) {
      d.close();
      opener.current?.focus();
    }
  }, [open, danger]);
  return (
    <dialog
      ref={ref}
      className="confirm"
      aria-labelledby={titleId}
      onCancel={(e) => {
        e.preventDefault();
        if (!busy) onCancel();
      }}
    >
      <h2 id={titleId}>{title}</h2>
      <div className="confirm-body">{children}</div>
      <ErrorAlert error={error} />
      <div className="actions">
        <button type="button" className="secondary" ref={cancelRef} onClick={onCancel} disabled={busy}>
          {t("action.cancel")}
        </button>
        <button
          type="button"
          ref={confirmRef}
          className={danger ? "danger" : undefined}
          onClick={onConfirm}
          disabled={busy}
        >
          {busy ? t("state.working") : confirmLabel}
        </button>
      </div>
    </dialog>
  );
}

// ------------------------------------------------------------------------------------------------ subjects

export interface Subject {
  type: "member" | "sip_profile";
  subject: string;
  name: string;
  balance: string;
}

export interface Balances {
  currency: string;
  company_balance: string;
  subjects: Subject[];
}

export function useBalances() {
  return useQuery({ queryKey: ["balances"], queryFn: () => api.get<Balances>("/balances") });
}

/**
 * Picks a member or SIP profile: type to narrow the list, then choose with the arrow keys. `allow`
 * narrows who may be picked (e.g. reclaims: business members and SIP profiles only).
 */
export function SubjectPicker({
  label,
  value,
  onChange,
  error,
  allow,
}: {
  label: string;
  value: string;
  onChange: (subject: string) => void;
  error?: string | undefined;
  allow?: (s: Subject) => boolean;
}): ReactNode {
  const { t } = useTranslation();
  const fmt = useFormat();
  const balances = useBalances();
  const [search, setSearch] = useState("");
  const searchId = useId();
  const all = useMemo(
    () => (balances.data?.subjects ?? []).filter((s) => (allow ? allow(s) : true)),
    [balances.data, allow],
  );
  const needle = search.trim().toLocaleLowerCase();
  const shown = needle
    ? all.filter(
        (s) => s.name.toLocaleLowerCase().includes(needle) || s.subject.toLocaleLowerCase().includes(needle),
      )
    : all;
  const selected = all.find((s) => s.subject === value);
  const visible = selected && !shown.includes(selected) ? [selected, ...shown] : shown;
  return (
    <div className="subject-picker">
      <div className="field">
        <label htmlFor={searchId}>{t("picker.search", { label })}</label>
        <input
          id={searchId}
          type="search"
          value={search}
          onChange={(e) => setSearch(e.target.value)}
          placeholder={t("picker.placeholder")}
          autoComplete="off"
        />
      </div>
      <Field label={label} error={error}>
        {(a11y) => (
          <select {...a11y} size={6} value={value} onChange={(e) => onChange(e.target.value)}>
            {visible.map((s) => (
              <option key={s.subject} value={s.subject}>
                {s.type === "sip_profile" ? t("picker.sip", { name: s.name }) : `${s.name} (${s.subject})`} —{" "}
                {fmt.money(s.balance)}
              </option>
            ))}
          </select>
        )}
      </Field>
      {balances.isPending && <Loading />}
      {balances.isSuccess && visible.length === 0 && <Empty>{t("picker.none")}</Empty>}
      <ErrorAlert error={balances.error} />
    </div>
  );
}

/** The display name of a subject reference, from the balances list. */
export function useSubjectName(): (subject: string) => string {
  const balances = useBalances();
  return (subject) => balances.data?.subjects.find((s) => s.subject === subject)?.name ?? subject;
}
