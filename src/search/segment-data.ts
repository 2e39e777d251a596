import type { DocRecord, Posting, Segment } from './segment.js';
import { compareKeys, type Field } from './search-doc.js';

/** A segment's whole content, as a flush or merge builds it before writing the file. */
export interface SegmentData {
  /** Sorted by key. */
  docs: DocRecord[];
  texts: Partial<Record<Field, string>>[];
  /** Sorted. */
  terms: string[];
  /** Per term, in ordinal order. */
  postings: Posting[][];
}

/** A segment and the ordinals tombstoned in it. */
export interface SegmentSource {
  segment: Segment;
  dead: ReadonlySet<number>;
}

/**
 * The live documents of `sources` as one segment, ordered by key: a flush (the
 * memory segment alone) and a merge (several files) are the same operation.
 */
export function collect(sources: readonly SegmentSource[]): SegmentData {
  const live: { source: number; ordinal: number; key: string }[] = [];
  sources.forEach(({ segment, dead }, source) => {
    for (let ordinal = 0; ordinal < segment.docCount; ordinal++) if (!dead.has(ordinal)) live.push({ source, ordinal, key: segment.doc(ordinal).key });
  });
  live.sort((a, b) => compareKeys(a.key, b.key));
  const remap = sources.map(() => new Map<number, number>());
  live.forEach((d, i) => remap[d.source]!.set(d.ordinal, i));
  const docs = live.map((d) => sources[d.source]!.segment.doc(d.ordinal));
  const texts = live.map((d) => sources[d.source]!.segment.text(d.ordinal));
  const terms = [...new Set(sources.flatMap((s) => s.segment.terms('')))].sort();
  const postings: Posting[][] = [];
  const kept: string[] = [];
  for (const term of terms) {
    const list: Posting[] = [];
    sources.forEach(({ segment }, source) => {
      for (const p of segment.postings(term)) {
        const doc = remap[source]!.get(p.doc);
        if (doc !== undefined) list.push({ ...p, doc });
      }
    });
    if (list.length === 0) continue;
    list.sort((a, b) => a.doc - b.doc || a.field - b.field);
    kept.push(term);
    postings.push(list);
  }
  return { docs, texts, terms: kept, postings };
}
