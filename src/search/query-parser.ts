import { invalid } from '../kernel/validation.js';
import { fold } from '../projections/search/fold.js';
import { tokenize } from './tokenizer.js';

/**
 * A parsed query. Syntax: words (all required by default, any with
 * `operator: 'or'`), "quoted phrases" (the words in order, adjacent), prefixes
 * (`embed*`), and exclusions (a leading `-` on any of them). A word the
 * tokenizer splits into several (`e-mail,` `foo/bar baz`) is a phrase.
 */
export interface ParsedQuery {
  clauses: Clause[];
}

export type Clause =
  /** `alternatives`: the word and, with stemming, its stem; a document with either matches. */
  | { kind: 'term'; exclude: boolean; alternatives: string[] }
  /** `terms[i]` stands `offsets[i]` words after the first. */
  | { kind: 'phrase'; exclude: boolean; terms: string[]; offsets: number[] }
  | { kind: 'prefix'; exclude: boolean; prefix: string };

const MAX_QUERY_CHARS = 1_000;
const MAX_CLAUSES = 32;

const PIECE = /(-?)(?:"([^"]*)"?|(\S+))/g;

/** `filtered`: another option (an entity) says what to look for, so the query may hold no words. */
export function parseQuery(query: unknown, stem: boolean, filtered = false): ParsedQuery {
  if (typeof query !== 'string') throw invalid('query', 'must be a string');
  if (query.length > MAX_QUERY_CHARS) throw invalid('query', `must be at most ${MAX_QUERY_CHARS} characters`);
  const clauses: Clause[] = [];
  for (const m of query.matchAll(PIECE)) {
    const exclude = m[1] === '-';
    const phrase = m[2];
    const word = m[3];
    const clause = phrase !== undefined ? phraseClause(phrase, exclude) : word!.endsWith('*') ? prefixClause(word!.slice(0, -1), exclude) : wordClause(word!, exclude, stem);
    if (clause) clauses.push(clause);
  }
  if (clauses.length > MAX_CLAUSES) throw invalid('query', `has more than ${MAX_CLAUSES} words, phrases and prefixes`);
  if (!filtered && !clauses.some((c) => !c.exclude)) throw invalid('query', 'has no word, phrase or prefix to look for (only exclusions, or nothing searchable)');
  return { clauses };
}

/** The first term at each word position: the whole word, not the parts and stem the tokenizer adds beside it. */
function words(text: string): { term: string; position: number }[] {
  const out: { term: string; position: number }[] = [];
  for (const t of tokenize(text)) if (out[out.length - 1]?.position !== t.position) out.push(t);
  return out;
}

function phraseClause(text: string, exclude: boolean): Clause | undefined {
  const ws = words(text);
  if (ws.length === 0) return undefined;
  return { kind: 'phrase', exclude, terms: ws.map((w) => w.term), offsets: ws.map((w) => w.position - ws[0]!.position) };
}

function wordClause(text: string, exclude: boolean, stem: boolean): Clause | undefined {
  const ws = words(text);
  if (ws.length === 0) return undefined;
  if (ws.length > 1) return phraseClause(text, exclude);
  const term = ws[0]!.term;
  if (!stem) return { kind: 'term', exclude, alternatives: [term] };
  // A compound's parts may have stems of their own: only a plain word's stem stands for the word.
  const plain = new Set(tokenize(text).map((t) => t.term));
  const stems = plain.size === 1 ? tokenize(text, { stem: true }).filter((t) => !plain.has(t.term)) : [];
  return { kind: 'term', exclude, alternatives: [term, ...stems.map((t) => t.term)] };
}

/** A prefix is matched against folded terms; it must keep at least two characters to bound its expansion. */
function prefixClause(text: string, exclude: boolean): Clause | undefined {
  const prefix = fold(text.replace(/\*+$/, ''));
  if (prefix.length === 0) return undefined;
  if (prefix.length < 2) throw invalid('query', `prefix ${JSON.stringify(`${text}*`)} needs at least two characters`);
  return { kind: 'prefix', exclude, prefix };
}
