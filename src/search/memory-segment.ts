import { analyse } from './analyse.js';
import type { DocRecord, Posting, Segment } from './segment.js';
import type { Field, SearchDoc } from './search-doc.js';

/**
 * The segment recent writes go to, in memory until it is flushed to a file.
 * Ordinals follow arrival; a replaced or deleted document stays here,
 * tombstoned by the index, and is dropped when the segment is written.
 */
export class MemorySegment implements Segment {
  readonly #docs: DocRecord[] = [];
  readonly #texts: Partial<Record<Field, string>>[] = [];
  readonly #postings = new Map<string, Posting[]>();
  readonly #byKey = new Map<string, number>();
  #sortedTerms: string[] | undefined;
  readonly #stem: boolean;

  constructor(stem: boolean) {
    this.#stem = stem;
  }

  get docCount(): number {
    return this.#docs.length;
  }

  /** Adds a document and returns its record; the index tombstones any earlier one with the same key. */
  add(doc: SearchDoc): DocRecord {
    const ordinal = this.#docs.length;
    const { lengths, terms } = analyse(doc, this.#stem);
    const record: DocRecord = { key: doc.key, kind: doc.kind, userId: doc.userId, sessionId: doc.sessionId, itemId: doc.itemId, role: doc.role, timestamp: doc.timestamp, lengths };
    this.#docs.push(record);
    this.#texts.push({ ...doc.fields });
    this.#byKey.set(doc.key, ordinal);
    for (const [term, occurrences] of terms) {
      let list = this.#postings.get(term);
      if (!list) {
        this.#postings.set(term, (list = []));
        this.#sortedTerms = undefined;
      }
      for (const o of occurrences) list.push({ doc: ordinal, field: o.field, tf: o.positions.length, positions: o.positions });
    }
    return record;
  }

  doc(ordinal: number): DocRecord {
    return this.#docs[ordinal]!;
  }

  userOf(ordinal: number): string {
    return this.#docs[ordinal]!.userId;
  }

  postings(term: string): Posting[] {
    return this.#postings.get(term) ?? [];
  }

  postingsSize(term: string): number {
    return this.#postings.get(term)?.length ?? 0;
  }

  terms(prefix: string): string[] {
    this.#sortedTerms ??= [...this.#postings.keys()].sort();
    return prefixRange(this.#sortedTerms, prefix);
  }

  text(ordinal: number): Partial<Record<Field, string>> {
    return this.#texts[ordinal]!;
  }

  find(key: string): number | undefined {
    return this.#byKey.get(key);
  }

  withPrefix(prefix: string): number[] {
    const out: number[] = [];
    this.#docs.forEach((d, i) => d.key.startsWith(prefix) && out.push(i));
    return out;
  }
}

/** The entries of a sorted array that start with `prefix`. */
export function prefixRange(sorted: readonly string[], prefix: string): string[] {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (sorted[mid]! < prefix) lo = mid + 1;
    else hi = mid;
  }
  const out: string[] = [];
  for (let i = lo; i < sorted.length && sorted[i]!.startsWith(prefix); i++) out.push(sorted[i]!);
  return out;
}
