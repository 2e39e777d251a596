import * as assert from 'uvu/assert';
import type { ChatStore } from '../../src/chat/chat-store.js';
import type { ContentPart, Message, MessageListOptions, NewMessage } from '../../src/chat/messages-api.js';
import { ErrorCode } from '../../src/kernel/errors.js';
import { chatSuites, fails, failsCleanly, seedSession, seedUser } from './helpers.js';

const strip = ({ position: _, ...m }: Message & { position?: number }): Message => m;

async function upload(chat: ChatStore, owner: { sessionId: string } | { userId: string }, text: string): Promise<string> {
  return (await chat.documents.upload({ ...owner, name: `${text}.txt`, mediaType: 'text/plain' }, Buffer.from(text))).documentId;
}

chatSuites('chat: messages', (test, open) => {
  test('add one message: a generated id, revision 1, and it reads back the same', () =>
    open(async (chat) => {
      await seedSession(chat);
      const m = await chat.messages.add('s1', { role: 'user', content: 'Hello there', metadata: { model: 'gpt-x', usage: { inputTokens: 3 }, finishReason: 'stop', mood: 'happy' } });
      assert.match(m.messageId, /^[0-9A-HJKMNP-TV-Z]{26}$/);
      assert.is(m.sessionId, 's1');
      assert.is(m.role, 'user');
      assert.is(m.content, 'Hello there');
      assert.equal(m.attachments, []);
      assert.equal(m.metadata, { model: 'gpt-x', usage: { inputTokens: 3 }, finishReason: 'stop', mood: 'happy' });
      assert.is(m.revision, 1);
      assert.is(m.createdAt, m.updatedAt);
      assert.ok(m.position > 0);
      const got = await chat.messages.get('s1', m.messageId);
      assert.equal(strip(got), strip(m));
      assert.is((await chat.messages.count('s1')).count, 1);
    }));

  test('add keeps a caller-given message id; the same id again is CONFLICT naming message.messageId, unless deleted', () =>
    open(async (chat) => {
      await seedSession(chat);
      const m = await chat.messages.add('s1', { messageId: 'msg-1', role: 'assistant', content: 'Hi' });
      assert.is(m.messageId, 'msg-1');
      await failsCleanly(chat, () => chat.messages.add('s1', { messageId: 'msg-1', role: 'user', content: 'again' }), ErrorCode.CONFLICT, 'message.messageId');
      // Message ids are per session: another session may use the same one.
      await seedSession(chat, 'u1', 's2');
      await chat.messages.add('s2', { messageId: 'msg-1', role: 'user', content: 'fine' });
      // A deleted message's id may be used again: a new message, the deleted one kept in its history.
      await chat.messages.delete('s1', 'msg-1');
      const again = await chat.messages.add('s1', { messageId: 'msg-1', role: 'user', content: 'again' });
      assert.is(again.revision, 1);
      const { revisions, earlier } = await chat.messages.history('s1', 'msg-1');
      assert.equal(revisions.map((r) => r.content), ['again']);
      assert.equal(earlier.map((e) => e.map((r) => r.content)), [['Hi']]);
    }));

  test('add many appends them in one atomic batch, in order', () =>
    open(async (chat) => {
      await seedSession(chat);
      const head = await chat.events.headPosition();
      const added = await chat.messages.add('s1', [
        { role: 'system', content: 'Be brief.' },
        { role: 'user', content: 'Hi' },
        { role: 'assistant', content: 'Hello' },
      ]);
      assert.equal(
        added.map((m) => m.content),
        ['Be brief.', 'Hi', 'Hello'],
      );
      const events = (await chat.events.readAll({ fromPosition: head + 1 })).events;
      assert.is(events.length, 3);
      assert.equal(
        events.map((e) => e.position),
        [head + 1, head + 2, head + 3],
      );
      assert.equal(
        (await chat.messages.list('s1')).items.map((m) => m.messageId),
        added.map((m) => m.messageId),
      );
    }));

  test('one bad message in a batch appends nothing, and the error names it', () =>
    open(async (chat) => {
      await seedSession(chat);
      const good: NewMessage = { role: 'user', content: 'fine' };
      await failsCleanly(chat, () => chat.messages.add('s1', [good, { role: 'bad\nrole', content: 'x' }, good]), ErrorCode.INVALID_ARGUMENT, 'messages[1].role');
      await failsCleanly(chat, () => chat.messages.add('s1', [good, good, { role: 'user', content: [{ type: 'text', text: 5 as never }] }]), ErrorCode.INVALID_ARGUMENT, 'messages[2].content[0].text');
      await failsCleanly(chat, () => chat.messages.add('s1', [good, { messageId: 'a', role: 'user', content: 'x' }, { messageId: 'a', role: 'user', content: 'y' }]), ErrorCode.CONFLICT, 'messages[2].messageId');
      await failsCleanly(chat, () => chat.messages.add('s1', [good, { messageId: 'a\u0000b', role: 'user', content: 'x' }]), ErrorCode.INVALID_ID, 'messages[1].messageId');
      await failsCleanly(chat, () => chat.messages.add('s1', [good, { role: 'user', content: 'x', attachments: [{ documentId: 'nope' }] }]), ErrorCode.NOT_FOUND, 'messages[1].attachments[0].documentId');
      await failsCleanly(chat, () => chat.messages.add('s1', [good, null as never]), ErrorCode.INVALID_ARGUMENT, 'messages[1]');
      await failsCleanly(chat, () => chat.messages.add('s1', []), ErrorCode.INVALID_ARGUMENT, 'messages');
      assert.is((await chat.messages.count('s1')).count, 0);
      assert.equal((await chat.messages.list('s1')).items, []);
    }));

  test('content as a list of parts: text, image and file by document or url, tool call, tool result, reasoning', () =>
    open(async (chat) => {
      await seedSession(chat);
      const doc = await upload(chat, { sessionId: 's1' }, 'picture');
      const content: ContentPart[] = [
        { type: 'text', text: 'Look at this' },
        { type: 'image', documentId: doc, mediaType: 'image/png', name: 'cat.png' },
        { type: 'image', url: 'https://example.org/dog.jpg' },
        { type: 'file', documentId: doc },
        { type: 'file', url: 'http://example.org/report.pdf', mediaType: 'application/pdf' },
        { type: 'reasoning', text: 'The user wants\ntwo things' },
        { type: 'tool_call', id: 'call_1', name: 'weather.lookup', arguments: { city: 'Rome', days: [1, 2] } },
        { type: 'tool_result', toolCallId: 'call_1', content: { temp: 21 }, isError: false },
      ];
      const m = await chat.messages.add('s1', { role: 'assistant', content });
      assert.equal(m.content, content);
      assert.equal((await chat.messages.get('s1', m.messageId)).content, content);
      assert.equal((await chat.messages.list('s1')).items[0]!.content, content);
    }));

  test('bad content parts are INVALID_ARGUMENT naming the part', () =>
    open(async (chat) => {
      await seedSession(chat);
      const doc = await upload(chat, { sessionId: 's1' }, 'picture');
      const bad = (content: unknown, field: string) => failsCleanly(chat, () => chat.messages.add('s1', { role: 'user', content: content as never }), ErrorCode.INVALID_ARGUMENT, field);
      await bad([{ type: 'video', url: 'https://x.org/a' }], 'message.content[0].type');
      await bad([{ type: 'text', text: 'a' }, { type: 'image', documentId: doc, url: 'https://x.org/a' }], 'message.content[1]');
      await bad([{ type: 'image' }], 'message.content[0]');
      await bad([{ type: 'file', url: 'javascript:alert(1)' }], 'message.content[0].url');
      await bad([{ type: 'tool_call', id: 'c1', name: 'has\ttab', arguments: {} }], 'message.content[0].name');
      await bad([{ type: 'tool_result', toolCallId: 'c1', content: 1, isError: 'no' }], 'message.content[0].isError');
      await bad([{ type: 'text', text: 'a', extra: 1 }], 'message.content[0].extra');
      await bad(42, 'message.content');
      await bad('x'.repeat(1_000_001), 'message.content');
      await failsCleanly(chat, () => chat.messages.add('s1', { role: 'user', content: 'x', metadata: { usage: { inputTokens: -1 } } }), ErrorCode.INVALID_ARGUMENT, 'message.metadata.usage.inputTokens');
      await failsCleanly(chat, () => chat.messages.add('s1', { role: 'user', content: 'x', colour: 'red' } as never), ErrorCode.INVALID_ARGUMENT, 'message.colour');
      await failsCleanly(chat, () => chat.messages.add('s1', { role: 'user' } as never), ErrorCode.INVALID_ARGUMENT, 'message.content');
    }));

  test('attachments and document parts must name live documents of the session or of its user library', () =>
    open(async (chat) => {
      await seedSession(chat, 'u1', 's1');
      await seedSession(chat, 'u1', 's2');
      await seedSession(chat, 'u2', 'o1');
      const own = await upload(chat, { sessionId: 's1' }, 'own');
      const library = await upload(chat, { userId: 'u1' }, 'library');
      const otherSession = await upload(chat, { sessionId: 's2' }, 'other-session');
      const otherUser = await upload(chat, { userId: 'u2' }, 'other-user');
      const gone = await upload(chat, { sessionId: 's1' }, 'gone');
      await chat.documents.delete(gone);

      const m = await chat.messages.add('s1', {
        role: 'user',
        content: [{ type: 'file', documentId: library }],
        attachments: [{ documentId: own, name: 'own.txt', mediaType: 'text/plain' }, { documentId: library }],
      });
      assert.equal(m.attachments, [{ documentId: own, name: 'own.txt', mediaType: 'text/plain' }, { documentId: library }]);
      for (const id of [otherSession, otherUser, gone, 'never-was']) {
        const err = await failsCleanly(chat, () => chat.messages.add('s1', { role: 'user', content: 'x', attachments: [{ documentId: id }] }), ErrorCode.NOT_FOUND, 'message.attachments[0].documentId');
        assert.is(err.details.id, id);
        await failsCleanly(chat, () => chat.messages.add('s1', { role: 'user', content: [{ type: 'text', text: 'a' }, { type: 'image', documentId: id }] }), ErrorCode.NOT_FOUND, 'message.content[1].documentId');
        await failsCleanly(chat, () => chat.messages.edit('s1', m.messageId, { content: 'x', attachments: [{ documentId: id }] }), ErrorCode.NOT_FOUND, 'changes.attachments[0].documentId');
      }
      await failsCleanly(chat, () => chat.messages.add('s1', { role: 'user', content: 'x', attachments: [{ documentId: '\u0085etc' }] }), ErrorCode.INVALID_ID, 'message.attachments[0].documentId');
    }));

  test('get, get at a revision, and history: every earlier revision stays readable after edits', () =>
    open(async (chat) => {
      await seedSession(chat);
      const doc = await upload(chat, { sessionId: 's1' }, 'doc');
      const m = await chat.messages.add('s1', { role: 'assistant', content: 'first', metadata: { model: 'a' }, attachments: [{ documentId: doc }] });
      const e1 = await chat.messages.edit('s1', m.messageId, { content: 'second' });
      assert.is(e1.revision, 2);
      assert.is(e1.content, 'second');
      // Attachments and metadata left out stay as they were.
      assert.equal(e1.attachments, [{ documentId: doc }]);
      assert.equal(e1.metadata, { model: 'a' });
      assert.is(e1.createdAt, m.createdAt);
      assert.ok(e1.updatedAt >= m.updatedAt);
      const e2 = await chat.messages.edit('s1', m.messageId, { content: [{ type: 'text', text: 'third' }], metadata: { model: 'b' }, attachments: [] });
      assert.is(e2.revision, 3);
      assert.equal(e2.metadata, { model: 'b' });
      assert.equal(e2.attachments, []);
      assert.is(e2.role, 'assistant');

      assert.is((await chat.messages.get('s1', m.messageId)).revision, 3);
      const r1 = await chat.messages.get('s1', m.messageId, { revision: 1 });
      assert.is(r1.content, 'first');
      assert.equal(r1.metadata, { model: 'a' });
      assert.is((await chat.messages.get('s1', m.messageId, { revision: 2 })).content, 'second');
      assert.equal((await chat.messages.get('s1', m.messageId, { revision: 3 })).content, [{ type: 'text', text: 'third' }]);
      await fails(chat.messages.get('s1', m.messageId, { revision: 4 }), ErrorCode.NOT_FOUND, 'revision');
      await fails(chat.messages.get('s1', m.messageId, { revision: 0 }), ErrorCode.INVALID_ARGUMENT, 'revision');
      await fails(chat.messages.get('s1', m.messageId, { revision: 1.5 }), ErrorCode.INVALID_ARGUMENT, 'revision');

      const { revisions, position } = await chat.messages.history('s1', m.messageId);
      assert.ok(position > 0);
      assert.equal(
        revisions.map((r) => [r.revision, r.content]),
        [
          [1, 'first'],
          [2, 'second'],
          [3, [{ type: 'text', text: 'third' }]],
        ],
      );
      // The edits are events of the log: the first revision is never overwritten.
      assert.is((await chat.events.readStream('s-s1', { types: ['message.edited'] })).length, 2);
    }));

  test('edit refuses bad changes, unknown and deleted messages, appending nothing', () =>
    open(async (chat) => {
      await seedSession(chat);
      const m = await chat.messages.add('s1', { role: 'user', content: 'x' });
      const other = await chat.messages.add('s1', { role: 'user', content: 'y' });
      await failsCleanly(chat, () => chat.messages.edit('s1', m.messageId, { content: 7 as never }), ErrorCode.INVALID_ARGUMENT, 'changes.content');
      await failsCleanly(chat, () => chat.messages.edit('s1', m.messageId, { content: 'x', role: 'system' } as never), ErrorCode.INVALID_ARGUMENT, 'changes.role');
      await failsCleanly(chat, () => chat.messages.edit('s1', m.messageId, {} as never), ErrorCode.INVALID_ARGUMENT, 'changes.content');
      await failsCleanly(chat, () => chat.messages.edit('s1', m.messageId, null as never), ErrorCode.INVALID_ARGUMENT, 'changes');
      // The message is the one named by the call, never one named inside the changes.
      await failsCleanly(chat, () => chat.messages.edit('s1', m.messageId, { messageId: other.messageId, content: 'hijack' } as never), ErrorCode.INVALID_ARGUMENT, 'changes.messageId');
      await failsCleanly(chat, () => chat.messages.edit('s1', 'nope', { content: 'z' }), ErrorCode.NOT_FOUND, 'messageId');
      await failsCleanly(chat, () => chat.messages.edit('ghost', m.messageId, { content: 'z' }), ErrorCode.NOT_FOUND, 'sessionId');
      await chat.messages.delete('s1', m.messageId);
      await failsCleanly(chat, () => chat.messages.edit('s1', m.messageId, { content: 'z' }), ErrorCode.NOT_FOUND, 'messageId');
      assert.is((await chat.messages.get('s1', other.messageId)).content, 'y');
    }));

  test('delete: reads stop returning the message, count goes down, a second delete is NOT_FOUND', () =>
    open(async (chat) => {
      await seedSession(chat);
      const [a, b] = await chat.messages.add('s1', [
        { role: 'user', content: 'a' },
        { role: 'user', content: 'b' },
      ]);
      const result = await chat.messages.delete('s1', a!.messageId);
      assert.is(result.messageId, a!.messageId);
      assert.ok(result.position > b!.position);
      await fails(chat.messages.get('s1', a!.messageId), ErrorCode.NOT_FOUND, 'messageId');
      await fails(chat.messages.get('s1', a!.messageId, { revision: 1 }), ErrorCode.NOT_FOUND, 'messageId');
      await fails(chat.messages.history('s1', a!.messageId), ErrorCode.NOT_FOUND, 'messageId');
      assert.equal(
        (await chat.messages.list('s1')).items.map((m) => m.messageId),
        [b!.messageId],
      );
      const count = await chat.messages.count('s1');
      assert.is(count.count, 1);
      assert.ok(count.position >= result.position);
      await failsCleanly(chat, () => chat.messages.delete('s1', a!.messageId), ErrorCode.NOT_FOUND, 'messageId');
      await failsCleanly(chat, () => chat.messages.delete('s1', 'never'), ErrorCode.NOT_FOUND, 'messageId');
      // The log keeps what was said.
      assert.ok((await chat.events.readStream('s-s1')).some((e) => e.type === 'message.added' && (e.data as { messageId: string }).messageId === a!.messageId));
    }));

  test('bad ids and unknown sessions are refused on every message operation', () =>
    open(async (chat) => {
      await seedSession(chat);
      for (const bad of ['a\nb', '', 'x'.repeat(513), 'é'.repeat(257), 'a\uD800', 3]) {
        await fails(chat.messages.add(bad as never, { role: 'user', content: 'x' }), ErrorCode.INVALID_ID, 'sessionId');
        await fails(chat.messages.get('s1', bad as never), ErrorCode.INVALID_ID, 'messageId');
        await fails(chat.messages.edit('s1', bad as never, { content: 'x' }), ErrorCode.INVALID_ID, 'messageId');
        await fails(chat.messages.delete('s1', bad as never), ErrorCode.INVALID_ID, 'messageId');
        await fails(chat.messages.list(bad as never), ErrorCode.INVALID_ID, 'sessionId');
        await fails(chat.messages.count(bad as never), ErrorCode.INVALID_ID, 'sessionId');
      }
      await failsCleanly(chat, () => chat.messages.add('ghost', { role: 'user', content: 'x' }), ErrorCode.NOT_FOUND, 'sessionId');
      await fails(chat.messages.get('ghost', 'm'), ErrorCode.NOT_FOUND, 'sessionId');
      await fails(chat.messages.list('ghost'), ErrorCode.NOT_FOUND, 'sessionId');
      await fails(chat.messages.count('ghost'), ErrorCode.NOT_FOUND, 'sessionId');
    }));

  test('paging 250 messages forward and back, with deletions and edits mixed in: no repeats, no gaps', () =>
    open(async (chat) => {
      await seedSession(chat);
      const texts = new Map<string, string>();
      const order: string[] = [];
      for (let batch = 0; batch < 5; batch++) {
        const added = await chat.messages.add(
          's1',
          Array.from({ length: 50 }, (_, i) => ({ messageId: `m${String(batch * 50 + i).padStart(3, '0')}`, role: i % 2 ? 'assistant' : 'user', content: `text ${batch * 50 + i}` })),
        );
        for (const m of added) {
          order.push(m.messageId);
          texts.set(m.messageId, m.content as string);
        }
        // Edits and deletions between the batches, so they interleave in the log.
        for (const m of added) {
          const n = Number(m.messageId.slice(1));
          if (n % 11 === 3) {
            await chat.messages.delete('s1', m.messageId);
            texts.delete(m.messageId);
          } else if (n % 7 === 2) {
            await chat.messages.edit('s1', m.messageId, { content: `edited ${n}` });
            await chat.messages.edit('s1', m.messageId, { content: `edited again ${n}` });
            texts.set(m.messageId, `edited again ${n}`);
          }
        }
      }
      const live = order.filter((id) => texts.has(id));
      assert.is((await chat.messages.count('s1')).count, live.length);

      const walk = async (options: MessageListOptions, expected: string[]) => {
        const pages: Message[][] = [];
        let page = await chat.messages.list('s1', options);
        pages.push(page.items);
        while (page.hasMore) {
          page = await chat.messages.list('s1', { ...options, after: page.nextCursor! });
          pages.push(page.items);
        }
        const forward = pages.flat();
        assert.equal(
          forward.map((m) => m.messageId),
          expected,
        );
        for (const m of forward) {
          assert.is(m.content, texts.get(m.messageId));
          assert.is(m.revision, texts.get(m.messageId)!.startsWith('edited') ? 3 : 1);
        }
        // Back from the last page.
        const back: string[][] = [page.items.map((m) => m.messageId)];
        let cursor = page.prevCursor;
        for (;;) {
          const prev = await chat.messages.list('s1', { ...options, before: cursor! });
          back.unshift(prev.items.map((m) => m.messageId));
          if (!prev.hasMore) break;
          cursor = prev.prevCursor;
        }
        assert.equal(back.flat(), expected);
      };
      for (const limit of [1, 17, 50, 1000]) {
        await walk({ limit }, live);
        await walk({ limit, order: 'desc' }, [...live].reverse());
      }
    }));

  test("order 'desc' gives the last N messages, newest first; the default page is 50", () =>
    open(async (chat) => {
      await seedSession(chat);
      const added = await chat.messages.add(
        's1',
        Array.from({ length: 120 }, (_, i) => ({ role: 'user', content: `n${i}` })),
      );
      const last = await chat.messages.list('s1', { order: 'desc', limit: 10 });
      assert.equal(
        last.items.map((m) => m.content),
        Array.from({ length: 10 }, (_, i) => `n${119 - i}`),
      );
      assert.ok(last.hasMore);
      const first = await chat.messages.list('s1');
      assert.is(first.items.length, 50);
      assert.is(first.items[0]!.messageId, added[0]!.messageId);
      assert.ok(first.hasMore);
      assert.ok(first.position > 0);
    }));

  test('bad list options are INVALID_ARGUMENT naming the option', () =>
    open(async (chat) => {
      await seedUser(chat);
      await seedSession(chat);
      await chat.messages.add('s1', [
        { role: 'user', content: 'a' },
        { role: 'user', content: 'b' },
      ]);
      const sessionCursor = (await chat.sessions.list('u1', { limit: 1 })).nextCursor!;
      const page = await chat.messages.list('s1', { limit: 1 });
      for (const cursor of ['junk', sessionCursor, Buffer.from('[1.5]').toString('base64url'), Buffer.from('["1"]').toString('base64url')]) {
        await fails(chat.messages.list('s1', { after: cursor }), ErrorCode.INVALID_ARGUMENT, 'after');
        await fails(chat.messages.list('s1', { before: cursor }), ErrorCode.INVALID_ARGUMENT, 'before');
      }
      await fails(chat.messages.list('s1', { after: page.nextCursor!, before: page.nextCursor! }), ErrorCode.INVALID_ARGUMENT, 'before');
      await fails(chat.messages.list('s1', { limit: 0 }), ErrorCode.INVALID_ARGUMENT, 'limit');
      await fails(chat.messages.list('s1', { limit: 1001 }), ErrorCode.INVALID_ARGUMENT, 'limit');
      await fails(chat.messages.list('s1', { order: 'up' as never }), ErrorCode.INVALID_ARGUMENT, 'order');
    }));

  test('a v1 message.added written straight to the log reads back upcast, the model in its metadata', () =>
    open(async (chat) => {
      await seedSession(chat);
      const appended = await chat.events.append('s-s1', { type: 'message.added', schemaVersion: 1, data: { messageId: 'old-1', role: 'assistant', content: 'from 2023', model: 'gpt-3.5' } });
      await chat.events.append('s-s1', { type: 'message.added', schemaVersion: 1, data: { messageId: 'old-2', role: 'user', content: 'no model' } });
      const m = await chat.messages.get('s1', 'old-1', { waitFor: appended.lastPosition + 1 });
      assert.is(m.content, 'from 2023');
      assert.equal(m.metadata, { model: 'gpt-3.5' });
      assert.equal((await chat.messages.get('s1', 'old-2')).metadata, {});
      const page = await chat.messages.list('s1');
      assert.equal(
        page.items.map((x) => [x.messageId, x.metadata]),
        [
          ['old-1', { model: 'gpt-3.5' }],
          ['old-2', {}],
        ],
      );
      // An upcast message can be edited like any other.
      const edited = await chat.messages.edit('s1', 'old-1', { content: 'revised' });
      assert.equal(edited.metadata, { model: 'gpt-3.5' });
      assert.is((await chat.messages.get('s1', 'old-1', { revision: 1 })).content, 'from 2023');
    }));

  test('audit options land in the metadata of the events; bad ones are refused', () =>
    open(async (chat) => {
      await seedSession(chat);
      const m = await chat.messages.add('s1', { role: 'user', content: 'x' }, { actor: 'u1', correlationId: 'req-7', causationId: 'cmd-1' });
      const [e] = await chat.events.readStream('s-s1', { types: ['message.added'] });
      assert.is(e!.metadata.actor, 'u1');
      assert.is(e!.metadata.correlationId, 'req-7');
      assert.is(e!.metadata.causationId, 'cmd-1');
      await failsCleanly(chat, () => chat.messages.add('s1', { role: 'user', content: 'x' }, { actor: '' }), ErrorCode.INVALID_ARGUMENT, 'options.actor');
      await failsCleanly(chat, () => chat.messages.edit('s1', m.messageId, { content: 'y' }, { correlationId: 5 as never }), ErrorCode.INVALID_ARGUMENT, 'options.correlationId');
      await failsCleanly(chat, () => chat.messages.delete('s1', m.messageId, 'me' as never), ErrorCode.INVALID_ARGUMENT, 'options');
    }));
});
