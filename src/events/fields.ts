import { assertInert, assertJsonValue, assertPositiveInteger, describe, invalid } from '../kernel/validation.js';
import type { JsonValue } from '../kernel/types.js';
import { msgpackSize } from './encoded-size.js';
import { EVENT_LIMITS } from './limits.js';

/**
 * Checks for the fields of event payloads. Each names the field it checks
 * (`data.content[2].type`) in the INVALID_ARGUMENT error it throws.
 */

export type JsonObject = { [key: string]: JsonValue };

/** A plain object whose keys are all among `keys`; returns it for reading fields. */
export function fields(value: unknown, field: string, keys: readonly string[]): Record<string, unknown> {
  const o = object(value, field);
  for (const key of Object.keys(o)) {
    if (!keys.includes(key)) throw invalid(`${field}.${key}`, `is not a field here (allowed: ${keys.join(', ')})`);
  }
  return o;
}

/** A plain object (not an array or bytes) without undefined values. */
export function object(value: unknown, field: string): Record<string, unknown> {
  if (value === null || typeof value !== 'object') throw invalid(field, `must be an object; got ${describe(value)}`);
  assertInert(value, field);
  if (Array.isArray(value) || value instanceof Uint8Array) throw invalid(field, `must be an object; got ${describe(value)}`);
  const proto = Object.getPrototypeOf(value);
  if (proto !== Object.prototype && proto !== null) throw invalid(field, 'must be a plain object');
  for (const [key, v] of Object.entries(value)) {
    if (v === undefined) throw invalid(`${field}.${key}`, 'is undefined (omit the key)');
  }
  return value as Record<string, unknown>;
}

/** A well-formed string of at most `max` characters. */
export function text(value: unknown, field: string, max: number): asserts value is string {
  if (typeof value !== 'string') throw invalid(field, `must be a string; got ${describe(value)}`);
  if (value.length > max) throw invalid(field, `must be at most ${max} characters; got ${value.length}`);
  assertJsonValue(value, field);
}

/** A name shown to people: 1..max characters, no control characters. */
export function label(value: unknown, field: string, max: number = EVENT_LIMITS.labelChars): asserts value is string {
  text(value, field, max);
  if (value.length === 0) throw invalid(field, 'must not be empty');
  if (/\p{Cc}/u.test(value)) throw invalid(field, 'must not hold control characters');
}

/**
 * A title: any text a person types, tabs and line breaks included, empty
 * allowed, up to EVENT_LIMITS.titleChars. Other control characters are
 * refused: they are never typed, and PostgreSQL text cannot hold NUL.
 */
export function title(value: unknown, field: string): asserts value is string {
  text(value, field, EVENT_LIMITS.titleChars);
  if (/[^\P{Cc}\t\n\r]/u.test(value)) throw invalid(field, 'must not hold control characters other than tab, line feed and carriage return');
}

/** The earliest and latest time a payload may name: 1970-01-01T00:00:00.000Z and 9999-12-31T23:59:59.999Z. */
const INSTANT_RANGE = { min: 0, max: Date.UTC(9999, 11, 31, 23, 59, 59, 999) } as const;

/** A time in milliseconds since the epoch, within INSTANT_RANGE. */
export function instant(value: unknown, field: string): asserts value is number {
  integer(value, field, INSTANT_RANGE.min);
  if (value > INSTANT_RANGE.max) throw invalid(field, `must be at most ${INSTANT_RANGE.max} (9999-12-31T23:59:59.999Z); got ${value}`);
}

/** A string matching `pattern`, described as `what` in the error. */
export function matching(value: unknown, field: string, pattern: RegExp, what: string): asserts value is string {
  if (typeof value !== 'string' || !pattern.test(value)) throw invalid(field, `must be ${what}; got ${describe(value)}`);
}

const MEDIA_TYPE = /^[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,126}\/[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,126}(?:[ \t]*;[^;\p{Cc}]*)*$/u;

/** `type/subtype`, as in RFC 6838, with any parameters (`text/plain; charset=utf-8`), up to 256 characters. */
export function mediaType(value: unknown, field: string): asserts value is string {
  matching(value, field, MEDIA_TYPE, 'a media type such as "image/png" or "text/plain; charset=utf-8"');
  text(value, field, EVENT_LIMITS.labelChars);
}

/** One of the given strings. */
export function choice<T extends string>(value: unknown, field: string, options: readonly T[]): asserts value is T {
  if (!options.includes(value as T)) throw invalid(field, `must be one of ${options.join(', ')}; got ${describe(value)}`);
}

export function flag(value: unknown, field: string): asserts value is boolean {
  if (typeof value !== 'boolean') throw invalid(field, `must be true or false; got ${describe(value)}`);
}

/** An integer from `min` up to Number.MAX_SAFE_INTEGER. */
export function integer(value: unknown, field: string, min: number): asserts value is number {
  assertPositiveInteger(value, field, min);
}

/** An array of at most `max` items. */
export function list(value: unknown, field: string, max: number): asserts value is unknown[] {
  assertInert(value, field);
  if (!Array.isArray(value)) throw invalid(field, `must be an array; got ${describe(value)}`);
  if (value.length > max) throw invalid(field, `must hold at most ${max} items; got ${value.length}`);
}

/** Any JSON value (bytes included) of at most `maxBytes` encoded. */
export function json(value: unknown, field: string, maxBytes: number): asserts value is JsonValue {
  assertJsonValue(value, field);
  const bytes = msgpackSize(value);
  if (bytes > maxBytes) throw invalid(field, `must encode to at most ${maxBytes} bytes; got ${bytes}`);
}

/** A JSON object of at most `maxBytes` encoded. */
export function jsonObject(value: unknown, field: string, maxBytes: number): asserts value is JsonObject {
  object(value, field);
  json(value, field, maxBytes);
}
