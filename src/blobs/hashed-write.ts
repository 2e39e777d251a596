import { createHash, type Hash } from 'node:crypto';
import type { FileHandle } from 'node:fs/promises';
import { setImmediate } from 'node:timers/promises';
import { ioError } from '../kernel/errors.js';
import type { BlobInfo } from './blob-store.js';

/** Small chunks are gathered into writes of about this many bytes: few syscalls. */
const WRITE_BATCH = 1 << 20;
/** Bytes handed to the writes and not yet written, above which the source is not read further. */
const MAX_QUEUED = 8 * WRITE_BATCH;
/** Hashing yields to the event loop after this many bytes, so the writes behind it keep going. */
const HASH_SLICE = 1 << 20;
/** Linux's IOV_MAX: one writev takes at most this many buffers. */
const MAX_IOV = 1024;

/**
 * Writes the chunks to the temporary file and fsyncs it, hashing them
 * meanwhile. Writes and the fsync run on libuv's thread pool, one after
 * another, and go ahead of the hash: a chunk is hashed while it (or the
 * next) is being written, and the last one while the fsync runs, so a put
 * costs little more than the write and fsync alone. Hashing yields to the
 * event loop every HASH_SLICE bytes, which lets the next write or the fsync
 * start as soon as the one before it is done.
 */
export async function writeHashedAndSync(fh: FileHandle, chunks: AsyncIterable<Uint8Array>, file: string): Promise<BlobInfo> {
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
