import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ENTITY_MARK, entityQueryTerm, entityTerms, findEntities, normaliseEntity } from '../../src/projections/search/entities.js';
import { fails } from '../events/fails.js';

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

test('a name does not run across a line break', () => {
  assert.equal(found('Lisbon\nPorto\nFaro'), []);
  assert.equal(found('Thanks,\nAda Lovelace'), ['name:ada lovelace']);
});

test('a long text with many entities is scanned in linear time', () => {
  const text = 'mail a@b.io about ORDER-12 #x @y '.repeat(20_000);
  const started = performance.now();
  assert.is(findEntities(text).length, 80_000);
  assert.ok(performance.now() - started < 2_000);
});

test('normaliseEntity: types become 1-32 of a-z, 0-9, _ and -; ids keep their case, other values fold with single spaces', () => {
  assert.equal(normaliseEntity('PERSON', '  Ada   Lovelace '), { type: 'person', value: 'ada lovelace' });
  assert.equal(normaliseEntity('Work of Art', 'Guernica'), { type: 'work_of_art', value: 'guernica' });
  assert.equal(normaliseEntity('Lieu-Géo', 'Évora'), { type: 'lieu-geo', value: 'evora' });
  assert.equal(normaliseEntity('x'.repeat(40), 'v').type, 'x'.repeat(32));
  assert.equal(normaliseEntity('人物', 'v').type, 'other');
  assert.equal(normaliseEntity('ID', ' ORDER-1234 '), { type: 'id', value: 'ORDER-1234' });
  for (const e of findEntities('Ada Lovelace, ORDER-9 and @Ana')) assert.is(normaliseEntity(e.type, e.text).value, e.value);
});

test('entityTerms: two terms per entity (any type, and this type), sorted, without repeats or blank values', () => {
  const M = ENTITY_MARK;
  assert.equal(entityTerms([{ type: 'person', value: 'Ada Lovelace' }, { type: 'name', value: 'ada  lovelace' }, { type: 'id', value: 'ORDER-1' }, { type: 'org', value: ' ' }]), [
    `${M}ORDER-1`,
    `${M}ada lovelace`,
    `${M}id:ORDER-1`,
    `${M}name:ada lovelace`,
    `${M}person:ada lovelace`,
  ]);
  assert.equal(entityTerms(findEntities('ping @Joe')), [`${M}@joe`, `${M}mention:@joe`]);
  assert.equal(entityTerms([]), []);
});

test('entityQueryTerm: a string is looked up under any type, normalised as its shape says', () => {
  const M = ENTITY_MARK;
  assert.is(entityQueryTerm('Ada@Example.com'), `${M}ada@example.com`);
  assert.is(entityQueryTerm('@Ada'), `${M}@ada`);
  assert.is(entityQueryTerm('#Billing'), `${M}#billing`);
  assert.is(entityQueryTerm(' Ada  Lovelace '), `${M}ada lovelace`);
  assert.is(entityQueryTerm('ORDER-1234'), `${M}ORDER-1234`);
  assert.is(entityQueryTerm('Ménière'), `${M}meniere`);
  // Not one entity by its shape: folded as a whole.
  assert.is(entityQueryTerm('Ada and ORDER-1234'), `${M}ada and order-1234`);
  // Every entity a text names is found by the term its own text gives as a query.
  const terms = entityTerms(findEntities('ask Ada Lovelace (ada@x.org) about ORDER-12 #ops'));
  for (const q of ['Ada Lovelace', 'ADA@X.ORG', 'ORDER-12', '#OPS']) assert.ok(terms.includes(entityQueryTerm(q)), q);
});

test('entityQueryTerm: { type, value } is looked up under that type, normalised as the index does', () => {
  const M = ENTITY_MARK;
  assert.is(entityQueryTerm({ type: 'PERSON', value: 'Ada Lovelace' }), `${M}person:ada lovelace`);
  assert.is(entityQueryTerm({ type: 'id', value: 'ORDER-1234' }), `${M}id:ORDER-1234`);
  assert.ok(entityTerms([{ type: 'Person', value: 'ADA LOVELACE' }]).includes(entityQueryTerm({ type: 'person', value: 'ada lovelace' })));
});

test('entityQueryTerm: bad options are INVALID_ARGUMENT naming the field', () => {
  for (const bad of ['', '   ', 'x'.repeat(201), 42, null, [], ['a']]) fails(() => entityQueryTerm(bad), 'entity');
  fails(() => entityQueryTerm('', 'filters.entity'), 'filters.entity');
  fails(() => entityQueryTerm({ value: 'ada' }), 'entity.type');
  fails(() => entityQueryTerm({ type: '', value: 'ada' }), 'entity.type');
  fails(() => entityQueryTerm({ type: 'x'.repeat(65), value: 'ada' }), 'entity.type');
  fails(() => entityQueryTerm({ type: 'person' }), 'entity.value');
  fails(() => entityQueryTerm({ type: 'person', value: ' ' }), 'entity.value');
  fails(() => entityQueryTerm({ type: 'person', value: 'x'.repeat(201) }), 'entity.value');
  fails(() => entityQueryTerm({ type: 'person', value: 'ada', kind: 'x' }), 'entity.kind');
});

test.run();
