import { pack } from 'msgpackr';
import { scan } from './tokenizer.js';
import { type DocRecord, NO_DEAD, type PostingList, type PostingsSink, type Segment, emptyPostings, sortKey } from './segment.js';
import { indexedEntityTerms } from '../projections/search/projection.js';
import { ENTITY_FIELD, FIELDS, type Field, type SearchDoc } from '../projections/search/search-doc.js';

/** A term's postings in the memory segment: flat `doc, field, length, tf, positions…` entries, and how many documents hold it. */
interface TermEntries {
  data: number[];
  df: number;
  /** The posting being filled: its document and field, and where its tf is. */
  lastDoc: number;
  lastField: number;
  tfAt: number;
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

  /**
   * Adds a document and returns its record; the index tombstones any earlier
   * one with the same key. Terms go straight into their postings as the
   * tokenizer finds them: a posting is opened at a term's first occurrence in
   * a field, and its field length filled in when the field ends.
   */
  add(doc: SearchDoc): DocRecord {
    const ordinal = this.#docs.length;
    const lengths: number[] = [];
    const opened: { data: number[]; at: number }[] = [];
    for (let field = 0; field < FIELDS.length; field++) {
      const text = doc.fields[FIELDS[field]!];
      let words = 0;
      const from = opened.length;
      if (text) {
        scan(text, this.#stem, (term, position) => {
          words = position + 1;
          let entries = this.#postings.get(term);
          if (entries === undefined) {
            entries = { data: [], df: 0, lastDoc: -1, lastField: -1, tfAt: 0 };
            this.#postings.set(term, entries);
            this.#sortedTerms = undefined;
          }
          const data = entries.data;
          if (entries.lastDoc !== ordinal || entries.lastField !== field) {
            if (entries.lastDoc !== ordinal) entries.df++;
            entries.lastDoc = ordinal;
            entries.lastField = field;
            data.push(ordinal, field, 0, 0);
            entries.tfAt = data.length - 1;
            opened.push({ data, at: data.length - 2 });
          }
          data.push(position);
          data[entries.tfAt]!++;
        });
      }
      lengths.push(words);
      for (let i = from; i < opened.length; i++) opened[i]!.data[opened[i]!.at] = words;
    }
    for (const term of indexedEntityTerms(doc)) {
      let entries = this.#postings.get(term);
      if (entries === undefined) {
        entries = { data: [], df: 0, lastDoc: -1, lastField: -1, tfAt: 0 };
        this.#postings.set(term, entries);
        this.#sortedTerms = undefined;
      }
      entries.df++;
      entries.lastDoc = ordinal;
      entries.data.push(ordinal, ENTITY_FIELD, 0, 1, 0);
    }
    const { fields: _, entities, ...described } = doc;
    const record: DocRecord = entities?.length ? { ...described, entities, lengths } : { ...described, lengths };
    this.#docs.push(record);
    // The fields are kept as given: documents are never changed, only replaced.
    this.#texts.push(doc.fields);
    this.#bySortKey.set(sortKey(doc.userId, doc.key), ordinal);
    return record;
  }

  doc(ordinal: number): DocRecord {
    return this.#docs[ordinal]!;
  }

  df(term: string): number {
    return this.#postings.get(term)?.df ?? 0;
  }

  userPostings(term: string, userId: string, positions: boolean, into: PostingsSink): void {
    this.#read(term, userId, positions, into);
  }

  allPostings(term: string): PostingList {
    const out = emptyPostings();
    this.#read(term, undefined, true, { out, base: 0, dead: NO_DEAD });
    return out;
  }

  #read(term: string, userId: string | undefined, positions: boolean, { out, base, dead }: PostingsSink): void {
    const data = this.#postings.get(term)?.data;
    if (!data) return;
    for (let i = 0; i < data.length; ) {
      const doc = data[i]!;
      const tf = data[i + 3]!;
      if ((userId === undefined || this.#docs[doc]!.userId === userId) && !dead.has(doc)) {
        out.docs.push(base + doc);
        out.fields.push(data[i + 1]!);
        out.lengths.push(data[i + 2]!);
        out.tfs.push(tf);
        out.posStart.push(out.positions.length);
        if (positions) for (let j = 0; j < tf; j++) out.positions.push(data[i + 4 + j]!);
      }
      i += 4 + tf;
    }
  }

  terms(prefix: string): string[] {
    this.#sortedTerms ??= [...this.#postings.keys()].sort();
    return prefixRange(this.#sortedTerms, prefix);
  }

  text(ordinal: number): Partial<Record<Field, string>> {
    return this.#texts[ordinal]!;
  }

  rawText(ordinal: number): Buffer {
    return pack(this.#texts[ordinal]!);
  }

  find(key: string): number | undefined {
    return this.#bySortKey.get(key);
  }

  withPrefix(prefix: string): number[] {
    const out: number[] = [];
    for (let i = 0; i < this.#docs.length; i++) {
      const d = this.#docs[i]!;
      if (sortKey(d.userId, d.key).startsWith(prefix)) out.push(i);
    }
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
