import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { type ChatStore, openChatStore } from '../../src/chat/chat-store.js';
import { documentBytes } from '../support/chat-ops.js';
import { type PathUnderTest, runPowerCuts } from '../support/power-loss-cuts.js';

/**
 * The chat store's own files beside the log, under power loss at random calls: document blobs (a
 * temporary file fsynced, linked to its hash's name, the folders fsynced, then the upload event) and
 * projection snapshots (checksummed files replaced by an fsynced rename, every few events and on close).
 * After the cut the store must open; every acknowledged message and upload read back exactly; every
 * document the store lists reads back its own bytes (never a torn blob); every blob file under its hash's
 * name holds those bytes; and every projection equals its rebuild from the log (a torn snapshot is not
 * loaded).
 */
interface ChatState {
  chat?: ChatStore;
  messages: Map<string, string>;
  uploads: Map<string, number>;
  snapshotEvery: number;
}

async function bytesOf(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/** Blob files under blobs/ab/cd/, by name. */
function blobFiles(root: string): string[] {
  const dir = path.join(root, 'blobs');
  if (!fs.existsSync(dir)) return [];
  return (fs.readdirSync(dir, { recursive: true }) as string[]).filter((p) => /^[0-9a-f]{2}\/[0-9a-f]{4}\/[0-9a-f]{64}$/.test(p)).map((p) => path.join(dir, p));
}

function chatPath(name: string, cuts: number, o: { uploads: boolean; snapshotEvery: number }): PathUnderTest<ChatState> {
  return {
    name,
    cuts,
    async setup(root) {
      const chat = await openChatStore({ dir: root });
      await chat.users.create({ userId: 'alice' });
      await chat.sessions.create({ userId: 'alice', sessionId: 's1', title: 'power' });
      await chat.documents.upload({ sessionId: 's1', documentId: 'd-old', name: 'v0.txt', mediaType: 'text/plain' }, documentBytes(0));
      await chat.close();
    },
    state: () => ({ messages: new Map(), uploads: new Map([['d-old', 0]]), snapshotEvery: o.snapshotEvery }),
    async work(root, run, s) {
      s.chat = await openChatStore({ dir: root, snapshotEvery: s.snapshotEvery });
      for (let i = 0; i < 8; i++) {
        const content = `message ${i} of the power-loss run`;
        const m = (await s.chat.messages.add('s1', { role: 'user', content })) as { messageId: string };
        if (!run.cut) s.messages.set(m.messageId, content);
        if (o.uploads && i % 2 === 0) {
          const variant = 1 + (i % 3);
          const documentId = `d-${i}`;
          await s.chat.documents.upload({ sessionId: 's1', documentId, name: `v${variant}.txt`, mediaType: 'text/plain' }, documentBytes(variant));
          if (!run.cut) s.uploads.set(documentId, variant);
        }
      }
      await s.chat.close();
    },
    abandon: async (s) => {
      await s.chat?.close();
    },
    async check(image, s) {
      const problems: string[] = [];
      let chat: ChatStore;
      try {
        chat = await openChatStore({ dir: image, create: false });
      } catch (err) {
        return [`the chat store does not open: ${String(err)}`];
      }
      try {
        for (const [messageId, content] of s.messages) {
          const m = await chat.messages.get('s1', messageId).catch((err: unknown) => err);
          const read = (m as { content?: unknown }).content;
          if (JSON.stringify(read) !== JSON.stringify(content)) problems.push(`acknowledged message ${messageId} reads ${read === undefined ? String(m) : JSON.stringify(read)}`);
        }
        for (const documentId of s.uploads.keys()) {
          if (!(await chat.documents.get(documentId).catch(() => undefined))) problems.push(`acknowledged document ${documentId} is missing`);
        }
        // Every document there (acknowledged or not) reads back its own bytes.
        for (const doc of (await chat.documents.list({ sessionId: 's1' })).items) {
          const variant = Number(/^v(\d)\.txt$/.exec(doc.name ?? '')?.[1]);
          const read = await chat.documents
            .open(doc.documentId)
            .then(bytesOf)
            .catch((err: unknown) => err);
          if (!Buffer.isBuffer(read)) problems.push(`document ${doc.documentId} does not read: ${String(read)}`);
          else if (!read.equals(documentBytes(variant))) problems.push(`document ${doc.documentId} reads ${read.length} bytes, not its own ${documentBytes(variant).length}`);
        }
        // A blob file under its hash's name holds those bytes: a later upload of the same bytes links to it unread.
        for (const file of blobFiles(image)) {
          const sha = createHash('sha256').update(fs.readFileSync(file)).digest('hex');
          if (sha !== path.basename(file)) problems.push(`blob file ${path.relative(image, file)} holds other bytes (${fs.statSync(file).size} bytes)`);
        }
        for (const name of chat.projections.names) {
          const c = await chat.projections.compare(name);
          if (!c.identical) problems.push(`projection ${name} differs from its rebuild: ${JSON.stringify(c.differences).slice(0, 300)}`);
        }
      } finally {
        await chat.close();
      }
      return problems;
    },
  };
}

test('document uploads after power loss at random calls: acknowledged documents read back exactly, no document or blob file serves torn bytes, projections equal their rebuild', async () => {
  const summary = await runPowerCuts(chatPath('blobs (document uploads)', 25, { uploads: true, snapshotEvery: 1000 }));
  assert.ok(summary.calls > 50, `${summary.calls} calls`);
});

test('projection snapshots after power loss at random calls (a snapshot every 3 events and on close): the store opens, every projection equals its rebuild, acknowledged messages read back', async () => {
  const summary = await runPowerCuts(chatPath('projection snapshots', 25, { uploads: false, snapshotEvery: 3 }));
  assert.ok(summary.calls > 50, `${summary.calls} calls`);
});

test.run();
