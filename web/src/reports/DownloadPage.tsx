/**
 * @module Download Reports, as the seed says: tick the reports, choose CSV or PDF (or XLSX), Generate.
 * Generate starts a download job on the server (POST /api/v1/downloads/jobs); the page polls it, showing
 * the rows generated so far with a Cancel button, and when it is done the browser saves its file under
 * the name the server gives. The job's id is kept in the URL (?job=), so a reload finds it again; the
 * caller's recent downloads are listed with links while their files have not expired.
 */
import { useQuery, useQueryClient } from "@tanstack/react-query";
import type { FormEvent, ReactNode } from "react";
import { useEffect, useRef, useState } from "react";
import { useTranslation } from "react-i18next";
import { useSearchParams } from "react-router";
import { API, api, ApiError } from "../api";
import { formatNumber } from "../format";
import { useMonth } from "./hooks";
import { DOWNLOAD_FORMATS, DOWNLOAD_ITEMS } from "./logic";
import type { DownloadFormat } from "./logic";
import { MonthPicker } from "./ReportsLayout";

/** How often a running job is asked for its progress. */
const POLL_MS = 500;

interface DownloadJob {
  id: number;
  state: "queued" | "running" | "done" | "failed" | "cancelled";
  progress_rows: number;
  month: string;
  format: string;
  reports: string[];
  file_name: string | null;
  error: string | null;
  created_at_ms: number;
  finished_at_ms: number | null;
  expires_at_ms: number;
  available: boolean;
}

const isActive = (job: DownloadJob | undefined): boolean =>
  job !== undefined && (job.state === "queued" || job.state === "running");
const fileUrl = (id: number): string => `${API}/downloads/jobs/${id}/file`;

/** Has the browser save the job's file (the server sends it as an attachment with its name). */
function saveFile(job: DownloadJob): void {
  const a = document.createElement("a");
  a.href = fileUrl(job.id);
  a.download = job.file_name ?? "";
  document.body.append(a);
  a.click();
  a.remove();
}

const errorText = (error: unknown): string => (error instanceof Error ? error.message : String(error));

export function DownloadPage(): ReactNode {
  const { t, i18n } = useTranslation();
  const qc = useQueryClient();
  const { month } = useMonth();
  const [params, setParams] = useSearchParams();
  const [ticked, setTicked] = useState<Set<string>>(() => new Set(["purchases", "allocations:credit"]));
  const [format, setFormat] = useState<DownloadFormat>("csv");
  const [pickError, setPickError] = useState(false);
  const [starting, setStarting] = useState(false);
  const [actionError, setActionError] = useState<string | null>(null);
  /** Jobs seen running on this page: their file is saved when they finish. */
  const watching = useRef(new Set<number>());
  const [savedId, setSavedId] = useState<number | null>(null);

  const jobParam = Number(params.get("job"));
  const jobId = Number.isSafeInteger(jobParam) && jobParam > 0 ? jobParam : null;
  const setJobId = (id: number | null) =>
    setParams(
      (prev) => {
        const next = new URLSearchParams(prev);
        if (id === null) next.delete("job");
        else next.set("job", String(id));
        return next;
      },
      { replace: true },
    );

  const job = useQuery({
    queryKey: ["download-job", jobId],
    queryFn: () => api.get<DownloadJob>(`/downloads/jobs/${jobId}`),
    enabled: jobId !== null,
    refetchInterval: (query) => (isActive(query.state.data) ? POLL_MS : false),
    retry: false,
  });
  const recent = useQuery({
    queryKey: ["download-jobs"],
    queryFn: () => api.get<{ jobs: DownloadJob[] }>("/downloads/jobs"),
  });

  const current = job.data;
  useEffect(() => {
    if (!current) return;
    if (isActive(current)) {
      watching.current.add(current.id);
      return;
    }
    if (watching.current.delete(current.id)) {
      if (current.state === "done" && current.available) {
        saveFile(current);
        setSavedId(current.id);
      }
      void qc.invalidateQueries({ queryKey: ["download-jobs"] });
    }
  }, [current, qc]);

  const toggle = (item: string, on: boolean) => {
    setPickError(false);
    setTicked((prev) => {
      const next = new Set(prev);
      if (on) next.add(item);
      else next.delete(item);
      return next;
    });
  };

  const generate = async (e: FormEvent) => {
    e.preventDefault();
    if (!month) return;
    if (ticked.size === 0) return setPickError(true);
    setStarting(true);
    setActionError(null);
    try {
      const reports = DOWNLOAD_ITEMS.filter((i) => ticked.has(i));
      const created = await api.post<DownloadJob>("/downloads/jobs", { month, format, reports });
      watching.current.add(created.id);
      qc.setQueryData(["download-job", created.id], created);
      setJobId(created.id);
      void qc.invalidateQueries({ queryKey: ["download-jobs"] });
    } catch (error) {
      setActionError(error instanceof TypeError ? t("reports.error.network") : errorText(error));
    } finally {
      setStarting(false);
    }
  };

  const cancel = async () => {
    if (jobId === null) return;
    try {
      const cancelled = await api.delete<DownloadJob>(`/downloads/jobs/${jobId}`);
      watching.current.delete(jobId);
      qc.setQueryData(["download-job", jobId], cancelled);
      void qc.invalidateQueries({ queryKey: ["download-jobs"] });
    } catch (error) {
      // Finished meanwhile (409): the next poll shows how it ended.
      if (!(error instanceof ApiError && error.status === 409)) setActionError(errorText(error));
      void job.refetch();
    }
  };

  const generating = starting || isActive(current);
  const lookupFailed = job.error instanceof ApiError && job.error.status === 404;
  const rows = (n: number) => formatNumber(n, i18n.language);
  const when = (ms: number) =>
    new Date(ms).toLocaleString(i18n.language, { dateStyle: "medium", timeStyle: "short" });
  return (
    <article className="report download" aria-labelledby="download-title">
      <h1 id="download-title">{t("reports.dl.title")}</h1>
      <p>{t("reports.dl.intro")}</p>
      <form className="download-form panel" onSubmit={(e) => void generate(e)}>
        <fieldset aria-describedby={pickError ? "download-pick-error" : undefined}>
          <legend>{t("reports.dl.which")}</legend>
          {DOWNLOAD_ITEMS.map((item) => (
            <label key={item} className="check">
              <input
                type="checkbox"
                checked={ticked.has(item)}
                onChange={(e) => toggle(item, e.target.checked)}
                disabled={generating}
              />
              {t(`reports.dl.item.${item.replace(":", ".")}`)}
            </label>
          ))}
          {pickError && (
            <p id="download-pick-error" className="error" role="alert">
              {t("reports.dl.pickOne")}
            </p>
          )}
        </fieldset>
        <fieldset>
          <legend>{t("reports.dl.format")}</legend>
          {DOWNLOAD_FORMATS.map((f) => (
            <label key={f} className="check">
              <input
                type="radio"
                name="format"
                value={f}
                checked={format === f}
                onChange={() => setFormat(f)}
                disabled={generating}
              />
              {t(`reports.dl.format.${f}`)}
            </label>
          ))}
        </fieldset>
        <MonthPicker label={t("reports.dl.month")} buttons={false} />
        <div className="actions">
          <button type="submit" disabled={generating || !month}>
            {t("reports.dl.generate")}
          </button>
          {isActive(current) && (
            <button type="button" className="secondary" onClick={() => void cancel()}>
              {t("reports.dl.cancel")}
            </button>
          )}
        </div>
        <p role="status" aria-live="polite" className="dl-status">
          {starting && t("reports.dl.generating")}
          {!starting && current && isActive(current) && (
            <>
              {current.progress_rows > 0
                ? t("reports.dl.progress", {
                    count: current.progress_rows,
                    rows: rows(current.progress_rows),
                  })
                : t("reports.dl.generating")}
              <progress aria-label={t("reports.dl.generating")} />
            </>
          )}
          {!starting && current?.state === "done" && (
            <span className="ok">
              {current.available ? (
                <>
                  {savedId === current.id
                    ? t("reports.dl.done", { name: current.file_name ?? "" })
                    : t("reports.dl.ready")}{" "}
                  <a href={fileUrl(current.id)} download={current.file_name ?? ""}>
                    {savedId === current.id ? t("reports.dl.again") : current.file_name}
                  </a>
                </>
              ) : (
                t("reports.dl.expired", { name: current.file_name ?? "" })
              )}
            </span>
          )}
          {!starting && current?.state === "cancelled" && t("reports.dl.cancelled")}
        </p>
        {!starting && current?.state === "failed" && (
          <p className="error" role="alert">
            {t("reports.dl.failed", { message: current.error ?? "" })}
          </p>
        )}
        {lookupFailed && (
          <p className="error" role="alert">
            {t("reports.dl.notFound")}
          </p>
        )}
        {actionError !== null && (
          <p className="error" role="alert">
            {t("reports.dl.failed", { message: actionError })}
          </p>
        )}
      </form>
      {(recent.data?.jobs.length ?? 0) > 0 && (
        <section className="panel dl-recent" aria-labelledby="download-recent">
          <h2 id="download-recent">{t("reports.dl.recent")}</h2>
          <ul>
            {recent.data?.jobs.map((j) => (
              <li key={j.id}>
                {j.available ? (
                  <a href={fileUrl(j.id)} download={j.file_name ?? ""}>
                    {j.file_name}
                  </a>
                ) : (
                  <span>{j.file_name ?? j.reports.join(", ")}</span>
                )}{" "}
                <span className="muted">
                  {t(`reports.dl.state.${j.state}`)} · {when(j.created_at_ms)}
                  {j.available && ` · ${t("reports.dl.until", { time: when(j.expires_at_ms) })}`}
                  {j.state === "done" && !j.available && ` · ${t("reports.dl.state.expired")}`}
                </span>
              </li>
            ))}
          </ul>
        </section>
      )}
    </article>
  );
}
