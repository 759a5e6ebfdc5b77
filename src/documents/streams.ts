/** @module Back-pressure helpers for the document writers, which produce faster than most readers read. */
import { once } from "node:events";
import type { Writable } from "node:stream";

/** Resolves when the stream can take more, or has closed (its reader went away). */
export async function drained(stream: Writable): Promise<void> {
  if (!stream.writableNeedDrain || stream.destroyed) return;
  const ac = new AbortController();
  try {
    await Promise.race([
      once(stream, "drain", { signal: ac.signal }),
      once(stream, "close", { signal: ac.signal }),
    ]);
  } catch {
    // The stream errored: whoever reads it reports that; the writer sees it destroyed and stops.
  } finally {
    ac.abort();
  }
}

/** Lets pending I/O callbacks (a compressor, the reader) run before the next batch of rows. */
export function yieldToIo(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
