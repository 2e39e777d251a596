/** Reading a stream forward and backward, with limits and types, and as of a version or a time. */
import assert from 'node:assert/strict';
import type { EventStore } from '../../engine/event-store.js';
import { ErrorCode } from '../../kernel/errors.js';
import type { RecordedEvent } from '../../kernel/types.js';
import type { Kit } from './harness.js';
import { ev, range, sleep, plain, rejects } from './helpers.js';

export function readTests(kit: Kit): void {
  const { open, scale } = kit;
  // ---------------------------------------------------------------- reading a stream
  {
    const test = kit.section('reading a stream');
    /** Ten events; every third (versions 3, 6, 9) is an edit. */
    async function tenEvents(store: EventStore): Promise<void> {
      await store.append('s', [ev(1), ev(2)]);
      for (let v = 3; v <= 10; v++) await store.append('s', v % 3 === 0 ? ev(v, 'message.edited') : ev(v));
      await store.append('other', ev(99, 'message.edited'));
    }
    const versions = (events: RecordedEvent[]) => events.map((e) => e.version);

    test('reads forward from version 1 by default', async (ctx) => {
      const store = await open(ctx);
      await tenEvents(store);
      assert.deepEqual(versions(await store.readStream('s')), range(1, 10));
      assert.deepEqual(versions(await store.readStream('s', { direction: 'forward' })), range(1, 10));
    });

    test('reads forward from a given version', async (ctx) => {
      const store = await open(ctx);
      await tenEvents(store);
      assert.deepEqual(versions(await store.readStream('s', { fromVersion: 4 })), range(4, 10));
      assert.deepEqual(versions(await store.readStream('s', { fromVersion: 10 })), [10]);
      assert.deepEqual(versions(await store.readStream('s', { fromVersion: 11 })), []);
    });

    test('reads backward from the last version', async (ctx) => {
      const store = await open(ctx);
      await tenEvents(store);
      assert.deepEqual(versions(await store.readStream('s', { direction: 'backward' })), range(1, 10).reverse());
    });

    test('reads backward from a given version down to 1; from past the end it starts at the last', async (ctx) => {
      const store = await open(ctx);
      await tenEvents(store);
      assert.deepEqual(versions(await store.readStream('s', { direction: 'backward', fromVersion: 4 })), [4, 3, 2, 1]);
      assert.deepEqual(versions(await store.readStream('s', { direction: 'backward', fromVersion: 1 })), [1]);
      assert.deepEqual(versions(await store.readStream('s', { direction: 'backward', fromVersion: 50 })), range(1, 10).reverse());
    });

    test('limit caps the events returned in either direction, and limit 0 returns none', async (ctx) => {
      const store = await open(ctx);
      await tenEvents(store);
      assert.deepEqual(versions(await store.readStream('s', { limit: 3 })), [1, 2, 3]);
      assert.deepEqual(versions(await store.readStream('s', { limit: 3, fromVersion: 5 })), [5, 6, 7]);
      assert.deepEqual(versions(await store.readStream('s', { limit: 3, direction: 'backward' })), [10, 9, 8]);
      assert.deepEqual(versions(await store.readStream('s', { limit: 2, direction: 'backward', fromVersion: 5 })), [5, 4]);
      assert.deepEqual(versions(await store.readStream('s', { limit: 100 })), range(1, 10));
      assert.deepEqual(await store.readStream('s', { limit: 0 }), []);
    });

    test('types keeps only events of those types, and limit counts only kept events', async (ctx) => {
      const store = await open(ctx);
      await tenEvents(store);
      assert.deepEqual(versions(await store.readStream('s', { types: ['message.edited'] })), [3, 6, 9]);
      assert.deepEqual(versions(await store.readStream('s', { types: ['message.edited'], limit: 2 })), [3, 6]);
      assert.deepEqual(versions(await store.readStream('s', { types: ['message.edited'], direction: 'backward', fromVersion: 8 })), [6, 3]);
      assert.deepEqual(versions(await store.readStream('s', { types: ['message.added', 'message.edited'] })), range(1, 10));
      assert.deepEqual(await store.readStream('s', { types: [] }), []);
      assert.deepEqual(await store.readStream('s', { types: ['nothing.like.this'] }), []);
    });

    test(`reads a long stream (${scale} events) across pages, forward and backward, in order`, async (ctx) => {
      const store = await open(ctx);
      let n = 0;
      for (let size = 1; n < scale; size = (size * 7) % 61 + 1) {
        const count = Math.min(size, scale - n);
        await store.append('long', Array.from({ length: count }, () => ev(++n)));
        if (n % 5 === 0) await store.append('noise', ev(-n));
      }
      assert.deepEqual(versions(await store.readStream('long')), range(1, scale));
      assert.deepEqual(versions(await store.readStream('long', { direction: 'backward' })), range(1, scale).reverse());
      const mid = Math.floor(scale / 2);
      assert.deepEqual(versions(await store.readStream('long', { fromVersion: mid, limit: 300 })), range(mid, Math.min(scale, mid + 299)));
      assert.deepEqual(versions(await store.readStream('long', { direction: 'backward', fromVersion: mid, limit: 300 })), range(Math.max(1, mid - 299), mid).reverse());
      assert.deepEqual((await store.readStream('long')).map((e) => (e.data as { n: number }).n), range(1, scale));
    });

    test('streamEvents yields events one by one and can be stopped early without harm', async (ctx) => {
      const store = await open(ctx);
      await tenEvents(store);
      const seen: number[] = [];
      for await (const e of store.streamEvents('s', { direction: 'backward' })) {
        seen.push(e.version);
        if (seen.length === 3) break;
      }
      assert.deepEqual(seen, [10, 9, 8]);
      await store.append('s', ev(11));
      assert.deepEqual(versions(await store.readStream('s', { fromVersion: 10 })), [10, 11]);
    });

    test('bad read options are refused with INVALID_ARGUMENT', async (ctx) => {
      const store = await open(ctx);
      await tenEvents(store);
      const bad: [string, object][] = [
        ['limit', { limit: -1 }], ['limit', { limit: 1.5 }], ['limit', { limit: Number.NaN }], ['limit', { limit: '5' }],
        ['fromVersion', { fromVersion: -1 }], ['fromVersion', { fromVersion: 2.5 }], ['fromVersion', { fromVersion: '3' }],
        ['direction', { direction: 'sideways' }], ['types', { types: 'message.added' }], ['types', { types: [1] }],
      ];
      for (const [field, options] of bad) {
        const err = await rejects(store.readStream('s', options as never), ErrorCode.INVALID_ARGUMENT, JSON.stringify(options));
        assert.equal(err.details.field, field);
      }
    });
  }

  // ---------------------------------------------------------------- time travel
  {
    const test = kit.section('time travel');

    test('as of version N returns exactly versions 1..N; 0 returns nothing; past the end returns all', async (ctx) => {
      const store = await open(ctx);
      await store.append('s', [ev(1), ev(2), ev(3)]);
      await store.append('s', [ev(4), ev(5)]);
      assert.deepEqual((await store.readStreamAsOf('s', { version: 3 })).map((e) => e.version), [1, 2, 3]);
      assert.deepEqual((await store.readStreamAsOf('s', { version: 4 })).map((e) => e.version), [1, 2, 3, 4]);
      assert.deepEqual(await store.readStreamAsOf('s', { version: 0 }), []);
      assert.deepEqual((await store.readStreamAsOf('s', { version: 99 })).map((e) => e.version), [1, 2, 3, 4, 5]);
      assert.deepEqual(plain(await store.readStreamAsOf('s', { version: 2 })), plain((await store.readStream('s')).slice(0, 2)));
    });

    test('as of a time returns every event stamped at or before it, given as milliseconds or a Date', async (ctx) => {
      const store = await open(ctx);
      await store.append('s', [ev(1), ev(2)]);
      await sleep(5);
      await store.append('s', ev(3));
      await sleep(5);
      await store.append('s', ev(4));
      const events = await store.readStream('s');
      const t3 = events[2]!.timestamp;
      assert.ok(events[1]!.timestamp < t3 && t3 < events[3]!.timestamp, 'the clock moved between the appends');
      assert.deepEqual((await store.readStreamAsOf('s', { time: t3 })).map((e) => e.version), [1, 2, 3]);
      assert.deepEqual((await store.readStreamAsOf('s', { time: new Date(t3) })).map((e) => e.version), [1, 2, 3]);
      assert.deepEqual((await store.readStreamAsOf('s', { time: t3 - 1 })).map((e) => e.version), [1, 2]);
      assert.deepEqual(await store.readStreamAsOf('s', { time: events[0]!.timestamp - 1 }), []);
      assert.deepEqual((await store.readStreamAsOf('s', { time: Date.now() + 60_000 })).map((e) => e.version), [1, 2, 3, 4]);
    });

    test('bad as-of arguments are refused with INVALID_ARGUMENT', async (ctx) => {
      const store = await open(ctx);
      await store.append('s', ev(1));
      for (const asOf of [{ version: -1 }, { version: 1.5 }, { time: Number.NaN }, { time: 'yesterday' }, { time: new Date('nope') }, {}]) {
        await rejects(store.readStreamAsOf('s', asOf as never), ErrorCode.INVALID_ARGUMENT, JSON.stringify(asOf));
      }
    });
  }
}
