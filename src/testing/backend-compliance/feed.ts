/** The global feed: position order, paging, type filters. */
import assert from 'node:assert/strict';
import type { EventStore } from '../../engine/event-store.js';
import { ErrorCode } from '../../kernel/errors.js';
import type { RecordedEvent } from '../../kernel/types.js';
import type { Kit } from './harness.js';
import { ev, range, plain, drain, rejects, checkInvariants } from './helpers.js';

export function feedTests(kit: Kit): void {
  const { open, scale } = kit;
  // ---------------------------------------------------------------- the global feed
  {
    const test = kit.section('the global feed');
    /** `count` events over five streams, types alternating a, b, c. */
    async function fill(store: EventStore, count: number): Promise<void> {
      let i = 0;
      while (i < count) {
        const size = Math.min(count - i, (i % 3) + 1);
        await store.append(`s${i % 5}`, Array.from({ length: size }, (_, j) => ev(i + j, 'abc'[(i + j) % 3]!)));
        i += size;
      }
    }

    test('an empty store has an empty feed: no events, nextPosition 1, headPosition 0', async (ctx) => {
      const store = await open(ctx);
      assert.deepEqual(await store.readAll(), { events: [], nextPosition: 1, headPosition: 0 });
    });

    test('readAll returns every event of every stream in position order, and the same events as the streams', async (ctx) => {
      const store = await open(ctx);
      await fill(store, 50);
      const page = await store.readAll();
      assert.deepEqual(page.events.map((e) => e.position), range(1, 50));
      assert.equal(page.nextPosition, 51);
      assert.equal(page.headPosition, 50);
      await checkInvariants(store);
    });

    test('readAll from a position returns the events from there on', async (ctx) => {
      const store = await open(ctx);
      await fill(store, 30);
      assert.deepEqual((await store.readAll({ fromPosition: 17 })).events.map((e) => e.position), range(17, 30));
      assert.deepEqual((await store.readAll({ fromPosition: 30 })).events.map((e) => e.position), [30]);
    });

    test(`paging with limit and nextPosition visits every one of ${scale} events exactly once`, async (ctx) => {
      const store = await open(ctx);
      await fill(store, scale);
      const all = (await store.readAll({ limit: scale })).events;
      const seen: RecordedEvent[] = [];
      let from = 1;
      for (let pages = 0; ; pages++) {
        assert.ok(pages <= scale, 'paging ends');
        const page = await store.readAll({ fromPosition: from, limit: 37 });
        assert.equal(page.headPosition, scale);
        if (page.events.length === 0) {
          assert.equal(page.nextPosition, scale + 1);
          break;
        }
        assert.ok(page.events.length <= 37);
        assert.equal(page.events[0]!.position, from, 'a page starts where the last one ended');
        assert.ok(page.nextPosition > from);
        seen.push(...page.events);
        from = page.nextPosition;
      }
      assert.deepEqual(plain(seen), plain(all));
    });

    test('types filters the feed, and nextPosition moves past the skipped events', async (ctx) => {
      const store = await open(ctx);
      await fill(store, 30);
      const bs = (await store.readAll({ types: ['b'] })).events;
      assert.deepEqual(bs.map((e) => e.type), Array(10).fill('b'));
      const page = await store.readAll({ types: ['b'], limit: 3 });
      assert.deepEqual(page.events.map((e) => e.position), bs.slice(0, 3).map((e) => e.position));
      assert.equal(page.nextPosition, bs[2]!.position + 1);
      const rest = await store.readAll({ types: ['b'], fromPosition: page.nextPosition });
      assert.deepEqual(rest.events.map((e) => e.position), bs.slice(3).map((e) => e.position));
      assert.equal(rest.nextPosition, 31, 'the end of the feed, not just past the last match');
      assert.deepEqual(await store.readAll({ types: ['zzz'] }), { events: [], nextPosition: 31, headPosition: 30 });
    });

    test('readAll from past the head returns nothing and a nextPosition that never goes back', async (ctx) => {
      const store = await open(ctx);
      await fill(store, 5);
      assert.deepEqual(await store.readAll({ fromPosition: 6 }), { events: [], nextPosition: 6, headPosition: 5 });
      assert.deepEqual(await store.readAll({ fromPosition: 100 }), { events: [], nextPosition: 100, headPosition: 5 });
      assert.deepEqual((await store.readAll({ limit: 0 })).events, []);
    });

    test('streamAll yields the whole feed from a position, optionally by type', async (ctx) => {
      const store = await open(ctx);
      await fill(store, 40);
      assert.deepEqual((await drain(store.streamAll())).map((e) => e.position), range(1, 40));
      assert.deepEqual((await drain(store.streamAll({ fromPosition: 35 }))).map((e) => e.position), range(35, 40));
      const cs = await drain(store.streamAll({ types: ['c'] }));
      assert.equal(cs.length, 13);
      assert.ok(cs.every((e) => e.type === 'c'));
      assert.deepEqual(plain(await drain(store.streamAll())), plain((await store.readAll()).events));
    });

    test('bad feed options are refused with INVALID_ARGUMENT', async (ctx) => {
      const store = await open(ctx);
      for (const options of [{ fromPosition: 0 }, { fromPosition: -3 }, { fromPosition: 1.5 }, { limit: -1 }, { limit: 2.5 }, { types: 'a' }]) {
        await rejects(store.readAll(options as never), ErrorCode.INVALID_ARGUMENT, JSON.stringify(options));
      }
      await rejects(drain(store.streamAll({ fromPosition: 0 })), ErrorCode.INVALID_ARGUMENT);
    });
  }
}
