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
export function assertJsonValue(value: unknown, field: string): asserts value is JsonValue {
  walkJson(value, { root: field, path: [], parents: [], asApps: false, sink: undefined }, 0);
}

/**
 * `value` as `JSON.stringify` would write it, which is how the chat API stores
 * what apps give it: keys whose value is undefined are dropped (an undefined
 * array item becomes null), a Date becomes its ISO string (null when invalid);
 * bytes (Uint8Array) stay bytes. Everything assertJsonValue refuses besides
 * those is refused here too (NaN, Infinity, BigInt, functions, symbols,
 * cycles, class instances, Proxies, getters), naming the field. The value is
 * returned as it is when nothing changes, else a copy. `sink`, when given,
 * hears the value as it is returned, in the same pass (a digest of it).
 */
export function jsonValue(value: unknown, field: string, sink?: JsonSink): JsonValue {
  return walkJson(value, { root: field, path: [], parents: [], asApps: true, sink }, 0) as JsonValue;
}

/**
 * Hears a value token by token, in order, as jsonValue returns it: scalars
 * and bytes, and for an array or object its `open`, each of an object's keys
 * before the key's value, and its `close`.
 */
export interface JsonSink {
  scalar(value: string | number | boolean | null): void;
  bytes(value: Uint8Array): void;
  open(array: boolean): void;
  key(key: string): void;
  close(): void;
}

/**
 * One walk's state. `asApps` chooses between refusing (the engine's rule) and
 * rewriting (JSON.stringify's) undefined values and Dates. The path to the
 * value at hand (keys and indexes under `root`) is kept as a stack and made a
 * field name only for an error: building one per value would cost more than
 * the checks.
 */
interface Walk {
  root: string;
  path: (string | number)[];
  parents: object[];
  asApps: boolean;
  sink: JsonSink | undefined;
}

/** The field name of the value at hand: `root.key[1]`. */
function at(w: Walk): string {
  let field = w.root;
  for (const p of w.path) field += typeof p === 'number' ? `[${p}]` : `.${p}`;
  return field;
}

/** The one walk of both rules (see Walk). */
function walkJson(value: unknown, w: Walk, depth: number): unknown {
  if (depth > LIMITS.maxDepth) throw invalid(at(w), `is nested deeper than ${LIMITS.maxDepth} levels`);
  if (typeof value === 'string') {
    if (!isWellFormed(value)) throw invalid(at(w), 'holds a lone UTF-16 surrogate, which UTF-8 (and so msgpack) cannot store');
    w.sink?.scalar(value);
    return value;
  }
  if (value === null || typeof value === 'boolean') {
    w.sink?.scalar(value);
    return value;
  }
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw invalid(at(w), `must be a finite number; got ${value}`);
    w.sink?.scalar(value);
    return value;
  }
  if (value === undefined && w.asApps && depth === 0) throw invalid(at(w), 'is undefined');
  if (typeof value !== 'object') throw invalid(at(w), `must be JSON-compatible; got ${describe(value)}`);
  if (types.isProxy(value)) throw invalid(at(w), 'must be plain data; got a Proxy');
  if (value instanceof Uint8Array) {
    w.sink?.bytes(value);
    return value;
  }
  if (w.asApps && types.isDate(value)) {
    const time = Date.prototype.getTime.call(value);
    const text = Number.isNaN(time) ? null : Date.prototype.toISOString.call(value);
    w.sink?.scalar(text);
    return text;
  }
  if (w.parents.includes(value)) throw invalid(at(w), 'refers to itself (a cycle), which JSON cannot hold');
  w.parents.push(value);
  const array = Array.isArray(value);
  w.sink?.open(array);
  const out = array ? walkArray(value, w, depth) : walkObject(value, w, depth);
  w.sink?.close();
  w.parents.pop();
  return out;
}

function walkArray(value: unknown[], w: Walk, depth: number): unknown[] {
  let out: unknown[] | undefined;
  for (let i = 0; i < value.length; i++) {
    w.path.push(i);
    const item = readItem(value, i, w);
    let v: unknown = null;
    if (item === undefined && w.asApps) w.sink?.scalar(null);
    else v = walkJson(item, w, depth + 1);
    w.path.pop();
    if (v !== item) out ??= value.slice(0, i);
    out?.push(v);
  }
  return out ?? value;
}

function walkObject(value: object, w: Walk, depth: number): object {
  const proto = Object.getPrototypeOf(value);
  if (proto !== Object.prototype && proto !== null) {
    throw invalid(at(w), `must be a plain object, array or primitive; got ${className(proto)}`);
  }
  const keys = Object.keys(value);
  if (keys.length > LIMITS.maxObjectKeys) throw invalid(at(w), `holds ${keys.length} keys; an object may hold at most ${LIMITS.maxObjectKeys}`);
  let out: Record<string, unknown> | undefined;
  for (let i = 0; i < keys.length; i++) {
    const key = keys[i]!;
    if (!isWellFormed(key)) throw invalid(at(w), 'has a key holding a lone UTF-16 surrogate, which UTF-8 (and so msgpack) cannot store');
    w.path.push(key);
    if (key === '__proto__') throw invalid(at(w), 'is not an allowed key');
    // The descriptor, not a read: a getter would run the caller's code, and the codec would read it again.
    const d = Object.getOwnPropertyDescriptor(value, key)!;
    if (d.get !== undefined || d.set !== undefined) throw invalid(at(w), 'must be plain data; got a getter or setter');
    const item: unknown = d.value;
    if (item === undefined && !w.asApps) throw invalid(at(w), 'is undefined (omit the key or use null)');
    let v: unknown;
    if (item !== undefined) {
      w.sink?.key(key);
      v = walkJson(item, w, depth + 1);
    }
    w.path.pop();
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
function readItem(array: unknown[], i: number, w: Walk): unknown {
  try {
    return array[i];
  } catch (err) {
    throw invalid(at(w), `could not be read: ${describeError(err)}`);
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
