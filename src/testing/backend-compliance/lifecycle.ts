/** Closing, and (for a persistent backend) closing and reopening. */
import assert from 'node:assert/strict';
import type { EventStore } from '../../engine/event-store.js';
import { ErrorCode, FfcdbError } from '../../kernel/errors.js';
import type { Kit } from './harness.js';
import { SENTINEL, RICH_DATA, ev, range, drain, rejects, withTimeout, fullState, assertSameState, checkInvariants } from './helpers.js';

export function lifecycleTests(kit: Kit): void {
  const { open, record, scale, timeoutMs } = kit;
  // ---------------------------------------------------------------- closing
  {
    const test = kit.section('closing');

    test('every operation after close fails with CLOSED', async (ctx) => {
      const store = await open(ctx);
      await store.append('s', ev(1));
      await store.close();
      await rejects(store.append('s', ev(2)), ErrorCode.CLOSED, 'append');
      await rejects(store.readStream('s'), ErrorCode.CLOSED, 'readStream');
      await rejects(drain(store.streamEvents('s')), ErrorCode.CLOSED, 'streamEvents');
      await rejects(store.streamVersion('s'), ErrorCode.CLOSED, 'streamVersion');
      await rejects(store.headPosition(), ErrorCode.CLOSED, 'headPosition');
      await rejects(store.readAll(), ErrorCode.CLOSED, 'readAll');
      await rejects(drain(store.streamAll()), ErrorCode.CLOSED, 'streamAll');
      await rejects(store.readStreamAsOf('s', { version: 1 }), ErrorCode.CLOSED, 'readStreamAsOf');
      await rejects(() => store.subscribeToStream('s'), ErrorCode.CLOSED, 'subscribeToStream');
      await rejects(() => store.subscribeToAll(), ErrorCode.CLOSED, 'subscribeToAll');
      await rejects(store.purgeStream('s'), ErrorCode.CLOSED, 'purgeStream');
    });

    test('closing twice is harmless', async (ctx) => {
      const store = await open(ctx);
      await store.append('s', ev(1));
      await store.close();
      await store.close();
    });

    test('appends in flight when close is called all settle: each succeeds or fails with a typed error', async (ctx) => {
      const store = await open(ctx);
      await store.append('s', ev(0));
      const inflight = Array.from({ length: 20 }, (_, i) => store.append(`s${i % 3}`, ev(i)));
      await store.close();
      const outcomes = await withTimeout(Promise.allSettled(inflight), timeoutMs, 'appends in flight to settle');
      for (const o of outcomes) if (o.status === 'rejected') assert.ok(o.reason instanceof FfcdbError, String(o.reason));
      if (kit.supports.persistent) {
        const acked = outcomes.flatMap((o) => (o.status === 'fulfilled' ? [o.value] : []));
        const reopened = await open(ctx);
        for (const r of acked) {
          const [e] = await reopened.readStream(r.streamId, { fromVersion: r.firstVersion, limit: 1 });
          assert.equal(e?.position, r.firstPosition, 'an acknowledged append survives the close');
        }
      }
    });
  }

  // ---------------------------------------------------------------- persistence
  if (kit.supports.persistent) {
    const test = kit.section('persistence: close and reopen');

    async function populate(store: EventStore): Promise<void> {
      await store.append('chat-a', [ev(1), { ...ev(2), id: 'client-2' }], { expectedVersion: 'no_stream' });
      await store.append('chat-b', { type: 'shape', data: RICH_DATA, metadata: { actor: 'u', correlationId: 'c', causationId: 'k', x: [1] }, schemaVersion: 2 });
      for (let i = 3; i < 40; i++) await store.append(`chat-${'abc'[i % 3]}`, i % 4 ? ev(i) : [ev(i), ev(i + 0.5)]);
    }

    test('a store closed and reopened from its folder holds identical streams, versions, feed and head', async (ctx) => {
      const store = await open(ctx);
      await populate(store);
      const before = await fullState(store);
      await store.close();
      const reopened = await open(ctx);
      assertSameState(await fullState(reopened), before);
      await checkInvariants(reopened);
    });

    test('reopening twice gives the same result as reopening once', async (ctx) => {
      const store = await open(ctx);
      await populate(store);
      await store.close();
      const once = await open(ctx);
      const first = await fullState(once);
      await once.close();
      const twice = await open(ctx);
      assertSameState(await fullState(twice), first);
    });

    test('appends after reopening continue the versions and positions without gaps, with timestamps not going back', async (ctx) => {
      const store = await open(ctx);
      await populate(store);
      const head = await store.headPosition();
      const version = await store.streamVersion('chat-a');
      const lastTs = (await store.readStream('chat-a', { direction: 'backward', limit: 1 }))[0]!.timestamp;
      await store.close();
      const reopened = await open(ctx);
      const r = await reopened.append('chat-a', [ev(100), ev(101)], { expectedVersion: version });
      assert.deepEqual(r, { streamId: 'chat-a', firstVersion: version + 1, lastVersion: version + 2, firstPosition: head + 1, lastPosition: head + 2, duplicate: false });
      await rejects(reopened.append('chat-a', ev(102), { expectedVersion: version }), ErrorCode.CONFLICT);
      await rejects(reopened.append('chat-b', ev(103), { expectedVersion: 'no_stream' }), ErrorCode.CONFLICT);
      const [newest] = await reopened.readStream('chat-a', { direction: 'backward', limit: 1 });
      assert.ok(newest!.timestamp >= lastTs);
      await checkInvariants(reopened);
    });

    test('a retry after reopening still returns the original result and writes nothing', async (ctx) => {
      const store = await open(ctx);
      const first = await store.append('s', [{ ...ev(1), id: 'durable-1' }, { ...ev(2), id: 'durable-2' }]);
      await store.append('s', ev(3));
      await store.close();
      const reopened = await open(ctx);
      assert.deepEqual(await reopened.append('s', [{ ...ev(1), id: 'durable-1' }, { ...ev(2), id: 'durable-2' }]), { ...first, duplicate: true });
      await rejects(reopened.append('s', [{ ...ev(2), id: 'durable-2' }, { ...ev(9), id: 'fresh' }]), ErrorCode.DUPLICATE_EVENT);
      assert.equal(await reopened.headPosition(), 3);
    });

    test('subscriptions after reopening catch up with everything written before', async (ctx) => {
      const store = await open(ctx);
      await populate(store);
      await store.close();
      const reopened = await open(ctx);
      const head = await reopened.headPosition();
      const all = record(ctx, reopened.subscribeToAll());
      const one = record(ctx, reopened.subscribeToStream('chat-b'));
      await all.sentinel(() => reopened.append('chat-b', SENTINEL));
      await one.waitUntil(() => one.events.some((e) => e.type === SENTINEL.type), 'the sentinel');
      assert.deepEqual(all.events.map((e) => e.position), range(1, head + 1));
      assert.deepEqual(one.events.map((e) => e.version), range(1, await reopened.streamVersion('chat-b')));
    });

    test(`a reopened store serves a large feed (${scale} events over 30 streams) identically`, async (ctx) => {
      const store = await open(ctx);
      await Promise.all(Array.from({ length: 30 }, async (_, s) => {
        for (let i = 0; i < Math.ceil(scale / 30); i++) await store.append(`bulk-${s}`, ev(i));
      }));
      const before = await fullState(store);
      await store.close();
      assertSameState(await fullState(await open(ctx)), before);
    });
  }
}
