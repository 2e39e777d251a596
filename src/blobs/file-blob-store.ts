import { createHash, randomBytes, type Hash } from 'node:crypto';
import fs from 'node:fs';
import fsp, { type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';
import { setImmediate } from 'node:timers/promises';
import { syncDirectories } from '../storage/durable-files.js';
import { BLOBS_DIR } from '../storage/store-folder.js';
import { isRealDirectory } from '../storage/durable-files.js';
import { fsyncDirSync, makeRoot } from '../storage/durable-files.js';
import { WriterLock } from '../storage/writer-lock.js';
import { assertPositiveInteger } from '../kernel/validation.js';
import { ErrorCode, FfcdbError, ioError } from '../kernel/errors.js';
import {
  DEFAULT_MAX_BLOB_BYTES,
  StoreGate,
  assertMaxBytes,
  assertSha256,
  blobNotFound,
  hashMismatch,
  isSha256,
  putLimit,
  resolveRange,
  sourceChunks,
  tooLarge,
  type BlobInfo,
  type BlobSource,
  type BlobStore,
  type ByteRange,
  type PutOptions,
} from './blob-store.js';

/**
 * Blobs as files, under the folder given:
 *
 *   blobs/ab/cd/<sha256>                 a blob; ab/cd are its first four hex digits, so
 *                                        a million blobs put about 15 files in each of 65,536 folders
 *   blobs/tmp/<pid>-<random>.tmp         uploads in progress
 *   blobs/writer.lock/, writer.waiting,  the cross-process blob lock (the flatfile writer
 *   writer.owner                         lock's files, in this folder)
 *
 * A put streams into a temporary file, hashing the same chunks it writes,
 * fsyncs it, hard-links it to its hash's name and fsyncs the folders that
 * changed. `link` fails when the name exists, so two processes putting the
 * same bytes agree on which one created the blob, and a reader never sees a
 * partial blob. After a crash, temporary files are removed when a store
 * opens, once they are older than `staleTempMs` (another process may still be
 * writing a younger one).
 */
export interface FileBlobStoreOptions {
  /** Largest blob `put` takes unless told otherwise. Default 100 MiB. */
  maxBytes?: number;
  /** A lock holder that stops refreshing the lock (a dead process) loses it after this long. Default 10 s. */
  lockStaleMs?: number;
  /** `withLock` gives up with LOCKED after waiting this long. Default 30 s. */
  lockTimeoutMs?: number;
  /** Temporary files older than this are a crashed upload's and removed on open. Default 1 hour: an upload stalled that long is dead. */
  staleTempMs?: number;
}

const TMP_DIR = 'tmp';
const TEMP_NAME = /^\d+-[0-9a-f]{16}\.tmp$/;
const SHARD_NAME = /^[0-9a-f]{2}$/;
/** Small chunks are gathered into writes of about this many bytes: few syscalls. */
const WRITE_BATCH = 1 << 20;
/** Bytes handed to the writes and not yet written, above which the source is not read further. */
const MAX_QUEUED = 8 * WRITE_BATCH;
/** Hashing yields to the event loop after this many bytes, so the writes behind it keep going. */
const HASH_SLICE = 1 << 20;
/** Linux's IOV_MAX: one writev takes at most this many buffers. */
const MAX_IOV = 1024;
const READ_CHUNK = 256 * 1024;
const READ_FLAGS = fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW | fs.constants.O_NONBLOCK;
const TEMP_FLAGS = fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_EXCL | fs.constants.O_NOFOLLOW;

export class FileBlobStore implements BlobStore {
  /** The blobs folder: `<root>/blobs`, root resolved through symlinks. */
  readonly dir: string;
  readonly #tmp: string;
  readonly #maxBytes: number;
  readonly #lockTimeoutMs: number;
  readonly #gate = new StoreGate('file blob store');
  readonly #lock: WriterLock;
  #lockLost: FfcdbError | undefined;
  /** Shard folders ('ab', 'abcd') checked to be real folders, so reads need not lstat them again. */
  readonly #realShards = new Set<string>();
  /** Shard folders whose own entry is known durable: their parent was fsynced after they appeared, by whoever made them. */
  readonly #durableShards = new Set<string>();

  constructor(root: string, options: FileBlobStoreOptions = {}) {
    const { maxBytes = DEFAULT_MAX_BLOB_BYTES, lockStaleMs = 10_000, lockTimeoutMs = 30_000, staleTempMs = 3_600_000 } = options;
    assertMaxBytes(maxBytes);
    assertPositiveInteger(lockStaleMs, 'lockStaleMs');
    assertPositiveInteger(lockTimeoutMs, 'lockTimeoutMs', 0);
    assertPositiveInteger(staleTempMs, 'staleTempMs', 0);
    this.#maxBytes = maxBytes;
    this.#lockTimeoutMs = lockTimeoutMs;
    const base = makeRoot(root);
    this.dir = path.join(base, BLOBS_DIR);
    this.#tmp = path.join(this.dir, TMP_DIR);
    ensureRealDir(this.dir);
    ensureRealDir(this.#tmp);
    try {
      // Whoever created blobs/, its entry must be on disk before a blob in it is acknowledged.
      fsyncDirSync(base);
    } catch (err) {
      throw ioError(err, base, 'fsync');
    }
    this.#removeStaleTemps(staleTempMs);
    this.#lock = new WriterLock(this.dir, lockStaleMs, (err) => {
      this.#lockLost = err;
    });
  }

  put(source: BlobSource, options?: PutOptions): Promise<BlobInfo & { created: boolean }> {
    return this.#gate.run(async () => {
      const { maxBytes, expectedSha256 } = putLimit(options, this.#maxBytes);
      // Refused before a temporary file exists.
      if (source instanceof Uint8Array && source.length > maxBytes) throw tooLarge(maxBytes);
      const tmp = path.join(this.#tmp, `${process.pid}-${randomBytes(8).toString('hex')}.tmp`);
      let fh: FileHandle | undefined;
      try {
        fh = await fsp.open(tmp, TEMP_FLAGS, 0o644).catch((err: unknown) => {
          throw ioError(err, tmp, 'open');
        });
        const { sha256, size } = await writeHashedAndSync(fh, sourceChunks(source, maxBytes), tmp);
        if (expectedSha256 !== undefined && expectedSha256 !== sha256) throw hashMismatch(expectedSha256, sha256);
        const closing = fh;
        fh = undefined;
        await closing.close().catch((err: unknown) => {
          throw ioError(err, tmp, 'close');
        });
        this.#makeShardDirs(sha256);
        const created = await this.#link(tmp, this.#blobPath(sha256), sha256);
        // Also when the blob was there already: its maker may not have fsynced its folders yet.
        await this.#syncShard(sha256);
        return { sha256, size, created };
      } finally {
        await fh?.close().catch(() => undefined);
        // The blob (if any) is linked; a temporary name that cannot be removed now goes on the next open.
        await fsp.unlink(tmp).catch(() => undefined);
      }
    });
  }

  has(sha256: string): Promise<boolean> {
    return this.#gate.run(async () => (await this.#lstat(sha256)) !== undefined);
  }

  stat(sha256: string): Promise<BlobInfo> {
    return this.#gate.run(async () => {
      const st = await this.#lstat(sha256);
      if (!st) throw blobNotFound(sha256);
      return { sha256, size: st.size };
    });
  }

  read(sha256: string): Promise<Buffer> {
    return this.#gate.run(async () => {
      const { fh, file } = await this.#openBlob(sha256);
      try {
        return await fh.readFile();
      } catch (err) {
        throw ioError(err, file, 'read');
      } finally {
        await fh.close().catch(() => undefined);
      }
    });
  }

  openRead(sha256: string, range?: ByteRange): Promise<Readable> {
    return this.#gate.run(async () => {
      const { fh, file, size } = await this.#openBlob(sha256);
      let span: { start: number; end: number };
      try {
        span = resolveRange(range, size);
      } catch (err) {
        await fh.close().catch(() => undefined);
        throw err;
      }
      return Readable.from(readRange(fh, file, span.start, span.end), { objectMode: false });
    });
  }

  delete(sha256: string): Promise<boolean> {
    return this.#gate.run(async () => {
      const file = this.#blobPath(sha256);
      if (!(await this.#lstat(sha256, file))) return false;
      try {
        await fsp.unlink(file);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
        throw ioError(err, file, 'unlink');
      }
      await syncDirectories([path.dirname(file)]);
      return true;
    });
  }

  withLock<T>(fn: () => Promise<T>): Promise<T> {
    return this.#gate.withLock(fn, async (f) => {
      this.#lockLost = undefined;
      await this.#lock.acquire(this.#lockTimeoutMs);
      // fn's outcome is kept, not thrown at once: releasing the lock comes first, and its failures take precedence.
      let outcome: { value: T } | { error: unknown };
      try {
        outcome = { value: await f() };
      } catch (error) {
        outcome = { error };
      }
      const lost =
        this.#lockLost ??
        (this.#lock.stillOurs() ? undefined : new FfcdbError(ErrorCode.LOCKED, `the blob lock on ${this.dir} was taken over while held`, { dir: this.dir }));
      await this.#lock.release().catch((err: unknown) => {
        throw ioError(err, this.dir, 'unlock');
      });
      // Reported over fn's own outcome: fn ran without the lock's protection for a while.
      if (lost) throw lost;
      if ('error' in outcome) throw outcome.error;
      return outcome.value;
    });
  }

  async *list(): AsyncGenerator<BlobInfo> {
    this.#gate.assertOpen();
    for (const mid of await shardsOf(this.dir)) {
      for (const leaf of await shardsOf(path.join(this.dir, mid))) {
        const dir = path.join(this.dir, mid, leaf);
        const prefix = mid + leaf;
        for (const entry of await readdirSorted(dir)) {
          if (!isSha256(entry.name) || !entry.name.startsWith(prefix)) continue;
          const st = await this.#lstat(entry.name);
          if (st) yield { sha256: entry.name, size: st.size };
        }
      }
    }
  }

  close(): Promise<void> {
    return this.#gate.close();
  }

  #blobPath(sha256: string): string {
    assertSha256(sha256);
    return path.join(this.dir, sha256.slice(0, 2), sha256.slice(2, 4), sha256);
  }

  /** Whether the blob's shard folders exist (checked once per process), refusing symlinks in their place. */
  #shardExists(sha256: string): boolean {
    for (const key of [sha256.slice(0, 2), sha256.slice(0, 4)]) {
      if (this.#realShards.has(key)) continue;
      if (!isRealDirectory(this.#shardDir(key))) return false;
      this.#realShards.add(key);
    }
    return true;
  }

  #makeShardDirs(sha256: string): void {
    for (const key of [sha256.slice(0, 2), sha256.slice(0, 4)]) {
      if (this.#realShards.has(key)) continue;
      ensureRealDir(this.#shardDir(key));
      this.#realShards.add(key);
    }
  }

  #shardDir(key: string): string {
    return key.length === 2 ? path.join(this.dir, key) : path.join(this.dir, key.slice(0, 2), key.slice(2));
  }

  /** fsyncs the blob's folder (its new entry) and each parent whose new child is not yet known durable. */
  async #syncShard(sha256: string): Promise<void> {
    const mid = sha256.slice(0, 2);
    const leaf = sha256.slice(0, 4);
    const dirs = [this.#shardDir(leaf)];
    if (!this.#durableShards.has(leaf)) dirs.push(this.#shardDir(mid));
    if (!this.#durableShards.has(mid)) dirs.push(this.dir);
    await syncDirectories(dirs);
    this.#durableShards.add(mid);
    this.#durableShards.add(leaf);
  }

  /** The blob's lstat, undefined when missing; anything but a regular file there is refused. */
  async #lstat(sha256: string, file = this.#blobPath(sha256)): Promise<fs.Stats | undefined> {
    if (!this.#shardExists(sha256)) return undefined;
    let st: fs.Stats;
    try {
      st = await fsp.lstat(file);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw ioError(err, file, 'lstat');
    }
    if (!st.isFile()) throw unsafePath(file);
    return st;
  }

  /** Links the temporary file to the blob's name; false when the blob was already there. */
  async #link(tmp: string, file: string, sha256: string): Promise<boolean> {
    for (;;) {
      try {
        await fsp.link(tmp, file);
        return true;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw ioError(err, file, 'link');
      }
      // Gone again between the two calls (deleted meanwhile): link once more.
      if (await this.#lstat(sha256, file)) return false;
    }
  }

  async #openBlob(sha256: string): Promise<{ fh: FileHandle; file: string; size: number }> {
    const file = this.#blobPath(sha256);
    if (!this.#shardExists(sha256)) throw blobNotFound(sha256);
    let fh: FileHandle;
    try {
      // O_NOFOLLOW refuses a symlink; O_NONBLOCK keeps a planted FIFO from hanging the open.
      fh = await fsp.open(file, READ_FLAGS);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') throw blobNotFound(sha256);
      if (code === 'ELOOP') throw unsafePath(file);
      throw ioError(err, file, 'open');
    }
    try {
      const st = await fh.stat();
      if (!st.isFile()) throw unsafePath(file);
      return { fh, file, size: st.size };
    } catch (err) {
      await fh.close().catch(() => undefined);
      throw err instanceof FfcdbError ? err : ioError(err, file, 'fstat');
    }
  }

  #removeStaleTemps(staleTempMs: number): void {
    const cutoff = Date.now() - staleTempMs;
    let names: string[];
    try {
      names = fs.readdirSync(this.#tmp);
    } catch (err) {
      throw ioError(err, this.#tmp, 'readdir');
    }
    for (const name of names) {
      if (!TEMP_NAME.test(name)) continue;
      const p = path.join(this.#tmp, name);
      try {
        if (fs.lstatSync(p).mtimeMs < cutoff) fs.unlinkSync(p);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw ioError(err, p, 'unlink');
      }
    }
  }
}

/**
 * Writes the chunks to the temporary file and fsyncs it, hashing them
 * meanwhile. Writes and the fsync run on libuv's thread pool, one after
 * another, and go ahead of the hash: a chunk is hashed while it (or the
 * next) is being written, and the last one while the fsync runs, so a put
 * costs little more than the write and fsync alone. Hashing yields to the
 * event loop every HASH_SLICE bytes, which lets the next write or the fsync
 * start as soon as the one before it is done.
 */
async function writeHashedAndSync(fh: FileHandle, chunks: AsyncIterable<Uint8Array>, file: string): Promise<BlobInfo> {
  const hash = createHash('sha256');
  const writer = new ChainedWriter(fh, file);
  let size = 0;
  let unhashed: Uint8Array | undefined;
  try {
    for await (const chunk of chunks) {
      size += chunk.length;
      writer.write(chunk);
      if (unhashed) await hashYielding(hash, unhashed);
      unhashed = chunk;
      await writer.keepUp();
    }
    const synced = writer.endWithSync();
    if (unhashed) await hashYielding(hash, unhashed);
    await synced;
  } catch (err) {
    // The file is closed and removed next: let the write in flight end first.
    await writer.settled();
    throw err;
  }
  return { sha256: hash.digest('hex'), size };
}

async function hashYielding(hash: Hash, bytes: Uint8Array): Promise<void> {
  for (let at = 0; at < bytes.length; at += HASH_SLICE) {
    if (at > 0) await setImmediate();
    hash.update(bytes.subarray(at, at + HASH_SLICE));
  }
}

/** Writes chunks in order, gathered into writes of about WRITE_BATCH bytes, one write in flight at a time. */
class ChainedWriter {
  readonly #fh: FileHandle;
  readonly #file: string;
  #chain: Promise<void> = Promise.resolve();
  #batch: Uint8Array[] = [];
  #batchBytes = 0;
  #queuedBytes = 0;
  #failed: unknown;

  constructor(fh: FileHandle, file: string) {
    this.#fh = fh;
    this.#file = file;
  }

  write(chunk: Uint8Array): void {
    this.#batch.push(chunk);
    this.#batchBytes += chunk.length;
    if (this.#batchBytes >= WRITE_BATCH || this.#batch.length >= MAX_IOV) this.#flush();
  }

  /** Raises a failed write at once (not after the rest of the source); makes a source faster than the disk wait rather than pile up in memory. */
  async keepUp(): Promise<void> {
    if (this.#failed !== undefined) throw this.#failed;
    if (this.#queuedBytes > MAX_QUEUED) await this.#chain;
  }

  /** Writes what is left, then fsyncs; resolves when the file is on disk. */
  endWithSync(): Promise<void> {
    this.#flush();
    return this.#then(() =>
      this.#fh.sync().catch((err: unknown) => {
        throw ioError(err, this.#file, 'fsync');
      }),
    );
  }

  settled(): Promise<void> {
    return this.#chain.catch(() => undefined);
  }

  #flush(): void {
    if (this.#batch.length === 0) return;
    const out = this.#batch;
    const n = this.#batchBytes;
    this.#batch = [];
    this.#batchBytes = 0;
    this.#queuedBytes += n;
    void this.#then(async () => {
      await writeAll(this.#fh, out, this.#file);
      this.#queuedBytes -= n;
    });
  }

  #then(step: () => Promise<void>): Promise<void> {
    this.#chain = this.#chain.then(step);
    // Also keeps a failure from counting as unhandled until keepUp, endWithSync or settled awaits it.
    this.#chain.catch((err: unknown) => {
      this.#failed ??= err;
    });
    return this.#chain;
  }
}

async function writeAll(fh: FileHandle, buffers: Uint8Array[], file: string): Promise<void> {
  let rest = buffers;
  while (rest.length > 0) {
    let written: number;
    try {
      ({ bytesWritten: written } = await fh.writev(rest));
    } catch (err) {
      throw ioError(err, file, 'write');
    }
    if (written === 0) throw ioError(new Error('the write made no progress'), file, 'write');
    // A short write (rare on a regular file) goes on where it stopped.
    let i = 0;
    while (i < rest.length && written >= rest[i]!.length) written -= rest[i++]!.length;
    rest = i < rest.length ? [rest[i]!.subarray(written), ...rest.slice(i + 1)] : [];
  }
}

/** Bytes [start, end) of an open blob, READ_CHUNK at a time; closes the file when done or destroyed. */
async function* readRange(fh: FileHandle, file: string, start: number, end: number): AsyncGenerator<Buffer> {
  try {
    for (let pos = start; pos < end; ) {
      const buf = Buffer.allocUnsafe(Math.min(READ_CHUNK, end - pos));
      let n: number;
      try {
        ({ bytesRead: n } = await fh.read(buf, 0, buf.length, pos));
      } catch (err) {
        throw ioError(err, file, 'read');
      }
      if (n === 0) throw new FfcdbError(ErrorCode.CORRUPT, `${file} ended at byte ${pos}, short of the ${end} bytes asked for: it shrank while being read`, { file, offset: pos });
      pos += n;
      yield n === buf.length ? buf : buf.subarray(0, n);
    }
  } finally {
    await fh.close().catch(() => undefined);
  }
}

/** Creates a folder unless it is there; a symlink or file in its place is refused. */
function ensureRealDir(dir: string): void {
  if (isRealDirectory(dir)) return;
  try {
    fs.mkdirSync(dir);
  } catch (err) {
    // EEXIST: another process made it meanwhile.
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST' || !isRealDirectory(dir)) throw ioError(err, dir, 'mkdir');
  }
}

/** The two-hex-digit shard folders in a folder, sorted; a symlink or file under such a name is refused. */
async function shardsOf(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdirSorted(dir)) {
    if (!SHARD_NAME.test(entry.name)) continue;
    if (!entry.isDirectory()) throw unsafePath(path.join(dir, entry.name));
    out.push(entry.name);
  }
  return out;
}

async function readdirSorted(dir: string): Promise<fs.Dirent[]> {
  try {
    return (await fsp.readdir(dir, { withFileTypes: true })).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  } catch (err) {
    throw ioError(err, dir, 'readdir');
  }
}

function unsafePath(p: string): FfcdbError {
  return new FfcdbError(ErrorCode.UNSAFE_PATH, `${p} is not a regular file or folder (symlinks and special files are refused)`, { path: p });
}
