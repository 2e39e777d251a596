import * as assert from 'uvu/assert';
import { ErrorCode } from '../../src/kernel/errors.js';
import { chatSuites, fails, failsCleanly, seedSession } from './helpers.js';

chatSuites('chat: messages.upsert', (test, open) => {
  test('upsert adds a message whose id is new, and says so', () =>
    open(async (chat) => {
      await seedSession(chat);
      const r = await chat.messages.upsert('s1', { messageId: 'm1', role: 'user', content: 'Hi' });
      assert.is(r.outcome, 'added');
      assert.is(r.message.content, 'Hi');
      assert.is(r.message.revision, 1);
      assert.ok(r.position > 0);
    }));

  test('upsert of a message that reads the same appends nothing and says unchanged', () =>
    open(async (chat) => {
      await seedSession(chat);
      const m = { messageId: 'm1', role: 'assistant', content: [{ type: 'text' as const, text: 'Hello', extra: { state: 'done' } }], metadata: { model: 'x' }, extra: { id: 'm1' } };
      await chat.messages.upsert('s1', m);
      const head = await chat.events.headPosition();
      // Metadata and attachments left out read as {} and []: the same as given empty.
      await chat.messages.upsert('s1', { messageId: 'm2', role: 'user', content: 'q' });
      const again = await chat.messages.upsert('s1', structuredClone(m));
      assert.is(again.outcome, 'unchanged');
      assert.is(again.message.revision, 1);
      assert.is((await chat.messages.upsert('s1', { messageId: 'm2', role: 'user', content: 'q', attachments: [], metadata: {} })).outcome, 'unchanged');
      assert.is(await chat.events.headPosition(), head + 1);
    }));

  test('upsert of a message that reads differently appends one revision; fields given empty or left out are emptied', () =>
    open(async (chat) => {
      await seedSession(chat);
      await chat.messages.upsert('s1', { messageId: 'm1', role: 'assistant', content: 'draft', metadata: { model: 'x' }, extra: { a: 1 } });
      const head = await chat.events.headPosition();
      const r = await chat.messages.upsert('s1', { messageId: 'm1', role: 'assistant', content: 'final' });
      assert.is(r.outcome, 'edited');
      assert.is(r.message.revision, 2);
      assert.is(r.message.content, 'final');
      // The list is the truth: what the message no longer holds is gone.
      assert.equal(r.message.metadata, {});
      assert.is(r.message.extra, undefined);
      assert.is(await chat.events.headPosition(), head + 1);
      const { revisions } = await chat.messages.history('s1', 'm1');
      assert.equal(revisions.map((m) => m.content), ['draft', 'final']);
      assert.equal(revisions[0]!.extra, { a: 1 });
    }));

  test('upsert of a deleted id adds a new message; the old one stays in its history', () =>
    open(async (chat) => {
      await seedSession(chat);
      await chat.messages.upsert('s1', { messageId: 'm1', role: 'user', content: 'old' });
      await chat.messages.delete('s1', 'm1');
      const r = await chat.messages.upsert('s1', { messageId: 'm1', role: 'assistant', content: 'new' });
      assert.is(r.outcome, 'added');
      assert.is(r.message.role, 'assistant');
      const h = await chat.messages.history('s1', 'm1');
      assert.equal(h.revisions.map((m) => m.content), ['new']);
      assert.equal(h.earlier.map((e) => e.map((m) => m.content)), [['old']]);
      assert.is((await chat.messages.count('s1')).count, 1);
    }));

  test('upsert refuses a changed role (CONFLICT), a message without an id, and an unknown session, appending nothing', () =>
    open(async (chat) => {
      await seedSession(chat);
      await chat.messages.upsert('s1', { messageId: 'm1', role: 'user', content: 'Hi' });
      await failsCleanly(chat, () => chat.messages.upsert('s1', { messageId: 'm1', role: 'assistant', content: 'Hi' }), ErrorCode.CONFLICT, 'message.role');
      await failsCleanly(chat, () => chat.messages.upsert('s1', { role: 'user', content: 'Hi' } as never), ErrorCode.INVALID_ARGUMENT, 'message.messageId');
      await failsCleanly(chat, () => chat.messages.upsert('nope', { messageId: 'm1', role: 'user', content: 'Hi' }), ErrorCode.NOT_FOUND, 'sessionId');
      await failsCleanly(chat, () => chat.messages.upsert('s1', { messageId: 'm2', role: 'user', content: 7 as never }), ErrorCode.INVALID_ARGUMENT, 'message.content');
      await fails(chat.messages.upsert('s1', { messageId: 'm3', role: 'user', content: 'x', attachments: [{ documentId: 'missing' }] }), ErrorCode.NOT_FOUND, 'message.attachments[0].documentId');
    }));

  test('upsert keeps bytes and Dates as stored: a Date equal to its ISO string is unchanged', () =>
    open(async (chat) => {
      await seedSession(chat);
      const at = new Date('2024-05-01T10:00:00Z');
      await chat.messages.upsert('s1', { messageId: 'm1', role: 'user', content: 'x', metadata: { at: at as never, raw: new Uint8Array([1, 2]) as never } });
      const same = await chat.messages.upsert('s1', { messageId: 'm1', role: 'user', content: 'x', metadata: { at: at.toISOString(), raw: Buffer.from([1, 2]) as never } });
      assert.is(same.outcome, 'unchanged');
      const changed = await chat.messages.upsert('s1', { messageId: 'm1', role: 'user', content: 'x', metadata: { at: at.toISOString(), raw: new Uint8Array([1, 3]) as never } });
      assert.is(changed.outcome, 'edited');
    }));
});
