/**
 * @module The report pages: Summary (with the company balance, how long it lasts, and charts),
 * Purchases, Allocations of one feature, and Usage of one member or SIP profile (with the first-time
 * data-privacy steps, and only the balance when a personal member has not given consent).
 */
import { useQueryClient } from "@tanstack/react-query";
import type { ReactNode } from "react";
import { lazy, Suspense, useState } from "react";
import { useTranslation } from "react-i18next";
import { Navigate, useLocation, useParams } from "react-router";
import { api, ApiError } from "../api";
import { formatMoney } from "../format";
import { useSession } from "../session";
import { errorText, useCompany } from "./hooks";
import { FEATURES } from "./logic";
import type { Feature, ReportDoc } from "./logic";
import { ReportView } from "./ReportView";
import { useSubjectName } from "./useSubjectName";

const SummaryCharts = lazy(() => import("./SummaryCharts"));

export function SummaryPage(): ReactNode {
  const { t } = useTranslation();
  return (
    <ReportView
      report="summary"
      title={(month) => t("reports.title.summary", { month })}
      extra={(doc) => (
        <>
          <CompanyBalance />
          <Suspense
            fallback={
              <p className="loading" role="status">
                {t("reports.chart.loading")}
              </p>
            }
          >
            <SummaryCharts doc={doc} />
          </Suspense>
        </>
      )}
    />
  );
}

/** The company balance and "lasts about N days at the current rate of spending" (GET /company). */
function CompanyBalance(): ReactNode {
  const { t, i18n } = useTranslation();
  const company = useCompany();
  if (company.isPending) return null;
  if (company.isError)
    return (
      <p className="error" role="alert">
        {errorText(company.error, t)}
      </p>
    );
  const c = company.data;
  if (c.balance === null) return null;
  return (
    <section className="balance panel" aria-label={t("reports.balance.title")}>
      <span className="balance-label">{t("reports.balance.title")}</span>
      <strong className="balance-amount">{formatMoney(c.balance, c.currency, i18n.language)}</strong>
      <span className="balance-days">
        {c.days_left === null
          ? t("reports.balance.noUsage")
          : t("reports.balance.daysLeft", { count: c.days_left })}
      </span>
    </section>
  );
}

export function PurchasesPage(): ReactNode {
  const { t } = useTranslation();
  return <ReportView report="purchases" title={(month) => t("reports.title.purchases", { month })} />;
}

/** /reports → Summary, keeping the month. */
export function ReportsIndex(): ReactNode {
  const location = useLocation();
  return <Navigate to={`/reports/summary${location.search}`} replace />;
}

/** /reports/allocations → the Credit allocations, keeping the month. */
export function AllocationsIndex(): ReactNode {
  const location = useLocation();
  return <Navigate to={`/reports/allocations/credit${location.search}`} replace />;
}

export function AllocationsPage(): ReactNode {
  const { t } = useTranslation();
  const { feature } = useParams();
  const location = useLocation();
  if (!(FEATURES as readonly string[]).includes(feature ?? ""))
    return <Navigate to={`/reports/allocations/credit${location.search}`} replace />;
  const f = feature as Feature;
  return (
    <ReportView
      key={f}
      report="allocations"
      feature={f}
      title={(month) => t("reports.title.allocations", { month, feature: t(`reports.feature.${f}`) })}
    />
  );
}

/** /reports/usage: pick a member or a SIP profile (the search box is in the menu on the left). */
export function UsagePicker(): ReactNode {
  const { t } = useTranslation();
  return (
    <article className="report">
      <h1>{t("reports.usage.pick")}</h1>
      <p>{t("reports.usage.pickIntro")}</p>
    </article>
  );
}

export function UsagePage(): ReactNode {
  const { t } = useTranslation();
  const { subject = "" } = useParams();
  const session = useSession();
  const name = useSubjectName(subject);
  const acknowledged = session.data?.privacy_acknowledged === true;
  const [ackedNow, setAckedNow] = useState(false);

  if (session.data && !acknowledged && !ackedNow) return <PrivacyNotice onDone={() => setAckedNow(true)} />;
  return (
    <ReportView
      key={subject}
      report="usage"
      subject={subject}
      title={(month, doc: ReportDoc | undefined) =>
        t("reports.title.usage", { month, subject: doc?.subject?.name ?? name })
      }
      renderError={(error) => {
        if (error instanceof ApiError && error.code === "privacy_ack_required")
          return <PrivacyNotice onDone={() => setAckedNow(true)} />;
        if (error instanceof ApiError && error.code === "consent_required")
          return <NoConsent name={name} details={error.details} />;
        return undefined;
      }}
    />
  );
}

/**
 * The data-privacy notice and its two steps, in the seed's words: "I want to access my members reports",
 * then "I want to access the reports" (recorded with POST /privacy/acknowledge, asked once).
 */
function PrivacyNotice(props: { onDone: () => void }): ReactNode {
  const { t } = useTranslation();
  const qc = useQueryClient();
  const [wants, setWants] = useState(false);
  const [saving, setSaving] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const acknowledge = async () => {
    setSaving(true);
    setError(null);
    try {
      await api.post("/privacy/acknowledge");
      await qc.invalidateQueries({ queryKey: ["session"] });
      await qc.invalidateQueries({ queryKey: ["report", "usage"] });
      props.onDone();
    } catch (e) {
      setError(errorText(e, t));
    } finally {
      setSaving(false);
    }
  };
  return (
    <article className="report privacy panel" aria-labelledby="privacy-title">
      <h1 id="privacy-title">{t("reports.privacy.title")}</h1>
      <p>{t("reports.privacy.notice")}</p>
      <p>
        <strong>{t("reports.privacy.important")}</strong>
      </p>
      <label className="check">
        <input type="checkbox" checked={wants} onChange={(e) => setWants(e.target.checked)} />
        {t("reports.privacy.step1")}
      </label>
      <div>
        <button type="button" disabled={!wants || saving} onClick={() => void acknowledge()}>
          {saving ? t("reports.privacy.saving") : t("reports.privacy.step2")}
        </button>
      </div>
      {error && (
        <p className="error" role="alert">
          {error}
        </p>
      )}
    </article>
  );
}

/** A personal member without consent: only the current balance, and why. */
function NoConsent(props: { name: string; details: Record<string, unknown> | undefined }): ReactNode {
  const { t, i18n } = useTranslation();
  const balance = typeof props.details?.["balance"] === "string" ? props.details["balance"] : "";
  const currency = typeof props.details?.["currency"] === "string" ? props.details["currency"] : "";
  return (
    <article className="report panel no-consent" aria-labelledby="no-consent-title">
      <h1 id="no-consent-title">
        {t("reports.consent.title")}: {props.name}
      </h1>
      <p>{t("reports.consent.why", { name: props.name })}</p>
      {balance && currency && (
        <p className="balance">
          <span className="balance-label">{t("reports.consent.balance")}</span>{" "}
          <strong className="balance-amount">{formatMoney(balance, currency, i18n.language)}</strong>
        </p>
      )}
    </article>
  );
}
