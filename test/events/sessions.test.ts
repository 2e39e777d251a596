import { ErrorCode } from '../../src/kernel/errors.js';
import { sessionEvents } from '../../src/events/sessions.js';
import type { EventDefinition } from '../../src/events/definition.js';
import { flatfileSuite } from '../flatfile/unit-helpers.js';
import { fails } from './fails.js';

const created: EventDefinition<unknown> = sessionEvents['session.created'];
const renamed: EventDefinition<unknown> = sessionEvents['session.renamed'];
const tagged: EventDefinition<unknown> = sessionEvents['session.tagged'];
const archived: EventDefinition<unknown> = sessionEvents['session.archived'];
const deleted: EventDefinition<unknown> = sessionEvents['session.deleted'];
const updated: EventDefinition<unknown> = sessionEvents['session.updated'];
const restored: EventDefinition<unknown> = sessionEvents['session.restored'];
const test = flatfileSuite('events: sessions');

test('session.created accepts an owner and title, with optional tags and metadata', () => {
  created.validate({ userId: 'u1', title: 'Trip to Lisbon' });
  created.validate({ userId: 'u1', title: 'Plans ✈️', tags: ['travel', 'work stuff'], metadata: { pinned: true } });
});

test('session.created names the bad field: owner id, title, metadata', () => {
  fails(() => created.validate({ userId: 'a\tb', title: 't' }), 'data.userId', ErrorCode.INVALID_ID);
  fails(() => created.validate({ userId: 'u1' }), 'data.title');
  fails(() => created.validate({ userId: 'u1', title: 'x'.repeat(1001) }), 'data.title');
  fails(() => created.validate({ userId: 'u1', title: 'a\u0000b' }), 'data.title');
  fails(() => created.validate({ userId: 'u1', title: 't', metadata: 'x' }), 'data.metadata');
  fails(() => created.validate({ userId: 'u1', title: 't', metadata: { a: Number.NaN } }), 'data.metadata.a');
});

test('tags are a set of at most 64 labels of 1-64 characters, the bad one named by index', () => {
  tagged.validate({ tags: [] });
  tagged.validate({ tags: Array.from({ length: 64 }, (_, i) => `t${i}`) });
  fails(() => tagged.validate({ tags: Array.from({ length: 65 }, (_, i) => `t${i}`) }), 'data.tags');
  fails(() => tagged.validate({ tags: ['a', 'b', 'a'] }), 'data.tags[2]');
  fails(() => tagged.validate({ tags: ['a', 'x'.repeat(65)] }), 'data.tags[1]');
  fails(() => tagged.validate({ tags: ['a', 7] }), 'data.tags[1]');
  fails(() => created.validate({ userId: 'u1', title: 't', tags: ['\u0000'] }), 'data.tags[0]');
});

test('session.renamed needs a title', () => {
  renamed.validate({ title: 'New name' });
  fails(() => renamed.validate({ name: 'New name' }), 'data.name');
});

test('session.archived carries a boolean, so a session can leave the archive', () => {
  archived.validate({ archived: true });
  archived.validate({ archived: false });
  fails(() => archived.validate({ archived: 'yes' }), 'data.archived');
  fails(() => archived.validate({}), 'data.archived');
});

test('session.deleted takes an optional purge flag', () => {
  deleted.validate({});
  deleted.validate({ purge: true });
  fails(() => deleted.validate({ purge: 1 }), 'data.purge');
});

test('session.restored carries nothing: the session comes back as it was deleted', () => {
  restored.validate({});
  fails(() => restored.validate({ purge: true }), 'data.purge');
  fails(() => restored.validate(null), 'data');
});

test('session.updated changes at least one of title, tags and metadata, each checked as at creation', () => {
  updated.validate({ title: 'New' });
  updated.validate({ tags: [], metadata: {} });
  fails(() => updated.validate({}), 'data');
  fails(() => updated.validate({ title: 'a\u0000b' }), 'data.title');
  updated.validate({ title: '' }); // titles take any text a person types, empty too
  fails(() => updated.validate({ tags: ['a', 'a'] }), 'data.tags[1]');
  fails(() => updated.validate({ metadata: [] }), 'data.metadata');
  fails(() => updated.validate({ title: 't', owner: 'u2' }), 'data.owner');
});

test.run();
