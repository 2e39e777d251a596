import fs from 'node:fs';
import path from 'node:path';
import { sessionStream } from '../events/streams.js';
import { fsyncDirSync } from '../storage/durable-files.js';
import type { BlobStore } from '../blobs/blob-store.js';
import type { EventStore } from '../engine/event-store.js';
import { assertId, invalid } from '../kernel/validation.js';
import { ErrorCode, FfcdbError, ioError, isFfcdbError } from '../kernel/errors.js';
import { openFolderParts } from '../engine/open-store.js';
import type { RecordedEvent } from '../kernel/types.js';
import { HashedWriter, assertFreeTarget, moveIntoPlace, siblingTemp } from './files.js';
import {
  BLOBS_DIR,
  EVENTS_FILE,
  EXPORT_FORMAT,
  EXPORT_VERSION,
  type BlobEntry,
  type ExportManifest,
  MANIFEST_FILE,
  STREAM_HASH_START,
  type StreamEntry,
  encodeEvent,
  manifestText,
  namedBlob,
  streamHash,
} from './format.js';

/** A store to export or import: its engine and the blob store beside it. */
export interface StoreParts {
  events: EventStore;
  blobs: BlobStore;
}

export interface ExportProgress {
  phase: 'events' | 'blobs';
  done: number;
  total: number;
}

export interface ExportOptions {
  /** Only this session's stream (`s-<id>`) and the blobs its documents name. */
  sessionId?: string;
  onProgress?: (p: ExportProgress) => void;
}

const NEWLINE = Buffer.from('\n');

/** Progress is reported every this many events (and once at the end of each phase). */
export const PROGRESS_EVERY = 5000;

/**
 * Exports the store in the folder `storeDir` (which must hold one: NOT_FOUND otherwise), read with its engine and blobs only, no projections.
 * The store is opened read-only: nothing in it is written, so a store on a full disk or a read-only mount exports.
 */
export async function exportFolder(storeDir: string, outDir: string, options: ExportOptions = {}): Promise<ExportManifest> {
  if (typeof storeDir !== 'string' || storeDir === '') throw invalid('storeDir', 'must be a folder path');
  const parts = await openFolderParts({ dir: storeDir, readOnly: true });
  try {
    return await exportStore(parts, outDir, options);
  } finally {
    await parts.close();
  }
}

/**
 * Writes an export (see format.ts) of the whole store, or of one session, to
 * `outDir`, which must not exist or be empty. It is written into a folder
 * beside it and renamed into place once whole, so `outDir` is either the
 * complete export or untouched. Events are streamed with constant memory; the
 * manifest's per-stream table costs memory per stream.
 *
 * A store export holds every event up to the head when it began. A session
 * export holds the session's stream only: not its owner's user stream
 * (profile, library documents), nor the blobs of library documents its
 * messages attach. Blobs are copied after the events: for an exact copy of a
 * store that is being written, a document deleted meanwhile may have taken
 * its blob along (the manifest then lists it as absent).
 */
export async function exportStore(source: StoreParts, outDir: string, options: ExportOptions = {}): Promise<ExportManifest> {
  if (typeof outDir !== 'string' || outDir === '') throw invalid('outDir', 'must be a folder path');
  if (options.sessionId !== undefined) assertId(options.sessionId, 'sessionId');
  const target = path.resolve(outDir);
  assertFreeTarget(target, 'outDir');
  const temp = siblingTemp(target);
  try {
    const manifest = await writeExport(source, temp, options);
    moveIntoPlace(temp, target);
    return manifest;
  } catch (err) {
    fs.rmSync(temp, { recursive: true, force: true });
    throw err;
  }
}

async function writeExport({ events, blobs }: StoreParts, dir: string, options: ExportOptions): Promise<ExportManifest> {
  const report = options.onProgress ?? (() => undefined);
  let scope: ExportManifest['scope'];
  let total: number;
  let feed: AsyncIterable<RecordedEvent>;
  if (options.sessionId === undefined) {
    scope = { kind: 'store' };
    total = await events.headPosition();
    feed = upTo(events.streamAll(), total);
  } else {
    const stream = sessionStream(options.sessionId);
    scope = { kind: 'session', sessionId: options.sessionId, stream };
    total = await events.streamVersion(stream);
    feed = events.streamEvents(stream);
  }

  const streams = new Map<string, { events: number; hash: Buffer }>();
  const named = new Set<string>();
  let count = 0;
  let last = 0;
  const out = await HashedWriter.create(path.join(dir, EVENTS_FILE));
  let sha256: string;
  try {
    for await (const e of feed) {
      const line = encodeEvent(e);
      await out.write(line);
      await out.write(NEWLINE);
      const s = streams.get(e.streamId) ?? { events: 0, hash: STREAM_HASH_START };
      s.events++;
      s.hash = streamHash(s.hash, line);
      streams.set(e.streamId, s);
      const blob = namedBlob(e);
      if (blob) named.add(blob);
      count++;
      last = e.position;
      if (count % PROGRESS_EVERY === 0) report({ phase: 'events', done: scope.kind === 'store' ? last : count, total });
    }
    sha256 = await out.finish();
  } catch (err) {
    await out.abandon();
    throw err;
  }
  report({ phase: 'events', done: total, total });
  if (scope.kind === 'session' && count === 0) {
    throw new FfcdbError(ErrorCode.NOT_FOUND, `session ${JSON.stringify(scope.sessionId)} has no events (never created, or purged)`, { field: 'sessionId', id: scope.sessionId });
  }
  const headPosition = scope.kind === 'store' ? total : last;

  const entries: BlobEntry[] = [];
  const absent: string[] = [];
  const hashes = [...named].sort();
  fs.mkdirSync(path.join(dir, BLOBS_DIR));
  for (const [i, hash] of hashes.entries()) {
    const size = await copyBlob(blobs, hash, path.join(dir, BLOBS_DIR, hash));
    if (size === undefined) absent.push(hash);
    else entries.push({ sha256: hash, size });
    report({ phase: 'blobs', done: i + 1, total: hashes.length });
  }

  const streamEntries: StreamEntry[] = [...streams.keys()].sort().map((stream) => {
    const s = streams.get(stream)!;
    return { stream, events: s.events, sha256: s.hash.toString('hex') };
  });
  const manifest: ExportManifest = {
    format: EXPORT_FORMAT,
    version: EXPORT_VERSION,
    scope,
    headPosition,
    events: { file: EVENTS_FILE, count, bytes: out.bytes, sha256, gaps: headPosition - count },
    streams: { count: streamEntries.length, entries: streamEntries },
    blobs: { count: entries.length, bytes: entries.reduce((n, b) => n + b.size, 0), entries, absent },
  };
  const m = await HashedWriter.create(path.join(dir, MANIFEST_FILE));
  await m.write(Buffer.from(manifestText(manifest)));
  await m.finish();
  try {
    fsyncDirSync(path.join(dir, BLOBS_DIR));
  } catch (err) {
    throw ioError(err, path.join(dir, BLOBS_DIR), 'fsync');
  }
  return manifest;
}

/** The feed as it was when the export began: a purge or append meanwhile changes nothing at or below the head. */
async function* upTo(feed: AsyncIterable<RecordedEvent>, head: number): AsyncGenerator<RecordedEvent> {
  for await (const e of feed) {
    if (e.position > head) return;
    yield e;
  }
}

/** Copies a blob to `file`, checking its bytes against its name; undefined when the store does not hold it. */
async function copyBlob(blobs: BlobStore, sha256: string, file: string): Promise<number | undefined> {
  let source: NodeJS.ReadableStream;
  try {
    source = await blobs.openRead(sha256);
  } catch (err) {
    if (isFfcdbError(err, ErrorCode.NOT_FOUND)) return undefined;
    throw err;
  }
  const out = await HashedWriter.create(file);
  let actual: string;
  try {
    for await (const chunk of source as AsyncIterable<Buffer>) await out.write(chunk);
    actual = await out.finish();
  } catch (err) {
    await out.abandon();
    throw err;
  }
  if (actual !== sha256) throw new FfcdbError(ErrorCode.CORRUPT, `blob ${sha256} in the store holds bytes hashing to ${actual}`, { sha256, actual });
  return out.bytes;
}
