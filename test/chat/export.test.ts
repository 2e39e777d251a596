import * as assert from 'uvu/assert';
import type { ChatStore } from '../../src/chat/chat-store.js';
import { ErrorCode } from '../../src/kernel/errors.js';
import { chatSuites, collect, fails, seedSession } from './helpers.js';

const BYTES = new Uint8Array([0, 1, 2, 250, 255]);
const BYTES_BASE64 = Buffer.from(BYTES).toString('base64');

/** A session with text and part messages (one edited, one deleted), a document, context changes and a snapshot. */
async function seed(chat: ChatStore): Promise<{ messageIds: string[] }> {
  await seedSession(chat, 'u1', 's1', 'Export me');
  await chat.sessions.tag('s1', ['demo']);
  const doc = await chat.documents.upload({ sessionId: 's1', name: 'report.pdf', mediaType: 'application/pdf', metadata: { pages: 3 } }, Buffer.from('%PDF-1.4'));
  const [m1, m2, m3, m4] = await chat.messages.add('s1', [
    { role: 'system', content: 'You are helpful.' },
    { role: 'user', content: 'Show me code', attachments: [{ documentId: doc.documentId, name: 'report.pdf' }], metadata: { raw: BYTES } },
    { role: 'assistant', content: 'to be deleted' },
    {
      role: 'assistant',
      content: [
        { type: 'reasoning', text: 'They want code\nin a fence' },
        { type: 'text', text: 'Here it is' },
        { type: 'tool_call', id: 'call_1', name: 'run', arguments: { code: 'print("```")\n````nested', blob: BYTES } },
        { type: 'tool_result', toolCallId: 'call_1', content: '``````', isError: true },
      ],
    },
  ]);
  await chat.messages.edit('s1', m1!.messageId, { content: 'You are very helpful.' });
  await chat.messages.delete('s1', m3!.messageId);
  await chat.context.set('s1', { summary: 'Uses `backticks` and ```fences```', data: BYTES });
  await chat.context.snapshot('s1', 'first');
  await chat.context.patch('s1', { goal: 'ship' });
  return { messageIds: [m1!.messageId, m2!.messageId, m4!.messageId] };
}

/**
 * The bodies of the backtick code blocks of a Markdown text, and the lines outside
 * them, read as CommonMark does: a fence closes only with at least as many
 * backticks and nothing after them; an opening line whose info has a backtick is no fence.
 */
function fencedBlocks(md: string): { bodies: string[]; outside: string[] } {
  const blocks: string[][] = [];
  const outside: string[] = [];
  let open: string | undefined;
  for (const line of md.split('\n')) {
    const fence = /^(`{3,})(.*)$/.exec(line);
    if (open === undefined) {
      if (fence && !fence[2]!.includes('`')) {
        open = fence[1]!;
        blocks.push([]);
      } else {
        outside.push(line);
      }
    } else if (fence && fence[1]!.length >= open.length && fence[2]!.trim() === '') {
      open = undefined;
    } else {
      blocks.at(-1)!.push(line);
    }
  }
  assert.is(open, undefined, 'a fence is left open at the end of the export');
  return { bodies: blocks.map((b) => b.join('\n')), outside };
}

chatSuites('chat: export', (test, open) => {
  test('JSON: one document holding the session, its messages in order, documents and the context with its history', () =>
    open(async (chat) => {
      const { messageIds } = await seed(chat);
      const text = await collect(chat.export('s1', 'json'));
      const out = JSON.parse(text);
      assert.is(out.export.format, 'ffcdb.session-export/1');
      assert.ok(out.export.position > 0);
      assert.is(out.session.sessionId, 's1');
      assert.is(out.session.title, 'Export me');
      assert.equal(out.session.tags, ['demo']);
      assert.is(out.session.messageCount, 3);
      assert.equal(
        out.messages.map((m: { messageId: string }) => m.messageId),
        messageIds,
      );
      assert.is(out.messages[0].content, 'You are very helpful.');
      assert.is(out.messages[0].revision, 2);
      assert.is(out.messages[2].content[2].arguments.code, 'print("```")\n````nested');
      assert.equal(
        out.documents.map((d: { name: string; metadata: unknown }) => [d.name, d.metadata]),
        [['report.pdf', { pages: 3 }]],
      );
      assert.equal(out.context.current.goal, 'ship');
      assert.is(out.context.version, 2);
      assert.equal(
        out.context.history.map((c: { version: number; op: string }) => [c.version, c.op]),
        [
          [1, 'set'],
          [2, 'patch'],
        ],
      );
      assert.equal(out.context.history[1].value, { goal: 'ship' });
      assert.equal(
        out.context.snapshots.map((s: { name: string; version: number }) => [s.name, s.version]),
        [['first', 1]],
      );
    }));

  test('bytes in JSON values are written as {"$base64": ...}, in JSON and JSONL', () =>
    open(async (chat) => {
      await seed(chat);
      const out = JSON.parse(await collect(chat.export('s1', 'json')));
      assert.equal(out.messages[1].metadata.raw, { $base64: BYTES_BASE64 });
      assert.equal(out.messages[2].content[2].arguments.blob, { $base64: BYTES_BASE64 });
      assert.equal(out.context.current.data, { $base64: BYTES_BASE64 });
      assert.equal(out.context.history[0].value.data, { $base64: BYTES_BASE64 });
      const lines = (await collect(chat.export('s1', 'jsonl'))).trimEnd().split('\n').map((l) => JSON.parse(l));
      assert.equal(lines.find((l) => l.kind === 'context').context.data, { $base64: BYTES_BASE64 });
    }));

  test('JSONL: one JSON object per line, each with its kind, in a fixed order', () =>
    open(async (chat) => {
      const { messageIds } = await seed(chat);
      const text = await collect(chat.export('s1', 'jsonl'));
      assert.ok(text.endsWith('\n'));
      const lines = text.slice(0, -1).split('\n');
      const records = lines.map((l) => JSON.parse(l) as { kind: string; [k: string]: unknown });
      for (const r of records) assert.type(r.kind, 'string');
      assert.equal(
        records.map((r) => r.kind),
        ['export', 'session', 'message', 'message', 'message', 'document', 'context-change', 'context-change', 'context-snapshot', 'context'],
      );
      assert.equal(
        records.filter((r) => r.kind === 'message').map((r) => r.messageId),
        messageIds,
      );
      assert.is(records[1]!.title, 'Export me');
      assert.is((records.at(-1)!.context as { goal: string }).goal, 'ship');
    }));

  test('Markdown: the title, each message with its role and text, documents and context', () =>
    open(async (chat) => {
      await seed(chat);
      const md = await collect(chat.export('s1', 'markdown'));
      assert.ok(md.startsWith('# Export me\n'));
      assert.ok(md.includes('### system'));
      assert.ok(md.includes('You are very helpful.'));
      assert.ok(md.includes('(edited, revision 2)'));
      assert.ok(md.includes('### user'));
      assert.ok(md.includes('Show me code'));
      assert.ok(md.includes('### assistant'));
      assert.ok(md.includes('Here it is'));
      assert.ok(md.includes('> They want code\n> in a fence'));
      assert.not.ok(md.includes('to be deleted'));
      assert.ok(md.includes('report.pdf'));
      assert.ok(md.includes('## Context (version 2)'));
      assert.ok(md.includes('`demo`'));
    }));

  test('Markdown: content with backticks cannot close the code fences around it', () =>
    open(async (chat) => {
      await seed(chat);
      const md = await collect(chat.export('s1', 'markdown'));
      const { bodies } = fencedBlocks(md);
      const call = bodies.find((b) => b.includes('"code"'));
      assert.ok(call, 'the tool call arguments are in one block');
      assert.equal(JSON.parse(call!).code, 'print("```")\n````nested');
      assert.ok(bodies.some((b) => b.includes('``````')), 'the tool result is in one block');
      const context = bodies.find((b) => b.includes('"summary"'));
      assert.is(JSON.parse(context!).summary, 'Uses `backticks` and ```fences```');
    }));

  test('Markdown: a message that leaves a code fence open cannot swallow the messages after it', () =>
    open(async (chat) => {
      await seedSession(chat);
      await chat.messages.add('s1', [
        { role: 'assistant', content: 'Cut off:\n```js\nconsole.log(1)', metadata: { finishReason: 'length' } },
        { role: 'user', content: [{ type: 'text', text: '````\nfour' }] },
        { role: 'tool', content: 'the last word' },
      ]);
      const { bodies, outside } = fencedBlocks(await collect(chat.export('s1', 'markdown')));
      assert.ok(bodies.includes('console.log(1)'));
      assert.ok(bodies.includes('four'));
      assert.ok(outside.some((l) => l.startsWith('### user')));
      assert.ok(outside.some((l) => l.startsWith('### tool')));
      assert.ok(outside.includes('the last word'));
      assert.ok(outside.includes('## Context (version 0)'));
    }));

  test('a session with more messages than one export page exports every one, in order', () =>
    open(async (chat) => {
      await seedSession(chat);
      const added = await chat.messages.add(
        's1',
        Array.from({ length: 1003 }, (_, i) => ({ role: 'user', content: `m${i}` })),
      );
      const out = JSON.parse(await collect(chat.export('s1', 'json')));
      assert.equal(
        out.messages.map((m: { messageId: string }) => m.messageId),
        added.map((m) => m.messageId),
      );
      const jsonl = (await collect(chat.export('s1', 'jsonl'))).trimEnd().split('\n');
      assert.is(jsonl.filter((l) => JSON.parse(l).kind === 'message').length, 1003);
    }));

  test('an empty session exports too', () =>
    open(async (chat) => {
      await seedSession(chat);
      const out = JSON.parse(await collect(chat.export('s1', 'json')));
      assert.equal(out.messages, []);
      assert.equal(out.documents, []);
      assert.equal(out.context, { current: {}, version: 0, history: [], snapshots: [] });
      const md = await collect(chat.export('s1', 'markdown'));
      assert.ok(md.includes('## Context (version 0)'));
    }));

  test('an unknown format is INVALID_ARGUMENT naming format; an unknown or deleted session is NOT_FOUND', () =>
    open(async (chat) => {
      await seedSession(chat);
      await fails(collect(chat.export('s1', 'xml' as never)), ErrorCode.INVALID_ARGUMENT, 'format');
      await fails(collect(chat.export('ghost', 'json')), ErrorCode.NOT_FOUND, 'sessionId');
      await fails(collect(chat.export('a\nb', 'json')), ErrorCode.INVALID_ID, 'sessionId');
      await chat.sessions.delete('s1');
      await fails(collect(chat.export('s1', 'markdown')), ErrorCode.NOT_FOUND, 'sessionId');
    }));
});
