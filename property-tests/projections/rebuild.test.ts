import { isDeepStrictEqual } from 'node:util';
import { NEVER } from 'rxjs';
import fc from '../support/fc-setup.js';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { CHAT_PROJECTIONS } from '../../src/projections/index.js';
import type { DocumentsState } from '../../src/projections/documents.js';
import type { MessagesState } from '../../src/projections/messages.js';
import type { ContextState } from '../../src/projections/context.js';
import { MemoryBackend } from '../../src/backends/memory/memory-backend.js';
import { FlatfileBackend } from '../../src/backends/flatfile/flatfile-backend.js';
import { EventStore } from '../../src/engine/event-store.js';
import { Monitor } from '../../src/engine/monitor.js';
import { FileSnapshotStore } from '../../src/projector/file-snapshot-store.js';
import type { Projection } from '../../src/projections/projection.js';
import { ProjectionRunner } from '../../src/projector/projection-runner.js';
import { MemorySnapshotStore, type SnapshotStore } from '../../src/projector/snapshot-store.js';
import { stateDifferences } from '../../src/projector/state-diff.js';
import { sessionStream } from '../../src/events/streams.js';
import { readable } from '../../test/flatfile/unit-helpers.js';
import { withTempDir } from '../support/temp.js';
import { type Step, assertValid, ignorePurged, scenario } from './chat-scenario.js';

/**
 * The rebuild property, for every projection the chat store runs: for random
 * valid sequences of chat events, the state maintained incrementally (events
 * applied in random-size batches, snapshots saved every few positions and on
 * close, the runner closed and reopened from its snapshots at random points,
 * sessions purged) deep-equals the state rebuilt from scratch by replaying the log.
 */

const test = suite('property: projection rebuild equals incremental');

/** What the scenarios exercised, over all runs: the property is not vacuous. */
const seen = { editsApplied: 0, deletesApplied: 0, idsReused: 0, sharedBlobs: 0, contextChanges: 0, reopens: 0, purges: 0, restores: 0 };

function notice(projections: readonly Projection<unknown>[], runner: ProjectionRunner): void {
  for (const p of projections) {
    const state = runner.state(p) as unknown;
    if (p.name === 'messages') {
      for (const s of (state as MessagesState).sessions.values()) {
        if (s.edits.size > 0) seen.editsApplied++;
        if (s.deleted.size > 0) seen.deletesApplied++;
        if (s.retired.size > 0) seen.idsReused++;
      }
    }
    if (p.name === 'documents') for (const n of (state as DocumentsState).blobRefs.values()) if (n > 1) seen.sharedBlobs++;
    if (p.name === 'context') for (const c of (state as ContextState).sessions.values()) seen.contextChanges += c.history.length;
  }
}

interface Backing {
  /** The store of one run. */
  open(): Promise<EventStore>;
  snapshots: SnapshotStore;
}

async function run(projections: readonly Projection<unknown>[], steps: Step[], snapshotEvery: number, backing: Backing): Promise<void> {
  const store = await backing.open();
  const monitor = new Monitor();
  // The runner sees no commits by itself: it advances only as far as each step asks.
  const open = () => ProjectionRunner.open(withoutCommits(store), projections, { snapshots: backing.snapshots, monitor, snapshotEvery });
  let runner = await open();
  /** Streams whose last session.deleted or session.restored was a deletion (not a purge). */
  const deleted = new Set<string>();
  try {
    for (const s of steps) {
      if (s.kind === 'append') {
        assertValid(s.events);
        const appended = await store.append(s.streamId, s.events).then(() => true, (err: unknown) => ignorePurged(err) ?? false);
        for (const e of appended ? s.events : []) {
          if (e.type === 'session.deleted' && (e.data as { purge?: boolean }).purge !== true) deleted.add(s.streamId);
          else if (e.type === 'session.restored' && deleted.delete(s.streamId)) seen.restores++;
        }
      } else if (s.kind === 'advance') {
        await runner.catchUp(Math.min(await store.headPosition(), runner.position + s.by));
      } else if (s.kind === 'reopen') {
        seen.reopens++;
        await runner.close();
        runner = await open();
      } else {
        const stream = sessionStream(s.sessionId);
        if ((await store.streamVersion(stream)) === 0) continue;
        seen.purges++;
        await store.append(stream, { type: 'session.deleted', data: { purge: true } }).catch(ignorePurged);
        if (s.inline) await runner.catchUp(await store.headPosition());
        await store.purgeStream(stream);
      }
    }
    await runner.catchUp();
    const head = await store.headPosition();
    assert.is(runner.position, head);
    notice(projections, runner);
    // From scratch: no snapshots, every event replayed from the log.
    const scratch = await ProjectionRunner.open(withoutCommits(store), projections, { snapshots: new MemorySnapshotStore(), monitor: new Monitor() });
    for (const p of projections) {
      const incremental = runner.state(p);
      const rebuilt = scratch.state(p);
      const why = stateDifferences(incremental, rebuilt, p.name, 5).join('\n');
      assert.ok(isDeepStrictEqual(incremental, rebuilt), `${p.name}: the incremental state differs from the rebuild:\n${why}`);
      const c = await runner.compare(p.name);
      assert.ok(c.identical && c.position === head, `${p.name}: compare says ${JSON.stringify(c)}`);
    }
    await scratch.close();
  } finally {
    await runner.close();
    await store.close();
  }
}

function withoutCommits(store: EventStore): EventStore {
  return new Proxy(store, {
    get(target, key) {
      if (key === 'commits$') return NEVER;
      const value: unknown = Reflect.get(target, key, target);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
}

const memory = (): Backing => ({ open: () => EventStore.open(new MemoryBackend()), snapshots: new MemorySnapshotStore() });

const property = (projections: readonly Projection<unknown>[], backing: () => Promise<Backing> | Backing, maxSteps: number) =>
  fc.asyncProperty(scenario(maxSteps), fc.integer({ min: 1, max: 25 }), async (steps, snapshotEvery) => {
    try {
      await run(projections, steps, snapshotEvery, await backing());
    } catch (err) {
      throw readable(err);
    }
  });

// One property, run for each projection on its own and for all of them in one runner (as the chat store runs them).
for (const projection of CHAT_PROJECTIONS) {
  test(`${projection.name}: incremental state (random batches, snapshot save/reload, purges) equals a rebuild from the log, on the memory backend`, async () => {
    await fc.assert(property([projection], memory, 40), { numRuns: 120 });
  });
}

test('all chat projections in one runner: incremental state equals a rebuild from the log, on the memory backend', async () => {
  await fc.assert(property(CHAT_PROJECTIONS, memory, 60), { numRuns: 150 });
});

test('all chat projections in one runner: incremental state, with file snapshots and store reopens, equals a rebuild from the log, on the flatfile backend', async () => {
  await fc.assert(
    fc.asyncProperty(scenario(40), fc.integer({ min: 1, max: 25 }), async (steps, snapshotEvery) => {
      await withTempDir('rebuild', async (dir) => {
        try {
          // Reopens here also close and reopen the whole store (files, locks, caches), not only the runner.
          await runFlatfile(dir, steps, snapshotEvery);
        } catch (err) {
          throw readable(err);
        }
      });
    }),
    { numRuns: 12 },
  );
});

/** Flatfile: the runner's reopen steps reopen the store folder too, and a final reopen loads everything from file snapshots. */
async function runFlatfile(dir: string, steps: Step[], snapshotEvery: number): Promise<void> {
  const openStore = () => EventStore.open(new FlatfileBackend({ dir, durability: 'none' }));
  // After the store's first opening: it refuses a folder that holds anything but a store.
  let snapshots: FileSnapshotStore | undefined;
  // Split at the reopen steps: each part runs on a freshly opened store, its runner closed at the end (saving snapshots).
  const parts: Step[][] = [[]];
  for (const s of steps) {
    if (s.kind === 'reopen') parts.push([]);
    else parts.at(-1)!.push(s);
  }
  for (const part of parts) {
    const store = await openStore();
    snapshots ??= new FileSnapshotStore(dir);
    await run(CHAT_PROJECTIONS, part, snapshotEvery, { open: async () => store, snapshots });
  }
}

test('the scenarios exercised what the property is about (edits, deletes, shared blobs, context changes, reopens, purges, restores of deleted sessions)', () => {
  if (process.env.FFCDB_TEST_VERBOSE) console.log(seen);
  for (const [what, n] of Object.entries(seen)) assert.ok(n > 0, `no run saw any ${what}`);
});

test.run();
