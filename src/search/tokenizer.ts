import { stemmer } from 'stemmer';
import { fold } from '../projections/search/fold.js';

/** One indexed term: its folded text, the word position it stands at (for phrases), and where it came from (for highlights). */
export interface Token {
  term: string;
  position: number;
  /** UTF-16 offsets of the source text the term came from, [start, end). */
  start: number;
  end: number;
  /** The term stands for several words (see TermSink). */
  joined: boolean;
}

export interface TokenizeOptions {
  /** Also index the English stem of each word, at the same position (default false). */
  stem?: boolean;
  /**
   * Stem only words starting with one of these characters: a stem keeps its
   * word's first character, so a caller looking for known terms (snippets)
   * skips the stemmer for every word that cannot stem to one of them.
   */
  stemInitials?: ReadonlySet<string>;
}

/**
 * Receives each term as `scan` finds it. `joined`: the term stands for words
 * at several positions from `position` on (a compound whole, such as
 * `high-end` beside its parts `high` and `end`), so a phrase does not match it
 * as one word.
 */
export type TermSink = (term: string, position: number, start: number, end: number, joined: boolean) => void;

/**
 * URLs, emails, and words with their inner joiners (`don't`, `snake_case`,
 * `v1.2.3`, `kebab-case`, `foo.bar`): each match is one token, split into parts by `compound`.
 */
const TOKEN = /https?:\/\/[^\s<>"'`]+[^\s<>"'`.,;:!?)\]}]|[\p{L}\p{N}._%+-]+@[\p{L}\p{N}-]+(?:\.[\p{L}\p{N}-]+)+|[\p{L}\p{N}]+(?:[_'’.\-/:][\p{L}\p{N}]+)*/gu;
/** Where a segment splits into its parts: camelCase and digit boundaries (an acronym's plural, `PDFs`, stays one part). */
const PARTS = /\p{Lu}{2,}s(?![\p{Ll}\p{M}])|[\p{Lu}]?[\p{Ll}\p{M}]+|[\p{Lu}\p{M}]+(?![\p{Ll}])|[\p{N}]+|[\p{L}\p{M}]+/gu;
const MAX_TERM = 64;
/** A plain word as written: lowercase, or capitalised (not camelCase, not an identifier). */
const PLAIN_WORD = /^\p{Lu}?[\p{Ll}\p{M}]+$/u;

/**
 * Stems of words seen before: chat text repeats a small vocabulary, and the
 * stemmer's dozen regular expressions cost more than the rest of tokenizing.
 */
const stems = new Map<string, string>();
const MAX_CACHED_STEMS = 100_000;

function stemOf(term: string): string {
  let stem = stems.get(term);
  if (stem === undefined) {
    if (stems.size >= MAX_CACHED_STEMS) stems.clear();
    stem = stemmer(term);
    stems.set(term, stem);
  }
  return stem;
}

/**
 * The terms of a text, for the index and for queries alike. A compound (an
 * identifier, a URL, an email, a path, a hyphenated word) is indexed whole
 * and as its parts, one position per part (see `compound`), so
 * `getUserName`, `user_name`, `SpamAssassin-talk`, `example.com` and
 * `https://example.com/docs` are each findable whole, by a segment and by a
 * part, and `"hard drive"` finds `hard-drive`. Terms longer than 64
 * characters are cut to 64.
 */
export function tokenize(text: string, options: TokenizeOptions = {}): Token[] {
  const out: Token[] = [];
  const stem = options.stem ? (options.stemInitials ?? true) : false;
  scan(text, stem, (term, position, start, end, joined) => out.push({ term, position, start, end, joined }));
  return out;
}

/**
 * `tokenize` without a token object per term. Plain ASCII words (nearly all of
 * chat text) are read by a character loop; anything else (a joiner, `@`, a
 * non-ASCII letter next to the word) goes to the regular expression from the
 * word's start, which then finds exactly the match it would have found
 * scanning the whole text, since the characters skipped cannot start one.
 */
export function scan(text: string, stem: boolean | ReadonlySet<string>, sink: TermSink): void {
  let position = 0;
  let i = 0;
  const n = text.length;
  while (i < n) {
    const c = text.charCodeAt(i);
    if (isAsciiWordChar(c)) {
      let j = i + 1;
      let lower = 0;
      let upper = 0;
      let digit = 0;
      for (let k = i; k < n; k++) {
        const d = text.charCodeAt(k);
        if (d >= 97 && d <= 122) lower++;
        else if (d >= 65 && d <= 90) upper++;
        else if (d >= 48 && d <= 57) digit++;
        else break;
        j = k + 1;
      }
      const shape = wordShape(text, i, lower, upper, digit);
      if (shape !== 0 && endsAt(text, j)) {
        const raw = text.slice(i, j);
        const term = (upper > 0 ? raw.toLowerCase() : raw).slice(0, MAX_TERM);
        sink(term, position, i, j, false);
        if (stem && shape === PLAIN && (stem === true || stem.has(term[0]!))) {
          const s = stemOf(term);
          if (s !== term) sink(s, position, i, j, false);
        }
        position++;
        i = j;
        continue;
      }
    } else if (c < 128 && (!EMAIL_START.has(c) || cannotContinue(i + 1 < n ? text.charCodeAt(i + 1) : 32))) {
      i++;
      continue;
    }
    TOKEN.lastIndex = i;
    const m = TOKEN.exec(text);
    if (!m) return;
    position += compound(m[0], m.index, position, stem, sink);
    i = m.index + m[0].length;
  }
}

const PLAIN = 1;
const OTHER_SIMPLE = 2;

/** PLAIN: lowercase or Capitalised letters; OTHER_SIMPLE: all capitals or all digits (their own only part); 0: a compound (camelCase, letters and digits). */
function wordShape(text: string, start: number, lower: number, upper: number, digit: number): number {
  if (digit > 0) return lower + upper === 0 ? OTHER_SIMPLE : 0;
  if (upper === 0) return PLAIN;
  if (lower === 0) return OTHER_SIMPLE;
  if (upper === 1) {
    const c = text.charCodeAt(start);
    return c >= 65 && c <= 90 ? PLAIN : 0;
  }
  return 0;
}

function isAsciiWordChar(c: number): boolean {
  return (c >= 97 && c <= 122) || (c >= 65 && c <= 90) || (c >= 48 && c <= 57);
}

/** Characters that can start an email's local part besides letters and digits: `._%+-`. */
const EMAIL_START = new Set([46, 95, 37, 43, 45]);

/** Whether a word followed by `c` may be longer than its letters and digits: a joiner, `@`, `%`, `+`, or any non-ASCII character. */
function mayContinue(c: number): boolean {
  return c >= 128 || c === 95 || c === 39 || c === 46 || c === 45 || c === 47 || c === 58 || c === 64 || c === 37 || c === 43;
}

/** Whether `c` ends every token shape: no word, email or joiner goes on through it. */
function cannotContinue(c: number): boolean {
  return c < 128 && !isAsciiWordChar(c) && !EMAIL_START.has(c) && c !== 64;
}

/**
 * Whether a run of ASCII letters and digits ending at `j` is a whole token.
 * It is when the next character cannot extend it; or when that is a joiner or
 * an email character (a sentence's full stop, a trailing hyphen) followed by
 * one that cannot. A `:` may open a URL and `@` an email: those go to the
 * regular expression.
 */
function endsAt(text: string, j: number): boolean {
  const next = j < text.length ? text.charCodeAt(j) : 32;
  if (!mayContinue(next)) return true;
  if (next >= 128 || next === 58 || next === 64) return false;
  return cannotContinue(j + 1 < text.length ? text.charCodeAt(j + 1) : 32);
}

/** A compound's segments: the runs of letters, digits and marks between its joiners (`/`, `-`, `.`, `_`, `:`, `@`, ...). */
const SEGMENT = /[\p{L}\p{N}\p{M}]+/gu;
/** An acronym's plural (`RPMs`, `PDFs`): its stem is the acronym. */
const ACRONYM_PLURAL = /^(\p{Lu}{2,})s$/u;

/**
 * The terms of one matched token, which takes one position per part: the
 * whole (and a URL's host or an email's domain) and each segment at the
 * position of their first part, each part (split at joiners and at camelCase
 * and digit boundaries) at its own, and stems of plain words and acronym
 * plurals beside them. So `high-end` is `high` then `end`, and a phrase's
 * words are adjacent across a compound exactly when they are in the text.
 * Returns how many positions the token took.
 */
function compound(whole: string, start: number, position: number, stem: boolean | ReadonlySet<string>, sink: TermSink): number {
  const end = start + whole.length;
  const segments = (whole.match(SEGMENT) ?? []).map((segment) => ({ segment, parts: segment.match(PARTS) ?? [] }));
  const width = segments.reduce((sum, s) => sum + s.parts.length, 0);
  let at = position;
  let seen = new Set<string>();
  // Terms come in position order, so what was seen is kept for one position at a time.
  const add = (raw: string, pos: number, joined: boolean): void => {
    if (pos !== at) {
      at = pos;
      seen = new Set();
    }
    const term = fold(raw).slice(0, MAX_TERM);
    if (term.length === 0 || seen.has(term)) return;
    seen.add(term);
    sink(term, pos, start, end, joined);
    if (!stem || joined || (stem !== true && !stem.has(term[0]!))) return;
    // Only plain words have English stems; identifiers and URLs keep their exact parts.
    const acronym = ACRONYM_PLURAL.exec(raw)?.[1];
    const s = acronym !== undefined ? acronym.toLowerCase() : PLAIN_WORD.test(raw.normalize('NFKD')) ? stemOf(term) : term;
    if (s !== term && !seen.has(s)) {
      seen.add(s);
      sink(s, pos, start, end, false);
    }
  };
  add(whole, position, width > 1);
  if (/^https?:\/\//i.test(whole)) {
    const host = /^https?:\/\/([^/?#:]+)/i.exec(whole)?.[1];
    if (host) add(host, position, true);
  }
  if (whole.includes('@') && !/^https?:/i.test(whole)) add(whole.slice(whole.indexOf('@') + 1), position, true);
  let next = position;
  for (const { segment, parts } of segments) {
    add(segment, next, parts.length > 1);
    for (const part of parts) add(part, next++, false);
  }
  return Math.max(1, width);
}
