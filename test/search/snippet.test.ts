import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { makeSnippet } from '../../src/search/snippet.js';

const marked = (s: ReturnType<typeof makeSnippet>) => s!.highlights.map(([a, b]) => s!.text.slice(a, b));

test('the snippet is the first field with a match, with each matched word highlighted once', () => {
  const s = makeSnippet({ title: 'Hotels', body: 'We booked a quiet hotel; the HOTEL was quiet.' }, new Set(['hotel', 'quiet']), true)!;
  assert.is(s.field, 'body');
  assert.equal(marked(s), ['quiet', 'hotel', 'HOTEL', 'quiet']);
  assert.not.ok(s.truncatedStart);
  assert.not.ok(s.truncatedEnd);
  assert.is(makeSnippet({ body: 'nothing here' }, new Set(['hotel']), true), undefined);
});

test('in a long text the window opens shortly before the first match, at a word start, and says what it cut', () => {
  const text = `${'filler words go here '.repeat(5_000)}the pelican landed ${'and more text after it '.repeat(100)}`;
  const s = makeSnippet({ body: text }, new Set(['pelican']), false)!;
  assert.ok(s.truncatedStart && s.truncatedEnd);
  assert.equal(marked(s), ['pelican']);
  assert.ok(s.text.length <= 221);
  assert.ok(/^\S/.test(s.text) && text.includes(s.text));
});

test('stems and identifier parts highlight the word they came from', () => {
  assert.equal(marked(makeSnippet({ body: 'running and getUserName' }, new Set(['run', 'user']), true)), ['running', 'getUserName']);
});

test.run();
