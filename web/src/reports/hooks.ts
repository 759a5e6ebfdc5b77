/**
 * @module Data of the reports screens: the month in the URL (?month=), the months that can be asked for,
 * one report's JSON, the company, and plain-words error messages.
 */
import { useQuery } from "@tanstack/react-query";
import type { TFunction } from "i18next";
import { useCallback } from "react";
import { useSearchParams } from "react-router";
import { api, ApiError } from "../api";
import { isMonth, reportQuery } from "./logic";
import type { Feature, FilterKey, ReportDoc, ReportName } from "./logic";

export interface MonthsDoc {
  current: string;
  months: string[];
}

export function useMonths() {
  return useQuery({
    queryKey: ["reports-months"],
    queryFn: () => api.get<MonthsDoc>("/reports-months"),
    staleTime: 5 * 60_000,
  });
}

/** The report month: ?month= when it is a month, else the company's current month (once known). */
export function useMonth(): { month: string | null; setMonth: (m: string) => void } {
  const [params, setParams] = useSearchParams();
  const months = useMonths();
  const fromUrl = params.get("month");
  const month = isMonth(fromUrl) ? fromUrl : (months.data?.current ?? null);
  const setMonth = useCallback(
    (m: string) =>
      setParams((prev) => {
        const next = new URLSearchParams(prev);
        next.set("month", m);
        return next;
      }),
    [setParams],
  );
  return { month, setMonth };
}

export function useReport(
  report: ReportName,
  opts: {
    month: string | null;
    feature?: Feature | undefined;
    subject?: string | undefined;
    filter?: Partial<Record<FilterKey, string>>;
    enabled?: boolean;
  },
) {
  const { month, feature, subject, filter = {}, enabled = true } = opts;
  return useQuery({
    queryKey: ["report", report, month, feature ?? null, subject ?? null, filter],
    queryFn: () =>
      api.get<ReportDoc>(
        `/reports/${report}?${reportQuery({ month: month ?? "", feature, subject, filter })}`,
      ),
    enabled: enabled && month !== null,
    // While another month or filter loads, the same report's rows stay on screen (never another report's).
    placeholderData: (previous, previousQuery) => {
      const k = previousQuery?.queryKey;
      return k && k[1] === report && k[3] === (feature ?? null) && k[4] === (subject ?? null)
        ? previous
        : undefined;
    },
    // A 403 (privacy, consent) or 404 answers the same the second time.
    retry: (count, error) => !(error instanceof ApiError && error.status < 500) && count < 1,
  });
}

export interface CompanyDoc {
  id: number;
  name: string;
  currency: string;
  timezone: string;
  /** null for a member: the company's money is not theirs to see. */
  balance: string | null;
  usage_last_30_days: string | null;
  days_left: number | null;
}

export function useCompany() {
  return useQuery({ queryKey: ["company"], queryFn: () => api.get<CompanyDoc>("/company") });
}

/** An error in plain words for people. */
export function errorText(error: unknown, t: TFunction): string {
  if (error instanceof ApiError) {
    if (error.status === 401) return t("reports.error.signIn");
    if (error.code === "forbidden") return t("reports.error.forbidden");
    return t("reports.error.generic", { message: error.message });
  }
  if (error instanceof TypeError) return t("reports.error.network");
  return t("reports.error.generic", { message: error instanceof Error ? error.message : String(error) });
}
