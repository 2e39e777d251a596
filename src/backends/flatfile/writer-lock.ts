import path from 'node:path';
import lockfile from 'proper-lockfile';
import { ErrorCode, FfcdbError } from '../../errors.js';
import { LOCK_DIR } from './layout.js';

/**
 * The cross-process writer lock (proper-lockfile: an atomic mkdir whose mtime
 * the holder refreshes). A holder that stops refreshing for `staleMs` (a dead
 * process) loses it to the next writer. If our own lock is compromised we do
 * not crash: `onLost` fences the writer.
 */
export class WriterLock {
  readonly #root: string;
  readonly #staleMs: number;
  readonly #onLost: (err: FfcdbError) => void;
  #release: (() => Promise<void>) | undefined;
  heldSince = 0;

  constructor(root: string, staleMs: number, onLost: (err: FfcdbError) => void) {
    this.#root = root;
    this.#staleMs = Math.max(2000, staleMs);
    this.#onLost = onLost;
  }

  get held(): boolean {
    return this.#release !== undefined;
  }

  async acquire(timeoutMs: number): Promise<void> {
    if (this.#release) return;
    try {
      this.#release = await lockfile.lock(this.#root, {
        lockfilePath: path.join(this.#root, LOCK_DIR),
        realpath: false,
        stale: this.#staleMs,
        update: Math.floor(this.#staleMs / 4),
        // Short, jittered waits: the holder usually keeps the lock for well under a millisecond.
        retries: { retries: Math.ceil(timeoutMs / 10), minTimeout: 1, maxTimeout: 20, factor: 1.3, randomize: true },
        onCompromised: (err) => {
          this.#release = undefined;
          this.#onLost(new FfcdbError(ErrorCode.LOCKED, `the writer lock on ${this.#root} was lost (${err.message}); this store is fenced and must be reopened`, { cause: err.message }));
        },
      });
      this.heldSince = Date.now();
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ELOCKED') {
        throw new FfcdbError(ErrorCode.LOCKED, `another process holds the writer lock on ${this.#root}`, { dir: this.#root }, { cause: err });
      }
      throw err;
    }
  }

  async release(): Promise<void> {
    const release = this.#release;
    this.#release = undefined;
    if (!release) return;
    try {
      await release();
    } catch (err) {
      // Already released or compromised: nothing of ours is held any more.
      if ((err as NodeJS.ErrnoException).code !== 'ERELEASED') throw err;
    }
  }
}
