import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { type CatalogEvent, type EventType, upcast, validateEvent } from '../../src/events/catalog.js';
import { sessionStream, userStream } from '../../src/events/streams.js';
import { type SearchChange, indexedEntityTerms, initSearchRegistry, searchChanges } from '../../src/projections/search/projection.js';
import { entityTerms } from '../../src/projections/search/entities.js';
import { type SearchDoc, docKey, libraryScope, sessionKeyPrefix } from '../../src/projections/search/search-doc.js';

/**
 * The projection run over events as the index runs it, with the index's side
 * of the contract modelled: a put replaces the document, an update merges its
 * fields and replaces the given entities only when it carries them, and the
 * entity terms indexed are indexedEntityTerms of the document.
 */
function harness() {
  const registry = initSearchRegistry();
  const docs = new Map<string, SearchDoc>();
  const versions = new Map<string, number>();
  let position = 0;
  const apply = (c: SearchChange) => {
    if (c.op === 'put') docs.set(c.doc.key, c.doc);
    else if (c.op === 'delete') docs.delete(c.key);
    else if (c.op === 'deleteSession') for (const key of docs.keys()) key.startsWith(sessionKeyPrefix(c.sessionId)) && docs.delete(key);
    else if (c.op === 'update') {
      const old = docs.get(c.key);
      if (old) docs.set(c.key, { ...old, fields: { ...old.fields, ...c.fields }, entities: c.entities ?? old.entities });
    }
  };
  return {
    /** Appends `type` to `streamId`, returning the changes it made. */
    event(streamId: string, type: EventType, data: unknown, schemaVersion = 1): SearchChange[] {
      validateEvent(type, schemaVersion, data);
      const version = (versions.get(streamId) ?? 0) + 1;
      versions.set(streamId, version);
      position++;
      const raw = { id: `e${position}`, streamId, version, position, type, schemaVersion, timestamp: 1_000 + position, data: data as never, metadata: {} };
      const changes = searchChanges(registry, upcast(raw) as CatalogEvent);
      changes.forEach(apply);
      return changes;
    },
    /** The entity terms the index holds for `key`, undefined when nothing is indexed there. */
    terms(key: string): string[] | undefined {
      const doc = docs.get(key);
      return doc && indexedEntityTerms(doc);
    },
  };
}

type Pair = [type: string, value: string];
const expected = (...pairs: Pair[]) => entityTerms(pairs.map(([type, value]) => ({ type, value })));

const S = 'sess1';
const msgKey = (id: string) => docKey('message', S, id);

function withSession(title = 'Plans') {
  const h = harness();
  h.event(sessionStream(S), 'session.created', { userId: 'alice', title });
  return h;
}

test("a message's entities: those its text and reasoning name, and those its metadata gives; not tool calls'", () => {
  const h = withSession();
  const [change] = h.event(sessionStream(S), 'message.added', {
    messageId: 'm1',
    role: 'assistant',
    content: [
      { type: 'reasoning', text: 'The user wants @ana in the loop.' },
      { type: 'text', text: 'I wrote to ops@example.com about ORDER-1234.' },
      { type: 'tool_call', id: 'c1', name: 'send', arguments: { to: 'hidden@example.com' } },
    ],
    metadata: { model: 'm', entities: [{ type: 'PERSON', text: 'Ada  Lovelace' }, { type: 'city', text: 'Lisbon' }] },
  }, 2);
  assert.is(change?.op, 'put');
  assert.equal(h.terms(msgKey('m1')), expected(['mention', '@ana'], ['email', 'ops@example.com'], ['id', 'ORDER-1234'], ['person', 'ada lovelace'], ['city', 'lisbon']));
});

test('a message without metadata entities carries no given entities', () => {
  const h = withSession();
  const [change] = h.event(sessionStream(S), 'message.added', { messageId: 'm1', role: 'user', content: 'see #billing', metadata: { model: 'x' } }, 2);
  assert.ok(change?.op === 'put' && change.doc.entities === undefined);
  assert.equal(h.terms(msgKey('m1')), expected(['hashtag', '#billing']));
});

test("an edit's text replaces the old text's entities; metadata left out keeps its entities, even one the old text also named", () => {
  const h = withSession();
  h.event(sessionStream(S), 'message.added', { messageId: 'm1', role: 'user', content: 'ask @ana about ORDER-12', metadata: { entities: [{ type: 'id', text: 'ORDER-12' }] } }, 2);
  const [change] = h.event(sessionStream(S), 'message.edited', { messageId: 'm1', content: 'ask @bob' });
  assert.ok(change?.op === 'update' && !('entities' in change));
  assert.equal(h.terms(msgKey('m1')), expected(['mention', '@bob'], ['id', 'ORDER-12']));
});

test("an edit's metadata replaces the metadata entities: with new ones, or with none", () => {
  const h = withSession();
  h.event(sessionStream(S), 'message.added', { messageId: 'm1', role: 'user', content: 'hi', metadata: { entities: [{ type: 'person', text: 'Ada' }] } }, 2);
  h.event(sessionStream(S), 'message.edited', { messageId: 'm1', content: 'hi', metadata: { entities: [{ type: 'person', text: 'Grace' }] } });
  assert.equal(h.terms(msgKey('m1')), expected(['person', 'grace']));
  h.event(sessionStream(S), 'message.edited', { messageId: 'm1', content: 'hi', metadata: { model: 'x' } });
  assert.equal(h.terms(msgKey('m1')), []);
  h.event(sessionStream(S), 'message.deleted', { messageId: 'm1' });
  assert.is(h.terms(msgKey('m1')), undefined);
});

test("a message v1 upcast (model in metadata) and an edit of an unknown message index no entities of their own", () => {
  const h = withSession();
  h.event(sessionStream(S), 'message.added', { messageId: 'm1', role: 'user', content: 'from @ana', model: 'x' }, 1);
  assert.equal(h.terms(msgKey('m1')), expected(['mention', '@ana']));
  h.event(sessionStream(S), 'message.edited', { messageId: 'm9', content: '@zed', metadata: { entities: [{ type: 'a', text: 'b' }] } });
  assert.is(h.terms(msgKey('m9')), undefined);
});

test("a session's title names entities (tags do not); a rename replaces them", () => {
  const h = withSession('Trip with Ada Lovelace');
  const key = docKey('session', S, S);
  assert.equal(h.terms(key), expected(['name', 'ada lovelace']));
  h.event(sessionStream(S), 'session.tagged', { tags: ['ORDER-12'] });
  assert.equal(h.terms(key), expected(['name', 'ada lovelace']));
  h.event(sessionStream(S), 'session.renamed', { title: 'Call @grace' });
  assert.equal(h.terms(key), expected(['mention', '@grace']));
});

const upload = (documentId: string, name: string) => ({ documentId, name, mediaType: 'application/pdf', size: 1, sha256: 'a'.repeat(64) });

test("a document's entities: its name's, its latest analysis text's, and its latest analysis entities", () => {
  const h = withSession();
  const key = docKey('document', S, 'd1');
  h.event(sessionStream(S), 'document.uploaded', upload('d1', 'INV_2024_001.pdf'));
  assert.equal(h.terms(key), expected(['id', 'INV_2024_001']));

  h.event(sessionStream(S), 'document.analysed', { documentId: 'd1', analysisVersion: 1, summary: 'Billed to ops@acme.io', entities: [{ type: 'ORG', text: 'Acme Corp' }] });
  const v1 = expected(['id', 'INV_2024_001'], ['email', 'ops@acme.io'], ['org', 'acme corp']);
  assert.equal(h.terms(key), v1);

  // Only free data: summary, text and entities stay as they were.
  assert.equal(h.event(sessionStream(S), 'document.analysed', { documentId: 'd1', analysisVersion: 2, data: { pages: 2 } }), []);
  assert.equal(h.terms(key), v1);

  // New text replaces the old text's entities; the analysis entities stay.
  h.event(sessionStream(S), 'document.analysed', { documentId: 'd1', analysisVersion: 3, text: 'Paid via https://pay.example/x' });
  assert.equal(h.terms(key), expected(['id', 'INV_2024_001'], ['url', 'https://pay.example/x'], ['org', 'acme corp']));

  // New entities replace the old ones; the text stays.
  const [change] = h.event(sessionStream(S), 'document.analysed', { documentId: 'd1', analysisVersion: 4, entities: [{ type: 'person', text: 'Grace Hopper' }] });
  assert.equal(change, { op: 'update', key, fields: {}, entities: expected(['person', 'grace hopper']) });
  assert.equal(h.terms(key), expected(['id', 'INV_2024_001'], ['url', 'https://pay.example/x'], ['person', 'grace hopper']));

  h.event(sessionStream(S), 'document.analysed', { documentId: 'd1', analysisVersion: 5, entities: [] });
  assert.equal(h.terms(key), expected(['id', 'INV_2024_001'], ['url', 'https://pay.example/x']));
});

test("a document of a user's library gets its analysis entities too", () => {
  const h = harness();
  const key = docKey('document', libraryScope('alice'), 'd2');
  h.event(userStream('alice'), 'document.uploaded', upload('d2', 'notes.txt'));
  h.event(userStream('alice'), 'document.analysed', { documentId: 'd2', analysisVersion: 1, entities: [{ type: 'place', text: 'Évora' }] });
  assert.equal(h.terms(key), expected(['place', 'evora']));
});

test("a context's entities are those its string values name, each value on its own", () => {
  const h = withSession();
  const key = docKey('context', S, S);
  h.event(sessionStream(S), 'context.set', { context: { host: 'Ada', guest: 'Lovelace', contact: 'desk@hotel.pt', trip: { ref: 'BK-4411' } } });
  assert.equal(h.terms(key), expected(['email', 'desk@hotel.pt'], ['id', 'BK-4411']));
  h.event(sessionStream(S), 'context.patched', { patch: { contact: null, guide: 'Maria da Silva' } });
  assert.equal(h.terms(key), expected(['id', 'BK-4411'], ['name', 'maria da silva']));
});

test.run();
