/** The append checks: expected versions, and retries recognised by event id. */
import assert from 'node:assert/strict';
import { ErrorCode } from '../../kernel/errors.js';
import type { Kit } from './harness.js';
import { ev, sleep, pick, plain, rejects, snapshot, assertSameState } from './helpers.js';

export function expectedVersionTests(kit: Kit): void {
  const { open } = kit;
  // ---------------------------------------------------------------- expected version
  {
    const test = kit.section('expected version');

    test("'any' appends whether or not the stream exists", async (ctx) => {
      const store = await open(ctx);
      await store.append('s', ev(1), { expectedVersion: 'any' });
      await store.append('s', ev(2), { expectedVersion: 'any' });
      assert.equal(await store.streamVersion('s'), 2);
    });

    test("'no_stream' appends to a new stream and fails with CONFLICT carrying the actual version once it exists", async (ctx) => {
      const store = await open(ctx);
      await store.append('s', [ev(1), ev(2)], { expectedVersion: 'no_stream' });
      const err = await rejects(store.append('s', ev(3), { expectedVersion: 'no_stream' }), ErrorCode.CONFLICT);
      assert.deepEqual(pick(err.details, 'streamId', 'expected', 'actual'), { streamId: 's', expected: 'no_stream', actual: 2 });
    });

    test("'exists' fails with CONFLICT (actual 0) on a new stream and appends once it exists", async (ctx) => {
      const store = await open(ctx);
      const err = await rejects(store.append('s', ev(1), { expectedVersion: 'exists' }), ErrorCode.CONFLICT);
      assert.deepEqual(pick(err.details, 'streamId', 'expected', 'actual'), { streamId: 's', expected: 'exists', actual: 0 });
      await store.append('s', ev(1));
      await store.append('s', ev(2), { expectedVersion: 'exists' });
      assert.equal(await store.streamVersion('s'), 2);
    });

    test('an exact version appends only when it equals the current version (0 for a new stream)', async (ctx) => {
      const store = await open(ctx);
      await store.append('s', ev(1), { expectedVersion: 0 });
      await store.append('s', [ev(2), ev(3)], { expectedVersion: 1 });
      await store.append('s', ev(4), { expectedVersion: 3 });
      for (const wrong of [0, 1, 3, 5, 100]) {
        const err = await rejects(store.append('s', ev(9), { expectedVersion: wrong }), ErrorCode.CONFLICT, `expected ${wrong}`);
        assert.deepEqual(pick(err.details, 'streamId', 'expected', 'actual'), { streamId: 's', expected: wrong, actual: 4 });
      }
      assert.equal(await store.streamVersion('s'), 4);
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
      assert.deepEqual(await store.append('s', ev(8)), { streamId: 's', firstVersion: 3, lastVersion: 3, firstPosition: 4, lastPosition: 4, duplicate: false });
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
        assert.equal(err.details.field, 'expectedVersion');
      }
      assert.equal(await store.headPosition(), 0);
    });
  }

  // ---------------------------------------------------------------- retry-safe appends
  {
    const test = kit.section('retry-safe appends by event id');

    test('appending a stored id again returns the original result with duplicate: true and writes nothing', async (ctx) => {
      const store = await open(ctx);
      await store.append('s', ev(0));
      const first = await store.append('s', { ...ev(1), id: 'req-1' });
      const before = await snapshot(store);
      const retry = await store.append('s', { ...ev(1), id: 'req-1' });
      assert.deepEqual(retry, { ...first, duplicate: true });
      assertSameState(await snapshot(store), before);
    });

    test('a retried batch returns the original batch result', async (ctx) => {
      const store = await open(ctx);
      await store.append('other', ev(0));
      const batch = [{ ...ev(1), id: 'b-1' }, { ...ev(2), id: 'b-2' }, { ...ev(3), id: 'b-3' }];
      const first = await store.append('s', batch);
      assert.deepEqual(first, { streamId: 's', firstVersion: 1, lastVersion: 3, firstPosition: 2, lastPosition: 4, duplicate: false });
      assert.deepEqual(await store.append('s', batch), { ...first, duplicate: true });
      assert.equal(await store.headPosition(), 4);
    });

    test('a retry returns the original result even after other events were appended', async (ctx) => {
      const store = await open(ctx);
      const first = await store.append('s', { ...ev(1), id: 'late-retry' });
      await store.append('s', [ev(2), ev(3)]);
      await store.append('t', ev(4));
      assert.deepEqual(await store.append('s', { ...ev(1), id: 'late-retry' }), { ...first, duplicate: true });
      assert.equal(await store.streamVersion('s'), 3);
    });

    test('a retry with the original expected version returns the original result, not a conflict', async (ctx) => {
      const store = await open(ctx);
      const created = await store.append('s', { ...ev(1), id: 'create-1' }, { expectedVersion: 'no_stream' });
      assert.deepEqual(await store.append('s', { ...ev(1), id: 'create-1' }, { expectedVersion: 'no_stream' }), { ...created, duplicate: true });
      const next = await store.append('s', { ...ev(2), id: 'next-1' }, { expectedVersion: 1 });
      assert.deepEqual(await store.append('s', { ...ev(2), id: 'next-1' }, { expectedVersion: 1 }), { ...next, duplicate: true });
      assert.equal(await store.streamVersion('s'), 2);
    });

    test('the retried events read back as first written', async (ctx) => {
      const store = await open(ctx);
      await store.append('s', { ...ev(1), id: 'keep' });
      const [original] = await store.readStream('s');
      await sleep(2);
      await store.append('s', { ...ev(1), id: 'keep' });
      assert.deepEqual(plain(await store.readStream('s')), plain([original!]));
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
      assert.equal(await store.headPosition(), 0);
    });

    test('an id is only checked against its own stream: the same id in another stream is a new event', async (ctx) => {
      const store = await open(ctx);
      await store.append('a', { ...ev(1), id: 'shared-id' });
      const other = await store.append('b', { ...ev(1), id: 'shared-id' });
      assert.deepEqual(other, { streamId: 'b', firstVersion: 1, lastVersion: 1, firstPosition: 2, lastPosition: 2, duplicate: false });
    });

    test('concurrent retries of one id write the event once and all get the same versions', async (ctx) => {
      const store = await open(ctx);
      await store.append('s', ev(0));
      const results = await Promise.all(Array.from({ length: 12 }, () => store.append('s', [{ ...ev(1), id: 'race-1' }, { ...ev(2), id: 'race-2' }])));
      assert.equal(results.filter((r) => !r.duplicate).length, 1, 'exactly one writes');
      for (const r of results) assert.deepEqual({ ...r, duplicate: false }, { streamId: 's', firstVersion: 2, lastVersion: 3, firstPosition: 2, lastPosition: 3, duplicate: false });
      assert.equal(await store.streamVersion('s'), 3);
      assert.equal(await store.headPosition(), 3);
    });
  }
}
