import type { JsonObject } from '../events/fields.js';
import type { JsonValue } from '../kernel/types.js';
import { LIMITS, invalid } from '../kernel/validation.js';

/**
 * RFC 7386 JSON merge patch: objects merge key by key, null removes a key,
 * anything else (arrays included) replaces. Returns a new value and never
 * changes its inputs, which may be events a backend still holds; unchanged
 * subtrees are shared.
 */
export function mergePatch(target: JsonValue | undefined, patch: JsonValue): JsonValue {
  if (!isObject(patch)) return patch;
  const out: JsonObject = isObject(target) ? { ...target } : {};
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) delete out[key];
    // defineProperty: a key named __proto__ stays a key instead of setting the prototype.
    else Object.defineProperty(out, key, { value: mergePatch(out[key], value), enumerable: true, writable: true, configurable: true });
  }
  return out;
}

/**
 * Refuses a patch after which an object of `target` would hold more keys than
 * one object may (LIMITS.maxObjectKeys): each patch stays within the limit, but
 * several could grow an object past it, and the result could then never be
 * written whole again. INVALID_ARGUMENT naming the patch's field of that object.
 * Counts only the objects the patch reaches.
 */
export function assertMergedKeys(target: JsonValue | undefined, patch: JsonValue, field: string): void {
  if (!isObject(patch)) return;
  const base: JsonObject = isObject(target) ? target : {};
  let keys = Object.keys(base).length;
  for (const [key, value] of Object.entries(patch)) {
    const had = Object.hasOwn(base, key);
    if (value === null) keys -= had ? 1 : 0;
    else {
      keys += had ? 0 : 1;
      assertMergedKeys(had ? base[key] : undefined, value, `${field}.${key}`);
    }
  }
  if (keys > LIMITS.maxObjectKeys) throw invalid(field, `would leave ${keys} keys in its object of the merged value; an object may hold at most ${LIMITS.maxObjectKeys}`);
}

function isObject(v: JsonValue | undefined): v is JsonObject {
  return v !== null && typeof v === 'object' && !Array.isArray(v) && !(v instanceof Uint8Array);
}
