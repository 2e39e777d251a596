import path from 'node:path';
import { FfcdbError, ioError } from '../../kernel/errors.js';
import type { JournalWrite } from './commit-journal.js';
import { syncDirectories } from '../../storage/durable-files.js';
import { STREAMS_DIR } from '../../storage/store-folder.js';
import type { StoreState } from './store-state.js';
import { writeSynced } from './store-files.js';

/** Making commits durable: checkpoints (`synced`), the commit journal in `always` mode, and the `batched` timer's syncs. */
export class Syncer {
  readonly #s: StoreState;

  constructor(state: StoreState) {
    this.#s = state;
  }

  /**
   * Makes every committed entry through `target` durable, whoever wrote it:
   * fsyncs the stream files and feed segments they live in, then records
   * `target` in the `synced` file so recovery need not check them again.
   */
  async through(target: number): Promise<void> {
    const s = this.#s;
    const from = s.feed.syncedThrough + 1;
    if (target < from) return;
    const files = new Set<string>(s.feed.segmentFiles(from, target));
    // Folders whose new entries the range made (whoever made them): a segment's first frame is at offset 0,
    // a stream's first segment is 1 (its folders may be new too), a feed segment starts at its first position.
    const dirs = new Set<string>(s.newDirs);
    s.states.refreshTombstones();
    for (const e of s.feed.entriesFrom(from)) {
      if (e.firstPosition > target) break;
      if (s.tombstones.has(e.streamId)) continue;
      const dir = s.layout.streamDir(e.streamId);
      files.add(s.layout.segmentPath(dir, e.segment));
      if (e.offset === 0) dirs.add(dir);
      if (e.offset === 0 && e.segment === 1) for (let d = path.dirname(dir); d.length > s.layout.root.length; d = path.dirname(d)) dirs.add(d);
      if (e.feedOffset === 0) dirs.add(s.layout.feedDir());
    }
    // In chunks: every file being fsynced is held open, and there may be more than descriptors allow.
    const all = [...files];
    const chunk = Math.max(1, Math.floor(s.options.maxOpenFiles / 4));
    for (let i = 0; i < all.length; i += chunk) await s.files.sync(all.slice(i, i + chunk));
    const dirList = [...dirs];
    for (let i = 0; i < dirList.length; i += chunk) await this.dirs(dirList.slice(i, i + chunk));
    for (const d of dirList) s.newDirs.delete(d);
    writeSynced(s.layout.root, target);
    s.feed.syncedThrough = Math.max(s.feed.syncedThrough, target);
  }

  /** fsyncs folders; a purged stream's folder, removed since it was noted (by any process), needs none. */
  dirs(dirs: readonly string[]): Promise<void> {
    const s = this.#s;
    const streamsDir = path.join(s.layout.root, STREAMS_DIR);
    return syncDirectories(dirs, s.options.faults, (dir) => {
      s.states.refreshTombstones();
      // A folder name is not always its stream id (storage/file-names.ts): the purged ids are matched by their folders.
      return path.dirname(path.dirname(path.dirname(dir))) === streamsDir && s.tombstones.since(0).some((id) => s.layout.isStreamDir(dir, id));
    });
  }

  /**
   * `always` mode: the group's bytes go into the commit journal, one fdatasync
   * on a preallocated file. When the journal is full, a checkpoint first syncs
   * the logs and lets it start over; a group too large for it is fsynced in place.
   * Resolves with a function that takes the journal's record back, for a commit that fails after it.
   */
  async commitGroup(writes: readonly JournalWrite[], touched: Set<string>, firstPosition: number, lastPosition: number): Promise<(() => void) | undefined> {
    const s = this.#s;
    const journal = s.journal!;
    const record = journal.record(writes, firstPosition, lastPosition - firstPosition + 1, s.epoch);
    if (record && !journal.fits(record)) {
      await this.through(firstPosition - 1);
      journal.rewind();
    }
    if (record && journal.fits(record)) {
      let at: number;
      try {
        at = await journal.append(record);
      } catch (err) {
        journal.forgetFailed(record);
        throw err;
      }
      return () => journal.forget(at, record.length);
    }
    await s.files.sync(touched);
    await this.dirs([...s.newDirs]);
    s.newDirs.clear();
    if (s.feed.syncedThrough >= firstPosition - 1) {
      s.feed.syncedThrough = lastPosition;
      writeSynced(s.layout.root, lastPosition);
    }
    return undefined;
  }

  /** `batched` mode's timer: one checkpoint at a time, and a failing one stops the store. */
  async batched(): Promise<void> {
    const s = this.#s;
    if (s.pendingSync || s.failure || s.feed.syncedThrough >= s.feed.head) return;
    s.pendingSync = this.through(s.feed.head)
      .catch((err) => s.fail(err instanceof FfcdbError ? err : ioError(err, s.layout.root, 'fdatasync')))
      .finally(() => (s.pendingSync = undefined));
    await s.pendingSync;
  }
}
