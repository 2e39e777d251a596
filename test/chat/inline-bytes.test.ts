/**
 * Bytes inline (issue 11, deliverable 2): a base64 data: URL or bytes in an
 * image or file part become a document of the session by themselves, read
 * back as they came or as the reference when asked; over the store's limit a
 * clear error; documents.upload needs no name.
 */
import { createHash } from 'node:crypto';
import * as assert from 'uvu/assert';
import { openChatStore } from '../../src/chat/chat-store.js';
import { MemoryBackend } from '../../src/backends/memory/memory-backend.js';
import { MemoryBlobStore } from '../../src/blobs/memory-blob-store.js';
import { ErrorCode } from '../../src/kernel/errors.js';
import type { ContentPart } from '../../src/chat/messages-api.js';
import { bytesOf, chatSuites, collect, failsCleanly, seedSession } from './helpers.js';

const PNG = new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0, 1, 2, 255]);
const DATA_URL = `data:image/png;base64,${Buffer.from(PNG).toString('base64')}`;
const sha = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

chatSuites('chat: bytes inline', (test, open) => {
  test('a base64 data: URL in an image part becomes a document of the session and reads back as the same string', () =>
    open(async (chat) => {
      await seedSession(chat);
      const part: ContentPart = { type: 'image', url: DATA_URL, mediaType: 'image/png', name: 'pic.png', extra: { detail: 'high' } };
      const m = await chat.messages.add('s1', { role: 'user', content: [{ type: 'text', text: 'look' }, part] });
      assert.equal(m.content, [{ type: 'text', text: 'look' }, part], 'add returns it as it came');
      assert.equal((await chat.messages.get('s1', m.messageId)).content, [{ type: 'text', text: 'look' }, part]);
      const [doc] = (await chat.documents.list({ sessionId: 's1' })).items;
      assert.equal([doc!.name, doc!.mediaType, doc!.size, doc!.sha256], ['pic.png', 'image/png', PNG.length, sha(PNG)]);
      assert.equal(await bytesOf(await chat.documents.open(doc!.documentId)), Buffer.from(PNG));
      const [event] = await chat.events.readStream('s-s1', { direction: 'backward', limit: 1 });
      assert.not.ok(JSON.stringify(event!.data).includes(Buffer.from(PNG).toString('base64')), 'the log holds the reference, not the bytes');
    }));

  test('bytes in a file part become a document and read back as the same bytes', () =>
    open(async (chat) => {
      await seedSession(chat);
      const m = await chat.messages.add('s1', { role: 'user', content: [{ type: 'file', bytes: PNG, mediaType: 'application/pdf' }] });
      const [part] = (await chat.messages.get('s1', m.messageId)).content as ContentPart[];
      assert.equal(part, { type: 'file', bytes: PNG, mediaType: 'application/pdf' });
      assert.instance((part as { bytes: unknown }).bytes, Uint8Array);
      assert.is((await chat.documents.list({ sessionId: 's1' })).items[0]!.mediaType, 'application/pdf');
    }));

  test('inlineDocuments: false reads the document reference, on get, list and history', () =>
    open(async (chat) => {
      await seedSession(chat);
      const m = await chat.messages.add('s1', { role: 'user', content: [{ type: 'image', url: DATA_URL }, { type: 'file', bytes: PNG }] });
      const [doc] = (await chat.documents.list({ sessionId: 's1' })).items;
      const want = [
        { type: 'image', documentId: doc!.documentId, inline: { as: 'url', prefix: 'data:image/png;base64,' } },
        { type: 'file', documentId: doc!.documentId, inline: { as: 'bytes' } },
      ];
      assert.equal((await chat.messages.get('s1', m.messageId, { inlineDocuments: false })).content, want);
      assert.equal((await chat.messages.list('s1', { inlineDocuments: false })).items[0]!.content, want);
      assert.equal((await chat.messages.history('s1', m.messageId, { inlineDocuments: false })).revisions[0]!.content, want);
      assert.equal((await chat.messages.list('s1')).items[0]!.content, [{ type: 'image', url: DATA_URL }, { type: 'file', bytes: PNG }]);
    }));

  test('the same bytes are stored once: one blob, one document per session, named by every part', () =>
    open(async (chat, env) => {
      await seedSession(chat);
      await chat.messages.add('s1', [
        { role: 'user', content: [{ type: 'image', url: DATA_URL }, { type: 'image', bytes: PNG }] },
        { role: 'user', content: [{ type: 'image', url: DATA_URL }] },
      ]);
      await chat.messages.add('s1', { role: 'user', content: [{ type: 'file', bytes: PNG }] });
      assert.is((await chat.documents.list({ sessionId: 's1' })).items.length, 1);
      assert.equal(await env.blobs(), [sha(PNG)]);
    }));

  test('an edit with inline bytes stores them too, and reads back as it came', () =>
    open(async (chat) => {
      await seedSession(chat);
      const m = await chat.messages.add('s1', { role: 'user', content: 'no picture yet' });
      const edited = await chat.messages.edit('s1', m.messageId, { content: [{ type: 'image', url: DATA_URL }] });
      assert.equal(edited.content, [{ type: 'image', url: DATA_URL }]);
      assert.is((await chat.documents.list({ sessionId: 's1' })).items.length, 1);
    }));

  test('a data: URL that is not base64, or would not re-encode the same, stays a URL', () =>
    open(async (chat) => {
      await seedSession(chat);
      const urls = ['data:text/plain,hello%20world', 'data:text/plain;base64,aGk', 'data:text/plain;base64,aG k='];
      for (const url of urls) {
        const m = await chat.messages.add('s1', { role: 'user', content: [{ type: 'file', url }] });
        assert.equal((await chat.messages.get('s1', m.messageId, { inlineDocuments: false })).content, [{ type: 'file', url }]);
      }
      assert.is((await chat.documents.list({ sessionId: 's1' })).items.length, 0);
    }));

  test('a part giving bytes with a url or documentId, or bytes that are not a Uint8Array, is refused naming the part; nothing is written', () =>
    open(async (chat, env) => {
      await seedSession(chat);
      await failsCleanly(chat, () => chat.messages.add('s1', { role: 'user', content: [{ type: 'file', bytes: PNG, url: 'https://x.example/a' }] }), ErrorCode.INVALID_ARGUMENT, 'message.content[0]');
      await failsCleanly(chat, () => chat.messages.add('s1', { role: 'user', content: [{ type: 'file', bytes: [1, 2] as never }] }), ErrorCode.INVALID_ARGUMENT, 'message.content[0].bytes');
      assert.equal(await env.blobs(), []);
    }));

  test('a message refused after its bytes were stored leaves no blob behind (unknown session, message id in use)', () =>
    open(async (chat, env) => {
      await seedSession(chat);
      await failsCleanly(chat, () => chat.messages.add('nope', { role: 'user', content: [{ type: 'file', bytes: PNG }] }), ErrorCode.NOT_FOUND, 'sessionId');
      await chat.messages.add('s1', { messageId: 'm1', role: 'user', content: 'x' });
      await failsCleanly(chat, () => chat.messages.add('s1', { messageId: 'm1', role: 'user', content: [{ type: 'file', bytes: PNG }] }), ErrorCode.CONFLICT, 'message.messageId');
      assert.equal(await env.blobs(), []);
      assert.is((await chat.documents.list({ sessionId: 's1' })).items.length, 0);
    }));

  test('deleting the session keeps its inline documents\' blobs for a restore; purging it removes them', () =>
    open(async (chat, env) => {
      await seedSession(chat);
      await chat.messages.add('s1', { role: 'user', content: [{ type: 'file', bytes: PNG }] });
      const stored = await env.blobs();
      assert.is(stored.length, 1);
      await chat.sessions.delete('s1');
      assert.equal(await env.blobs(), stored);
      await chat.sessions.restore('s1');
      const [message] = (await chat.messages.list('s1')).items;
      assert.equal((message!.content as { bytes?: Uint8Array }[])[0]!.bytes, PNG);
      await chat.sessions.delete('s1', { purge: true });
      assert.equal(await env.blobs(), []);
    }));

  test('the session export carries the document reference, and lists the document', () =>
    open(async (chat) => {
      await seedSession(chat);
      await chat.messages.add('s1', { role: 'user', content: [{ type: 'image', url: DATA_URL }] });
      const out = await collect(chat.export('s1', 'json'));
      const parsed = JSON.parse(out) as { messages: { content: { documentId?: string }[] }[]; documents: { documentId: string }[] };
      assert.is(parsed.messages[0]!.content[0]!.documentId, parsed.documents[0]!.documentId);
      assert.not.ok(out.includes('base64,i'), 'no bytes in the export');
    }));
});

chatSuites('chat: documents without a name', (test, open) => {
  test('documents.upload takes no name: the document has none', () =>
    open(async (chat) => {
      await seedSession(chat);
      const doc = await chat.documents.upload({ sessionId: 's1', mediaType: 'application/octet-stream' }, PNG);
      assert.is(doc.name, undefined);
      assert.ok((await collect(chat.export('s1', 'markdown'))).includes('| application/octet-stream |'));
    }));
});

{
  const { test } = await import('uvu');
  test('inline bytes over the blob store limit are refused naming the part, with nothing written', async () => {
    const chat = await openChatStore({ backend: new MemoryBackend(), blobs: new MemoryBlobStore({ maxBytes: 4 }) });
    try {
      await seedSession(chat);
      const err = await failsCleanly(chat, () => chat.messages.add('s1', { role: 'user', content: [{ type: 'text', text: 'x' }, { type: 'image', url: DATA_URL }] }), ErrorCode.INVALID_ARGUMENT, 'message.content[1].url');
      assert.match(err.message, /holds 8 bytes, more than the store keeps in one document/);
    } finally {
      await chat.close();
    }
  });
  test.run();
}
