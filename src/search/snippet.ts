import type { Field } from '../projections/search/search-doc.js';
import { type Token, type TokenizeOptions, tokenize } from './tokenizer.js';

/** A piece of a field's text around the matches, with the matched words' offsets in it. */
export interface Snippet {
  field: Field;
  text: string;
  /** [start, end) UTF-16 offsets into `text`. */
  highlights: [number, number][];
  /** Whether text was cut before or after the piece. */
  truncatedStart: boolean;
  truncatedEnd: boolean;
}

const SNIPPET_CHARS = 200;
const FIELD_ORDER: readonly Field[] = ['body', 'title', 'reasoning', 'tags'];

/**
 * The window of `SNIPPET_CHARS` that starts a little before the first
 * matched word of the first field that has one. The tokenizer runs over the
 * stored text (its offsets point into the original) a piece at a time, until
 * the first match and then to the window's end, so a long document is not
 * tokenized whole and no part of it twice.
 */
export function makeSnippet(texts: Partial<Record<Field, string>>, matched: ReadonlySet<string>, stem: boolean): Snippet | undefined {
  const options: TokenizeOptions = { stem, stemInitials: new Set([...matched].map((t) => t[0]!)) };
  for (const field of FIELD_ORDER) {
    const text = texts[field];
    if (!text) continue;
    const pieces = new Pieces(text, options);
    let first: Token | undefined;
    while (!first && pieces.more()) first = pieces.next().find((t) => matched.has(t.term));
    if (!first) continue;
    const from = Math.max(0, wordStart(text, first.start - 40));
    const to = wordEnd(text, Math.min(text.length, from + SNIPPET_CHARS));
    while (pieces.end < to && pieces.more()) pieces.next();
    const highlights: [number, number][] = [];
    for (const h of pieces.tokens) {
      if (h.start < from || h.end > to || !matched.has(h.term)) continue;
      const last = highlights[highlights.length - 1];
      // A compound's parts and stems share the compound's offsets: one highlight each.
      if (last && last[0] === h.start - from) continue;
      highlights.push([h.start - from, h.end - from]);
    }
    return { field, text: text.slice(from, to), highlights, truncatedStart: from > 0, truncatedEnd: to < text.length };
  }
  return undefined;
}

const PIECE_CHARS = 512;

/** A text tokenized in pieces cut at white space (no token spans any), keeping every token read so far. */
class Pieces {
  readonly tokens: Token[] = [];
  end = 0;
  readonly #text: string;
  readonly #options: TokenizeOptions;

  constructor(text: string, options: TokenizeOptions) {
    this.#text = text;
    this.#options = options;
  }

  more(): boolean {
    return this.end < this.#text.length;
  }

  /** Tokenizes the next piece; returns its tokens, offsets into the whole text. */
  next(): Token[] {
    const base = this.end;
    const space = this.#text.slice(base + PIECE_CHARS).search(/\s/);
    this.end = space === -1 ? this.#text.length : base + PIECE_CHARS + space;
    const tokens = tokenize(this.#text.slice(base, this.end), this.#options).map((t) => ({ ...t, start: t.start + base, end: t.end + base }));
    this.tokens.push(...tokens);
    return tokens;
  }
}

/** Moves `at` forward to the start of a word, so a snippet does not open mid-word. */
function wordStart(text: string, at: number): number {
  if (at <= 0) return 0;
  const space = text.indexOf(' ', at);
  return space === -1 || space > at + 20 ? at : space + 1;
}

/** Moves `at` forward to the end of a word (up to 20 characters), so a snippet does not end mid-word. */
function wordEnd(text: string, at: number): number {
  const rest = text.slice(at, at + 21).search(/\s/);
  return rest === -1 ? at : at + rest;
}
