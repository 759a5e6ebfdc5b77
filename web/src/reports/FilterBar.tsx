/**
 * @module The filter drop-down above a report (PRODUCT.md §4): Summary by group; Purchases by status or
 * payment method; Allocations by group, action or recipient; Usage by kind or destination prefix. The
 * filter lives in the URL next to the month, and the server narrows the rows.
 */
import { useQuery } from "@tanstack/react-query";
import type { FormEvent, ReactNode } from "react";
import { useId, useState } from "react";
import { useTranslation } from "react-i18next";
import { useSearchParams } from "react-router";
import { api } from "../api";
import { ALL_FILTER_KEYS, FILTER_VALUES, filterFromParams, PREFIX_PATTERN, REPORT_FILTERS } from "./logic";
import type { FilterKey, ReportName } from "./logic";
import { SubjectSearch } from "./SubjectSearch";

type Typed = "recipient" | "prefix";

export function FilterBar(props: { report: ReportName }): ReactNode {
  const { t } = useTranslation();
  const id = useId();
  const [params, setParams] = useSearchParams();
  const keys = REPORT_FILTERS[props.report];
  const active = Object.entries(filterFromParams(props.report, params)) as [FilterKey, string][];
  const [typing, setTyping] = useState<Typed | null>(null);
  const [prefix, setPrefix] = useState("");
  const [prefixError, setPrefixError] = useState<string | null>(null);

  const groups = useQuery({
    queryKey: ["groups"],
    queryFn: () => api.get<{ groups: { id: number; name: string }[] }>("/groups"),
    enabled: keys.includes("group"),
    staleTime: 60_000,
  });

  const apply = (key: FilterKey | null, value?: string) => {
    setTyping(null);
    setParams((prev) => {
      const next = new URLSearchParams(prev);
      for (const k of ALL_FILTER_KEYS) next.delete(k);
      if (key && value) next.set(key, value);
      return next;
    });
  };

  const first = active[0];
  const selected = typing ?? (first ? `${first[0]}=${first[1]}` : "");
  const label = (key: FilterKey, value: string) =>
    `${t(`reports.filter.${key}`)}: ${key === "group" || key === "recipient" || key === "prefix" ? value : t(`reports.code.${value}`)}`;

  const onSelect = (v: string) => {
    if (v === "") return apply(null);
    if (v === "recipient" || v === "prefix") {
      setTyping(v);
      setPrefixError(null);
      return;
    }
    const at = v.indexOf("=");
    apply(v.slice(0, at) as FilterKey, v.slice(at + 1));
  };

  const onPrefix = (e: FormEvent) => {
    e.preventDefault();
    const p = prefix.trim().replace(/^\+/, "");
    if (!PREFIX_PATTERN.test(p)) return setPrefixError(t("reports.filter.prefixInvalid"));
    setPrefixError(null);
    apply("prefix", p);
  };

  return (
    <div className="filter-bar">
      <label htmlFor={`${id}-filter`}>{t("reports.filter")}</label>
      <select id={`${id}-filter`} value={selected} onChange={(e) => onSelect(e.target.value)}>
        <option value="">{t("reports.filter.none")}</option>
        {keys.map((key) => {
          if (key === "recipient" || key === "prefix") {
            const current = active.find(([k]) => k === key);
            return (
              <optgroup key={key} label={t(`reports.filter.${key}`)}>
                {current && <option value={`${key}=${current[1]}`}>{label(key, current[1])}</option>}
                <option value={key}>
                  {t(key === "recipient" ? "reports.filter.chooseRecipient" : "reports.filter.typePrefix")}
                </option>
              </optgroup>
            );
          }
          const values =
            key === "group" ? (groups.data?.groups ?? []).map((g) => g.name) : (FILTER_VALUES[key] ?? []);
          const current = active.find(([k]) => k === key);
          const all = current && !values.includes(current[1]) ? [current[1], ...values] : values;
          return (
            <optgroup key={key} label={t(`reports.filter.${key}`)}>
              {all.map((v) => (
                <option key={v} value={`${key}=${v}`}>
                  {label(key, v)}
                </option>
              ))}
            </optgroup>
          );
        })}
      </select>
      {typing === "recipient" && (
        <SubjectSearch
          compact
          label={t("reports.filter.recipient")}
          onPick={(o) => apply("recipient", o.subject)}
        />
      )}
      {typing === "prefix" && (
        <form className="prefix-form" onSubmit={onPrefix} noValidate>
          <label htmlFor={`${id}-prefix`}>{t("reports.filter.prefixLabel")}</label>
          <input
            id={`${id}-prefix`}
            inputMode="numeric"
            value={prefix}
            onChange={(e) => setPrefix(e.target.value)}
            aria-invalid={prefixError !== null}
            aria-describedby={`${id}-prefix-hint`}
          />
          <button type="submit">{t("reports.filter.apply")}</button>
          <span id={`${id}-prefix-hint`} className={prefixError ? "error" : "hint"}>
            {prefixError ?? t("reports.filter.prefixHint")}
          </span>
        </form>
      )}
    </div>
  );
}
