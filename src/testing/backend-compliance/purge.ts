/** Purging a stream: a tombstone, gaps in the feed, and no byte of it left. */
import assert from 'node:assert/strict';
import type { EventStore } from '../../engine/event-store.js';
import { ErrorCode } from '../../kernel/errors.js';
import type { NewEvent, RecordedEvent } from '../../kernel/types.js';
import type { Kit } from './harness.js';
import { SENTINEL, ev, sleep, plain, drain, rejects } from './helpers.js';

export function purgeTests(kit: Kit): void {
  const { open, record, placesHolding } = kit;
  // ---------------------------------------------------------------- purging a stream
  {
    const test = kit.section('purging a stream');
    const positions = (events: RecordedEvent[]) => events.map((e) => e.position);

    /** 'gone' gets positions 2, 3 and 5 (versions 1..3) between events of 'kept' (1, 4) and 'other' (6, 7). */
    async function interleaved(store: EventStore): Promise<void> {
      await store.append('kept', ev(1));
      await store.append('gone', [ev(2), ev(3)]);
      await store.append('kept', ev(4));
      await store.append('gone', ev(5));
      await store.append('other', [ev(6), ev(7)]);
    }

    test('purgeStream resolves with the version and the number of events it erased; the stream then reads as empty in every way', async (ctx) => {
      const store = await open(ctx);
      await interleaved(store);
      assert.deepEqual(await store.purgeStream('gone'), { streamId: 'gone', version: 3, events: 3 });
      assert.deepEqual(await store.readStream('gone'), []);
      assert.deepEqual(await store.readStream('gone', { direction: 'backward' }), []);
      assert.deepEqual(await store.readStream('gone', { fromVersion: 2 }), []);
      assert.deepEqual(await drain(store.streamEvents('gone')), []);
      assert.deepEqual(await store.readStreamAsOf('gone', { version: 2 }), []);
      assert.deepEqual(await store.readStreamAsOf('gone', { time: Date.now() }), []);
    });

    test('a purged stream keeps its version: streamVersion returns what it had', async (ctx) => {
      const store = await open(ctx);
      await interleaved(store);
      await store.purgeStream('gone');
      assert.equal(await store.streamVersion('gone'), 3);
    });

    test("the feed skips a purged stream's positions and keeps every other event, unchanged, at its own position", async (ctx) => {
      const store = await open(ctx);
      await interleaved(store);
      const before = (await store.readAll()).events.filter((e) => e.streamId !== 'gone');
      await store.purgeStream('gone');
      const page = await store.readAll();
      assert.deepEqual(positions(page.events), [1, 4, 6, 7], 'purged positions are gaps');
      assert.deepEqual(plain(page.events), plain(before));
      assert.equal(page.headPosition, 7, 'the head does not move');
      assert.equal(page.nextPosition, 8);
      assert.equal(await store.headPosition(), 7);
      assert.deepEqual(positions(await drain(store.streamAll())), [1, 4, 6, 7]);
      assert.deepEqual(positions(await drain(store.streamAll({ fromPosition: 2 }))), [4, 6, 7]);
      assert.deepEqual(positions((await store.readAll({ fromPosition: 5 })).events), [6, 7]);
      assert.deepEqual(plain(await store.readStream('kept')), plain(before.filter((e) => e.streamId === 'kept')));
    });

    test('paging the feed with limit and nextPosition crosses purged gaps and visits every remaining event once', async (ctx) => {
      const store = await open(ctx);
      for (let i = 0; i < 60; i++) await store.append(i % 3 === 0 ? `gone-${i % 2}` : `kept-${i % 4}`, [ev(i), ev(i + 0.5)]);
      await store.purgeStream('gone-0');
      await store.purgeStream('gone-1');
      const expected = positions(await drain(store.streamAll()));
      assert.equal(expected.length, 80);
      const seen: number[] = [];
      for (let from = 1, pages = 0; ; pages++) {
        assert.ok(pages <= 120, 'paging ends');
        const page = await store.readAll({ fromPosition: from, limit: 7 });
        if (page.events.length === 0) {
          assert.equal(page.nextPosition, 121);
          break;
        }
        assert.ok(page.nextPosition > from);
        seen.push(...positions(page.events));
        from = page.nextPosition;
      }
      assert.deepEqual(seen, expected);
    });

    test("appending to a purged stream fails with CONFLICT { streamId, purged: true } whatever the expected version or ids, and writes nothing", async (ctx) => {
      const store = await open(ctx);
      await store.append('gone', { ...ev(1), id: 'first-id' });
      await store.purgeStream('gone');
      for (const expectedVersion of ['any', 'no_stream', 'exists', 0, 1] as const) {
        const err = await rejects(store.append('gone', ev(2), { expectedVersion }), ErrorCode.CONFLICT, `expected ${expectedVersion}`);
        assert.deepEqual(err.details, { streamId: 'gone', purged: true });
        assert.match(err.message, /gone was purged/);
        assert.match(err.message, /cannot be reused/);
      }
      const retry = await rejects(store.append('gone', { ...ev(1), id: 'first-id' }), ErrorCode.CONFLICT, 'a retry of an erased append');
      assert.deepEqual(retry.details, { streamId: 'gone', purged: true });
      assert.equal(await store.headPosition(), 1);
      assert.equal(await store.streamVersion('gone'), 1);
    });

    test('purging a stream that was never written fails with NOT_FOUND and changes nothing', async (ctx) => {
      const store = await open(ctx);
      await store.append('s', ev(1));
      const err = await rejects(store.purgeStream('never'), ErrorCode.NOT_FOUND);
      assert.deepEqual(err.details, { streamId: 'never' });
      assert.equal(await store.streamVersion('never'), 0);
      await store.append('never', ev(2), { expectedVersion: 'no_stream' });
      assert.equal(await store.streamVersion('never'), 1, 'the id is still free');
    });

    test('purging a purged stream again is a no-op that resolves with events: 0 and the same version', async (ctx) => {
      const store = await open(ctx);
      await interleaved(store);
      await store.purgeStream('gone');
      const head = await store.headPosition();
      assert.deepEqual(await store.purgeStream('gone'), { streamId: 'gone', version: 3, events: 0 });
      assert.deepEqual(await store.purgeStream('gone'), { streamId: 'gone', version: 3, events: 0 });
      assert.equal(await store.headPosition(), head);
      assert.deepEqual(positions((await store.readAll()).events), [1, 4, 6, 7]);
    });

    test('other streams go on as before after a purge: appends continue the versions and positions, retries still return their original result', async (ctx) => {
      const store = await open(ctx);
      const original = await store.append('kept', { ...ev(1), id: 'kept-1' });
      await store.append('gone', [ev(2), ev(3)]);
      await store.purgeStream('gone');
      assert.deepEqual(await store.append('kept', ev(4), { expectedVersion: 1 }), {
        streamId: 'kept', firstVersion: 2, lastVersion: 2, firstPosition: 4, lastPosition: 4, duplicate: false,
      });
      assert.deepEqual(await store.append('kept', { ...ev(1), id: 'kept-1' }), { ...original, duplicate: true });
      assert.deepEqual(await store.append('new', ev(5), { expectedVersion: 'no_stream' }), {
        streamId: 'new', firstVersion: 1, lastVersion: 1, firstPosition: 5, lastPosition: 5, duplicate: false,
      });
      assert.deepEqual(positions((await store.readAll()).events), [1, 4, 5]);
    });

    test('appends issued before a purge are erased with the stream; appends issued after it fail with CONFLICT', async (ctx) => {
      const store = await open(ctx);
      await store.append('gone', ev(0));
      const before = [store.append('gone', ev(1)), store.append('gone', [ev(2), ev(3)])];
      const purge = store.purgeStream('gone');
      const after = store.append('gone', ev(4));
      const elsewhere = store.append('kept', ev(5));
      await Promise.all(before);
      assert.deepEqual(await purge, { streamId: 'gone', version: 4, events: 4 });
      assert.deepEqual((await rejects(after, ErrorCode.CONFLICT)).details, { streamId: 'gone', purged: true });
      assert.equal((await elsewhere).firstPosition, 5);
      assert.deepEqual(positions((await store.readAll()).events), [5]);
    });

    test('a live feed subscriber keeps receiving later events across a purge gap', async (ctx) => {
      const store = await open(ctx);
      const rec = record(ctx, store.subscribeToAll());
      await store.append('kept', ev(1));
      await store.append('gone', [ev(2), ev(3)]);
      await rec.count(3);
      await store.purgeStream('gone');
      await store.append('kept', ev(4));
      await rec.sentinel(() => store.append('z', SENTINEL));
      assert.deepEqual(positions(rec.events), [1, 2, 3, 4, 5], 'delivered before the purge, then on past it');
      const late = record(ctx, store.subscribeToAll());
      await late.count(3);
      await store.append('kept', ev(6));
      await late.count(4);
      assert.deepEqual(positions(late.events), [1, 4, 5, 6], 'a subscriber starting after the purge skips the gap');
    });

    test('feed subscriptions starting inside or before a gap at the head get the events appended after it', async (ctx) => {
      const store = await open(ctx);
      await store.append('kept', ev(1));
      await store.append('gone', [ev(2), ev(3)]);
      await store.purgeStream('gone');
      const fromStart = record(ctx, store.subscribeToAll());
      const inGap = record(ctx, store.subscribeToAll({ afterPosition: 2 }));
      await fromStart.count(1);
      await store.append('kept', ev(4));
      await fromStart.sentinel(() => store.append('z', SENTINEL));
      await inGap.waitUntil(() => inGap.events.some((e) => e.type === SENTINEL.type), 'the sentinel');
      assert.deepEqual(positions(fromStart.events), [1, 4, 5]);
      assert.deepEqual(positions(inGap.events), [4, 5]);
    });

    test('subscribeToStream on a purged stream delivers nothing, and a live stream subscriber gets nothing more after the purge', async (ctx) => {
      const store = await open(ctx);
      await store.append('gone', [ev(1), ev(2)]);
      const live = record(ctx, store.subscribeToStream('gone'));
      await live.count(2);
      await store.purgeStream('gone');
      const after = record(ctx, store.subscribeToStream('gone'));
      const all = record(ctx, store.subscribeToAll());
      await all.sentinel(() => store.append('z', SENTINEL));
      await sleep(20);
      assert.deepEqual(after.events, []);
      assert.deepEqual(live.events.map((e) => e.version), [1, 2]);
      assert.equal(after.error, undefined);
      assert.equal(live.error, undefined);
    });

    test('purgeStream refuses an id the id rule refuses with INVALID_ID', async (ctx) => {
      const store = await open(ctx);
      for (const id of ['a\nb', '', 'x'.repeat(521), 42, null]) await rejects(store.purgeStream(id as string), ErrorCode.INVALID_ID, JSON.stringify(id));
    });

    if (kit.supports.persistent) {
      test('after close and reopen a purged stream is still a tombstone: its version, an empty read, a gap in the feed, CONFLICT on append, a no-op second purge', async (ctx) => {
        const store = await open(ctx);
        await interleaved(store);
        await store.purgeStream('gone');
        await store.append('kept', ev(8));
        const before = await drain(store.streamAll());
        await store.close();
        const reopened = await open(ctx);
        assert.equal(await reopened.streamVersion('gone'), 3);
        assert.deepEqual(await reopened.readStream('gone'), []);
        assert.deepEqual(plain(await drain(reopened.streamAll())), plain(before));
        assert.deepEqual(positions(before), [1, 4, 6, 7, 8]);
        assert.equal(await reopened.headPosition(), 8);
        assert.deepEqual((await rejects(reopened.append('gone', ev(9)), ErrorCode.CONFLICT)).details, { streamId: 'gone', purged: true });
        assert.deepEqual(await reopened.purgeStream('gone'), { streamId: 'gone', version: 3, events: 0 });
        assert.equal((await reopened.append('kept', ev(10))).firstPosition, 9);
      });

      test("nothing the backend keeps (by default: no file in the data folder) holds any byte of a purged stream's events, before or after reopening", async (ctx) => {
        const marker = `purge-marker-${Date.now().toString(36)}-${Math.random().toString(36).slice(2)}`;
        const keptMarker = `kept-marker-${Math.random().toString(36).slice(2)}`;
        const store = await open(ctx);
        // Small events (under the 1 KiB compression threshold), so the marker is stored as it is.
        const secret = (n: number): NewEvent => ({ id: `${marker}-id-${n}`, type: `${marker}.type`, data: { text: `${marker} data ${n}` }, metadata: { actor: `${marker}-actor` } });
        await store.append('kept', { type: 't', data: keptMarker });
        await store.append('gone', secret(1));
        await store.append('gone', [secret(2), secret(3)]);
        await store.append('kept', ev(4));
        assert.ok((await placesHolding(ctx, keptMarker)).length > 0, "the search finds a kept stream's bytes (the check can fail)");
        await store.purgeStream('gone');
        assert.deepEqual(await placesHolding(ctx, marker), [], 'nothing holds the marker after the purge');
        await store.append('kept', ev(5));
        await store.close();
        assert.deepEqual(await placesHolding(ctx, marker), [], 'nor after closing');
        const reopened = await open(ctx);
        assert.deepEqual(await reopened.readStream('gone'), []);
        assert.deepEqual(await placesHolding(ctx, marker), [], 'nor after reopening');
        assert.ok((await placesHolding(ctx, keptMarker)).length > 0, 'the kept stream is still there');
      });
    }
  }
}
