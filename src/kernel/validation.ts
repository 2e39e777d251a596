import { types } from 'node:util';
import { ErrorCode, FfcdbError } from './errors.js';
import type { ExpectedVersion, JsonValue } from './types.js';

/** Event types: namespaced names like `message.added` or `chat/MessageAdded`. */
const EVENT_TYPE = /^[A-Za-z][A-Za-z0-9_.:/-]{0,127}$/;

export const LIMITS = {
  /** Events in one append call (one frame). */
  maxEventsPerAppend: 10_000,
  /** Nesting depth of event data and metadata. */
  maxDepth: 64,
  /** Keys of one object in event data and metadata: the codec writes every object with a 16-bit map header. */
  maxObjectKeys: 0xffff,
} as const;

/**
 * The one id rule, for every id an app gives (users, sessions, messages,
 * documents, tool calls, snapshot names, streams): any string of 1 to 512
 * bytes of UTF-8 without control characters (C0, DEL, C1), compared exactly
 * as given (no normalisation, no case folding). Lone UTF-16 surrogates are
 * refused: UTF-8 cannot hold them, so the id would not come back as given.
 * Ids never reach a path as given: storage/file-names.ts encodes them.
 */
const ID_MAX_BYTES = 512;
/**
 * Stream ids follow the same rule with room for a short kind prefix, so that a
 * store built on the engine can name a stream after an app's id (the chat
 * store's `u-<userId>`, `s-<sessionId>`).
 */
const STREAM_ID_MAX_BYTES = ID_MAX_BYTES + 8;

/** Throws INVALID_ID naming `field` and what is wrong (empty, too long in bytes, a control character or lone surrogate at an index). */
export function assertId(value: unknown, field: string, maxBytes: number = ID_MAX_BYTES): asserts value is string {
  const problem = idProblem(value, maxBytes);
  if (problem !== undefined) {
    throw new FfcdbError(ErrorCode.INVALID_ID, `${field} ${problem}`, { field, value: typeof value === 'string' ? value.slice(0, 200) : typeof value });
  }
}

export function assertStreamId(value: unknown, field = 'streamId'): asserts value is string {
  assertId(value, field, STREAM_ID_MAX_BYTES);
}

/** C0 controls, DEL and C1 controls. */
const CONTROL = /\p{Cc}/u;
/** A high surrogate not followed by a low one, or a low one not after a high one. */
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

function idProblem(value: unknown, maxBytes: number): string | undefined {
  if (typeof value !== 'string') return `must be a string (an id of 1 to ${maxBytes} bytes of UTF-8); got ${describe(value)}`;
  if (value.length === 0) return 'must not be empty';
  // UTF-16 units never outnumber UTF-8 bytes, so a long string is refused before it is measured.
  if (value.length > maxBytes) return `must be at most ${maxBytes} bytes of UTF-8; got ${value.length} UTF-16 units, so more`;
  const bytes = Buffer.byteLength(value, 'utf8');
  if (bytes > maxBytes) return `must be at most ${maxBytes} bytes of UTF-8; got ${bytes} bytes`;
  const control = CONTROL.exec(value);
  if (control !== null) return `holds a control character (${codePoint(control[0])}) at index ${control.index}; got ${describe(value)}`;
  const lone = LONE_SURROGATE.exec(value);
  if (lone !== null) return `holds a lone UTF-16 surrogate (${codePoint(lone[0])}) at index ${lone.index}, which UTF-8 cannot store`;
  return undefined;
}

function codePoint(c: string): string {
  return `U+${c.charCodeAt(0).toString(16).toUpperCase().padStart(4, '0')}`;
}

export function assertEventType(value: unknown, field = 'type'): asserts value is string {
  if (typeof value !== 'string' || !EVENT_TYPE.test(value)) {
    throw invalid(field, `must be 1-128 characters starting with a letter (letters, digits, '_', '.', ':', '/', '-'); got ${describe(value)}`);
  }
}

export function assertPositiveInteger(value: unknown, field: string, min = 1): asserts value is number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min) {
    throw invalid(field, `must be an integer >= ${min}; got ${describe(value)}`);
  }
}

export function assertExpectedVersion(value: unknown): asserts value is ExpectedVersion {
  if (value === 'any' || value === 'no_stream' || value === 'exists') return;
  if (typeof value === 'number' && Number.isSafeInteger(value) && value >= 0) return;
  throw invalid('expectedVersion', `must be 'any', 'no_stream', 'exists' or an integer >= 0; got ${describe(value)}`);
}

/**
 * Event data must round-trip exactly through msgpack and JSON: plain objects
 * of at most LIMITS.maxObjectKeys keys, arrays, well-formed strings, finite
 * numbers, booleans, null and Uint8Array. `__proto__` keys are refused because
 * decoders rename or drop them; strings with lone surrogates because UTF-8
 * encoding replaces them with U+FFFD; Proxies and getters because reading them
 * runs the caller's code, which may throw or answer differently when the
 * value is encoded. The engine's rule: data is stored exactly as given, so
 * what it would change (an undefined value, a Date) is refused.
 */
export function assertJsonValue(value: unknown, field: string, depth = 0): asserts value is JsonValue {
  walkJson(value, field, depth, false, []);
}

/**
 * `value` as `JSON.stringify` would write it, which is how the chat API stores
 * what apps give it: keys whose value is undefined are dropped (an undefined
 * array item becomes null), a Date becomes its ISO string (null when invalid);
 * bytes (Uint8Array) stay bytes. Everything assertJsonValue refuses besides
 * those is refused here too (NaN, Infinity, BigInt, functions, symbols,
 * cycles, class instances, Proxies, getters), naming the field. The value is
 * returned as it is when nothing changes, else a copy.
 */
export function jsonValue(value: unknown, field: string): JsonValue {
  return walkJson(value, field, 0, true, []) as JsonValue;
}

/** The one walk of both rules: `asApps` chooses between refusing (the engine's) and rewriting (JSON.stringify's) undefined values and Dates. */
function walkJson(value: unknown, field: string, depth: number, asApps: boolean, parents: object[]): unknown {
  if (depth > LIMITS.maxDepth) throw invalid(field, `is nested deeper than ${LIMITS.maxDepth} levels`);
  if (typeof value === 'string') {
    if (!isWellFormed(value)) throw invalid(field, 'holds a lone UTF-16 surrogate, which UTF-8 (and so msgpack) cannot store');
    return value;
  }
  if (value === null || typeof value === 'boolean') return value;
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw invalid(field, `must be a finite number; got ${value}`);
    return value;
  }
  if (value === undefined && asApps && depth === 0) throw invalid(field, 'is undefined');
  if (typeof value !== 'object') throw invalid(field, `must be JSON-compatible; got ${describe(value)}`);
  if (types.isProxy(value)) throw invalid(field, 'must be plain data; got a Proxy');
  if (value instanceof Uint8Array) return value;
  if (asApps && types.isDate(value)) {
    const time = Date.prototype.getTime.call(value);
    return Number.isNaN(time) ? null : Date.prototype.toISOString.call(value);
  }
  if (parents.includes(value)) throw invalid(field, 'refers to itself (a cycle), which JSON cannot hold');
  parents.push(value);
  const out = Array.isArray(value) ? walkArray(value, field, depth, asApps, parents) : walkObject(value, field, depth, asApps, parents);
  parents.pop();
  return out;
}

function walkArray(value: unknown[], field: string, depth: number, asApps: boolean, parents: object[]): unknown[] {
  let out: unknown[] | undefined;
  for (let i = 0; i < value.length; i++) {
    const item = readItem(value, i, field);
    const v = item === undefined && asApps ? null : walkJson(item, `${field}[${i}]`, depth + 1, asApps, parents);
    if (v !== item) out ??= value.slice(0, i);
    out?.push(v);
  }
  return out ?? value;
}

function walkObject(value: object, field: string, depth: number, asApps: boolean, parents: object[]): object {
  const proto = Object.getPrototypeOf(value);
  if (proto !== Object.prototype && proto !== null) {
    throw invalid(field, `must be a plain object, array or primitive; got ${className(proto)}`);
  }
  const keys = Object.keys(value);
  if (keys.length > LIMITS.maxObjectKeys) throw invalid(field, `holds ${keys.length} keys; an object may hold at most ${LIMITS.maxObjectKeys}`);
  let out: Record<string, unknown> | undefined;
  for (let i = 0; i < keys.length; i++) {
    const key = keys[i]!;
    if (key === '__proto__') throw invalid(`${field}.__proto__`, 'is not an allowed key');
    if (!isWellFormed(key)) throw invalid(field, 'has a key holding a lone UTF-16 surrogate, which UTF-8 (and so msgpack) cannot store');
    // The descriptor, not a read: a getter would run the caller's code, and the codec would read it again.
    const d = Object.getOwnPropertyDescriptor(value, key)!;
    if (d.get !== undefined || d.set !== undefined) throw invalid(`${field}.${key}`, 'must be plain data; got a getter or setter');
    const item: unknown = d.value;
    if (item === undefined && !asApps) throw invalid(`${field}.${key}`, 'is undefined (omit the key or use null)');
    const v = item === undefined ? undefined : walkJson(item, `${field}.${key}`, depth + 1, asApps, parents);
    if ((v !== item || item === undefined) && out === undefined) out = copyKeys(value, keys, i);
    if (out !== undefined && v !== undefined) Object.defineProperty(out, key, { value: v, enumerable: true, writable: true, configurable: true });
  }
  return out ?? value;
}

/** A plain object holding `value`'s first `count` keys. */
function copyKeys(value: object, keys: string[], count: number): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const key of keys.slice(0, count)) out[key] = (value as Record<string, unknown>)[key];
  return out;
}

/** An array's item; a getter on an index (not looked for, see assertInert) that throws is INVALID_ARGUMENT naming the item. */
function readItem(array: unknown[], i: number, field: string): unknown {
  try {
    return array[i];
  } catch (err) {
    throw invalid(`${field}[${i}]`, `could not be read: ${describeError(err)}`);
  }
}

/**
 * Refuses an object whose reading would run the caller's code: a Proxy, or an
 * own getter or setter (on an array, only symbol-keyed ones are looked for:
 * checking every index would cost more than the rest of validation).
 * Primitives pass: their checks are the caller's.
 */
export function assertInert(value: unknown, field: string): void {
  if (value === null || (typeof value !== 'object' && typeof value !== 'function')) return;
  if (types.isProxy(value)) throw invalid(field, 'must be plain data; got a Proxy');
  const keys = Array.isArray(value) || ArrayBuffer.isView(value) ? Object.getOwnPropertySymbols(value) : Reflect.ownKeys(value);
  for (const key of keys) {
    const d = Object.getOwnPropertyDescriptor(value, key);
    if (d !== undefined && (d.get !== undefined || d.set !== undefined)) throw invalid(`${field}.${describeKey(key)}`, 'must be plain data; got a getter or setter');
  }
}

/** String.prototype.isWellFormed (Node 20+; not yet in the ES2022 lib typings). */
function isWellFormed(s: string): boolean {
  return (s as string & { isWellFormed(): boolean }).isWellFormed();
}

export function invalid(field: string, problem: string): FfcdbError {
  return new FfcdbError(ErrorCode.INVALID_ARGUMENT, `${field} ${problem}`, { field });
}

/**
 * A value as an error message shows it, whatever it is: never throws, never
 * runs the caller's code (no toString, getters or Proxy traps).
 */
export function describe(value: unknown): string {
  switch (typeof value) {
    case 'string':
      return JSON.stringify(value.length > 60 ? `${value.slice(0, 60)}...` : value);
    case 'number':
    case 'boolean':
    case 'undefined':
      return String(value);
    case 'bigint':
      return `bigint ${value}n`.slice(0, 80);
    case 'symbol':
      return 'a symbol';
    case 'function':
      return 'a function';
    default:
      if (value === null) return 'null';
      if (types.isProxy(value)) return 'a Proxy';
      if (Array.isArray(value)) return 'an array';
      if (value instanceof Uint8Array) return 'bytes';
      return 'an object';
  }
}

/** The message of a foreign error, for a message of ours: never throws. */
function describeError(err: unknown): string {
  try {
    const message = !types.isProxy(err) && err instanceof Error ? Object.getOwnPropertyDescriptor(err, 'message')?.value : undefined;
    return typeof message === 'string' ? message.slice(0, 200) : describe(err);
  } catch {
    return describe(err);
  }
}

/** The name of the class whose instances have `proto`, read without running any getter. */
function className(proto: object): string {
  const ctor = types.isProxy(proto) ? undefined : Object.getOwnPropertyDescriptor(proto, 'constructor')?.value;
  const name = typeof ctor === 'function' && !types.isProxy(ctor) ? Object.getOwnPropertyDescriptor(ctor, 'name')?.value : undefined;
  return typeof name === 'string' && name !== '' ? name.slice(0, 60) : 'an object';
}

function describeKey(key: string | symbol): string {
  return typeof key === 'string' ? key : 'a symbol key';
}
