import fs from 'node:fs';
import path from 'node:path';
import { encodeMsgpack } from '../../codec/event-codec.js';
import { ErrorCode, FfcdbError, ioError } from '../../kernel/errors.js';
import { FLAG_BLANKED, encodeFrame, frameIntact, frameLength, parseHeader } from './frame.js';
import type { FaultInjection } from '../../storage/durable-files.js';
import { JOURNAL_DIR } from '../../storage/store-folder.js';
import { isRealDirectory } from '../../storage/durable-files.js';
import { fsyncDirSync, writeAllSync } from '../../storage/durable-files.js';

export const JOURNAL_MAGIC = 0x4a434646; // 'FFCJ'
const JOURNAL_SUFFIX = '.journal';
const JOURNAL_NAME = /^(\d+)-(\d+)\.journal$/;
const ZEROS = Buffer.alloc(1 << 20);
/** Journals that stores open in this process are using. */
const OPEN_JOURNALS = new Set<string>();

/** Bytes a commit wrote to one file, at one offset. */
export interface JournalWrite {
  file: string;
  offset: number;
  bytes: Buffer;
}

/**
 * One writer process's commit journal, for `always` durability. A commit group
 * writes its stream and feed frames as usual (to the page cache), then the same
 * bytes once more as one record here, and fdatasyncs only this file. The file
 * is preallocated and overwritten in place, so that fsync flushes data, not
 * file-size metadata: one cheap fsync per group, however many sessions it
 * touched. A checkpoint (fsync of the stream and feed files and of the folders they were created in, recorded in
 * `synced`) lets the journal start over. On open, records above `synced` are (journal-replay.ts)
 * written again where they belong (idempotent: the same bytes at the same
 * offsets), which restores what a power failure took from the page cache.
 *
 * Records are frames (see frame.ts) with magic 'FFCJ' whose payload is msgpack
 * [[path relative to the data folder, offset, bytes], ...]. A purge blanks them
 * (see `scrub`): same length, payload zeroed, flag FLAG_BLANKED; replay skips those.
 */
export class CommitJournal {
  readonly #root: string;
  readonly #file: string;
  readonly #size: number;
  readonly #faults: FaultInjection | undefined;
  #fd: number;
  #offset = 0;

  private constructor(root: string, file: string, fd: number, size: number, faults?: FaultInjection) {
    this.#root = root;
    this.#file = file;
    this.#fd = fd;
    this.#size = size;
    this.#faults = faults;
  }

  /** Creates this process's journal, zero-filled to `size` and fsynced with its folder entry. */
  static create(root: string, epoch: number, size: number, faults?: FaultInjection): CommitJournal {
    const dir = path.join(root, JOURNAL_DIR);
    const file = path.join(dir, `${epoch}-${process.pid}${JOURNAL_SUFFIX}`);
    let fd: number | undefined;
    try {
      if (!isRealDirectory(dir)) fs.mkdirSync(dir);
      fd = fs.openSync(file, fs.constants.O_RDWR | fs.constants.O_CREAT | fs.constants.O_TRUNC | fs.constants.O_NOFOLLOW, 0o644);
      for (let at = 0; at < size; at += ZEROS.length) {
        faults?.write?.(file);
        writeAllSync(fd, ZEROS.subarray(0, Math.min(ZEROS.length, size - at)), at);
      }
      faults?.sync?.(file);
      fs.fsyncSync(fd);
      fsyncDirSync(dir);
      fsyncDirSync(root);
      OPEN_JOURNALS.add(file);
      return new CommitJournal(root, file, fd, size, faults);
    } catch (err) {
      // An open that fails (say, on a nearly full disk) leaves no journal behind to hold the space.
      if (fd !== undefined) {
        try {
          fs.closeSync(fd);
          fs.rmSync(file, { force: true });
        } catch {
          // Nothing in it is needed; the next open removes it (see replayJournals).
        }
      }
      throw err instanceof FfcdbError ? err : ioError(err, file, 'create journal');
    }
  }

  /** Builds the record for a commit group (undefined when it cannot fit even an empty journal). */
  record(writes: readonly JournalWrite[], firstPosition: number, count: number, epoch: number): Buffer | undefined {
    const payload = encodeMsgpack(writes.map((w) => [path.relative(this.#root, w.file), w.offset, w.bytes]));
    if (frameLength(payload.length) > this.#size || count > 0xffff) return undefined;
    return encodeFrame(
      { magic: JOURNAL_MAGIC, flags: 0, count, epoch, rawLength: payload.length, linkOffset: 0, linkSegment: 0, firstVersion: 1, firstPosition },
      payload,
    );
  }

  fits(record: Buffer): boolean {
    return this.#offset + record.length <= this.#size;
  }

  /** Writes the record and fdatasyncs the journal; resolves with the offset it went to. An error is final for this journal, as for any file. */
  async append(record: Buffer): Promise<number> {
    try {
      this.#faults?.write?.(this.#file);
      writeAllSync(this.#fd, record, this.#offset);
      this.#faults?.sync?.(this.#file);
    } catch (err) {
      throw err instanceof FfcdbError ? err : ioError(err, this.#file, 'write');
    }
    await new Promise<void>((resolve, reject) => fs.fdatasync(this.#fd, (err) => (err ? reject(ioError(err, this.#file, 'fdatasync')) : resolve())));
    const at = this.#offset;
    this.#offset += record.length;
    return at;
  }

  /**
   * After a failed append: blot out the record it may have left (best effort; the
   * store is failed anyway), so that replay does not bring back a commit that was
   * reported as failed.
   */
  forgetFailed(record: Buffer): void {
    this.forget(this.#offset, record.length);
  }

  /** Blots out the record at `at` (one appended for a commit that failed after it), and appends go there again. Best effort, as forgetFailed. */
  forget(at: number, length: number): void {
    if (at + length === this.#offset) this.#offset = at;
    try {
      writeAllSync(this.#fd, Buffer.alloc(Math.min(length, 64)), at);
      fs.fdatasyncSync(this.#fd);
    } catch {
      // The disk is failing: replay checks records against the feed before applying them.
    }
  }

  /** Everything recorded so far is in the stream and feed files on disk: start over from the beginning. */
  rewind(): void {
    this.#offset = 0;
  }

  /** After a final checkpoint nothing in it is needed: the file goes. */
  close(remove: boolean): void {
    OPEN_JOURNALS.delete(this.#file);
    try {
      fs.closeSync(this.#fd);
      if (remove) fs.rmSync(this.#file, { force: true });
    } catch (err) {
      throw ioError(err, this.#file, 'close');
    }
  }

  /**
   * Erases the bytes of every journal in the store (other processes' too), so that none keeps a purged
   * stream's frames. Only for a writer holding the lock, right after a checkpoint of everything committed:
   * then replay needs no record. Records are blanked in place rather than zeroed, so that a journal's owner,
   * which goes on appending after its last record, leaves records that replay still walks to; bytes after the
   * last record (left from before the journal started over) are zeroed.
   */
  static scrub(root: string, faults?: FaultInjection): void {
    const dir = path.join(root, JOURNAL_DIR);
    if (!isRealDirectory(dir)) return;
    for (const name of fs.readdirSync(dir)) {
      if (JOURNAL_NAME.test(name)) scrubFile(path.join(dir, name), faults);
    }
  }

  /**
   * Removes the journals of processes that are gone (called once everything is synced), and this
   * process's own journals that no open store uses (left by a store that failed and was reopened).
   */
  static removeDead(root: string): void {
    const dir = path.join(root, JOURNAL_DIR);
    if (!isRealDirectory(dir)) return;
    for (const name of fs.readdirSync(dir)) {
      const file = path.join(dir, name);
      if (journalOwnerGone(file)) fs.rmSync(file, { force: true });
    }
  }
}

function scrubFile(file: string, faults: FaultInjection | undefined): void {
  let fd: number;
  try {
    fd = fs.openSync(file, fs.constants.O_RDWR | fs.constants.O_NOFOLLOW);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return; // its owner closed the store and removed it
    throw ioError(err, file, 'open');
  }
  try {
    if (!fs.fstatSync(fd).isFile()) throw new FfcdbError(ErrorCode.UNSAFE_PATH, `${file} is not a regular file`, { path: file });
    const buf = fs.readFileSync(fd);
    let wrote = false;
    const write = (bytes: Buffer, at: number) => {
      faults?.write?.(file);
      writeAllSync(fd, bytes, at);
      wrote = true;
    };
    let at = 0;
    for (;;) {
      const header = parseHeader(buf, at, JOURNAL_MAGIC, buf.length);
      if (typeof header === 'string' || !frameIntact(buf, at, header)) break;
      if ((header.flags & FLAG_BLANKED) === 0) {
        write(encodeFrame({ ...header, flags: FLAG_BLANKED, rawLength: header.storedLength }, Buffer.alloc(header.storedLength)), at);
      }
      at += frameLength(header.storedLength);
    }
    for (; at < buf.length; at += ZEROS.length) {
      const rest = buf.subarray(at, at + ZEROS.length);
      if (!rest.equals(ZEROS.subarray(0, rest.length))) write(ZEROS.subarray(0, rest.length), at);
    }
    if (wrote) {
      faults?.sync?.(file);
      fs.fdatasyncSync(fd);
    }
  } catch (err) {
    throw err instanceof FfcdbError ? err : ioError(err, file, 'scrub');
  } finally {
    fs.closeSync(fd);
  }
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** The epoch in a journal's file name, or undefined when the name is not a journal's. */
export function journalEpoch(name: string): number | undefined {
  const m = JOURNAL_NAME.exec(name);
  return m ? Number(m[1]) : undefined;
}

/** No store uses the journal: its process is gone, or it is this process's and no open store of it holds it. */
export function journalOwnerGone(file: string): boolean {
  const m = JOURNAL_NAME.exec(path.basename(file));
  if (!m) return false;
  const pid = Number(m[2]);
  return pid === process.pid ? !OPEN_JOURNALS.has(file) : !processAlive(pid);
}
