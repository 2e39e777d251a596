import * as assert from 'uvu/assert';
import { ErrorCode } from '../../src/kernel/errors.js';
import { chatSuites, failsCleanly, seedSession } from './helpers.js';

const texts = ['a', 'b', 'c', 'd'].map((id) => ({ messageId: id, role: 'user', content: `text ${id}` }));

chatSuites('chat: messages.truncate and messages.clear', (test, open) => {
  test('truncate deletes every message after the one named, in one event naming them', () =>
    open(async (chat) => {
      await seedSession(chat);
      await chat.messages.add('s1', texts);
      const head = await chat.events.headPosition();
      const r = await chat.messages.truncate('s1', { after: 'b' });
      assert.equal(r.deleted, ['c', 'd']);
      const events = (await chat.events.readAll({ fromPosition: head + 1 })).events;
      assert.equal(events.map((e) => [e.type, e.data]), [['message.truncated', { after: 'b', messageIds: ['c', 'd'] }]]);
      assert.equal((await chat.messages.list('s1')).items.map((m) => m.messageId), ['a', 'b']);
      assert.is((await chat.messages.count('s1')).count, 2);
    }));

  test('truncate follows the order of the conversation: a reused id counts where it was added again', () =>
    open(async (chat) => {
      await seedSession(chat);
      await chat.messages.add('s1', texts);
      await chat.messages.delete('s1', 'a');
      await chat.messages.add('s1', { messageId: 'a', role: 'user', content: 'a again' });
      assert.equal((await chat.messages.truncate('s1', { after: 'c' })).deleted, ['d', 'a']);
    }));

  test('truncate after the last message appends nothing', () =>
    open(async (chat) => {
      await seedSession(chat);
      await chat.messages.add('s1', texts);
      const head = await chat.events.headPosition();
      assert.equal((await chat.messages.truncate('s1', { after: 'd' })).deleted, []);
      assert.is(await chat.events.headPosition(), head);
    }));

  test('truncate refuses a missing or deleted message and an unknown session, appending nothing', () =>
    open(async (chat) => {
      await seedSession(chat);
      await chat.messages.add('s1', texts);
      await chat.messages.delete('s1', 'c');
      await failsCleanly(chat, () => chat.messages.truncate('s1', { after: 'c' }), ErrorCode.NOT_FOUND, 'where.after');
      await failsCleanly(chat, () => chat.messages.truncate('s1', { after: 'zz' }), ErrorCode.NOT_FOUND, 'where.after');
      await failsCleanly(chat, () => chat.messages.truncate('s1', {} as never), ErrorCode.INVALID_ID, 'where.after');
      await failsCleanly(chat, () => chat.messages.truncate('nope', { after: 'a' }), ErrorCode.NOT_FOUND, 'sessionId');
    }));

  test('clear deletes every message in one event; their ids may be used again', () =>
    open(async (chat) => {
      await seedSession(chat);
      await chat.messages.add('s1', texts);
      const head = await chat.events.headPosition();
      assert.equal((await chat.messages.clear('s1')).deleted, ['a', 'b', 'c', 'd']);
      const events = (await chat.events.readAll({ fromPosition: head + 1 })).events;
      assert.equal(events.map((e) => [e.type, e.data]), [['message.truncated', { messageIds: ['a', 'b', 'c', 'd'] }]]);
      assert.is((await chat.messages.count('s1')).count, 0);
      assert.equal((await chat.messages.clear('s1')).deleted, []);
      await chat.messages.add('s1', { messageId: 'a', role: 'user', content: 'fresh' });
      assert.equal((await chat.messages.history('s1', 'a')).earlier.map((e) => e.map((m) => m.content)), [['text a']]);
    }));

  test('search no longer finds truncated or cleared messages', () =>
    open(async (chat) => {
      await seedSession(chat);
      await chat.messages.add('s1', [
        { messageId: 'a', role: 'user', content: 'zebra crossing' },
        { messageId: 'b', role: 'user', content: 'giraffe neck' },
        { messageId: 'c', role: 'user', content: 'okapi forest' },
      ]);
      const hits = async (q: string) => (await chat.search('u1', q)).items.map((h) => h.itemId);
      assert.equal(await hits('giraffe'), ['b']);
      await chat.messages.truncate('s1', { after: 'a' });
      assert.equal(await hits('giraffe'), []);
      assert.equal(await hits('zebra'), ['a']);
      await chat.messages.clear('s1');
      assert.equal(await hits('zebra'), []);
    }));
});
