import fs from 'node:fs';
import path from 'node:path';
import { decodeMsgpack } from '../../codec/event-codec.js';
import { ErrorCode, FfcdbError, ioError } from '../../kernel/errors.js';
import { isRealDirectory, writeAllSync } from '../../storage/durable-files.js';
import { FEED_DIR, JOURNAL_DIR, STREAMS_DIR } from '../../storage/store-folder.js';
import type { MonitorSink } from '../backend.js';
import { JOURNAL_MAGIC, journalEpoch, journalOwnerGone } from './commit-journal.js';
import { FEED_MAGIC, FLAG_BLANKED, HEADER_BYTES, STREAM_MAGIC, frameIntact, frameLength, framePayload, parseHeader } from './frame.js';

/** One write of a record, checked: [path relative to the data folder, offset, bytes]. */
interface Write {
  rel: string;
  target: string;
  offset: number;
  bytes: Uint8Array;
}

/**
 * Writes again, where they belong, the records of every journal in the store
 * (a dead process's, too) that cover positions above `syncedThrough` (the
 * `synced` file): what a power failure took from the page cache. Stale records
 * from before a journal started over lie at or below it. Runs at opening,
 * under the writer lock. Returns how many records it applied.
 *
 * A record only ever restores bytes that had not reached the disk, at the end
 * of what the file holds: a write that would start past a file's end (leaving
 * a hole) or change bytes of frames at or below the synced position is not a
 * record this store wrote; the record is refused with CORRUPT, naming the
 * journal and the record's offset, before any of its writes.
 */
export function replayJournals(root: string, syncedThrough: number, monitor: MonitorSink): number {
  const dir = path.join(root, JOURNAL_DIR);
  if (!isRealDirectory(dir)) return 0;
  const targets = new TargetFiles(syncedThrough);
  let applied = 0;
  // Oldest writer first: where an old, failed record and a newer commit claim the same place, the newer one lands last.
  const names = fs
    .readdirSync(dir)
    .filter((n) => journalEpoch(n) !== undefined)
    .sort((a, b) => journalEpoch(a)! - journalEpoch(b)!);
  for (const name of names) {
    const file = path.join(dir, name);
    let buf: Buffer;
    try {
      buf = readRegularFile(file);
    } catch (err) {
      // Its owner closed the store and removed it since we listed the folder: it held nothing needed.
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') continue;
      throw err instanceof FfcdbError ? err : ioError(err, file, 'read');
    }
    let fromThis = 0;
    for (let at = 0; at < buf.length; ) {
      const header = parseHeader(buf, at, JOURNAL_MAGIC, buf.length);
      if (typeof header === 'string' || !frameIntact(buf, at, header)) break;
      const blanked = (header.flags & FLAG_BLANKED) !== 0;
      if (!blanked && header.firstPosition + header.count - 1 > syncedThrough && applyRecord(root, file, at, framePayload(buf, at, header), targets)) {
        fromThis++;
      }
      at += frameLength(header.storedLength);
    }
    applied += fromThis;
    // A gone process's journal that held nothing to replay (say, the preallocated file of an open that failed
    // on a full disk) goes now rather than after recovery: its space may be what recovery needs to write.
    if (fromThis === 0 && journalOwnerGone(file)) fs.rmSync(file, { force: true });
  }
  if (applied > 0) monitor.emit({ kind: 'operation', op: 'journal-replay', ms: 0, events: applied });
  return applied;
}

/** Applies a record's writes; false when the feed shows it was superseded (a failed commit whose positions went to another). */
function applyRecord(root: string, journal: string, at: number, payload: Buffer, targets: TargetFiles): boolean {
  const bad = (why: string) => new FfcdbError(ErrorCode.CORRUPT, `${journal} record at byte ${at}: ${why}`, { file: journal, offset: at });
  let rows: unknown;
  try {
    rows = decodeMsgpack(payload);
  } catch {
    throw bad('payload is not msgpack');
  }
  if (!Array.isArray(rows)) throw bad('payload is not a list of writes');
  const writes: Write[] = [];
  for (const row of rows) {
    if (!Array.isArray(row) || row.length !== 3 || typeof row[0] !== 'string' || !Number.isSafeInteger(row[1]) || row[1] < 0 || !(row[2] instanceof Uint8Array)) {
      throw bad('a write is not [path, offset, bytes]');
    }
    const rel = path.normalize(row[0]);
    const top = rel.split(path.sep)[0];
    const target = path.resolve(root, rel);
    if ((top !== STREAMS_DIR && top !== FEED_DIR) || !target.startsWith(root + path.sep) || rel.includes('..')) {
      throw new FfcdbError(ErrorCode.UNSAFE_PATH, `${journal} names ${row[0]}, outside the store's logs`, { path: row[0] });
    }
    writes.push({ rel, target, offset: row[1], bytes: row[2] });
  }
  for (const w of writes) {
    if (w.rel.split(path.sep)[0] === FEED_DIR && supersededAt(w.target, w.offset, w.bytes)) return false;
  }
  // Checked whole before anything is written; sizes as this record's earlier writes leave them.
  const ends = new Map<string, number>();
  for (const w of writes) {
    const file = targets.get(w.target, w.rel.split(path.sep)[0] === FEED_DIR ? FEED_MAGIC : STREAM_MAGIC);
    const size = ends.get(w.target) ?? file.size;
    if (w.offset > size) throw bad(`it writes at byte ${w.offset} of ${w.rel}, past its end (${size} bytes), which would leave a hole`);
    const overlap = Math.min(w.offset + w.bytes.length, file.syncedEnd) - w.offset;
    if (overlap > 0 && !sameBytes(w.target, w.offset, w.bytes.subarray(0, overlap))) {
      throw bad(`it would change bytes ${w.offset}..${w.offset + overlap - 1} of ${w.rel}, frames of positions through ${targets.synced} that had reached the disk`);
    }
    ends.set(w.target, Math.max(size, w.offset + w.bytes.length));
  }
  for (const w of writes) writeAt(root, w.target, w.offset, w.bytes);
  for (const [target, end] of ends) targets.grown(target, end);
  return true;
}

/**
 * What replay knows of the log files it writes to: their size, as the disk and
 * the writes replayed so far leave it, and where their synced frames end (the
 * frames from the start of the file whose first position is at or below the
 * synced position; positions only grow along a log file).
 */
class TargetFiles {
  readonly synced: number;
  readonly #files = new Map<string, { size: number; syncedEnd: number }>();

  constructor(synced: number) {
    this.synced = synced;
  }

  get(file: string, magic: number): { size: number; syncedEnd: number } {
    let known = this.#files.get(file);
    if (!known) {
      const buf = readIfExists(file);
      let syncedEnd = 0;
      for (let at = 0; at < buf.length; ) {
        const header = parseHeader(buf, at, magic, buf.length);
        if (typeof header === 'string' || header.firstPosition > this.synced) break;
        at += frameLength(header.storedLength);
        syncedEnd = Math.min(at, buf.length);
      }
      known = { size: buf.length, syncedEnd };
      this.#files.set(file, known);
    }
    return known;
  }

  grown(file: string, end: number): void {
    const known = this.#files.get(file)!;
    known.size = Math.max(known.size, end);
  }
}

function readIfExists(file: string): Buffer {
  try {
    return readRegularFile(file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return Buffer.alloc(0);
    if ((err as NodeJS.ErrnoException).code === 'ELOOP') throw new FfcdbError(ErrorCode.UNSAFE_PATH, `${file} is a symlink`, { path: file });
    throw err instanceof FfcdbError ? err : ioError(err, file, 'read');
  }
}

function sameBytes(file: string, offset: number, expected: Uint8Array): boolean {
  const found = readIfExists(file).subarray(offset, offset + expected.length);
  return found.equals(expected);
}

/**
 * A whole, different feed frame where the record's feed frame belongs means its positions were given to another commit.
 * A group's record may hold several feed frames in one write: the frame found is compared with the first of them.
 */
function supersededAt(file: string, offset: number, expected: Uint8Array): boolean {
  let fd: number;
  try {
    fd = fs.openSync(file, fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW);
  } catch {
    return false;
  }
  try {
    // Not a file (a record naming the feed folder itself): TargetFiles refuses it.
    if (!fs.fstatSync(fd).isFile()) return false;
    // The frame found there is read by its own declared length, which need not be the record's.
    const head = Buffer.alloc(HEADER_BYTES);
    if (fs.readSync(fd, head, 0, HEADER_BYTES, offset) < HEADER_BYTES) return false;
    const header = parseHeader(head, 0, FEED_MAGIC, 1 << 20);
    if (typeof header === 'string') return false;
    const found = Buffer.alloc(frameLength(header.storedLength));
    if (fs.readSync(fd, found, 0, found.length, offset) < found.length) return false;
    return frameIntact(found, 0, header) && !found.equals(expected.subarray(0, found.length));
  } finally {
    fs.closeSync(fd);
  }
}

/** Creates missing folders (refusing symlinks on the way), then writes the bytes at the offset. */
function writeAt(root: string, file: string, offset: number, bytes: Uint8Array): void {
  let dir = root;
  for (const part of path.relative(root, path.dirname(file)).split(path.sep)) {
    dir = path.join(dir, part);
    if (!isRealDirectory(dir)) fs.mkdirSync(dir);
  }
  let fd: number;
  try {
    fd = fs.openSync(file, fs.constants.O_RDWR | fs.constants.O_CREAT | fs.constants.O_NOFOLLOW, 0o644);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ELOOP') throw new FfcdbError(ErrorCode.UNSAFE_PATH, `${file} is a symlink`, { path: file });
    throw ioError(err, file, 'open');
  }
  try {
    if (!fs.fstatSync(fd).isFile()) throw new FfcdbError(ErrorCode.UNSAFE_PATH, `${file} is not a regular file`, { path: file });
    writeAllSync(fd, bytes, offset);
  } catch (err) {
    throw err instanceof FfcdbError ? err : ioError(err, file, 'write');
  } finally {
    fs.closeSync(fd);
  }
}

function readRegularFile(file: string): Buffer {
  const fd = fs.openSync(file, fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW);
  try {
    if (!fs.fstatSync(fd).isFile()) throw new FfcdbError(ErrorCode.UNSAFE_PATH, `${file} is not a regular file`, { path: file });
    return fs.readFileSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}
