import { stemmer } from 'stemmer';

/** One indexed term: its folded text, the word position it stands at (for phrases), and where it came from (for highlights). */
export interface Token {
  term: string;
  position: number;
  /** UTF-16 offsets of the source text the term came from, [start, end). */
  start: number;
  end: number;
}

export interface TokenizeOptions {
  /** Also index the English stem of each word, at the same position (default false). */
  stem?: boolean;
}

/**
 * URLs, emails, and words with their inner joiners (`don't`, `snake_case`,
 * `v1.2.3`, `kebab-case`, `foo.bar`): each match is one position.
 */
const TOKEN = /https?:\/\/[^\s<>"'`]+[^\s<>"'`.,;:!?)\]}]|[\p{L}\p{N}._%+-]+@[\p{L}\p{N}-]+(?:\.[\p{L}\p{N}-]+)+|[\p{L}\p{N}]+(?:[_'’.\-/:][\p{L}\p{N}]+)*/gu;
/** Where a compound splits into its parts: joiners, and camelCase / digit boundaries. */
const PARTS = /[\p{Lu}]?[\p{Ll}\p{M}]+|[\p{Lu}\p{M}]+(?![\p{Ll}])|[\p{N}]+|[\p{L}\p{M}]+/gu;
const MAX_TERM = 64;
/** A plain word as written: lowercase, or capitalised (not camelCase, not an identifier). */
const PLAIN_WORD = /^\p{Lu}?[\p{Ll}\p{M}]+$/u;

/** Lowercase, without diacritics (NFKD, marks removed), so `Café` and `cafe` meet. */
export function fold(text: string): string {
  // ASCII has nothing to decompose or strip: the common case skips both passes.
  if (ASCII.test(text)) return text.toLowerCase();
  return text.normalize('NFKD').replace(/\p{M}+/gu, '').toLowerCase();
}

const ASCII = /^[\x00-\x7f]*$/;

/**
 * The terms of a text, for the index and for queries alike. A compound (an
 * identifier, a URL, an email, a hyphenated word) is indexed whole and as its
 * parts, all at the compound's position, so `getUserName`, `user_name`,
 * `example.com` and `https://example.com/docs` are each findable whole or by a
 * part. Terms longer than 64 characters are cut to 64.
 */
export function tokenize(text: string, options: TokenizeOptions = {}): Token[] {
  const out: Token[] = [];
  let position = 0;
  for (const m of text.matchAll(TOKEN)) {
    const start = m.index;
    const end = start + m[0].length;
    const seen = new Set<string>();
    const add = (raw: string) => {
      const term = fold(raw).slice(0, MAX_TERM);
      if (term.length === 0 || seen.has(term)) return;
      seen.add(term);
      out.push({ term, position, start, end });
      // Only plain words have English stems; identifiers and URLs keep their exact parts.
      if (options.stem && PLAIN_WORD.test(raw.normalize('NFKD'))) {
        const stem = stemmer(term);
        if (stem !== term && !seen.has(stem)) {
          seen.add(stem);
          out.push({ term: stem, position, start, end });
        }
      }
    };
    const whole = m[0];
    add(whole);
    if (/^https?:\/\//i.test(whole)) {
      const host = /^https?:\/\/([^/?#:]+)/i.exec(whole)?.[1];
      if (host) add(host);
    }
    if (whole.includes('@') && !/^https?:/i.test(whole)) add(whole.slice(whole.indexOf('@') + 1));
    for (const part of whole.match(PARTS) ?? []) add(part);
    position++;
  }
  return out;
}
