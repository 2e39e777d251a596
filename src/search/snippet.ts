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
 * matched word of the first field that has one, found by running the
 * tokenizer again over the stored text (its offsets point into the original).
 */
export function makeSnippet(texts: Partial<Record<Field, string>>, matched: ReadonlySet<string>, stem: boolean): Snippet | undefined {
  for (const field of FIELD_ORDER) {
    const text = texts[field];
    if (!text) continue;
    const hits = tokenize(text, { stem }).filter((t) => matched.has(t.term));
    if (hits.length === 0) continue;
    const from = Math.max(0, wordStart(text, hits[0]!.start - 40));
    const to = Math.min(text.length, from + SNIPPET_CHARS);
    const highlights: [number, number][] = [];
    for (const h of hits) {
      if (h.start < from || h.end > to) continue;
      const last = highlights[highlights.length - 1];
      // A compound's parts and stems share the compound's offsets: one highlight each.
      if (last && last[0] === h.start - from) continue;
      highlights.push([h.start - from, h.end - from]);
    }
    return { field, text: text.slice(from, to), highlights, truncatedStart: from > 0, truncatedEnd: to < text.length };
  }
  return undefined;
}

/** Moves `at` forward to the start of a word, so a snippet does not open mid-word. */
function wordStart(text: string, at: number): number {
  if (at <= 0) return 0;
  const space = text.indexOf(' ', at);
  return space === -1 || space > at + 20 ? at : space + 1;
}
