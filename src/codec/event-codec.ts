import { Packr } from 'msgpackr';
import { compressSync, uncompressSync } from 'lz4-napi';
import type { EventMetadata, JsonValue, RecordedEvent } from '../kernel/types.js';

/**
 * The payload of a stream frame: a msgpack array of
 * [id, type, schemaVersion, timestamp, data, metadata] per event. Stream id,
 * version and position live in the frame header and the path.
 *
 * Records and structured-clone extensions are off: bytes read back are
 * untrusted, and the format must stay plain msgpack that any reader decodes.
 */
// copyBuffers: binary data read back must own its bytes, not pin (or alias) the read buffer.
const packr = new Packr({ useRecords: false, structuredClone: false, moreTypes: false, bundleStrings: false, mapsAsObjects: true, copyBuffers: true });

/**
 * lz4 pays where it saves a real share of a sizeable payload. A single chat
 * message (~700 bytes of msgpack) shrinks by about a tenth, and decompressing
 * it would cost more than every other step of reading it together.
 */
const COMPRESS_MIN_BYTES = 1024;
const COMPRESS_MAX_RATIO = 7 / 8;

export interface StoredEventBody {
  id: string;
  type: string;
  schemaVersion: number;
  timestamp: number;
  data: JsonValue;
  metadata: EventMetadata;
}

export interface EncodedPayload {
  stored: Uint8Array;
  rawLength: number;
  compressed: boolean;
}

export function encodeMsgpack(value: unknown): Buffer {
  return packr.pack(value);
}

export function decodeMsgpack(bytes: Uint8Array): unknown {
  return packr.unpack(bytes);
}

export function encodeEvents(events: readonly StoredEventBody[]): EncodedPayload {
  const raw = packr.pack(events.map((e) => [e.id, e.type, e.schemaVersion, e.timestamp, e.data, e.metadata]));
  if (raw.length >= COMPRESS_MIN_BYTES) {
    const compressed = compressSync(raw);
    if (compressed.length <= raw.length * COMPRESS_MAX_RATIO) return { stored: compressed, rawLength: raw.length, compressed: true };
  }
  return { stored: raw, rawLength: raw.length, compressed: false };
}

/** Returns undefined when the bytes do not decode to `count` well-formed events. */
export function decodeEvents(stored: Uint8Array, compressed: boolean, rawLength: number, count: number): StoredEventBody[] | undefined {
  return decodeRows(stored, compressed, rawLength, count)?.map((r) => ({
    id: r[0],
    type: r[1],
    schemaVersion: r[2],
    timestamp: r[3],
    data: r[4],
    metadata: r[5],
  }));
}

/** Decodes straight into the events a reader gets, given what the frame header and path say. */
export function decodeRecorded(
  stored: Uint8Array,
  compressed: boolean,
  rawLength: number,
  count: number,
  streamId: string,
  firstVersion: number,
  firstPosition: number,
): RecordedEvent[] | undefined {
  const rows = decodeRows(stored, compressed, rawLength, count);
  if (!rows) return undefined;
  const out: RecordedEvent[] = new Array(count);
  for (let i = 0; i < count; i++) {
    const r = rows[i]!;
    out[i] = {
      id: r[0],
      streamId,
      version: firstVersion + i,
      position: firstPosition + i,
      type: r[1],
      schemaVersion: r[2],
      timestamp: r[3],
      data: r[4],
      metadata: r[5],
    };
  }
  return out;
}

type Row = [string, string, number, number, JsonValue, EventMetadata];

function decodeRows(stored: Uint8Array, compressed: boolean, rawLength: number, count: number): Row[] | undefined {
  let raw: Uint8Array;
  try {
    raw = compressed ? uncompressSync(Buffer.from(stored.buffer, stored.byteOffset, stored.byteLength)) : stored;
  } catch {
    return undefined;
  }
  if (raw.length !== rawLength) return undefined;
  let rows: unknown;
  try {
    rows = packr.unpack(raw);
  } catch {
    return undefined;
  }
  if (!Array.isArray(rows) || rows.length !== count) return undefined;
  for (const r of rows) {
    if (
      !Array.isArray(r) ||
      r.length !== 6 ||
      typeof r[0] !== 'string' ||
      typeof r[1] !== 'string' ||
      typeof r[2] !== 'number' ||
      typeof r[3] !== 'number' ||
      r[5] === null ||
      typeof r[5] !== 'object'
    ) {
      return undefined;
    }
  }
  return rows as Row[];
}
