import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { findEntities } from '../../src/search/entities.js';

const found = (text: string) => findEntities(text).map((e) => `${e.type}:${e.value}`);

test('emails, URLs, @mentions and #tags are found, folded for matching', () => {
  assert.equal(found('Mail Bob.Smith@Example.com or see https://Example.com/docs#intro, cc @ana_b #Lisbon2026'), [
    'email:bob.smith@example.com',
    'url:https://example.com/docs#intro',
    'mention:@ana_b',
    'hashtag:#lisbon2026',
  ]);
});

test('an email is not also a mention, a URL fragment is not also a tag, and trailing punctuation is left out', () => {
  assert.equal(found('write to ann@corp.io.'), ['email:ann@corp.io']);
  assert.equal(found('(see https://x.org/a#b).'), ['url:https://x.org/a#b']);
  assert.equal(found('C# and a&#38;b are not tags'), []);
});

test('ids: ULIDs and UUIDs, and codes mixing letters and digits, keep their case', () => {
  assert.equal(found('order ORDER-1234 and 01M8CJAZCDP7XYY9FS07V2SMAY, trace 123e4567-e89b-12d3-a456-426614174000'), [
    'id:ORDER-1234',
    'id:01M8CJAZCDP7XYY9FS07V2SMAY',
    'id:123e4567-e89b-12d3-a456-426614174000',
  ]);
});

test('names of two or more capitalised words are found, with their particles', () => {
  assert.equal(found('We met Ada Lovelace in New York City with Vincent van Gogh.'), ['name:ada lovelace', 'name:new york city', 'name:vincent van gogh']);
  assert.equal(found('Hello there. Lisbon is nice.'), []);
});

test('offsets point at the text of each entity', () => {
  const text = 'ping @joe about ORDER-77';
  for (const e of findEntities(text)) assert.is(text.slice(e.start, e.end), e.text);
});

test.run();
