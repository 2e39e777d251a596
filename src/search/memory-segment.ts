import { analyse } from './analyse.js';
import { type DocRecord, type PostingList, type Segment, emptyPostings, sortKey } from './segment.js';
import type { Field, SearchDoc } from './search-doc.js';

/** A term's postings in the memory segment: flat `doc, field, length, tf, positions…` entries, and how many documents hold it. */
interface TermEntries {
  data: number[];
  df: number;
  lastDoc: number;
}

/**
 * The segment recent writes go to, in memory until it is flushed to a file.
 * Ordinals follow arrival; a replaced or deleted document stays here,
 * tombstoned by the index, and is dropped when the segment is written.
 */
export class MemorySegment implements Segment {
  readonly #docs: DocRecord[] = [];
  readonly #texts: Partial<Record<Field, string>>[] = [];
  readonly #postings = new Map<string, TermEntries>();
  readonly #bySortKey = new Map<string, number>();
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
    const { lengths, terms } = analyse(doc.fields, this.#stem);
    const record: DocRecord = { key: doc.key, kind: doc.kind, userId: doc.userId, sessionId: doc.sessionId, itemId: doc.itemId, role: doc.role, timestamp: doc.timestamp, lengths };
    this.#docs.push(record);
    this.#texts.push({ ...doc.fields });
    this.#bySortKey.set(sortKey(doc.userId, doc.key), ordinal);
    for (const [term, pairs] of terms) {
      let entries = this.#postings.get(term);
      if (!entries) {
        this.#postings.set(term, (entries = { data: [], df: 0, lastDoc: -1 }));
        this.#sortedTerms = undefined;
      }
      if (entries.lastDoc !== ordinal) {
        entries.df++;
        entries.lastDoc = ordinal;
      }
      const data = entries.data;
      // Pairs come field by field: one posting per field, its tf filled in when the field's run ends.
      for (let i = 0; i < pairs.length; ) {
        const field = pairs[i]!;
        data.push(ordinal, field, lengths[field]!, 0);
        const tfAt = data.length - 1;
        let tf = 0;
        for (; i < pairs.length && pairs[i] === field; i += 2, tf++) data.push(pairs[i + 1]!);
        data[tfAt] = tf;
      }
    }
    return record;
  }

  doc(ordinal: number): DocRecord {
    return this.#docs[ordinal]!;
  }

  df(term: string): number {
    return this.#postings.get(term)?.df ?? 0;
  }

  userPostings(term: string, userId: string, positions: boolean): PostingList {
    return this.#read(term, userId, positions);
  }

  allPostings(term: string): PostingList {
    return this.#read(term, undefined, true);
  }

  #read(term: string, userId: string | undefined, positions: boolean): PostingList {
    const out = emptyPostings();
    const data = this.#postings.get(term)?.data;
    if (!data) return out;
    for (let i = 0; i < data.length; ) {
      const doc = data[i]!;
      const tf = data[i + 3]!;
      if (userId === undefined || this.#docs[doc]!.userId === userId) {
        out.docs.push(doc);
        out.fields.push(data[i + 1]!);
        out.lengths.push(data[i + 2]!);
        out.tfs.push(tf);
        out.posStart.push(out.positions.length);
        if (positions) for (let j = 0; j < tf; j++) out.positions.push(data[i + 4 + j]!);
      }
      i += 4 + tf;
    }
    return out;
  }

  terms(prefix: string): string[] {
    this.#sortedTerms ??= [...this.#postings.keys()].sort();
    return prefixRange(this.#sortedTerms, prefix);
  }

  text(ordinal: number): Partial<Record<Field, string>> {
    return this.#texts[ordinal]!;
  }

  find(key: string): number | undefined {
    return this.#bySortKey.get(key);
  }

  withPrefix(prefix: string): number[] {
    const out: number[] = [];
    this.#docs.forEach((d, i) => sortKey(d.userId, d.key).startsWith(prefix) && out.push(i));
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
