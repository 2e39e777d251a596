import * as assert from 'uvu/assert';
import { sessionsProjection } from '../../src/projections/sessions.js';
import { usersProjection } from '../../src/projections/users.js';
import { MemoryBackend } from '../../src/backends/memory/memory-backend.js';
import { openChatStore } from '../../src/chat/chat-store.js';
import { flatfileSuite } from '../flatfile/unit-helpers.js';
import { memoryStore, openRunner } from './helpers.js';

/**
 * The sessions and users projections keep each stream's version, which the
 * chat API uses as the expected version of its next write. Every event of the
 * stream counts: also events the projection cannot read (a type outside the
 * catalog an app appended through `chat.events`, or a schema version from a
 * newer release), or every later write to that session or user would conflict.
 */
const test = flatfileSuite('projections: stream versions count every event');

test('an event of a type outside the catalog in a session stream does not make later writes to the session conflict', async () => {
  const chat = await openChatStore({ backend: new MemoryBackend() });
  await chat.users.create({ userId: 'u1' });
  await chat.sessions.create({ userId: 'u1', sessionId: 's1', title: 'A' });
  const foreign = await chat.events.append('s-s1', { type: 'app.note', data: { note: 'written by the app itself' } });
  const renamed = await chat.sessions.rename('s1', 'B');
  assert.is(renamed.title, 'B');
  assert.is(renamed.version, foreign.lastVersion + 1);
  assert.is((await chat.messages.add('s1', { role: 'user', content: 'hi' })).content, 'hi');
  await chat.close();
});

test('an event of a newer schema version in a session stream (a newer release wrote it) does not make later writes conflict', async () => {
  const chat = await openChatStore({ backend: new MemoryBackend() });
  await chat.users.create({ userId: 'u1' });
  await chat.sessions.create({ userId: 'u1', sessionId: 's1', title: 'A' });
  await chat.events.append('s-s1', { type: 'message.added', schemaVersion: 99, data: { messageId: 'future', shape: 'unknown' } });
  assert.is((await chat.sessions.rename('s1', 'B')).title, 'B');
  await chat.close();
});

test('an event of a type outside the catalog in a user stream does not make later updates of the user conflict', async () => {
  const chat = await openChatStore({ backend: new MemoryBackend() });
  await chat.users.create({ userId: 'u1' });
  await chat.events.append('u-u1', { type: 'app.login', data: { at: 1 } });
  assert.is((await chat.users.update('u1', { displayName: 'Ada' })).displayName, 'Ada');
  await chat.close();
});

test('the sessions and users projections record the version and time of every event of their streams', async () => {
  const store = await memoryStore();
  await store.append('s-s1', { type: 'session.created', data: { userId: 'u1', title: 'A' } });
  await store.append('u-u1', { type: 'user.created', data: { userId: 'u1' } });
  await store.append('s-s1', [{ type: 'app.note', data: {} }, { type: 'session.renamed', schemaVersion: 7, data: {} }]);
  const last = await store.append('u-u1', { type: 'app.login', data: {} });
  const runner = await openRunner(store, [sessionsProjection, usersProjection]);
  assert.is(runner.state(sessionsProjection).sessions.get('s1')!.version, 3);
  assert.is(runner.state(sessionsProjection).sessions.get('s1')!.title, 'A');
  assert.is(runner.state(usersProjection).get('u1')!.version, last.lastVersion);
  assert.ok((await runner.compare('sessions')).identical);
  assert.ok((await runner.compare('users')).identical);
  await runner.close();
});

test.run();
