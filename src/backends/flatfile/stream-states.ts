import { ErrorCode, FfcdbError } from '../../kernel/errors.js';
import type { Feed, FeedEntry } from './feed.js';
import type { FileHandles } from './file-handles.js';
import type { Layout } from './layout.js';
import type { StreamLog, StreamState } from './stream-log.js';
import type { Tombstones } from './tombstones.js';

const MAX_CACHED_STREAMS = 4096;

/**
 * What this process knows of the streams (their committed extent, most recently
 * used first), kept in step with what other processes commit and purge.
 */
export class StreamStates {
  readonly #states = new Map<string, StreamState>();
  /** Lock tenures (acquisitions) so far, and the tenure in which each cached stream's tail was last checked. */
  #tenure = 0;
  readonly #checked = new Map<string, number>();

  constructor(
    readonly layout: Layout,
    readonly files: FileHandles,
    readonly feed: Feed,
    readonly streams: StreamLog,
    readonly tombstones: Tombstones,
  ) {}

  /** The cached state, if any (the writer updates it after a commit). */
  get(streamId: string): StreamState | undefined {
    return this.#states.get(streamId);
  }

  clear(): void {
    this.#states.clear();
  }

  /** The writer lock was taken (again): cached tails are checked once more, since others may have written. */
  newTenure(): void {
    this.#tenure++;
    this.#checked.clear();
  }

  /** The stream's state as the writer sees it: bytes past the committed end are leftovers of a dead writer. */
  writerState(streamId: string): StreamState {
    let state = this.#states.get(streamId);
    // Checked once per lock tenure: while we hold the lock nobody else writes.
    if (state && state.segments.length > 0 && this.#checked.get(streamId) !== this.#tenure) {
      const tail = this.layout.segmentPath(state.dir, state.segments.at(-1)!);
      if (this.files.size(tail) !== state.tailEnd) state = undefined;
    }
    if (!state) {
      state = this.streams.load(streamId, true);
      this.#cache(state);
    }
    this.#checked.set(streamId, this.#tenure);
    return state;
  }

  /**
   * The stream's committed state; undefined when it was purged. A purge writes its tombstone before it
   * deletes the files, so a load that raced with the deletes finds the tombstone when it looks again.
   */
  readerState(streamId: string): StreamState | undefined {
    if (this.tombstones.has(streamId)) return undefined;
    let state = this.#states.get(streamId);
    if (state) return state;
    try {
      state = this.streams.load(streamId, false);
    } catch (err) {
      if (this.purgedSince(err, [streamId])) return undefined;
      throw err;
    }
    this.refreshTombstones();
    if (this.tombstones.has(streamId)) return undefined;
    this.#cache(state);
    return state;
  }

  #cache(state: StreamState): void {
    this.#states.delete(state.id);
    this.#states.set(state.id, state);
    if (this.#states.size > MAX_CACHED_STREAMS) this.#states.delete(this.#states.keys().next().value!);
  }

  /**
   * Reads other processes' commits from the feed and forgets what we knew of the streams they touched;
   * learns of their purges too. Returns the new feed entries.
   */
  refresh(): FeedEntry[] {
    const foreign = this.feed.refresh();
    for (const e of foreign) this.#states.delete(e.streamId);
    this.refreshTombstones();
    return foreign;
  }

  /** One fstat of the tombstone file; what other processes purged is forgotten, descriptors included. */
  refreshTombstones(): void {
    for (const streamId of this.tombstones.refresh()) this.forget(streamId);
  }

  forget(streamId: string): void {
    this.#states.delete(streamId);
    this.#checked.delete(streamId);
    this.files.closeUnder(this.layout.streamDir(streamId));
  }

  /**
   * After a read failed: whether it failed because a purge (here or in another process) deleted files of
   * one of these streams since the read began. The caller then leaves those streams out.
   */
  purgedSince(err: unknown, streamIds: readonly string[]): boolean {
    if (!(err instanceof FfcdbError) || (err.code !== ErrorCode.CORRUPT && err.code !== ErrorCode.NOT_FOUND)) return false;
    this.refreshTombstones();
    return streamIds.some((id) => this.tombstones.has(id));
  }
}
