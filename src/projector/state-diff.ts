import { isDeepStrictEqual } from 'node:util';

/**
 * Up to `max` paths at which two projection states differ, for the report of a
 * rebuild comparison: it walks Maps, Sets, arrays and plain objects, and stops
 * descending where a value's kind or size differs.
 */
export function stateDifferences(a: unknown, b: unknown, path: string, max: number): string[] {
  const out: string[] = [];
  walk(a, b, path, out, max);
  return out;
}

function walk(a: unknown, b: unknown, path: string, out: string[], max: number): void {
  if (out.length >= max || Object.is(a, b)) return;
  if (a instanceof Map && b instanceof Map) {
    for (const [k, v] of a) {
      const at = `${path}.get(${JSON.stringify(k)})`;
      if (!b.has(k)) out.push(`${at}: only in the live state`);
      else walk(v, b.get(k), at, out, max);
      if (out.length >= max) return;
    }
    for (const k of b.keys()) if (!a.has(k) && out.length < max) out.push(`${path}.get(${JSON.stringify(k)}): only in the rebuilt state`);
    return;
  }
  if (Array.isArray(a) && Array.isArray(b)) {
    if (a.length !== b.length) return void out.push(`${path}: ${a.length} items live, ${b.length} rebuilt`);
    for (const [i, v] of a.entries()) walk(v, b[i], `${path}[${i}]`, out, max);
    return;
  }
  if (isPlainObject(a) && isPlainObject(b)) {
    for (const k of new Set([...Object.keys(a), ...Object.keys(b)])) {
      // By presence, not value: a key holding undefined on one side is a difference isDeepStrictEqual sees.
      if (!Object.hasOwn(b, k)) out.push(`${path}.${k}: only in the live state`);
      else if (!Object.hasOwn(a, k)) out.push(`${path}.${k}: only in the rebuilt state`);
      else walk(a[k], b[k], `${path}.${k}`, out, max);
      if (out.length >= max) return;
    }
    return;
  }
  if (!isDeepStrictEqual(a, b)) out.push(`${path}: ${preview(a)} live, ${preview(b)} rebuilt`);
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && Object.getPrototypeOf(v) === Object.prototype;
}

function preview(v: unknown): string {
  if (v instanceof Set) return `Set(${v.size})`;
  if (v instanceof Map) return `Map(${v.size})`;
  const s = JSON.stringify(v) ?? String(v);
  return s.length > 80 ? `${s.slice(0, 77)}...` : s;
}
