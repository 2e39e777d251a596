import fc from '../support/fc-setup.js';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { stemmer } from 'stemmer';
import { fold } from '../../src/projections/search/fold.js';
import { type Token, tokenize } from '../../src/search/tokenizer.js';

/**
 * The tokenizer reads plain ASCII words with a character loop and hands the
 * rest to its regular expression. Whatever the text, the terms, positions and
 * offsets must be exactly those of the plain definition below: every match of
 * the expression, whole and by its parts, with stems of plain words.
 */
const test = suite('property: the tokenizer equals its regular-expression definition');

const TOKEN = /https?:\/\/[^\s<>"'`]+[^\s<>"'`.,;:!?)\]}]|[\p{L}\p{N}._%+-]+@[\p{L}\p{N}-]+(?:\.[\p{L}\p{N}-]+)+|[\p{L}\p{N}]+(?:[_'’.\-/:][\p{L}\p{N}]+)*/gu;
const PARTS = /\p{Lu}{2,}s(?![\p{Ll}\p{M}])|[\p{Lu}]?[\p{Ll}\p{M}]+|[\p{Lu}\p{M}]+(?![\p{Ll}])|[\p{N}]+|[\p{L}\p{M}]+/gu;

/**
 * Each match takes one position per part (segments between joiners, split at
 * camelCase and digit boundaries): the whole, a URL's host or an email's
 * domain and each segment at their first part's position, each part at its
 * own; per position no term twice; stems of single-word terms (plain words,
 * and acronym plurals to the acronym).
 */
function definition(text: string, stem: boolean): string[] {
  const out: string[] = [];
  let position = 0;
  for (const m of text.matchAll(TOKEN)) {
    const whole = m[0];
    const segments = (whole.match(/[\p{L}\p{N}\p{M}]+/gu) ?? []).map((segment) => ({ segment, parts: segment.match(PARTS) ?? [] }));
    const width = segments.reduce((sum, s) => sum + s.parts.length, 0);
    const seen = new Map<number, Set<string>>();
    const add = (raw: string, at: number, joined: boolean) => {
      const here = seen.get(at) ?? new Set<string>();
      seen.set(at, here);
      const term = fold(raw).slice(0, 64);
      if (term.length === 0 || here.has(term)) return;
      here.add(term);
      out.push(`${term}@${at}:${m.index}-${m.index + whole.length}${joined ? 'J' : ''}`);
      if (!stem || joined) return;
      const acronym = /^(\p{Lu}{2,})s$/u.exec(raw)?.[1]?.toLowerCase();
      const s = acronym ?? (/^\p{Lu}?[\p{Ll}\p{M}]+$/u.test(raw.normalize('NFKD')) ? stemmer(term) : term);
      if (s !== term && !here.has(s)) {
        here.add(s);
        out.push(`${s}@${at}:${m.index}-${m.index + whole.length}`);
      }
    };
    add(whole, position, width > 1);
    if (/^https?:\/\//i.test(whole)) {
      const host = /^https?:\/\/([^/?#:]+)/i.exec(whole)?.[1];
      if (host) add(host, position, true);
    }
    if (whole.includes('@') && !/^https?:/i.test(whole)) add(whole.slice(whole.indexOf('@') + 1), position, true);
    let at = position;
    for (const { segment, parts } of segments) {
      add(segment, at, parts.length > 1);
      for (const part of parts) add(part, at++, false);
    }
    position += Math.max(1, width);
  }
  return out;
}

const PIECES = ['the', 'Running', 'NASA', 'I', 'a', '42', 'v1', 'getUserName', 'HTTPServer', 'x'.repeat(70), 'café', 'Ünïcode', 'naïve', '日本語', 'don’t', "it's",
  'user_name', 'kebab-case', 'foo.bar', 'a/b', 'c:d', 'bob.smith@example.com', '@ada', '#tag', '-x@y.io', '.', ',', '!', '%', '+', '-', '_', '@', ':', '/', "'", '’',
  'https://example.com/a?b=1', 'http://x.io.', 'RPMs', 'PDFs', 'IDs', 'SpamAssassin', 'high-end', 'lib/Mail/', ' ', ' ', '\n', '\t', '(', ')', '"', 'e\u0301', '3pm', 'ORDER-1234', 'http', 'https', '//', 'end.', 'x-', 'y_', "z'", '%x', '+1', '..'];

const shown = (t: Token) => `${t.term}@${t.position}:${t.start}-${t.end}${t.joined ? 'J' : ''}`;

test('plain and tricky text alike', () => {
  fc.assert(
    fc.property(fc.array(fc.constantFrom(...PIECES), { maxLength: 40 }), fc.boolean(), (pieces, stem) => {
      const text = pieces.join('');
      const got = tokenize(text, { stem }).map(shown);
      assert.equal(got, definition(text, stem), JSON.stringify(text));
    }),
    { numRuns: 3000 },
  );
  fc.assert(
    fc.property(fc.string({ unit: 'grapheme', maxLength: 60 }), fc.boolean(), (text, stem) => {
      assert.equal(tokenize(text, { stem }).map(shown), definition(text, stem), JSON.stringify(text));
    }),
    { numRuns: 2000 },
  );
});

test.run();
