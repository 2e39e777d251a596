import * as assert from 'uvu/assert';
import type { ContentPart, Message, NewMessage } from '../../src/chat/messages-api.js';
import { ErrorCode } from '../../src/kernel/errors.js';
import { plain } from '../../src/testing/backend-compliance/helpers.js';
import { chatSuites, failsCleanly, seedSession } from './helpers.js';

const strip = ({ position: _, ...m }: Message & { position?: number }): Message => m;

chatSuites('chat: message inputs apps write', (test, open) => {
  test('values are stored as JSON.stringify writes them: undefined keys dropped, a Date as its ISO string, bytes kept', () =>
    open(async (chat) => {
      await seedSession(chat);
      const when = new Date(Date.UTC(2002, 7, 1, 12));
      // As an app's types allow it (Dates, undefined), not as the stored types say it.
      const input = {
        messageId: undefined,
        role: 'assistant',
        content: [{ type: 'text', text: 'hi', extra: { state: undefined, at: when, list: [1, undefined], bytes: new Uint8Array([0, 255]) } }],
        metadata: { usage: { inputTokens: 3, outputTokens: 4, reasoningTokens: undefined }, sentAt: when, nothing: undefined, invalid: new Date(Number.NaN) },
      };
      const m = await chat.messages.add('s1', input as unknown as NewMessage);
      const want = {
        content: [{ type: 'text', text: 'hi', extra: { at: '2002-08-01T12:00:00.000Z', list: [1, null], bytes: new Uint8Array([0, 255]) } }],
        metadata: { usage: { inputTokens: 3, outputTokens: 4 }, sentAt: '2002-08-01T12:00:00.000Z', invalid: null },
      };
      // Bytes come back as a Uint8Array (a Buffer on some backends): compared by value.
      assert.equal(plain({ content: m.content, metadata: m.metadata }), want);
      const got = await chat.messages.get('s1', m.messageId);
      assert.equal(plain({ content: got.content, metadata: got.metadata }), want);
      assert.ok(!('nothing' in got.metadata));
    }));

  test('NaN, Infinity, BigInt, functions, symbols and cycles are INVALID_ARGUMENT naming the field, appending nothing', () =>
    open(async (chat) => {
      await seedSession(chat);
      const cycle: Record<string, unknown> = { a: 1 };
      cycle.self = cycle;
      const cases: [unknown, string][] = [
        [Number.NaN, 'message.metadata.bad'],
        [Number.POSITIVE_INFINITY, 'message.metadata.bad'],
        [10n, 'message.metadata.bad'],
        [() => 1, 'message.metadata.bad'],
        [[1, Symbol('s')], 'message.metadata.bad[1]'],
        [cycle, 'message.metadata.bad.self'],
      ];
      for (const [bad, field] of cases) {
        await failsCleanly(chat, () => chat.messages.add('s1', { role: 'user', content: 'x', metadata: { bad } as never }), ErrorCode.INVALID_ARGUMENT, field);
      }
      assert.is((await chat.messages.count('s1')).count, 0);
    }));

  test('the same JSON rule holds for session metadata, user profiles and context values', () =>
    open(async (chat) => {
      const when = new Date(Date.UTC(2020, 0, 1));
      await chat.users.create({ userId: 'u1', displayName: undefined, profile: { since: when, gone: undefined } as never });
      assert.equal((await chat.users.get('u1')).profile, { since: '2020-01-01T00:00:00.000Z' });
      await chat.sessions.create({ userId: 'u1', sessionId: 's1', title: 'A chat', tags: undefined, metadata: { at: when } as never });
      assert.equal((await chat.sessions.get('s1')).metadata, { at: '2020-01-01T00:00:00.000Z' });
      await chat.context.set('s1', { at: when, skip: undefined } as never);
      assert.equal((await chat.context.get('s1')).context, { at: '2020-01-01T00:00:00.000Z' });
      await failsCleanly(chat, () => chat.context.set('s1', { n: Number.NaN }), ErrorCode.INVALID_ARGUMENT, 'context.n');
    }));

  test('formerly refused inputs are kept: app roles with capitals, data: and blob: URLs, media type parameters, tool names with spaces, finishReason null, rich usage', () =>
    open(async (chat) => {
      await seedSession(chat);
      const inputs = [
        { role: 'Critic', content: 'Too long.' },
        { role: 'Developer', content: 'Be brief.' },
        {
          role: 'user',
          content: [
            { type: 'file' as const, url: 'data:text/plain;charset=utf-8;base64,aGk=', mediaType: 'text/plain; charset=utf-8', name: 'hi.txt' },
            { type: 'image' as const, url: 'blob:https://app.example/6f1c', mediaType: 'image/png' },
          ],
        },
        {
          role: 'assistant',
          content: [{ type: 'tool_call' as const, id: 'call-1', name: 'get weather', arguments: { city: 'Lisbon' } }],
          metadata: {
            finishReason: null,
            usage: { inputTokens: 10, outputTokens: 5, totalTokens: 15, cachedInputTokens: 2, inputTokenDetails: { noCacheTokens: 8, cacheReadTokens: 2, cacheWriteTokens: 0 } },
          },
        },
      ];
      const added = await chat.messages.add('s1', inputs);
      for (const [i, m] of added.entries()) {
        const got = strip(await chat.messages.get('s1', m.messageId));
        assert.equal(got, strip(m));
        assert.equal({ role: got.role, content: got.content, metadata: got.metadata }, { metadata: {}, ...inputs[i] }, `message ${i}`);
      }
    }));

  test('extra on the message and its parts, and other parts, come back as given, through edits too', () =>
    open(async (chat) => {
      await seedSession(chat);
      const content: ContentPart[] = [
        { type: 'text', text: 'hi', extra: { state: 'done', providerOptions: { openai: { store: false } } } },
        { type: 'other', extra: { type: 'step-start' } },
        { type: 'other', extra: { type: 'data-weather', id: 'w1', data: { tempC: 21 } } },
      ];
      const m = await chat.messages.add('s1', { messageId: 'm1', role: 'assistant', content, extra: { name: 'bot', additional_kwargs: { k: [1] } } });
      assert.equal(m.content, content);
      assert.equal(m.extra, { name: 'bot', additional_kwargs: { k: [1] } });
      const plain = await chat.messages.add('s1', { role: 'user', content: 'no extra' });
      assert.ok(!('extra' in (await chat.messages.get('s1', plain.messageId))));
      // An edit without extra keeps it; one with extra replaces it.
      await chat.messages.edit('s1', 'm1', { content: 'edited' });
      assert.equal((await chat.messages.get('s1', 'm1')).extra, { name: 'bot', additional_kwargs: { k: [1] } });
      await chat.messages.edit('s1', 'm1', { content: 'again', extra: { name: 'other' } });
      assert.equal((await chat.messages.get('s1', 'm1')).extra, { name: 'other' });
      assert.equal((await chat.messages.get('s1', 'm1', { revision: 1 })).content, content);
    }));
});
