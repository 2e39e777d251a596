import fs from 'node:fs';
import path from 'node:path';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { sessionStream } from '../events/streams.js';
import type { EventStore, ImportedEvent } from '../engine/event-store.js';
import { LIMITS, assertId, assertEventType, assertJsonValue, assertStreamId, invalid } from '../kernel/validation.js';
import { ErrorCode, FfcdbError, asIoError, ioError, isFfcdbError, readOnlyError } from '../kernel/errors.js';
import { openFolderParts } from '../engine/open-store.js';
import type { RecordedEvent } from '../kernel/types.js';
import type { StoreParts } from './export-store.js';
import { PROGRESS_EVERY } from './export-store.js';
import { LineReader, assertFreeTarget, hashFile, moveIntoPlace, notRegularFile, openRegularFile, siblingTemp } from './files.js';
import {
  BLOBS_DIR,
  EVENTS_FILE,
  type ExportManifest,
  MANIFEST_FILE,
  STREAM_HASH_START,
  corruptLine,
  decodeEvent,
  mismatch,
  namedBlob,
  parseManifest,
  streamHash,
} from './format.js';

export interface ImportProgress {
  /** verify: the first pass over the export, which writes nothing; then blobs, then events. */
  phase: 'verify' | 'blobs' | 'events';
  done: number;
  total: number;
}

export interface ImportOptions {
  onProgress?: (p: ImportProgress) => void;
  /**
   * The most gap positions the import will fill with placeholders (see
   * ImportReport.gapStream); an export with more is refused with CORRUPT before
   * anything is written. Default: 16 per event line, and at least 2^24
   * (about a minute of placeholders), so the work is bounded by what the
   * export really holds. Raise it for a store that purged more than that.
   */
  maxGaps?: number;
  /** Aborting it stops the import between two reads or writes: it rejects with the signal's reason, and importToFolder removes its unfinished folder. */
  signal?: AbortSignal;
}

export interface ImportReport {
  manifest: ExportManifest;
  events: number;
  streams: number;
  blobs: number;
  /** The target's head: the export's headPosition. */
  headPosition: number;
  /**
   * Positions the export skipped (gaps) were filled with placeholder events in
   * this stream, which was then purged, so every event kept its position: the
   * stream is left as a tombstone (its id cannot be used). Absent when there were no gaps.
   */
  gapStream?: string;
  gapEvents: number;
}

/** Consecutive events of one stream are appended together, up to this many bytes of JSON (well under a frame's 64 MiB). */
const GROUP_BYTES = 4 * 2 ** 20;
const GAP_STREAM = 'ffcdb-import-gaps';
const GAP_EVENT = 'ffcdb.import.gap';
/** Default gap allowance (ImportOptions.maxGaps): placeholders per event line, and the floor (2^24 took about 75 s on a small machine). */
const GAPS_PER_EVENT = 16;
const MIN_MAX_GAPS = 2 ** 24;
/**
 * manifest.json is refused above this size before it is read. A manifest
 * line is about 250 bytes (a stream entry with a short id; one with an id of
 * 520 bytes, escaped in JSON, at most about 1,200; a blob entry is about 110),
 * so 256 MiB lists hundreds of thousands of streams and blobs at the least,
 * far more than any real store; and it stays well under V8's largest
 * string (about 512 MiB), beyond which the manifest could not be read at all.
 */
const MAX_MANIFEST_BYTES = 256 * 2 ** 20;

/**
 * Checks an export without writing anything: the manifest's format, its
 * counts and hashes against events.jsonl (its sha256 and size, every line's
 * form, positions rising, each stream's versions 1, 2, 3 … with timestamps
 * not going back, each stream's count and hash chain) and against blobs/
 * (every blob present, of its size and hash, nothing else there, and exactly
 * the blobs the events name). CORRUPT naming the file and line or field;
 * UNSUPPORTED_FORMAT for another format or version.
 */
export async function verifyExport(fromDir: string, options: ImportOptions = {}): Promise<ExportManifest> {
  try {
    return await verify(fromDir, options);
  } catch (err) {
    // A file of the export failing to be read (not its content) is IO.
    throw asIoError(err, String(fromDir), 'read');
  }
}

async function verify(fromDir: string, options: ImportOptions): Promise<ExportManifest> {
  const dir = exportDir(fromDir);
  const report = options.onProgress ?? (() => undefined);
  const signal = options.signal;
  signal?.throwIfAborted();
  const manifest = readManifest(dir);
  assertGapsAllowed(manifest, options.maxGaps);
  const expected = new Map(manifest.streams.entries.map((s) => [s.stream, s]));

  const streams = new Map<string, { version: number; timestamp: number; hash: Buffer }>();
  const named = new Set<string>();
  const reader = new LineReader(path.join(dir, EVENTS_FILE), EVENTS_FILE);
  let count = 0;
  let position = 0;
  for await (const { line, lineNo } of reader.lines()) {
    signal?.throwIfAborted();
    const e = decodeEvent(line, lineNo, true);
    try {
      assertStreamId(e.streamId, 'stream');
      assertId(e.id, 'id');
      assertEventType(e.type, 'type');
      assertJsonValue(e.metadata, 'metadata');
      assertJsonValue(e.data, 'data');
    } catch (err) {
      throw corruptLine(lineNo, `holds an event the store would refuse: ${(err as Error).message}`);
    }
    if (e.position <= position) throw corruptLine(lineNo, `has position ${e.position}, not above the line before it (${position})`);
    if (e.position > manifest.headPosition) throw corruptLine(lineNo, `has position ${e.position}, past the manifest's headPosition ${manifest.headPosition}`);
    position = e.position;
    if (!expected.has(e.streamId)) throw corruptLine(lineNo, `is in stream ${e.streamId}, which the manifest does not list`);
    const s = streams.get(e.streamId) ?? { version: 0, timestamp: 0, hash: STREAM_HASH_START };
    if (e.version !== s.version + 1) throw corruptLine(lineNo, `has version ${e.version} of stream ${e.streamId}; the next is ${s.version + 1}`);
    if (e.timestamp < s.timestamp) throw corruptLine(lineNo, `has timestamp ${e.timestamp}, before the stream's previous one (${s.timestamp})`);
    s.version = e.version;
    s.timestamp = e.timestamp;
    s.hash = streamHash(s.hash, line);
    streams.set(e.streamId, s);
    const blob = namedBlob(e);
    if (blob) named.add(blob);
    if (++count % PROGRESS_EVERY === 0) report({ phase: 'verify', done: count, total: manifest.events.count });
  }
  if (count !== manifest.events.count) throw mismatch('events.count', manifest.events.count, count);
  // A session export ends at its last event: positions past it would be gaps that no other stream of the export explains.
  if (manifest.scope.kind === 'session' && position !== manifest.headPosition) throw mismatch('headPosition', manifest.headPosition, `a last line at position ${position}`);
  if (reader.bytes !== manifest.events.bytes) throw mismatch('events.bytes', manifest.events.bytes, reader.bytes);
  const sha256 = reader.hash.digest('hex');
  if (sha256 !== manifest.events.sha256) throw mismatch('events.sha256', manifest.events.sha256, sha256);
  for (const [i, entry] of manifest.streams.entries.entries()) {
    const s = streams.get(entry.stream);
    if (s?.version !== entry.events) throw mismatch(`streams.entries[${i}].events`, entry.events, s?.version ?? 0);
    if (s.hash.toString('hex') !== entry.sha256) throw mismatch(`streams.entries[${i}].sha256`, entry.sha256, s.hash.toString('hex'));
  }
  report({ phase: 'verify', done: count, total: manifest.events.count });

  const listed = new Set([...manifest.blobs.entries.map((b) => b.sha256), ...manifest.blobs.absent]);
  const unnamed = [...listed].find((h) => !named.has(h));
  if (unnamed) throw corruptManifest('blobs', `lists blob ${unnamed}, which no document.uploaded event names`);
  const unlisted = [...named].find((h) => !listed.has(h));
  if (unlisted) throw corruptManifest('blobs', `lists blob ${unlisted} neither in blobs.entries nor in blobs.absent, though an event names it`);
  await verifyBlobs(dir, manifest, signal);
  return manifest;
}

/**
 * Imports an export into an empty store (CONFLICT when it holds events or
 * blobs): verifies it whole first (verifyExport), so a damaged export writes
 * nothing; then puts the blobs (each checked against its hash again) and
 * appends the events with `EventStore.importEvents`: the same ids, versions,
 * timestamps, schema versions, metadata and data, and the same global
 * positions (gaps are filled and purged; see ImportReport.gapStream).
 * events.jsonl is hashed again as it is read: a file changed since the check
 * fails with CORRUPT at its end. A failure after the first write leaves what
 * was appended (events cannot be taken back without a purge) and removes the
 * blobs it put; `importToFolder` avoids that by building a new store aside.
 * A target opened read-only is refused with READ_ONLY before anything is read.
 */
export async function importExport(target: StoreParts, fromDir: string, options: ImportOptions = {}): Promise<ImportReport> {
  if (target.events.readOnly) throw readOnlyError('import');
  const dir = exportDir(fromDir);
  const report = options.onProgress ?? (() => undefined);
  const head = await target.events.headPosition();
  if (head > 0) throw new FfcdbError(ErrorCode.CONFLICT, `the target store is not empty (head position ${head}); import only into an empty store`, { headPosition: head });
  for await (const b of target.blobs.list()) {
    throw new FfcdbError(ErrorCode.CONFLICT, `the target store's blob store is not empty (it holds ${b.sha256}); import only into an empty store`, { sha256: b.sha256 });
  }
  const manifest = await verifyExport(dir, options);

  const created: string[] = [];
  try {
    for (const [i, blob] of manifest.blobs.entries.entries()) {
      options.signal?.throwIfAborted();
      const file = path.join(dir, BLOBS_DIR, blob.sha256);
      // The stream opens at once: an error before put reads it (its open failing) is kept for put's read, not
      // an 'error' event nobody hears (which ends the process).
      const source = fs.createReadStream(file).on('error', () => undefined);
      let put: { sha256: string; created: boolean };
      try {
        put = await target.blobs.put(source, { expectedSha256: blob.sha256, maxBytes: blob.size });
      } catch (err) {
        // The export's file failing to be read is IO (put calls a failing source INVALID_ARGUMENT).
        const cause = (err as FfcdbError).cause as NodeJS.ErrnoException | undefined;
        throw isFfcdbError(err, ErrorCode.INVALID_ARGUMENT) && typeof cause?.syscall === 'string' ? ioError(cause, file, 'read') : err;
      } finally {
        // A put that failed before reading it all leaves the stream open (its file descriptor).
        source.destroy();
      }
      if (put.created) created.push(put.sha256);
      report({ phase: 'blobs', done: i + 1, total: manifest.blobs.count });
    }
    return await appendAll(target.events, dir, manifest, report, options.signal);
  } catch (err) {
    for (const hash of created) await target.blobs.delete(hash).catch(() => undefined);
    throw err;
  }
}

/**
 * Imports an export into a new flatfile store at `targetDir`, which must not
 * exist or be an empty folder (CONFLICT otherwise). The store is built in a
 * folder beside it (durability 'none': closing it fsyncs everything) and
 * renamed into place once whole, so a failed import leaves `targetDir` as it was.
 */
export async function importToFolder(targetDir: string, fromDir: string, options: ImportOptions = {}): Promise<ImportReport> {
  if (typeof targetDir !== 'string' || targetDir === '') throw invalid('targetDir', 'must be a folder path');
  const target = path.resolve(targetDir);
  assertFreeTarget(target, 'targetDir');
  const temp = siblingTemp(target);
  try {
    const parts = await openFolderParts({ dir: temp, durability: 'none' });
    let result: ImportReport;
    try {
      result = await importExport(parts, fromDir, options);
    } finally {
      await parts.close();
    }
    moveIntoPlace(temp, target);
    return result;
  } catch (err) {
    fs.rmSync(temp, { recursive: true, force: true });
    throw err;
  }
}

async function appendAll(store: EventStore, dir: string, manifest: ExportManifest, report: (p: ImportProgress) => void, signal?: AbortSignal): Promise<ImportReport> {
  const taken = new Set(manifest.streams.entries.map((s) => s.stream));
  let gapStream = GAP_STREAM;
  for (let n = 2; taken.has(gapStream); n++) gapStream = `${GAP_STREAM}-${n}`;
  let gapEvents = 0;
  let head = 0;

  /** Placeholders up to `position` (exclusive), so the next event lands on its own position. */
  const fillTo = async (position: number) => {
    while (head + 1 < position) {
      await stopIfAborted(signal);
      const n = Math.min(position - head - 1, LIMITS.maxEventsPerAppend);
      const r = await store.append(gapStream, Array.from({ length: n }, () => ({ type: GAP_EVENT, data: null })));
      if (r.firstPosition !== head + 1) throw changedUnderneath(head + 1, r.firstPosition);
      head = r.lastPosition;
      gapEvents += n;
    }
  };

  let group: RecordedEvent[] = [];
  let groupBytes = 0;
  const flush = async () => {
    if (group.length === 0) return;
    await stopIfAborted(signal);
    const first = group[0]!;
    await fillTo(first.position);
    const r = await store.importEvents(first.streamId, group.map(imported));
    if (r.firstPosition !== first.position) throw changedUnderneath(first.position, r.firstPosition);
    head = r.lastPosition;
    group = [];
    groupBytes = 0;
    report({ phase: 'events', done: head, total: manifest.headPosition });
  };

  const reader = new LineReader(path.join(dir, EVENTS_FILE), EVENTS_FILE);
  for await (const { line, lineNo } of reader.lines()) {
    const e = decodeEvent(line, lineNo, false);
    const previous = group.at(-1);
    const joins = previous !== undefined && previous.streamId === e.streamId && previous.position + 1 === e.position;
    if (!joins || group.length >= LIMITS.maxEventsPerAppend || groupBytes + line.length > GROUP_BYTES) await flush();
    group.push(e);
    groupBytes += line.length;
  }
  await flush();
  const sha256 = reader.hash.digest('hex');
  if (sha256 !== manifest.events.sha256) throw mismatch('events.sha256 (the file changed during the import)', manifest.events.sha256, sha256);
  await fillTo(manifest.headPosition + 1);
  if (gapEvents > 0) await store.purgeStream(gapStream);
  report({ phase: 'events', done: head, total: manifest.headPosition });
  return {
    manifest,
    events: manifest.events.count,
    streams: manifest.streams.count,
    blobs: manifest.blobs.count,
    headPosition: head,
    ...(gapEvents > 0 ? { gapStream } : {}),
    gapEvents,
  };
}

/**
 * Lets a signal's handler (SIGTERM's) run, then stops if it aborted: appends
 * to a store with durability 'none' can resolve without going back to the
 * event loop, so a loop of them would never see the signal.
 */
async function stopIfAborted(signal: AbortSignal | undefined): Promise<void> {
  if (signal === undefined) return;
  await nextTurn();
  signal.throwIfAborted();
}

function imported(e: RecordedEvent): ImportedEvent {
  return { id: e.id, version: e.version, type: e.type, schemaVersion: e.schemaVersion, timestamp: e.timestamp, data: e.data, metadata: e.metadata };
}

function corruptManifest(field: string, problem: string): FfcdbError {
  return new FfcdbError(ErrorCode.CORRUPT, `${MANIFEST_FILE} ${problem}`, { file: MANIFEST_FILE, field });
}

function changedUnderneath(expected: number, actual: number): FfcdbError {
  return new FfcdbError(ErrorCode.CONFLICT, `the target store was written to during the import: position ${expected} came out as ${actual}`, { expected, actual });
}

function exportDir(fromDir: string): string {
  if (typeof fromDir !== 'string' || fromDir === '') throw invalid('fromDir', 'must be a folder path');
  return path.resolve(fromDir);
}

/** The manifest (a regular file of at most MAX_MANIFEST_BYTES), checked for form and for agreeing with itself. */
function readManifest(dir: string): ExportManifest {
  const file = path.join(dir, MANIFEST_FILE);
  let opened: { fd: number; size: number };
  try {
    opened = openRegularFile(file, MANIFEST_FILE);
  } catch (err) {
    if ((err as FfcdbError).details?.errno === 'ENOENT') throw new FfcdbError(ErrorCode.NOT_FOUND, `${dir} holds no ${MANIFEST_FILE}: not an export`, { file });
    throw err;
  }
  let text: string;
  try {
    if (opened.size > MAX_MANIFEST_BYTES) {
      throw new FfcdbError(ErrorCode.CORRUPT, `${MANIFEST_FILE} is ${opened.size} bytes; a manifest is at most ${MAX_MANIFEST_BYTES}`, { file: MANIFEST_FILE, bytes: opened.size, limit: MAX_MANIFEST_BYTES });
    }
    text = fs.readFileSync(opened.fd, 'utf8');
  } catch (err) {
    throw err instanceof FfcdbError ? err : ioError(err, file, 'read');
  } finally {
    fs.closeSync(opened.fd);
  }
  const m = parseManifest(text, MANIFEST_FILE);
  const ascending = (list: readonly string[]) => list.every((s, i) => i === 0 || list[i - 1]! < s);
  const streams = m.streams.entries.map((s) => s.stream);
  if (m.streams.count !== streams.length) throw mismatch('streams.count', m.streams.count, streams.length);
  if (!ascending(streams)) throw mismatch('streams.entries', 'stream ids in ascending order, each once', 'another order');
  const empty = m.streams.entries.find((s) => s.events === 0);
  if (empty) throw corruptManifest('streams.entries', `lists stream ${empty.stream} with no events`);
  const total = m.streams.entries.reduce((n, s) => n + s.events, 0);
  if (total !== m.events.count) throw mismatch('events.count', m.events.count, `${total} in streams.entries`);
  if (m.events.gaps !== m.headPosition - m.events.count) throw mismatch('events.gaps', m.events.gaps, m.headPosition - m.events.count);
  if (m.scope.kind === 'session') {
    if (m.scope.stream !== sessionStream(m.scope.sessionId)) throw corruptManifest('scope', `names stream ${m.scope.stream} for session ${m.scope.sessionId}`);
    if (streams.length !== 1 || streams[0] !== m.scope.stream) throw mismatch('streams.entries', [m.scope.stream], streams);
  }
  const blobs = m.blobs.entries.map((b) => b.sha256);
  if (m.blobs.count !== blobs.length) throw mismatch('blobs.count', m.blobs.count, blobs.length);
  const bytes = m.blobs.entries.reduce((n, b) => n + b.size, 0);
  if (m.blobs.bytes !== bytes) throw mismatch('blobs.bytes', m.blobs.bytes, bytes);
  if (!ascending(blobs) || !ascending(m.blobs.absent)) throw mismatch('blobs', 'hashes in ascending order, each once', 'another order');
  const absent = new Set(m.blobs.absent);
  const both = blobs.find((h) => absent.has(h));
  if (both) throw mismatch('blobs.absent', 'blobs not in blobs.entries', both);
  return m;
}

/**
 * Refuses an export whose gaps (placeholders to write) exceed `maxGaps`, by
 * default GAPS_PER_EVENT per event line and at least MIN_MAX_GAPS: a crafted
 * headPosition would otherwise have the import write placeholders without end.
 */
function assertGapsAllowed(manifest: ExportManifest, maxGaps: number | undefined): void {
  if (maxGaps !== undefined && !(Number.isSafeInteger(maxGaps) && maxGaps >= 0)) throw invalid('maxGaps', 'must be a non-negative integer');
  const limit = maxGaps ?? Math.max(MIN_MAX_GAPS, GAPS_PER_EVENT * manifest.events.count);
  if (manifest.events.gaps <= limit) return;
  throw new FfcdbError(
    ErrorCode.CORRUPT,
    `${MANIFEST_FILE} says events.gaps is ${manifest.events.gaps} (head position ${manifest.headPosition} for ${manifest.events.count} events): more than the ${limit} gap positions an import fills; if the store really purged that many events, allow more with maxGaps (ffcdb import --max-gaps)`,
    { file: MANIFEST_FILE, field: 'events.gaps', gaps: manifest.events.gaps, limit },
  );
}

/** Every blob file present, a regular file of its size and hash, and no file the manifest does not list. */
async function verifyBlobs(dir: string, manifest: ExportManifest, signal: AbortSignal | undefined): Promise<void> {
  const blobsDir = path.join(dir, BLOBS_DIR);
  const stat = fs.lstatSync(blobsDir, { throwIfNoEntry: false });
  if (stat && !stat.isDirectory()) throw new FfcdbError(ErrorCode.CORRUPT, `${BLOBS_DIR}/ is not a folder (symlinks and special files are refused)`, { file: BLOBS_DIR });
  let names: string[];
  try {
    names = fs.readdirSync(blobsDir);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code !== 'ENOENT' && code !== 'ENOTDIR') throw ioError(err, blobsDir, 'readdir');
    throw new FfcdbError(ErrorCode.CORRUPT, `${BLOBS_DIR}/ cannot be read: ${(err as Error).message}`, { file: BLOBS_DIR }, { cause: err });
  }
  const listed = new Set(manifest.blobs.entries.map((b) => b.sha256));
  const extra = names.find((n) => !listed.has(n));
  if (extra) throw new FfcdbError(ErrorCode.CORRUPT, `${BLOBS_DIR}/${extra} is not listed in ${MANIFEST_FILE}`, { file: `${BLOBS_DIR}/${extra}` });
  for (const blob of manifest.blobs.entries) {
    const name = `${BLOBS_DIR}/${blob.sha256}`;
    const corrupt = (problem: string) => new FfcdbError(ErrorCode.CORRUPT, `${name} ${problem}`, { file: name, sha256: blob.sha256 });
    signal?.throwIfAborted();
    const stat = fs.lstatSync(path.join(dir, name), { throwIfNoEntry: false });
    if (!stat) throw corrupt(`is missing (${MANIFEST_FILE} lists it)`);
    if (!stat.isFile()) throw notRegularFile(name, { sha256: blob.sha256 });
    if (stat.size !== blob.size) throw corrupt(`holds ${stat.size} bytes; ${MANIFEST_FILE} says ${blob.size}`);
    const hash = await hashFile(path.join(dir, name));
    if (hash !== blob.sha256) throw corrupt(`holds bytes hashing to ${hash}`);
  }
}
