import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import {
  DEFAULT_MAX_BLOB_BYTES,
  StoreGate,
  assertMaxBytes,
  assertSha256,
  blobNotFound,
  hashMismatch,
  putLimit,
  readSpan,
  sourceChunks,
  type BlobInfo,
  type BlobSource,
  type BlobStore,
  type ByteRange,
  type OpenReadOptions,
  type PutOptions,
} from './blob-store.js';

/**
 * Keeps blobs in this process's memory: for tests and throwaway stores. The
 * lock is in-process only. Reads check `expectedSize` as the file store does,
 * but do not hash again: the bytes are a private copy, hashed when put and
 * never handed out, so nothing outside can damage them.
 */
export class MemoryBlobStore implements BlobStore {
  readonly #blobs = new Map<string, Buffer>();
  readonly #gate = new StoreGate('memory blob store');
  readonly #maxBytes: number;

  constructor(options: { maxBytes?: number } = {}) {
    this.#maxBytes = options.maxBytes ?? DEFAULT_MAX_BLOB_BYTES;
    assertMaxBytes(this.#maxBytes);
  }

  put(source: BlobSource, options?: PutOptions): Promise<BlobInfo & { created: boolean }> {
    return this.#gate.run(async () => {
      const { maxBytes, expectedSha256 } = putLimit(options, this.#maxBytes);
      const chunks: Uint8Array[] = [];
      const hash = createHash('sha256');
      for await (const chunk of sourceChunks(source, maxBytes)) {
        hash.update(chunk);
        chunks.push(chunk);
      }
      const sha256 = hash.digest('hex');
      if (expectedSha256 !== undefined && expectedSha256 !== sha256) throw hashMismatch(expectedSha256, sha256);
      const existing = this.#blobs.get(sha256);
      if (existing) return { sha256, size: existing.length, created: false };
      // Concat copies, so the caller may reuse its buffers.
      const bytes = Buffer.concat(chunks);
      this.#blobs.set(sha256, bytes);
      return { sha256, size: bytes.length, created: true };
    });
  }

  has(sha256: string): Promise<boolean> {
    return this.#gate.run(async () => {
      assertSha256(sha256);
      return this.#blobs.has(sha256);
    });
  }

  stat(sha256: string): Promise<BlobInfo> {
    return this.#gate.run(async () => ({ sha256, size: this.#get(sha256).length }));
  }

  read(sha256: string): Promise<Buffer> {
    return this.#gate.run(async () => Buffer.from(this.#get(sha256)));
  }

  openRead(sha256: string, range?: ByteRange, options?: OpenReadOptions): Promise<Readable> {
    return this.#gate.run(async () => {
      const bytes = this.#get(sha256);
      const { start, end } = readSpan({ sha256, size: bytes.length }, range, options);
      return Readable.from(start < end ? [Buffer.from(bytes.subarray(start, end))] : [], { objectMode: false });
    });
  }

  delete(sha256: string): Promise<boolean> {
    return this.#gate.run(async () => {
      assertSha256(sha256);
      return this.#blobs.delete(sha256);
    });
  }

  withLock<T>(fn: () => Promise<T>): Promise<T> {
    return this.#gate.withLock(fn);
  }

  async *list(): AsyncGenerator<BlobInfo> {
    this.#gate.assertOpen();
    for (const sha256 of [...this.#blobs.keys()].sort()) {
      const bytes = this.#blobs.get(sha256);
      if (bytes) yield { sha256, size: bytes.length };
    }
  }

  close(): Promise<void> {
    return this.#gate.close();
  }

  #get(sha256: string): Buffer {
    assertSha256(sha256);
    const bytes = this.#blobs.get(sha256);
    if (!bytes) throw blobNotFound(sha256);
    return bytes;
  }
}
