import { createHash } from 'node:crypto';
import { crc32 } from 'node:zlib';
import { isSha256 } from '../blobs/blob-store.js';
import { ErrorCode, FfcdbError } from '../kernel/errors.js';
import type { JsonValue, RecordedEvent } from '../kernel/types.js';
import { canonicalJson, fromCanonical } from './canonical-json.js';

/**
 * The export format: a folder holding
 *
 *   manifest.json       what the export holds: counts and hashes (ExportManifest)
 *   events.jsonl        one event per line, in global position order (encodeEvent)
 *   blobs/<sha256>      each document blob the events name, as raw bytes
 *
 * A folder rather than one file: blobs stay raw bytes (base64 in JSONL would
 * add a third), each is checked on its own against its name, and events.jsonl
 * is plain JSONL any tool can read. The manifest is not hashed itself: every
 * count and hash in it is checked against the files.
 */
export const EXPORT_FORMAT = 'ffcdb-export';
export const EXPORT_VERSION = 1;
export const MANIFEST_FILE = 'manifest.json';
export const EVENTS_FILE = 'events.jsonl';
export const BLOBS_DIR = 'blobs';

export interface ExportManifest {
  format: typeof EXPORT_FORMAT;
  version: typeof EXPORT_VERSION;
  /** The whole store, or one session's stream. */
  scope: { kind: 'store' } | { kind: 'session'; sessionId: string; stream: string };
  /**
   * Store: the head position when the export began (events after it are not in
   * it). Session: the position of its last event. Positions up to it that no
   * line holds are gaps (purged streams; a session's the other streams).
   */
  headPosition: number;
  events: { file: typeof EVENTS_FILE; count: number; bytes: number; sha256: string; gaps: number };
  /** Per stream, in stream id order: its event count and chained hash (streamHash). */
  streams: { count: number; entries: StreamEntry[] };
  /**
   * Blobs named by `document.uploaded` events, in hash order: those the blob
   * store held (`entries`, in blobs/), and those it no longer held (`absent`:
   * released when their documents were deleted), which an import leaves out too.
   */
  blobs: { count: number; bytes: number; entries: BlobEntry[]; absent: string[] };
}

export interface StreamEntry {
  stream: string;
  events: number;
  sha256: string;
}

export interface BlobEntry {
  sha256: string;
  size: number;
}

/** The fields of an event line, in the order they are written. */
const LINE_FIELDS = ['position', 'stream', 'version', 'id', 'type', 'schemaVersion', 'timestamp', 'metadata', 'data', 'crc32'] as const;
/** `,"crc32":"` + 8 hex digits + `"}`: how every line ends. */
const CRC_SUFFIX = 20;
const CRC_FIELD = /^,"crc32":"[0-9a-f]{8}"\}$/;

/**
 * One line of events.jsonl (without its newline): every field of the event,
 * top-level fields in a fixed order, data and metadata in canonical JSON, and
 * last `crc32`: the CRC-32 (hex) of the line's bytes before `,"crc32"`, so
 * damage is found at its line.
 */
export function encodeEvent(e: RecordedEvent): Buffer {
  const body = Buffer.from(
    `{"position":${e.position},"stream":${JSON.stringify(e.streamId)},"version":${e.version},"id":${JSON.stringify(e.id)},` +
      `"type":${JSON.stringify(e.type)},"schemaVersion":${e.schemaVersion},"timestamp":${e.timestamp},` +
      `"metadata":${canonicalJson(e.metadata as JsonValue)},"data":${canonicalJson(e.data)}`,
  );
  return Buffer.concat([body, Buffer.from(`,"crc32":"${crc32(body).toString(16).padStart(8, '0')}"}`)]);
}

/**
 * The event a line holds; CORRUPT naming the line when its crc32 fails, it
 * is not JSON, lacks a field, holds one of the wrong kind, or (with
 * `canonical`) is not exactly what encodeEvent would write for it. Ids, types
 * and data are validated again by the engine's import.
 */
export function decodeEvent(line: Buffer, lineNo: number, canonical: boolean): RecordedEvent {
  const suffix = line.subarray(line.length - CRC_SUFFIX).toString('latin1');
  if (line.length <= CRC_SUFFIX || !CRC_FIELD.test(suffix)) throw corruptLine(lineNo, 'does not end with its crc32 field');
  const body = line.subarray(0, line.length - CRC_SUFFIX);
  if (crc32(body) !== Number.parseInt(suffix.slice(10, 18), 16)) throw corruptLine(lineNo, 'fails its crc32: the line is damaged');
  let parsed: Record<string, unknown>;
  try {
    parsed = JSON.parse(line.toString('utf8')) as Record<string, unknown>;
  } catch (err) {
    throw corruptLine(lineNo, `is not JSON: ${(err as Error).message}`);
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) throw corruptLine(lineNo, 'is not a JSON object');
  for (const key of ['position', 'version', 'schemaVersion', 'timestamp'] as const) {
    const v = parsed[key];
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < (key === 'timestamp' ? 0 : 1)) throw corruptLine(lineNo, `has no valid "${key}"`);
  }
  for (const key of ['stream', 'id', 'type'] as const) if (typeof parsed[key] !== 'string') throw corruptLine(lineNo, `has no valid "${key}"`);
  const metadata = fromCanonical(parsed.metadata);
  if (metadata === null || typeof metadata !== 'object' || Array.isArray(metadata) || metadata instanceof Uint8Array) {
    throw corruptLine(lineNo, 'has no valid "metadata" object');
  }
  const data = 'data' in parsed ? fromCanonical(parsed.data) : undefined;
  if (data === undefined) throw corruptLine(lineNo, 'has no valid "data"');
  const event: RecordedEvent = {
    id: parsed.id as string,
    streamId: parsed.stream as string,
    version: parsed.version as number,
    position: parsed.position as number,
    type: parsed.type as string,
    schemaVersion: parsed.schemaVersion as number,
    timestamp: parsed.timestamp as number,
    data,
    metadata,
  };
  if (canonical) {
    const fields = Object.keys(parsed);
    if (fields.length !== LINE_FIELDS.length || fields.some((f, i) => f !== LINE_FIELDS[i])) {
      throw corruptLine(lineNo, `must have exactly the fields ${LINE_FIELDS.join(', ')}, in that order`);
    }
    if (!line.equals(encodeEvent(event))) throw corruptLine(lineNo, 'is not in canonical form (key order, number or base64 format, spacing)');
  }
  return event;
}

/** A stream's hash chain: 32 zero bytes, then sha256(previous ‖ line bytes) for each of its lines in order. */
export const STREAM_HASH_START = Buffer.alloc(32);

export function streamHash(previous: Buffer, line: Buffer): Buffer {
  return createHash('sha256').update(previous).update(line).digest();
}

/** The blob a `document.uploaded` event names (the chat store's only reference to blob bytes). */
export function namedBlob(e: RecordedEvent): string | undefined {
  if (e.type !== 'document.uploaded' || e.data === null || typeof e.data !== 'object' || Array.isArray(e.data) || e.data instanceof Uint8Array) return undefined;
  const sha256 = e.data.sha256;
  return typeof sha256 === 'string' && isSha256(sha256) ? sha256 : undefined;
}

/** manifest.json: readable, one line per stream and blob entry, deterministic. */
export function manifestText(m: ExportManifest): string {
  const list = (items: readonly unknown[]) => (items.length === 0 ? '[]' : `[\n${items.map((i) => `      ${JSON.stringify(i)}`).join(',\n')}\n    ]`);
  return [
    '{',
    `  "format": ${JSON.stringify(m.format)},`,
    `  "version": ${m.version},`,
    `  "scope": ${JSON.stringify(m.scope)},`,
    `  "headPosition": ${m.headPosition},`,
    `  "events": ${JSON.stringify(m.events)},`,
    `  "streams": {\n    "count": ${m.streams.count},\n    "entries": ${list(m.streams.entries)}\n  },`,
    `  "blobs": {\n    "count": ${m.blobs.count},\n    "bytes": ${m.blobs.bytes},\n    "entries": ${list(m.blobs.entries)},\n    "absent": ${list(m.blobs.absent)}\n  }`,
    '}',
    '',
  ].join('\n');
}

/**
 * Reads a manifest's text: UNSUPPORTED_FORMAT when it is not one of this
 * format version, CORRUPT naming the field when a field is missing or of the
 * wrong kind. Whether the counts and hashes hold is for the import to check.
 */
export function parseManifest(text: string, file: string): ExportManifest {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    throw new FfcdbError(ErrorCode.CORRUPT, `${file} is not JSON: ${(err as Error).message}`, { file });
  }
  const m = fieldsOf(parsed);
  if (m.format !== EXPORT_FORMAT) throw new FfcdbError(ErrorCode.UNSUPPORTED_FORMAT, `${file} does not describe an ${EXPORT_FORMAT}`, { file });
  if (m.version !== EXPORT_VERSION) {
    throw new FfcdbError(ErrorCode.UNSUPPORTED_FORMAT, `${file} is of export format version ${JSON.stringify(m.version)}; this code reads version ${EXPORT_VERSION}`, { file });
  }
  const bad = (field: string): FfcdbError => new FfcdbError(ErrorCode.CORRUPT, `${file} has no valid ${field}`, { file, field });
  const count = (v: unknown, field: string) => {
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) throw bad(field);
  };
  const hash = (v: unknown, field: string) => {
    if (typeof v !== 'string' || !isSha256(v)) throw bad(field);
  };
  const scope = fieldsOf(m.scope);
  if (!(scope.kind === 'store' || (scope.kind === 'session' && typeof scope.sessionId === 'string' && typeof scope.stream === 'string'))) throw bad('scope');
  count(m.headPosition, 'headPosition');
  const events = fieldsOf(m.events);
  if (events.file !== EVENTS_FILE) throw bad('events.file');
  for (const k of ['count', 'bytes', 'gaps']) count(events[k], `events.${k}`);
  hash(events.sha256, 'events.sha256');
  const streams = fieldsOf(m.streams);
  count(streams.count, 'streams.count');
  if (!Array.isArray(streams.entries)) throw bad('streams.entries');
  for (const [i, entry] of streams.entries.entries()) {
    const s = fieldsOf(entry);
    if (typeof s.stream !== 'string') throw bad(`streams.entries[${i}].stream`);
    count(s.events, `streams.entries[${i}].events`);
    hash(s.sha256, `streams.entries[${i}].sha256`);
  }
  const blobs = fieldsOf(m.blobs);
  count(blobs.count, 'blobs.count');
  count(blobs.bytes, 'blobs.bytes');
  if (!Array.isArray(blobs.entries)) throw bad('blobs.entries');
  for (const [i, entry] of blobs.entries.entries()) {
    const b = fieldsOf(entry);
    hash(b.sha256, `blobs.entries[${i}].sha256`);
    count(b.size, `blobs.entries[${i}].size`);
  }
  if (!Array.isArray(blobs.absent)) throw bad('blobs.absent');
  for (const [i, h] of blobs.absent.entries()) hash(h, `blobs.absent[${i}]`);
  return parsed as ExportManifest;
}

/** A parsed JSON value's fields; none when it is not an object (as `?.` would read them). */
function fieldsOf(v: unknown): Record<string, unknown> {
  return typeof v === 'object' && v !== null ? (v as Record<string, unknown>) : {};
}

export function corruptLine(lineNo: number, problem: string): FfcdbError {
  return new FfcdbError(ErrorCode.CORRUPT, `${EVENTS_FILE} line ${lineNo} ${problem}`, { file: EVENTS_FILE, line: lineNo });
}

/** A count or hash of the manifest that the files do not bear out. */
export function mismatch(field: string, expected: unknown, actual: unknown): FfcdbError {
  return new FfcdbError(ErrorCode.CORRUPT, `${MANIFEST_FILE} says ${field} is ${JSON.stringify(expected)}, but the export holds ${JSON.stringify(actual)}`, {
    file: MANIFEST_FILE,
    field,
    expected,
    actual,
  });
}
