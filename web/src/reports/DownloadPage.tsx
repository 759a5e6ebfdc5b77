/**
 * @module Download Reports, as the seed says: tick the reports, choose CSV or PDF (or XLSX), Generate.
 * One request to GET /api/v1/downloads gives the single file or a zip of several; the browser saves it
 * under the name the server gives. Progress is shown while it generates, and it can be cancelled.
 */
import type { FormEvent, ReactNode } from "react";
import { useEffect, useRef, useState } from "react";
import { useTranslation } from "react-i18next";
import { API } from "../api";
import { formatNumber } from "../format";
import { useMonth } from "./hooks";
import { DOWNLOAD_FORMATS, DOWNLOAD_ITEMS, downloadQuery, fileNameFromDisposition } from "./logic";
import type { DownloadFormat } from "./logic";
import { MonthPicker } from "./ReportsLayout";

type State =
  | { kind: "idle" }
  | { kind: "generating"; bytes: number }
  | { kind: "done"; name: string }
  | { kind: "cancelled" }
  | { kind: "failed"; message: string };

export function DownloadPage(): ReactNode {
  const { t, i18n } = useTranslation();
  const { month } = useMonth();
  const [ticked, setTicked] = useState<Set<string>>(() => new Set(["purchases", "allocations:credit"]));
  const [format, setFormat] = useState<DownloadFormat>("csv");
  const [state, setState] = useState<State>({ kind: "idle" });
  const [pickError, setPickError] = useState(false);
  const abort = useRef<AbortController | null>(null);

  // Leaving the page stops a generation that is still running.
  useEffect(() => () => abort.current?.abort(), []);

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
    const controller = new AbortController();
    abort.current = controller;
    setState({ kind: "generating", bytes: 0 });
    try {
      const res = await fetch(`${API}/downloads?${downloadQuery(month, format, ticked)}`, {
        credentials: "same-origin",
        signal: controller.signal,
      });
      if (!res.ok) {
        const body = (await res.json().catch(() => null)) as { error?: { message?: string } } | null;
        throw new Error(body?.error?.message ?? `HTTP ${res.status}`);
      }
      const chunks: Uint8Array[] = [];
      let bytes = 0;
      const reader = res.body?.getReader();
      if (reader) {
        for (;;) {
          const { done, value } = await reader.read();
          if (done) break;
          chunks.push(value);
          bytes += value.byteLength;
          setState({ kind: "generating", bytes });
        }
      }
      const type = res.headers.get("content-type") ?? "application/octet-stream";
      const name = fileNameFromDisposition(
        res.headers.get("content-disposition"),
        `reports-${month}.${format}`,
      );
      const url = URL.createObjectURL(new Blob(chunks as BlobPart[], { type }));
      const a = document.createElement("a");
      a.href = url;
      a.download = name;
      document.body.append(a);
      a.click();
      a.remove();
      setTimeout(() => URL.revokeObjectURL(url), 10_000);
      setState({ kind: "done", name });
    } catch (error) {
      if (controller.signal.aborted) setState({ kind: "cancelled" });
      else
        setState({
          kind: "failed",
          message:
            error instanceof TypeError
              ? t("reports.error.network")
              : error instanceof Error
                ? error.message
                : String(error),
        });
    } finally {
      if (abort.current === controller) abort.current = null;
    }
  };

  const generating = state.kind === "generating";
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
          {generating && (
            <button type="button" className="secondary" onClick={() => abort.current?.abort()}>
              {t("reports.dl.cancel")}
            </button>
          )}
        </div>
        <p role="status" aria-live="polite" className="dl-status">
          {state.kind === "generating" &&
            (state.bytes > 0
              ? t("reports.dl.received", {
                  size: `${formatNumber(Math.ceil(state.bytes / 1024), i18n.language)} kB`,
                })
              : t("reports.dl.generating"))}
          {state.kind === "done" && <span className="ok">{t("reports.dl.done", { name: state.name })}</span>}
          {state.kind === "cancelled" && t("reports.dl.cancelled")}
        </p>
        {state.kind === "failed" && (
          <p className="error" role="alert">
            {t("reports.dl.failed", { message: state.message })}
          </p>
        )}
      </form>
    </article>
  );
}
