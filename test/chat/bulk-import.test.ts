/**
 * The bulk path of history imports (issue 11, deliverable 3): `chat.import.sessions`
 * writes each session with its messages in one append, many at once.
 */
import * as assert from 'uvu/assert';
import type { ImportedSession } from '../../src/chat/bulk-import.js';
import { ErrorCode } from '../../src/kernel/errors.js';
import { chatSuites, fails, seedUser } from './helpers.js';

const T = (iso: string) => Date.parse(iso);

const thread = (i: number): ImportedSession => ({
  sessionId: `t${i}`,
  userId: 'u1',
  title: `Re:\tthread ${i}`,
  createdAt: new Date(T('2002-08-01T00:00:00Z') + i * 60_000),
  messages: [
    { messageId: 'q', role: 'user', content: `question ${i}`, createdAt: T('2002-08-01T00:00:00Z') + i * 60_000 },
    { messageId: 'a', role: 'assistant', content: `answer ${i}`, createdAt: T('2002-08-01T01:00:00Z') + i * 60_000 },
  ],
});

chatSuites('chat: bulk import', (test, open) => {
  test('imports many sessions with their messages and times; each session is one append of all its events', () =>
    open(async (chat) => {
      await seedUser(chat);
      const report = await chat.import.sessions(Array.from({ length: 50 }, (_, i) => thread(i)), { concurrency: 8 });
      assert.equal([report.sessions, report.messages], [50, 100]);
      assert.is(report.position, await chat.events.headPosition());
      const s = await chat.sessions.get('t7');
      assert.equal([s.title, s.createdAt, s.messageCount, s.lastMessageAt], ['Re:\tthread 7', T('2002-08-01T00:07:00Z'), 2, T('2002-08-01T01:07:00Z')]);
      const page = await chat.messages.list('t7');
      assert.equal(page.items.map((m) => [m.messageId, m.content, m.createdAt]), [['q', 'question 7', T('2002-08-01T00:07:00Z')], ['a', 'answer 7', T('2002-08-01T01:07:00Z')]]);
      const events = await chat.events.readStream('s-t7');
      assert.equal(events.map((e) => e.type), ['session.created', 'message.added', 'message.added']);
      assert.is(new Set(events.map((e) => e.position)).size, 3);
      assert.is(events[2]!.position - events[0]!.position, 2, 'written in one append: consecutive positions');
      assert.equal((await chat.sessions.list('u1', { limit: 1 })).items[0]!.sessionId, 't49', 'listed by createdAt');
    }));

  test('takes an async iterable, inline bytes, and attachments of the user library', () =>
    open(async (chat) => {
      await seedUser(chat);
      const lib = await chat.documents.upload({ userId: 'u1', mediaType: 'text/plain' }, Buffer.from('library'));
      async function* archive(): AsyncGenerator<ImportedSession> {
        yield { sessionId: 'x', userId: 'u1', title: '', messages: [{ role: 'user', content: [{ type: 'file', url: 'data:text/plain;base64,aGk=' }], attachments: [{ documentId: lib.documentId }] }] };
      }
      assert.is((await chat.import.sessions(archive())).messages, 1);
      const [m] = (await chat.messages.list('x')).items;
      assert.equal(m!.content, [{ type: 'file', url: 'data:text/plain;base64,aGk=' }]);
      assert.is((await chat.documents.list({ sessionId: 'x' })).items.length, 1);
    }));

  test('stops at the first session refused, naming it by its place; sessions before it stay, the refused one is not written', () =>
    open(async (chat) => {
      await seedUser(chat);
      const bad = { ...thread(1), messages: [{ role: 'user', content: 'x', createdAt: 'someday' }] };
      await fails(chat.import.sessions([thread(0), bad, thread(2)], { concurrency: 1 }), ErrorCode.INVALID_ARGUMENT, 'sessions[1].messages[0].createdAt');
      assert.ok(await chat.sessions.get('t0'));
      await fails(chat.sessions.get('t1'), ErrorCode.NOT_FOUND);
      await fails(chat.sessions.get('t2'), ErrorCode.NOT_FOUND);
      await fails(chat.import.sessions([thread(0)]), ErrorCode.CONFLICT, 'sessions[0].sessionId');
      await fails(chat.import.sessions([{ ...thread(3), userId: 'nobody' }]), ErrorCode.NOT_FOUND, 'sessions[0].userId');
      await fails(chat.import.sessions([{ ...thread(4), messages: [{ messageId: 'm', role: 'user', content: 'a' }, { messageId: 'm', role: 'user', content: 'b' }] }]), ErrorCode.CONFLICT, 'sessions[0].messages[1].messageId');
      await fails(chat.import.sessions([{ ...thread(5), messages: [{ role: 'user', content: 'a', attachments: [{ documentId: 'missing' }] }] }]), ErrorCode.NOT_FOUND, 'sessions[0].messages[0].attachments[0].documentId');
      await fails(chat.import.sessions(42 as never), ErrorCode.INVALID_ARGUMENT, 'sessions');
      await fails(chat.import.sessions([], { concurrency: 0 }), ErrorCode.INVALID_ARGUMENT, 'concurrency');
    }));
});
