/** Concurrent appends in one process. */
import assert from 'node:assert/strict';
import { ErrorCode, FfcdbError } from '../../kernel/errors.js';
import type { Kit } from './harness.js';
import { ev, range, drain, checkInvariants } from './helpers.js';

export function concurrencyTests(kit: Kit): void {
  const { open, scale } = kit;
  // ---------------------------------------------------------------- concurrency
  {
    const test = kit.section('concurrent appends');

    test('concurrent appends to one stream get consecutive versions: nothing lost, duplicated, reordered or interleaved', async (ctx) => {
      const store = await open(ctx);
      const writers = Math.max(20, Math.floor(scale / 4));
      const batches = Array.from({ length: writers }, (_, w) => Array.from({ length: (w % 3) + 1 }, (_, part) => ({ type: 't', data: { w, part } })));
      const results = await Promise.all(batches.map((batch) => store.append('one', batch)));
      const total = batches.reduce((n, b) => n + b.length, 0);
      const events = await store.readStream('one');
      assert.deepEqual(events.map((e) => e.version), range(1, total));
      results.forEach((r, w) => {
        assert.equal(r.lastVersion - r.firstVersion + 1, batches[w]!.length);
        assert.equal(r.lastPosition - r.firstPosition + 1, batches[w]!.length);
        const written = events.slice(r.firstVersion - 1, r.lastVersion);
        assert.deepEqual(written.map((e) => e.data), batches[w]!.map((b) => b.data), `writer ${w}'s batch sits whole and in order at ${r.firstVersion}..${r.lastVersion}`);
        assert.deepEqual(written.map((e) => e.position), range(r.firstPosition, r.lastPosition));
      });
      await checkInvariants(store);
    });

    test('concurrent appends to many streams keep every stream gapless and the feed one total order', async (ctx) => {
      const store = await open(ctx);
      const streams = 16;
      const perStream = Math.max(5, Math.floor(scale / streams));
      const results = await Promise.all(
        Array.from({ length: streams * perStream }, (_, i) => store.append(`chat-${i % streams}`, { type: 't', data: { i } })),
      );
      const positions = results.map((r) => r.firstPosition).sort((a, b) => a - b);
      assert.deepEqual(positions, range(1, streams * perStream), 'every append got its own position');
      for (let s = 0; s < streams; s++) assert.equal(await store.streamVersion(`chat-${s}`), perStream);
      const feed = await drain(store.streamAll());
      for (const [i, r] of results.entries()) {
        const e = feed[r.firstPosition - 1]!;
        assert.deepEqual([e.streamId, e.version, e.data], [`chat-${i % streams}`, r.firstVersion, { i }]);
      }
      await checkInvariants(store);
    });

    test('of many concurrent appends expecting the same version, exactly one succeeds and the rest get CONFLICT', async (ctx) => {
      const store = await open(ctx);
      await store.append('s', ev(0));
      const outcomes = await Promise.allSettled(Array.from({ length: 20 }, (_, i) => store.append('s', ev(i), { expectedVersion: 1 })));
      const won = outcomes.filter((o) => o.status === 'fulfilled');
      assert.equal(won.length, 1);
      for (const o of outcomes) {
        if (o.status === 'rejected') {
          assert.ok(o.reason instanceof FfcdbError);
          assert.equal(o.reason.code, ErrorCode.CONFLICT);
          assert.equal(o.reason.details.actual, 2);
        }
      }
      const created = await Promise.allSettled(Array.from({ length: 10 }, () => store.append('new', ev(1), { expectedVersion: 'no_stream' })));
      assert.equal(created.filter((o) => o.status === 'fulfilled').length, 1);
      assert.equal(await store.streamVersion('s'), 2);
      assert.equal(await store.streamVersion('new'), 1);
    });

    test('optimistic read-then-append loops by many workers never lose an update', async (ctx) => {
      const store = await open(ctx);
      const workers = 8;
      const each = 6;
      let conflicts = 0;
      await Promise.all(Array.from({ length: workers }, async (_, w) => {
        for (let i = 0; i < each; i++) {
          for (;;) {
            const version = await store.streamVersion('counter');
            try {
              await store.append('counter', { type: 'incremented', data: { w, i } }, { expectedVersion: version });
              break;
            } catch (err) {
              if (!(err instanceof FfcdbError && err.code === ErrorCode.CONFLICT)) throw err;
              conflicts++;
            }
          }
        }
      }));
      const events = await store.readStream('counter');
      assert.deepEqual(events.map((e) => e.version), range(1, workers * each));
      assert.equal(new Set(events.map((e) => JSON.stringify(e.data))).size, workers * each, 'every increment once');
      assert.ok(conflicts > 0, 'the workers really raced');
    });

    test('readers running during concurrent batch appends only ever see whole batches', async (ctx) => {
      const store = await open(ctx);
      const batch = 5;
      let done = false;
      const reads: Promise<void>[] = [];
      const reader = async () => {
        while (!done) {
          const events = await store.readStream('s');
          assert.equal(events.length % batch, 0, `a reader saw ${events.length} events: a torn batch`);
          assert.deepEqual(events.map((e) => e.version), range(1, events.length));
          const page = await store.readAll();
          assert.equal(page.events.length, page.headPosition, 'the feed holds every position up to the head');
          assert.equal(page.events.length % batch, 0);
          await new Promise((r) => setImmediate(r));
        }
      };
      for (let i = 0; i < 3; i++) reads.push(reader());
      const readersDone = Promise.all(reads);
      readersDone.catch(() => {}); // handled below, after the appends
      await Promise.all(Array.from({ length: 40 }, (_, i) => store.append('s', Array.from({ length: batch }, (_, j) => ev(i * batch + j)))));
      done = true;
      await readersDone;
      assert.equal(await store.streamVersion('s'), 40 * batch);
    });
  }
}
