import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { fold } from '../../src/projections/search/fold.js';
import { tokenize } from '../../src/search/tokenizer.js';

const terms = (text: string, stem = false) => tokenize(text, { stem }).map((t) => `${t.term}@${t.position}`);

test('case and diacritics fold, so Café, CAFE and cafe are one term', () => {
  assert.is(fold('Café'), 'cafe');
  assert.equal(terms('Café CAFE déjà naïve résumé'), ['cafe@0', 'cafe@1', 'deja@2', 'naive@3', 'resume@4']);
});

test('code identifiers are indexed whole and by their parts, at one position', () => {
  assert.equal(terms('call getUserName() now'), ['call@0', 'getusername@1', 'get@1', 'user@1', 'name@1', 'now@2']);
  assert.equal(terms('user_name HTTPServer kebab-case'), ['user_name@0', 'user@0', 'name@0', 'httpserver@1', 'http@1', 'server@1', 'kebab-case@2', 'kebab@2', 'case@2']);
});

test('URLs and emails stay findable whole, by host and by part; trailing punctuation is not part of them', () => {
  const url = terms('see https://Example.com/docs?x=1. now');
  assert.ok(url.includes('https://example.com/docs?x=1@1'));
  assert.ok(url.includes('example.com@1'));
  assert.ok(url.includes('docs@1'));
  assert.is(url.at(-1), 'now@2');
  const email = terms('mail bob.smith@example.com');
  assert.ok(email.includes('bob.smith@example.com@1'));
  assert.ok(email.includes('example.com@1'));
  assert.ok(email.includes('smith@1'));
});

test('stemming adds the English stem of plain words only, at the same position', () => {
  assert.equal(terms('running runs', true), ['running@0', 'run@0', 'runs@1', 'run@1']);
  assert.not.ok(terms('getUserNames', true).includes('getusernam@0'));
});

test('offsets point at the source text of each term, for highlights', () => {
  const text = 'Hello, wörld';
  const [hello, world] = tokenize(text);
  assert.is(text.slice(hello!.start, hello!.end), 'Hello');
  assert.is(text.slice(world!.start, world!.end), 'wörld');
  assert.is(world!.term, 'world');
});

test('punctuation and whitespace alone give no terms; very long terms are cut to 64 characters', () => {
  assert.equal(terms(' ... !!! ---'), []);
  assert.is(tokenize('a'.repeat(200))[0]!.term.length, 64);
});

test.run();
