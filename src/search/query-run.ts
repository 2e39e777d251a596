import type { SearchRegistry } from '../projections/search/projection.js';
import type { IndexStats } from './manifest.js';
import type { Clause } from './query-parser.js';
import { type DocRecord, type PostingList, type Segment, type SegmentSource, emptyPostings, sortKey } from './segment.js';
import { fieldWeight, sessionKeyPrefix } from '../projections/search/search-doc.js';
import { Cursor, type Scored, best, stemmed } from './scored-lists.js';

/** What a query reads: the index's segments, statistics and session registry. */
export interface IndexView {
  readonly stem: boolean;
  readonly stats: Readonly<IndexStats>;
  readonly registry: SearchRegistry;
  sources(): SegmentSource[];
}

const K1 = 1.2;
const B = 0.75;
const MAX_EXPANSIONS = 1_000;
/** FTS5's floor for the idf of a word in over half of the documents. */
const MIN_IDF = 1e-6;

/** One term's live postings of the user's documents across segments, documents numbered globally; and its live document frequency over every user. */
interface Live extends PostingList {
  df: number;
  /** Whether word positions were decoded. */
  withPositions: boolean;
}

/**
 * One query's reads: postings are read once per term, and documents are
 * numbered across segments (a segment's ordinals after the previous
 * segments'). Tombstoned documents are left out of every count, so the
 * statistics, and so the scores, are those of the live documents alone: the
 * same whether the index was built incrementally or rebuilt.
 */
export class QueryRun {
  readonly matched = new Set<string>();
  readonly #sources: SegmentSource[];
  readonly #base: number[] = [];
  readonly #postings = new Map<string, Live>();
  readonly #userId: string;
  readonly #records = new Map<number, DocRecord>();
  /** Per document, whether the filters keep it (only when there are filters). */
  readonly #kept = new Map<number, boolean>();
  readonly #keep: ((record: DocRecord) => boolean) | undefined;
  readonly #n: number;
  readonly #avg: number[];

  /** `keep`: the filters; documents it refuses still count in the statistics, but are never scored. */
  constructor(index: IndexView, userId: string, keep: ((record: DocRecord) => boolean) | undefined) {
    this.#sources = index.sources();
    this.#userId = userId;
    this.#keep = keep;
    let base = 0;
    for (const s of this.#sources) {
      this.#base.push(base);
      base += s.segment.docCount;
    }
    this.#n = index.stats.docs;
    this.#avg = index.stats.lengths.map((l, i) => (index.stats.fieldDocs[i]! > 0 ? l / index.stats.fieldDocs[i]! : 0));
  }

  /** The documents a clause matches among those the filters keep (and within `within`, ascending, if given), with its score in each. */
  clause(c: Clause, within?: readonly number[]): Scored {
    switch (c.kind) {
      case 'term': {
        if (!c.exclude) for (const t of c.alternatives) this.matched.add(t);
        // The word and, with stemming, its stem (see wordClause).
        const [word, stem] = c.alternatives.map((t) => this.#termScores(t, within));
        return stem ? stemmed(word!, stem) : word!;
      }
      case 'prefix': {
        const expansions = this.#expansions(c.prefix);
        if (!c.exclude) for (const t of expansions) this.matched.add(t);
        return best(expansions.map((t) => this.#termScores(t, within)));
      }
      case 'phrase':
        if (!c.exclude) for (const t of c.slots.flat()) this.matched.add(t);
        return this.#phraseScores(c.slots, c.offsets, within);
    }
  }

  /** Every live document of the user (of one session, when given) that the filters keep, ascending: what a query without words lists. */
  all(sessionId: string | undefined): number[] {
    const prefix = sortKey(this.#userId, sessionId === undefined ? '' : sessionKeyPrefix(sessionId));
    const out: number[] = [];
    this.#sources.forEach(({ segment, dead }, s) => {
      for (const ordinal of segment.withPrefix(prefix)) if (!dead.has(ordinal) && this.#admits(this.#base[s]! + ordinal)) out.push(this.#base[s]! + ordinal);
    });
    return out;
  }

  /** How many documents a clause may match, from the dictionaries alone, to order an AND's clauses. */
  size(c: Clause): number {
    const total = (term: string) => this.#sources.reduce((sum, s) => sum + s.segment.df(term), 0);
    switch (c.kind) {
      case 'term':
        return c.alternatives.reduce((sum, t) => sum + total(t), 0);
      case 'prefix':
        return this.#expansions(c.prefix).reduce((sum, t) => sum + total(t), 0);
      case 'phrase':
        return Math.min(...c.slots.map((slot) => slot.reduce((sum, t) => sum + total(t), 0)));
    }
  }

  record(doc: number): DocRecord {
    let r = this.#records.get(doc);
    if (r === undefined) {
      const [segment, ordinal] = this.#locate(doc);
      r = segment.doc(ordinal);
      this.#records.set(doc, r);
    }
    return r;
  }

  text(doc: number): ReturnType<Segment['text']> {
    const [segment, ordinal] = this.#locate(doc);
    return segment.text(ordinal);
  }

  #expansions(prefix: string): string[] {
    return [...new Set(this.#sources.flatMap((s) => s.segment.terms(prefix)))].sort().slice(0, MAX_EXPANSIONS);
  }

  /** Whether the filters keep a document (looked up once per query). */
  #admits(doc: number): boolean {
    if (!this.#keep) return true;
    let kept = this.#kept.get(doc);
    if (kept === undefined) {
      kept = this.#keep(this.record(doc));
      this.#kept.set(doc, kept);
    }
    return kept;
  }

  #locate(doc: number): [Segment, number] {
    let i = this.#base.length - 1;
    while (this.#base[i]! > doc) i--;
    return [this.#sources[i]!.segment, doc - this.#base[i]!];
  }

  #live(term: string, positions: boolean): Live {
    const cached = this.#postings.get(term);
    if (cached && (cached.withPositions || !positions)) return cached;
    const live: Live = { ...emptyPostings(), df: 0, withPositions: positions };
    this.#sources.forEach(({ segment, dead, deadDf }, s) => {
      live.df += segment.df(term) - (deadDf.get(term) ?? 0);
      segment.userPostings(term, this.#userId, positions, { out: live, base: this.#base[s]!, dead });
    });
    this.#postings.set(term, live);
    return live;
  }

  /** FTS5's bm25 idf: a word in over half of the documents weighs almost nothing (not less than nothing), as there. */
  #idf(df: number): number {
    const idf = Math.log((this.#n - df + 0.5) / (df + 0.5));
    return idf > 0 ? idf : MIN_IDF;
  }

  /** BM25 of one field occurrence count, weighted by the field. */
  #fieldScore(idf: number, tf: number, field: number, length: number): number {
    const avg = this.#avg[field]! || 1;
    return fieldWeight(field) * idf * ((tf * (K1 + 1)) / (tf + K1 * (1 - B + (B * length) / avg)));
  }

  /** A term's score in each of the user's live documents it is in (within `within`, kept by the filters), documents ascending. */
  #termScores(term: string, within: readonly number[] | undefined): Scored {
    const live = this.#live(term, false);
    const idf = this.#idf(live.df);
    const out: Scored = { docs: [], scores: [] };
    const { docs, fields, lengths, tfs } = live;
    const inside = new Cursor(within);
    for (let i = 0; i < docs.length; ) {
      const doc = docs[i]!;
      // A document's postings are adjacent, one per field.
      let score = 0;
      for (; i < docs.length && docs[i] === doc; i++) score += this.#fieldScore(idf, tfs[i]!, fields[i]!, lengths[i]!);
      if (!inside.has(doc) || !this.#admits(doc)) continue;
      out.docs.push(doc);
      out.scores.push(score);
    }
    return out;
  }

  /** A phrase slot's postings: its one term's, or its alternatives' (a word and its stem) merged, with the commoner one's df. */
  #slot(alternatives: readonly string[]): Live {
    const lives = alternatives.map((t) => this.#live(t, true));
    return lives.length === 1 ? lives[0]! : { ...mergePostings(lives), df: Math.max(...lives.map((l) => l.df)), withPositions: true };
  }

  /**
   * Documents where a word of each slot stands at its offset in one field;
   * scored as a term whose idf is the slots' summed idf. Every list is in
   * (document, field) order, so the slots' postings are joined by walking
   * them together.
   */
  #phraseScores(slots: readonly (readonly string[])[], offsets: readonly number[], within: readonly number[] | undefined): Scored {
    const lives = slots.map((slot) => this.#slot(slot));
    const idf = lives.reduce((sum, l) => sum + this.#idf(l.df), 0);
    const [first, ...rest] = lives;
    const at = rest.map(() => 0);
    const out: Scored = { docs: [], scores: [] };
    const inside = new Cursor(within);
    postings: for (let i = 0; i < first!.docs.length; i++) {
      const doc = first!.docs[i]!;
      const field = first!.fields[i]!;
      const matches: number[] = [];
      for (let k = 0; k < rest.length; k++) {
        const l = rest[k]!;
        let j = at[k]!;
        while (j < l.docs.length && (l.docs[j]! < doc || (l.docs[j] === doc && l.fields[j]! < field))) j++;
        at[k] = j;
        if (j === l.docs.length || l.docs[j] !== doc || l.fields[j] !== field) continue postings;
        matches.push(j);
      }
      if (!inside.has(doc) || !this.#admits(doc)) continue;
      let tf = 0;
      for (let p = first!.posStart[i]!, end = p + first!.tfs[i]!; p < end; p++) {
        const start = first!.positions[p]!;
        if (matches.every((j, k) => hasPosition(rest[k]!, j, start + offsets[k + 1]!))) tf++;
      }
      if (tf === 0) continue;
      const score = this.#fieldScore(idf, tf, field, first!.lengths[i]!);
      // Another field of the same document adds to its score.
      if (out.docs[out.docs.length - 1] === doc) out.scores[out.scores.length - 1]! += score;
      else {
        out.docs.push(doc);
        out.scores.push(score);
      }
    }
    return out;
  }
}

/** Several terms' postings as one list: in (document, field) order, a posting per document and field with the positions of any of them. */
function mergePostings(lists: readonly PostingList[]): PostingList {
  let out = lists[0]!;
  for (let k = 1; k < lists.length; k++) out = mergeTwo(out, lists[k]!);
  return out;
}

function mergeTwo(a: PostingList, b: PostingList): PostingList {
  const out = emptyPostings();
  const copy = (l: PostingList, i: number, positions: readonly number[]) => {
    out.docs.push(l.docs[i]!);
    out.fields.push(l.fields[i]!);
    out.lengths.push(l.lengths[i]!);
    out.tfs.push(positions.length);
    out.posStart.push(out.positions.length);
    for (const p of positions) out.positions.push(p);
  };
  const positionsOf = (l: PostingList, i: number) => l.positions.slice(l.posStart[i]!, l.posStart[i]! + l.tfs[i]!);
  let i = 0;
  let j = 0;
  while (i < a.docs.length || j < b.docs.length) {
    const order = i === a.docs.length ? 1 : j === b.docs.length ? -1 : a.docs[i]! - b.docs[j]! || a.fields[i]! - b.fields[j]!;
    if (order < 0) copy(a, i, positionsOf(a, i++));
    else if (order > 0) copy(b, j, positionsOf(b, j++));
    else copy(a, i, [...new Set([...positionsOf(a, i++), ...positionsOf(b, j++)])].sort((x, y) => x - y));
  }
  return out;
}

function hasPosition(list: PostingList, i: number, position: number): boolean {
  for (let p = list.posStart[i]!, end = p + list.tfs[i]!; p < end; p++) if (list.positions[p] === position) return true;
  return false;
}
