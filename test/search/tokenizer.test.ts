import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { fold } from '../../src/projections/search/fold.js';
import { tokenize } from '../../src/search/tokenizer.js';

const terms = (text: string, stem = false) => tokenize(text, { stem }).map((t) => `${t.term}@${t.position}`);

test('case and diacritics fold, so Café, CAFE and cafe are one term', () => {
  assert.is(fold('Café'), 'cafe');
  assert.equal(terms('Café CAFE déjà naïve résumé'), ['cafe@0', 'cafe@1', 'deja@2', 'naive@3', 'resume@4']);
});

test('code identifiers are indexed whole at their first part, and by their parts, a position each', () => {
  assert.equal(terms('call getUserName() now'), ['call@0', 'getusername@1', 'get@1', 'user@2', 'name@3', 'now@4']);
  assert.equal(terms('user_name HTTPServer kebab-case'), ['user_name@0', 'user@0', 'name@1', 'httpserver@2', 'http@2', 'server@3', 'kebab-case@4', 'kebab@4', 'case@5']);
});

test('a hyphenated word is its parts in a row, so the words around it keep their distances', () => {
  assert.equal(terms('in the high-end market'), ['in@0', 'the@1', 'high-end@2', 'high@2', 'end@3', 'market@4']);
  assert.equal(terms('a foo-foo'), ['a@0', 'foo-foo@1', 'foo@1', 'foo@2']);
});

test('paths and CamelCase: the whole, each segment between joiners, and each CamelCase part', () => {
  assert.equal(terms('SpamAssassin-talk'), ['spamassassin-talk@0', 'spamassassin@0', 'spam@0', 'assassin@1', 'talk@2']);
  assert.equal(terms('lib/Mail/SpamAssassin/'), ['lib/mail/spamassassin@0', 'lib@0', 'mail@1', 'spamassassin@2', 'spam@2', 'assassin@3']);
});

test('an acronym plural (RPMs, PDFs) stems to the acronym; an acronym alone and CamelCase are not stemmed', () => {
  assert.equal(terms('RPMs PDFs', true), ['rpms@0', 'rpm@0', 'pdfs@1', 'pdf@1']);
  assert.equal(terms('RPMs', false), ['rpms@0']);
  assert.equal(terms('NASA userIDs', true), ['nasa@0', 'userids@1', 'user@1', 'ids@2', 'id@2']);
});

test('terms standing for several words (a compound whole, a segment of several parts, a host) are marked joined', () => {
  const joined = tokenize('high-end SpamAssassin-talk x', { stem: true }).filter((t) => t.joined).map((t) => `${t.term}@${t.position}`);
  assert.equal(joined, ['high-end@0', 'spamassassin-talk@2', 'spamassassin@2']);
});

test('URLs and emails stay findable whole, by host and by part; trailing punctuation is not part of them', () => {
  const url = terms('see https://Example.com/docs?x=1. now');
  assert.equal(url, ['see@0', 'https://example.com/docs?x=1@1', 'example.com@1', 'https@1', 'example@2', 'com@3', 'docs@4', 'x@5', '1@6', 'now@7']);
  const email = terms('mail bob.smith@example.com');
  assert.equal(email, ['mail@0', 'bob.smith@example.com@1', 'example.com@1', 'bob@1', 'smith@2', 'example@3', 'com@4']);
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
