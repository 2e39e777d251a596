import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import fsp, { type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';
import { existingRoot, fsyncDirSync, isRealDirectory, makeRoot, syncDirectories } from '../storage/durable-files.js';
import { BLOBS_DIR } from '../storage/store-folder.js';
import { assertPositiveInteger } from '../kernel/validation.js';
import { ioError, readOnlyError } from '../kernel/errors.js';
import {
  DEFAULT_MAX_BLOB_BYTES,
  StoreGate,
  assertHash,
  assertMaxBytes,
  assertSha256,
  blobNotFound,
  hashMismatch,
  isSha256,
  hashChecked,
  putLimit,
  readSpan,
  sourceChunks,
  tooLarge,
  type BlobInfo,
  type BlobSource,
  type BlobStore,
  type ByteRange,
  type OpenReadOptions,
  type PutOptions,
} from './blob-store.js';
import { ensureRealDir, openBlobFile, readRange, readdirSorted, shardsOf, unsafePath } from './blob-files.js';
import { BlobLock } from './blob-lock.js';
import { writeHashedAndSync } from './hashed-write.js';

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
  /** Read only (a read-only store): nothing is created, removed or locked; put, delete and withLock fail with READ_ONLY. Default false. */
  readOnly?: boolean;
}

const TMP_DIR = 'tmp';
const TEMP_NAME = /^\d+-[0-9a-f]{16}\.tmp$/;
const TEMP_FLAGS = fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_EXCL | fs.constants.O_NOFOLLOW;

export class FileBlobStore implements BlobStore {
  /** The blobs folder: `<root>/blobs`, root resolved through symlinks. */
  readonly dir: string;
  readonly #tmp: string;
  readonly #maxBytes: number;
  readonly #gate = new StoreGate('file blob store');
  readonly #lock: BlobLock;
  /** Shard folders ('ab', 'abcd') checked to be real folders, so reads need not lstat them again. */
  readonly #realShards = new Set<string>();
  /** Shard folders whose own entry is known durable: their parent was fsynced after they appeared, by whoever made them. */
  readonly #durableShards = new Set<string>();
  readonly #readOnly: boolean;

  constructor(root: string, options: FileBlobStoreOptions = {}) {
    const { maxBytes = DEFAULT_MAX_BLOB_BYTES, lockStaleMs = 10_000, lockTimeoutMs = 30_000, staleTempMs = 3_600_000, readOnly = false } = options;
    assertMaxBytes(maxBytes);
    assertPositiveInteger(lockStaleMs, 'lockStaleMs');
    assertPositiveInteger(lockTimeoutMs, 'lockTimeoutMs', 0);
    assertPositiveInteger(staleTempMs, 'staleTempMs', 0);
    this.#maxBytes = maxBytes;
    this.#readOnly = readOnly === true;
    const base = this.#readOnly ? existingRoot(root) : makeRoot(root);
    this.dir = path.join(base, BLOBS_DIR);
    this.#tmp = path.join(this.dir, TMP_DIR);
    this.#lock = new BlobLock(this.dir, lockStaleMs, lockTimeoutMs);
    if (this.#readOnly) return;
    ensureRealDir(this.dir);
    ensureRealDir(this.#tmp);
    try {
      // Whoever created blobs/, its entry must be on disk before a blob in it is acknowledged.
      fsyncDirSync(base);
    } catch (err) {
      throw ioError(err, base, 'fsync');
    }
    this.#removeStaleTemps(staleTempMs);
  }

  put(source: BlobSource, options?: PutOptions): Promise<BlobInfo & { created: boolean }> {
    return this.#gate.run(async () => {
      if (this.#readOnly) throw readOnlyError('put');
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
        try {
          // Also when the blob was there already: its maker may not have fsynced its folders yet.
          await this.#syncShard(sha256);
        } catch (err) {
          // A failed put leaves nothing behind: not the blob it linked either (a caller gave it up, no document names it).
          if (created) await fsp.unlink(this.#blobPath(sha256)).catch(() => undefined);
          throw err;
        }
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
      let bytes: Buffer;
      try {
        bytes = await fh.readFile();
      } catch (err) {
        throw ioError(err, file, 'read');
      } finally {
        await fh.close().catch(() => undefined);
      }
      assertHash({ sha256, file }, createHash('sha256').update(bytes).digest('hex'), bytes.length);
      return bytes;
    });
  }

  openRead(sha256: string, range?: ByteRange, options?: OpenReadOptions): Promise<Readable> {
    return this.#gate.run(async () => {
      const { fh, file, size } = await this.#openBlob(sha256);
      let span: { start: number; end: number; whole: boolean };
      try {
        span = readSpan({ sha256, file, size }, range, options);
      } catch (err) {
        await fh.close().catch(() => undefined);
        throw err;
      }
      const chunks = readRange(fh, { sha256, file }, span.start, span.end);
      return Readable.from(span.whole ? hashChecked(chunks, { sha256, file }) : chunks, { objectMode: false });
    });
  }

  delete(sha256: string): Promise<boolean> {
    return this.#gate.run(async () => {
      if (this.#readOnly) throw readOnlyError('delete');
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
    if (this.#readOnly) return Promise.reject(readOnlyError('blob lock'));
    return this.#gate.withLock(fn, (f) => this.#lock.hold(f));
  }

  async *list(): AsyncGenerator<BlobInfo> {
    this.#gate.assertOpen();
    // A read-only store may have no blobs folder: no upload ever made one.
    if (this.#readOnly && !isRealDirectory(this.dir)) return;
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
    return openBlobFile(file, sha256);
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
