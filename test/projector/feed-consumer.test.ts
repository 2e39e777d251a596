import fs from 'node:fs';
import path from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { StorageBackend } from '../../src/backends/backend.js';
import { FlatfileBackend } from '../../src/backends/flatfile/flatfile-backend.js';
import { MemoryBackend } from '../../src/backends/memory/memory-backend.js';
import { postgresBackend } from '../../src/backends/postgres/connect.js';
import { EventStore } from '../../src/engine/event-store.js';
import { type Checkpoint, START } from '../../src/projector/checkpoint.js';
import { type FeedBatch, FeedConsumer } from '../../src/projector/feed-consumer.js';
import type { RecordedEvent } from '../../src/kernel/types.js';
import { tempRoot } from '../flatfile/unit-helpers.js';
import { TEST_POSTGRES, dropSchema, postgresAvailable, uniqueSchema } from '../support/postgres.js';

/**
 * The one rule for a consumer's checkpoint, and the catch-up and live tail of
 * the feed consumer, run the same way over every backend. A cut tail (a crash
 * that lost an unsynced tail) is a second store holding a prefix of the first
 * one's events, with the same ids, and perhaps new events after it.
 */

/** Opens fresh stores of one backend; `close` closes them and removes what they left. */
type Backends = (dir: string) => { open: () => Promise<EventStore>; close: () => Promise<void> };

const memory: Backends = () => stores(() => new MemoryBackend());
const flatfile: Backends = (dir) => {
  let n = 0;
  return stores(() => new FlatfileBackend({ dir: path.join(dir, `store-${++n}`), durability: 'none' }));
};
const postgres: Backends = () => {
  const schemas: string[] = [];
  return stores(
    () => {
      const schema = uniqueSchema('ffcdb_feed');
      schemas.push(schema);
      return postgresBackend({ connectionString: TEST_POSTGRES!, schema });
    },
    async () => {
      for (const schema of schemas) await dropSchema(schema);
    },
  );
};

function stores(backend: () => StorageBackend, cleanup: () => Promise<void> = async () => {}): ReturnType<Backends> {
  const opened: EventStore[] = [];
  return {
    open: async () => {
      const store = await EventStore.open(backend());
      opened.push(store);
      return store;
    },
    close: async () => {
      for (const store of opened) await store.close();
      await cleanup();
    },
  };
}

const message = (id?: string) => ({ type: 'test.note', data: { n: 1 }, ...(id && { id }) });

/** Appends one event per stream name, in order, and returns them. */
async function appendAll(store: EventStore, streams: readonly string[], ids: readonly (string | undefined)[] = []): Promise<RecordedEvent[]> {
  const out: RecordedEvent[] = [];
  for (const [i, stream] of streams.entries()) {
    await store.append(stream, message(ids[i]));
    out.push(...(await store.readAll({ fromPosition: await store.headPosition(), limit: 1 })).events);
  }
  return out;
}

const checkpointAt = (e: RecordedEvent, position = e.position): Checkpoint => ({ position, eventPosition: e.position, eventId: e.id });

async function collect(batches: AsyncGenerator<FeedBatch>): Promise<FeedBatch[]> {
  const out: FeedBatch[] = [];
  for await (const b of batches) out.push(b);
  return out;
}

const positions = (batches: readonly FeedBatch[]) => batches.flatMap((b) => b.events.map((e) => e.position));

function register(name: string, backends: Backends): void {
  const test = suite(`feed consumer: ${name}`);
  const withStores = (fn: (open: () => Promise<EventStore>) => Promise<void>) => async () => {
    const dir = tempRoot('feed');
    const { open, close } = backends(dir);
    try {
      await fn(open);
    } finally {
      await close();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  };

  test(
    'a fresh checkpoint needs no read, and the catch-up from it delivers every event with no gaps',
    withStores(async (open) => {
      const store = await open();
      const events = await appendAll(store, ['a', 'b', 'a']);
      const feed = new FeedConsumer(store);
      assert.equal(await feed.check(START), { verdict: 'fresh', head: 0 });
      const batches = await collect(feed.batches(0));
      assert.equal(positions(batches), events.map((e) => e.position));
      assert.equal(batches.flatMap((b) => b.gaps), []);
      assert.is(batches.at(-1)!.through, 3);
    }),
  );

  test(
    'a checkpoint at the head holds, and catching up from it reads nothing',
    withStores(async (open) => {
      const store = await open();
      const events = await appendAll(store, ['a', 'b', 'a']);
      const feed = new FeedConsumer(store);
      assert.equal(await feed.check(checkpointAt(events[2]!)), { verdict: 'holds', head: 3 });
      assert.equal(await collect(feed.batches(3)), []);
      assert.equal(await collect(feed.batches(3, 3)), []);
    }),
  );

  test(
    "a checkpoint whose event's stream was purged is a hole, not a cut: the catch-up goes on after it",
    withStores(async (open) => {
      const store = await open();
      const events = await appendAll(store, ['a', 'b', 'a']);
      await store.purgeStream('b');
      const feed = new FeedConsumer(store);
      assert.equal(await feed.check(checkpointAt(events[1]!)), { verdict: 'purged', head: 3 });
      assert.equal(positions(await collect(feed.batches(2))), [3]);
      // Gaps it stepped over after its last event that are still gaps are fine too.
      await store.purgeStream('a');
      assert.equal((await feed.check(checkpointAt(events[0]!, 3))).verdict, 'purged');
    }),
  );

  test(
    'a cut tail means a restart: the head below the checkpoint, another event at its position, or new events where it stepped over gaps',
    withStores(async (open) => {
      const before = await open();
      const events = await appendAll(before, ['a', 'b', 'c'], ['e-1', 'e-2', 'e-3']);
      // The log lost its last event.
      const short = await open();
      await appendAll(short, ['a', 'b'], ['e-1', 'e-2']);
      assert.equal(await new FeedConsumer(short).check(checkpointAt(events[2]!)), { verdict: 'cut', head: 2 });
      // The log lost it, then another event took its position.
      const rewritten = await open();
      await appendAll(rewritten, ['a', 'b', 'd'], ['e-1', 'e-2', 'e-other']);
      assert.equal(await new FeedConsumer(rewritten).check(checkpointAt(events[2]!)), { verdict: 'cut', head: 3 });
      // A checkpoint whose last event is at 1 and that stepped over 2 and 3 as gaps: new events stand there now.
      const refilled = await open();
      await appendAll(refilled, ['a', 'x', 'y'], ['e-1', undefined, undefined]);
      assert.equal((await new FeedConsumer(refilled).check(checkpointAt(events[0]!, 3))).verdict, 'cut');
      // ... and a hole at its last event with a new event among the gaps after it.
      await refilled.purgeStream('a');
      assert.equal((await new FeedConsumer(refilled).check(checkpointAt(events[0]!, 3))).verdict, 'cut');
      // The same log holds it.
      assert.equal((await new FeedConsumer(before).check(checkpointAt(events[0]!))).verdict, 'holds');
    }),
  );

  test(
    'catching up reports the purged positions it steps over, trailing ones included, up to a target or the head',
    withStores(async (open) => {
      const store = await open();
      await appendAll(store, ['a', 'b', 'a', 'b', 'c', 'a', 'c']);
      await store.purgeStream('b');
      await store.purgeStream('c');
      const feed = new FeedConsumer(store);
      const all = await collect(feed.batches(0));
      assert.equal(positions(all), [1, 3, 6]);
      assert.equal(
        all.flatMap((b) => b.gaps),
        [
          { from: 2, to: 2 },
          { from: 4, to: 5 },
          { from: 7, to: 7 },
        ],
      );
      assert.is(all.at(-1)!.through, 7);
      const upTo5 = await collect(feed.batches(1, 5));
      assert.equal(positions(upTo5), [3]);
      assert.equal(
        upTo5.flatMap((b) => b.gaps),
        [
          { from: 2, to: 2 },
          { from: 4, to: 5 },
        ],
      );
      assert.is(upTo5.at(-1)!.through, 5);
    }),
  );

  test(
    'batches hold at most the page size of events and cover the positions one after another',
    withStores(async (open) => {
      const store = await open();
      await appendAll(store, Array.from({ length: 10 }, (_, i) => `s${i % 3}`));
      await store.purgeStream('s1');
      const feed = new FeedConsumer(store, { pageSize: 2 });
      for (const to of [undefined, 9]) {
        const batches = await collect(feed.batches(0, to));
        assert.ok(batches.length >= 3, `${batches.length} batches`);
        for (const b of batches) assert.ok(b.events.length <= 2 && b.events.length > 0, `${b.events.length} events`);
        for (const [i, b] of batches.entries()) assert.is(b.after, i === 0 ? 0 : batches[i - 1]!.through);
        assert.is(batches.at(-1)!.through, to ?? 10);
        assert.equal(positions(batches), [1, 3, 4, 6, 7, 9, 10].filter((p) => p <= (to ?? 10)));
      }
      assert.throws(() => new FeedConsumer(store, { pageSize: 0 }));
    }),
  );

  test(
    'the live tail delivers the head after each new commit until it is stopped, and ends when the store closes',
    withStores(async (open) => {
      const store = await open();
      await appendAll(store, ['a']);
      const feed = new FeedConsumer(store);
      const heads: number[] = [];
      let ended = false;
      const arrived = (n: number) => until(() => heads.length >= n);
      const stop = feed.follow({ next: (head) => heads.push(head), complete: () => (ended = true) });
      await store.append('a', message());
      await arrived(1);
      await store.append('b', message());
      await arrived(2);
      assert.equal(heads.slice(0, 2), [2, 3]);
      stop();
      await store.append('b', message());
      await new Promise((resolve) => setTimeout(resolve, 50));
      assert.is(heads.length, 2);
      const other = feed.follow({ next: () => {}, complete: () => (ended = true) });
      await store.close();
      await until(() => ended);
      other();
    }),
  );

  test.run();
}

async function until(done: () => boolean, ms = 5_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!done()) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

register('memory', memory);
register('flatfile', flatfile);
if (postgresAvailable('feed consumer: postgres')) register('postgres', postgres);
