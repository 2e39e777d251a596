/**
 * Fault injection at every file-system call of an engine append on the flatfile backend: opening a
 * store that holds events, two appends (to a stream that exists and to a new one, a batch) and the
 * close, with the N-th call failing (see test/support/fault-runner.ts).
 */
import { FlatfileBackend } from '../../src/backends/flatfile/flatfile-backend.js';
import { EventStore } from '../../src/engine/event-store.js';
import type { DurabilityMode } from '../../src/kernel/types.js';
import { flatfileSuite } from '../flatfile/unit-helpers.js';
import { type FaultScenario, describeReport, runFaults } from '../support/fault-runner.js';
import { coverage, probeAppend } from '../support/fault-scenarios.js';

const open = (dir: string, durability: DurabilityMode = 'always') => EventStore.open(new FlatfileBackend({ dir, durability }));
const ev = (n: string) => ({ type: 'test.event', data: { n, body: `event ${n}` } });

const appendScenario: FaultScenario = {
  name: 'engine append',
  pinned: [
    { kind: 'EIO', step: 'open', name: 'readFile', file: 'src/backends/flatfile/store-files.ts', why: 'an unreadable ffcdb.json was UNSUPPORTED_FORMAT' },
    { kind: 'EIO', step: 'close', name: 'close', file: 'src/backends/flatfile/commit-journal.ts', why: 'a failed journal close left the writer lock held: the store could not reopen' },
    { kind: 'EIO', step: 'append to a', name: 'read', file: 'src/storage/writer-lock.ts', why: 'an unreadable lock token was reported as a takeover (LOCKED)' },
    { kind: 'EIO', step: 'append to a', name: 'fstat', file: 'src/backends/flatfile/file-handles.ts', why: 'a raw fstat error' },
    {
      kind: 'EIO',
      step: 'append to a',
      name: 'fstat',
      file: 'src/backends/flatfile/file-handles.ts',
      after: 'fdatasync',
      why: 'a commit that failed after its journal record was synced came back on reopen',
    },
  ],
  async prepare(root) {
    const store = await open(root, 'none');
    await store.append('a', [ev('a1'), ev('a2')]);
    await store.append('b', ev('b1'));
    await store.close();
  },
  start(root) {
    let store: EventStore | undefined;
    return {
      steps: [
        { name: 'open', run: async () => (store = await open(root)) },
        { name: 'append to a', run: () => store!.append('a', ev('a3'), { expectedVersion: 2 }) },
        { name: 'append a batch to c', run: () => store!.append('c', [ev('c1'), ev('c2'), ev('c3')], { expectedVersion: 'no_stream' }) },
        { name: 'close', run: () => store!.close() },
      ],
      probe: () => probeAppend(store!),
      abandon: async () => store?.close(),
    };
  },
  async view(root) {
    const store = await open(root, 'none');
    try {
      const feed = (await store.readAll()).events.filter((e) => e.streamId !== 'probe');
      const streams: Record<string, unknown> = {};
      for (const s of ['a', 'b', 'c']) streams[s] = (await store.readStream(s)).map((e) => [e.version, e.position, e.data]);
      // It takes appends again.
      await store.append('after-reopen', ev('x'));
      return { feed: feed.map((e) => [e.streamId, e.version, e.position, e.type, e.data]), streams };
    } finally {
      await store.close();
    }
  },
};

const test = flatfileSuite('faults: an engine append with its N-th file-system call failing');

test('every acknowledged append survives, the failed one is whole or absent, and every error is typed', async () => {
  console.log(describeReport(await runFaults(appendScenario, coverage)));
});

test.run();
