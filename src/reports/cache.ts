/**
 * @module An in-process cache of rendered report documents, keyed by the company's revision
 * (src/services/revision.ts): every write that can change a report bumps the revision in its own
 * transaction, so an entry cached under an older revision is simply never asked for again and ages out.
 * Bounded in entries and bytes; documents larger than one entry's limit are not kept.
 */

/** Report documents kept at most, across all companies (least recently used go first). */
export const REPORT_CACHE_ENTRIES_MAX = 2_000;
/** Bytes of report documents kept at most. */
export const REPORT_CACHE_BYTES_MAX = 64 * 1024 * 1024;
/** A document larger than this is served but not kept (a month of one busy SIP profile's usage, say). */
export const REPORT_CACHE_ENTRY_BYTES_MAX = 4 * 1024 * 1024;

export interface ReportCacheLimits {
  entriesMax: number;
  bytesMax: number;
  entryBytesMax: number;
}

/** What identifies one rendered document: everything the document depends on. */
export interface ReportCacheKey {
  companyId: number;
  revision: number;
  report: string;
  month: string;
  format: string;
  feature?: string | undefined;
  subject?: string | undefined;
  filter: Readonly<Record<string, string>>;
}

/** The key as one string; filter keys are sorted so that the order of query parameters does not matter. */
export function reportCacheKey(k: ReportCacheKey): string {
  const filter = Object.keys(k.filter)
    .sort()
    .map((name) => [name, k.filter[name] ?? ""]);
  return JSON.stringify([
    k.companyId,
    k.revision,
    k.report,
    k.month,
    k.format,
    k.feature ?? null,
    k.subject ?? null,
    filter,
  ]);
}

/** A rendered document's bytes. */
export type Document = Uint8Array<ArrayBuffer>;

export interface CacheStats {
  entries: number;
  bytes: number;
  hits: number;
  misses: number;
}

export class ReportCache {
  readonly #limits: ReportCacheLimits;
  // A Map iterates in insertion order: re-inserting on every hit makes its first key the least recently used.
  readonly #entries = new Map<string, Document>();
  #bytes = 0;
  #hits = 0;
  #misses = 0;

  constructor(limits: Partial<ReportCacheLimits> = {}) {
    this.#limits = {
      entriesMax: limits.entriesMax ?? REPORT_CACHE_ENTRIES_MAX,
      bytesMax: limits.bytesMax ?? REPORT_CACHE_BYTES_MAX,
      entryBytesMax: limits.entryBytesMax ?? REPORT_CACHE_ENTRY_BYTES_MAX,
    };
  }

  get entryBytesMax(): number {
    return this.#limits.entryBytesMax;
  }

  get(key: string): Document | undefined {
    const body = this.#entries.get(key);
    if (body === undefined) {
      this.#misses++;
      return undefined;
    }
    this.#hits++;
    this.#entries.delete(key);
    this.#entries.set(key, body);
    return body;
  }

  set(key: string, body: Document): void {
    if (body.byteLength > this.#limits.entryBytesMax || this.#limits.entriesMax <= 0) return;
    const old = this.#entries.get(key);
    if (old !== undefined) {
      this.#entries.delete(key);
      this.#bytes -= old.byteLength;
    }
    this.#entries.set(key, body);
    this.#bytes += body.byteLength;
    while (this.#entries.size > this.#limits.entriesMax || this.#bytes > this.#limits.bytesMax) {
      const oldest = this.#entries.keys().next();
      if (oldest.done === true) break;
      const evicted = this.#entries.get(oldest.value);
      this.#entries.delete(oldest.value);
      this.#bytes -= evicted?.byteLength ?? 0;
    }
  }

  clear(): void {
    this.#entries.clear();
    this.#bytes = 0;
  }

  stats(): CacheStats {
    return { entries: this.#entries.size, bytes: this.#bytes, hits: this.#hits, misses: this.#misses };
  }
}
