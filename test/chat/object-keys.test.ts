import * as assert from 'uvu/assert';
import { ErrorCode } from '../../src/kernel/errors.js';
import { LIMITS } from '../../src/kernel/validation.js';
import { chatSuites, failsCleanly, seedSession } from './helpers.js';

// Objects of more keys than the codec's 16-bit map header counts: refused as INVALID_ARGUMENT naming the field, never msgpackr's raw error.
const MAX = LIMITS.maxObjectKeys;
const keys = (n: number, prefix = 'k') => Object.fromEntries(Array.from({ length: n }, (_, i) => [`${prefix}${i}`, 0]));

chatSuites('chat: objects of too many keys', (test, open) => {
  test('every entry that takes free JSON refuses an object of too many keys, naming the field', () =>
    open(async (chat) => {
      await seedSession(chat);
      const big = keys(MAX + 1);
      await failsCleanly(chat, () => chat.context.set('s1', big), ErrorCode.INVALID_ARGUMENT, 'context');
      await failsCleanly(chat, () => chat.context.patch('s1', { deep: big }), ErrorCode.INVALID_ARGUMENT, 'patch.deep');
      await failsCleanly(chat, () => chat.sessions.create({ userId: 'u1', title: 't', metadata: big }), ErrorCode.INVALID_ARGUMENT, 'session.metadata');
      await failsCleanly(chat, () => chat.messages.add('s1', { role: 'user', content: 'hi', metadata: big }), ErrorCode.INVALID_ARGUMENT, 'message.metadata');
      await failsCleanly(
        chat,
        () => chat.documents.upload({ sessionId: 's1', name: 'a.txt', mediaType: 'text/plain', metadata: big }, Buffer.from('x')),
        ErrorCode.INVALID_ARGUMENT,
        'document.metadata',
      );
      await failsCleanly(chat, () => chat.users.create({ profile: big }), ErrorCode.INVALID_ARGUMENT, 'user.profile');
      await failsCleanly(chat, () => chat.users.update('u1', { preferences: big }), ErrorCode.INVALID_ARGUMENT, 'changes.preferences');
      await failsCleanly(chat, () => chat.events.append('raw-1', { type: 'x.y', data: { big } }), ErrorCode.INVALID_ARGUMENT, 'events[0].data.big');
      await failsCleanly(chat, () => chat.events.append('raw-1', { type: 'x.y', data: null, metadata: big as never }), ErrorCode.INVALID_ARGUMENT, 'events[0].metadata');
      // The most an object may hold is accepted.
      assert.is(Object.keys((await chat.context.set('s1', keys(MAX))).context).length, MAX);
    }));

  test('patches that would together grow an object of the context past the limit are refused, so the context can always be set again', () =>
    open(async (chat) => {
      await seedSession(chat);
      const half = Math.ceil((MAX + 1) / 2);
      await chat.context.patch('s1', { nested: keys(half, 'a') });
      await failsCleanly(chat, () => chat.context.patch('s1', { nested: keys(half, 'b') }), ErrorCode.INVALID_ARGUMENT, 'patch.nested');
      await chat.context.set('s1', keys(half, 'a'));
      await failsCleanly(chat, () => chat.context.patch('s1', keys(half, 'b')), ErrorCode.INVALID_ARGUMENT, 'patch');
      // Keys the patch removes or replaces are not counted twice: the object ends at the limit exactly.
      const replaced = { ...keys(MAX - half, 'b'), a0: 1, a1: null };
      const at = await chat.context.patch('s1', replaced);
      assert.is(Object.keys(at.context).length, MAX - 1);
      const full = await chat.context.patch('s1', { last: 1 });
      assert.is(Object.keys(full.context).length, MAX);
      await failsCleanly(chat, () => chat.context.patch('s1', { one: 'more' }), ErrorCode.INVALID_ARGUMENT, 'patch');
      // What get returns can be written back whole.
      await chat.context.set('s1', (await chat.context.get('s1')).context);
    }));
});
