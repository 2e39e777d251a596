import { invalid } from '../kernel/validation.js';
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
 * holds this to the codec's output. An object of more keys than a 16-bit map
 * header counts cannot be stored: INVALID_ARGUMENT naming `field`.
 */
export function msgpackSize(value: JsonValue, field: string): number {
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
    for (const item of value) size += msgpackSize(item, field);
    return size;
  }
  let size = 3;
  let keys = 0;
  for (const key in value) {
    size += msgpackSize(key, field) + msgpackSize(value[key]!, field);
    keys++;
  }
  if (keys > MAX_OBJECT_KEYS) throw invalid(field, `holds an object of ${keys} keys; the log stores at most ${MAX_OBJECT_KEYS} in one object`);
  return size;
}

/** The most keys of one object: the codec writes every object with a 16-bit map header. */
const MAX_OBJECT_KEYS = 0xffff;

function numberSize(n: number): number {
  if (n >>> 0 === n) return n < 0x80 ? 1 : n < 0x100 ? 2 : n < 0x10000 ? 3 : 5;
  if (n >> 0 === n) return n >= -0x20 ? 1 : n >= -0x80 ? 2 : n >= -0x8000 ? 3 : 5;
  return 9;
}
