import * as assert from 'uvu/assert';
import { ErrorCode } from '../../src/kernel/errors.js';
import { chatSuites, failsCleanly, seedSession } from './helpers.js';

chatSuites('chat: sessions.update', (test, open) => {
  test('update changes title, tags and metadata in one event; fields left out stay', () =>
    open(async (chat) => {
      await chat.users.create({ userId: 'u1' });
      await chat.sessions.create({ userId: 'u1', sessionId: 's1', title: 'Old', tags: ['a'], metadata: { pinned: true, color: 'red' } });
      const head = await chat.events.headPosition();
      const s = await chat.sessions.update('s1', { title: 'New', tags: ['b', 'c'], metadata: { color: 'blue' } });
      assert.equal([s.title, s.tags, s.metadata], ['New', ['b', 'c'], { color: 'blue' }]);
      const events = (await chat.events.readAll({ fromPosition: head + 1 })).events;
      assert.equal(events.map((e) => e.type), ['session.updated']);
      const t = await chat.sessions.update('s1', { metadata: {} });
      assert.equal([t.title, t.tags, t.metadata], ['New', ['b', 'c'], {}]);
      assert.equal(await chat.sessions.get('s1').then((g) => [g.title, g.metadata]), ['New', {}]);
    }));

  test('the listing and search follow an update', () =>
    open(async (chat) => {
      await seedSession(chat);
      await chat.sessions.update('s1', { title: 'Holiday in Lisbon', tags: ['travel'] });
      assert.equal((await chat.sessions.list('u1', { tag: 'travel' })).items.map((s) => s.title), ['Holiday in Lisbon']);
      assert.equal((await chat.search('u1', 'lisbon')).items.map((h) => h.itemId), ['s1']);
    }));

  test('update refuses nothing to change, a bad field, a field the call names, an unknown session; appending nothing', () =>
    open(async (chat) => {
      await seedSession(chat);
      await failsCleanly(chat, () => chat.sessions.update('s1', {}), ErrorCode.INVALID_ARGUMENT, 'changes');
      await failsCleanly(chat, () => chat.sessions.update('s1', { title: 'a\u0000b' }), ErrorCode.INVALID_ARGUMENT, 'changes.title');
      await failsCleanly(chat, () => chat.sessions.update('s1', { tags: ['x', 'x'] }), ErrorCode.INVALID_ARGUMENT, 'changes.tags[1]');
      await failsCleanly(chat, () => chat.sessions.update('s1', { userId: 'u2' } as never), ErrorCode.INVALID_ARGUMENT, 'changes.userId');
      await failsCleanly(chat, () => chat.sessions.update('nope', { title: 'x' }), ErrorCode.NOT_FOUND, 'sessionId');
    }));
});
