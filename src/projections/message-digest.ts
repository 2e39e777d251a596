import type { MessageAdded, MessageEdited } from '../events/messages.js';
import { type JsonSink, jsonValue } from '../kernel/validation.js';

/**
 * What a message reads as, in five numbers: digests of its role, content,
 * attachments, metadata and extra (-1: no extra). The messages projection
 * keeps one per live message, so `messages.sync` and `messages.upsert` tell a
 * changed message from an unchanged one without reading its content from the
 * log. A field is compared as it is stored and read back (attachments left
 * out read as [], metadata as {}), key order included.
 *
 * The digest is a 53-bit non-cryptographic hash (projections are pure and
 * import no crypto): two different values collide by accident with odds of
 * about 1 in 2^53 per comparison. An edit crafted to collide would be taken as
 * unchanged by `sync`; `upsert` reads the message to confirm.
 *
 * It hashes the value as jsonValue walks it (kernel/validation.ts), token by
 * token, so the chat API checks a caller's message and digests it in one pass
 * (messageDigester), and the projection digests a stored message with the
 * same walk: the two cannot disagree on what a value reads as.
 */
export type MessageDigest = number[];

/** The digest fields, in digest order. */
const FIELDS = ['role', 'content', 'attachments', 'metadata', 'extra'];
/** A field left out (no extra; a role or content left out, which no stored message lacks). */
const NONE = -1;

/** The digest of a stored message as added (its id and any other field left out). */
export function addedDigest(m: Omit<MessageAdded, 'messageId'>): MessageDigest {
  const d = messageDigester();
  jsonValue(m, 'data', d);
  return d.digest;
}

/**
 * A sink for jsonValue that digests the message it walks: the caller's message
 * checked and digested in one pass. `digest` is complete after the walk.
 */
export function messageDigester(): JsonSink & { readonly digest: MessageDigest } {
  return new Hasher(1, [NONE, NONE, EMPTY_ARRAY, EMPTY_OBJECT, NONE]);
}

/** The digest after an edit: the fields it left out stay as they were; `extra: null` removes the extra. */
export function editedDigest(before: MessageDigest, e: Omit<MessageEdited, 'messageId'>): MessageDigest {
  const [role, , attachments, metadata, extra] = before as [number, number, number, number, number];
  return [
    role,
    digest(e.content),
    e.attachments === undefined ? attachments : digest(e.attachments),
    e.metadata === undefined ? metadata : digest(e.metadata),
    e.extra === undefined ? extra : e.extra === null ? NONE : digest(e.extra),
  ];
}

/** Which of the five fields differ: role, content, attachments, metadata, extra. */
export function digestChanges(stored: MessageDigest, given: MessageDigest): boolean[] {
  return stored.map((d, i) => d !== given[i]);
}

/** The digest of one stored value. */
function digest(value: unknown): number {
  const hasher = new Hasher(0, [NONE]);
  jsonValue(value, 'data', hasher);
  return hasher.digest[0]!;
}

/** Tags that set the tokens of a value apart; strings, keys and bytes carry their length, so no two values hash the same tokens. */
const STRING = 1;
const KEY = 2;
const INT = 3;
const FLOAT = 4;
const TRUE = 5;
const FALSE = 6;
const NULL = 7;
const BYTES = 8;
const ARRAY = 9;
const OBJECT = 10;
const CLOSE = 11;

/** Strings this long or longer are hashed as UTF-8 words (one native encode, a quarter of the steps); shorter ones unit by unit. */
const LONG = 24;
const encoder = new TextEncoder();
const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;
/** Scratch space for a long string's UTF-8 bytes, grown as needed (a digest runs synchronously, one string at a time). */
let scratch = new Uint8Array(1 << 16);
let words = new Int32Array(scratch.buffer);
let view = new DataView(scratch.buffer);
const float = new DataView(new ArrayBuffer(8));

/**
 * cyrb53's mixing (public domain) over a value's tokens as 32-bit words: a
 * fast 53-bit hash with good dispersion. Words are read little-endian
 * whatever the machine, so a snapshot's digests hold anywhere. `base` is the
 * depth of the values digested: 0 for one value (into digest[0]), 1 for a
 * message's fields (each into its place in FIELDS; other keys are skipped).
 */
class Hasher implements JsonSink {
  /** The digests, by slot. */
  readonly digest: number[];
  readonly #base: number;
  #depth = 0;
  /** Where the value being hashed goes in `digest`; -1 for a message field the digest leaves out. */
  #slot: number;
  #h1 = 0;
  #h2 = 0;

  constructor(base: number, out: number[]) {
    this.#base = base;
    this.digest = out;
    this.#slot = base === 0 ? 0 : -1;
    this.#reset();
  }

  scalar(value: string | number | boolean | null): void {
    // Below the values digested (a message that is not an object), or in a message field the digest leaves out (its id).
    if (this.#depth < this.#base || this.#slot < 0) return;
    if (typeof value === 'string') this.#string(STRING, value);
    else if (typeof value === 'number') {
      if ((value | 0) === value) this.#mix(INT, value);
      else {
        float.setFloat64(0, value, true);
        this.#mix(FLOAT, float.getInt32(0, true));
        this.#mix(float.getInt32(4, true), 0);
      }
    } else this.#mix(value === null ? NULL : value ? TRUE : FALSE, 0);
    if (this.#depth === this.#base) this.#done();
  }

  bytes(value: Uint8Array): void {
    if (this.#depth < this.#base) return;
    this.#mix(BYTES, value.length);
    for (let i = 0; i < value.length; i += 4) this.#mix(value[i]! | ((value[i + 1] ?? 0) << 8) | ((value[i + 2] ?? 0) << 16) | ((value[i + 3] ?? 0) << 24), 0);
    if (this.#depth === this.#base) this.#done();
  }

  open(array: boolean): void {
    if (this.#depth >= this.#base) this.#mix(array ? ARRAY : OBJECT, 0);
    this.#depth++;
  }

  key(key: string): void {
    if (this.#depth > this.#base) this.#string(KEY, key);
    else {
      this.#slot = FIELDS.indexOf(key);
      this.#reset();
    }
  }

  close(): void {
    this.#depth--;
    if (this.#depth < this.#base) return;
    this.#mix(CLOSE, 0);
    if (this.#depth === this.#base) this.#done();
  }

  #reset(): void {
    this.#h1 = 0xdeadbeef;
    this.#h2 = 0x41c6ce57;
  }

  #mix(a: number, b: number): void {
    this.#h1 = Math.imul(Math.imul(this.#h1 ^ a, 2654435761) ^ b, 2654435761);
    this.#h2 = Math.imul(Math.imul(this.#h2 ^ a, 1597334677) ^ b, 1597334677);
  }

  #string(tag: number, s: string): void {
    const n = s.length;
    this.#mix(tag, n);
    let h1 = this.#h1;
    let h2 = this.#h2;
    if (n < LONG) {
      for (let i = 0; i < n; i += 2) {
        const w = s.charCodeAt(i) | ((i + 1 < n ? s.charCodeAt(i + 1) : 0) << 16);
        h1 = Math.imul(h1 ^ w, 2654435761);
        h2 = Math.imul(h2 ^ w, 1597334677);
      }
    } else {
      if (scratch.length < n * 3 + 4) grow(n * 3 + 4);
      const { written } = encoder.encodeInto(s, scratch);
      const count = (written + 3) >>> 2;
      scratch.fill(0, written, count * 4);
      const w32 = words;
      if (LITTLE_ENDIAN) {
        for (let i = 0; i < count; i++) {
          const w = w32[i]!;
          h1 = Math.imul(h1 ^ w, 2654435761);
          h2 = Math.imul(h2 ^ w, 1597334677);
        }
      } else {
        for (let i = 0; i < count; i++) {
          const w = view.getInt32(i * 4, true);
          h1 = Math.imul(h1 ^ w, 2654435761);
          h2 = Math.imul(h2 ^ w, 1597334677);
        }
      }
    }
    this.#h1 = h1;
    this.#h2 = h2;
  }

  /** The value at `base` is complete: its hash into its slot, and a fresh start for the next. */
  #done(): void {
    let h1 = this.#h1;
    let h2 = this.#h2;
    h1 = Math.imul(h1 ^ (h1 >>> 16), 2246822507);
    h1 ^= Math.imul(h2 ^ (h2 >>> 13), 3266489909);
    h2 = Math.imul(h2 ^ (h2 >>> 16), 2246822507);
    h2 ^= Math.imul(h1 ^ (h1 >>> 13), 3266489909);
    if (this.#slot >= 0) this.digest[this.#slot] = 4294967296 * (2097151 & h2) + (h1 >>> 0);
    this.#reset();
  }
}

function grow(bytes: number): void {
  scratch = new Uint8Array(2 ** Math.ceil(Math.log2(bytes)));
  words = new Int32Array(scratch.buffer);
  view = new DataView(scratch.buffer);
}

const EMPTY_ARRAY = digest([]);
const EMPTY_OBJECT = digest({});
