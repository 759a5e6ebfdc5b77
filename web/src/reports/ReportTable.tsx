/**
 * @module A report's rows as a table: every column with a human label, sortable by clicking a header
 * (aria-sort), amounts right-aligned and formatted in the company currency and the user's locale, and
 * virtualised so that thousands of rows scroll smoothly (only the visible rows are in the page).
 */
import { getCoreRowModel, getSortedRowModel, useReactTable } from "@tanstack/react-table";
import type { ColumnDef, SortingState } from "@tanstack/react-table";
import { useVirtualizer } from "@tanstack/react-virtual";
import type { TFunction } from "i18next";
import type { ReactNode } from "react";
import { useMemo, useRef, useState } from "react";
import { useTranslation } from "react-i18next";
import { API } from "../api";
import { formatDateTime, formatMoney, formatNumber } from "../format";
import { compareCells, isNumeric } from "./logic";
import type { Cell, Column, ReportRow } from "./logic";

const ROW_PX = 34;
const OVERSCAN_ROWS = 12;

export interface CellContext {
  currency: string;
  timeZone: string;
  locale: string;
  t: TFunction;
}

/** One cell as people read it. */
export function formatCell(value: Cell, column: Column, ctx: CellContext): string {
  if (value === null || value === "") return "";
  switch (column.kind) {
    case "amount":
      return formatMoney(String(value), ctx.currency, ctx.locale);
    case "rate":
      return new Intl.NumberFormat(ctx.locale, {
        style: "currency",
        currency: ctx.currency,
        minimumFractionDigits: 4,
      }).format(value as unknown as number);
    case "int":
      return formatNumber(Number(value), ctx.locale);
    case "date":
      return formatDateTime(String(value), ctx.timeZone, ctx.locale);
    case "code":
      return column.key === "currency"
        ? String(value)
        : ctx.t(`reports.code.${String(value)}`, { defaultValue: String(value) });
    case "groups":
      return String(value).split(";").join(", ");
    default:
      return String(value);
  }
}

/** The PDF receipt of a Purchases row, for a completed purchase only. */
export function receiptHref(row: ReportRow): string | undefined {
  const reference = row["reference"];
  if (row["status"] !== "completed" || typeof reference !== "string" || reference === "") return undefined;
  return `${API}/purchases/${encodeURIComponent(reference)}/receipt.pdf`;
}

export function ReportTable(props: {
  columns: readonly Column[];
  rows: ReportRow[];
  label: string;
  currency: string;
  timeZone: string;
}): ReactNode {
  const { t, i18n } = useTranslation();
  const [sorting, setSorting] = useState<SortingState>([]);
  const ctx: CellContext = { currency: props.currency, timeZone: props.timeZone, locale: i18n.language, t };

  const columns = useMemo<ColumnDef<ReportRow, Cell>[]>(
    () =>
      props.columns.map((col) => ({
        id: col.key,
        accessorFn: (row: ReportRow) => row[col.key] ?? null,
        header: col.key,
        sortingFn: (a, b, id) => compareCells(a.getValue<Cell>(id), b.getValue<Cell>(id), col.kind),
        sortDescFirst: isNumeric(col.kind) || col.kind === "date",
      })),
    [props.columns],
  );

  const table = useReactTable({
    data: props.rows,
    columns,
    state: { sorting },
    onSortingChange: setSorting,
    getCoreRowModel: getCoreRowModel(),
    getSortedRowModel: getSortedRowModel(),
  });
  const rows = table.getRowModel().rows;

  const scrollRef = useRef<HTMLDivElement>(null);
  const virtualizer = useVirtualizer({
    count: rows.length,
    getScrollElement: () => scrollRef.current,
    estimateSize: () => ROW_PX,
    overscan: OVERSCAN_ROWS,
  });
  const items = virtualizer.getVirtualItems();
  const padTop = items[0]?.start ?? 0;
  const padBottom = items.length > 0 ? virtualizer.getTotalSize() - (items[items.length - 1]?.end ?? 0) : 0;
  const colCount = props.columns.length;
  const byKey = new Map(props.columns.map((c) => [c.key, c]));

  return (
    <div className="table-scroll" ref={scrollRef} tabIndex={0} role="region" aria-label={props.label}>
      <table aria-rowcount={rows.length + 1}>
        <thead>
          {table.getHeaderGroups().map((group) => (
            <tr key={group.id} aria-rowindex={1}>
              {group.headers.map((header) => {
                const col = byKey.get(header.column.id);
                const sorted = header.column.getIsSorted();
                const label = t(`reports.col.${header.column.id}`);
                return (
                  <th
                    key={header.id}
                    scope="col"
                    className={col && isNumeric(col.kind) ? "num" : undefined}
                    aria-sort={sorted === "asc" ? "ascending" : sorted === "desc" ? "descending" : "none"}
                  >
                    <button
                      type="button"
                      className="sort"
                      onClick={header.column.getToggleSortingHandler()}
                      title={t("reports.sortBy", { column: label })}
                    >
                      {label}
                      <span aria-hidden="true" className="sort-mark">
                        {sorted === "asc" ? "▲" : sorted === "desc" ? "▼" : "↕"}
                      </span>
                    </button>
                  </th>
                );
              })}
            </tr>
          ))}
        </thead>
        <tbody>
          {padTop > 0 && (
            <tr aria-hidden="true" className="pad">
              <td colSpan={colCount} style={{ height: padTop }} />
            </tr>
          )}
          {items.map((item) => {
            const row = rows[item.index];
            if (!row) return null;
            return (
              <tr key={row.id} aria-rowindex={item.index + 2} style={{ height: ROW_PX }}>
                {row.getVisibleCells().map((cell) => {
                  const col = byKey.get(cell.column.id);
                  if (!col) return null;
                  const value = cell.getValue<Cell>();
                  const receipt = col.key === "reference" ? receiptHref(row.original) : undefined;
                  return (
                    <td key={cell.id} className={isNumeric(col.kind) ? "num" : undefined}>
                      {formatCell(value, col, ctx)}
                      {receipt !== undefined && (
                        <>
                          {" · "}
                          <a href={receipt} target="_blank" rel="noopener">
                            {t("reports.receipt")}
                          </a>
                        </>
                      )}
                    </td>
                  );
                })}
              </tr>
            );
          })}
          {padBottom > 0 && (
            <tr aria-hidden="true" className="pad">
              <td colSpan={colCount} style={{ height: padBottom }} />
            </tr>
          )}
        </tbody>
      </table>
    </div>
  );
}
