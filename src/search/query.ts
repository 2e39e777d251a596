import { assertEntityId } from '../events/streams.js';
import type { SearchRegistry } from '../projections/search/projection.js';
import { assertPositiveInteger, invalid } from '../kernel/validation.js';
import type { IndexStats } from './manifest.js';
import { type Clause, parseQuery } from './query-parser.js';
import { type DocRecord, type PostingList, type Segment, emptyPostings } from './segment.js';
import type { SegmentSource } from './segment-file.js';
import { type DocKind, compareKeys, fieldWeight } from '../projections/search/search-doc.js';
import { entityQueryTerm } from '../projections/search/entities.js';
import { tokenize } from './tokenizer.js';
import { type Snippet, makeSnippet } from './snippet.js';

/** What a query reads: the index's segments, statistics and session registry. */
export interface IndexView {
  readonly stem: boolean;
  readonly stats: Readonly<IndexStats>;
  readonly registry: SearchRegistry;
  sources(): SegmentSource[];
}

export interface SearchOptions {
  /** 'and' (default): every word, phrase and prefix must match; 'or': any. */
  operator?: 'and' | 'or';
  /** Only items of this session. */
  sessionId?: string;
  /** Only messages of these roles (other kinds of items have none). */
  role?: string | string[];
  /** Only items stamped at or after / before (ms since the epoch). */
  from?: number;
  to?: number;
  /** Only items of sessions that carry this tag now. */
  tag?: string;
  /**
   * Only items that mention this entity: found in their text (an email, URL,
   * @mention, #tag, id or name) or given with them (message metadata, a
   * document's analysis). A string matches any type; `{ type, value }` that
   * type only. With it the query may be empty: every item mentioning it,
   * in key order (session, kind, id).
   */
  entity?: string | { type: string; value: string };
  /** Only these kinds of items (default: all). */
  kinds?: DocKind[];
  /** 1-100, default 20. */
  limit?: number;
  /** `nextCursor` of the previous page. */
  after?: string;
}

export interface SearchHit {
  kind: DocKind;
  /** '' for a document of the user's own library. */
  sessionId: string;
  /** The message id for a message; the document id for a document; the session id for a session or its context. */
  itemId: string;
  role: string;
  timestamp: number;
  score: number;
  snippet: Snippet | undefined;
}

export interface SearchPage {
  items: SearchHit[];
  /** Matches over all pages. */
  total: number;
  hasMore: boolean;
  nextCursor: string | undefined;
}

const K1 = 1.2;
const B = 0.75;
const MAX_EXPANSIONS = 1_000;
const KINDS: readonly DocKind[] = ['message', 'session', 'document', 'context'];

/** Runs `query` for `userId` (results are always of that user only), ranked by BM25 with field weights. */
export function runQuery(index: IndexView, userId: string, query: string, options: SearchOptions = {}): SearchPage {
  assertEntityId(userId, 'userId');
  const opts = checkOptions(options);
  const parsed = parseQuery(query, index.stem, opts.entity !== undefined);
  if (opts.entity) parsed.clauses.push({ kind: 'term', exclude: false, alternatives: [opts.entity.term] });
  const filtered = opts.sessionId !== undefined || opts.roles !== undefined || opts.from !== undefined || opts.to !== undefined || opts.kinds !== undefined || opts.tag !== undefined;
  const run = new QueryRun(index, userId, filtered ? (r) => passes(r, opts, index.registry) : undefined);
  // The mention's own words are highlighted.
  if (opts.entity) for (const t of tokenize(opts.entity.text, { stem: index.stem })) run.matched.add(t.term);
  const positive = parsed.clauses.filter((c) => !c.exclude);
  const scored: Scored[] = positive.map(() => EMPTY);
  let candidates: number[];
  if (opts.operator === 'or') {
    for (let i = 0; i < positive.length; i++) scored[i] = run.clause(positive[i]!);
    candidates = scored.reduce<number[]>((acc, m) => union(acc, m.docs), []);
  } else {
    // The rarest clause first, each scored only on the documents every earlier one matched; an empty one ends the query.
    const order = positive.map((c, i) => ({ i, size: run.size(c) })).sort((a, b) => a.size - b.size);
    let within: readonly number[] | undefined;
    for (const { i, size } of order) {
      if (size === 0) within = [];
      else {
        const s = run.clause(positive[i]!, within);
        scored[i] = s;
        within = s.docs;
      }
      if (within.length === 0) break;
    }
    candidates = [...(within ?? [])];
  }
  // Summed in the query's clause order, the same whichever way the candidates were found.
  let scores = sumInOrder(candidates, scored);
  for (const c of parsed.clauses) {
    if (!c.exclude) continue;
    const out = new Cursor(run.clause(c, candidates).docs);
    const keep = candidates.map((doc) => !out.has(doc));
    candidates = candidates.filter((_, k) => keep[k]);
    scores = scores.filter((_, k) => keep[k]);
  }

  // Keys break ties only, so records are read for tied scores and the page alone.
  const key = (doc: number) => run.record(doc).key;
  const after = opts.after;
  const pool: { doc: number; score: number }[] = [];
  candidates.forEach((doc, k) => {
    const score = scores[k]!;
    if (!after || score < after[0] || (score === after[0] && compareKeys(key(doc), after[1]) > 0)) pool.push({ doc, score });
  });
  const page = topHits(pool, opts.limit, key);
  const hasMore = pool.length > opts.limit;
  const last = page[page.length - 1];
  return {
    items: page.map((h) => {
      const record = run.record(h.doc);
      return {
        kind: record.kind,
        sessionId: record.sessionId,
        itemId: record.itemId,
        role: record.role,
        timestamp: record.timestamp,
        score: h.score,
        snippet: makeSnippet(run.text(h.doc), run.matched, index.stem),
      };
    }),
    total: candidates.length,
    hasMore,
    nextCursor: hasMore && last ? Buffer.from(JSON.stringify([last.score, key(last.doc)])).toString('base64url') : undefined,
  };
}

/**
 * The best `limit` hits, by score and then key: only those scoring at least
 * the (limit+1)-th best score are sorted, so keys are read for them alone.
 */
function topHits(pool: readonly { doc: number; score: number }[], limit: number, key: (doc: number) => string): { doc: number; score: number }[] {
  let chosen = pool;
  if (pool.length > limit) {
    const scores = Float64Array.from(pool, (h) => h.score).sort();
    const threshold = scores[scores.length - 1 - limit]!;
    chosen = pool.filter((h) => h.score >= threshold);
  }
  return [...chosen].sort((a, b) => b.score - a.score || compareKeys(key(a.doc), key(b.doc))).slice(0, limit);
}

/** Whether a document of the user passes every filter. */
function passes(r: DocRecord, o: CheckedOptions, registry: SearchRegistry): boolean {
  if (o.sessionId !== undefined && r.sessionId !== o.sessionId) return false;
  if (o.roles && !o.roles.has(r.role)) return false;
  if (o.from !== undefined && r.timestamp < o.from) return false;
  if (o.to !== undefined && r.timestamp >= o.to) return false;
  if (o.kinds && !o.kinds.has(r.kind)) return false;
  if (o.tag !== undefined && !(registry.sessions.get(r.sessionId)?.tags.includes(o.tag) ?? false)) return false;
  return true;
}

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
class QueryRun {
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
      case 'term':
        if (!c.exclude) for (const t of c.alternatives) this.matched.add(t);
        return best(c.alternatives.map((t) => this.#termScores(t, within)));
      case 'prefix': {
        const expansions = this.#expansions(c.prefix);
        if (!c.exclude) for (const t of expansions) this.matched.add(t);
        return best(expansions.map((t) => this.#termScores(t, within)));
      }
      case 'phrase':
        if (!c.exclude) for (const t of c.terms) this.matched.add(t);
        return this.#phraseScores(c.terms, c.offsets, within);
    }
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
        return Math.min(...c.terms.map(total));
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

  #idf(df: number): number {
    return Math.log(1 + (this.#n - df + 0.5) / (df + 0.5));
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

  /**
   * Documents where the terms stand at their offsets in one field; scored as
   * a term whose idf is the terms' summed idf. Every list is in (document,
   * field) order, so the terms' postings are joined by walking them together.
   */
  #phraseScores(terms: readonly string[], offsets: readonly number[], within: readonly number[] | undefined): Scored {
    const lives = terms.map((t) => this.#live(t, true));
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

/** Documents ascending, each with its score. */
interface Scored {
  docs: number[];
  scores: number[];
}

const EMPTY: Scored = { docs: [], scores: [] };

/** Membership in an ascending list, asked in ascending order (a walk, not a lookup); no list admits everything. */
class Cursor {
  readonly #list: readonly number[] | undefined;
  #at = 0;

  constructor(list: readonly number[] | undefined) {
    this.#list = list;
  }

  has(doc: number): boolean {
    const list = this.#list;
    if (!list) return true;
    while (this.#at < list.length && list[this.#at]! < doc) this.#at++;
    return list[this.#at] === doc;
  }
}

/** The ascending union of two ascending lists. */
function union(a: readonly number[], b: readonly number[]): number[] {
  const out: number[] = [];
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    if (j === b.length || (i < a.length && a[i]! < b[j]!)) out.push(a[i++]!);
    else if (i === a.length || b[j]! < a[i]!) out.push(b[j++]!);
    else {
      out.push(a[i++]!);
      j++;
    }
  }
  return out;
}

/** Per candidate (ascending), its scores in `scored` added in clause order (0 where a clause has none). */
function sumInOrder(candidates: readonly number[], scored: readonly Scored[]): number[] {
  const at = scored.map(() => 0);
  return candidates.map((doc) => {
    let sum = 0;
    scored.forEach((m, c) => {
      let i = at[c]!;
      while (i < m.docs.length && m.docs[i]! < doc) i++;
      at[c] = i;
      sum += m.docs[i] === doc ? m.scores[i]! : 0;
    });
    return sum;
  });
}

function hasPosition(list: PostingList, i: number, position: number): boolean {
  for (let p = list.posStart[i]!, end = p + list.tfs[i]!; p < end; p++) if (list.positions[p] === position) return true;
  return false;
}

/** Per document, the best of several scorings (a word or its stem, a prefix's expansions). */
function best(lists: readonly Scored[]): Scored {
  if (lists.length === 1) return lists[0]!;
  let out: Scored = { docs: [], scores: [] };
  for (const m of lists) {
    const merged: Scored = { docs: [], scores: [] };
    let i = 0;
    let j = 0;
    while (i < out.docs.length || j < m.docs.length) {
      const a = out.docs[i];
      const b = m.docs[j];
      if (b === undefined || (a !== undefined && a < b)) {
        merged.docs.push(a!);
        merged.scores.push(out.scores[i++]!);
      } else if (a === undefined || b < a) {
        merged.docs.push(b);
        merged.scores.push(m.scores[j++]!);
      } else {
        merged.docs.push(a);
        merged.scores.push(Math.max(out.scores[i++]!, m.scores[j++]!));
      }
    }
    out = merged;
  }
  return out;
}

interface CheckedOptions {
  operator: 'and' | 'or';
  sessionId: string | undefined;
  roles: Set<string> | undefined;
  from: number | undefined;
  to: number | undefined;
  tag: string | undefined;
  /** The index term the entity option looks up, and its text as given. */
  entity: { term: string; text: string } | undefined;
  kinds: Set<DocKind> | undefined;
  limit: number;
  after: [number, string] | undefined;
}

const OPTION_KEYS = new Set(['operator', 'sessionId', 'role', 'from', 'to', 'tag', 'entity', 'kinds', 'limit', 'after']);

function checkOptions(o: SearchOptions): CheckedOptions {
  if (o === null || typeof o !== 'object' || Array.isArray(o)) throw invalid('options', 'must be an object');
  for (const key of Object.keys(o)) if (!OPTION_KEYS.has(key)) throw invalid(`options.${key}`, 'is not a search option');
  if (o.operator !== undefined && o.operator !== 'and' && o.operator !== 'or') throw invalid('operator', "must be 'and' or 'or'");
  if (o.sessionId !== undefined) assertEntityId(o.sessionId, 'sessionId');
  const roles = o.role === undefined ? undefined : Array.isArray(o.role) ? o.role : [o.role];
  roles?.forEach((r, i) => {
    if (typeof r !== 'string' || r.length === 0 || r.length > 32) throw invalid(Array.isArray(o.role) ? `role[${i}]` : 'role', 'must be a role name of 1-32 characters');
  });
  for (const key of ['from', 'to'] as const) {
    const v = o[key];
    if (v !== undefined && (typeof v !== 'number' || !Number.isFinite(v))) throw invalid(key, 'must be a time in ms since the epoch');
  }
  if (o.tag !== undefined && (typeof o.tag !== 'string' || o.tag.length === 0 || o.tag.length > 64)) throw invalid('tag', 'must be a tag of 1-64 characters');
  if (o.kinds !== undefined && (!Array.isArray(o.kinds) || o.kinds.length === 0 || !o.kinds.every((k) => KINDS.includes(k)))) throw invalid('kinds', `must be a non-empty list of ${KINDS.join(', ')}`);
  if (o.limit !== undefined) {
    assertPositiveInteger(o.limit, 'limit', 1);
    if (o.limit > 100) throw invalid('limit', 'must be at most 100');
  }
  return {
    operator: o.operator ?? 'and',
    sessionId: o.sessionId,
    roles: roles && new Set(roles),
    from: o.from,
    to: o.to,
    tag: o.tag,
    entity: o.entity === undefined ? undefined : { term: entityQueryTerm(o.entity), text: typeof o.entity === 'string' ? o.entity : o.entity.value },
    kinds: o.kinds && new Set(o.kinds),
    limit: o.limit ?? 20,
    after: o.after === undefined ? undefined : decodeCursor(o.after),
  };
}

function decodeCursor(cursor: unknown): [number, string] {
  if (typeof cursor === 'string' && cursor.length <= 1_000) {
    try {
      const v: unknown = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
      if (Array.isArray(v) && v.length === 2 && typeof v[0] === 'number' && typeof v[1] === 'string') return [v[0], v[1]];
    } catch {
      // Reported below, as any other malformed cursor.
    }
  }
  throw invalid('after', 'must be a nextCursor of a previous search page');
}
