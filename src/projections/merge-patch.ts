import type { JsonObject } from '../events/fields.js';
import type { JsonValue } from '../kernel/types.js';

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

function isObject(v: JsonValue | undefined): v is JsonObject {
  return v !== null && typeof v === 'object' && !Array.isArray(v) && !(v instanceof Uint8Array);
}
