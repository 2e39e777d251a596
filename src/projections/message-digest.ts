import type { MessageAdded, MessageEdited } from '../events/messages.js';

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
 */
export type MessageDigest = number[];

const NONE = -1;

/** The digest of a message as added. */
export function addedDigest(m: Omit<MessageAdded, 'messageId'>): MessageDigest {
  return [digest(m.role), digest(m.content), digest(m.attachments ?? []), digest(m.metadata ?? {}), m.extra === undefined ? NONE : digest(m.extra)];
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

/**
 * `value` is JSON (the catalog's types are narrower than JsonValue says), or an
 * app's value JSON.stringify writes as it would be stored (Dates as ISO
 * strings, undefined keys left out). Bytes, which JSON.stringify writes one way
 * for a Buffer and another for a Uint8Array, are written alike by a replacer;
 * a replacer makes JSON.stringify several times slower, so it is used only
 * when the plain text shows what bytes turn into.
 */
function digest(value: unknown): number {
  const text = JSON.stringify(value);
  return cyrb53(text.includes('{"0":') || text.includes('"type":"Buffer"') ? JSON.stringify(value, bytesAsArray) : text);
}

/** Bytes (a Buffer's toJSON aside) as a tagged array, so they digest alike whichever Uint8Array holds them. */
function bytesAsArray(this: Record<string, unknown>, key: string, value: unknown): unknown {
  const raw = this[key];
  return raw instanceof Uint8Array ? ['\u0000bytes', ...raw] : value;
}

const encoder = new TextEncoder();
/** Scratch space for a text's UTF-8 bytes, grown as needed (one digest at a time: apply and the chat API are synchronous here). */
let scratch = new Uint8Array(1 << 16);

/**
 * cyrb53's mixing (public domain) over the text's UTF-8 bytes, four at a time
 * (little-endian words, whatever the machine): a fast 53-bit hash with good
 * dispersion, its length mixed in.
 */
function cyrb53(text: string): number {
  if (scratch.length < text.length * 3 + 4) scratch = new Uint8Array(2 ** Math.ceil(Math.log2(text.length * 3 + 4)));
  const { written } = encoder.encodeInto(text, scratch);
  const words = (written + 3) >>> 2;
  scratch.fill(0, written, words * 4);
  const view = new DataView(scratch.buffer, 0, words * 4);
  let h1 = 0xdeadbeef ^ written;
  let h2 = 0x41c6ce57 ^ written;
  for (let i = 0; i < words; i++) {
    const w = view.getInt32(i * 4, true);
    h1 = Math.imul(h1 ^ w, 2654435761);
    h2 = Math.imul(h2 ^ w, 1597334677);
  }
  h1 = Math.imul(h1 ^ (h1 >>> 16), 2246822507);
  h1 ^= Math.imul(h2 ^ (h2 >>> 13), 3266489909);
  h2 = Math.imul(h2 ^ (h2 >>> 16), 2246822507);
  h2 ^= Math.imul(h1 ^ (h1 >>> 13), 3266489909);
  return 4294967296 * (2097151 & h2) + (h1 >>> 0);
}
