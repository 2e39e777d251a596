import * as assert from 'uvu/assert';
import { ErrorCode } from '../../src/kernel/errors.js';
import { type MessageAdded, messageEvents } from '../../src/events/messages.js';
import type { EventDefinition } from '../../src/events/definition.js';
import { flatfileSuite } from '../flatfile/unit-helpers.js';
import { fails } from './fails.js';

const added: EventDefinition<unknown> = messageEvents['message.added'];
const edited: EventDefinition<unknown> = messageEvents['message.edited'];
const deleted: EventDefinition<unknown> = messageEvents['message.deleted'];
const truncated: EventDefinition<unknown> = messageEvents['message.truncated'];
const test = flatfileSuite('events: messages');

const base = { messageId: '01J0MSG', role: 'user' };
const withParts = (...parts: unknown[]) => ({ ...base, content: parts });

test('message.added is at schema version 4 with upcasters from versions 1, 2 and 3; message.edited at 3 with ones from 1 and 2', () => {
  assert.is(added.version, 4);
  assert.ok(added.history?.[1]);
  assert.ok(added.history?.[2]);
  assert.ok(added.history?.[3]);
  assert.is(edited.version, 3);
  assert.ok(edited.history?.[1]);
  assert.ok(edited.history?.[2]);
});

test('message.added accepts plain text content and every kind of typed part', () => {
  added.validate({ ...base, content: 'Hello' });
  added.validate({
    messageId: 'm-2',
    role: 'assistant',
    content: [
      { type: 'reasoning', text: 'The user greets me.' },
      { type: 'text', text: 'Hi! Here is the chart.' },
      { type: 'image', documentId: 'doc-1', mediaType: 'image/png', name: 'chart.png' },
      { type: 'file', url: 'https://example.org/report.pdf', mediaType: 'application/pdf' },
      { type: 'tool_call', id: 'call_abc', name: 'get_weather', arguments: { city: 'Paris' } },
      { type: 'tool_result', toolCallId: 'call_abc', content: { tempC: 21 }, isError: false },
    ],
    attachments: [{ documentId: 'doc-1', name: 'chart.png', mediaType: 'image/png' }],
    metadata: { model: 'gpt-4o', usage: { inputTokens: 12, outputTokens: 40, totalTokens: 52 }, finishReason: 'stop', latencyMs: 830, trace: { id: 'x' } },
  });
});

test('roles: any name an app uses, case kept: 1-256 characters without control characters', () => {
  for (const role of ['system', 'user', 'assistant', 'tool', 'model', 'narrator_2', 'critic-bot', 'Critic', 'Developer', '1user', 'a b', 'rôle', 'x'.repeat(256)]) {
    added.validate({ ...base, role, content: '' });
  }
  for (const role of ['', 'a\nb', 'tab\there', 'x'.repeat(257), 3, null]) fails(() => added.validate({ ...base, role, content: '' }), 'data.role');
});

test('the message id is checked as an event id (INVALID_ID naming data.messageId)', () => {
  fails(() => added.validate({ ...base, messageId: '', content: 'x' }), 'data.messageId', ErrorCode.INVALID_ID);
  fails(() => added.validate({ role: 'user', content: 'x' }), 'data.messageId', ErrorCode.INVALID_ID);
  fails(() => deleted.validate({ messageId: 'a\u0000b' }), 'data.messageId', ErrorCode.INVALID_ID);
});

test('a bad part is named by its index and field: unknown type, missing text, stray field', () => {
  fails(() => added.validate(withParts({ type: 'text', text: 'a' }, { type: 'text', text: 'b' }, { type: 'video', url: 'x' })), 'data.content[2].type');
  fails(() => added.validate(withParts({ type: 'text' })), 'data.content[0].text');
  fails(() => added.validate(withParts({ type: 'text', text: 'a', url: 'https://x' })), 'data.content[0].url');
  fails(() => added.validate(withParts('text')), 'data.content[0]');
  fails(() => added.validate({ ...base, content: 42 }), 'data.content');
});

test('image and file parts reference exactly one of a document and an http(s) URL', () => {
  fails(() => added.validate(withParts({ type: 'image' })), 'data.content[0]');
  fails(() => added.validate(withParts({ type: 'file', documentId: 'd1', url: 'https://x.org/f' })), 'data.content[0]');
  fails(() => added.validate(withParts({ type: 'image', url: 'javascript:alert(1)' })), 'data.content[0].url');
  fails(() => added.validate(withParts({ type: 'image', url: `https://x.org/${'a'.repeat(8192)}` })), 'data.content[0].url');
  fails(() => added.validate(withParts({ type: 'image', documentId: '\u001Betc' })), 'data.content[0].documentId', ErrorCode.INVALID_ID);
  fails(() => added.validate(withParts({ type: 'file', documentId: 'd1', mediaType: 'pdf' })), 'data.content[0].mediaType');
});

test('tool calls need an id and a tool name (any text: spaces too), and arguments are JSON when given; tool results name their call', () => {
  added.validate(withParts({ type: 'tool_call', id: 'c1', name: 'get weather', arguments: {} }));
  added.validate(withParts({ type: 'tool_call', id: 'c1', name: 'still streaming its arguments' }));
  fails(() => added.validate(withParts({ type: 'tool_call', id: 'c1', name: '' })), 'data.content[0].name');
  fails(() => added.validate(withParts({ type: 'tool_call', id: 'c1', name: 'a\nb', arguments: {} })), 'data.content[0].name');
  fails(() => added.validate(withParts({ type: 'tool_result', toolCallId: 'c1' })), 'data.content[0].content');
  fails(() => added.validate(withParts({ type: 'tool_call', id: 'c1', name: 'f', arguments: { n: Infinity } })), 'data.content[0].arguments.n');
  fails(() => added.validate(withParts({ type: 'tool_result', content: 'ok' })), 'data.content[0].toolCallId', ErrorCode.INVALID_ID);
  fails(() => added.validate(withParts({ type: 'tool_result', toolCallId: 'c1', content: 'ok', isError: 'no' })), 'data.content[0].isError');
});

test('sizes are bounded: text length, number of parts and attachments, metadata bytes', () => {
  fails(() => added.validate({ ...base, content: 'x'.repeat(1_000_001) }), 'data.content');
  fails(() => added.validate(withParts({ type: 'reasoning', text: 'x'.repeat(1_000_001) })), 'data.content[0].text');
  fails(() => added.validate(withParts(...Array.from({ length: 257 }, () => ({ type: 'text', text: '' })))), 'data.content');
  fails(() => added.validate({ ...base, content: '', attachments: Array.from({ length: 65 }, () => ({ documentId: 'd' })) }), 'data.attachments');
  fails(() => added.validate({ ...base, content: '', metadata: { blob: 'x'.repeat(65 * 1024) } }), 'data.metadata');
});

test('attachments and metadata name the bad field', () => {
  fails(() => added.validate({ ...base, content: '', attachments: [{ documentId: 'd1' }, { name: 'x' }] }), 'data.attachments[1].documentId', ErrorCode.INVALID_ID);
  fails(() => added.validate({ ...base, content: '', metadata: { usage: { inputTokens: -1 } } }), 'data.metadata.usage.inputTokens');
  fails(() => added.validate({ ...base, content: '', metadata: { usage: { outputTokens: 1.5 } } }), 'data.metadata.usage.outputTokens');
  fails(() => added.validate({ ...base, content: '', metadata: { usage: 12 } }), 'data.metadata.usage');
  fails(() => added.validate({ ...base, content: '', metadata: { finishReason: 'stop\n' } }), 'data.metadata.finishReason');
  fails(() => added.validate({ ...base, content: '', metadata: { finishReason: 'x'.repeat(65) } }), 'data.metadata.finishReason');
  fails(() => added.validate({ ...base, content: '', metadata: { model: '' } }), 'data.metadata.model');
});

test('metadata entities: up to 100 of { type (1-32 characters), text (1-200) }, on adds and edits, a bad one named by its index', () => {
  const entity = (type: unknown, text: unknown) => ({ type, text });
  const meta = (...entities: unknown[]) => ({ ...base, content: '', metadata: { entities } });
  added.validate(meta(entity('person', 'Ada Lovelace'), entity('ORDER', 'ORDER-1234'), entity('x'.repeat(32), 'y'.repeat(200))));
  added.validate({ ...base, content: '', metadata: { entities: [] } });
  edited.validate({ messageId: 'm1', content: 'x', metadata: { entities: [entity('id', 'A-12')] } });
  fails(() => added.validate({ ...base, content: '', metadata: { entities: 'Ada' } }), 'data.metadata.entities');
  fails(() => added.validate(meta(...Array.from({ length: 101 }, () => entity('t', 'v')))), 'data.metadata.entities');
  fails(() => added.validate(meta(entity('a', 'b'), entity('a', 'b'), entity('', 'c'))), 'data.metadata.entities[2].type');
  fails(() => added.validate(meta(entity('x'.repeat(33), 'c'))), 'data.metadata.entities[0].type');
  fails(() => added.validate(meta(entity(7, 'c'))), 'data.metadata.entities[0].type');
  fails(() => added.validate(meta(entity('a', ''))), 'data.metadata.entities[0].text');
  fails(() => added.validate(meta(entity('a', 'y'.repeat(201)))), 'data.metadata.entities[0].text');
  fails(() => added.validate(meta(entity('a', 'line\nbreak'))), 'data.metadata.entities[0].text');
  fails(() => added.validate(meta({ type: 'a', text: 'b', score: 0.9 })), 'data.metadata.entities[0].score');
  fails(() => added.validate(meta('Ada')), 'data.metadata.entities[0]');
  fails(() => edited.validate({ messageId: 'm1', content: 'x', metadata: { entities: [entity('a', '')] } }), 'data.metadata.entities[0].text');
});

test('version 1 (plain text, model beside it) upcasts to version 2 with the model in metadata', () => {
  const v1 = added.history![1]!;
  const old = { messageId: 'm1', role: 'assistant', content: 'Hi', model: 'gpt-3.5-turbo' };
  v1.validate(old);
  const v2 = v1.upcast(old as never) as MessageAdded;
  assert.equal(v2, { messageId: 'm1', role: 'assistant', content: 'Hi', metadata: { model: 'gpt-3.5-turbo' } });
  added.validate(v2);
  assert.equal(v1.upcast({ messageId: 'm1', role: 'user', content: 'Hi' } as never), { messageId: 'm1', role: 'user', content: 'Hi' });
});

test('version 1 payloads are checked by the version 1 schema: content was text only', () => {
  const v1 = added.history![1]!;
  fails(() => v1.validate({ messageId: 'm1', role: 'user', content: [{ type: 'text', text: 'a' }] }), 'data.content');
  fails(() => v1.validate({ messageId: 'm1', role: 'user', content: 'a', metadata: {} }), 'data.metadata');
});

test('message.edited carries new content without a role; message.deleted only the id', () => {
  edited.validate({ messageId: 'm1', content: [{ type: 'text', text: 'fixed' }] });
  fails(() => edited.validate({ messageId: 'm1', role: 'user', content: 'x' }), 'data.role');
  fails(() => edited.validate({ messageId: 'm1' }), 'data.content');
  deleted.validate({ messageId: 'm1' });
  fails(() => deleted.validate({ messageId: 'm1', reason: 'spam' }), 'data.reason');
});

test('image and file parts take data: and blob: URLs, any scheme but script ones, and media types with parameters', () => {
  added.validate(withParts({ type: 'file', url: 'data:text/plain;base64,aGk=', mediaType: 'text/plain; charset=utf-8' }));
  added.validate(withParts({ type: 'image', url: 'blob:https://app.example/6f1c-4b', mediaType: 'image/png' }));
  added.validate(withParts({ type: 'file', url: `data:application/octet-stream;base64,${'A'.repeat(100_000)}` }));
  added.validate(withParts({ type: 'file', url: 's3://bucket/key', mediaType: 'multipart/form-data; boundary="a b"' }));
  fails(() => added.validate(withParts({ type: 'file', url: 'vbscript:x' })), 'data.content[0].url');
  fails(() => added.validate(withParts({ type: 'file', url: 'no scheme' })), 'data.content[0].url');
  fails(() => added.validate(withParts({ type: 'file', url: 'https://x', mediaType: 'text/plain; a=\u0001' })), 'data.content[0].mediaType');
});

test('metadata: finishReason null, and usage objects with fields beyond the typed figures', () => {
  added.validate({ ...base, content: '', metadata: { finishReason: null } });
  added.validate({
    ...base,
    content: '',
    metadata: {
      finishReason: 'tool-calls',
      usage: { inputTokens: 10, outputTokens: 5, totalTokens: 15, cachedInputTokens: 2, inputTokenDetails: { noCacheTokens: 8, cacheReadTokens: 2 }, outputTokenDetails: { textTokens: 5 } },
    },
  });
});

test('extra: every part and the message keep a JSON object of their own; other parts are all extra', () => {
  const extra = { state: 'done', providerMetadata: { anthropic: { signature: 'sig' } }, bytes: new Uint8Array([1, 2]) };
  added.validate({
    ...base,
    content: [
      { type: 'text', text: 'a', extra },
      { type: 'reasoning', text: 'r', extra },
      { type: 'file', url: 'https://x.org/f', extra },
      { type: 'tool_call', id: 'c1', name: 'f', arguments: {}, extra },
      { type: 'tool_result', toolCallId: 'c1', content: null, extra },
      { type: 'other', extra: { type: 'step-start' } },
    ],
    extra: { name: 'bob', additional_kwargs: {} },
  });
  edited.validate({ messageId: 'm1', content: 'x', extra: { any: ['thing'] } });
  fails(() => added.validate(withParts({ type: 'other' })), 'data.content[0].extra');
  fails(() => added.validate(withParts({ type: 'other', extra: {}, text: 'x' })), 'data.content[0].text');
  fails(() => added.validate(withParts({ type: 'text', text: 'a', extra: [1] })), 'data.content[0].extra');
  fails(() => added.validate({ ...base, content: '', extra: 'x' }), 'data.extra');
  fails(() => added.validate({ ...base, content: '', extra: { big: 'x'.repeat(1024 * 1024 + 1) } }), 'data.extra');
});

test('version 2 payloads read as they are (version 3 only widened them)', () => {
  const v2 = added.history![2]!;
  const old = { messageId: 'm1', role: 'user', content: [{ type: 'text', text: 'a' }], metadata: { model: 'm' } };
  v2.validate(old);
  assert.is(v2.upcast(old as never), old);
  const e1 = edited.history![1]!;
  const oldEdit = { messageId: 'm1', content: 'b' };
  e1.validate(oldEdit);
  assert.is(e1.upcast(oldEdit as never), oldEdit);
});

test('message.edited version 3 removes the extra with null; version 2 refuses a null extra', () => {
  edited.validate({ messageId: 'm1', content: 'x', extra: null });
  fails(() => edited.history![2]!.validate({ messageId: 'm1', content: 'x', extra: null }), 'data.extra');
  fails(() => edited.validate({ messageId: 'm1', content: 'x', extra: 'gone' }), 'data.extra');
});

test('message.truncated names the messages it deletes, and optionally the message kept last', () => {
  truncated.validate({ after: 'm1', messageIds: ['m2', 'm3'] });
  truncated.validate({ messageIds: ['m1'] });
  fails(() => truncated.validate({ after: 'm1' }), 'data.messageIds');
  fails(() => truncated.validate({ messageIds: [] }), 'data.messageIds');
  fails(() => truncated.validate({ messageIds: ['m2', 'm2'] }), 'data.messageIds[1]');
  fails(() => truncated.validate({ after: 'm2', messageIds: ['m2'] }), 'data.messageIds[0]');
  fails(() => truncated.validate({ messageIds: ['m1'], reason: 'x' }), 'data.reason');
});

test.run();
