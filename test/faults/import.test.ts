/**
 * Fault injection at every file-system call of an import (importToFolder) on the flatfile backend: an
 * export folder (src/export/) of a small chat store is imported into a new folder, with the N-th call
 * failing, in the export folder or the store being built (see test/support/fault-runner.ts).
 * importToFolder builds the store beside the target and renames it into place once whole: a failed
 * import leaves no target and no partial folder; a reported failure after the rename leaves the whole store.
 */
import fs from 'node:fs';
import path from 'node:path';
import { openChatStore } from '../../src/chat/chat-store.js';
import { openFolderParts } from '../../src/engine/open-store.js';
import { exportFolder } from '../../src/export/export-store.js';
import { importToFolder } from '../../src/export/import-store.js';
import { flatfileSuite } from '../flatfile/unit-helpers.js';
import { type FaultScenario, describeReport, runFaults } from '../support/fault-runner.js';
import { coverage } from '../support/fault-scenarios.js';

const scenario: FaultScenario = {
  name: 'import',
  pinned: [
    { kind: 'EIO', step: 'importToFolder', name: 'open', file: 'src/blobs/file-blob-store.ts', why: "a failed blob put left its source ReadStream open; its 'error' event ended the process" },
    { kind: 'EIO', step: 'importToFolder', name: 'lstat', file: 'src/export/import-store.ts', why: 'a raw error reading the export' },
    { kind: 'EIO', step: 'importToFolder', name: 'readdir', file: 'src/export/import-store.ts', why: 'an unreadable blobs/ was CORRUPT' },
    { kind: 'EIO', step: 'importToFolder', name: 'close', file: 'src/export/import-store.ts', why: 'a raw error reading the export' },
  ],
  async prepare(root) {
    const source = path.join(root, 'source');
    const chat = await openChatStore({ dir: source, durability: 'none' });
    await chat.users.create({ userId: 'u1', displayName: 'Ann' });
    await chat.sessions.create({ userId: 'u1', sessionId: 's1', title: 'Trip' });
    await chat.sessions.create({ userId: 'u1', sessionId: 'gone', title: 'Purged' });
    await chat.messages.add('s1', [
      { messageId: 'm1', role: 'user', content: 'Find a hotel' },
      { messageId: 'm2', role: 'assistant', content: 'Here is one.' },
    ]);
    await chat.context.set('s1', { city: 'Lisbon' });
    await chat.documents.upload({ sessionId: 's1', documentId: 'd1', name: 'plan.txt', mediaType: 'text/plain' }, Buffer.from('the plan\n'.repeat(2000)));
    // A purged session leaves gaps, which the import fills and purges.
    await chat.sessions.delete('gone', { purge: true });
    await chat.close();
    await exportFolder(source, path.join(root, 'export'));
    fs.rmSync(source, { recursive: true });
  },
  start(root) {
    return {
      steps: [
        { name: 'start', run: async () => undefined },
        { name: 'importToFolder', run: () => importToFolder(path.join(root, 'target'), path.join(root, 'export')) },
        { name: 'end', run: async () => undefined },
      ],
      abandon: async () => undefined,
    };
  },
  async view(root) {
    // Nothing but the export and, once whole, the target: no partial folder left beside it.
    const entries = fs.readdirSync(root).sort();
    if (!entries.includes('target')) return { entries };
    const parts = await openFolderParts({ dir: path.join(root, 'target'), durability: 'none', create: false });
    try {
      const events = [];
      for await (const e of parts.events.streamAll()) events.push([e.streamId, e.version, e.position, e.type, e.data]);
      const blobs = [];
      for await (const b of parts.blobs.list()) blobs.push([b.sha256, (await parts.blobs.read(b.sha256)).length]);
      return { entries, head: await parts.events.headPosition(), events, blobs };
    } finally {
      await parts.close();
    }
  },
};

const test = flatfileSuite('faults: an import with its N-th file-system call failing');

test('an import leaves a whole store or nothing (no partial folder), and every error is typed', async () => {
  console.log(describeReport(await runFaults(scenario, coverage)));
});

test.run();
