import fc from '../support/fc-setup.js';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { stemmer } from 'stemmer';
import { fold } from '../../src/projections/search/fold.js';
import { tokenize } from '../../src/search/tokenizer.js';

/**
 * The tokenizer reads plain ASCII words with a character loop and hands the
 * rest to its regular expression. Whatever the text, the terms, positions and
 * offsets must be exactly those of the plain definition below: every match of
 * the expression, whole and by its parts, with stems of plain words.
 */
const test = suite('property: the tokenizer equals its regular-expression definition');

const TOKEN = /https?:\/\/[^\s<>"'`]+[^\s<>"'`.,;:!?)\]}]|[\p{L}\p{N}._%+-]+@[\p{L}\p{N}-]+(?:\.[\p{L}\p{N}-]+)+|[\p{L}\p{N}]+(?:[_'’.\-/:][\p{L}\p{N}]+)*/gu;
const PARTS = /[\p{Lu}]?[\p{Ll}\p{M}]+|[\p{Lu}\p{M}]+(?![\p{Ll}])|[\p{N}]+|[\p{L}\p{M}]+/gu;

function definition(text: string, stem: boolean): string[] {
  const out: string[] = [];
  let position = 0;
  for (const m of text.matchAll(TOKEN)) {
    const seen = new Set<string>();
    const add = (raw: string) => {
      const term = fold(raw).slice(0, 64);
      if (term.length === 0 || seen.has(term)) return;
      seen.add(term);
      out.push(`${term}@${position}:${m.index}-${m.index + m[0].length}`);
      if (stem && /^\p{Lu}?[\p{Ll}\p{M}]+$/u.test(raw.normalize('NFKD'))) {
        const s = stemmer(term);
        if (s !== term && !seen.has(s)) {
          seen.add(s);
          out.push(`${s}@${position}:${m.index}-${m.index + m[0].length}`);
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

const PIECES = ['the', 'Running', 'NASA', 'I', 'a', '42', 'v1', 'getUserName', 'HTTPServer', 'x'.repeat(70), 'café', 'Ünïcode', 'naïve', '日本語', 'don’t', "it's",
  'user_name', 'kebab-case', 'foo.bar', 'a/b', 'c:d', 'bob.smith@example.com', '@ada', '#tag', '-x@y.io', '.', ',', '!', '%', '+', '-', '_', '@', ':', '/', "'", '’',
  'https://example.com/a?b=1', 'http://x.io.', ' ', ' ', '\n', '\t', '(', ')', '"', 'e\u0301', '3pm', 'ORDER-1234', 'http', 'https', '//', 'end.', 'x-', 'y_', "z'", '%x', '+1', '..'];

test('plain and tricky text alike', () => {
  fc.assert(
    fc.property(fc.array(fc.constantFrom(...PIECES), { maxLength: 40 }), fc.boolean(), (pieces, stem) => {
      const text = pieces.join('');
      const got = tokenize(text, { stem }).map((t) => `${t.term}@${t.position}:${t.start}-${t.end}`);
      assert.equal(got, definition(text, stem), JSON.stringify(text));
    }),
    { numRuns: 3000 },
  );
  fc.assert(
    fc.property(fc.string({ unit: 'grapheme', maxLength: 60 }), fc.boolean(), (text, stem) => {
      assert.equal(tokenize(text, { stem }).map((t) => `${t.term}@${t.position}:${t.start}-${t.end}`), definition(text, stem), JSON.stringify(text));
    }),
    { numRuns: 2000 },
  );
});

test.run();
