/**
 * Fault injection at every file-system call of a purge on the flatfile backend: open a store with two
 * sessions, delete one with `purge: true` (its events erased, its document's blob removed), close; with
 * the N-th call failing (see test/support/fault-runner.ts). A purge that failed half-way is finished by
 * asking again (README, Chat API).
 */
import fs from 'node:fs';
import path from 'node:path';
import { type ChatStore, openChatStore } from '../../src/chat/chat-store.js';
import { blobFiles } from '../chat/helpers.js';
import { flatfileSuite } from '../flatfile/unit-helpers.js';
import { type FaultScenario, describeReport, runFaults } from '../support/fault-runner.js';
import { attempt, coverage, probeAppend, takesWrites } from '../support/fault-scenarios.js';

/** A word only the purged session holds: once the purge is done, no file of the store holds it. */
const MARKER = 'zanzibarquux';

function markerOnDisk(root: string): string[] {
  const files = (fs.readdirSync(root, { recursive: true }) as string[]).filter((f) => fs.lstatSync(path.join(root, f)).isFile());
  return files.filter((f) => fs.readFileSync(path.join(root, f)).includes(MARKER)).map((f) => f.replace(/\d+/g, '#'));
}

const scenario: FaultScenario = {
  name: 'purge',
  pinned: [
    { kind: 'EIO', step: 'sessions.delete (purge)', name: 'fdatasync', file: 'src/backends/flatfile/tombstones.ts', why: 'a purge finished by asking again released no blob' },
    { kind: 'short', step: 'sessions.delete (purge)', name: 'write', file: 'src/storage/durable-files.ts', caller: 'src/backends/flatfile/tombstones.ts', why: 'a short tombstone write: the store could not reopen' },
  ],
  async prepare(root) {
    const chat = await openChatStore({ dir: root, durability: 'none' });
    await chat.users.create({ userId: 'u1' });
    await chat.sessions.create({ userId: 'u1', sessionId: 's1', title: `About ${MARKER}` });
    await chat.sessions.create({ userId: 'u1', sessionId: 's2', title: 'Kept' });
    await chat.messages.add('s1', [
      { messageId: 'm1', role: 'user', content: `Tell me about ${MARKER}` },
      { messageId: 'm2', role: 'assistant', content: 'It is a word.' },
    ]);
    await chat.messages.add('s2', { messageId: 'k1', role: 'user', content: 'Keep me' });
    await chat.context.set('s1', { topic: MARKER });
    await chat.documents.upload({ sessionId: 's1', documentId: 'd1', name: 'notes.txt', mediaType: 'text/plain' }, Buffer.from(`notes on ${MARKER}\n`.repeat(100)));
    await chat.close();
  },
  start(root) {
    let chat: ChatStore | undefined;
    return {
      steps: [
        { name: 'open', run: async () => (chat = await openChatStore({ dir: root })) },
        { name: 'sessions.delete (purge)', run: () => chat!.sessions.delete('s1', { purge: true }) },
        { name: 'close', run: () => chat!.close() },
      ],
      probe: () => probeAppend(chat!.events),
      abandon: async () => chat?.close(),
    };
  },
  async view(root) {
    const chat = await openChatStore({ dir: root, durability: 'none' });
    try {
      const view = {
        sessions: await Promise.all(['s1', 's2'].map((id) => attempt(() => chat.sessions.get(id)))),
        messages: await Promise.all(['s1', 's2'].map((id) => attempt(() => chat.messages.list(id)))),
        documents: await attempt(() => chat.documents.get('d1')),
        events: (await chat.events.readStream('s-s1')).map((e) => e.type),
        blobs: blobFiles(root),
        markerOnDisk: markerOnDisk(root),
      };
      await takesWrites(chat.events);
      return view;
    } finally {
      await chat.close();
    }
  },
  async finish(root) {
    const chat = await openChatStore({ dir: root, durability: 'none' });
    try {
      await chat.sessions.delete('s1', { purge: true });
    } finally {
      await chat.close();
    }
  },
};

const test = flatfileSuite('faults: a purge with its N-th file-system call failing');

test('a purge is done or not done (or finished by asking again), what it keeps is intact, and every error is typed', async () => {
  console.log(describeReport(await runFaults(scenario, coverage)));
});

test.run();
