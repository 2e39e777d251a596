import { randomUUID } from 'node:crypto';
import * as assert from 'uvu/assert';
import { ErrorCode } from '../../src/kernel/errors.js';
import { filesHolding } from '../../src/testing/files-holding.js';
import { chatSuites, fails, failsCleanly, seedSession, seedUser } from './helpers.js';

chatSuites('chat: sessions', (test, open) => {
  test('create needs an existing user: NOT_FOUND naming userId, nothing appended', () =>
    open(async (chat) => {
      await failsCleanly(chat, () => chat.sessions.create({ userId: 'ghost', title: 'Hello' }), ErrorCode.NOT_FOUND, 'userId');
    }));

  test('create keeps the title, tags and metadata, generates an id, and the session reads back', () =>
    open(async (chat) => {
      await seedUser(chat);
      const s = await chat.sessions.create({ userId: 'u1', title: 'Trip to Rome', tags: ['travel', 'italy'], metadata: { source: 'web' } });
      assert.match(s.sessionId, /^[0-9A-HJKMNP-TV-Z]{26}$/);
      assert.is(s.userId, 'u1');
      assert.is(s.title, 'Trip to Rome');
      assert.equal(s.tags, ['travel', 'italy']);
      assert.equal(s.metadata, { source: 'web' });
      assert.is(s.archived, false);
      assert.is(s.messageCount, 0);
      assert.is(s.version, 1);
      assert.ok(s.position > 0);
      const got = await chat.sessions.get(s.sessionId);
      assert.is(got.title, 'Trip to Rome');
      assert.is(got.createdAt, s.createdAt);
    }));

  test('create with a session id already taken is CONFLICT naming sessionId, nothing appended', () =>
    open(async (chat) => {
      await seedSession(chat, 'u1', 's1');
      await failsCleanly(chat, () => chat.sessions.create({ userId: 'u1', sessionId: 's1', title: 'Again' }), ErrorCode.CONFLICT, 'sessionId');
      assert.is((await chat.sessions.get('s1')).title, 'A chat');
    }));

  test('bad ids are INVALID_ID naming the field', () =>
    open(async (chat) => {
      await seedUser(chat);
      for (const bad of ['a\tb', 'x'.repeat(513), '', 'a\uDC00', 7, null]) {
        await failsCleanly(chat, () => chat.sessions.create({ userId: 'u1', sessionId: bad as never, title: 'T' }), ErrorCode.INVALID_ID, 'sessionId');
        await failsCleanly(chat, () => chat.sessions.create({ userId: bad as never, title: 'T' }), ErrorCode.INVALID_ID, 'userId');
        await fails(chat.sessions.get(bad as never), ErrorCode.INVALID_ID, 'sessionId');
        await fails(chat.sessions.rename(bad as never, 'T'), ErrorCode.INVALID_ID, 'sessionId');
        await fails(chat.sessions.delete(bad as never), ErrorCode.INVALID_ID, 'sessionId');
        await fails(chat.sessions.list(bad as never), ErrorCode.INVALID_ID, 'userId');
      }
    }));

  test('bad session fields are INVALID_ARGUMENT naming the field, nothing appended', () =>
    open(async (chat) => {
      await seedUser(chat);
      await failsCleanly(chat, () => chat.sessions.create({ userId: 'u1', title: 'x'.repeat(1001) }), ErrorCode.INVALID_ARGUMENT, 'session.title');
      await failsCleanly(chat, () => chat.sessions.create({ userId: 'u1' } as never), ErrorCode.INVALID_ARGUMENT, 'session.title');
      await failsCleanly(chat, () => chat.sessions.create({ userId: 'u1', title: 'T', tags: ['a', 'a'] }), ErrorCode.INVALID_ARGUMENT, 'session.tags[1]');
      await failsCleanly(chat, () => chat.sessions.create({ userId: 'u1', title: 'T', tags: 'a' as never }), ErrorCode.INVALID_ARGUMENT, 'session.tags');
      await failsCleanly(chat, () => chat.sessions.create({ userId: 'u1', title: 'T', metadata: [] as never }), ErrorCode.INVALID_ARGUMENT, 'session.metadata');
      await failsCleanly(chat, () => chat.sessions.create({ userId: 'u1', title: 'T', color: 'red' } as never), ErrorCode.INVALID_ARGUMENT, 'session.color');
      await failsCleanly(chat, () => chat.sessions.create(undefined as never), ErrorCode.INVALID_ARGUMENT, 'session');
    }));

  test('rename, tag and archive change the session; each is one more version', () =>
    open(async (chat) => {
      await seedSession(chat);
      const renamed = await chat.sessions.rename('s1', 'Renamed');
      assert.is(renamed.title, 'Renamed');
      assert.is(renamed.version, 2);
      const tagged = await chat.sessions.tag('s1', ['a', 'b']);
      assert.equal(tagged.tags, ['a', 'b']);
      // Tags are replaced, not added to.
      assert.equal((await chat.sessions.tag('s1', ['c'])).tags, ['c']);
      const archived = await chat.sessions.archive('s1');
      assert.is(archived.archived, true);
      const back = await chat.sessions.archive('s1', false);
      assert.is(back.archived, false);
      const got = await chat.sessions.get('s1');
      assert.is(got.title, 'Renamed');
      assert.equal(got.tags, ['c']);
      assert.is(got.version, 6);
      assert.ok(got.updatedAt >= got.createdAt);
    }));

  test('rename, tag and archive refuse bad input naming the field, and unknown sessions with NOT_FOUND', () =>
    open(async (chat) => {
      await seedSession(chat);
      await failsCleanly(chat, () => chat.sessions.rename('s1', 'x'.repeat(1001)), ErrorCode.INVALID_ARGUMENT, 'title');
      await failsCleanly(chat, () => chat.sessions.rename('s1', 'a\u0000b'), ErrorCode.INVALID_ARGUMENT, 'title');
      await failsCleanly(chat, () => chat.sessions.tag('s1', ['x', 'x']), ErrorCode.INVALID_ARGUMENT, 'tags[1]');
      await failsCleanly(chat, () => chat.sessions.tag('s1', ['x'.repeat(65)]), ErrorCode.INVALID_ARGUMENT, 'tags[0]');
      await failsCleanly(chat, () => chat.sessions.archive('s1', 'yes' as never), ErrorCode.INVALID_ARGUMENT, 'archived');
      await failsCleanly(chat, () => chat.sessions.rename('nope', 'T'), ErrorCode.NOT_FOUND, 'sessionId');
      await failsCleanly(chat, () => chat.sessions.tag('nope', []), ErrorCode.NOT_FOUND, 'sessionId');
      await failsCleanly(chat, () => chat.sessions.archive('nope'), ErrorCode.NOT_FOUND, 'sessionId');
      await fails(chat.sessions.get('nope'), ErrorCode.NOT_FOUND, 'sessionId');
      assert.is((await chat.sessions.get('s1')).version, 1);
    }));

  test('messageCount counts the messages not deleted', () =>
    open(async (chat) => {
      await seedSession(chat);
      const [a] = await chat.messages.add('s1', [
        { role: 'user', content: 'one' },
        { role: 'assistant', content: 'two' },
      ]);
      assert.is((await chat.sessions.get('s1')).messageCount, 2);
      await chat.messages.delete('s1', a!.messageId);
      assert.is((await chat.sessions.get('s1')).messageCount, 1);
      assert.ok((await chat.sessions.get('s1')).lastMessageAt !== undefined);
    }));

  test('delete: reads stop returning the session, its messages, context and documents; the log keeps its events', () =>
    open(async (chat) => {
      await seedSession(chat);
      const m = await chat.messages.add('s1', { role: 'user', content: 'hi' });
      await chat.context.set('s1', { goal: 'x' });
      const doc = await chat.documents.upload({ sessionId: 's1', name: 'a.txt', mediaType: 'text/plain' }, Buffer.from('abc'));
      const before = await chat.events.readStream('s-s1');
      const result = await chat.sessions.delete('s1');
      assert.is(result.sessionId, 's1');
      assert.is(result.purged, false);
      assert.ok(result.position > 0);
      await fails(chat.sessions.get('s1'), ErrorCode.NOT_FOUND, 'sessionId');
      await fails(chat.messages.list('s1'), ErrorCode.NOT_FOUND, 'sessionId');
      await fails(chat.messages.get('s1', m.messageId), ErrorCode.NOT_FOUND, 'sessionId');
      await fails(chat.messages.count('s1'), ErrorCode.NOT_FOUND, 'sessionId');
      await fails(chat.context.get('s1'), ErrorCode.NOT_FOUND, 'sessionId');
      await fails(chat.context.history('s1'), ErrorCode.NOT_FOUND, 'sessionId');
      await fails(chat.documents.list({ sessionId: 's1' }), ErrorCode.NOT_FOUND, 'sessionId');
      await fails(chat.documents.get(doc.documentId), ErrorCode.NOT_FOUND, 'documentId');
      assert.equal((await chat.sessions.list('u1', { archived: 'any' })).items, []);
      assert.equal((await chat.documents.list({ userId: 'u1' })).items, []);
      const after = await chat.events.readStream('s-s1');
      assert.is(after.length, before.length + 1);
      assert.equal(after.slice(0, -1), before);
      assert.is(after.at(-1)!.type, 'session.deleted');
    }));

  test('a deleted session refuses writes with NOT_FOUND, and its id cannot be taken again', () =>
    open(async (chat) => {
      await seedSession(chat);
      await chat.sessions.delete('s1');
      await failsCleanly(chat, () => chat.sessions.delete('s1'), ErrorCode.NOT_FOUND, 'sessionId');
      await failsCleanly(chat, () => chat.sessions.rename('s1', 'T'), ErrorCode.NOT_FOUND, 'sessionId');
      await failsCleanly(chat, () => chat.messages.add('s1', { role: 'user', content: 'x' }), ErrorCode.NOT_FOUND, 'sessionId');
      await failsCleanly(chat, () => chat.context.set('s1', {}), ErrorCode.NOT_FOUND, 'sessionId');
      await failsCleanly(chat, () => chat.documents.upload({ sessionId: 's1', name: 'a', mediaType: 'text/plain' }, Buffer.from('x')), ErrorCode.NOT_FOUND, 'sessionId');
      await failsCleanly(chat, () => chat.sessions.create({ userId: 'u1', sessionId: 's1', title: 'T' }), ErrorCode.CONFLICT, 'sessionId');
    }));

  test('delete keeps the blobs of the session\'s documents for a restore; a later purge releases those only it named', () =>
    open(async (chat, env) => {
      await seedSession(chat, 'u1', 's1');
      await seedSession(chat, 'u1', 's2');
      await chat.documents.upload({ sessionId: 's1', name: 'only.txt', mediaType: 'text/plain' }, Buffer.from('only in s1'));
      const shared = await chat.documents.upload({ sessionId: 's1', name: 'shared.txt', mediaType: 'text/plain' }, Buffer.from('shared'));
      await chat.documents.upload({ sessionId: 's2', name: 'shared.txt', mediaType: 'text/plain' }, Buffer.from('shared'));
      assert.is((await env.blobs()).length, 2);
      await chat.sessions.delete('s1');
      assert.is((await env.blobs()).length, 2);
      await chat.sessions.delete('s1', { purge: true });
      assert.equal(await env.blobs(), [shared.sha256]);
    }));

  test('delete with purge erases the session events and its own blobs; asking again is harmless', () =>
    open(async (chat, env) => {
      await seedSession(chat, 'u1', 's1');
      await seedSession(chat, 'u1', 's2');
      await chat.messages.add('s1', { role: 'user', content: 'secret' });
      await chat.context.set('s1', { secret: true });
      await chat.documents.upload({ sessionId: 's1', name: 'only.txt', mediaType: 'text/plain' }, Buffer.from('only in s1'));
      const shared = await chat.documents.upload({ sessionId: 's1', name: 'shared.txt', mediaType: 'text/plain' }, Buffer.from('shared'));
      const library = await chat.documents.upload({ userId: 'u1', name: 'lib.txt', mediaType: 'text/plain' }, Buffer.from('library'));
      await chat.documents.upload({ sessionId: 's2', name: 'shared.txt', mediaType: 'text/plain' }, Buffer.from('shared'));
      const s2Events = await chat.events.readStream('s-s2');

      const result = await chat.sessions.delete('s1', { purge: true });
      assert.is(result.purged, true);
      assert.equal(await chat.events.readStream('s-s1'), []);
      const feed = await chat.events.readAll({ limit: 1000 });
      assert.not.ok(feed.events.some((e) => e.streamId === 's-s1'), 'the feed still shows purged events');
      assert.equal(await env.blobs(), [shared.sha256, library.sha256].sort());
      await fails(chat.sessions.get('s1'), ErrorCode.NOT_FOUND, 'sessionId');
      assert.equal(await chat.events.readStream('s-s2'), s2Events);

      const again = await chat.sessions.delete('s1', { purge: true });
      assert.is(again.purged, true);
      assert.equal(await chat.events.readStream('s-s1'), []);
      await fails(chat.sessions.delete('s1'), ErrorCode.NOT_FOUND, 'sessionId');
      for (const name of chat.projections.names) assert.ok((await chat.projections.compare(name)).identical, name);
    }));

  test('a session deleted without purge can be purged later', () =>
    open(async (chat) => {
      await seedSession(chat);
      await chat.messages.add('s1', { role: 'user', content: 'x' });
      await chat.sessions.delete('s1');
      assert.is((await chat.events.readStream('s-s1')).length, 3);
      await chat.sessions.delete('s1', { purge: true });
      assert.equal(await chat.events.readStream('s-s1'), []);
    }));

  test('delete refuses a bad purge flag and unknown sessions, appending nothing', () =>
    open(async (chat) => {
      await seedSession(chat);
      await failsCleanly(chat, () => chat.sessions.delete('s1', { purge: 'yes' as never }), ErrorCode.INVALID_ARGUMENT, 'purge');
      await failsCleanly(chat, () => chat.sessions.delete('ghost'), ErrorCode.NOT_FOUND, 'sessionId');
      await failsCleanly(chat, () => chat.sessions.delete('ghost', { purge: true }), ErrorCode.NOT_FOUND, 'sessionId');
      await chat.sessions.get('s1');
    }));
});

chatSuites('chat: purged sessions on disk', (test, open, kind) => {
  if (kind !== 'flatfile') return;
  test('a purge leaves none of the session text in any file of the data folder, projection snapshots included', () =>
    open(async (chat, env) => {
      const marker = `purge-marker-${randomUUID()}`;
      await seedSession(chat);
      await chat.messages.add('s1', { role: 'user', content: `my ${marker} message` });
      await chat.context.set('s1', { note: `${marker} in the context` });
      await chat.sessions.rename('s1', `title ${marker}`);
      await chat.projections.saveSnapshots();
      assert.ok(filesHolding(env.dir!, marker).length > 0, 'the marker is on disk before the purge');
      await chat.sessions.delete('s1', { purge: true });
      assert.equal(filesHolding(env.dir!, marker), []);
    }));
});
