import * as assert from 'uvu/assert';
import type { ChatStore } from '../../src/chat/chat-store.js';
import type { NewMessage, SyncResult } from '../../src/chat/messages-api.js';
import { ErrorCode } from '../../src/kernel/errors.js';
import { chatSuites, failsCleanly, seedSession } from './helpers.js';

type Saved = NewMessage & { messageId: string };
const msg = (messageId: string, content: string, role = 'user'): Saved => ({ messageId, role, content });

async function contents(chat: ChatStore, sessionId = 's1'): Promise<string[]> {
  return (await chat.messages.list(sessionId, { limit: 1000 })).items.map((m) => `${m.messageId}:${String(m.content)}`);
}

/** Events appended by fn, as types. */
async function appended(chat: ChatStore, fn: () => Promise<unknown>): Promise<string[]> {
  const head = await chat.events.headPosition();
  await fn();
  return (await chat.events.readAll({ fromPosition: head + 1 })).events.map((e) => e.type);
}

chatSuites('chat: messages.sync', (test, open) => {
  test('sync of a new chat adds every message in list order, in one atomic append', () =>
    open(async (chat) => {
      await seedSession(chat);
      let result: SyncResult | undefined;
      const types = await appended(chat, async () => {
        result = await chat.messages.sync('s1', [msg('a', 'hi'), msg('b', 'hello', 'assistant')]);
      });
      assert.equal(types, ['message.added', 'message.added']);
      assert.equal(result, { added: ['a', 'b'], edited: [], deleted: [], unchanged: 0, position: result!.position });
      assert.equal(await contents(chat), ['a:hi', 'b:hello']);
    }));

  test('sync of the same list appends nothing', () =>
    open(async (chat) => {
      await seedSession(chat);
      const list = [msg('a', 'hi'), msg('b', 'hello', 'assistant')];
      await chat.messages.sync('s1', list);
      const types = await appended(chat, async () => {
        const r = await chat.messages.sync('s1', structuredClone(list));
        assert.is(r.unchanged, 2);
        assert.equal([r.added, r.edited, r.deleted], [[], [], []]);
      });
      assert.equal(types, []);
    }));

  test('sync with one new message at the end appends that one message', () =>
    open(async (chat) => {
      await seedSession(chat);
      const list = Array.from({ length: 20 }, (_, i) => msg(`m${i}`, `text ${i}`, i % 2 ? 'assistant' : 'user'));
      await chat.messages.sync('s1', list);
      const types = await appended(chat, () => chat.messages.sync('s1', [...list, msg('m20', 'more')]));
      assert.equal(types, ['message.added']);
      assert.is((await chat.messages.count('s1')).count, 21);
    }));

  test('sync appends adds, edits and deletes together: the list is the truth', () =>
    open(async (chat) => {
      await seedSession(chat);
      await chat.messages.sync('s1', [msg('a', '1'), msg('b', '2', 'assistant'), msg('c', '3'), msg('d', '4', 'assistant')]);
      let r: SyncResult | undefined;
      const types = await appended(chat, async () => {
        r = await chat.messages.sync('s1', [msg('a', '1'), msg('c', '3 edited'), msg('e', '5', 'assistant')]);
      });
      assert.equal(types, ['message.deleted', 'message.deleted', 'message.edited', 'message.added']);
      assert.equal(r!.deleted, ['b', 'd']);
      assert.equal(await contents(chat), ['a:1', 'c:3 edited', 'e:5']);
      // Every change of one sync is at one commit: a reader sees all or none.
      const events = (await chat.events.readStream('s-s1', { fromVersion: 1 })).slice(-4);
      assert.is(new Set(events.map((e) => e.timestamp)).size, 1);
    }));

  test('sync reads no message from the log to find what changed', () =>
    open(async (chat) => {
      await seedSession(chat);
      const list = Array.from({ length: 50 }, (_, i) => msg(`m${i}`, `text ${i}`));
      await chat.messages.sync('s1', list);
      const events = chat.events as unknown as Record<string, (...a: unknown[]) => unknown>;
      const reads: string[] = [];
      const originals = new Map<string, (...a: unknown[]) => unknown>();
      // Stream reads are how content is read; the feed read after the append is the projections catching up on it.
      for (const name of ['readStream', 'streamEvents']) {
        const original = events[name]!;
        originals.set(name, original);
        events[name] = function (this: unknown, ...args: unknown[]) {
          reads.push(name);
          return original.apply(this, args);
        };
      }
      try {
        await chat.messages.sync('s1', [...list.slice(0, 49), msg('m49', 'changed'), msg('m50', 'new')]);
      } finally {
        for (const [name, original] of originals) events[name] = original;
      }
      assert.equal(reads, []);
      assert.equal((await contents(chat)).slice(-2), ['m49:changed', 'm50:new']);
    }));

  test('sync with a message moved or put between others deletes and adds again what must follow it', () =>
    open(async (chat) => {
      await seedSession(chat);
      await chat.messages.sync('s1', [msg('a', '1'), msg('b', '2'), msg('c', '3')]);
      const r = await chat.messages.sync('s1', [msg('a', '1'), msg('x', 'new'), msg('b', '2'), msg('c', '3')]);
      assert.equal([r.added, r.deleted, r.unchanged], [['x', 'b', 'c'], ['b', 'c'], 1]);
      assert.equal(await contents(chat), ['a:1', 'x:new', 'b:2', 'c:3']);
      const moved = await chat.messages.sync('s1', [msg('a', '1'), msg('b', '2'), msg('x', 'new'), msg('c', '3')]);
      assert.equal(moved.deleted, ['x', 'c']);
      assert.equal(await contents(chat), ['a:1', 'b:2', 'x:new', 'c:3']);
      // The earlier b is in the audit trail.
      assert.is((await chat.messages.history('s1', 'b')).earlier.length, 1);
    }));

  test('sync with a changed role deletes the message and adds it again', () =>
    open(async (chat) => {
      await seedSession(chat);
      await chat.messages.sync('s1', [msg('a', '1'), msg('b', '2')]);
      const r = await chat.messages.sync('s1', [msg('a', '1', 'system'), msg('b', '2')]);
      assert.equal([r.added, r.deleted], [['a', 'b'], ['a', 'b']]);
      assert.equal((await chat.messages.list('s1')).items.map((m) => m.role), ['system', 'user']);
    }));

  test('sync of an empty list deletes every message', () =>
    open(async (chat) => {
      await seedSession(chat);
      await chat.messages.sync('s1', [msg('a', '1'), msg('b', '2')]);
      const r = await chat.messages.sync('s1', []);
      assert.equal(r.deleted, ['a', 'b']);
      assert.is((await chat.messages.count('s1')).count, 0);
    }));

  test('sync refuses a repeated id, a message without an id, a bad message and an unknown session, appending nothing', () =>
    open(async (chat) => {
      await seedSession(chat);
      await chat.messages.sync('s1', [msg('a', '1')]);
      await failsCleanly(chat, () => chat.messages.sync('s1', [msg('a', '1'), msg('a', '2')]), ErrorCode.INVALID_ARGUMENT, 'messages[1].messageId');
      await failsCleanly(chat, () => chat.messages.sync('s1', [msg('a', '1'), msg('n', '2'), msg('a', '3')]), ErrorCode.INVALID_ARGUMENT, 'messages[2].messageId');
      await failsCleanly(chat, () => chat.messages.sync('s1', [msg('a', '1'), msg('n', '2'), msg('n', '3')]), ErrorCode.INVALID_ARGUMENT, 'messages[2].messageId');
      await failsCleanly(chat, () => chat.messages.sync('s1', [{ role: 'user', content: 'x' } as never]), ErrorCode.INVALID_ARGUMENT, 'messages[0].messageId');
      await failsCleanly(chat, () => chat.messages.sync('s1', [msg('a', '1'), { messageId: 'b', role: 'user', content: 9 as never }]), ErrorCode.INVALID_ARGUMENT, 'messages[1].content');
      await failsCleanly(chat, () => chat.messages.sync('s1', [msg('a', '1'), { messageId: 'c', role: 'user' } as never]), ErrorCode.INVALID_ARGUMENT, 'messages[1].content');
      await failsCleanly(chat, () => chat.messages.sync('s1', 'x' as never), ErrorCode.INVALID_ARGUMENT, 'messages');
      await failsCleanly(chat, () => chat.messages.sync('nope', [msg('a', '1')]), ErrorCode.NOT_FOUND, 'sessionId');
      assert.equal(await contents(chat), ['a:1']);
    }));

  test('sync finds a change anywhere in a message: deep in extra, at the end of a long text, in a number', () =>
    open(async (chat) => {
      await seedSession(chat);
      const long = 'a long text, hashed as UTF-8 words: héllo 👋 '.repeat(20);
      const make = (deep: string, text: string, n: number) =>
        ({ messageId: 'b', role: 'assistant', content: [{ type: 'text', text }], metadata: { usage: { inputTokens: 3 }, score: n }, extra: { a: { b: [1, { c: deep }] } } }) as Saved;
      await chat.messages.sync('s1', [msg('a', '1'), make('x', long, 1.5)]);
      const edited = async (m: Saved) => (await chat.messages.sync('s1', [msg('a', '1'), m])).edited;
      assert.equal(await edited(make('x', long, 1.5)), []);
      assert.equal(await edited(make('y', long, 1.5)), ['b']);
      assert.equal((await chat.messages.get('s1', 'b')).extra, { a: { b: [1, { c: 'y' }] } });
      assert.equal(await edited(make('y', `${long.slice(0, -1)}!`, 1.5)), ['b']);
      assert.equal(await edited(make('y', `${long.slice(0, -1)}!`, 1.5000001)), ['b']);
      assert.equal(await edited(make('y', `${long.slice(0, -1)}!`, 1.5000001)), []);
    }));

  test('sync takes a message as it will be stored: a Date or an undefined key that stores the same is unchanged', () =>
    open(async (chat) => {
      await seedSession(chat);
      const when = new Date(Date.UTC(2024, 0, 2));
      await chat.messages.sync('s1', [{ messageId: 'a', role: 'user', content: 'hi', metadata: { when: when.toISOString() } }]);
      const r = await chat.messages.sync('s1', [{ messageId: 'a', role: 'user', content: 'hi', metadata: { when, gone: undefined } as never, extra: undefined }]);
      assert.equal([r.unchanged, r.edited], [1, []]);
    }));

  test('sync takes the same keys in another order as an edit: the message reads back in the order given', () =>
    open(async (chat) => {
      await seedSession(chat);
      await chat.messages.sync('s1', [{ messageId: 'a', role: 'user', content: 'hi', extra: { x: 1, y: { p: 1, q: 2 } } }]);
      const r = await chat.messages.sync('s1', [{ messageId: 'a', role: 'user', content: 'hi', extra: { x: 1, y: { q: 2, p: 1 } } }]);
      assert.equal(r.edited, ['a']);
      const extra = (await chat.messages.get('s1', 'a')).extra as { y: object };
      assert.equal(Object.keys(extra.y), ['q', 'p']);
    }));

  test('sync refuses a message with a hidden getter (not enumerable, or on a symbol), unchanged or not, without running it', () =>
    open(async (chat) => {
      await seedSession(chat);
      await chat.messages.sync('s1', [msg('a', '1')]);
      let ran = false;
      const get = () => {
        ran = true;
        return 'x';
      };
      const hidden = Object.defineProperty(msg('a', '1'), 'extra', { get, enumerable: false });
      await failsCleanly(chat, () => chat.messages.sync('s1', [hidden]), ErrorCode.INVALID_ARGUMENT, 'messages[0].extra');
      const symbol = Object.defineProperty(msg('b', '2'), Symbol('s'), { get, enumerable: true });
      await failsCleanly(chat, () => chat.messages.sync('s1', [msg('a', '1'), symbol]), ErrorCode.INVALID_ARGUMENT, 'messages[1].a symbol key');
      assert.is(ran, false);
    }));

  test('the digests sync compares are the same rebuilt from the log as kept live', () =>
    open(async (chat) => {
      await seedSession(chat);
      await chat.messages.sync('s1', [msg('a', '1'), { messageId: 'b', role: 'assistant', content: [{ type: 'text', text: 't' }], metadata: { usage: { inputTokens: 1 } }, extra: { k: [1] } }]);
      await chat.projections.saveSnapshots();
      const c = await chat.projections.compare('messages');
      assert.ok(c.identical, c.differences.join(', '));
      const r = await chat.messages.sync('s1', [msg('a', '1'), { messageId: 'b', role: 'assistant', content: [{ type: 'text', text: 't' }], metadata: { usage: { inputTokens: 1 } }, extra: { k: [1] } }]);
      assert.is(r.unchanged, 2);
    }));
});
