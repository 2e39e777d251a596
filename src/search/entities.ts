import { fold } from './tokenizer.js';

/** Something a text names, found by its shape. `value` is the folded form a query matches on. */
export interface FoundEntity {
  type: 'email' | 'url' | 'mention' | 'hashtag' | 'id' | 'name';
  /** As written. */
  text: string;
  value: string;
  /** UTF-16 offsets in the source text, [start, end). */
  start: number;
  end: number;
}

/**
 * Shapes, in the order they claim text: a URL holds what looks like an email or
 * a #fragment, an email holds what looks like a @mention.
 */
const SHAPES: ReadonlyArray<[FoundEntity['type'], RegExp]> = [
  ['url', /https?:\/\/[^\s<>"'`]+[^\s<>"'`.,;:!?)\]}]/giu],
  ['email', /[\p{L}\p{N}._%+-]+@[\p{L}\p{N}-]+(?:\.[\p{L}\p{N}-]+)+/gu],
  ['mention', /(?<![\p{L}\p{N}_@])@[\p{L}\p{N}_][\p{L}\p{N}_.-]*[\p{L}\p{N}_]|(?<![\p{L}\p{N}_@])@[\p{L}\p{N}_]/gu],
  ['hashtag', /(?<![\p{L}\p{N}_&#])#[\p{L}_][\p{L}\p{N}_-]*/gu],
  // Ids: ULIDs, UUIDs, and tokens mixing letters and digits with a separator (ORDER-1234, INV_2024_001).
  ['id', /\b(?:[0-9A-HJKMNP-TV-Z]{26}|[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|[A-Za-z]{2,}[-_][0-9]{2,}(?:[-_][A-Za-z0-9]+)*)\b/gu],
  // Names: two or more capitalised words in a row (Ada Lovelace, New York City), not at a sentence start alone.
  ['name', /\b\p{Lu}\p{Ll}+(?:\s+(?:\p{Lu}\p{Ll}+|de|da|van|von|der|di|la|le))*\s+\p{Lu}\p{Ll}+\b/gu],
];

/**
 * The entities a text names by their shape: URLs, emails, @mentions, #tags,
 * ids and multi-word capitalised names. Each character belongs to at most one
 * entity (the first shape to claim it), and entities come back in text order.
 */
export function findEntities(text: string): FoundEntity[] {
  const claimed: Array<[number, number]> = [];
  const free = (start: number, end: number) => claimed.every(([s, e]) => end <= s || start >= e);
  const out: FoundEntity[] = [];
  for (const [type, shape] of SHAPES) {
    for (const m of text.matchAll(shape)) {
      const start = m.index;
      const end = start + m[0].length;
      if (!free(start, end)) continue;
      claimed.push([start, end]);
      out.push({ type, text: m[0], value: normalise(type, m[0]), start, end });
    }
  }
  return out.sort((a, b) => a.start - b.start);
}

function normalise(type: FoundEntity['type'], text: string): string {
  // Ids keep their case: ULIDs and codes are exact; everything else matches as folded text.
  if (type === 'id') return text;
  if (type === 'name') return fold(text.replace(/\s+/g, ' '));
  return fold(text);
}
