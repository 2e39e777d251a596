import fs from 'node:fs';
import path from 'node:path';
import { decodeMsgpack, encodeMsgpack } from '../../codec/event-codec.js';
import type { MonitorSink } from '../backend.js';
import { assertStreamId } from '../../kernel/validation.js';
import { ErrorCode, FfcdbError, ioError } from '../../kernel/errors.js';
import type { FaultInjection } from '../../storage/durable-files.js';
import { encodeFrame, frameIntact, frameLength, framePayload, parseHeader } from './frame.js';
import { PURGED_FILE } from '../../storage/store-folder.js';
import { corruptAt, scanSegment } from './segment-scan.js';
import { fsyncDirSync, writeAllSync } from '../../storage/durable-files.js';

const TOMBSTONE_MAGIC = 0x54434646; // 'FFCT'
/** A tombstone's payload is a stream id (at most 128 characters) and a version: far below this. */
const MAX_PAYLOAD = 1024;

/**
 * The `purged` file: one frame (magic 'FFCT') per purged stream, appended under
 * the writer lock and fsynced before the stream's files are deleted. Its payload
 * is msgpack [streamId, version]; the header's first position numbers the purges
 * 1, 2, 3 ... The file only grows, so every process keeps a descriptor on it and
 * learns of other processes' purges with one fstat per read: nothing is loaded
 * again unless it grew.
 */
export class Tombstones {
  readonly #root: string;
  readonly #file: string;
  readonly #faults: FaultInjection | undefined;
  /** A read-only store opens the file for reading, never creates or cuts it, and looks for it again while it is missing. */
  readonly #readOnly: boolean;
  #missing = false;
  #fd: number | undefined;
  /** End of the last whole frame read: every tombstone before it is known. */
  #end = 0;
  readonly #versions = new Map<string, number>();
  /** Stream ids in purge order. */
  readonly #order: string[] = [];

  constructor(root: string, faults?: FaultInjection, readOnly = false) {
    this.#root = root;
    this.#file = path.join(root, PURGED_FILE);
    this.#faults = faults;
    this.#readOnly = readOnly;
  }

  get file(): string {
    return this.#file;
  }

  /** How many streams were purged. */
  get count(): number {
    return this.#order.length;
  }

  /** The version a purged stream had; undefined when it was not purged. */
  version(streamId: string): number | undefined {
    return this.#versions.get(streamId);
  }

  has(streamId: string): boolean {
    return this.#versions.has(streamId);
  }

  /** Streams purged from the `index`th purge (0-based) on. */
  since(index: number): string[] {
    return this.#order.slice(index);
  }

  /**
   * Opening, under the writer lock: creates the file when the store has none
   * yet, reads every tombstone, and cuts a torn tail (a purger that died while
   * writing its tombstone: that purge never happened).
   */
  load(monitor: MonitorSink): void {
    try {
      this.#fd = fs.openSync(this.#file, (this.#readOnly ? fs.constants.O_RDONLY : fs.constants.O_RDWR) | fs.constants.O_NOFOLLOW);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ELOOP') throw new FfcdbError(ErrorCode.UNSAFE_PATH, `${this.#file} is a symlink; the store refuses symlinks`, { path: this.#file });
      if (code !== 'ENOENT') throw this.#error(err, 'open');
      // No purge yet, and this process may not create the file: it is looked for again on refresh.
      if (this.#readOnly) {
        this.#missing = true;
        return;
      }
      try {
        this.#fd = fs.openSync(this.#file, fs.constants.O_RDWR | fs.constants.O_CREAT | fs.constants.O_EXCL | fs.constants.O_NOFOLLOW, 0o644);
        fsyncDirSync(this.#root);
      } catch (createErr) {
        throw this.#error(createErr, 'create');
      }
    }
    let buf: Buffer;
    try {
      if (!fs.fstatSync(this.#fd).isFile()) throw new FfcdbError(ErrorCode.UNSAFE_PATH, `${this.#file} is not a regular file`, { path: this.#file });
      buf = fs.readFileSync(this.#fd);
    } catch (err) {
      throw this.#error(err, 'read');
    }
    const scan = scanSegment(buf, this.#file, TOMBSTONE_MAGIC, MAX_PAYLOAD);
    // Read-only, a torn tombstone stays (refresh reads it if its purger was still writing it).
    if (scan.tornTail && this.#readOnly) {
      monitor.emit({ kind: 'tail-ignored', file: this.#file, fromBytes: buf.length, toBytes: scan.validEnd, reason: scan.tornTail.reason });
    } else if (scan.tornTail) {
      this.#truncate(scan.validEnd);
      monitor.emit({ kind: 'tail-truncated', file: this.#file, fromBytes: buf.length, toBytes: scan.validEnd, reason: scan.tornTail.reason });
    }
    for (const f of scan.frames) this.#note(buf, f.offset, f.offset);
    this.#end = scan.validEnd;
  }

  /**
   * Reads the tombstones other processes appended since we last looked; returns
   * their stream ids. Stops before a partial frame: its writer may be writing it.
   */
  refresh(): string[] {
    if (this.#missing) this.#openCreated();
    const fd = this.#fd;
    if (fd === undefined) return []; // closed: the store is closing and reads nothing more
    let size: number;
    try {
      size = fs.fstatSync(fd).size;
    } catch (err) {
      throw this.#error(err, 'fstat');
    }
    if (size <= this.#end) return [];
    const buf = Buffer.alloc(size - this.#end);
    try {
      fs.readSync(fd, buf, 0, buf.length, this.#end);
    } catch (err) {
      throw this.#error(err, 'read');
    }
    const learned: string[] = [];
    let at = 0;
    while (at < buf.length) {
      const header = parseHeader(buf, at, TOMBSTONE_MAGIC, MAX_PAYLOAD);
      if (typeof header === 'string' || !frameIntact(buf, at, header)) break;
      learned.push(this.#note(buf, at, this.#end + at));
      at += frameLength(header.storedLength);
    }
    this.#end += at;
    return learned;
  }

  /**
   * Under the writer lock: appends a tombstone and fsyncs it. Once this returns
   * the purge has happened, whatever happens to the process next.
   */
  append(streamId: string, version: number, epoch: number): void {
    this.refresh();
    const fd = this.#fd!;
    const payload = encodeMsgpack([streamId, version]);
    const frame = encodeFrame(
      { magic: TOMBSTONE_MAGIC, flags: 0, count: 1, epoch, rawLength: payload.length, linkOffset: 0, linkSegment: 0, firstVersion: 1, firstPosition: this.count + 1 },
      payload,
    );
    try {
      // Bytes past the last whole tombstone are a purger's torn write: ours goes over them.
      if (fs.fstatSync(fd).size > this.#end) this.#truncate(this.#end);
      this.#faults?.write?.(this.#file);
      writeAllSync(fd, frame, this.#end);
      this.#faults?.sync?.(this.#file);
      fs.fdatasyncSync(fd);
    } catch (err) {
      throw this.#error(err, 'write');
    }
    this.#note(frame, 0, this.#end);
    this.#end += frame.length;
  }

  close(): void {
    const fd = this.#fd;
    this.#fd = undefined;
    this.#missing = false;
    try {
      if (fd !== undefined) fs.closeSync(fd);
    } catch (err) {
      throw this.#error(err, 'close');
    }
  }

  /** Read-only, while the file is missing: opens it once a writer has created it. */
  #openCreated(): void {
    try {
      this.#fd = fs.openSync(this.#file, fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW);
      this.#missing = false;
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ELOOP') throw new FfcdbError(ErrorCode.UNSAFE_PATH, `${this.#file} is a symlink; the store refuses symlinks`, { path: this.#file });
      if (code !== 'ENOENT') throw this.#error(err, 'open');
    }
  }

  /** Records the tombstone in `buf` at `at` (at `offset` in the file); returns its stream id. */
  #note(buf: Buffer, at: number, offset: number): string {
    const header = parseHeader(buf, at, TOMBSTONE_MAGIC, MAX_PAYLOAD);
    if (typeof header === 'string') throw corruptAt(this.#file, offset, `bad tombstone header (${header})`);
    const row = decodeMsgpack(framePayload(buf, at, header));
    const valid = Array.isArray(row) && row.length === 2 && Number.isSafeInteger(row[1]) && row[1] >= 1 && isStreamId(row[0]);
    if (!valid || header.firstPosition !== this.count + 1) throw corruptAt(this.#file, offset, 'not a tombstone [streamId, version] in purge order');
    const [streamId, version] = row as [string, number];
    this.#order.push(streamId);
    this.#versions.set(streamId, version);
    return streamId;
  }

  #truncate(length: number): void {
    try {
      fs.ftruncateSync(this.#fd!, length);
      fs.fdatasyncSync(this.#fd!);
    } catch (err) {
      throw this.#error(err, 'ftruncate');
    }
  }

  #error(err: unknown, syscall: string): FfcdbError {
    return err instanceof FfcdbError ? err : ioError(err, this.#file, syscall);
  }
}

function isStreamId(value: unknown): value is string {
  try {
    assertStreamId(value);
    return true;
  } catch {
    return false;
  }
}
