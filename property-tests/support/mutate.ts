import fc from './fc-setup.js';

/**
 * Damage to a file's bytes for the reader properties: bit flips, cuts,
 * splices (bytes inserted or removed), runs of random bytes, a stretch of the
 * file copied over another place (a whole, valid-looking record where it does
 * not belong), and huge values written over the length fields the caller
 * names (a declared length of 2^32 - 1 must be refused before anything is
 * allocated for it). Offsets are taken modulo the size, so any buffer takes
 * any mutation.
 */
export type Mutation =
  | { kind: 'flip'; at: number; mask: number }
  | { kind: 'cut'; at: number }
  | { kind: 'insert'; at: number; bytes: Uint8Array }
  | { kind: 'remove'; at: number; length: number }
  | { kind: 'overwrite'; at: number; bytes: Uint8Array }
  | { kind: 'copy'; from: number; length: number; to: number }
  | { kind: 'huge'; field: number; value: number; width: 4 | 8 };

/** Values that break length and offset fields: the largest u32s, just past 2^53, and negative-looking ones. */
const HUGE32 = [0xffff_ffff, 0x8000_0000, 0x7fff_ffff, 0x4000_0000, 0x0100_0000, 0xffff_fffe];
const HUGE64 = [2 ** 53, 2 ** 64 - 2 ** 11, 2 ** 63, 2 ** 40, Number.MAX_SAFE_INTEGER];

export const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ kind: fc.constant<'flip'>('flip'), at: fc.nat(), mask: fc.oneof(fc.constantFrom(1, 2, 4, 8, 16, 32, 64, 128), fc.integer({ min: 1, max: 255 })) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant<'cut'>('cut'), at: fc.nat() }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant<'insert'>('insert'), at: fc.nat(), bytes: fc.uint8Array({ minLength: 1, maxLength: 16 }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant<'remove'>('remove'), at: fc.nat(), length: fc.integer({ min: 1, max: 16 }) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant<'overwrite'>('overwrite'), at: fc.nat(), bytes: fc.uint8Array({ minLength: 1, maxLength: 24 }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant<'copy'>('copy'), from: fc.nat(), length: fc.integer({ min: 1, max: 512 }), to: fc.nat() }) },
  {
    weight: 2,
    arbitrary: fc.oneof(
      fc.record({ kind: fc.constant<'huge'>('huge'), field: fc.nat(), value: fc.constantFrom(...HUGE32), width: fc.constant<4>(4) }),
      fc.record({ kind: fc.constant<'huge'>('huge'), field: fc.nat(), value: fc.constantFrom(...HUGE64), width: fc.constant<8>(8) }),
    ),
  },
);

export const mutations = (maxLength = 4): fc.Arbitrary<Mutation[]> => fc.array(mutation, { minLength: 1, maxLength });

/**
 * Applies the mutations in order to a copy of `bytes`. `fields` are byte
 * offsets (in the original) of little-endian length or offset fields for the
 * `huge` mutations to hit; without any, they hit a random offset.
 */
export function mutate(bytes: Uint8Array, list: readonly Mutation[], fields: readonly number[] = []): Buffer {
  let buf = Buffer.from(bytes);
  for (const m of list) {
    const at = (n: number, size = buf.length) => (size === 0 ? 0 : n % size);
    switch (m.kind) {
      case 'flip':
        if (buf.length > 0) buf[at(m.at)] = buf[at(m.at)]! ^ m.mask;
        break;
      case 'cut':
        buf = buf.subarray(0, at(m.at, buf.length + 1));
        break;
      case 'insert': {
        const i = at(m.at, buf.length + 1);
        buf = Buffer.concat([buf.subarray(0, i), m.bytes, buf.subarray(i)]);
        break;
      }
      case 'remove': {
        const i = at(m.at);
        buf = Buffer.concat([buf.subarray(0, i), buf.subarray(i + m.length)]);
        break;
      }
      case 'overwrite':
        buf = Buffer.from(buf);
        Buffer.from(m.bytes).copy(buf, at(m.at), 0, Math.max(0, buf.length - at(m.at)));
        break;
      case 'copy': {
        if (buf.length === 0) break;
        const piece = Buffer.from(buf.subarray(at(m.from), at(m.from) + m.length));
        buf = Buffer.from(buf);
        piece.copy(buf, at(m.to), 0, Math.max(0, buf.length - at(m.to)));
        break;
      }
      case 'huge': {
        const field = fields.length > 0 ? fields[m.field % fields.length]! : at(m.field);
        if (field + m.width > buf.length) break;
        buf = Buffer.from(buf);
        if (m.width === 4) buf.writeUInt32LE(m.value, field);
        else buf.writeBigUInt64LE(BigInt(m.value), field);
        break;
      }
    }
  }
  return buf;
}

/** The offset of the first byte where `a` and `b` differ (the shorter length when one is a prefix of the other). */
export function firstDifference(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return i;
  return a.length === b.length ? Number.POSITIVE_INFINITY : n;
}
