/**
 * @module The Reports area's frame, in Skype Manager's words: the menu on the left (Summary, Purchases,
 * Allocations and its features, Usage with a member or SIP profile search, the month drop-down with
 * Previous month / Next month, Download Reports) and the report on the right.
 */
import type { ReactNode } from "react";
import { useTranslation } from "react-i18next";
import { Navigate, NavLink, Outlet, useLocation, useNavigate, useParams } from "react-router";
import { formatMonth } from "../format";
import { useSession } from "../session";
import { useMonth, useMonths } from "./hooks";
import { FEATURES, isSipSubject, monthNeighbours, monthOptions } from "./logic";
import { SubjectSearch } from "./SubjectSearch";
import { useSubjectName } from "./useSubjectName";
import "./reports.css";

export function ReportsLayout(): ReactNode {
  const { t } = useTranslation();
  const session = useSession();
  const { month } = useMonth();
  const location = useLocation();
  const navigate = useNavigate();
  const { subject } = useParams();
  const subjectName = useSubjectName(subject);

  if (session.data?.kind === "member") return <Navigate to="/me" replace />;
  const mq = month ? `?month=${month}` : "";
  const inUsage = location.pathname.startsWith("/reports/usage");

  return (
    <div className="reports">
      <aside className="reports-menu">
        <nav aria-label={t("reports.menu")}>
          <ul>
            <li>
              <NavLink to={`/reports/summary${mq}`}>{t("reports.summary")}</NavLink>
            </li>
            <li>
              <NavLink to={`/reports/purchases${mq}`}>{t("reports.purchases")}</NavLink>
            </li>
            <li>
              <NavLink to={`/reports/allocations${mq}`}>{t("reports.allocations")}</NavLink>
              <ul>
                {FEATURES.map((f) => (
                  <li key={f}>
                    <NavLink to={`/reports/allocations/${f}${mq}`}>{t(`reports.feature.${f}`)}</NavLink>
                  </li>
                ))}
              </ul>
            </li>
            <li>
              <NavLink to={`/reports/usage${mq}`} end={!subject}>
                {t("reports.usage")}
              </NavLink>
              {subject && (
                <ul>
                  <li>
                    <NavLink to={`/reports/usage/${encodeURIComponent(subject)}${mq}`}>
                      {subjectName}
                      <span className="visually-hidden">
                        {" "}
                        ({isSipSubject(subject) ? t("reports.subject.sip") : t("reports.subject.member")})
                      </span>
                    </NavLink>
                  </li>
                </ul>
              )}
              {inUsage && (
                <SubjectSearch
                  compact
                  onPick={(o) => void navigate(`/reports/usage/${encodeURIComponent(o.subject)}${mq}`)}
                />
              )}
            </li>
          </ul>
          <MonthPicker />
          <ul>
            <li>
              <NavLink to={`/reports/download${mq}`}>{t("reports.download")}</NavLink>
            </li>
          </ul>
        </nav>
      </aside>
      <section className="reports-main">
        <Outlet />
      </section>
    </div>
  );
}

/** The month drop-down with Previous month and Next month, kept in the URL (?month=). */
export function MonthPicker(props: { label?: string; buttons?: boolean }): ReactNode {
  const { t, i18n } = useTranslation();
  const months = useMonths();
  const { month, setMonth } = useMonth();
  if (!month) return <p className="loading">{t("state.loading")}</p>;
  const list = months.data?.months ?? [month];
  const { previous, next } = monthNeighbours(list, month);
  const showButtons = props.buttons ?? true;
  return (
    <div className="month-picker">
      <label>
        {props.label ?? t("reports.month")}
        <select value={month} onChange={(e) => setMonth(e.target.value)}>
          {monthOptions(list, month).map((m) => (
            <option key={m} value={m}>
              {formatMonth(m, i18n.language)}
            </option>
          ))}
        </select>
      </label>
      {showButtons && (
        <div className="month-buttons">
          <button
            type="button"
            className="secondary"
            disabled={!previous}
            onClick={() => previous && setMonth(previous)}
          >
            <span aria-hidden="true">‹ </span>
            {t("reports.previousMonth")}
          </button>
          <button type="button" className="secondary" disabled={!next} onClick={() => next && setMonth(next)}>
            {t("reports.nextMonth")}
            <span aria-hidden="true"> ›</span>
          </button>
        </div>
      )}
    </div>
  );
}
