import { isDeepStrictEqual } from 'node:util';
import fc from '../support/fc-setup.js';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { JsonObject } from '../../src/events/fields.js';
import { MemoryBackend } from '../../src/backends/memory/memory-backend.js';
import { type ChatStore, openChatStore } from '../../src/chat/chat-store.js';
import type { JsonValue } from '../../src/kernel/types.js';
import { readable } from '../../test/flatfile/unit-helpers.js';
import { payloads } from '../support/events.js';
import { withTempDir } from '../support/temp.js';

/**
 * Time travel: for random sequences of context.set and context.patched (with
 * other session events between them), the context as of version N equals the
 * first N changes folded with a reference RFC 7386 merge patch written here,
 * for every N; and as of a time T it is the context after the last change at
 * or before T.
 */

const test = suite('property: context time travel');

// ---- an independent RFC 7386 merge patch (the RFC's pseudocode, copying as it goes) ----

function isObject(v: unknown): v is Record<string, JsonValue> {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Uint8Array);
}

function copy(v: JsonValue): JsonValue {
  if (v instanceof Uint8Array) return new Uint8Array(v);
  if (Array.isArray(v)) return v.map(copy);
  if (isObject(v)) {
    const out: Record<string, JsonValue> = {};
    for (const k of Object.keys(v)) out[k] = copy(v[k]!);
    return out;
  }
  return v;
}

function referenceMergePatch(target: JsonValue | undefined, patch: JsonValue): JsonValue {
  if (!isObject(patch)) return copy(patch);
  const result: Record<string, JsonValue> = isObject(target) ? (copy(target) as Record<string, JsonValue>) : {};
  for (const name of Object.keys(patch)) {
    const value = patch[name]!;
    if (value === null) delete result[name];
    else result[name] = referenceMergePatch(Object.hasOwn(result, name) ? result[name] : undefined, value);
  }
  return result;
}

/** Bytes compare by content whether they come back as Buffer (flatfile) or Uint8Array (memory). */
function normal(v: unknown): unknown {
  if (v instanceof Uint8Array) return Array.from(v, (b) => `byte:${b}`);
  if (Array.isArray(v)) return v.map(normal);
  if (isObject(v)) return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, normal(x)]));
  return v;
}

const same = (a: unknown, b: unknown) => isDeepStrictEqual(normal(a), normal(b));

// ---- scenarios ----

type Op =
  | { op: 'set'; value: JsonObject }
  | { op: 'patch'; value: JsonObject }
  /** Another event in the session's stream, between context changes. */
  | { op: 'message' }
  | { op: 'snapshot' }
  /** Let the clock move, so that some changes get distinct times and some share one. */
  | { op: 'wait'; ms: number }
  /** Close the store and open it again (flatfile only). */
  | { op: 'reopen' };

/** Nested objects with nulls in them, so patches merge and remove at depth. */
const patchObject: fc.Arbitrary<JsonObject> = fc.oneof(
  payloads['context.patched'].map((d) => (d as { patch: JsonObject }).patch),
  fc.dictionary(fc.constantFrom('a', 'b', 'c'), fc.oneof(fc.constant(null), fc.integer(), fc.dictionary(fc.constantFrom('x', 'y'), fc.oneof(fc.constant(null), fc.string({ maxLength: 3 })), { noNullPrototype: true })), { noNullPrototype: true }),
);
const setObject: fc.Arbitrary<JsonObject> = fc.oneof(
  payloads['context.set'].map((d) => (d as { context: JsonObject }).context),
  fc.dictionary(fc.constantFrom('a', 'b', 'c'), fc.oneof(fc.integer(), fc.dictionary(fc.constantFrom('x', 'y'), fc.string({ maxLength: 3 }), { noNullPrototype: true })), { noNullPrototype: true }),
);

const op = (withReopen: boolean): fc.Arbitrary<Op> =>
  fc.oneof(
    { weight: 3, arbitrary: setObject.map((value) => ({ op: 'set' as const, value })) },
    { weight: 6, arbitrary: patchObject.map((value) => ({ op: 'patch' as const, value })) },
    { weight: 1, arbitrary: fc.constant({ op: 'message' as const }) },
    { weight: 1, arbitrary: fc.constant({ op: 'snapshot' as const }) },
    { weight: 3, arbitrary: fc.integer({ min: 1, max: 2 }).map((ms) => ({ op: 'wait' as const, ms })) },
    { weight: withReopen ? 1 : 0, arbitrary: fc.constant({ op: 'reopen' as const }) },
  );

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function check(ops: Op[], open: () => Promise<ChatStore>): Promise<void> {
  let chat = await open();
  try {
    await chat.users.create({ userId: 'u' });
    await chat.sessions.create({ userId: 'u', sessionId: 's', title: 'Trip' });
    const changes: JsonObject[] = [];
    let snapshots = 0;
    for (const o of ops) {
      if (o.op === 'set') {
        await chat.context.set('s', o.value);
        changes.push(o.value);
      } else if (o.op === 'patch') {
        await chat.context.patch('s', o.value);
        changes.push(o.value);
      } else if (o.op === 'message') {
        await chat.messages.add('s', { role: 'user', content: 'between' });
      } else if (o.op === 'snapshot') {
        await chat.context.snapshot('s', `snap-${++snapshots}`);
      } else if (o.op === 'wait') {
        await sleep(o.ms);
      } else {
        await chat.close();
        chat = await open();
      }
    }
    // The reference: context after each number of changes, by its own merge patch.
    const folded: JsonValue[] = [{}];
    ops.filter((o): o is Extract<Op, { op: 'set' | 'patch' }> => o.op === 'set' || o.op === 'patch').forEach((o, i) => {
      folded.push(o.op === 'set' ? copy(o.value) : referenceMergePatch(folded[i], o.value));
    });
    assert.is(folded.length, changes.length + 1);

    const current = await chat.context.get('s');
    assert.is(current.version, changes.length);
    assert.ok(same(current.context, folded.at(-1)), `current context ${JSON.stringify(normal(current.context))} != ${JSON.stringify(normal(folded.at(-1)))}`);

    for (let n = 0; n <= changes.length; n++) {
      const v = await chat.context.get('s', { asOf: { version: n } });
      assert.is(v.version, n);
      assert.ok(same(v.context, folded[n]), `as of version ${n}: ${JSON.stringify(normal(v.context))} != ${JSON.stringify(normal(folded[n]))}`);
    }

    // Times: each change's own, a millisecond before it, and around the ends.
    const { changes: history } = await chat.context.history('s', { limit: 1000 });
    assert.is(history.length, changes.length);
    const times = new Set<number>([0, Date.now() + 60_000]);
    for (const h of history) times.add(h.at).add(h.at - 1);
    for (const t of times) {
      const expected = history.filter((h) => h.at <= t).length;
      const byTime = await chat.context.get('s', { asOf: { time: t } });
      assert.is(byTime.version, expected, `as of time ${t}`);
      const byVersion = await chat.context.get('s', { asOf: { version: expected } });
      assert.ok(same(byTime.context, byVersion.context), `as of time ${t} disagrees with version ${expected}`);
      assert.ok(same(byTime.context, folded[expected]), `as of time ${t}`);
      if (history.length > 0) assert.is((await chat.context.get('s', { asOf: { time: new Date(t) } })).version, expected);
    }

    // Named snapshots read back the version they named.
    for (const ref of (await chat.context.snapshots('s')).snapshots) {
      const v = await chat.context.get('s', { asOf: { snapshot: ref.name } });
      assert.is(v.version, ref.version);
      assert.ok(same(v.context, folded[ref.version]), `snapshot ${ref.name}`);
    }
  } finally {
    await chat.close();
  }
}

test('as of version N is the first N changes folded by a reference merge patch, for every N; as of time T agrees with the version of the last change at or before T (memory backend)', async () => {
  await fc.assert(
    fc.asyncProperty(fc.array(op(false), { maxLength: 30, size: 'max' }), async (ops) => {
      try {
        await check(ops, () => openChatStore({ backend: new MemoryBackend() }));
      } catch (err) {
        throw readable(err);
      }
    }),
    { numRuns: 60 },
  );
});

test('time travel reads the same after the store is closed and reopened (flatfile backend, projections from snapshots)', async () => {
  await fc.assert(
    fc.asyncProperty(fc.array(op(true), { minLength: 3, maxLength: 20, size: 'max' }), async (ops) => {
      await withTempDir('time-travel', async (dir) => {
        try {
          await check(ops, () => openChatStore({ dir, durability: 'none' }));
        } catch (err) {
          throw readable(err);
        }
      });
    }),
    { numRuns: 10 },
  );
});

test('the reference merge patch agrees with RFC 7386 on its own examples (so it can judge the store)', () => {
  const cases: Array<[JsonValue, JsonValue, JsonValue]> = [
    [{ a: 'b' }, { a: 'c' }, { a: 'c' }],
    [{ a: 'b' }, { a: null }, {}],
    [{ a: { b: 'c' } }, { a: { b: 'd', c: null } }, { a: { b: 'd' } }],
    [[1, 2], { a: 'b', c: null }, { a: 'b' }],
    [{}, { a: { bb: { ccc: null } } }, { a: { bb: {} } }],
    [{ e: null }, { a: 1 }, { e: null, a: 1 }],
  ];
  for (const [t, p, r] of cases) assert.equal(referenceMergePatch(t, p), r);
});

test.run();
