import type { Field } from './search-doc.js';
import { tokenize } from './tokenizer.js';

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
 * matched word of the first field that has one. The tokenizer runs again over
 * the stored text (its offsets point into the original), a piece at a time
 * until the first match, so a long document is not tokenized whole.
 */
export function makeSnippet(texts: Partial<Record<Field, string>>, matched: ReadonlySet<string>, stem: boolean): Snippet | undefined {
  for (const field of FIELD_ORDER) {
    const text = texts[field];
    if (!text) continue;
    const first = firstMatch(text, matched, stem);
    if (first === undefined) continue;
    const from = Math.max(0, wordStart(text, first - 40));
    const to = wordEnd(text, Math.min(text.length, from + SNIPPET_CHARS));
    const piece = text.slice(from, to);
    const highlights: [number, number][] = [];
    for (const h of tokenize(piece, { stem })) {
      if (!matched.has(h.term)) continue;
      const last = highlights[highlights.length - 1];
      // A compound's parts and stems share the compound's offsets: one highlight each.
      if (last && last[0] === h.start) continue;
      highlights.push([h.start, h.end]);
    }
    return { field, text: piece, highlights, truncatedStart: from > 0, truncatedEnd: to < text.length };
  }
  return undefined;
}

const PIECE_CHARS = 512;

/** The offset of the first matched word, tokenizing pieces cut at white space (no token spans any). */
function firstMatch(text: string, matched: ReadonlySet<string>, stem: boolean): number | undefined {
  for (let base = 0; base < text.length; ) {
    const space = text.slice(base + PIECE_CHARS).search(/\s/);
    const end = space === -1 ? text.length : base + PIECE_CHARS + space;
    const hit = tokenize(text.slice(base, end), { stem }).find((t) => matched.has(t.term));
    if (hit) return base + hit.start;
    base = end;
  }
  return undefined;
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
