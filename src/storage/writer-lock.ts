import fs from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import lockfile from 'proper-lockfile';
import { ErrorCode, FfcdbError } from '../kernel/errors.js';
import { randomBytes } from 'node:crypto';
import { LOCK_DIR, LOCK_OWNER_FILE, LOCK_WAITING_FILE } from './store-folder.js';
import { ioError } from '../kernel/errors.js';

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
  readonly #ownerFile: string;
  #token = '';
  #ownerFd: number | undefined;
  readonly #tokenBuf = Buffer.alloc(64);
  #release: (() => Promise<void>) | undefined;
  heldSince = 0;

  constructor(root: string, staleMs: number, onLost: (err: FfcdbError) => void) {
    this.#root = root;
    this.#waitingFile = path.join(root, LOCK_WAITING_FILE);
    this.#ownerFile = path.join(root, LOCK_OWNER_FILE);
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
        this.#token = `${process.pid}-${randomBytes(8).toString('hex')}`;
        try {
          fs.writeFileSync(this.#ownerFile, this.#token);
          // Kept open: checking the token is then one read. A process that takes the lock over
          // rewrites this same file (it is only removed by its holder, on release).
          this.#ownerFd = fs.openSync(this.#ownerFile, fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW);
        } catch (err) {
          await this.release();
          throw ioError(err, this.#ownerFile, 'write');
        }
        return;
      } catch (err) {
        if (err instanceof FfcdbError) throw err;
        if ((err as NodeJS.ErrnoException).code !== 'ELOCKED') throw ioError(err, path.join(this.#root, LOCK_DIR), 'lock');
        if (Date.now() >= deadline) {
          throw new FfcdbError(ErrorCode.LOCKED, `another process held the writer lock on ${this.#root} for longer than ${timeoutMs} ms`, { dir: this.#root }, { cause: err });
        }
        this.#knock();
        await sleep(wait * (0.5 + Math.random()));
        wait = Math.min(wait * 1.5, 10);
      }
    }
  }

  /**
   * Whether the lock is still ours: another process that took it over (after our
   * event loop stalled past the stale time, say) has written its own token.
   */
  stillOurs(): boolean {
    if (!this.#release || this.#ownerFd === undefined) return false;
    let n: number;
    try {
      n = fs.readSync(this.#ownerFd, this.#tokenBuf, 0, this.#tokenBuf.length, 0);
    } catch (err) {
      // Unknown is not lost: the caller fails with IO rather than report a takeover.
      throw ioError(err, this.#ownerFile, 'read');
    }
    return this.#tokenBuf.toString('utf8', 0, n) === this.#token;
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
    if (!release) return;
    // Our token goes with the lock (a folder that turned out not to be a store is left as it was). Best
    // effort: a token left behind is overwritten by the next holder, while the lock itself must go.
    try {
      if (this.stillOurs()) fs.rmSync(this.#ownerFile, { force: true });
    } catch {
      // Left for the next holder.
    }
    try {
      if (this.#ownerFd !== undefined) fs.closeSync(this.#ownerFd);
    } catch {
      // The descriptor is gone either way.
    }
    this.#ownerFd = undefined;
    this.#release = undefined;
    try {
      await release();
    } catch (err) {
      // Already released or compromised: nothing of ours is held any more.
      if ((err as NodeJS.ErrnoException).code !== 'ERELEASED') throw ioError(err, this.#root, 'unlock');
    }
  }
}
