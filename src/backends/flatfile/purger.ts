import fs from 'node:fs';
import path from 'node:path';
import { ErrorCode, FfcdbError, ioError } from '../../kernel/errors.js';
import { purgeNotFound } from '../append-rules.js';
import type { PurgeResult } from '../backend.js';
import { CommitJournal } from './commit-journal.js';
import { syncDirectories } from '../../storage/durable-files.js';
import { isRealDirectory } from '../../storage/durable-files.js';
import { type StoreState, fencedError } from './store-state.js';
import type { Syncer } from './syncer.js';

export interface PendingPurge {
  kind: 'purge';
  streamId: string;
  resolve(result: PurgeResult): void;
  reject(err: unknown): void;
}

/** Purging a stream under the writer lock, and finishing purges a purger died in the middle of. */
export class Purger {
  readonly #s: StoreState;
  readonly #sync: Syncer;

  constructor(state: StoreState, sync: Syncer) {
    this.#s = state;
    this.#sync = sync;
  }

  async purge(pending: PendingPurge): Promise<void> {
    try {
      pending.resolve(await this.#underLock(pending.streamId));
    } catch (err) {
      const failure = err instanceof FfcdbError ? err : ioError(err, this.#s.layout.root, 'purge');
      // A disk that failed, or a lock that was lost, stops the store as it does for a commit; a stream that
      // does not exist (or cannot be read) fails this purge alone.
      if (failure.code === ErrorCode.IO || failure.code === ErrorCode.LOCKED) this.#s.fail(failure);
      pending.reject(failure);
    }
  }

  /**
   * Under the lock, in this order, so that a crash anywhere leaves either no purge or a tombstone whose
   * deletes the next lock holder finishes:
   * 1. checkpoint: everything committed is fsynced and recorded in `synced`, so no journal record is needed;
   * 2. every journal is scrubbed (its records blanked), which removes the stream's frames from them;
   * 3. the tombstone is appended to `purged` and fsynced: from here on the purge has happened;
   * 4. the stream's folder is deleted and its parent folder fsynced.
   */
  async #underLock(streamId: string): Promise<PurgeResult> {
    const s = this.#s;
    const purgedAt = s.tombstones.version(streamId);
    if (purgedAt !== undefined) return { streamId, version: purgedAt, events: 0 };
    const { version } = s.states.writerState(streamId);
    if (version === 0) throw purgeNotFound(streamId);
    await s.pendingSync;
    await this.#sync.through(s.feed.head);
    CommitJournal.removeDead(s.layout.root);
    CommitJournal.scrub(s.layout.root, s.options.faults);
    // Fencing, as for a commit: a writer that lost the lock must not delete what another may be appending to.
    s.assertStillOurs(s.tombstones.file);
    if (s.states.refresh().length > 0) throw fencedError(s.tombstones.file);
    s.tombstones.append(streamId, version, s.epoch);
    await this.#erase(streamId);
    s.purgesFinished = s.tombstones.count;
    return { streamId, version, events: version };
  }

  /**
   * Under the lock: deletes the files of purges that a purger (this process, or another) tombstoned but
   * may not have finished deleting, because it died or failed. One lstat for each purge not seen finished.
   */
  async finishPurges(): Promise<void> {
    const s = this.#s;
    for (const streamId of s.tombstones.since(s.purgesFinished)) {
      if (isRealDirectory(s.layout.streamDir(streamId))) await this.#erase(streamId);
    }
    s.purgesFinished = s.tombstones.count;
  }

  /** Deletes a purged stream's folder with its segment files, and makes the removal durable. */
  async #erase(streamId: string): Promise<void> {
    const s = this.#s;
    const dir = s.layout.streamDir(streamId);
    // A batched sync in flight keeps its descriptors (closeUnder spares them): once it is done, none outlives the delete.
    await s.pendingSync;
    s.states.forget(streamId);
    try {
      // Symlinks inside are removed, never followed.
      fs.rmSync(dir, { recursive: true, force: true });
    } catch (err) {
      throw ioError(err, dir, 'rm');
    }
    await syncDirectories([path.dirname(dir)], s.options.faults);
  }
}
