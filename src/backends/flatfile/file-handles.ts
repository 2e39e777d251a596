import fs from 'node:fs';
import path from 'node:path';
import { ErrorCode, FfcdbError, ioError, readOnlyError } from '../../kernel/errors.js';
import type { FaultInjection } from '../../storage/durable-files.js';
import { writeAllSync } from '../../storage/durable-files.js';

const OPEN_FLAGS = fs.constants.O_RDWR | fs.constants.O_NOFOLLOW;
const READ_ONLY_FLAGS = fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW;

/**
 * An LRU of open file descriptors. Nobody keeps an fd across an await: they
 * ask for it again, so an evicted (closed, maybe reused) number is never used.
 * A file is not closed while an fsync on it is in flight. Closing a file with
 * unsynced writes is fine: a later fsync through a new descriptor flushes the
 * same inode.
 */
export class FileHandles {
  readonly #open = new Map<string, number>();
  /** Files with an fsync in flight, and how many. */
  readonly #syncing = new Map<string, number>();
  readonly #max: number;
  readonly #faults: FaultInjection | undefined;
  /** Files are opened for reading only (a read-only store), and every change to them is refused. */
  readonly readOnly: boolean;

  constructor(max: number, faults?: FaultInjection, readOnly = false) {
    this.#max = max;
    this.#faults = faults;
    this.readOnly = readOnly;
  }

  /** Opens an existing file (or creates it when `create`); undefined when it does not exist. */
  get(file: string, create = false): number | undefined {
    const fd = this.#get(file, create);
    this.#evict(file);
    return fd;
  }

  #get(file: string, create: boolean): number | undefined {
    const fd = this.#open.get(file);
    if (fd !== undefined) {
      this.#open.delete(file);
      this.#open.set(file, fd);
      return fd;
    }
    let opened: number;
    try {
      opened = this.#openFile(file, create);
    } catch (err) {
      if (err instanceof FfcdbError) throw err;
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' && !create) return undefined;
      if (code === 'ELOOP') throw new FfcdbError(ErrorCode.UNSAFE_PATH, `${file} is a symlink; the store refuses symlinks`, { path: file });
      throw ioError(err, file, 'open');
    }
    let regular: boolean;
    try {
      regular = fs.fstatSync(opened).isFile();
    } catch (err) {
      fs.closeSync(opened);
      throw ioError(err, file, 'fstat');
    }
    if (!regular) {
      fs.closeSync(opened);
      throw new FfcdbError(ErrorCode.UNSAFE_PATH, `${file} is not a regular file`, { path: file });
    }
    this.#open.set(file, opened);
    return opened;
  }

  size(file: string): number {
    const fd = this.get(file);
    if (fd === undefined) return -1;
    try {
      return fs.fstatSync(fd).size;
    } catch (err) {
      throw ioError(err, file, 'fstat');
    }
  }

  read(file: string, position: number, length: number): Buffer {
    const fd = this.get(file);
    if (fd === undefined) throw new FfcdbError(ErrorCode.NOT_FOUND, `${file} does not exist`, { file });
    const buf = Buffer.allocUnsafe(length);
    let got = 0;
    try {
      while (got < length) {
        const n = fs.readSync(fd, buf, got, length - got, position + got);
        if (n === 0) break;
        got += n;
      }
    } catch (err) {
      throw ioError(err, file, 'read');
    }
    return got === length ? buf : buf.subarray(0, got);
  }

  readAll(file: string): Buffer {
    const fd = this.get(file);
    if (fd === undefined) return Buffer.alloc(0);
    return this.read(file, 0, this.size(file));
  }

  write(file: string, data: Buffer, position: number, create = false): void {
    this.#assertWritable('write');
    const fd = this.get(file, create)!;
    try {
      this.#faults?.write?.(file);
      writeAllSync(fd, data, position);
    } catch (err) {
      throw err instanceof FfcdbError ? err : ioError(err, file, 'write');
    }
  }

  truncate(file: string, length: number): void {
    this.#assertWritable('truncate');
    const fd = this.get(file);
    if (fd === undefined) return;
    try {
      fs.ftruncateSync(fd, length);
      fs.fdatasyncSync(fd);
    } catch (err) {
      throw ioError(err, file, 'ftruncate');
    }
  }

  /** Deletes a file, closing our descriptor first so no later write lands in the unlinked inode. */
  remove(file: string): void {
    this.#assertWritable('remove');
    const fd = this.#open.get(file);
    if (fd !== undefined) {
      this.#open.delete(file);
      fs.closeSync(fd);
    }
    try {
      fs.rmSync(file);
    } catch (err) {
      throw ioError(err, file, 'unlink');
    }
  }

  /**
   * Closes our descriptors of the files in a folder that is about to go (a purged stream's), so that none
   * keeps a deleted file alive. Files with an fsync in flight keep theirs until the LRU closes it.
   */
  closeUnder(dir: string): void {
    const prefix = dir + path.sep;
    for (const [file, fd] of this.#open) {
      if (!file.startsWith(prefix) || this.#syncing.has(file)) continue;
      this.#open.delete(file);
      fs.closeSync(fd);
    }
  }

  /** fdatasyncs every given file in parallel. An error is final: the caller must not retry on this handle. */
  async sync(files: Iterable<string>): Promise<void> {
    const jobs: Promise<void>[] = [];
    // Pinned before any is opened, so opening one cannot close another.
    const pinned = [...new Set(files)];
    for (const file of pinned) this.#syncing.set(file, (this.#syncing.get(file) ?? 0) + 1);
    for (const file of pinned) {
      let fd: number | undefined;
      try {
        fd = this.get(file);
      } catch (err) {
        jobs.push(Promise.reject(err));
        continue;
      }
      if (fd === undefined) continue;
      jobs.push(
        new Promise<void>((resolve, reject) => {
          try {
            this.#faults?.sync?.(file);
          } catch (err) {
            reject(ioError(err, file, 'fdatasync'));
            return;
          }
          fs.fdatasync(fd, (err) => (err ? reject(ioError(err, file, 'fdatasync')) : resolve()));
        }),
      );
    }
    const results = await Promise.allSettled(jobs);
    for (const file of pinned) {
      const n = this.#syncing.get(file)! - 1;
      if (n === 0) this.#syncing.delete(file);
      else this.#syncing.set(file, n);
    }
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) throw failed.reason;
    this.#evict();
  }

  /** Files with an fsync in flight (which the LRU keeps open). */
  syncingFiles(): string[] {
    return [...this.#syncing.keys()];
  }

  /** Closes every file, all of them even when one fails (IO, the first failure). */
  closeAll(): void {
    let failure: FfcdbError | undefined;
    for (const [file, fd] of this.#open) {
      try {
        fs.closeSync(fd);
      } catch (err) {
        failure ??= ioError(err, file, 'close');
      }
    }
    this.#open.clear();
    if (failure) throw failure;
  }

  #assertWritable(op: string): void {
    if (this.readOnly) throw readOnlyError(op);
  }

  #openFile(file: string, create: boolean): number {
    if (create) this.#assertWritable('create');
    const flags = this.readOnly ? READ_ONLY_FLAGS : create ? OPEN_FLAGS | fs.constants.O_CREAT : OPEN_FLAGS;
    try {
      return fs.openSync(file, flags, 0o644);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EMFILE' || this.#open.size === 0) throw err;
      // The process ran out of descriptors (its limit is below ours, or others use many): give back half of ours.
      this.#shrink(Math.floor(this.#open.size / 2));
      return fs.openSync(file, flags, 0o644);
    }
  }

  /** Closes the least recently used clean files beyond the limit, never `keep` (the one just asked for). */
  #evict(keep?: string): void {
    if (this.#open.size > this.#max) this.#shrink(this.#max, keep);
  }

  /** Closes least recently used files until at most `target` are open, sparing files being fsynced and `keep`. */
  #shrink(target: number, keep?: string): void {
    for (const [file, fd] of this.#open) {
      if (this.#open.size <= target) break;
      if (this.#syncing.has(file) || file === keep) continue;
      this.#open.delete(file);
      fs.closeSync(fd);
    }
  }
}

