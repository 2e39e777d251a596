/**
 * Fault injection at every file-system call of document uploads on the flatfile backend: open, upload
 * a document, read it back, upload a second one with the same bytes (one blob), delete the first,
 * close; with the N-th call failing (see test/support/fault-runner.ts).
 */
import { type ChatStore, openChatStore } from '../../src/chat/chat-store.js';
import { blobFiles } from '../chat/helpers.js';
import { flatfileSuite } from '../flatfile/unit-helpers.js';
import { type FaultScenario, describeReport, runFaults } from '../support/fault-runner.js';
import { attempt, bytesOf, coverage, probeAppend, takesWrites } from '../support/fault-scenarios.js';

const BYTES = Buffer.from('%PDF-1.4 a plan for the trip\n'.repeat(4000));

const scenario: FaultScenario = {
  name: 'document upload',
  pinned: [
    { kind: 'EIO', step: 'upload d1', name: 'open', file: 'src/storage/durable-files.ts', caller: 'src/blobs/file-blob-store.ts', why: 'a blob put whose folder fsync failed left its blob' },
    {
      kind: 'EIO',
      step: 'upload d1',
      name: 'fstat',
      file: 'src/backends/flatfile/file-handles.ts',
      after: 'fdatasync',
      why: 'a commit that failed after its journal record was synced came back on reopen, its blob released: a document without bytes',
    },
  ],
  async prepare(root) {
    const chat = await openChatStore({ dir: root, durability: 'none' });
    await chat.users.create({ userId: 'u1' });
    await chat.sessions.create({ userId: 'u1', sessionId: 's1', title: 'Trip' });
    await chat.close();
  },
  start(root) {
    let chat: ChatStore | undefined;
    return {
      steps: [
        { name: 'open', run: async () => (chat = await openChatStore({ dir: root })) },
        { name: 'upload d1', run: () => chat!.documents.upload({ sessionId: 's1', documentId: 'd1', name: 'plan.pdf', mediaType: 'application/pdf' }, BYTES) },
        {
          name: 'open d1',
          run: async () => {
            const bytes = await bytesOf(await chat!.documents.open('d1'));
            if (!bytes.equals(BYTES)) throw new Error('documents.open read back other bytes than were uploaded');
          },
        },
        { name: 'upload d2 (same bytes)', run: () => chat!.documents.upload({ sessionId: 's1', documentId: 'd2', name: 'copy.pdf', mediaType: 'application/pdf' }, BYTES) },
        { name: 'delete d1', run: () => chat!.documents.delete('d1') },
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
        documents: await attempt(() => chat.documents.list({ sessionId: 's1' })),
        // Each document opens with its bytes, or is NOT_FOUND.
        bytes: await Promise.all(['d1', 'd2'].map((id) => attempt(async () => (await bytesOf(await chat.documents.open(id))).equals(BYTES)))),
        // No blob is left that no document names, none is missing.
        blobs: blobFiles(root),
      };
      await takesWrites(chat.events);
      return view;
    } finally {
      await chat.close();
    }
  },
};

const test = flatfileSuite('faults: document uploads with their N-th file-system call failing');

test('every acknowledged upload opens with its bytes, the failed one is whole or absent, and every error is typed', async () => {
  console.log(describeReport(await runFaults(scenario, coverage)));
});

test.run();
