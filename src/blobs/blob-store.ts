import { AsyncLocalStorage } from 'node:async_hooks';
import { createHash } from 'node:crypto';
import type { Readable } from 'node:stream';
import { ErrorCode, FfcdbError } from '../kernel/errors.js';
import { assertPositiveInteger, invalid } from '../kernel/validation.js';

/**
 * The document blob store: uploaded documents are kept once, named by the
 * sha256 of their bytes. Events reference a blob by that hash; the chat API
 * counts the references and deletes a blob when none is left.
 */

export interface BlobInfo {
  /** 64 lowercase hex digits: the blob's name and the proof of its content. */
  sha256: string;
  size: number;
}

/** Bytes whole, or streamed: any Node Readable (which is an async iterable) or async generator of Uint8Array chunks. */
export type BlobSource = Uint8Array | AsyncIterable<Uint8Array> | NodeJS.ReadableStream;

export interface PutOptions {
  /** Refuse (INVALID_ARGUMENT on `data`) a blob larger than this; defaults to the store's `maxBytes`. */
  maxBytes?: number;
  /** The hash the caller says the bytes have (an upload's checksum header): a mismatch is refused and nothing is kept. */
  expectedSha256?: string;
}

/** Byte range of `openRead`: `start` inclusive, `end` exclusive (like Buffer.subarray); `end` past the blob is clamped. */
export interface ByteRange {
  start?: number;
  end?: number;
}

export interface OpenReadOptions {
  /**
   * The size the caller recorded for the blob (a document's `size`). Ranges
   * are judged against it, and a blob whose real size differs is CORRUPT
   * for a read of the whole blob or of a range reaching past its real end.
   */
  expectedSize?: number;
}

export interface BlobStore {
  /**
   * Streams the bytes in, hashing them as they come, and resolves only once
   * the blob is durable. Content is stored once: bytes already stored write
   * nothing new and give `created: false`. A blob over `maxBytes`, a hash
   * mismatch or a failing source (INVALID_ARGUMENT on `data`) and a disk
   * error (IO) all leave nothing behind.
   * Put does not take the blob lock (a long upload must not block deletes);
   * a caller that must know the blob still exists afterwards checks `has`
   * inside `withLock`.
   */
  put(source: BlobSource, options?: PutOptions): Promise<BlobInfo & { created: boolean }>;
  /** False when missing; INVALID_ID for anything but 64 lowercase hex digits (hashes reach file paths). */
  has(sha256: string): Promise<boolean>;
  /** NOT_FOUND when missing. */
  stat(sha256: string): Promise<BlobInfo>;
  /** The whole blob in memory, checked against its hash (CORRUPT); NOT_FOUND when missing. Use `openRead` for large blobs. */
  read(sha256: string): Promise<Buffer>;
  /**
   * A byte stream of the blob (or of `range`) with constant memory. NOT_FOUND is
   * raised here, not by the stream; a range starting past the end is
   * INVALID_ARGUMENT on `range.start` (HTTP 416). A blob of another size than
   * `expectedSize` is CORRUPT here when the read covers the whole blob or
   * reaches past its real end. A read of the whole blob is checked against
   * its hash as it streams: damaged bytes fail the stream with CORRUPT before
   * its last chunk, so a consumer never gets all of them and a normal end.
   * Ranges are not hashed (the hash covers the whole blob only).
   */
  openRead(sha256: string, range?: ByteRange, options?: OpenReadOptions): Promise<Readable>;
  /** True when the blob existed; durable before it resolves. */
  delete(sha256: string): Promise<boolean>;
  /**
   * Runs fn holding the store's blob lock, across processes for a persistent
   * store, so that "the blob exists → record a reference" and "no reference
   * is left → delete the blob" never interleave. Callers in one process queue
   * in call order. Not reentrant: calling it from inside fn is refused (LOCKED)
   * rather than waiting for itself forever.
   */
  withLock<T>(fn: () => Promise<T>): Promise<T>;
  /** Every blob, in hash order: for integrity checks and orphan cleanup. */
  list(): AsyncIterable<BlobInfo>;
  /** Waits for the operations in flight; later calls fail with CLOSED. */
  close(): Promise<void>;
}

/** Default `maxBytes`: large documents pass, a runaway upload does not fill the disk. */
export const DEFAULT_MAX_BLOB_BYTES = 100 * 2 ** 20;

const SHA256 = /^[0-9a-f]{64}$/;

export function isSha256(value: string): boolean {
  return SHA256.test(value);
}

export function assertSha256(value: unknown, field = 'sha256'): asserts value is string {
  if (typeof value !== 'string' || !isSha256(value)) {
    throw new FfcdbError(ErrorCode.INVALID_ID, `${field} must be 64 lowercase hex digits (a sha256); got ${typeof value === 'string' ? JSON.stringify(value.slice(0, 80)) : typeof value}`, {
      field,
      value: typeof value === 'string' ? value.slice(0, 200) : typeof value,
    });
  }
}

export function assertMaxBytes(value: unknown, field = 'maxBytes'): asserts value is number {
  assertPositiveInteger(value, field, 0);
}

/** Checks put's options; returns the limit that applies. */
export function putLimit(options: PutOptions | undefined, storeMax: number): { maxBytes: number; expectedSha256: string | undefined } {
  if (options === undefined) return { maxBytes: storeMax, expectedSha256: undefined };
  if (typeof options !== 'object' || options === null) throw invalid('options', 'must be an object');
  const { maxBytes = storeMax, expectedSha256 } = options;
  assertMaxBytes(maxBytes);
  if (expectedSha256 !== undefined) assertSha256(expectedSha256, 'expectedSha256');
  return { maxBytes, expectedSha256 };
}

export function tooLarge(maxBytes: number): FfcdbError {
  return invalid('data', `is larger than maxBytes (${maxBytes} bytes)`);
}

export function hashMismatch(expected: string, actual: string): FfcdbError {
  return new FfcdbError(ErrorCode.INVALID_ARGUMENT, `data hashes to ${actual}, not to expectedSha256 ${expected}`, { field: 'data', expectedSha256: expected, sha256: actual });
}

export function blobNotFound(sha256: string): FfcdbError {
  return new FfcdbError(ErrorCode.NOT_FOUND, `no blob ${sha256}`, { sha256 });
}

/**
 * The chunks of a source, refusing anything that is not bytes and stopping
 * (which destroys a Readable) as soon as they pass `maxBytes`; never an
 * empty chunk. A source that fails is INVALID_ARGUMENT on `data`, its error
 * kept as the cause.
 */
export async function* sourceChunks(source: BlobSource, maxBytes: number): AsyncGenerator<Uint8Array, void, undefined> {
  if (source instanceof Uint8Array) {
    if (source.length > maxBytes) throw tooLarge(maxBytes);
    if (source.length > 0) yield source;
    return;
  }
  if (typeof (source as Partial<AsyncIterable<unknown>> | null)?.[Symbol.asyncIterator] !== 'function') {
    throw invalid('data', 'must be a Uint8Array, a Readable or an async iterable of Uint8Array chunks');
  }
  let size = 0;
  let refused: FfcdbError | undefined;
  try {
    for await (const chunk of source as AsyncIterable<unknown>) {
      if (!(chunk instanceof Uint8Array)) {
        // A string chunk means the stream decodes text (setEncoding): its bytes are no longer known.
        refused = invalid('data', `yielded a ${typeof chunk === 'string' ? 'string' : typeof chunk} chunk; blob sources must yield Uint8Array chunks`);
        break;
      }
      size += chunk.length;
      if (size > maxBytes) {
        refused = tooLarge(maxBytes);
        break;
      }
      if (chunk.length > 0) yield chunk;
    }
  } catch (err) {
    throw new FfcdbError(ErrorCode.INVALID_ARGUMENT, `data could not be read: ${(err as Error | undefined)?.message ?? String(err)}`, { field: 'data' }, { cause: err });
  }
  if (refused) throw refused;
}

/**
 * What openRead reads of a blob holding `size` bytes: the range checked
 * against the recorded size when the caller gives one (else the real size),
 * refused as CORRUPT when the real size cannot serve it; `whole` when it is
 * the whole blob, which is then checked against its hash.
 */
export function readSpan(
  blob: { sha256: string; file?: string; size: number },
  range: ByteRange | undefined,
  options: OpenReadOptions | undefined,
): { start: number; end: number; whole: boolean } {
  if (options !== undefined && (typeof options !== 'object' || options === null)) throw invalid('options', 'must be an object');
  const { expectedSize = blob.size } = options ?? {};
  assertPositiveInteger(expectedSize, 'expectedSize', 0);
  const { start, end } = resolveRange(range, expectedSize);
  const whole = start === 0 && end === expectedSize;
  if (blob.size !== expectedSize && (whole || end > blob.size)) {
    const what = whole ? 'the whole blob' : `bytes ${start} to ${end}`;
    throw blobDamaged(blob, `it holds ${blob.size} bytes, not the ${expectedSize} recorded, so ${what} cannot be read`, { size: blob.size, expectedSize });
  }
  return { start, end, whole };
}

/**
 * The chunks of a whole blob, hashed as they pass. The last chunk is held
 * back until the hash is known: damaged bytes fail the stream (CORRUPT)
 * before all of them are handed on, which matters to a consumer that counts
 * bytes (an HTTP response with a Content-Length) rather than awaiting the end.
 */
export async function* hashChecked(chunks: AsyncIterable<Uint8Array>, blob: { sha256: string; file?: string }): AsyncGenerator<Uint8Array> {
  const hash = createHash('sha256');
  let size = 0;
  let held: Uint8Array | undefined;
  for await (const chunk of chunks) {
    hash.update(chunk);
    size += chunk.length;
    if (held) yield held;
    held = chunk;
  }
  assertHash(blob, hash.digest('hex'), size);
  if (held) yield held;
}

/** CORRUPT unless the bytes read hash to the blob's name. */
export function assertHash(blob: { sha256: string; file?: string }, actual: string, size: number): void {
  if (actual !== blob.sha256) throw blobDamaged(blob, `its ${size} bytes hash to ${actual}`, { size, actual });
}

function blobDamaged(blob: { sha256: string; file?: string }, problem: string, details: Record<string, unknown>): FfcdbError {
  const { sha256, file } = blob;
  return new FfcdbError(ErrorCode.CORRUPT, `blob ${sha256}${file === undefined ? '' : ` (${file})`} is damaged: ${problem}`, { sha256, ...(file === undefined ? {} : { file }), ...details });
}

/** Checks a range against the blob's size; returns the bytes [start, end) to read. */
function resolveRange(range: ByteRange | undefined, size: number): { start: number; end: number } {
  if (range === undefined) return { start: 0, end: size };
  if (typeof range !== 'object' || range === null) throw invalid('range', 'must be an object');
  const { start = 0, end = size } = range;
  assertPositiveInteger(start, 'range.start', 0);
  assertPositiveInteger(end, 'range.end', 0);
  if (start > size) throw invalid('range.start', `is past the end of the blob (${size} bytes); got ${start}`);
  if (end < start) throw invalid('range.end', `must not be before range.start (${start}); got ${end}`);
  return { start, end: Math.min(end, size) };
}

/**
 * What both stores share around their operations: refusing calls after
 * close, letting close wait for the calls in flight, and the in-process half
 * of the blob lock (one holder at a time, in call order, so that callers in
 * one process never contend on the cross-process lock).
 */
export class StoreGate {
  readonly #name: string;
  readonly #inFlight = new Set<Promise<unknown>>();
  readonly #lockHolder = new AsyncLocalStorage<{ held: boolean }>();
  #lockTail: Promise<unknown> = Promise.resolve();
  #closed = false;

  constructor(name: string) {
    this.#name = name;
  }

  /** Runs an operation of the store, unless it is closed. */
  run<T>(op: () => Promise<T>): Promise<T> {
    try {
      this.assertOpen();
    } catch (err) {
      return Promise.reject(err);
    }
    const p = op();
    this.#inFlight.add(p);
    const forget = () => this.#inFlight.delete(p);
    p.then(forget, forget);
    return p;
  }

  /** Runs fn once every earlier caller has finished with the lock; `hold` wraps it in whatever else the lock needs. */
  withLock<T>(fn: () => Promise<T>, hold: (fn: () => Promise<T>) => Promise<T> = (f) => f()): Promise<T> {
    if (this.#lockHolder.getStore()?.held) {
      return Promise.reject(new FfcdbError(ErrorCode.LOCKED, `withLock was called inside withLock on the ${this.#name}: the blob lock is not reentrant and would wait for itself`));
    }
    return this.run(() => {
      // Work that fn started and that outlives it (a timer, say) inherits this token, but no longer holds the lock.
      // It stops holding when fn settles, not when the lock is let go (a file lock's release takes a while).
      const token = { held: true };
      const release = () => {
        token.held = false;
      };
      const turn = this.#lockTail.then(() => this.#lockHolder.run(token, () => hold(() => fn().finally(release)))).finally(release);
      this.#lockTail = turn.catch(() => undefined);
      return turn;
    });
  }

  assertOpen(): void {
    if (this.#closed) throw new FfcdbError(ErrorCode.CLOSED, `the ${this.#name} is closed`);
  }

  async close(): Promise<void> {
    this.#closed = true;
    await Promise.allSettled([...this.#inFlight]);
  }
}
