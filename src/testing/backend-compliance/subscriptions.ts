/** Live subscriptions in one process: catch-up then live, exactly once and in order. */
import assert from 'node:assert/strict';
import { ErrorCode } from '../../kernel/errors.js';
import type { RecordedEvent } from '../../kernel/types.js';
import type { Kit } from './harness.js';
import { SENTINEL, ev, range, plain, rejects } from './helpers.js';

export function subscriptionTests(kit: Kit): void {
  const { open, record, scale } = kit;
  // ---------------------------------------------------------------- subscriptions
  {
    const test = kit.section('subscriptions');
    const versions = (events: RecordedEvent[]) => events.map((e) => e.version);
    const positions = (events: RecordedEvent[]) => events.map((e) => e.position);

    test('subscribeToStream delivers the existing events, then new ones, each once and in order', async (ctx) => {
      const store = await open(ctx);
      await store.append('s', [ev(1), ev(2), ev(3)]);
      await store.append('other', ev(100));
      const rec = record(ctx, store.subscribeToStream('s'));
      await rec.count(3);
      await store.append('s', ev(4));
      await store.append('other', ev(101));
      await store.append('s', [ev(5), ev(6)]);
      await rec.count(6);
      await rec.sentinel(() => store.append('s', SENTINEL));
      assert.deepEqual(versions(rec.events), range(1, 7));
      assert.ok(rec.events.every((e) => e.streamId === 's'));
      assert.deepEqual(plain(rec.events.slice(0, 6)), plain(await store.readStream('s', { limit: 6 })));
    });

    test('subscribeToStream starts after afterVersion', async (ctx) => {
      const store = await open(ctx);
      await store.append('s', [ev(1), ev(2), ev(3), ev(4)]);
      const rec = record(ctx, store.subscribeToStream('s', { afterVersion: 2 }));
      await store.append('s', ev(5));
      await rec.sentinel(() => store.append('s', SENTINEL));
      assert.deepEqual(versions(rec.events), [3, 4, 5, 6]);
    });

    test('subscribeToStream on a stream that does not exist yet waits for its first event', async (ctx) => {
      const store = await open(ctx);
      const rec = record(ctx, store.subscribeToStream('later'));
      await store.append('elsewhere', ev(1));
      await store.append('later', ev(2));
      await rec.sentinel(() => store.append('later', SENTINEL));
      assert.deepEqual(versions(rec.events), [1, 2]);
    });

    test('subscribeToStream with types delivers only those types', async (ctx) => {
      const store = await open(ctx);
      await store.append('s', [ev(1), ev(2, 'message.edited')]);
      const rec = record(ctx, store.subscribeToStream('s', { types: ['message.edited', SENTINEL.type] }));
      await store.append('s', [ev(3, 'message.edited'), ev(4)]);
      await rec.sentinel(() => store.append('s', SENTINEL));
      assert.deepEqual(versions(rec.events), [2, 3, 5]);
    });

    test('subscribeToAll delivers the whole feed, then live commits of every stream, each once and in position order', async (ctx) => {
      const store = await open(ctx);
      await store.append('a', [ev(1), ev(2)]);
      await store.append('b', ev(3));
      const rec = record(ctx, store.subscribeToAll());
      await rec.count(3);
      await store.append('c', ev(4));
      await store.append('a', [ev(5), ev(6)]);
      await rec.sentinel(() => store.append('z', SENTINEL));
      assert.deepEqual(positions(rec.events), range(1, 7));
      assert.deepEqual(plain(rec.events), plain((await store.readAll()).events));
    });

    test('subscribeToAll starts after afterPosition and can filter by type', async (ctx) => {
      const store = await open(ctx);
      await store.append('a', [ev(1), ev(2, 'x'), ev(3)]);
      const after = record(ctx, store.subscribeToAll({ afterPosition: 2 }));
      const typed = record(ctx, store.subscribeToAll({ types: ['x', SENTINEL.type] }));
      await store.append('b', [ev(4, 'x'), ev(5)]);
      await after.sentinel(() => store.append('z', SENTINEL));
      await typed.waitUntil(() => typed.events.some((e) => e.type === SENTINEL.type), 'the sentinel');
      assert.deepEqual(positions(after.events), [3, 4, 5, 6]);
      assert.deepEqual(positions(typed.events), [2, 4, 6]);
    });

    test('appends racing the start of a stream subscription are delivered exactly once, in order', async (ctx) => {
      const store = await open(ctx);
      await store.append('s', ev(0));
      const early = Array.from({ length: 20 }, (_, i) => store.append('s', i % 4 ? ev(i) : [ev(i), ev(i + 0.5)]));
      const rec = record(ctx, store.subscribeToStream('s'));
      const late = Array.from({ length: 20 }, (_, i) => store.append('s', ev(100 + i)));
      await Promise.all([...early, ...late]);
      const total = await store.streamVersion('s');
      await rec.count(total);
      await rec.sentinel(() => store.append('s', SENTINEL));
      assert.deepEqual(versions(rec.events), range(1, total + 1));
      assert.deepEqual(plain(rec.events.slice(0, total)), plain(await store.readStream('s')).slice(0, total));
    });

    test('appends racing the start of a feed subscription are delivered exactly once, in order', async (ctx) => {
      const store = await open(ctx);
      const early = Array.from({ length: 30 }, (_, i) => store.append(`s${i % 4}`, i % 5 ? ev(i) : [ev(i), ev(i + 0.5)]));
      const rec = record(ctx, store.subscribeToAll());
      const late = Array.from({ length: 30 }, (_, i) => store.append(`s${i % 3}`, ev(100 + i)));
      await Promise.all([...early, ...late]);
      const head = await store.headPosition();
      await rec.sentinel(() => store.append('z', SENTINEL));
      assert.deepEqual(positions(rec.events), range(1, head + 1));
    });

    test('a feed subscriber sees positions in order with no gap while many writers append concurrently', async (ctx) => {
      const store = await open(ctx);
      const rec = record(ctx, store.subscribeToAll());
      await Promise.all(Array.from({ length: 16 }, async (_, w) => {
        for (let i = 0; i < Math.ceil(scale / 16); i++) await store.append(`w${w % 5}`, i % 3 ? ev(i) : [ev(i), ev(i)]);
      }));
      const head = await store.headPosition();
      await rec.sentinel(() => store.append('z', SENTINEL));
      assert.deepEqual(positions(rec.events), range(1, head + 1));
    });

    test('unsubscribing stops delivery', async (ctx) => {
      const store = await open(ctx);
      const stopped = record(ctx, store.subscribeToStream('s'));
      const watcher = record(ctx, store.subscribeToStream('s'));
      await store.append('s', ev(1));
      await stopped.count(1);
      stopped.unsubscribe();
      await store.append('s', ev(2));
      await watcher.sentinel(() => store.append('s', SENTINEL));
      assert.deepEqual(versions(stopped.events), [1]);
    });

    test('closing the store completes live subscriptions', async (ctx) => {
      const store = await open(ctx);
      await store.append('s', ev(1));
      const one = record(ctx, store.subscribeToStream('s'));
      const all = record(ctx, store.subscribeToAll());
      await one.count(1);
      await all.count(1);
      await store.close();
      await one.waitUntil(() => one.completed, 'the stream subscription to complete');
      await all.waitUntil(() => all.completed, 'the feed subscription to complete');
      assert.equal(one.error, undefined);
    });

    test('bad subscription arguments throw INVALID_ID or INVALID_ARGUMENT at once', async (ctx) => {
      const store = await open(ctx);
      await rejects(() => store.subscribeToStream('a\nb'), ErrorCode.INVALID_ID);
      await rejects(() => store.subscribeToStream('s', { afterVersion: -1 }), ErrorCode.INVALID_ARGUMENT);
      await rejects(() => store.subscribeToStream('s', { types: 'x' as never }), ErrorCode.INVALID_ARGUMENT);
      await rejects(() => store.subscribeToAll({ afterPosition: 1.5 }), ErrorCode.INVALID_ARGUMENT);
      await rejects(() => store.subscribeToAll({ types: [3] as never }), ErrorCode.INVALID_ARGUMENT);
    });
  }
}
