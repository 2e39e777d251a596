import { assertId } from '../kernel/validation.js';
import { parseQuery } from './query-parser.js';
import { type DocKind, compareKeys } from '../projections/search/search-doc.js';
import { tokenize } from './tokenizer.js';
import { type Snippet, makeSnippet } from './snippet.js';
import { type IndexView, QueryRun } from './query-run.js';
import { Cursor, EMPTY, type Scored, sumInOrder, union } from './scored-lists.js';
import { type SearchOptions, checkOptions, passes } from './query-options.js';

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

/**
 * Runs `query` for `userId` (results are always of that user only), ranked by
 * BM25 with field weights. A query without words (only exclusions, or empty)
 * needs an entity or a filter, and lists what they match newest first.
 */
export function runQuery(index: IndexView, userId: string, query: string, options: SearchOptions = {}): SearchPage {
  assertId(userId, 'userId');
  const opts = checkOptions(options);
  const filtered = opts.sessionId !== undefined || opts.roles !== undefined || opts.from !== undefined || opts.to !== undefined || opts.kinds !== undefined || opts.tag !== undefined;
  const parsed = parseQuery(query, index.stem, opts.entity !== undefined || filtered);
  const listing = !parsed.clauses.some((c) => !c.exclude);
  if (opts.entity) parsed.clauses.push({ kind: 'term', exclude: false, alternatives: [opts.entity.term] });
  const run = new QueryRun(index, userId, filtered ? (r) => passes(r, opts, index.registry) : undefined);
  // The mention's own words are highlighted.
  if (opts.entity) for (const t of tokenize(opts.entity.text, { stem: index.stem })) run.matched.add(t.term);
  const positive = parsed.clauses.filter((c) => !c.exclude);
  const scored: Scored[] = positive.map(() => EMPTY);
  let candidates: number[];
  if (positive.length === 0) candidates = run.all(opts.sessionId);
  else if (opts.operator === 'or') {
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

  // Ties break oldest first, then by key (FTS5's bm25 ranking orders ties by rowid, so first written first); records are read for tied scores and the page alone.
  const tie = (doc: number): Tie => {
    const r = run.record(doc);
    return [r.timestamp, r.key];
  };
  const after = opts.after;
  // A listing ranks by time (newest first) where a search ranks by score: pages and cursors work alike.
  const rank = listing ? (doc: number) => run.record(doc).timestamp : (_: number, k: number) => scores[k]!;
  const pool: { doc: number; score: number }[] = [];
  candidates.forEach((doc, k) => {
    const score = rank(doc, k);
    if (!after || score < after[0] || (score === after[0] && compareTies(tie(doc), [after[1], after[2]]) > 0)) pool.push({ doc, score });
  });
  const page = topHits(pool, opts.limit, tie);
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
        score: listing ? 0 : h.score,
        snippet: makeSnippet(run.text(h.doc), run.matched, index.stem),
      };
    }),
    total: candidates.length,
    hasMore,
    nextCursor: hasMore && last ? Buffer.from(JSON.stringify([last.score, ...tie(last.doc)])).toString('base64url') : undefined,
  };
}

/** What orders equal scores: the item's time, then its key. */
type Tie = [timestamp: number, key: string];

function compareTies(a: Tie, b: Tie): number {
  return a[0] - b[0] || compareKeys(a[1], b[1]);
}

/**
 * The best `limit` hits, by score and then tie (see Tie): only those scoring
 * at least the (limit+1)-th best score are sorted, so records are read for
 * them alone.
 */
function topHits(pool: readonly { doc: number; score: number }[], limit: number, tie: (doc: number) => Tie): { doc: number; score: number }[] {
  let chosen = pool;
  if (pool.length > limit) {
    const scores = Float64Array.from(pool, (h) => h.score).sort();
    const threshold = scores[scores.length - 1 - limit]!;
    chosen = pool.filter((h) => h.score >= threshold);
  }
  return [...chosen].sort((a, b) => b.score - a.score || compareTies(tie(a.doc), tie(b.doc))).slice(0, limit);
}
