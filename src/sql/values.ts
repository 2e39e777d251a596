import type { ColumnType, SqlValue, TableDef } from './driver.js';

/**
 * How values travel to and from SQL. JSON columns hold JSON text. Event data
 * may hold bytes (Uint8Array), which JSON has no form for: they are written as
 * `{"$base64": "..."}`.
 */

/** JSON text of a JSON-compatible value (one the engine accepted), bytes as `{"$base64": ...}`. */
export function jsonText(value: unknown): string {
  // A replacer would take JSON.stringify off its fast path for every payload; bytes are rare.
  return hasBytes(value) ? JSON.stringify(value, bytesReplacer) : JSON.stringify(value);
}

/** `this[key]` is the value itself: a Buffer reaches the replacer already turned into {type, data} by its toJSON. */
function bytesReplacer(this: Record<string, unknown>, key: string, v: unknown): unknown {
  const own = this[key];
  return own instanceof Uint8Array ? { $base64: Buffer.from(own.buffer, own.byteOffset, own.byteLength).toString('base64') } : v;
}

function hasBytes(value: unknown): boolean {
  if (value === null || typeof value !== 'object') return false;
  if (value instanceof Uint8Array) return true;
  if (Array.isArray(value)) {
    for (const v of value) if (hasBytes(v)) return true;
    return false;
  }
  for (const k in value) if (hasBytes((value as Record<string, unknown>)[k])) return true;
  return false;
}

/**
 * A value read back, in the form it was written: integers as numbers (pg
 * hands out bigint as text), booleans as booleans (SQLite stores 0 and 1), JSON
 * as its text (pg may have parsed it).
 */
export function decodeValue(type: ColumnType, v: unknown): SqlValue {
  if (v === null || v === undefined) return null;
  switch (type) {
    case 'integer':
      return typeof v === 'number' ? v : Number(v);
    case 'boolean':
      return v === true || v === 1 || v === 't';
    case 'json':
      return typeof v === 'string' ? v : JSON.stringify(v);
    default:
      return String(v);
  }
}

/** A row read back, as values in the table's column order. */
export function decodeRow(table: TableDef, row: Record<string, unknown>): SqlValue[] {
  return table.columns.map((c) => decodeValue(c.type, row[c.name]));
}

/** JSON text with object keys sorted at every level: the same value gives the same text whatever the database did to key order or spacing. */
export function canonicalJson(text: string): string {
  return JSON.stringify(sortKeys(JSON.parse(text) as unknown));
}

function sortKeys(v: unknown): unknown {
  if (v === null || typeof v !== 'object') return v;
  if (Array.isArray(v)) return v.map(sortKeys);
  const out: Record<string, unknown> = {};
  for (const k of Object.keys(v).sort()) Object.defineProperty(out, k, { value: sortKeys((v as Record<string, unknown>)[k]), enumerable: true, writable: true, configurable: true });
  return out;
}
