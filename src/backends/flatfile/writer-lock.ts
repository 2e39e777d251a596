import fs from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import lockfile from 'proper-lockfile';
import { ErrorCode, FfcdbError } from '../../errors.js';
import { LOCK_DIR, LOCK_WAITING_FILE } from './layout.js';

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
  readonly #waitingFile: string;
  #release: (() => Promise<void>) | undefined;
  heldSince = 0;

  constructor(root: string, staleMs: number, onLost: (err: FfcdbError) => void) {
    this.#root = root;
    this.#waitingFile = path.join(root, LOCK_WAITING_FILE);
    this.#staleMs = Math.max(2000, staleMs);
    this.#onLost = onLost;
  }

  get held(): boolean {
    return this.#release !== undefined;
  }

  /**
   * Takes the lock, waiting up to `timeoutMs`. Between tries a waiter touches
   * `writer.waiting`, which tells a busy holder to hand the lock over instead of
   * taking it straight back.
   */
  async acquire(timeoutMs: number): Promise<void> {
    if (this.#release) return;
    const deadline = Date.now() + timeoutMs;
    let wait = 1;
    for (;;) {
      try {
        this.#release = await lockfile.lock(this.#root, {
          lockfilePath: path.join(this.#root, LOCK_DIR),
          realpath: false,
          stale: this.#staleMs,
          update: Math.floor(this.#staleMs / 4),
          retries: 0,
          onCompromised: (err) => {
            this.#release = undefined;
            this.#onLost(new FfcdbError(ErrorCode.LOCKED, `the writer lock on ${this.#root} was lost (${err.message}); this store is fenced and must be reopened`, { cause: err.message }));
          },
        });
        this.heldSince = Date.now();
        return;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ELOCKED') throw err;
        if (Date.now() >= deadline) {
          throw new FfcdbError(ErrorCode.LOCKED, `another process held the writer lock on ${this.#root} for longer than ${timeoutMs} ms`, { dir: this.#root }, { cause: err });
        }
        this.#knock();
        await sleep(wait * (0.5 + Math.random()));
        wait = Math.min(wait * 1.5, 10);
      }
    }
  }

  /** True when another process asked for the lock within the last `withinMs`. */
  othersWaiting(withinMs: number): boolean {
    try {
      return Date.now() - fs.statSync(this.#waitingFile).mtimeMs < withinMs;
    } catch {
      return false;
    }
  }

  #knock(): void {
    const now = new Date();
    try {
      fs.utimesSync(this.#waitingFile, now, now);
    } catch {
      try {
        fs.writeFileSync(this.#waitingFile, '');
      } catch {
        // Only a hint: a holder that never sees it still lets go after its hold time.
      }
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
