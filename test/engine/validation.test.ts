import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { MemoryBackend } from '../../src/backends/memory/memory-backend.js';
import { EventStore } from '../../src/engine/event-store.js';
import { ErrorCode, FfcdbError } from '../../src/kernel/errors.js';
import {
  LIMITS,
  assertId,
  assertEventType,
  assertExpectedVersion,
  assertJsonValue,
  assertPositiveInteger,
  assertStreamId,
  describe,
  invalid,
  jsonValue,
} from '../../src/kernel/validation.js';
import { rejected } from '../flatfile/unit-helpers.js';

/** Runs fn and returns the FfcdbError it threw; fails when it throws nothing or something else. */
function thrown(fn: () => unknown): FfcdbError {
  try {
    fn();
  } catch (err) {
    if (err instanceof FfcdbError) return err;
    throw new Error(`expected an FfcdbError, got ${String(err)}`);
  }
  throw new Error('expected an FfcdbError, nothing was thrown');
}

function fails(fn: () => unknown, code: string, field?: string): void {
  const err = thrown(fn);
  assert.is(err.code, code, err.message);
  if (field !== undefined) assert.is(err.details.field, field);
}

function nested(depth: number): unknown {
  let v: unknown = 0;
  for (let i = 0; i < depth; i++) v = [v];
  return v;
}

const ids = suite('validation: the id rule');

ids('accepts any string of 1 to 512 UTF-8 bytes without control characters: paths, spaces, emails, emoji, RTL marks, device names', () => {
  const accepted = ['a', 'Z', '7', 'user:42', 'chat/1/msg/2', 'call abc/1', 'parent:uuid|child:uuid', 'ann@example.org', '..', '.', '../x', 'a\\b', '%2e%2e', 'CON', 'nul', 'a.', 'a ', ' ', '-rf', '_x', 'café', 'Ａ', 'a\u202Eb', '\u{1F600}', 'x'.repeat(512), 'é'.repeat(256), '\u{1F600}'.repeat(128)];
  for (const id of accepted) {
    assertId(id, 'id');
    assertStreamId(id);
  }
});

ids('refuses an empty id, naming the field', () => {
  const err = thrown(() => assertId('', 'sessionId'));
  assert.is(err.code, ErrorCode.INVALID_ID);
  assert.is(err.details.field, 'sessionId');
  assert.match(err.message, /^sessionId must not be empty/);
});

ids('counts UTF-8 bytes, not characters: 512 bytes pass, 513 are refused with the byte count', () => {
  assertId('é'.repeat(256), 'id');
  const err = thrown(() => assertId(`${'é'.repeat(256)}x`, 'id'));
  assert.is(err.code, ErrorCode.INVALID_ID);
  assert.match(err.message, /at most 512 bytes of UTF-8; got 513 bytes/);
  fails(() => assertId('x'.repeat(513), 'id'), ErrorCode.INVALID_ID, 'id');
  fails(() => assertId('\u{1F600}'.repeat(129), 'id'), ErrorCode.INVALID_ID, 'id');
});

ids('stream ids have 8 bytes more, for a kind prefix before an app id', () => {
  assertStreamId(`s-${'x'.repeat(512)}`);
  assertStreamId('x'.repeat(520));
  fails(() => assertStreamId('x'.repeat(521)), ErrorCode.INVALID_ID, 'streamId');
});

ids('refuses C0 controls, DEL and C1 controls, naming the character and its index', () => {
  for (const [id, at, code] of [['a\nb', 1, 'U+000A'], ['\0', 0, 'U+0000'], ['ab\tc', 2, 'U+0009'], ['x\u007F', 1, 'U+007F'], ['xy\u0085', 2, 'U+0085'], ['\u009F', 0, 'U+009F']] as const) {
    const err = thrown(() => assertId(id, 'messageId'));
    assert.is(err.code, ErrorCode.INVALID_ID);
    assert.is(err.details.field, 'messageId');
    assert.match(err.message, `control character (${code}) at index ${at}`);
  }
});

ids('refuses lone surrogates, which UTF-8 cannot store, and accepts paired ones', () => {
  for (const [id, at] of [['a\uD800', 1], ['\uDC00b', 0], ['\uD800\uD800\uDC00', 0]] as const) {
    const err = thrown(() => assertId(id, 'id'));
    assert.is(err.code, ErrorCode.INVALID_ID);
    assert.match(err.message, `lone UTF-16 surrogate`);
    assert.match(err.message, `at index ${at}`);
  }
  assertId('\uD83D\uDE00', 'id');
});

ids('refuses non-strings', () => {
  for (const id of [undefined, null, 1, {}, ['a'], Symbol('a'), 1n]) fails(() => assertId(id, 'id'), ErrorCode.INVALID_ID, 'id');
});

ids('the error names the field and the offending value, cut to 200 characters', () => {
  const err = thrown(() => assertStreamId('y'.repeat(600), 'session'));
  assert.is(err.details.field, 'session');
  assert.is(err.details.value, 'y'.repeat(200));
  assert.match(err.message, /^session must be/);
  assert.is(thrown(() => assertStreamId(42)).details.value, 'number');
});

const types = suite('validation: event types');

types('accepts namespaced names like message.added and chat/MessageAdded', () => {
  for (const t of ['message.added', 'chat/MessageAdded', 'a', 'v1:session-created', 'x'.repeat(128)]) assertEventType(t);
});

types('refuses empty, too long, leading digits or punctuation, spaces and non-strings with INVALID_ARGUMENT', () => {
  for (const t of ['', 'x'.repeat(129), '1abc', '.a', 'a b', 'a\n', 3, null]) fails(() => assertEventType(t, 'type'), ErrorCode.INVALID_ARGUMENT, 'type');
});

const integers = suite('validation: integers and expected versions');

integers('assertPositiveInteger accepts safe integers at or above the minimum', () => {
  assertPositiveInteger(1, 'n');
  assertPositiveInteger(0, 'n', 0);
  assertPositiveInteger(Number.MAX_SAFE_INTEGER, 'n');
});

integers('assertPositiveInteger refuses values below the minimum, fractions, NaN, infinities, unsafe integers and strings', () => {
  for (const v of [0, -1, 1.5, Number.NaN, Number.POSITIVE_INFINITY, Number.MAX_SAFE_INTEGER + 1, '1', null, undefined, 1n]) {
    fails(() => assertPositiveInteger(v, 'limit'), ErrorCode.INVALID_ARGUMENT, 'limit');
  }
  fails(() => assertPositiveInteger(-1, 'limit', 0), ErrorCode.INVALID_ARGUMENT);
});

integers('assertExpectedVersion accepts any, no_stream, exists and integers >= 0', () => {
  for (const v of ['any', 'no_stream', 'exists', 0, 1, 1_000_000]) assertExpectedVersion(v);
});

integers('assertExpectedVersion refuses other strings, negatives, fractions, NaN and null', () => {
  for (const v of ['ANY', 'none', '', -1, 0.5, Number.NaN, null, {}]) fails(() => assertExpectedVersion(v), ErrorCode.INVALID_ARGUMENT, 'expectedVersion');
});

const json = suite('validation: event data');

json('accepts null, booleans, finite numbers, strings, Uint8Array, arrays and plain objects, nested', () => {
  assertJsonValue(
    { n: null, t: true, f: false, i: -42, x: 1.5e300, s: 'héllo 👋', b: new Uint8Array([0, 255]), a: [1, 'two', [3]], o: { deep: { er: [] } }, e: '' },
    'data',
  );
  for (const v of [null, 0, 'x', [], {}, Buffer.from('x'), Object.create(null)]) assertJsonValue(v, 'data');
});

json('refuses NaN and the infinities, naming the path to the bad value', () => {
  fails(() => assertJsonValue(Number.NaN, 'data'), ErrorCode.INVALID_ARGUMENT, 'data');
  fails(() => assertJsonValue({ a: [1, Number.POSITIVE_INFINITY] }, 'data'), ErrorCode.INVALID_ARGUMENT, 'data.a[1]');
  fails(() => assertJsonValue({ a: Number.NEGATIVE_INFINITY }, 'data'), ErrorCode.INVALID_ARGUMENT, 'data.a');
});

json('refuses undefined values inside objects and arrays (they would vanish on the way to disk)', () => {
  fails(() => assertJsonValue({ a: undefined }, 'data'), ErrorCode.INVALID_ARGUMENT, 'data.a');
  fails(() => assertJsonValue([1, undefined], 'data'), ErrorCode.INVALID_ARGUMENT, 'data[1]');
  const sparse = [1, 2, 3];
  delete sparse[1]; // a hole at index 1, as `[1, , 3]` has
  fails(() => assertJsonValue(sparse, 'data'), ErrorCode.INVALID_ARGUMENT, 'data[1]');
  fails(() => assertJsonValue(undefined, 'data'), ErrorCode.INVALID_ARGUMENT, 'data');
});

json('refuses functions, symbols and bigints', () => {
  fails(() => assertJsonValue({ f: () => 1 }, 'data'), ErrorCode.INVALID_ARGUMENT, 'data.f');
  fails(() => assertJsonValue(Symbol('s'), 'data'), ErrorCode.INVALID_ARGUMENT);
  fails(() => assertJsonValue({ big: 10n }, 'data'), ErrorCode.INVALID_ARGUMENT, 'data.big');
});

json('refuses class instances, Dates, Maps, Sets and other typed arrays', () => {
  class Point {
    x = 1;
  }
  for (const v of [new Point(), new Date(0), new Map(), new Set(), new Float64Array(2), new ArrayBuffer(2), /re/]) {
    fails(() => assertJsonValue({ v }, 'data'), ErrorCode.INVALID_ARGUMENT, 'data.v');
  }
});

json('refuses an own __proto__ key, which decoders would drop or turn into a prototype', () => {
  fails(() => assertJsonValue(JSON.parse('{"__proto__": {"admin": true}}'), 'data'), ErrorCode.INVALID_ARGUMENT, 'data.__proto__');
  fails(() => assertJsonValue({ list: [JSON.parse('{"ok": 1, "__proto__": 1}')] }, 'data'), ErrorCode.INVALID_ARGUMENT, 'data.list[0].__proto__');
});

json('accepts keys that only look dangerous, like constructor and prototype', () => {
  assertJsonValue({ constructor: 1, prototype: { toString: 'x' } }, 'data');
});

json('refuses strings and keys with lone surrogates, which UTF-8 cannot carry unchanged', () => {
  fails(() => assertJsonValue('a\uD800b', 'data'), ErrorCode.INVALID_ARGUMENT, 'data');
  fails(() => assertJsonValue({ t: ['\uDC00'] }, 'data'), ErrorCode.INVALID_ARGUMENT, 'data.t[0]');
  fails(() => assertJsonValue({ 'k\uD83D': 1 }, 'data'), ErrorCode.INVALID_ARGUMENT, 'data');
  assertJsonValue('\uD83D\uDC4B', 'data'); // a proper pair (👋) is fine
});

json(`accepts nesting up to ${LIMITS.maxDepth} levels and refuses deeper (and so cycles)`, () => {
  assertJsonValue(nested(LIMITS.maxDepth), 'data');
  fails(() => assertJsonValue(nested(LIMITS.maxDepth + 2), 'data'), ErrorCode.INVALID_ARGUMENT);
  const cycle: Record<string, unknown> = {};
  cycle.self = cycle;
  fails(() => assertJsonValue(cycle, 'data'), ErrorCode.INVALID_ARGUMENT);
});

const keys = (n: number) => Object.fromEntries(Array.from({ length: n }, (_, i) => [`k${i}`, i]));

json(`refuses an object of more than ${LIMITS.maxObjectKeys} keys, which the codec's 16-bit map header cannot count`, () => {
  assertJsonValue({ a: keys(LIMITS.maxObjectKeys) }, 'data');
  fails(() => assertJsonValue({ a: [keys(LIMITS.maxObjectKeys + 1)] }, 'data'), ErrorCode.INVALID_ARGUMENT, 'data.a[0]');
});

json('the engine refuses an event holding too many keys as INVALID_ARGUMENT, in data and metadata, appending nothing', async () => {
  const store = await EventStore.open(new MemoryBackend());
  try {
    const data = await rejected(store.append('s-1', { type: 'x.y', data: { big: keys(LIMITS.maxObjectKeys + 1) } }));
    assert.is(data.code, ErrorCode.INVALID_ARGUMENT);
    assert.is(data.details.field, 'events[0].data.big');
    const metadata = await rejected(store.append('s-1', { type: 'x.y', data: null, metadata: keys(LIMITS.maxObjectKeys + 1) as never }));
    assert.is(metadata.code, ErrorCode.INVALID_ARGUMENT);
    assert.is(metadata.details.field, 'events[0].metadata');
    assert.is(await store.headPosition(), 0);
  } finally {
    await store.close();
  }
});

json('jsonValue writes values as JSON.stringify does: undefined keys dropped, undefined items null, Dates as ISO strings, bytes kept', () => {
  const bytes = new Uint8Array([1, 2]);
  const given = { a: 1, u: undefined, d: new Date(0), bad: new Date(Number.NaN), list: [undefined, 2], bytes, nested: { keep: 'x' } };
  const stored = jsonValue(given, 'data');
  assert.equal(stored, { a: 1, d: '1970-01-01T00:00:00.000Z', bad: null, list: [null, 2], bytes, nested: { keep: 'x' } });
  assert.is((stored as { bytes: unknown }).bytes, bytes, 'bytes stay the same bytes');
  assert.ok('u' in given, 'the given value is not changed');
  const plain = { a: [1, { b: 'c' }] };
  assert.is(jsonValue(plain, 'data'), plain, 'a value that needs nothing is returned as it is');
});

json('jsonValue refuses what JSON.stringify would lose or fail on, naming the field: NaN, Infinity, BigInt, functions, symbols, cycles', () => {
  const cycle: Record<string, unknown> = {};
  cycle.self = { back: cycle };
  const cases: [unknown, string][] = [
    [{ n: Number.NaN }, 'data.n'],
    [{ n: [Number.NEGATIVE_INFINITY] }, 'data.n[0]'],
    [{ n: 1n }, 'data.n'],
    [{ f: () => 1 }, 'data.f'],
    [{ s: Symbol('s') }, 'data.s'],
    [cycle, 'data.self.back'],
    [undefined, 'data'],
    [{ m: new Map() }, 'data.m'],
  ];
  for (const [value, field] of cases) fails(() => jsonValue(value, 'data'), ErrorCode.INVALID_ARGUMENT, field);
  // The same object twice, side by side, is no cycle.
  const shared = { x: 1 };
  assert.equal(jsonValue({ a: shared, b: [shared, shared] }, 'data'), { a: { x: 1 }, b: [{ x: 1 }, { x: 1 }] });
});

/** Values whose reading runs the caller's code: each must be refused without that code's error escaping. */
function hostile(): [string, unknown][] {
  const boom = () => {
    throw new Error('boom');
  };
  const revoked = Proxy.revocable({}, {});
  revoked.revoke();
  return [
    ['a getter', Object.defineProperty({}, 'a', { get: boom, enumerable: true })],
    ['a getter returning a value', Object.defineProperty({}, 'a', { get: () => 1, enumerable: true })],
    ['a Proxy', new Proxy({}, { get: boom, ownKeys: boom, getPrototypeOf: boom, getOwnPropertyDescriptor: boom, has: boom })],
    ['a revoked Proxy', revoked.proxy],
    ['a Proxy of an array', new Proxy([1], { get: boom })],
    ['an array with a throwing index getter', Object.defineProperty([0, 1], 1, { get: boom })],
    ['a class instance whose constructor name is a getter', new (Object.defineProperty(class {}, 'name', { get: boom }))()],
  ];
}

json('refuses Proxies and getters as INVALID_ARGUMENT, never with the error their code throws', () => {
  for (const [what, v] of hostile()) {
    const err = thrown(() => assertJsonValue({ v }, 'data'));
    assert.is(err.code, ErrorCode.INVALID_ARGUMENT, what);
    assert.ok(String(err.details.field).startsWith('data.v'), `${what}: ${err.details.field}`);
  }
});

json('describe() formats any value without running its code', () => {
  const boom = () => {
    throw new Error('boom');
  };
  const values: unknown[] = [10n, Symbol('s'), () => 1, Object.create(null), { toString: boom, valueOf: boom, [Symbol.toPrimitive]: boom }];
  for (const [, v] of hostile()) values.push(v);
  for (const v of values) assert.type(describe(v), 'string');
  assert.is(describe(10n), 'bigint 10n');
  assert.is(describe(Symbol('s')), 'a symbol');
});

json('invalid() builds an INVALID_ARGUMENT error naming the field', () => {
  const err = invalid('limit', 'must be positive');
  assert.instance(err, FfcdbError);
  assert.is(err.code, ErrorCode.INVALID_ARGUMENT);
  assert.is(err.message, 'limit must be positive');
  assert.equal(err.details, { field: 'limit' });
});

for (const s of [ids, types, integers, json]) s.run();
