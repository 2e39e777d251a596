import type { JsonValue } from '../kernel/types.js';
import { LIMITS } from '../kernel/validation.js';

/**
 * Canonical JSON for event data and metadata: one text per value, so the same
 * store always exports the same bytes, and the text parses back to the same value.
 * - object keys in the value's own order: JavaScript's property order, which
 *   is what every reader of the store sees (integer-like keys ascending, then
 *   the rest as stored) and what JSON.parse rebuilds, so an import stores
 *   them in the same order and the app reads back the same JSON;
 * - numbers as JavaScript prints them (shortest round-trip form; -0 as 0, which
 *   is also what the flatfile log keeps), strings as JSON.stringify escapes them;
 * - no whitespace;
 * - bytes (Uint8Array) as `{"$base64":"..."}` (standard alphabet, padded);
 * - a plain object whose only key is `$base64` or `$object` (so it would read
 *   back as a tag) is wrapped as `{"$object":{...}}`.
 *
 * `session-export.ts` keeps its own encoder: that one is for people
 * (indentation) and has no escape for tag-like objects.
 */
export function canonicalJson(value: JsonValue): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value);
  if (value instanceof Uint8Array) return `{"$base64":"${Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('base64')}"}`;
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  const keys = Object.keys(value);
  const body = keys.map((k) => `${JSON.stringify(k)}:${canonicalJson(value[k]!)}`).join(',');
  return keys.length === 1 && isTag(keys[0]!) ? `{"$object":{${body}}}` : `{${body}}`;
}

/**
 * The value JSON.parse made of canonical JSON, with its tags turned back into
 * bytes and objects. Returns undefined for a malformed tag, or for a value
 * nested deeper than the store accepts (LIMITS.maxDepth; deeper still would
 * overflow the stack): the caller names the place. Canonical form itself is
 * checked by encoding again.
 */
export function fromCanonical(parsed: unknown, depth = 0): JsonValue | undefined {
  if (parsed === null || typeof parsed !== 'object') return parsed as JsonValue;
  if (depth > LIMITS.maxDepth) return undefined;
  if (Array.isArray(parsed)) {
    const out: JsonValue[] = [];
    for (const item of parsed) {
      const v = fromCanonical(item, depth + 1);
      if (v === undefined) return undefined;
      out.push(v);
    }
    return out;
  }
  const o = parsed as Record<string, unknown>;
  const keys = Object.keys(o);
  if (keys.length === 1 && keys[0] === '$base64') return typeof o.$base64 === 'string' ? Buffer.from(o.$base64, 'base64') : undefined;
  if (keys.length === 1 && keys[0] === '$object') {
    const inner = o.$object;
    return inner !== null && typeof inner === 'object' && !Array.isArray(inner) ? entries(inner as Record<string, unknown>, depth) : undefined;
  }
  return entries(o, depth);
}

function entries(o: Record<string, unknown>, depth: number): JsonValue | undefined {
  const out: Record<string, JsonValue> = {};
  for (const [k, raw] of Object.entries(o)) {
    const v = fromCanonical(raw, depth + 1);
    if (v === undefined) return undefined;
    // defineProperty keeps a `__proto__` key a key (the engine refuses it by name) instead of setting the prototype.
    Object.defineProperty(out, k, { value: v, enumerable: true, writable: true, configurable: true });
  }
  return out;
}

function isTag(key: string): boolean {
  return key === '$base64' || key === '$object';
}
