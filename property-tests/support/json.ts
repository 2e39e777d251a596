import fc from 'fast-check';
import type { EventMetadata, JsonValue, NewEvent } from '../../src/kernel/types.js';

/**
 * Arbitraries for what callers may store, and an exact comparison for what
 * comes back. The engine accepts plain objects, arrays, well-formed strings,
 * finite numbers, booleans, null and Uint8Array; it refuses `__proto__` keys
 * and undefined values, so none are generated. msgpack has no -0 (it stores
 * the integer 0), so -0 is generated as 0.
 */

/** Any well-formed string: full Unicode (astral planes too), or short ASCII (useful as object keys). */
export const text = (maxLength = 12): fc.Arbitrary<string> =>
  fc.oneof(fc.string({ unit: 'binary', maxLength }), fc.string({ unit: 'grapheme', maxLength }), fc.string({ maxLength }));

const key = fc.oneof(fc.string({ maxLength: 6 }), fc.string({ unit: 'binary', maxLength: 4 }), fc.constantFrom('constructor', 'toString', '0', '1', '10', 'valueOf', 'hasOwnProperty'))
  .filter((k) => k !== '__proto__');

const number = fc.oneof(
  fc.integer(),
  fc.maxSafeInteger(),
  fc.constantFrom(Number.MAX_SAFE_INTEGER, Number.MIN_SAFE_INTEGER, 2 ** 32, 2 ** 32 - 1, -(2 ** 31), -(2 ** 31) - 1, 2 ** 31, 255, 256, 65535, 65536, 0.5, 1e-310, Number.MAX_VALUE, Number.MIN_VALUE),
  fc.double({ noNaN: true, noDefaultInfinity: true }).map((d) => (Object.is(d, -0) ? 0 : d)),
);

const leaf: fc.Arbitrary<JsonValue> = fc.oneof(
  fc.constant(null),
  fc.boolean(),
  number,
  text(),
  fc.uint8Array({ maxLength: 24 }),
);

export function jsonValue(opts: { maxDepth?: number; maxKeys?: number } = {}): fc.Arbitrary<JsonValue> {
  const maxDepth = opts.maxDepth ?? 3;
  const maxKeys = opts.maxKeys ?? 5;
  return fc.letrec<{ value: JsonValue }>((tie) => ({
    value: fc.oneof(
      { depthSize: 'small', maxDepth, withCrossShrink: true },
      leaf,
      fc.array(tie('value'), { maxLength: maxKeys }),
      fc.dictionary(key, tie('value'), { maxKeys, noNullPrototype: true }),
    ),
  })).value;
}

/** Metadata: the known string fields, maybe, plus free JSON fields. */
export const metadata: fc.Arbitrary<EventMetadata> = fc
  .record(
    {
      actor: text(10),
      correlationId: text(10),
      causationId: text(10),
      extra: fc.dictionary(key.filter((k) => !['actor', 'correlationId', 'causationId'].includes(k)), jsonValue({ maxDepth: 2, maxKeys: 3 }), {
        maxKeys: 3,
        noNullPrototype: true,
      }),
    },
    { requiredKeys: [] },
  )
  .map(({ extra, ...known }) => {
    const out: EventMetadata = {};
    for (const [k, v] of Object.entries(extra ?? {})) Object.defineProperty(out, k, { value: v, enumerable: true, writable: true, configurable: true });
    return Object.assign(out, known);
  });

export const eventType = fc.stringMatching(/^[A-Za-z][A-Za-z0-9_.:/-]{0,24}$/);
export const eventId = fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9_.:-]{0,30}$/);
export const streamId = fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9_-]{0,30}$/);

/** A NewEvent a caller could append (no caller id: ids are a concern of the tests that use them). */
export function newEvent(data: fc.Arbitrary<JsonValue> = jsonValue()): fc.Arbitrary<NewEvent> {
  return fc.record(
    { type: eventType, data, metadata, schemaVersion: fc.integer({ min: 1, max: 65_535 }) },
    { requiredKeys: ['type', 'data'] },
  );
}

/**
 * Exact comparison of stored JSON values: same types, same keys in the same
 * order, numbers equal by Object.is, bytes equal (a Buffer and a Uint8Array of
 * the same bytes are the same value). Returns the first difference, or undefined.
 */
export function jsonDiff(actual: unknown, expected: unknown, at = '$'): string | undefined {
  if (expected instanceof Uint8Array) {
    if (!(actual instanceof Uint8Array)) return `${at}: expected bytes, got ${show(actual)}`;
    if (Buffer.compare(Buffer.from(actual.buffer, actual.byteOffset, actual.byteLength), Buffer.from(expected.buffer, expected.byteOffset, expected.byteLength)) !== 0) {
      return `${at}: bytes differ: ${Buffer.from(actual).toString('hex')} != ${Buffer.from(expected).toString('hex')}`;
    }
    return undefined;
  }
  if (Array.isArray(expected)) {
    if (!Array.isArray(actual)) return `${at}: expected an array, got ${show(actual)}`;
    if (actual.length !== expected.length) return `${at}: expected ${expected.length} items, got ${actual.length}`;
    for (let i = 0; i < expected.length; i++) {
      const d = jsonDiff(actual[i], expected[i], `${at}[${i}]`);
      if (d) return d;
    }
    return undefined;
  }
  if (expected !== null && typeof expected === 'object') {
    if (actual === null || typeof actual !== 'object' || Array.isArray(actual) || actual instanceof Uint8Array) return `${at}: expected an object, got ${show(actual)}`;
    const ek = Object.keys(expected);
    const ak = Object.keys(actual);
    if (ek.join('\u0000') !== ak.join('\u0000')) return `${at}: keys ${JSON.stringify(ak)} != ${JSON.stringify(ek)}`;
    for (const k of ek) {
      const d = jsonDiff((actual as Record<string, unknown>)[k], (expected as Record<string, unknown>)[k], `${at}.${k}`);
      if (d) return d;
    }
    return undefined;
  }
  if (!Object.is(actual, expected)) return `${at}: ${show(actual)} != ${show(expected)}`;
  return undefined;
}

function show(v: unknown): string {
  if (v instanceof Uint8Array) return `bytes(${v.length})`;
  if (typeof v === 'number' && Object.is(v, -0)) return '-0';
  try {
    return JSON.stringify(v) ?? String(v);
  } catch {
    return String(v);
  }
}
