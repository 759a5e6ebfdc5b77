/**
 * @module Report rows read in batches. A report with many rows (a month of a busy SIP profile's usage) is
 * read a batch at a time and its writers format a whole batch at once: one await per batch instead of
 * several per row is what makes a million-row export fast. Everyone else iterates the rows one by one.
 */
import type { ReportRow } from "./definitions";

/** Report rows that can also be read a batch at a time (read them one way or the other, once). */
export interface BatchedRows extends AsyncIterable<ReportRow> {
  batches(): AsyncIterable<readonly ReportRow[]>;
}

export function batchedRows(source: AsyncIterable<readonly ReportRow[]>): BatchedRows {
  return {
    batches: () => source,
    async *[Symbol.asyncIterator]() {
      for await (const batch of source) yield* batch;
    },
  };
}

function isBatched(rows: AsyncIterable<ReportRow>): rows is BatchedRows {
  return typeof (rows as Partial<BatchedRows>).batches === "function";
}

/** The rows in batches: as read when they were read in batches, else one row per batch. */
export async function* rowBatches(rows: AsyncIterable<ReportRow>): AsyncIterable<readonly ReportRow[]> {
  if (isBatched(rows)) {
    yield* rows.batches();
    return;
  }
  for await (const row of rows) yield [row];
}

/** Maps each batch of `source` with `fn`, row by row, without an await per row. */
export async function* mapBatches<T>(
  source: AsyncIterable<readonly T[]>,
  fn: (row: T) => ReportRow,
): AsyncIterable<readonly ReportRow[]> {
  for await (const batch of source) yield batch.map(fn);
}
