import { ErrorCode, FfcdbError } from './errors.js';
import type { ExpectedVersion, JsonValue } from './types.js';

/**
 * Stream ids become directory names, so they are held to an allowlist:
 * ASCII letters, digits, '_' and '-', starting with a letter or digit, 1..128 chars.
 * No dots (so no '.' or '..'), no separators, no case tricks beyond what Linux keeps apart.
 */
const STREAM_ID = /^[A-Za-z0-9][A-Za-z0-9_-]{0,127}$/;
/** Event ids never reach a path but are still bounded and printable. */
const EVENT_ID = /^[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}$/;
/** Event types: namespaced names like `message.added` or `chat/MessageAdded`. */
const EVENT_TYPE = /^[A-Za-z][A-Za-z0-9_.:/-]{0,127}$/;

export const LIMITS = {
  /** Events in one append call (one frame). */
  maxEventsPerAppend: 10_000,
  /** Nesting depth of event data and metadata. */
  maxDepth: 64,
} as const;

export function assertStreamId(value: unknown, field = 'streamId'): asserts value is string {
  if (typeof value !== 'string' || !STREAM_ID.test(value)) {
    throw new FfcdbError(
      ErrorCode.INVALID_ID,
      `${field} must be 1-128 characters of A-Z, a-z, 0-9, '_' or '-', starting with a letter or digit; got ${describe(value)}`,
      { field, value: typeof value === 'string' ? value.slice(0, 200) : typeof value },
    );
  }
}

export function assertEventId(value: unknown, field = 'id'): asserts value is string {
  if (typeof value !== 'string' || !EVENT_ID.test(value)) {
    throw new FfcdbError(
      ErrorCode.INVALID_ID,
      `${field} must be 1-128 characters of A-Z, a-z, 0-9, '_', '.', ':' or '-', starting with a letter or digit; got ${describe(value)}`,
      { field, value: typeof value === 'string' ? value.slice(0, 200) : typeof value },
    );
  }
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
 * Event data must round-trip exactly through msgpack and JSON: plain objects,
 * arrays, well-formed strings, finite numbers, booleans, null and Uint8Array.
 * `__proto__` keys are refused because decoders rename or drop them; strings
 * with lone surrogates because UTF-8 encoding replaces them with U+FFFD.
 */
export function assertJsonValue(value: unknown, field: string, depth = 0): asserts value is JsonValue {
  if (depth > LIMITS.maxDepth) throw invalid(field, `is nested deeper than ${LIMITS.maxDepth} levels`);
  if (typeof value === 'string') {
    if (!isWellFormed(value)) throw invalid(field, 'holds a lone UTF-16 surrogate, which UTF-8 (and so msgpack) cannot store');
    return;
  }
  if (value === null || typeof value === 'boolean') return;
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw invalid(field, `must be a finite number; got ${value}`);
    return;
  }
  if (value instanceof Uint8Array) return;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) assertJsonValue(value[i], `${field}[${i}]`, depth + 1);
    return;
  }
  if (typeof value === 'object') {
    const proto = Object.getPrototypeOf(value);
    if (proto !== Object.prototype && proto !== null) {
      throw invalid(field, `must be a plain object, array or primitive; got ${proto?.constructor?.name ?? 'object'}`);
    }
    for (const key of Object.keys(value)) {
      if (key === '__proto__') throw invalid(`${field}.__proto__`, 'is not an allowed key');
      if (!isWellFormed(key)) throw invalid(field, 'has a key holding a lone UTF-16 surrogate, which UTF-8 (and so msgpack) cannot store');
      const v = (value as Record<string, unknown>)[key];
      if (v === undefined) throw invalid(`${field}.${key}`, 'is undefined (omit the key or use null)');
      assertJsonValue(v, `${field}.${key}`, depth + 1);
    }
    return;
  }
  throw invalid(field, `must be JSON-compatible; got ${typeof value}`);
}

/** String.prototype.isWellFormed (Node 20+; not yet in the ES2022 lib typings). */
function isWellFormed(s: string): boolean {
  return (s as string & { isWellFormed(): boolean }).isWellFormed();
}

export function invalid(field: string, problem: string): FfcdbError {
  return new FfcdbError(ErrorCode.INVALID_ARGUMENT, `${field} ${problem}`, { field });
}

function describe(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value.length > 60 ? `${value.slice(0, 60)}...` : value);
  if (value === null) return 'null';
  if (typeof value === 'object') return Array.isArray(value) ? 'an array' : 'an object';
  return `${typeof value} ${String(value)}`;
}
