/**
 * @module Search as you type for a member or a SIP profile (Usage, and the Allocations "Recipient" filter):
 * an ARIA combobox over GET /members?q= and GET /sip-profiles.
 */
import { useQuery } from "@tanstack/react-query";
import type { KeyboardEvent, ReactNode } from "react";
import { useEffect, useId, useMemo, useState } from "react";
import { useTranslation } from "react-i18next";
import { api } from "../api";
import { sipSubject } from "./logic";

interface MemberDoc {
  id: number;
  name: string;
  username: string;
  account_type: "business" | "personal";
}
interface SipDoc {
  id: number;
  name: string;
}

export interface SubjectOption {
  subject: string;
  name: string;
  type: "member" | "sip_profile";
  detail: string;
}

const SEARCH_ROWS = 8;
const DEBOUNCE_MS = 200;

export function SubjectSearch(props: {
  onPick: (option: SubjectOption) => void;
  label?: string;
  compact?: boolean;
}): ReactNode {
  const { t } = useTranslation();
  const id = useId();
  const [q, setQ] = useState("");
  const [debounced, setDebounced] = useState("");
  const [open, setOpen] = useState(false);
  const [active, setActive] = useState(0);

  useEffect(() => {
    const timer = setTimeout(() => setDebounced(q.trim()), DEBOUNCE_MS);
    return () => clearTimeout(timer);
  }, [q]);

  const members = useQuery({
    queryKey: ["members-search", debounced],
    queryFn: () =>
      api.get<{ members: MemberDoc[] }>(
        `/members?${new URLSearchParams({ q: debounced, limit: String(SEARCH_ROWS) }).toString()}`,
      ),
    enabled: debounced !== "",
    staleTime: 30_000,
  });
  const sips = useQuery({
    queryKey: ["sip-profiles"],
    queryFn: () => api.get<{ sip_profiles: SipDoc[] }>("/sip-profiles"),
    staleTime: 60_000,
    enabled: debounced !== "",
  });

  const options = useMemo<SubjectOption[]>(() => {
    if (debounced === "") return [];
    const needle = fold(debounced);
    const m = (members.data?.members ?? []).map((x) => ({
      subject: x.username,
      name: x.name,
      type: "member" as const,
      detail: x.username,
    }));
    const s = (sips.data?.sip_profiles ?? [])
      .filter((x) => fold(x.name).includes(needle))
      .slice(0, SEARCH_ROWS)
      .map((x) => ({ subject: sipSubject(x.name), name: x.name, type: "sip_profile" as const, detail: "" }));
    return [...m, ...s];
  }, [debounced, members.data, sips.data]);

  const searching = q.trim() !== debounced || members.isFetching || sips.isFetching;
  const listId = `${id}-list`;
  const optionId = (i: number) => `${id}-opt-${i}`;
  const expanded = open && q.trim() !== "";

  const pick = (o: SubjectOption) => {
    setOpen(false);
    setQ("");
    setDebounced("");
    props.onPick(o);
  };

  const onKeyDown = (e: KeyboardEvent<HTMLInputElement>) => {
    if (e.key === "ArrowDown") {
      e.preventDefault();
      setOpen(true);
      setActive((a) => Math.min(a + 1, Math.max(options.length - 1, 0)));
    } else if (e.key === "ArrowUp") {
      e.preventDefault();
      setActive((a) => Math.max(a - 1, 0));
    } else if (e.key === "Enter") {
      const o = options[active];
      if (expanded && o) {
        e.preventDefault();
        pick(o);
      }
    } else if (e.key === "Escape") {
      setOpen(false);
    }
  };

  return (
    <div className={props.compact ? "subject-search compact" : "subject-search"}>
      <label htmlFor={`${id}-input`}>{props.label ?? t("reports.subject.label")}</label>
      <input
        id={`${id}-input`}
        type="search"
        role="combobox"
        autoComplete="off"
        aria-autocomplete="list"
        aria-expanded={expanded}
        aria-controls={listId}
        aria-activedescendant={expanded && options[active] ? optionId(active) : undefined}
        placeholder={t("reports.subject.placeholder")}
        value={q}
        onChange={(e) => {
          setQ(e.target.value);
          setOpen(true);
          setActive(0);
        }}
        onFocus={() => setOpen(true)}
        onBlur={() => setTimeout(() => setOpen(false), 150)}
        onKeyDown={onKeyDown}
      />
      <ul id={listId} role="listbox" className="subject-options" hidden={!expanded}>
        {options.map((o, i) => (
          <li
            key={o.subject}
            id={optionId(i)}
            role="option"
            aria-selected={i === active}
            className={i === active ? "active" : undefined}
            onMouseDown={(e) => e.preventDefault()}
            onClick={() => pick(o)}
          >
            <span className="subject-name">{o.name}</span>
            <span className="subject-detail">
              {o.type === "member"
                ? `${t("reports.subject.member")} · ${o.detail}`
                : t("reports.subject.sip")}
            </span>
          </li>
        ))}
        {!searching && options.length === 0 && (
          <li className="subject-empty" role="presentation">
            {t("reports.subject.none", { q: q.trim() })}
          </li>
        )}
      </ul>
      <span className="visually-hidden" role="status" aria-live="polite">
        {expanded
          ? searching
            ? t("reports.subject.searching")
            : t("reports.subject.results", { count: options.length })
          : ""}
      </span>
    </div>
  );
}

/** Lower case without accents, so "zoe" finds "Zoë". */
function fold(text: string): string {
  return text
    .normalize("NFKD")
    .replace(/[\u0300-\u036f]/g, "")
    .toLowerCase();
}
