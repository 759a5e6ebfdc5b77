/**
 * @module One report on the page: title, the filter drop-down, totals, and the rows' table — with a
 * loading indicator, a clear empty state and errors in plain words. Used by all four reports.
 */
import type { ReactNode } from "react";
import { useId } from "react";
import { useTranslation } from "react-i18next";
import { useSearchParams } from "react-router";
import { formatMoney, formatMonth, formatNumber } from "../format";
import { useSession } from "../session";
import { FilterBar } from "./FilterBar";
import { errorText, useMonth, useReport } from "./hooks";
import { COLUMNS, filterFromParams, TOTALS } from "./logic";
import type { Feature, ReportDoc, ReportName } from "./logic";
import { ReportTable } from "./ReportTable";

export function ReportView(props: {
  report: ReportName;
  title: (month: string, doc: ReportDoc | undefined) => string;
  feature?: Feature;
  subject?: string;
  /** Shown between the totals and the table (Summary's balance and charts). */
  extra?: (doc: ReportDoc) => ReactNode;
  /** A page of its own for some errors (Usage: privacy notice, no consent); undefined for the usual message. */
  renderError?: (error: unknown) => ReactNode;
}): ReactNode {
  const { t, i18n } = useTranslation();
  const headingId = useId();
  const session = useSession();
  const { month } = useMonth();
  const [params] = useSearchParams();
  const filter = filterFromParams(props.report, params);
  const q = useReport(props.report, { month, feature: props.feature, subject: props.subject, filter });
  const locale = i18n.language;
  const timeZone = session.data?.company.timezone ?? "UTC";
  const monthName = month ? formatMonth(month, locale) : "";
  const doc = q.data;
  const title = month ? props.title(monthName, doc) : "";

  if (q.isError && props.renderError) {
    const special = props.renderError(q.error);
    if (special !== undefined) return special;
  }

  const emptyKey =
    props.report === "allocations"
      ? `reports.empty.allocations.${props.feature ?? "credit"}`
      : `reports.empty.${props.report}`;
  const filtered = Object.keys(filter).length > 0;

  return (
    <article className="report" aria-labelledby={headingId} aria-busy={q.isFetching}>
      <header className="report-head">
        <h1 id={headingId}>{title}</h1>
        {q.isFetching && doc && (
          <span className="loading small" role="status">
            {t("reports.loading")}
          </span>
        )}
      </header>
      <FilterBar report={props.report} />
      {q.isPending && (
        <p className="loading" role="status">
          <span className="spinner" aria-hidden="true" /> {t("reports.loading")}
        </p>
      )}
      {q.isError && (
        <div className="error-box" role="alert">
          <p>{errorText(q.error, t)}</p>
          <button type="button" className="secondary" onClick={() => void q.refetch()}>
            {t("reports.retry")}
          </button>
        </div>
      )}
      {doc && !q.isError && (
        <>
          <section aria-label={t("reports.totals")} className="totals">
            <dl>
              {TOTALS[props.report].map(({ key, kind }) => (
                <div key={key} className={key.startsWith("closing") ? "total strong" : "total"}>
                  <dt>{t(`reports.total.${key}`)}</dt>
                  <dd>
                    {kind === "amount"
                      ? formatMoney(String(doc.totals[key] ?? ""), doc.currency, locale)
                      : formatNumber(Number(doc.totals[key] ?? 0), locale)}
                  </dd>
                </div>
              ))}
            </dl>
          </section>
          {props.extra?.(doc)}
          {doc.rows.length === 0 ? (
            <p className="empty">
              {filtered
                ? t("reports.empty.filtered", { month: monthName })
                : t(emptyKey, { month: monthName })}
            </p>
          ) : (
            <>
              <p className="row-count">{t("reports.rows", { count: doc.rows.length })}</p>
              <ReportTable
                columns={COLUMNS[props.report]}
                rows={doc.rows}
                label={t("reports.tableLabel", { title })}
                currency={doc.currency}
                timeZone={timeZone}
              />
            </>
          )}
        </>
      )}
    </article>
  );
}
