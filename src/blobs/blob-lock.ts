import { ErrorCode, FfcdbError, ioError } from '../kernel/errors.js';
import { WriterLock } from '../storage/writer-lock.js';

/**
 * The cross-process blob lock: the flatfile writer lock's files, in the
 * blobs folder. A holder that stops refreshing it (a dead process) loses it,
 * and whoever held it while it was taken over is told so.
 */
export class BlobLock {
  readonly #dir: string;
  readonly #timeoutMs: number;
  readonly #lock: WriterLock;
  #lockLost: FfcdbError | undefined;

  constructor(dir: string, staleMs: number, timeoutMs: number) {
    this.#dir = dir;
    this.#timeoutMs = timeoutMs;
    this.#lock = new WriterLock(dir, staleMs, (err) => {
      this.#lockLost = err;
    });
  }

  /** Runs f holding the lock; LOCKED when the lock was lost meanwhile, even if f succeeded. */
  async hold<T>(f: () => Promise<T>): Promise<T> {
    this.#lockLost = undefined;
    await this.#lock.acquire(this.#timeoutMs);
    // f's outcome is kept, not thrown at once: releasing the lock comes first, and its failures take precedence.
    let outcome: { value: T } | { error: unknown };
    try {
      outcome = { value: await f() };
    } catch (error) {
      outcome = { error };
    }
    let lost: unknown;
    try {
      lost = this.#lockLost ?? (this.#lock.stillOurs() ? undefined : new FfcdbError(ErrorCode.LOCKED, `the blob lock on ${this.#dir} was taken over while held`, { dir: this.#dir }));
    } catch (err) {
      lost = err;
    }
    await this.#lock.release().catch((err: unknown) => {
      throw ioError(err, this.#dir, 'unlock');
    });
    // Reported over f's own outcome: f ran without the lock's protection for a while.
    if (lost) throw lost;
    if ('error' in outcome) throw outcome.error;
    return outcome.value;
  }
}
