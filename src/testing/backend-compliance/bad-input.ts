/** Input the engine refuses before it reaches the backend, whatever the backend. */
import assert from 'node:assert/strict';
import { ErrorCode } from '../../kernel/errors.js';
import type { JsonValue, NewEvent } from '../../kernel/types.js';
import type { Kit } from './harness.js';
import { ev, rejects } from './helpers.js';

export function badInputTests(kit: Kit): void {
  const { open } = kit;
  // ---------------------------------------------------------------- bad input
  {
    const test = kit.section('bad input');
    const BAD_STREAM_IDS: unknown[] = ['', 'a\0b', 'a\nb', '\t', 'x\u007F', '\u0085', 'a\uD800', '\uDC00a', 'x'.repeat(521), 42, null];

    test('stream ids the id rule refuses (empty, control characters, lone surrogates, over 520 bytes, not strings) are INVALID_ID on every operation, and nothing is written', async (ctx) => {
      const store = await open(ctx);
      for (const id of BAD_STREAM_IDS) {
        const what = JSON.stringify(id);
        const sid = id as string;
        const err = await rejects(store.append(sid, ev(1)), ErrorCode.INVALID_ID, `append ${what}`);
        assert.equal(err.details.field, 'streamId');
        await rejects(store.readStream(sid), ErrorCode.INVALID_ID, `readStream ${what}`);
        await rejects(store.streamVersion(sid), ErrorCode.INVALID_ID, `streamVersion ${what}`);
        await rejects(store.readStreamAsOf(sid, { version: 1 }), ErrorCode.INVALID_ID, `readStreamAsOf ${what}`);
        await rejects(() => store.subscribeToStream(sid), ErrorCode.INVALID_ID, `subscribeToStream ${what}`);
        await rejects(store.purgeStream(sid), ErrorCode.INVALID_ID, `purgeStream ${what}`);
      }
      assert.equal(await store.headPosition(), 0);
    });

    test('a stream id of 520 bytes of UTF-8 is accepted and one of 521 refused', async (ctx) => {
      const store = await open(ctx);
      await store.append('é'.repeat(260), ev(1));
      assert.equal((await store.readStream('é'.repeat(260))).length, 1);
      await rejects(store.append(`${'é'.repeat(260)}x`, ev(1)), ErrorCode.INVALID_ID);
    });

    test('stream ids differing only in case are different streams', async (ctx) => {
      const store = await open(ctx);
      await store.append('Chat', ev(1));
      await store.append('chat', [ev(2), ev(3)]);
      assert.equal(await store.streamVersion('Chat'), 1);
      assert.equal(await store.streamVersion('chat'), 2);
    });

    test('bad event ids are refused with INVALID_ID', async (ctx) => {
      const store = await open(ctx);
      for (const id of ['', 'a\nb', '\u0000', 'x'.repeat(513), 'a\uD800', 42, null]) {
        await rejects(store.append('s', { ...ev(1), id: id as string }), ErrorCode.INVALID_ID, JSON.stringify(id));
      }
      assert.equal(await store.headPosition(), 0);
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
        if (field) assert.equal(err.details.field, field);
      }
      await rejects(store.append('s', { type: 't' } as NewEvent), ErrorCode.INVALID_ARGUMENT, 'no data at all');
      assert.equal(await store.headPosition(), 0);
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
      assert.equal(await store.headPosition(), 0);
    });

    test('bad types and schema versions are refused with INVALID_ARGUMENT', async (ctx) => {
      const store = await open(ctx);
      for (const type of ['', '9lives', 'a b', '.dot', 'x'.repeat(129), 7, undefined]) {
        await rejects(store.append('s', { type: type as string, data: 1 }), ErrorCode.INVALID_ARGUMENT, `type ${JSON.stringify(type)}`);
      }
      for (const schemaVersion of [0, -1, 1.5, 65_536, '2', Number.NaN]) {
        const err = await rejects(store.append('s', { type: 't', data: 1, schemaVersion: schemaVersion as number }), ErrorCode.INVALID_ARGUMENT, `schemaVersion ${schemaVersion}`);
        assert.equal(err.details.field, 'events[0].schemaVersion');
      }
      await store.append('s', { type: 't', data: 1, schemaVersion: 65_535 });
      assert.equal(await store.headPosition(), 1);
    });

    test('an empty batch, a non-object event, or more than 10,000 events are refused with INVALID_ARGUMENT', async (ctx) => {
      const store = await open(ctx);
      await rejects(store.append('s', []), ErrorCode.INVALID_ARGUMENT, 'empty batch');
      await rejects(store.append('s', [null as never]), ErrorCode.INVALID_ARGUMENT, 'null event');
      await rejects(store.append('s', 'message' as never), ErrorCode.INVALID_ARGUMENT, 'string event');
      await rejects(store.append('s', Array.from({ length: 10_001 }, (_, i) => ev(i))), ErrorCode.INVALID_ARGUMENT, '10,001 events');
      assert.equal(await store.headPosition(), 0);
    });

    test('one bad event fails its whole batch and nothing of the batch is written', async (ctx) => {
      const store = await open(ctx);
      await store.append('s', ev(0));
      const err = await rejects(store.append('s', [ev(1), ev(2), { type: 't', data: { bad: Number.NaN } }]), ErrorCode.INVALID_ARGUMENT);
      assert.equal(err.details.field, 'events[2].data.bad');
      assert.equal(await store.streamVersion('s'), 1);
      assert.equal(await store.headPosition(), 1);
    });
  }
}
