/** Appending: every field reads back, versions and positions run without gaps, timestamps never go back, imports continue a stream exactly. */
import assert from 'node:assert/strict';
import { ErrorCode } from '../../kernel/errors.js';
import type { JsonValue } from '../../kernel/types.js';
import type { Kit } from './harness.js';
import { RICH_DATA, ev, range, sleep, plain, rejects, waitFor, checkInvariants } from './helpers.js';

const ULID = /^[0-9A-HJKMNP-TV-Z]{26}$/;

export function appendTests(kit: Kit): void {
  const { open, timeoutMs } = kit;
  // ---------------------------------------------------------------- appending
  {
    const test = kit.section('append and read back');

    test('an appended event reads back with every field: id, stream id, version, position, type, schema version, timestamp, data, metadata', async (ctx) => {
      const store = await open(ctx);
      const before = Date.now();
      await store.append('chat-1', {
        type: 'message.added',
        schemaVersion: 3,
        data: RICH_DATA,
        metadata: { actor: 'user-7', correlationId: 'turn-1', causationId: 'cmd-9', model: 'gpt', tokens: 12, tags: ['a', 'b'] },
      });
      const after = Date.now();
      const [e, extra] = await store.readStream('chat-1');
      assert.ok(e, 'the event reads back');
      assert.equal(extra, undefined);
      assert.match(e.id, ULID, 'a generated id is a ULID');
      assert.equal(e.streamId, 'chat-1');
      assert.equal(e.version, 1);
      assert.equal(e.position, 1);
      assert.equal(e.type, 'message.added');
      assert.equal(e.schemaVersion, 3);
      assert.ok(e.timestamp >= before && e.timestamp <= after, `timestamp ${e.timestamp} lies within [${before}, ${after}]`);
      assert.deepEqual(plain(e.data), plain(RICH_DATA));
      assert.deepEqual(e.metadata, { actor: 'user-7', correlationId: 'turn-1', causationId: 'cmd-9', model: 'gpt', tokens: 12, tags: ['a', 'b'] });
      const feed = await store.readAll();
      assert.deepEqual(plain(feed.events), plain([e]), 'the feed returns the same event');
    });

    test('data of every JSON-compatible shape round-trips exactly: primitives, binary, unicode, empty, nested and large', async (ctx) => {
      const store = await open(ctx);
      const shapes: JsonValue[] = [
        null, true, false, 0, -1, 1.5, -2.25e-300, 1e300, Number.MAX_SAFE_INTEGER, Number.MIN_SAFE_INTEGER, 2 ** 32, -(2 ** 31),
        '', 'plain', 'ünïcödé 中文 עברית 👩‍👩‍👧 \u0000 \n\t"\\', [], {}, [[[]]], { '': '', ' ': [null] },
        new Uint8Array(0), new Uint8Array(Array.from({ length: 256 }, (_, i) => i)),
        { nested: { deeper: { deepest: [1, { x: 'y' }] } }, list: Array.from({ length: 100 }, (_, i) => i * 3) },
        'lorem ipsum dolor sit amet '.repeat(12_000),
        Object.fromEntries(Array.from({ length: 500 }, (_, i) => [`key${i}`, i % 2 ? `v${i}` : i])),
        { bin: new Uint8Array(100_000).map((_, i) => (i * 7919) % 251) },
      ];
      await store.append('shapes', shapes.slice(0, 10).map((data) => ({ type: 'shape', data })));
      for (const data of shapes.slice(10)) await store.append('shapes', { type: 'shape', data });
      const back = await store.readStream('shapes');
      assert.equal(back.length, shapes.length);
      back.forEach((e, i) => {
        assert.deepEqual(plain(e.data), plain(shapes[i]!), `shape ${i}`);
        if (shapes[i] instanceof Uint8Array) assert.ok(e.data instanceof Uint8Array, `shape ${i} reads back as a Uint8Array`);
      });
    });

    test('schema version defaults to 1 and metadata to an empty object', async (ctx) => {
      const store = await open(ctx);
      await store.append('s', { type: 't', data: null });
      const [e] = await store.readStream('s');
      assert.equal(e!.schemaVersion, 1);
      assert.deepEqual(e!.metadata, {});
    });

    test('metadata fields that are undefined are left out, not stored', async (ctx) => {
      const store = await open(ctx);
      await store.append('s', { type: 't', data: 1, metadata: { actor: 'a', correlationId: undefined, extra: undefined } });
      const [e] = await store.readStream('s');
      assert.deepEqual(e!.metadata, { actor: 'a' });
      assert.ok(!('extra' in e!.metadata));
    });

    test('a caller-supplied id is stored as the event id', async (ctx) => {
      const store = await open(ctx);
      await store.append('s', [{ type: 't', data: 1, id: 'msg:client-42' }, { type: 't', data: 2, id: '3f2504e0-4f89-11d3-9a0c-0305e82c3301' }]);
      assert.deepEqual((await store.readStream('s')).map((e) => e.id), ['msg:client-42', '3f2504e0-4f89-11d3-9a0c-0305e82c3301']);
    });

    test('generated ids are unique and sort in append order', async (ctx) => {
      const store = await open(ctx);
      for (let i = 0; i < 30; i++) await store.append(`s${i % 3}`, ev(i));
      await store.append('s0', Array.from({ length: 30 }, (_, i) => ev(i)));
      const ids = (await store.readAll()).events.map((e) => e.id);
      assert.equal(new Set(ids).size, 60);
      assert.deepEqual([...ids].sort(), ids);
    });

    test('the append result names the versions and positions written', async (ctx) => {
      const store = await open(ctx);
      assert.deepEqual(await store.append('a', [ev(1), ev(2), ev(3)]), {
        streamId: 'a', firstVersion: 1, lastVersion: 3, firstPosition: 1, lastPosition: 3, duplicate: false,
      });
      assert.deepEqual(await store.append('b', [ev(4), ev(5)]), {
        streamId: 'b', firstVersion: 1, lastVersion: 2, firstPosition: 4, lastPosition: 5, duplicate: false,
      });
      assert.deepEqual(await store.append('a', ev(6)), {
        streamId: 'a', firstVersion: 4, lastVersion: 4, firstPosition: 6, lastPosition: 6, duplicate: false,
      });
    });

    test('the store keeps its own copy: changing appended or returned objects changes nothing stored', async (ctx) => {
      const store = await open(ctx);
      const event = { type: 't', data: { list: [1, 2], bytes: new Uint8Array([1]) }, metadata: { actor: 'a', extra: { k: 1 } } };
      await store.append('s', event);
      event.data.list.push(3);
      event.data.bytes[0] = 9;
      event.metadata.extra.k = 2;
      const [read] = await store.readStream('s');
      assert.deepEqual(plain(read!.data), plain({ list: [1, 2], bytes: new Uint8Array([1]) }));
      assert.deepEqual(read!.metadata, { actor: 'a', extra: { k: 1 } });
      (read!.data as { list: number[] }).list.push(4);
      (read!.metadata as { extra: { k: number } }).extra.k = 3;
      const [again] = await store.readStream('s');
      assert.deepEqual(plain(again!.data), plain({ list: [1, 2], bytes: new Uint8Array([1]) }));
      assert.deepEqual(again!.metadata, { actor: 'a', extra: { k: 1 } });
    });

    test('a stream never written reads as empty and is at version 0', async (ctx) => {
      const store = await open(ctx);
      await store.append('other', ev(1));
      assert.deepEqual(await store.readStream('never'), []);
      assert.deepEqual(await store.readStream('never', { direction: 'backward' }), []);
      assert.equal(await store.streamVersion('never'), 0);
      assert.deepEqual(await store.readStreamAsOf('never', { version: 5 }), []);
    });

    test('commits$ reports the new head position after each append', async (ctx) => {
      const store = await open(ctx);
      const heads: number[] = [];
      const sub = store.commits$.subscribe((h) => heads.push(h));
      try {
        await store.append('s', [ev(1), ev(2)]);
        await waitFor(() => heads.includes(2), timeoutMs, 'commits$ to report head 2');
        await store.append('t', ev(3));
        await waitFor(() => heads.includes(3), timeoutMs, 'commits$ to report head 3');
        assert.ok(heads.every((h, i) => i === 0 || h >= heads[i - 1]!), `heads never go back: ${heads}`);
      } finally {
        sub.unsubscribe();
      }
    });

    test('declares its capabilities in a supports manifest', async (ctx) => {
      const backend = await kit.options.makeBackend({ dir: ctx.dir });
      const { supports } = backend;
      assert.equal(typeof backend.kind, 'string');
      for (const key of ['crossProcess', 'persistent', 'liveCrossProcess'] as const) assert.equal(typeof supports[key], 'boolean', key);
      assert.ok(Array.isArray(supports.durability) && supports.durability.length > 0, 'names at least one durability mode');
      for (const mode of supports.durability) assert.ok(['always', 'batched', 'none'].includes(mode), mode);
      if (supports.liveCrossProcess) assert.ok(supports.crossProcess, 'liveCrossProcess implies crossProcess');
      const mode = kit.options.durability;
      if (mode) assert.ok(supports.durability.includes(mode), `the mode under test, ${mode}, is one the backend declares`);
    });
  }

  // ---------------------------------------------------------------- versions, positions, timestamps
  {
    const test = kit.section('versions, positions and timestamps');

    test('stream versions run 1..n without gaps over single and batched appends', async (ctx) => {
      const store = await open(ctx);
      let n = 0;
      for (const size of [1, 3, 1, 7, 2, 1, 10]) {
        await store.append('s', Array.from({ length: size }, () => ev(++n)));
      }
      const events = await store.readStream('s');
      assert.deepEqual(events.map((e) => e.version), range(1, n));
      assert.deepEqual(events.map((e) => (e.data as { n: number }).n), range(1, n), 'in append order');
      assert.equal(await store.streamVersion('s'), n);
    });

    test('global positions run 1..n without gaps across streams, in commit order', async (ctx) => {
      const store = await open(ctx);
      const order: string[] = [];
      for (let i = 0; i < 40; i++) {
        const stream = ['alpha', 'beta', 'gamma'][i % 3 === 0 ? 0 : i % 5 === 0 ? 2 : 1]!;
        const size = (i % 4) + 1;
        await store.append(stream, Array.from({ length: size }, (_, j) => ev(i * 10 + j)));
        for (let j = 0; j < size; j++) order.push(`${stream}:${i * 10 + j}`);
      }
      const feed = await store.readAll({ limit: 10_000 });
      assert.deepEqual(feed.events.map((e) => e.position), range(1, order.length));
      assert.deepEqual(feed.events.map((e) => `${e.streamId}:${(e.data as { n: number }).n}`), order);
      assert.equal(feed.headPosition, order.length);
      assert.equal(await store.headPosition(), order.length);
    });

    test('each stream keeps its own version sequence, and the feed agrees with every stream', async (ctx) => {
      const store = await open(ctx);
      for (let i = 0; i < 30; i++) await store.append(`s${i % 4}`, ev(i));
      await checkInvariants(store);
      assert.deepEqual((await store.readStream('s1')).map((e) => e.version), [1, 2, 3, 4, 5, 6, 7, 8]);
      assert.ok((await store.readStream('s1')).every((e) => e.streamId === 's1'));
    });

    test('headPosition is 0 on an empty store and the last position after appends', async (ctx) => {
      const store = await open(ctx);
      assert.equal(await store.headPosition(), 0);
      await store.append('a', [ev(1), ev(2)]);
      await store.append('b', ev(3));
      assert.equal(await store.headPosition(), 3);
    });

    test('timestamps never decrease within a stream', async (ctx) => {
      const store = await open(ctx);
      for (let i = 0; i < 15; i++) {
        await store.append('s', i % 3 ? ev(i) : [ev(i), ev(i + 100)]);
        if (i % 5 === 0) await sleep(2);
      }
      const ts = (await store.readStream('s')).map((e) => e.timestamp);
      assert.ok(ts.every((t, i) => i === 0 || t >= ts[i - 1]!), `non-decreasing: ${ts}`);
      assert.ok(ts.at(-1)! > ts[0]!, 'and they move with the clock');
    });

    test('importEvents appends recorded events as given (ids, timestamps, versions, schema versions, metadata) and refuses any that would not continue the stream exactly', async (ctx) => {
      const store = await open(ctx);
      const recorded = (version: number, timestamp: number, id = `rec-${version}`) => ({
        id, version, timestamp, type: 'message.added', schemaVersion: 2, data: { n: version, bytes: new Uint8Array([version, 255]) }, metadata: { actor: 'ann', causationId: 'c-1' },
      });
      assert.deepEqual(await store.importEvents('s', [recorded(1, 1000), recorded(2, 1000), recorded(3, 2000)]), {
        streamId: 's', firstVersion: 1, lastVersion: 3, firstPosition: 1, lastPosition: 3, duplicate: false,
      });
      await store.importEvents('t', [recorded(1, 500)]);
      await store.importEvents('s', [recorded(4, 2000)]);
      const back = await store.readStream('s');
      assert.deepEqual(
        back.map((e) => [e.id, e.version, e.position, e.timestamp, e.schemaVersion, e.metadata, plain(e.data)]),
        [1, 2, 3, 4].map((v, i) => [`rec-${v}`, v, v === 4 ? 5 : v, [1000, 1000, 2000, 2000][i], 2, { actor: 'ann', causationId: 'c-1' }, plain(recorded(v, 0).data)]),
      );
      // Each refusal writes nothing.
      await rejects(store.importEvents('s', [recorded(4, 3000, 'again')]), ErrorCode.CONFLICT, 'a version the stream already has');
      await rejects(store.importEvents('s', [recorded(6, 3000)]), ErrorCode.CONFLICT, 'a version past the next one');
      await rejects(store.importEvents('s', [recorded(5, 3000), recorded(7, 3000)]), ErrorCode.INVALID_ARGUMENT, 'a gap inside the call');
      await rejects(store.importEvents('s', [recorded(5, 1999)]), ErrorCode.INVALID_ARGUMENT, 'a timestamp below the stored one');
      await rejects(store.importEvents('s', [recorded(5, 3000), recorded(6, 2500)]), ErrorCode.INVALID_ARGUMENT, 'a timestamp going back inside the call');
      await rejects(store.importEvents('s', [recorded(5, 3000, 'x'), recorded(6, 3000, 'x')]), ErrorCode.DUPLICATE_EVENT, 'an id twice in the call');
      await rejects(store.importEvents('s', [{ ...recorded(5, 3000), id: 'not\nan id' }]), ErrorCode.INVALID_ID, 'a malformed id');
      await rejects(store.importEvents('s', [{ ...recorded(5, 3000), timestamp: -1 }]), ErrorCode.INVALID_ARGUMENT, 'a negative timestamp');
      await rejects(store.importEvents('s', []), ErrorCode.INVALID_ARGUMENT, 'no events');
      assert.equal(await store.streamVersion('s'), 4);
      assert.equal(await store.headPosition(), 5);
      // A normal append continues after imported events, its timestamp not below theirs.
      const next = await store.append('s', ev(5));
      assert.deepEqual([next.firstVersion, next.firstPosition], [5, 6]);
      assert.ok((await store.readStream('s', { fromVersion: 5 }))[0]!.timestamp >= 2000);
    });
  }
}
