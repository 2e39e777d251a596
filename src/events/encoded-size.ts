import type { JsonValue } from '../kernel/types.js';

/**
 * The bytes a JSON value takes in the log, where it is stored as plain
 * msgpack (src/codec/event-codec.ts: no records, no extensions), computed
 * without encoding it: the size limits of event payloads count these bytes,
 * and the catalog must not load the codec to check them.
 *
 * The codec writes the smallest header of each string, byte string and array,
 * but every object with a 16-bit map header (3 bytes), so it can fill in the
 * count after the keys; integers within 32 bits take the smallest integer
 * encoding, every other number a 64-bit float. test/events/encoded-size.test.ts
 * holds this to the codec's output. The value must have passed assertJsonValue,
 * which refuses objects of more keys than a 16-bit map header counts.
 */
export function msgpackSize(value: JsonValue): number {
  if (typeof value === 'string') {
    const n = Buffer.byteLength(value, 'utf8');
    return n + (n < 0x20 ? 1 : n < 0x100 ? 2 : n < 0x10000 ? 3 : 5);
  }
  if (typeof value === 'number') return numberSize(value);
  if (value === null || typeof value === 'boolean') return 1;
  if (value instanceof Uint8Array) {
    const n = value.byteLength;
    return n + (n < 0x100 ? 2 : n < 0x10000 ? 3 : 5);
  }
  if (Array.isArray(value)) {
    const n = value.length;
    let size = n < 0x10 ? 1 : n < 0x10000 ? 3 : 5;
    for (const item of value) size += msgpackSize(item);
    return size;
  }
  let size = 3;
  for (const key in value) size += msgpackSize(key) + msgpackSize(value[key]!);
  return size;
}

function numberSize(n: number): number {
  if (n >>> 0 === n) return n < 0x80 ? 1 : n < 0x100 ? 2 : n < 0x10000 ? 3 : 5;
  if (n >> 0 === n) return n >= -0x20 ? 1 : n >= -0x80 ? 2 : n >= -0x8000 ? 3 : 5;
  return 9;
}
