/** @module The audit log (owners only): newest first, narrowed by action, paged with Newer / Older. */
import { useQuery } from "@tanstack/react-query";
import { useState } from "react";
import type { FormEvent, ReactNode } from "react";
import { useTranslation } from "react-i18next";
import { api } from "../api";
import type { AuditPage as AuditPageData } from "./types";
import { Empty, ErrorAlert, Field, Loading, useFormat } from "./ui";

const PAGE = 50;

function details(d: Record<string, unknown> | null): string {
  if (!d) return "";
  return Object.entries(d)
    .map(([k, v]) => `${k}: ${typeof v === "string" ? v : JSON.stringify(v)}`)
    .join(" · ");
}

export function AuditPage(): ReactNode {
  const { t } = useTranslation();
  const fmt = useFormat();
  const [action, setAction] = useState("");
  const [typed, setTyped] = useState("");
  // The ids at which each page we went through starts ("before" cursor); the first page has none.
  const [cursors, setCursors] = useState<(number | undefined)[]>([undefined]);
  const before = cursors[cursors.length - 1];
  const params = new URLSearchParams({ limit: String(PAGE) });
  if (before !== undefined) params.set("before", String(before));
  if (action) params.set("action", action);
  const log = useQuery({
    queryKey: ["audit-log", action, before],
    queryFn: () => api.get<AuditPageData>(`/audit-log?${params.toString()}`),
    placeholderData: (prev) => prev,
  });
  const filter = (e: FormEvent) => {
    e.preventDefault();
    setAction(typed.trim());
    setCursors([undefined]);
  };
  return (
    <div className="manage-page">
      <h1>{t("audit.title")}</h1>
      <p className="hint">{t("audit.intro")}</p>
      <section className="panel" aria-labelledby="audit-list-title">
        <h2 id="audit-list-title" className="visually-hidden">
          {t("audit.title")}
        </h2>
        <form className="filters" role="search" onSubmit={filter}>
          <Field label={t("audit.action")}>
            {(a11y) => (
              <input
                {...a11y}
                value={typed}
                onChange={(e) => setTyped(e.target.value)}
                placeholder={t("audit.actionHint")}
              />
            )}
          </Field>
          <button type="submit">{t("audit.filter")}</button>
        </form>
        {log.isPending && <Loading />}
        <ErrorAlert error={log.error} />
        {log.data && log.data.items.length === 0 && (
          <Empty>{action ? t("audit.noMatch") : t("audit.none")}</Empty>
        )}
        {log.data && log.data.items.length > 0 && (
          <div className="table-wrap">
            <table aria-busy={log.isFetching}>
              <thead>
                <tr>
                  <th scope="col">{t("col.when")}</th>
                  <th scope="col">{t("col.who")}</th>
                  <th scope="col">{t("col.action")}</th>
                  <th scope="col">{t("col.subject")}</th>
                  <th scope="col">{t("col.details")}</th>
                </tr>
              </thead>
              <tbody>
                {log.data.items.map((e) => (
                  <tr key={e.id}>
                    <td>{fmt.date(e.at)}</td>
                    <td>{e.actor}</td>
                    <td>
                      <code>{e.action}</code>
                    </td>
                    <td>{e.subject ?? ""}</td>
                    <td className="wrap">{details(e.details)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
        <div className="pager">
          <span>{t("audit.page", { page: cursors.length })}</span>
          <button
            type="button"
            className="secondary"
            disabled={cursors.length === 1 || log.isFetching}
            onClick={() => setCursors(cursors.slice(0, -1))}
          >
            {t("audit.newer")}
          </button>
          <button
            type="button"
            className="secondary"
            disabled={!log.data?.next_before || log.isFetching}
            onClick={() => log.data?.next_before && setCursors([...cursors, log.data.next_before])}
          >
            {t("audit.older")}
          </button>
        </div>
      </section>
    </div>
  );
}
