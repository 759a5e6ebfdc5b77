/**
 * @module Summary's pictures (chart.js, loaded only with this module): where credit went in the month
 * (usage charged + features' cost per member and SIP profile, top 10 and "Others"), and purchases vs
 * allocations vs usage over the last 6 months. Each chart has its figures as text for screen readers.
 */
import { useQueries } from "@tanstack/react-query";
import { BarElement, CategoryScale, Chart, Legend, LinearScale, Tooltip } from "chart.js";
import type { ChartOptions } from "chart.js";
import type { ReactNode } from "react";
import { Bar } from "react-chartjs-2";
import { useTranslation } from "react-i18next";
import { api } from "../api";
import { formatMoney, formatMonth } from "../format";
import { creditSpent, currencyDecimals, fromMinor, lastMonths, reportQuery, toMinor } from "./logic";
import type { ReportDoc } from "./logic";

Chart.register(CategoryScale, LinearScale, BarElement, Tooltip, Legend);

const TOP = 10;
const TREND_MONTHS = 6;
const COLOURS = { purchased: "#0b5cad", allocated: "#c25e00", usage: "#1e7b34" } as const;

export default function SummaryCharts(props: { doc: ReportDoc }): ReactNode {
  return (
    <div className="charts">
      <WhereCreditWent doc={props.doc} />
      <Trend month={props.doc.month} currency={props.doc.currency} />
    </div>
  );
}

function WhereCreditWent({ doc }: { doc: ReportDoc }): ReactNode {
  const { t, i18n } = useTranslation();
  const locale = i18n.language;
  const decimals = currencyDecimals(doc.currency);
  const slices = creditSpent(doc.rows, TOP, t("reports.chart.others"));
  const money = (minor: number) => formatMoney(fromMinor(minor, decimals), doc.currency, locale);
  const monthName = formatMonth(doc.month, locale);
  const title = t("reports.chart.where", { month: monthName });
  const summary = `${title}: ${slices.map((s) => `${s.label} ${money(s.value)}`).join("; ")}`;
  const options: ChartOptions<"bar"> = {
    indexAxis: "y",
    maintainAspectRatio: false,
    animation: false,
    plugins: {
      legend: { display: false },
      tooltip: { callbacks: { label: (item) => money(Math.round(Number(item.raw) * 10 ** decimals)) } },
    },
    scales: {
      x: { ticks: { callback: (v) => formatMoney(String(v), doc.currency, locale) } },
    },
  };
  return (
    <figure className="chart panel">
      <figcaption>
        <strong>{title}</strong>
        <span className="hint">{t("reports.chart.whereHint")}</span>
      </figcaption>
      {slices.length === 0 ? (
        <p className="empty">{t("reports.chart.whereEmpty", { month: monthName })}</p>
      ) : (
        <>
          <div className="chart-box" style={{ height: 40 + slices.length * 28 }}>
            <Bar
              role="img"
              aria-label={summary}
              options={options}
              data={{
                labels: slices.map((s) => s.label),
                datasets: [
                  {
                    label: t("reports.chart.spent"),
                    data: slices.map((s) => s.value / 10 ** decimals),
                    backgroundColor: COLOURS.purchased,
                  },
                ],
              }}
            />
          </div>
          <details>
            <summary>{t("reports.chart.figures")}</summary>
            <table className="figures">
              <thead>
                <tr>
                  <th scope="col">{t("reports.chart.who")}</th>
                  <th scope="col" className="num">
                    {t("reports.chart.spent")}
                  </th>
                </tr>
              </thead>
              <tbody>
                {slices.map((s) => (
                  <tr key={s.label}>
                    <td>{s.label}</td>
                    <td className="num">{money(s.value)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </details>
        </>
      )}
    </figure>
  );
}

function Trend({ month, currency }: { month: string; currency: string }): ReactNode {
  const { t, i18n } = useTranslation();
  const locale = i18n.language;
  const months = lastMonths(month, TREND_MONTHS);
  const results = useQueries({
    queries: months.map((m) => ({
      // The same key as the Summary page's own query, so a visited month is not fetched twice.
      queryKey: ["report", "summary", m, null, null, {}],
      queryFn: () => api.get<ReportDoc>(`/reports/summary?${reportQuery({ month: m })}`),
      staleTime: 60_000,
    })),
  });
  const title = t("reports.chart.trend");
  if (results.some((r) => r.isPending))
    return (
      <figure className="chart panel">
        <figcaption>
          <strong>{title}</strong>
        </figcaption>
        <p className="loading" role="status">
          {t("reports.chart.loading")}
        </p>
      </figure>
    );
  const series = [
    { key: "purchased", label: t("reports.chart.purchased"), colour: COLOURS.purchased },
    { key: "allocated_credit", label: t("reports.chart.allocated"), colour: COLOURS.allocated },
    { key: "usage_charged", label: t("reports.chart.usage"), colour: COLOURS.usage },
  ] as const;
  const decimals = currencyDecimals(currency);
  const value = (i: number, key: string): number => {
    const doc = results[i]?.data;
    return doc ? toMinor(doc.totals[key], decimals) : 0;
  };
  const labels = months.map((m) => formatMonth(m, locale));
  const money = (minor: number) => formatMoney(fromMinor(minor, decimals), currency, locale);
  const summary = `${title}: ${months
    .map((_, i) => `${labels[i]}: ${series.map((s) => `${s.label} ${money(value(i, s.key))}`).join(", ")}`)
    .join("; ")}`;
  const options: ChartOptions<"bar"> = {
    maintainAspectRatio: false,
    animation: false,
    plugins: {
      legend: { position: "bottom" },
      tooltip: {
        callbacks: {
          label: (item) =>
            `${item.dataset.label ?? ""}: ${money(Math.round(Number(item.raw) * 10 ** decimals))}`,
        },
      },
    },
    scales: { y: { ticks: { callback: (v) => formatMoney(String(v), currency, locale) } } },
  };
  return (
    <figure className="chart panel">
      <figcaption>
        <strong>{title}</strong>
      </figcaption>
      <div className="chart-box" style={{ height: 280 }}>
        <Bar
          role="img"
          aria-label={summary}
          options={options}
          data={{
            labels,
            datasets: series.map((s) => ({
              label: s.label,
              data: months.map((_, i) => value(i, s.key) / 10 ** decimals),
              backgroundColor: s.colour,
            })),
          }}
        />
      </div>
      <details>
        <summary>{t("reports.chart.figures")}</summary>
        <table className="figures">
          <thead>
            <tr>
              <th scope="col">{t("reports.month")}</th>
              {series.map((s) => (
                <th key={s.key} scope="col" className="num">
                  {s.label}
                </th>
              ))}
            </tr>
          </thead>
          <tbody>
            {months.map((m, i) => (
              <tr key={m}>
                <td>{labels[i]}</td>
                {series.map((s) => (
                  <td key={s.key} className="num">
                    {money(value(i, s.key))}
                  </td>
                ))}
              </tr>
            ))}
          </tbody>
        </table>
      </details>
    </figure>
  );
}
