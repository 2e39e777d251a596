/**
 * Deterministic test events shared by the child-process workers and the tests
 * that check their work: an event is a pure function of (tag, stream, seq), so
 * a worker only has to report those three to let the parent rebuild exactly
 * what was appended and compare it with what is stored.
 */
import type { NewEvent, RecordedEvent } from '../../src/kernel/types.js';

/** FNV-1a over a string: the seed of an event's content. */
function hash(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/** mulberry32: small, fast, seedable. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const WORDS = ['the', 'session', 'model', 'answer', 'question', 'context', 'panel', 'persona', 'insight', 'message', 'über', 'café', '日本語', 'naïve', '😀', 'Δ', 'log', 'feed', 'crash', 'fsync'];

export function eventId(tag: string, streamId: string, seq: number): string {
  return `${tag}.${streamId}.${seq}`;
}

/** The event a worker appends as number `seq` of its loop on `streamId`. */
export function eventFor(tag: string, streamId: string, seq: number): NewEvent & { id: string } {
  const id = eventId(tag, streamId, seq);
  const r = rng(hash(id));
  const words = 5 + Math.floor(r() * 60);
  const text: string[] = [];
  for (let i = 0; i < words; i++) text.push(WORDS[Math.floor(r() * WORDS.length)]!);
  const bytes = new Uint8Array(Math.floor(r() * 12));
  for (let i = 0; i < bytes.length; i++) bytes[i] = Math.floor(r() * 256);
  return {
    id,
    type: r() < 0.5 ? 'message.added' : 'context.patched',
    schemaVersion: 1 + Math.floor(r() * 3),
    data: {
      tag,
      seq,
      text: text.join(' '),
      score: r() * 1000 - 500,
      count: Math.floor(r() * 1_000_000),
      flags: [r() < 0.5, null, r() < 0.5],
      nested: { deep: { deeper: [seq, `${seq}`, { k: r() < 0.5 ? 'a' : 'b' }] } },
      bytes,
    },
    metadata: { actor: `user-${tag}`, correlationId: `corr-${streamId}-${seq}`, causationId: seq > 1 ? eventId(tag, streamId, seq - 1) : undefined, source: 'test' },
  };
}

/**
 * A canonical text form for exact comparison: key order is kept (msgpack keeps
 * it), byte arrays (Uint8Array or Buffer) are spelled out in hex, numbers
 * exactly, undefined object fields dropped (the store drops them too). Two
 * values with the same canonical form are the same bytes to the store's codec.
 * JSON.stringify does the work (it is fast); the replacer looks at the original
 * value (`this[key]`), before Buffer#toJSON.
 */
export function canon(value: unknown): string {
  return JSON.stringify(value, function (this: Record<string, unknown>, key: string, v: unknown) {
    const original = key === '' && !(this && key in this) ? value : this[key];
    if (original instanceof Uint8Array) return `bin:${Buffer.from(original.buffer, original.byteOffset, original.byteLength).toString('hex')}`;
    return v;
  });
}

/** The parts of an appended event that must come back byte for byte. */
export function canonAppended(e: NewEvent & { id: string }): string {
  return canon([e.id, e.type, e.schemaVersion ?? 1, e.data, e.metadata ?? {}]);
}

export function canonStored(e: RecordedEvent): string {
  return canon([e.id, e.type, e.schemaVersion, e.data, e.metadata]);
}

/** Everything a reader sees of a stored event, for comparing two reads of the store. */
export function canonFull(e: RecordedEvent): string {
  return `${e.streamId}|${e.version}|${e.position}|${e.timestamp}|${canonStored(e)}`;
}

/** One acknowledged append as a worker reports it. */
export interface Ack {
  kind: 'ack';
  tag: string;
  stream: string;
  seqs: number[];
  firstVersion: number;
  lastVersion: number;
  firstPosition: number;
  lastPosition: number;
  duplicate: boolean;
  /** Date.now() right after the append resolved. */
  at: number;
}

/** Parses JSON lines, ignoring a last line cut short (a worker killed mid-write never acknowledged it). */
export function parseLines<T>(text: string): T[] {
  const out: T[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!.trim();
    if (line === '') continue;
    try {
      out.push(JSON.parse(line) as T);
    } catch (err) {
      if (i === lines.length - 1) continue; // torn last line: written by fs.writeSync as one call, so only on a kill mid-call
      throw new Error(`unparseable line ${i + 1}: ${line.slice(0, 200)}`, { cause: err });
    }
  }
  return out;
}
