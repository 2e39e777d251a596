import * as assert from 'uvu/assert';
import { ErrorCode } from '../../src/kernel/errors.js';
import type { ChatStore } from '../../src/chat/chat-store.js';
import { bytesOf, chatSuites, fails, failsCleanly, seedSession } from './helpers.js';

/** A session with something of each kind restore must bring back: messages (one edited, one deleted), context with a snapshot, a document with its bytes. */
async function fill(chat: ChatStore, sessionId = 's1'): Promise<{ sha256: string }> {
  await seedSession(chat, 'u1', sessionId);
  await chat.messages.add(sessionId, [
    { messageId: 'm1', role: 'user', content: 'Find a quiet pelican hotel' },
    { messageId: 'm2', role: 'assistant', content: 'Deleted before the session' },
  ]);
  await chat.messages.edit(sessionId, 'm1', { content: 'Find a very quiet pelican hotel' });
  await chat.messages.delete(sessionId, 'm2');
  await chat.context.set(sessionId, { city: 'Lisbon' });
  await chat.context.snapshot(sessionId, 'start');
  await chat.context.patch(sessionId, { budget: 900 });
  const doc = await chat.documents.upload({ sessionId, documentId: 'd1', name: 'pelican.txt', mediaType: 'text/plain' }, Buffer.from('pelican bytes'));
  return { sha256: doc.sha256 };
}

chatSuites('chat: sessions.restore', (test, open) => {
  test('restore brings back a deleted session with its messages, context and documents as they were at the deletion', () =>
    open(async (chat) => {
      await fill(chat);
      const before = await chat.sessions.get('s1');
      const messages = (await chat.messages.list('s1')).items;
      const deleted = await chat.sessions.delete('s1');
      await fails(chat.sessions.get('s1'), ErrorCode.NOT_FOUND, 'sessionId');
      await fails(chat.documents.get('d1'), ErrorCode.NOT_FOUND, 'documentId');

      const restored = await chat.sessions.restore('s1');
      assert.ok(restored.position > deleted.position);
      assert.equal({ ...restored, version: 0, updatedAt: 0, position: 0 }, { ...before, version: 0, updatedAt: 0, position: 0 });
      assert.is(restored.version, before.version + 2, 'the deletion and the restore count in the version');
      assert.equal((await chat.sessions.list('u1')).items.map((s) => s.sessionId), ['s1']);
      assert.equal((await chat.messages.list('s1')).items, messages);
      assert.equal((await chat.messages.history('s1', 'm1')).revisions.length, 2);
      await fails(chat.messages.get('s1', 'm2'), ErrorCode.NOT_FOUND, 'messageId');
      assert.equal((await chat.context.get('s1')).context, { city: 'Lisbon', budget: 900 });
      assert.equal((await chat.context.get('s1', { asOf: { snapshot: 'start' } })).context, { city: 'Lisbon' });
      assert.equal((await chat.documents.list({ sessionId: 's1' })).items.map((d) => d.documentId), ['d1']);
      assert.equal((await chat.documents.list({ userId: 'u1' })).items.map((d) => d.documentId), ['d1']);
      assert.is((await bytesOf(await chat.documents.open('d1'))).toString(), 'pelican bytes');
      // And it is live again: writes work.
      await chat.messages.add('s1', { messageId: 'm3', role: 'user', content: 'after' });
      assert.is((await chat.sessions.get('s1')).messageCount, 2);
    }));

  test('a deleted session keeps its documents\' blobs and ids until purged: another upload of the id is CONFLICT', () =>
    open(async (chat, env) => {
      const { sha256 } = await fill(chat);
      await chat.sessions.delete('s1');
      assert.equal(await env.blobs(), [sha256]);
      await seedSession(chat, 'u1', 's2');
      await failsCleanly(chat, () => chat.documents.upload({ sessionId: 's2', documentId: 'd1', name: 'x.txt', mediaType: 'text/plain' }, Buffer.from('x')), ErrorCode.CONFLICT, 'documentId');
      await chat.sessions.delete('s1', { purge: true });
      assert.equal(await env.blobs(), []);
      await chat.documents.upload({ sessionId: 's2', documentId: 'd1', name: 'x.txt', mediaType: 'text/plain' }, Buffer.from('x'));
    }));

  test('a restored session is found by search again: its messages, title, context and documents', () =>
    open(async (chat) => {
      await fill(chat);
      const hits = async () => (await chat.search('u1', 'pelican')).items.map((h) => `${h.kind}:${h.itemId}`).sort();
      const before = await hits();
      assert.equal(before, ['document:d1', 'message:m1']);
      await chat.sessions.delete('s1');
      assert.equal(await hits(), []);
      await chat.sessions.restore('s1');
      assert.equal(await hits(), before);
      assert.equal((await chat.search('u1', 'lisbon')).items.map((h) => h.kind), ['context']);
      assert.equal((await chat.search('u1', 'deleted before')).items, [], 'a message deleted before the session stays deleted');
    }));

  test('restoring a live session is CONFLICT, and appends nothing', () =>
    open(async (chat) => {
      await seedSession(chat, 'u1', 's1');
      const err = await failsCleanly(chat, () => chat.sessions.restore('s1'), ErrorCode.CONFLICT, 'sessionId');
      assert.match(err.message, /is not deleted/);
    }));

  test('restoring a purged session, or one that never existed, is NOT_FOUND saying so', () =>
    open(async (chat) => {
      await fill(chat);
      await chat.sessions.delete('s1', { purge: true });
      const purged = await fails(chat.sessions.restore('s1'), ErrorCode.NOT_FOUND, 'sessionId');
      assert.match(purged.message, /never existed, or was purged/);
      await fails(chat.sessions.restore('nobody'), ErrorCode.NOT_FOUND, 'sessionId');
    }));

  test('a deleted session purged later can no longer be restored, and its search documents and blobs go', () =>
    open(async (chat, env) => {
      await fill(chat);
      await chat.sessions.delete('s1');
      await chat.sessions.delete('s1', { purge: true });
      assert.equal(await chat.events.readStream('s-s1'), []);
      assert.equal(await env.blobs(), []);
      await fails(chat.sessions.restore('s1'), ErrorCode.NOT_FOUND, 'sessionId');
      assert.is((await chat.search('u1', 'pelican')).total, 0);
    }));

  test('restore, then delete again, then restore again: each step reads as it should', () =>
    open(async (chat) => {
      await fill(chat);
      await chat.sessions.delete('s1');
      await chat.sessions.restore('s1');
      await chat.messages.add('s1', { messageId: 'm3', role: 'user', content: 'a second pelican' });
      await chat.sessions.delete('s1');
      await fails(chat.sessions.delete('s1'), ErrorCode.NOT_FOUND, 'sessionId');
      await fails(chat.messages.list('s1'), ErrorCode.NOT_FOUND, 'sessionId');
      assert.is((await chat.search('u1', 'pelican')).total, 0);
      await chat.sessions.restore('s1');
      assert.equal((await chat.messages.list('s1')).items.map((m) => m.messageId), ['m1', 'm3']);
      assert.is((await chat.search('u1', 'pelican')).total, 3);
    }));

  test('after a delete and a restore every projection equals its rebuild from the log', () =>
    open(async (chat) => {
      await fill(chat);
      await chat.sessions.delete('s1');
      await chat.sessions.restore('s1');
      for (const name of ['sessions', 'messages', 'documents', 'context']) assert.ok((await chat.projections.compare(name)).identical, name);
    }));
});
