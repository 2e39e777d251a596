/**
 * The shared compliance suite: the StorageBackend contract, proven through the
 * public engine (`EventStore.open(backend)`). Every backend runs it from its own
 * test file, the way classic-level runs abstract-level's shared tests:
 *
 *   import { backendCompliance } from '../compliance/backend-compliance.js';
 *   backendCompliance('memory', () => new MemoryBackend());
 *
 * Each test gets a fresh temporary folder (`ctx.dir`) that the suite creates and
 * removes; a persistent backend keeps its data there, and the reopen tests build
 * a second backend from the same folder. A backend that keeps its data elsewhere
 * (a database) derives its place from the folder and passes `cleanup` and
 * `placesHolding` (see ComplianceOptions).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { suite, type Test as UvuSuite } from 'uvu';
import * as assert from 'uvu/assert';
import type { Observable, Subscription } from 'rxjs';
import type { StorageBackend } from '../../src/backends/backend.js';
import { EventStore } from '../../src/engine/event-store.js';
import { ErrorCode, FfcdbError } from '../../src/errors.js';
import type { AppendResult, JsonValue, NewEvent, RecordedEvent } from '../../src/types.js';
import { filesHolding } from '../support/files-holding.js';

export type MakeBackend = (ctx: { dir: string }) => StorageBackend | Promise<StorageBackend>;

export interface ComplianceOptions {
  /** Events in the bulk tests (paging, concurrency). Larger stresses harder. Default 600. */
  scale?: number;
  /** A test (or a wait for a subscription) that has not finished after this many ms fails. Default 20000. */
  timeoutMs?: number;
  /**
   * Whether to run the close-and-reopen tests. Default: the backend's own
   * `supports.persistent`, read from one instance that `makeBackend` builds (and
   * never opens) when the suite is registered; give it here when `makeBackend`
   * is async.
   */
  persistent?: boolean;
  /**
   * For a backend that keeps its data outside `ctx.dir` (a database): where it
   * holds the given text, as names of the places (tables, files). Default: the
   * files under `ctx.dir` whose bytes contain it.
   */
  placesHolding?: (ctx: { dir: string }, marker: string) => Promise<string[]>;
  /** Runs after each test once its stores are closed, to remove what a backend keeps outside `ctx.dir`. */
  cleanup?: (ctx: { dir: string }) => Promise<void>;
}

interface Ctx {
  dir: string;
  stores: EventStore[];
  recorders: Recorder[];
}

type Test = (name: string, fn: (ctx: Ctx) => Promise<void>) => void;

const ULID = /^[0-9A-HJKMNP-TV-Z]{26}$/;

export function backendCompliance(name: string, makeBackend: MakeBackend, options: ComplianceOptions = {}): void {
  const scale = options.scale ?? 600;
  const timeoutMs = options.timeoutMs ?? 20_000;
  const persistent = options.persistent ?? probePersistent(name, makeBackend);
  const placesHolding = options.placesHolding ?? (async (ctx: { dir: string }, marker: string) => filesHolding(ctx.dir, marker));
  const suites: UvuSuite<Ctx>[] = [];

  /** A uvu suite whose tests each get a fresh folder, and whose stores and subscriptions are closed afterwards. */
  function define(title: string): Test {
    const s = suite<Ctx>(`${name}: ${title}`, { dir: '', stores: [], recorders: [] });
    s.before.each((ctx) => {
      ctx.dir = mkdtempSync(join(tmpdir(), `ffcdb-${name}-`));
      ctx.stores = [];
      ctx.recorders = [];
    });
    s.after.each(async (ctx) => {
      for (const r of ctx.recorders) r.unsubscribe();
      await withTimeout(Promise.allSettled(ctx.stores.map((st) => st.close())), timeoutMs, 'closing the stores after the test');
      await options.cleanup?.(ctx);
      rmSync(ctx.dir, { recursive: true, force: true });
    });
    suites.push(s);
    return (testName, fn) => s(testName, (ctx) => withTimeout(fn(ctx), timeoutMs, `test "${testName}"`).catch(reportable));
  }

  async function open(ctx: Ctx): Promise<EventStore> {
    const store = await EventStore.open(await makeBackend({ dir: ctx.dir }));
    ctx.stores.push(store);
    return store;
  }

  function record(ctx: Ctx, events$: Observable<RecordedEvent>): Recorder {
    const r = new Recorder(events$, timeoutMs);
    ctx.recorders.push(r);
    return r;
  }

  // ---------------------------------------------------------------- appending
  {
    const test = define('append and read back');

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
      assert.is(extra, undefined);
      assert.match(e.id, ULID, 'a generated id is a ULID');
      assert.is(e.streamId, 'chat-1');
      assert.is(e.version, 1);
      assert.is(e.position, 1);
      assert.is(e.type, 'message.added');
      assert.is(e.schemaVersion, 3);
      assert.ok(e.timestamp >= before && e.timestamp <= after, `timestamp ${e.timestamp} lies within [${before}, ${after}]`);
      assert.equal(plain(e.data), plain(RICH_DATA));
      assert.equal(e.metadata, { actor: 'user-7', correlationId: 'turn-1', causationId: 'cmd-9', model: 'gpt', tokens: 12, tags: ['a', 'b'] });
      const feed = await store.readAll();
      assert.equal(plain(feed.events), plain([e]), 'the feed returns the same event');
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
      assert.is(back.length, shapes.length);
      back.forEach((e, i) => {
        assert.equal(plain(e.data), plain(shapes[i]!), `shape ${i}`);
        if (shapes[i] instanceof Uint8Array) assert.instance(e.data, Uint8Array, `shape ${i} reads back as a Uint8Array`);
      });
    });

    test('schema version defaults to 1 and metadata to an empty object', async (ctx) => {
      const store = await open(ctx);
      await store.append('s', { type: 't', data: null });
      const [e] = await store.readStream('s');
      assert.is(e!.schemaVersion, 1);
      assert.equal(e!.metadata, {});
    });

    test('metadata fields that are undefined are left out, not stored', async (ctx) => {
      const store = await open(ctx);
      await store.append('s', { type: 't', data: 1, metadata: { actor: 'a', correlationId: undefined, extra: undefined } });
      const [e] = await store.readStream('s');
      assert.equal(e!.metadata, { actor: 'a' });
      assert.not.ok('extra' in e!.metadata);
    });

    test('a caller-supplied id is stored as the event id', async (ctx) => {
      const store = await open(ctx);
      await store.append('s', [{ type: 't', data: 1, id: 'msg:client-42' }, { type: 't', data: 2, id: '3f2504e0-4f89-11d3-9a0c-0305e82c3301' }]);
      assert.equal((await store.readStream('s')).map((e) => e.id), ['msg:client-42', '3f2504e0-4f89-11d3-9a0c-0305e82c3301']);
    });

    test('generated ids are unique and sort in append order', async (ctx) => {
      const store = await open(ctx);
      for (let i = 0; i < 30; i++) await store.append(`s${i % 3}`, ev(i));
      await store.append('s0', Array.from({ length: 30 }, (_, i) => ev(i)));
      const ids = (await store.readAll()).events.map((e) => e.id);
      assert.is(new Set(ids).size, 60);
      assert.equal([...ids].sort(), ids);
    });

    test('the append result names the versions and positions written', async (ctx) => {
      const store = await open(ctx);
      assert.equal(await store.append('a', [ev(1), ev(2), ev(3)]), {
        streamId: 'a', firstVersion: 1, lastVersion: 3, firstPosition: 1, lastPosition: 3, duplicate: false,
      });
      assert.equal(await store.append('b', [ev(4), ev(5)]), {
        streamId: 'b', firstVersion: 1, lastVersion: 2, firstPosition: 4, lastPosition: 5, duplicate: false,
      });
      assert.equal(await store.append('a', ev(6)), {
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
      assert.equal(plain(read!.data), plain({ list: [1, 2], bytes: new Uint8Array([1]) }));
      assert.equal(read!.metadata, { actor: 'a', extra: { k: 1 } });
      (read!.data as { list: number[] }).list.push(4);
      (read!.metadata as { extra: { k: number } }).extra.k = 3;
      const [again] = await store.readStream('s');
      assert.equal(plain(again!.data), plain({ list: [1, 2], bytes: new Uint8Array([1]) }));
      assert.equal(again!.metadata, { actor: 'a', extra: { k: 1 } });
    });

    test('a stream never written reads as empty and is at version 0', async (ctx) => {
      const store = await open(ctx);
      await store.append('other', ev(1));
      assert.equal(await store.readStream('never'), []);
      assert.equal(await store.readStream('never', { direction: 'backward' }), []);
      assert.is(await store.streamVersion('never'), 0);
      assert.equal(await store.readStreamAsOf('never', { version: 5 }), []);
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
      const backend = await makeBackend({ dir: ctx.dir });
      const { supports } = backend;
      assert.type(backend.kind, 'string');
      for (const key of ['crossProcess', 'persistent', 'liveCrossProcess'] as const) assert.type(supports[key], 'boolean', key);
      assert.ok(Array.isArray(supports.durability) && supports.durability.length > 0, 'names at least one durability mode');
      for (const mode of supports.durability) assert.ok(['always', 'batched', 'none'].includes(mode), mode);
      if (supports.liveCrossProcess) assert.ok(supports.crossProcess, 'liveCrossProcess implies crossProcess');
    });
  }

  // ---------------------------------------------------------------- versions, positions, timestamps
  {
    const test = define('versions, positions and timestamps');

    test('stream versions run 1..n without gaps over single and batched appends', async (ctx) => {
      const store = await open(ctx);
      let n = 0;
      for (const size of [1, 3, 1, 7, 2, 1, 10]) {
        await store.append('s', Array.from({ length: size }, () => ev(++n)));
      }
      const events = await store.readStream('s');
      assert.equal(events.map((e) => e.version), range(1, n));
      assert.equal(events.map((e) => (e.data as { n: number }).n), range(1, n), 'in append order');
      assert.is(await store.streamVersion('s'), n);
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
      assert.equal(feed.events.map((e) => e.position), range(1, order.length));
      assert.equal(feed.events.map((e) => `${e.streamId}:${(e.data as { n: number }).n}`), order);
      assert.is(feed.headPosition, order.length);
      assert.is(await store.headPosition(), order.length);
    });

    test('each stream keeps its own version sequence, and the feed agrees with every stream', async (ctx) => {
      const store = await open(ctx);
      for (let i = 0; i < 30; i++) await store.append(`s${i % 4}`, ev(i));
      await checkInvariants(store);
      assert.equal((await store.readStream('s1')).map((e) => e.version), [1, 2, 3, 4, 5, 6, 7, 8]);
      assert.ok((await store.readStream('s1')).every((e) => e.streamId === 's1'));
    });

    test('headPosition is 0 on an empty store and the last position after appends', async (ctx) => {
      const store = await open(ctx);
      assert.is(await store.headPosition(), 0);
      await store.append('a', [ev(1), ev(2)]);
      await store.append('b', ev(3));
      assert.is(await store.headPosition(), 3);
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
      assert.equal(await store.importEvents('s', [recorded(1, 1000), recorded(2, 1000), recorded(3, 2000)]), {
        streamId: 's', firstVersion: 1, lastVersion: 3, firstPosition: 1, lastPosition: 3, duplicate: false,
      });
      await store.importEvents('t', [recorded(1, 500)]);
      await store.importEvents('s', [recorded(4, 2000)]);
      const back = await store.readStream('s');
      assert.equal(
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
      await rejects(store.importEvents('s', [{ ...recorded(5, 3000), id: 'not an id' }]), ErrorCode.INVALID_ID, 'a malformed id');
      await rejects(store.importEvents('s', [{ ...recorded(5, 3000), timestamp: -1 }]), ErrorCode.INVALID_ARGUMENT, 'a negative timestamp');
      await rejects(store.importEvents('s', []), ErrorCode.INVALID_ARGUMENT, 'no events');
      assert.is(await store.streamVersion('s'), 4);
      assert.is(await store.headPosition(), 5);
      // A normal append continues after imported events, its timestamp not below theirs.
      const next = await store.append('s', ev(5));
      assert.equal([next.firstVersion, next.firstPosition], [5, 6]);
      assert.ok((await store.readStream('s', { fromVersion: 5 }))[0]!.timestamp >= 2000);
    });
  }

  // ---------------------------------------------------------------- expected version
  {
    const test = define('expected version');

    test("'any' appends whether or not the stream exists", async (ctx) => {
      const store = await open(ctx);
      await store.append('s', ev(1), { expectedVersion: 'any' });
      await store.append('s', ev(2), { expectedVersion: 'any' });
      assert.is(await store.streamVersion('s'), 2);
    });

    test("'no_stream' appends to a new stream and fails with CONFLICT carrying the actual version once it exists", async (ctx) => {
      const store = await open(ctx);
      await store.append('s', [ev(1), ev(2)], { expectedVersion: 'no_stream' });
      const err = await rejects(store.append('s', ev(3), { expectedVersion: 'no_stream' }), ErrorCode.CONFLICT);
      assert.equal(pick(err.details, 'streamId', 'expected', 'actual'), { streamId: 's', expected: 'no_stream', actual: 2 });
    });

    test("'exists' fails with CONFLICT (actual 0) on a new stream and appends once it exists", async (ctx) => {
      const store = await open(ctx);
      const err = await rejects(store.append('s', ev(1), { expectedVersion: 'exists' }), ErrorCode.CONFLICT);
      assert.equal(pick(err.details, 'streamId', 'expected', 'actual'), { streamId: 's', expected: 'exists', actual: 0 });
      await store.append('s', ev(1));
      await store.append('s', ev(2), { expectedVersion: 'exists' });
      assert.is(await store.streamVersion('s'), 2);
    });

    test('an exact version appends only when it equals the current version (0 for a new stream)', async (ctx) => {
      const store = await open(ctx);
      await store.append('s', ev(1), { expectedVersion: 0 });
      await store.append('s', [ev(2), ev(3)], { expectedVersion: 1 });
      await store.append('s', ev(4), { expectedVersion: 3 });
      for (const wrong of [0, 1, 3, 5, 100]) {
        const err = await rejects(store.append('s', ev(9), { expectedVersion: wrong }), ErrorCode.CONFLICT, `expected ${wrong}`);
        assert.equal(pick(err.details, 'streamId', 'expected', 'actual'), { streamId: 's', expected: wrong, actual: 4 });
      }
      assert.is(await store.streamVersion('s'), 4);
    });

    test('a conflicting append writes nothing: versions, head and feed stay as they were', async (ctx) => {
      const store = await open(ctx);
      await store.append('s', [ev(1), ev(2)]);
      await store.append('t', ev(3));
      const before = await snapshot(store);
      await rejects(store.append('s', [ev(4), ev(5)], { expectedVersion: 1 }), ErrorCode.CONFLICT);
      await rejects(store.append('t', ev(6), { expectedVersion: 'no_stream' }), ErrorCode.CONFLICT);
      await rejects(store.append('u', ev(7), { expectedVersion: 'exists' }), ErrorCode.CONFLICT);
      assertSameState(await snapshot(store), before);
      assert.equal(await store.append('s', ev(8)), { streamId: 's', firstVersion: 3, lastVersion: 3, firstPosition: 4, lastPosition: 4, duplicate: false });
    });

    test('expected version is checked per stream: other streams do not count', async (ctx) => {
      const store = await open(ctx);
      await store.append('a', [ev(1), ev(2), ev(3)]);
      await store.append('b', ev(4), { expectedVersion: 'no_stream' });
      await store.append('b', ev(5), { expectedVersion: 1 });
      await rejects(store.append('b', ev(6), { expectedVersion: 3 }), ErrorCode.CONFLICT);
    });

    test('a malformed expected version is refused with INVALID_ARGUMENT and nothing is written', async (ctx) => {
      const store = await open(ctx);
      for (const bad of ['ANY', 'none', '', -1, 1.5, Number.NaN, {}]) {
        const err = await rejects(store.append('s', ev(1), { expectedVersion: bad as never }), ErrorCode.INVALID_ARGUMENT, String(bad));
        assert.is(err.details.field, 'expectedVersion');
      }
      assert.is(await store.headPosition(), 0);
    });
  }

  // ---------------------------------------------------------------- retry-safe appends
  {
    const test = define('retry-safe appends by event id');

    test('appending a stored id again returns the original result with duplicate: true and writes nothing', async (ctx) => {
      const store = await open(ctx);
      await store.append('s', ev(0));
      const first = await store.append('s', { ...ev(1), id: 'req-1' });
      const before = await snapshot(store);
      const retry = await store.append('s', { ...ev(1), id: 'req-1' });
      assert.equal(retry, { ...first, duplicate: true });
      assertSameState(await snapshot(store), before);
    });

    test('a retried batch returns the original batch result', async (ctx) => {
      const store = await open(ctx);
      await store.append('other', ev(0));
      const batch = [{ ...ev(1), id: 'b-1' }, { ...ev(2), id: 'b-2' }, { ...ev(3), id: 'b-3' }];
      const first = await store.append('s', batch);
      assert.equal(first, { streamId: 's', firstVersion: 1, lastVersion: 3, firstPosition: 2, lastPosition: 4, duplicate: false });
      assert.equal(await store.append('s', batch), { ...first, duplicate: true });
      assert.is(await store.headPosition(), 4);
    });

    test('a retry returns the original result even after other events were appended', async (ctx) => {
      const store = await open(ctx);
      const first = await store.append('s', { ...ev(1), id: 'late-retry' });
      await store.append('s', [ev(2), ev(3)]);
      await store.append('t', ev(4));
      assert.equal(await store.append('s', { ...ev(1), id: 'late-retry' }), { ...first, duplicate: true });
      assert.is(await store.streamVersion('s'), 3);
    });

    test('a retry with the original expected version returns the original result, not a conflict', async (ctx) => {
      const store = await open(ctx);
      const created = await store.append('s', { ...ev(1), id: 'create-1' }, { expectedVersion: 'no_stream' });
      assert.equal(await store.append('s', { ...ev(1), id: 'create-1' }, { expectedVersion: 'no_stream' }), { ...created, duplicate: true });
      const next = await store.append('s', { ...ev(2), id: 'next-1' }, { expectedVersion: 1 });
      assert.equal(await store.append('s', { ...ev(2), id: 'next-1' }, { expectedVersion: 1 }), { ...next, duplicate: true });
      assert.is(await store.streamVersion('s'), 2);
    });

    test('the retried events read back as first written', async (ctx) => {
      const store = await open(ctx);
      await store.append('s', { ...ev(1), id: 'keep' });
      const [original] = await store.readStream('s');
      await sleep(2);
      await store.append('s', { ...ev(1), id: 'keep' });
      assert.equal(plain(await store.readStream('s')), plain([original!]));
    });

    test('a batch mixing stored and new ids is refused with DUPLICATE_EVENT and writes nothing', async (ctx) => {
      const store = await open(ctx);
      await store.append('s', [{ ...ev(1), id: 'x-1' }, { ...ev(2), id: 'x-2' }]);
      const before = await snapshot(store);
      await rejects(store.append('s', [{ ...ev(2), id: 'x-2' }, { ...ev(3), id: 'x-3' }]), ErrorCode.DUPLICATE_EVENT);
      await rejects(store.append('s', [{ ...ev(1), id: 'x-1' }, ev(3)]), ErrorCode.DUPLICATE_EVENT, 'a stored id plus an event without id');
      assertSameState(await snapshot(store), before);
    });

    test('a batch holding the same id twice is refused with DUPLICATE_EVENT', async (ctx) => {
      const store = await open(ctx);
      await rejects(store.append('s', [{ ...ev(1), id: 'twice' }, { ...ev(2), id: 'twice' }]), ErrorCode.DUPLICATE_EVENT);
      assert.is(await store.headPosition(), 0);
    });

    test('an id is only checked against its own stream: the same id in another stream is a new event', async (ctx) => {
      const store = await open(ctx);
      await store.append('a', { ...ev(1), id: 'shared-id' });
      const other = await store.append('b', { ...ev(1), id: 'shared-id' });
      assert.equal(other, { streamId: 'b', firstVersion: 1, lastVersion: 1, firstPosition: 2, lastPosition: 2, duplicate: false });
    });

    test('concurrent retries of one id write the event once and all get the same versions', async (ctx) => {
      const store = await open(ctx);
      await store.append('s', ev(0));
      const results = await Promise.all(Array.from({ length: 12 }, () => store.append('s', [{ ...ev(1), id: 'race-1' }, { ...ev(2), id: 'race-2' }])));
      assert.is(results.filter((r) => !r.duplicate).length, 1, 'exactly one writes');
      for (const r of results) assert.equal({ ...r, duplicate: false }, { streamId: 's', firstVersion: 2, lastVersion: 3, firstPosition: 2, lastPosition: 3, duplicate: false });
      assert.is(await store.streamVersion('s'), 3);
      assert.is(await store.headPosition(), 3);
    });
  }

  // ---------------------------------------------------------------- reading a stream
  {
    const test = define('reading a stream');
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
      assert.equal(versions(await store.readStream('s')), range(1, 10));
      assert.equal(versions(await store.readStream('s', { direction: 'forward' })), range(1, 10));
    });

    test('reads forward from a given version', async (ctx) => {
      const store = await open(ctx);
      await tenEvents(store);
      assert.equal(versions(await store.readStream('s', { fromVersion: 4 })), range(4, 10));
      assert.equal(versions(await store.readStream('s', { fromVersion: 10 })), [10]);
      assert.equal(versions(await store.readStream('s', { fromVersion: 11 })), []);
    });

    test('reads backward from the last version', async (ctx) => {
      const store = await open(ctx);
      await tenEvents(store);
      assert.equal(versions(await store.readStream('s', { direction: 'backward' })), range(1, 10).reverse());
    });

    test('reads backward from a given version down to 1; from past the end it starts at the last', async (ctx) => {
      const store = await open(ctx);
      await tenEvents(store);
      assert.equal(versions(await store.readStream('s', { direction: 'backward', fromVersion: 4 })), [4, 3, 2, 1]);
      assert.equal(versions(await store.readStream('s', { direction: 'backward', fromVersion: 1 })), [1]);
      assert.equal(versions(await store.readStream('s', { direction: 'backward', fromVersion: 50 })), range(1, 10).reverse());
    });

    test('limit caps the events returned in either direction, and limit 0 returns none', async (ctx) => {
      const store = await open(ctx);
      await tenEvents(store);
      assert.equal(versions(await store.readStream('s', { limit: 3 })), [1, 2, 3]);
      assert.equal(versions(await store.readStream('s', { limit: 3, fromVersion: 5 })), [5, 6, 7]);
      assert.equal(versions(await store.readStream('s', { limit: 3, direction: 'backward' })), [10, 9, 8]);
      assert.equal(versions(await store.readStream('s', { limit: 2, direction: 'backward', fromVersion: 5 })), [5, 4]);
      assert.equal(versions(await store.readStream('s', { limit: 100 })), range(1, 10));
      assert.equal(await store.readStream('s', { limit: 0 }), []);
    });

    test('types keeps only events of those types, and limit counts only kept events', async (ctx) => {
      const store = await open(ctx);
      await tenEvents(store);
      assert.equal(versions(await store.readStream('s', { types: ['message.edited'] })), [3, 6, 9]);
      assert.equal(versions(await store.readStream('s', { types: ['message.edited'], limit: 2 })), [3, 6]);
      assert.equal(versions(await store.readStream('s', { types: ['message.edited'], direction: 'backward', fromVersion: 8 })), [6, 3]);
      assert.equal(versions(await store.readStream('s', { types: ['message.added', 'message.edited'] })), range(1, 10));
      assert.equal(await store.readStream('s', { types: [] }), []);
      assert.equal(await store.readStream('s', { types: ['nothing.like.this'] }), []);
    });

    test(`reads a long stream (${scale} events) across pages, forward and backward, in order`, async (ctx) => {
      const store = await open(ctx);
      let n = 0;
      for (let size = 1; n < scale; size = (size * 7) % 61 + 1) {
        const count = Math.min(size, scale - n);
        await store.append('long', Array.from({ length: count }, () => ev(++n)));
        if (n % 5 === 0) await store.append('noise', ev(-n));
      }
      assert.equal(versions(await store.readStream('long')), range(1, scale));
      assert.equal(versions(await store.readStream('long', { direction: 'backward' })), range(1, scale).reverse());
      const mid = Math.floor(scale / 2);
      assert.equal(versions(await store.readStream('long', { fromVersion: mid, limit: 300 })), range(mid, Math.min(scale, mid + 299)));
      assert.equal(versions(await store.readStream('long', { direction: 'backward', fromVersion: mid, limit: 300 })), range(Math.max(1, mid - 299), mid).reverse());
      assert.equal((await store.readStream('long')).map((e) => (e.data as { n: number }).n), range(1, scale));
    });

    test('streamEvents yields events one by one and can be stopped early without harm', async (ctx) => {
      const store = await open(ctx);
      await tenEvents(store);
      const seen: number[] = [];
      for await (const e of store.streamEvents('s', { direction: 'backward' })) {
        seen.push(e.version);
        if (seen.length === 3) break;
      }
      assert.equal(seen, [10, 9, 8]);
      await store.append('s', ev(11));
      assert.equal(versions(await store.readStream('s', { fromVersion: 10 })), [10, 11]);
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
        assert.is(err.details.field, field);
      }
    });
  }

  // ---------------------------------------------------------------- the global feed
  {
    const test = define('the global feed');
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
      assert.equal(await store.readAll(), { events: [], nextPosition: 1, headPosition: 0 });
    });

    test('readAll returns every event of every stream in position order, and the same events as the streams', async (ctx) => {
      const store = await open(ctx);
      await fill(store, 50);
      const page = await store.readAll();
      assert.equal(page.events.map((e) => e.position), range(1, 50));
      assert.is(page.nextPosition, 51);
      assert.is(page.headPosition, 50);
      await checkInvariants(store);
    });

    test('readAll from a position returns the events from there on', async (ctx) => {
      const store = await open(ctx);
      await fill(store, 30);
      assert.equal((await store.readAll({ fromPosition: 17 })).events.map((e) => e.position), range(17, 30));
      assert.equal((await store.readAll({ fromPosition: 30 })).events.map((e) => e.position), [30]);
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
        assert.is(page.headPosition, scale);
        if (page.events.length === 0) {
          assert.is(page.nextPosition, scale + 1);
          break;
        }
        assert.ok(page.events.length <= 37);
        assert.is(page.events[0]!.position, from, 'a page starts where the last one ended');
        assert.ok(page.nextPosition > from);
        seen.push(...page.events);
        from = page.nextPosition;
      }
      assert.equal(plain(seen), plain(all));
    });

    test('types filters the feed, and nextPosition moves past the skipped events', async (ctx) => {
      const store = await open(ctx);
      await fill(store, 30);
      const bs = (await store.readAll({ types: ['b'] })).events;
      assert.equal(bs.map((e) => e.type), Array(10).fill('b'));
      const page = await store.readAll({ types: ['b'], limit: 3 });
      assert.equal(page.events.map((e) => e.position), bs.slice(0, 3).map((e) => e.position));
      assert.is(page.nextPosition, bs[2]!.position + 1);
      const rest = await store.readAll({ types: ['b'], fromPosition: page.nextPosition });
      assert.equal(rest.events.map((e) => e.position), bs.slice(3).map((e) => e.position));
      assert.is(rest.nextPosition, 31, 'the end of the feed, not just past the last match');
      assert.equal(await store.readAll({ types: ['zzz'] }), { events: [], nextPosition: 31, headPosition: 30 });
    });

    test('readAll from past the head returns nothing and a nextPosition that never goes back', async (ctx) => {
      const store = await open(ctx);
      await fill(store, 5);
      assert.equal(await store.readAll({ fromPosition: 6 }), { events: [], nextPosition: 6, headPosition: 5 });
      assert.equal(await store.readAll({ fromPosition: 100 }), { events: [], nextPosition: 100, headPosition: 5 });
      assert.equal((await store.readAll({ limit: 0 })).events, []);
    });

    test('streamAll yields the whole feed from a position, optionally by type', async (ctx) => {
      const store = await open(ctx);
      await fill(store, 40);
      assert.equal((await drain(store.streamAll())).map((e) => e.position), range(1, 40));
      assert.equal((await drain(store.streamAll({ fromPosition: 35 }))).map((e) => e.position), range(35, 40));
      const cs = await drain(store.streamAll({ types: ['c'] }));
      assert.is(cs.length, 13);
      assert.ok(cs.every((e) => e.type === 'c'));
      assert.equal(plain(await drain(store.streamAll())), plain((await store.readAll()).events));
    });

    test('bad feed options are refused with INVALID_ARGUMENT', async (ctx) => {
      const store = await open(ctx);
      for (const options of [{ fromPosition: 0 }, { fromPosition: -3 }, { fromPosition: 1.5 }, { limit: -1 }, { limit: 2.5 }, { types: 'a' }]) {
        await rejects(store.readAll(options as never), ErrorCode.INVALID_ARGUMENT, JSON.stringify(options));
      }
      await rejects(drain(store.streamAll({ fromPosition: 0 })), ErrorCode.INVALID_ARGUMENT);
    });
  }

  // ---------------------------------------------------------------- time travel
  {
    const test = define('time travel');

    test('as of version N returns exactly versions 1..N; 0 returns nothing; past the end returns all', async (ctx) => {
      const store = await open(ctx);
      await store.append('s', [ev(1), ev(2), ev(3)]);
      await store.append('s', [ev(4), ev(5)]);
      assert.equal((await store.readStreamAsOf('s', { version: 3 })).map((e) => e.version), [1, 2, 3]);
      assert.equal((await store.readStreamAsOf('s', { version: 4 })).map((e) => e.version), [1, 2, 3, 4]);
      assert.equal(await store.readStreamAsOf('s', { version: 0 }), []);
      assert.equal((await store.readStreamAsOf('s', { version: 99 })).map((e) => e.version), [1, 2, 3, 4, 5]);
      assert.equal(plain(await store.readStreamAsOf('s', { version: 2 })), plain((await store.readStream('s')).slice(0, 2)));
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
      assert.equal((await store.readStreamAsOf('s', { time: t3 })).map((e) => e.version), [1, 2, 3]);
      assert.equal((await store.readStreamAsOf('s', { time: new Date(t3) })).map((e) => e.version), [1, 2, 3]);
      assert.equal((await store.readStreamAsOf('s', { time: t3 - 1 })).map((e) => e.version), [1, 2]);
      assert.equal(await store.readStreamAsOf('s', { time: events[0]!.timestamp - 1 }), []);
      assert.equal((await store.readStreamAsOf('s', { time: Date.now() + 60_000 })).map((e) => e.version), [1, 2, 3, 4]);
    });

    test('bad as-of arguments are refused with INVALID_ARGUMENT', async (ctx) => {
      const store = await open(ctx);
      await store.append('s', ev(1));
      for (const asOf of [{ version: -1 }, { version: 1.5 }, { time: Number.NaN }, { time: 'yesterday' }, { time: new Date('nope') }, {}]) {
        await rejects(store.readStreamAsOf('s', asOf as never), ErrorCode.INVALID_ARGUMENT, JSON.stringify(asOf));
      }
    });
  }

  // ---------------------------------------------------------------- subscriptions
  {
    const test = define('subscriptions');
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
      assert.equal(versions(rec.events), range(1, 7));
      assert.ok(rec.events.every((e) => e.streamId === 's'));
      assert.equal(plain(rec.events.slice(0, 6)), plain(await store.readStream('s', { limit: 6 })));
    });

    test('subscribeToStream starts after afterVersion', async (ctx) => {
      const store = await open(ctx);
      await store.append('s', [ev(1), ev(2), ev(3), ev(4)]);
      const rec = record(ctx, store.subscribeToStream('s', { afterVersion: 2 }));
      await store.append('s', ev(5));
      await rec.sentinel(() => store.append('s', SENTINEL));
      assert.equal(versions(rec.events), [3, 4, 5, 6]);
    });

    test('subscribeToStream on a stream that does not exist yet waits for its first event', async (ctx) => {
      const store = await open(ctx);
      const rec = record(ctx, store.subscribeToStream('later'));
      await store.append('elsewhere', ev(1));
      await store.append('later', ev(2));
      await rec.sentinel(() => store.append('later', SENTINEL));
      assert.equal(versions(rec.events), [1, 2]);
    });

    test('subscribeToStream with types delivers only those types', async (ctx) => {
      const store = await open(ctx);
      await store.append('s', [ev(1), ev(2, 'message.edited')]);
      const rec = record(ctx, store.subscribeToStream('s', { types: ['message.edited', SENTINEL.type] }));
      await store.append('s', [ev(3, 'message.edited'), ev(4)]);
      await rec.sentinel(() => store.append('s', SENTINEL));
      assert.equal(versions(rec.events), [2, 3, 5]);
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
      assert.equal(positions(rec.events), range(1, 7));
      assert.equal(plain(rec.events), plain((await store.readAll()).events));
    });

    test('subscribeToAll starts after afterPosition and can filter by type', async (ctx) => {
      const store = await open(ctx);
      await store.append('a', [ev(1), ev(2, 'x'), ev(3)]);
      const after = record(ctx, store.subscribeToAll({ afterPosition: 2 }));
      const typed = record(ctx, store.subscribeToAll({ types: ['x', SENTINEL.type] }));
      await store.append('b', [ev(4, 'x'), ev(5)]);
      await after.sentinel(() => store.append('z', SENTINEL));
      await typed.waitUntil(() => typed.events.some((e) => e.type === SENTINEL.type), 'the sentinel');
      assert.equal(positions(after.events), [3, 4, 5, 6]);
      assert.equal(positions(typed.events), [2, 4, 6]);
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
      assert.equal(versions(rec.events), range(1, total + 1));
      assert.equal(plain(rec.events.slice(0, total)), plain(await store.readStream('s')).slice(0, total));
    });

    test('appends racing the start of a feed subscription are delivered exactly once, in order', async (ctx) => {
      const store = await open(ctx);
      const early = Array.from({ length: 30 }, (_, i) => store.append(`s${i % 4}`, i % 5 ? ev(i) : [ev(i), ev(i + 0.5)]));
      const rec = record(ctx, store.subscribeToAll());
      const late = Array.from({ length: 30 }, (_, i) => store.append(`s${i % 3}`, ev(100 + i)));
      await Promise.all([...early, ...late]);
      const head = await store.headPosition();
      await rec.sentinel(() => store.append('z', SENTINEL));
      assert.equal(positions(rec.events), range(1, head + 1));
    });

    test('a feed subscriber sees positions in order with no gap while many writers append concurrently', async (ctx) => {
      const store = await open(ctx);
      const rec = record(ctx, store.subscribeToAll());
      await Promise.all(Array.from({ length: 16 }, async (_, w) => {
        for (let i = 0; i < Math.ceil(scale / 16); i++) await store.append(`w${w % 5}`, i % 3 ? ev(i) : [ev(i), ev(i)]);
      }));
      const head = await store.headPosition();
      await rec.sentinel(() => store.append('z', SENTINEL));
      assert.equal(positions(rec.events), range(1, head + 1));
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
      assert.equal(versions(stopped.events), [1]);
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
      assert.is(one.error, undefined);
    });

    test('bad subscription arguments throw INVALID_ID or INVALID_ARGUMENT at once', async (ctx) => {
      const store = await open(ctx);
      await rejects(() => store.subscribeToStream('../x'), ErrorCode.INVALID_ID);
      await rejects(() => store.subscribeToStream('s', { afterVersion: -1 }), ErrorCode.INVALID_ARGUMENT);
      await rejects(() => store.subscribeToStream('s', { types: 'x' as never }), ErrorCode.INVALID_ARGUMENT);
      await rejects(() => store.subscribeToAll({ afterPosition: 1.5 }), ErrorCode.INVALID_ARGUMENT);
      await rejects(() => store.subscribeToAll({ types: [3] as never }), ErrorCode.INVALID_ARGUMENT);
    });
  }

  // ---------------------------------------------------------------- purging a stream
  {
    const test = define('purging a stream');
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
      assert.equal(await store.purgeStream('gone'), { streamId: 'gone', version: 3, events: 3 });
      assert.equal(await store.readStream('gone'), []);
      assert.equal(await store.readStream('gone', { direction: 'backward' }), []);
      assert.equal(await store.readStream('gone', { fromVersion: 2 }), []);
      assert.equal(await drain(store.streamEvents('gone')), []);
      assert.equal(await store.readStreamAsOf('gone', { version: 2 }), []);
      assert.equal(await store.readStreamAsOf('gone', { time: Date.now() }), []);
    });

    test('a purged stream keeps its version: streamVersion returns what it had', async (ctx) => {
      const store = await open(ctx);
      await interleaved(store);
      await store.purgeStream('gone');
      assert.is(await store.streamVersion('gone'), 3);
    });

    test("the feed skips a purged stream's positions and keeps every other event, unchanged, at its own position", async (ctx) => {
      const store = await open(ctx);
      await interleaved(store);
      const before = (await store.readAll()).events.filter((e) => e.streamId !== 'gone');
      await store.purgeStream('gone');
      const page = await store.readAll();
      assert.equal(positions(page.events), [1, 4, 6, 7], 'purged positions are gaps');
      assert.equal(plain(page.events), plain(before));
      assert.is(page.headPosition, 7, 'the head does not move');
      assert.is(page.nextPosition, 8);
      assert.is(await store.headPosition(), 7);
      assert.equal(positions(await drain(store.streamAll())), [1, 4, 6, 7]);
      assert.equal(positions(await drain(store.streamAll({ fromPosition: 2 }))), [4, 6, 7]);
      assert.equal(positions((await store.readAll({ fromPosition: 5 })).events), [6, 7]);
      assert.equal(plain(await store.readStream('kept')), plain(before.filter((e) => e.streamId === 'kept')));
    });

    test('paging the feed with limit and nextPosition crosses purged gaps and visits every remaining event once', async (ctx) => {
      const store = await open(ctx);
      for (let i = 0; i < 60; i++) await store.append(i % 3 === 0 ? `gone-${i % 2}` : `kept-${i % 4}`, [ev(i), ev(i + 0.5)]);
      await store.purgeStream('gone-0');
      await store.purgeStream('gone-1');
      const expected = positions(await drain(store.streamAll()));
      assert.is(expected.length, 80);
      const seen: number[] = [];
      for (let from = 1, pages = 0; ; pages++) {
        assert.ok(pages <= 120, 'paging ends');
        const page = await store.readAll({ fromPosition: from, limit: 7 });
        if (page.events.length === 0) {
          assert.is(page.nextPosition, 121);
          break;
        }
        assert.ok(page.nextPosition > from);
        seen.push(...positions(page.events));
        from = page.nextPosition;
      }
      assert.equal(seen, expected);
    });

    test("appending to a purged stream fails with CONFLICT { streamId, purged: true } whatever the expected version or ids, and writes nothing", async (ctx) => {
      const store = await open(ctx);
      await store.append('gone', { ...ev(1), id: 'first-id' });
      await store.purgeStream('gone');
      for (const expectedVersion of ['any', 'no_stream', 'exists', 0, 1] as const) {
        const err = await rejects(store.append('gone', ev(2), { expectedVersion }), ErrorCode.CONFLICT, `expected ${expectedVersion}`);
        assert.equal(err.details, { streamId: 'gone', purged: true });
        assert.match(err.message, /gone was purged/);
        assert.match(err.message, /cannot be reused/);
      }
      const retry = await rejects(store.append('gone', { ...ev(1), id: 'first-id' }), ErrorCode.CONFLICT, 'a retry of an erased append');
      assert.equal(retry.details, { streamId: 'gone', purged: true });
      assert.is(await store.headPosition(), 1);
      assert.is(await store.streamVersion('gone'), 1);
    });

    test('purging a stream that was never written fails with NOT_FOUND and changes nothing', async (ctx) => {
      const store = await open(ctx);
      await store.append('s', ev(1));
      const err = await rejects(store.purgeStream('never'), ErrorCode.NOT_FOUND);
      assert.equal(err.details, { streamId: 'never' });
      assert.is(await store.streamVersion('never'), 0);
      await store.append('never', ev(2), { expectedVersion: 'no_stream' });
      assert.is(await store.streamVersion('never'), 1, 'the id is still free');
    });

    test('purging a purged stream again is a no-op that resolves with events: 0 and the same version', async (ctx) => {
      const store = await open(ctx);
      await interleaved(store);
      await store.purgeStream('gone');
      const head = await store.headPosition();
      assert.equal(await store.purgeStream('gone'), { streamId: 'gone', version: 3, events: 0 });
      assert.equal(await store.purgeStream('gone'), { streamId: 'gone', version: 3, events: 0 });
      assert.is(await store.headPosition(), head);
      assert.equal(positions((await store.readAll()).events), [1, 4, 6, 7]);
    });

    test('other streams go on as before after a purge: appends continue the versions and positions, retries still return their original result', async (ctx) => {
      const store = await open(ctx);
      const original = await store.append('kept', { ...ev(1), id: 'kept-1' });
      await store.append('gone', [ev(2), ev(3)]);
      await store.purgeStream('gone');
      assert.equal(await store.append('kept', ev(4), { expectedVersion: 1 }), {
        streamId: 'kept', firstVersion: 2, lastVersion: 2, firstPosition: 4, lastPosition: 4, duplicate: false,
      });
      assert.equal(await store.append('kept', { ...ev(1), id: 'kept-1' }), { ...original, duplicate: true });
      assert.equal(await store.append('new', ev(5), { expectedVersion: 'no_stream' }), {
        streamId: 'new', firstVersion: 1, lastVersion: 1, firstPosition: 5, lastPosition: 5, duplicate: false,
      });
      assert.equal(positions((await store.readAll()).events), [1, 4, 5]);
    });

    test('appends issued before a purge are erased with the stream; appends issued after it fail with CONFLICT', async (ctx) => {
      const store = await open(ctx);
      await store.append('gone', ev(0));
      const before = [store.append('gone', ev(1)), store.append('gone', [ev(2), ev(3)])];
      const purge = store.purgeStream('gone');
      const after = store.append('gone', ev(4));
      const elsewhere = store.append('kept', ev(5));
      await Promise.all(before);
      assert.equal(await purge, { streamId: 'gone', version: 4, events: 4 });
      assert.equal((await rejects(after, ErrorCode.CONFLICT)).details, { streamId: 'gone', purged: true });
      assert.is((await elsewhere).firstPosition, 5);
      assert.equal(positions((await store.readAll()).events), [5]);
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
      assert.equal(positions(rec.events), [1, 2, 3, 4, 5], 'delivered before the purge, then on past it');
      const late = record(ctx, store.subscribeToAll());
      await late.count(3);
      await store.append('kept', ev(6));
      await late.count(4);
      assert.equal(positions(late.events), [1, 4, 5, 6], 'a subscriber starting after the purge skips the gap');
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
      assert.equal(positions(fromStart.events), [1, 4, 5]);
      assert.equal(positions(inGap.events), [4, 5]);
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
      assert.equal(after.events, []);
      assert.equal(live.events.map((e) => e.version), [1, 2]);
      assert.is(after.error, undefined);
      assert.is(live.error, undefined);
    });

    test('purgeStream refuses an id that is not path-safe with INVALID_ID', async (ctx) => {
      const store = await open(ctx);
      for (const id of ['../x', '', 'a/b', 42, null]) await rejects(store.purgeStream(id as string), ErrorCode.INVALID_ID, JSON.stringify(id));
    });

    if (persistent) {
      test('after close and reopen a purged stream is still a tombstone: its version, an empty read, a gap in the feed, CONFLICT on append, a no-op second purge', async (ctx) => {
        const store = await open(ctx);
        await interleaved(store);
        await store.purgeStream('gone');
        await store.append('kept', ev(8));
        const before = await drain(store.streamAll());
        await store.close();
        const reopened = await open(ctx);
        assert.is(await reopened.streamVersion('gone'), 3);
        assert.equal(await reopened.readStream('gone'), []);
        assert.equal(plain(await drain(reopened.streamAll())), plain(before));
        assert.equal(positions(before), [1, 4, 6, 7, 8]);
        assert.is(await reopened.headPosition(), 8);
        assert.equal((await rejects(reopened.append('gone', ev(9)), ErrorCode.CONFLICT)).details, { streamId: 'gone', purged: true });
        assert.equal(await reopened.purgeStream('gone'), { streamId: 'gone', version: 3, events: 0 });
        assert.is((await reopened.append('kept', ev(10))).firstPosition, 9);
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
        assert.equal(await placesHolding(ctx, marker), [], 'nothing holds the marker after the purge');
        await store.append('kept', ev(5));
        await store.close();
        assert.equal(await placesHolding(ctx, marker), [], 'nor after closing');
        const reopened = await open(ctx);
        assert.equal(await reopened.readStream('gone'), []);
        assert.equal(await placesHolding(ctx, marker), [], 'nor after reopening');
        assert.ok((await placesHolding(ctx, keptMarker)).length > 0, 'the kept stream is still there');
      });
    }
  }

  // ---------------------------------------------------------------- concurrency
  {
    const test = define('concurrent appends');

    test('concurrent appends to one stream get consecutive versions: nothing lost, duplicated, reordered or interleaved', async (ctx) => {
      const store = await open(ctx);
      const writers = Math.max(20, Math.floor(scale / 4));
      const batches = Array.from({ length: writers }, (_, w) => Array.from({ length: (w % 3) + 1 }, (_, part) => ({ type: 't', data: { w, part } })));
      const results = await Promise.all(batches.map((batch) => store.append('one', batch)));
      const total = batches.reduce((n, b) => n + b.length, 0);
      const events = await store.readStream('one');
      assert.equal(events.map((e) => e.version), range(1, total));
      results.forEach((r, w) => {
        assert.is(r.lastVersion - r.firstVersion + 1, batches[w]!.length);
        assert.is(r.lastPosition - r.firstPosition + 1, batches[w]!.length);
        const written = events.slice(r.firstVersion - 1, r.lastVersion);
        assert.equal(written.map((e) => e.data), batches[w]!.map((b) => b.data), `writer ${w}'s batch sits whole and in order at ${r.firstVersion}..${r.lastVersion}`);
        assert.equal(written.map((e) => e.position), range(r.firstPosition, r.lastPosition));
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
      assert.equal(positions, range(1, streams * perStream), 'every append got its own position');
      for (let s = 0; s < streams; s++) assert.is(await store.streamVersion(`chat-${s}`), perStream);
      const feed = await drain(store.streamAll());
      for (const [i, r] of results.entries()) {
        const e = feed[r.firstPosition - 1]!;
        assert.equal([e.streamId, e.version, e.data], [`chat-${i % streams}`, r.firstVersion, { i }]);
      }
      await checkInvariants(store);
    });

    test('of many concurrent appends expecting the same version, exactly one succeeds and the rest get CONFLICT', async (ctx) => {
      const store = await open(ctx);
      await store.append('s', ev(0));
      const outcomes = await Promise.allSettled(Array.from({ length: 20 }, (_, i) => store.append('s', ev(i), { expectedVersion: 1 })));
      const won = outcomes.filter((o) => o.status === 'fulfilled');
      assert.is(won.length, 1);
      for (const o of outcomes) {
        if (o.status === 'rejected') {
          assert.instance(o.reason, FfcdbError);
          assert.is(o.reason.code, ErrorCode.CONFLICT);
          assert.is(o.reason.details.actual, 2);
        }
      }
      const created = await Promise.allSettled(Array.from({ length: 10 }, () => store.append('new', ev(1), { expectedVersion: 'no_stream' })));
      assert.is(created.filter((o) => o.status === 'fulfilled').length, 1);
      assert.is(await store.streamVersion('s'), 2);
      assert.is(await store.streamVersion('new'), 1);
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
      assert.equal(events.map((e) => e.version), range(1, workers * each));
      assert.is(new Set(events.map((e) => JSON.stringify(e.data))).size, workers * each, 'every increment once');
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
          assert.is(events.length % batch, 0, `a reader saw ${events.length} events: a torn batch`);
          assert.equal(events.map((e) => e.version), range(1, events.length));
          const page = await store.readAll();
          assert.is(page.events.length, page.headPosition, 'the feed holds every position up to the head');
          assert.is(page.events.length % batch, 0);
          await new Promise((r) => setImmediate(r));
        }
      };
      for (let i = 0; i < 3; i++) reads.push(reader());
      const readersDone = Promise.all(reads);
      readersDone.catch(() => {}); // handled below, after the appends
      await Promise.all(Array.from({ length: 40 }, (_, i) => store.append('s', Array.from({ length: batch }, (_, j) => ev(i * batch + j)))));
      done = true;
      await readersDone;
      assert.is(await store.streamVersion('s'), 40 * batch);
    });
  }

  // ---------------------------------------------------------------- bad input
  {
    const test = define('bad input');
    const BAD_STREAM_IDS: unknown[] = ['../x', '', 'a/b', 'a.b', 'x'.repeat(200), '.', '..', 'a\\b', '/abs', ' a', 'a b', 'a\0b', 'ünï', '-x', 42, null];

    test('stream ids that are not path-safe are refused with INVALID_ID by every operation, and nothing is written', async (ctx) => {
      const store = await open(ctx);
      for (const id of BAD_STREAM_IDS) {
        const what = JSON.stringify(id);
        const sid = id as string;
        const err = await rejects(store.append(sid, ev(1)), ErrorCode.INVALID_ID, `append ${what}`);
        assert.is(err.details.field, 'streamId');
        await rejects(store.readStream(sid), ErrorCode.INVALID_ID, `readStream ${what}`);
        await rejects(store.streamVersion(sid), ErrorCode.INVALID_ID, `streamVersion ${what}`);
        await rejects(store.readStreamAsOf(sid, { version: 1 }), ErrorCode.INVALID_ID, `readStreamAsOf ${what}`);
        await rejects(() => store.subscribeToStream(sid), ErrorCode.INVALID_ID, `subscribeToStream ${what}`);
        await rejects(store.purgeStream(sid), ErrorCode.INVALID_ID, `purgeStream ${what}`);
      }
      assert.is(await store.headPosition(), 0);
    });

    test('a 128-character stream id is accepted and a 129-character one refused', async (ctx) => {
      const store = await open(ctx);
      await store.append('a'.repeat(128), ev(1));
      assert.is((await store.readStream('a'.repeat(128))).length, 1);
      await rejects(store.append('a'.repeat(129), ev(1)), ErrorCode.INVALID_ID);
    });

    test('stream ids differing only in case are different streams', async (ctx) => {
      const store = await open(ctx);
      await store.append('Chat', ev(1));
      await store.append('chat', [ev(2), ev(3)]);
      assert.is(await store.streamVersion('Chat'), 1);
      assert.is(await store.streamVersion('chat'), 2);
    });

    test('bad event ids are refused with INVALID_ID', async (ctx) => {
      const store = await open(ctx);
      for (const id of ['', 'a/b', '../x', 'x'.repeat(200), ' id', 42, null]) {
        await rejects(store.append('s', { ...ev(1), id: id as string }), ErrorCode.INVALID_ID, JSON.stringify(id));
      }
      assert.is(await store.headPosition(), 0);
    });

    test('data that would not survive storage unchanged is refused with INVALID_ARGUMENT naming the field', async (ctx) => {
      const store = await open(ctx);
      let deep: unknown = 1;
      for (let i = 0; i < 100; i++) deep = { deep };
      const cases: [field: string | null, data: unknown][] = [
        ['events[0].data', Number.NaN],
        ['events[0].data.x', { x: Number.POSITIVE_INFINITY }],
        ['events[0].data.f', { f: () => 1 }],
        ['events[0].data', undefined],
        ['events[0].data.missing', { missing: undefined }],
        ['events[0].data.__proto__', JSON.parse('{"__proto__": {"isAdmin": true}}')],
        ['events[0].data.when', { when: new Date() }],
        ['events[0].data.map', { map: new Map([[1, 2]]) }],
        ['events[0].data.n', { n: 10n }],
        ['events[0].data.list[1]', { list: [1, Symbol('s')] }],
        ['events[0].data.text', { text: 'half a surrogate pair \uD83D' }],
        [null, deep],
      ];
      for (const [field, data] of cases) {
        const err = await rejects(store.append('s', { type: 't', data: data as JsonValue }), ErrorCode.INVALID_ARGUMENT, field ?? 'nested too deep');
        if (field) assert.is(err.details.field, field);
      }
      await rejects(store.append('s', { type: 't' } as NewEvent), ErrorCode.INVALID_ARGUMENT, 'no data at all');
      assert.is(await store.headPosition(), 0);
    });

    test('bad metadata is refused with INVALID_ARGUMENT', async (ctx) => {
      const store = await open(ctx);
      const cases: unknown[] = [
        'actor-1', ['a'], null, 5,
        { actor: 5 }, { correlationId: { id: 1 } }, { causationId: 1 },
        { score: Number.NaN }, { cb: () => 1 },
        JSON.parse('{"__proto__": "x"}'), JSON.parse('{"__proto__": {"actor": "root"}}'),
      ];
      for (const metadata of cases) {
        await rejects(store.append('s', { type: 't', data: 1, metadata: metadata as never }), ErrorCode.INVALID_ARGUMENT, String(JSON.stringify(metadata)));
      }
      assert.is(await store.headPosition(), 0);
    });

    test('bad types and schema versions are refused with INVALID_ARGUMENT', async (ctx) => {
      const store = await open(ctx);
      for (const type of ['', '9lives', 'a b', '.dot', 'x'.repeat(129), 7, undefined]) {
        await rejects(store.append('s', { type: type as string, data: 1 }), ErrorCode.INVALID_ARGUMENT, `type ${JSON.stringify(type)}`);
      }
      for (const schemaVersion of [0, -1, 1.5, 65_536, '2', Number.NaN]) {
        const err = await rejects(store.append('s', { type: 't', data: 1, schemaVersion: schemaVersion as number }), ErrorCode.INVALID_ARGUMENT, `schemaVersion ${schemaVersion}`);
        assert.is(err.details.field, 'events[0].schemaVersion');
      }
      await store.append('s', { type: 't', data: 1, schemaVersion: 65_535 });
      assert.is(await store.headPosition(), 1);
    });

    test('an empty batch, a non-object event, or more than 10,000 events are refused with INVALID_ARGUMENT', async (ctx) => {
      const store = await open(ctx);
      await rejects(store.append('s', []), ErrorCode.INVALID_ARGUMENT, 'empty batch');
      await rejects(store.append('s', [null as never]), ErrorCode.INVALID_ARGUMENT, 'null event');
      await rejects(store.append('s', 'message' as never), ErrorCode.INVALID_ARGUMENT, 'string event');
      await rejects(store.append('s', Array.from({ length: 10_001 }, (_, i) => ev(i))), ErrorCode.INVALID_ARGUMENT, '10,001 events');
      assert.is(await store.headPosition(), 0);
    });

    test('one bad event fails its whole batch and nothing of the batch is written', async (ctx) => {
      const store = await open(ctx);
      await store.append('s', ev(0));
      const err = await rejects(store.append('s', [ev(1), ev(2), { type: 't', data: { bad: Number.NaN } }]), ErrorCode.INVALID_ARGUMENT);
      assert.is(err.details.field, 'events[2].data.bad');
      assert.is(await store.streamVersion('s'), 1);
      assert.is(await store.headPosition(), 1);
    });
  }

  // ---------------------------------------------------------------- closing
  {
    const test = define('closing');

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
      for (const o of outcomes) if (o.status === 'rejected') assert.instance(o.reason, FfcdbError, String(o.reason));
      if (persistent) {
        const acked = outcomes.flatMap((o) => (o.status === 'fulfilled' ? [o.value] : []));
        const reopened = await open(ctx);
        for (const r of acked) {
          const [e] = await reopened.readStream(r.streamId, { fromVersion: r.firstVersion, limit: 1 });
          assert.is(e?.position, r.firstPosition, 'an acknowledged append survives the close');
        }
      }
    });
  }

  // ---------------------------------------------------------------- persistence
  if (persistent) {
    const test = define('persistence: close and reopen');

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
      assert.equal(r, { streamId: 'chat-a', firstVersion: version + 1, lastVersion: version + 2, firstPosition: head + 1, lastPosition: head + 2, duplicate: false });
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
      assert.equal(await reopened.append('s', [{ ...ev(1), id: 'durable-1' }, { ...ev(2), id: 'durable-2' }]), { ...first, duplicate: true });
      await rejects(reopened.append('s', [{ ...ev(2), id: 'durable-2' }, { ...ev(9), id: 'fresh' }]), ErrorCode.DUPLICATE_EVENT);
      assert.is(await reopened.headPosition(), 3);
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
      assert.equal(all.events.map((e) => e.position), range(1, head + 1));
      assert.equal(one.events.map((e) => e.version), range(1, await reopened.streamVersion('chat-b')));
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

  for (const s of suites) s.run();
}

/** Reads `supports.persistent` from a backend that is built in a scratch folder and never opened. */
function probePersistent(name: string, makeBackend: MakeBackend): boolean {
  const dir = mkdtempSync(join(tmpdir(), `ffcdb-${name}-probe-`));
  try {
    const backend = makeBackend({ dir });
    if (backend instanceof Promise) {
      backend.catch(() => {});
      throw new Error(`backendCompliance('${name}'): makeBackend is async, so pass options.persistent`);
    }
    return backend.supports.persistent;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

// ---------------------------------------------------------------- helpers

const SENTINEL: NewEvent = { type: 'test.sentinel', data: null };

/** Data with every kind of JsonValue in it. */
const RICH_DATA: JsonValue = {
  text: 'Hello, wörld! 👋 — "quoted" \\ back\nslash',
  role: 'assistant',
  n: 42,
  f: -0.125,
  big: 9_007_199_254_740_991,
  ok: true,
  no: false,
  nothing: null,
  parts: [{ kind: 'text', text: 'a' }, { kind: 'image', bytes: new Uint8Array([0, 1, 2, 254, 255]) }],
  empty: { list: [], obj: {}, str: '' },
};

function ev(n: number, type = 'message.added'): NewEvent {
  return { type, data: { n, text: `message ${n}` }, metadata: { actor: 'user-1' } };
}

function range(from: number, to: number): number[] {
  return Array.from({ length: Math.max(0, to - from + 1) }, (_, i) => from + i);
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

function pick(o: Readonly<Record<string, unknown>>, ...keys: string[]): Record<string, unknown> {
  return Object.fromEntries(keys.map((k) => [k, o[k]]));
}

/** Makes binary values comparable whatever Uint8Array subclass (Buffer) a backend returns. */
function plain<T>(v: T): T {
  if (v instanceof Uint8Array) return new Uint8Array(v) as T;
  if (Array.isArray(v)) return v.map(plain) as T;
  if (v !== null && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, plain(x)])) as T;
  return v;
}

/** Files under `dir` (at any depth) whose bytes contain `marker`, relative to `dir`. */

async function drain<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of it) out.push(x);
  return out;
}

/** Awaits the operation (or calls it, for ones that throw synchronously) and returns the FfcdbError it must fail with. */
async function rejects(op: Promise<unknown> | (() => unknown), code: ErrorCode, what = ''): Promise<FfcdbError> {
  try {
    await (typeof op === 'function' ? op() : op);
  } catch (err) {
    if (!(err instanceof FfcdbError)) throw new Error(`${what}: expected an FfcdbError ${code}, got ${String(err)}`, { cause: err });
    assert.is(err.code, code, `${what}: ${err.message}`);
    return err;
  }
  throw new Error(`${what}: expected an FfcdbError ${code}, but the operation succeeded`);
}

/**
 * uvu's failure report reads an error's `details` as a diff string, and an
 * FfcdbError's `details` is an object: uvu would crash and skip the rest of the
 * suite. So a test that fails with an FfcdbError fails with a plain Error that
 * spells out its code and details.
 */
function reportable(err: unknown): never {
  if (err instanceof FfcdbError) {
    throw new Error(`unexpected FfcdbError ${err.code}: ${err.message} ${JSON.stringify(err.details)}\n${err.stack}`, { cause: err });
  }
  throw err;
}

function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not finish within ${ms} ms`)), ms);
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}

async function waitFor(cond: () => boolean, ms: number, what: string): Promise<void> {
  const until = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > until) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await sleep(1);
  }
}

/** Heads, stream versions and every event, for comparing a store before and after something. */
async function snapshot(store: EventStore) {
  const feed = await drain(store.streamAll());
  const streams = [...new Set(feed.map((e) => e.streamId))].sort();
  return {
    head: await store.headPosition(),
    versions: Object.fromEntries(await Promise.all(streams.map(async (s) => [s, await store.streamVersion(s)] as const))),
    feed: plain(feed),
  };
}

/** The snapshot plus every stream read forward and backward. */
async function fullState(store: EventStore) {
  const snap = await snapshot(store);
  const streams: Record<string, unknown> = {};
  for (const s of Object.keys(snap.versions)) {
    streams[s] = { forward: plain(await store.readStream(s)), backward: plain(await store.readStream(s, { direction: 'backward' })) };
  }
  return { ...snap, streams };
}

type State = Awaited<ReturnType<typeof snapshot>> & { streams?: Record<string, unknown> };

/** Compares two states piece by piece, so a difference is reported as the first event that differs, not a diff of everything. */
function assertSameState(actual: State, expected: State): void {
  assert.is(actual.head, expected.head, 'head position');
  assert.equal(actual.versions, expected.versions, 'stream versions');
  for (let i = 0; i < Math.max(actual.feed.length, expected.feed.length); i++) {
    assert.equal(actual.feed[i], expected.feed[i], `the event at position ${i + 1}`);
  }
  for (const s of Object.keys(expected.streams ?? {})) assert.equal(actual.streams?.[s], expected.streams?.[s], `stream ${s} read forward and backward`);
}

/** What must hold of any store: positions 1..head, versions 1..n per stream in feed order, streams equal to their part of the feed. */
async function checkInvariants(store: EventStore): Promise<void> {
  const head = await store.headPosition();
  const feed = await drain(store.streamAll());
  assert.equal(feed.map((e) => e.position), range(1, head), 'the feed holds positions 1..head without gaps');
  const byStream = new Map<string, RecordedEvent[]>();
  for (const e of feed) byStream.set(e.streamId, [...(byStream.get(e.streamId) ?? []), e]);
  for (const [streamId, events] of byStream) {
    assert.equal(events.map((e) => e.version), range(1, events.length), `${streamId}: versions follow feed order without gaps`);
    assert.is(await store.streamVersion(streamId), events.length, `${streamId}: streamVersion`);
    assert.equal(plain(await store.readStream(streamId)), plain(events), `${streamId}: the stream equals its part of the feed`);
    const ts = events.map((e) => e.timestamp);
    assert.ok(ts.every((t, i) => i === 0 || t >= ts[i - 1]!), `${streamId}: timestamps never decrease`);
  }
}

/** Records what a subscription delivers, and waits for it with a timeout. */
class Recorder {
  readonly events: RecordedEvent[] = [];
  error: unknown;
  completed = false;
  readonly #sub: Subscription;
  readonly #timeoutMs: number;
  readonly #waiters = new Set<() => void>();

  constructor(events$: Observable<RecordedEvent>, timeoutMs: number) {
    this.#timeoutMs = timeoutMs;
    this.#sub = events$.subscribe({
      next: (e) => {
        this.events.push(e);
        this.#wake();
      },
      error: (err) => {
        this.error = err;
        this.#wake();
      },
      complete: () => {
        this.completed = true;
        this.#wake();
      },
    });
  }

  unsubscribe(): void {
    this.#sub.unsubscribe();
  }

  waitUntil(cond: () => boolean, what: string): Promise<void> {
    return new Promise((resolve, reject) => {
      const finish = (err?: unknown) => {
        clearTimeout(timer);
        this.#waiters.delete(check);
        if (err === undefined) resolve();
        else reject(err);
      };
      const got = () => `${this.events.length} events (${this.events.slice(-5).map((e) => `${e.streamId}@${e.version}/#${e.position}`).join(', ')})`;
      const check = () => {
        if (cond()) finish();
        else if (this.error !== undefined) finish(this.error);
        else if (this.completed) finish(new Error(`the subscription completed before ${what}; got ${got()}`));
      };
      const timer = setTimeout(() => finish(new Error(`timed out after ${this.#timeoutMs} ms waiting for ${what}; got ${got()}`)), this.#timeoutMs);
      this.#waiters.add(check);
      check();
    });
  }

  count(n: number): Promise<void> {
    return this.waitUntil(() => this.events.length >= n, `${n} events`);
  }

  /**
   * Appends a sentinel event and waits for it. Delivery is ordered, so once the
   * sentinel arrives, anything else still on its way would have come before it:
   * the events recorded before the sentinel are all there will be (no late
   * duplicates), and the sentinel must be the last one.
   */
  async sentinel(append: () => Promise<AppendResult>): Promise<void> {
    await append();
    await this.waitUntil(() => this.events.some((e) => e.type === SENTINEL.type), 'the sentinel event');
    assert.is(this.events.at(-1)!.type, SENTINEL.type, 'nothing arrives after the sentinel');
    assert.is(this.events.filter((e) => e.type === SENTINEL.type).length, 1, 'the sentinel arrives once');
  }

  #wake(): void {
    for (const check of [...this.#waiters]) check();
  }
}
