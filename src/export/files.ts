import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { fsyncDirSync } from '../storage/durable-files.js';
import { isStore } from '../storage/store-folder.js';
import { ErrorCode, FfcdbError, ioError } from '../kernel/errors.js';
import { corruptLine } from './format.js';

/** File helpers of export and import: buffered hashed writes, hashed line reads, and folders that appear whole. */

const WRITE_BATCH = 1 << 20;
/** A line longer than this is damage, not an event (an event's payload is at most 32 MiB, so its JSON far less than this). */
const MAX_LINE = 256 * 2 ** 20;
/** O_NOFOLLOW refuses a symlink; O_NONBLOCK keeps a planted FIFO from hanging the open. */
const READ_FLAGS = fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW | fs.constants.O_NONBLOCK;

/**
 * Opens a file of an export folder to read (`name` is its path inside the
 * folder, for messages): it must be a regular file, not a symlink or a special
 * file (CORRUPT, as for a blob file). Resolves with its descriptor and size;
 * other failures are IO (details.errno ENOENT when it does not exist).
 */
export function openRegularFile(file: string, name: string): { fd: number; size: number } {
  let fd: number;
  try {
    fd = fs.openSync(file, READ_FLAGS);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ELOOP') throw notRegularFile(name);
    throw ioError(err, file, 'open');
  }
  try {
    const stat = fs.fstatSync(fd);
    if (!stat.isFile()) throw notRegularFile(name);
    return { fd, size: stat.size };
  } catch (err) {
    fs.closeSync(fd);
    throw err instanceof FfcdbError ? err : ioError(err, file, 'fstat');
  }
}

export function notRegularFile(name: string, details: Record<string, unknown> = {}): FfcdbError {
  return new FfcdbError(ErrorCode.CORRUPT, `${name} is not a regular file (symlinks and special files are refused)`, { file: name, ...details });
}

/** Appends to a file in batches of about 1 MiB, hashing and counting what it writes. */
export class HashedWriter {
  readonly #fh: FileHandle;
  readonly #file: string;
  readonly #hash = createHash('sha256');
  #pending: Buffer[] = [];
  #pendingBytes = 0;
  bytes = 0;

  private constructor(fh: FileHandle, file: string) {
    this.#fh = fh;
    this.#file = file;
  }

  static async create(file: string): Promise<HashedWriter> {
    const fh = await fs.promises.open(file, 'wx').catch((err: unknown) => {
      throw ioError(err, file, 'open');
    });
    return new HashedWriter(fh, file);
  }

  async write(chunk: Buffer): Promise<void> {
    this.#hash.update(chunk);
    this.bytes += chunk.length;
    this.#pending.push(chunk);
    this.#pendingBytes += chunk.length;
    if (this.#pendingBytes >= WRITE_BATCH) await this.#flush();
  }

  /** Flushes, fsyncs and closes; resolves with the sha256 of everything written. */
  async finish(): Promise<string> {
    try {
      await this.#flush();
      await this.#fh.sync();
    } catch (err) {
      throw ioError(err, this.#file, 'write');
    } finally {
      await this.#fh.close();
    }
    return this.#hash.digest('hex');
  }

  /** Closes without finishing, after a failure. */
  async abandon(): Promise<void> {
    await this.#fh.close().catch(() => undefined);
  }

  async #flush(): Promise<void> {
    if (this.#pendingBytes === 0) return;
    const chunks = this.#pending;
    this.#pending = [];
    this.#pendingBytes = 0;
    await this.#fh.writev(chunks).catch((err: unknown) => {
      throw ioError(err, this.#file, 'write');
    });
  }
}

/**
 * The lines of a file (without their newlines), numbered from 1, with
 * constant memory; `hash` holds the sha256 of every byte read so far. The
 * last line must end with a newline: a file cut short is CORRUPT.
 */
export class LineReader {
  readonly hash = createHash('sha256');
  bytes = 0;
  readonly #file: string;
  readonly #name: string;

  /** `name`: the file's path inside the export folder (a symlink or special file there is refused; see openRegularFile). */
  constructor(file: string, name: string) {
    this.#file = file;
    this.#name = name;
  }

  async *lines(): AsyncGenerator<{ line: Buffer; lineNo: number }> {
    let carry: Buffer[] = [];
    let carryBytes = 0;
    let lineNo = 0;
    const { fd } = openRegularFile(this.#file, this.#name);
    const stream = fs.createReadStream(this.#file, { fd, highWaterMark: WRITE_BATCH });
    try {
      for await (const chunk of stream as AsyncIterable<Buffer>) {
        this.hash.update(chunk);
        this.bytes += chunk.length;
        let start = 0;
        for (let nl = chunk.indexOf(10); nl !== -1; nl = chunk.indexOf(10, start)) {
          const piece = chunk.subarray(start, nl);
          const line = carryBytes === 0 ? piece : Buffer.concat([...carry, piece]);
          carry = [];
          carryBytes = 0;
          start = nl + 1;
          yield { line, lineNo: ++lineNo };
        }
        if (start < chunk.length) {
          carry.push(chunk.subarray(start));
          carryBytes += chunk.length - start;
          if (carryBytes > MAX_LINE) throw corruptLine(lineNo + 1, `is longer than ${MAX_LINE} bytes`);
        }
      }
    } catch (err) {
      throw err instanceof FfcdbError ? err : ioError(err, this.#file, 'read');
    } finally {
      stream.destroy();
    }
    if (carryBytes > 0) throw corruptLine(lineNo + 1, 'is cut short: the file does not end with a newline');
  }
}

/** The sha256 of a file's bytes, streamed. */
export async function hashFile(file: string): Promise<string> {
  const hash = createHash('sha256');
  try {
    for await (const chunk of fs.createReadStream(file, { highWaterMark: WRITE_BATCH }) as AsyncIterable<Buffer>) hash.update(chunk);
  } catch (err) {
    throw ioError(err, file, 'read');
  }
  return hash.digest('hex');
}

/** A new folder beside `target`, named so that it is plainly unfinished, to be moved into place with `moveIntoPlace`. */
export function siblingTemp(target: string): string {
  const dir = path.join(path.dirname(target), `.${path.basename(target)}.partial-${process.pid}-${randomBytes(4).toString('hex')}`);
  try {
    fs.mkdirSync(dir);
  } catch (err) {
    throw ioError(err, dir, 'mkdir');
  }
  return dir;
}

/**
 * Renames a finished folder to `target` and fsyncs the parent. rename(2)
 * replaces an empty folder and fails on any other: a target that filled up
 * meanwhile is reported, never overwritten.
 */
export function moveIntoPlace(temp: string, target: string): void {
  try {
    fsyncDirSync(temp);
    fs.renameSync(temp, target);
    fsyncDirSync(path.dirname(target));
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOTEMPTY' || code === 'EEXIST') {
      throw new FfcdbError(ErrorCode.CONFLICT, `${target} was filled while the work ran; nothing was moved into it`, { path: target });
    }
    throw ioError(err, target, 'rename');
  }
}

/** Refuses a target that exists and is not an empty folder. */
export function assertFreeTarget(target: string, field: string): void {
  let entries: string[];
  try {
    entries = fs.readdirSync(target);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return;
    if (code === 'ENOTDIR') throw new FfcdbError(ErrorCode.CONFLICT, `${target} exists and is not a folder`, { field, path: target });
    throw ioError(err, target, 'readdir');
  }
  if (entries.length > 0) {
    const what = isStore(target) ? 'holds a store' : `is not empty (${entries.length} entries)`;
    throw new FfcdbError(ErrorCode.CONFLICT, `${target} ${what}; give a new or empty folder`, { field, path: target });
  }
}
