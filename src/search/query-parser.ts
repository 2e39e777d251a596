import { invalid } from '../kernel/validation.js';
import { fold } from '../projections/search/fold.js';
import { tokenize } from './tokenizer.js';

/**
 * A parsed query. Syntax: words (all required by default, any with
 * `operator: 'or'`), "quoted phrases" (the words in order, adjacent), prefixes
 * (`embed*`), and exclusions (a leading `-` on any of them). A word is one
 * token (a compound such as `getUserName` or `example.com` is matched whole);
 * a word the tokenizer reads as several tokens (`foo+bar`) is a phrase. A
 * phrase matches word by word: a compound in it is its parts (`"high-end"` is
 * `"high end"`), and each word its stem too.
 */
export interface ParsedQuery {
  clauses: Clause[];
}

export type Clause =
  /** `alternatives`: the word and, with stemming, its stem; a document with either matches. */
  | { kind: 'term'; exclude: boolean; alternatives: string[] }
  /** `slots[i]` (a word and, with stemming, its stem: either matches) stands `offsets[i]` words after the first. */
  | { kind: 'phrase'; exclude: boolean; slots: string[][]; offsets: number[] }
  | { kind: 'prefix'; exclude: boolean; prefix: string };

const MAX_QUERY_CHARS = 1_000;
const MAX_CLAUSES = 32;

const PIECE = /(-?)(?:"([^"]*)"?|(\S+))/g;

/** `filtered`: another option (an entity, a filter) says what to look for, so the query may hold no words. */
export function parseQuery(query: unknown, stem: boolean, filtered = false): ParsedQuery {
  if (typeof query !== 'string') throw invalid('query', 'must be a string');
  if (query.length > MAX_QUERY_CHARS) throw invalid('query', `must be at most ${MAX_QUERY_CHARS} characters`);
  const clauses: Clause[] = [];
  for (const m of query.matchAll(PIECE)) {
    const exclude = m[1] === '-';
    const phrase = m[2];
    const word = m[3];
    const clause = phrase !== undefined ? phraseClause(phrase, exclude, stem) : word!.endsWith('*') ? prefixClause(word!.slice(0, -1), exclude) : wordClause(word!, exclude, stem);
    if (clause) clauses.push(clause);
  }
  if (clauses.length > MAX_CLAUSES) throw invalid('query', `has more than ${MAX_CLAUSES} words, phrases and prefixes`);
  if (!filtered && !clauses.some((c) => !c.exclude)) throw invalid('query', 'has no word, phrase or prefix to look for (only exclusions, or nothing searchable), and no entity or filter');
  return { clauses };
}

/** Per position, the words a phrase matches there: a plain word or a compound's part, and its stem; not a compound whole. */
function phraseClause(text: string, exclude: boolean, stem: boolean): Clause | undefined {
  const slots: string[][] = [];
  const offsets: number[] = [];
  let first: number | undefined;
  for (const t of tokenize(text, { stem })) {
    if (t.joined) continue;
    first ??= t.position;
    if (offsets[offsets.length - 1] === t.position - first) slots[slots.length - 1]!.push(t.term);
    else {
      slots.push([t.term]);
      offsets.push(t.position - first);
    }
  }
  return slots.length === 0 ? undefined : { kind: 'phrase', exclude, slots, offsets };
}

/** One token: its whole term (and a plain word's stem); several: a phrase. */
function wordClause(text: string, exclude: boolean, stem: boolean): Clause | undefined {
  const tokens = tokenize(text, { stem });
  if (tokens.length === 0) return undefined;
  const whole = tokens[0]!;
  if (tokens.some((t) => t.start !== whole.start)) return phraseClause(text, exclude, stem);
  // A compound's parts may have stems of their own: only a one-part word's stem stands for the word.
  const alternatives = tokens.length <= 2 && tokens.every((t) => t.position === whole.position) ? tokens.map((t) => t.term) : [whole.term];
  return { kind: 'term', exclude, alternatives };
}

/** A prefix is matched against folded terms; it must keep at least two characters to bound its expansion. */
function prefixClause(text: string, exclude: boolean): Clause | undefined {
  const prefix = fold(text.replace(/\*+$/, ''));
  if (prefix.length === 0) return undefined;
  if (prefix.length < 2) throw invalid('query', `prefix ${JSON.stringify(`${text}*`)} needs at least two characters`);
  return { kind: 'prefix', exclude, prefix };
}
