import { ErrorCode, FfcdbError, asIoError, readOnlyError } from '../../kernel/errors.js';
import type { AppendResult, ExpectedVersion, RecordedEvent } from '../../kernel/types.js';
import type { BackendCapabilities, BackendContext, CommitListener, MonitorSink, PreparedEvent, PurgeResult, StorageBackend, StreamReadOptions } from '../backend.js';
import { CommitListeners } from '../commit-listeners.js';
import { CommitJournal } from './commit-journal.js';
import { Committer, LOCK_TIMEOUT_MS } from './committer.js';
import { Feed } from './feed.js';
import type { FaultInjection } from '../../storage/durable-files.js';
import { FileHandles } from './file-handles.js';
import { Layout } from './layout.js';
import type { FlatfileOptions } from './options.js';
import { Purger } from './purger.js';
import { readFeedPages, readStreamPages } from './reads.js';
import { recover, recoverReadOnly } from './recovery.js';
import { type ResolvedOptions, StoreState, closedError } from './store-state.js';
import { checkStore, claimStore, nextEpoch } from './store-files.js';
import { makeRoot } from '../../storage/durable-files.js';
import { StreamLog } from './stream-log.js';
import { StreamStates } from './stream-states.js';
import { Syncer } from './syncer.js';
import { Tombstones } from './tombstones.js';
import { WriterLock } from '../../storage/writer-lock.js';

export type { FlatfileOptions } from './options.js';

/** Size of a writer's commit journal ('always' mode); a commit group too large for it is fsynced in place. */
const JOURNAL_BYTES = 16 * 1024 * 1024;

/**
 * The embedded default: one append-only segmented log per stream plus the
 * global feed, in a local folder. See the README for the format and the
 * recovery rules. This class opens and closes the store and hands the work to
 * its parts: the commit path (committer.ts, commit-plan.ts, purger.ts,
 * syncer.ts), recovery at opening (recovery.ts) and the read paths (reads.ts),
 * which share the open store's state (store-state.ts, stream-states.ts).
 */
export class FlatfileBackend implements StorageBackend {
  readonly kind = 'flatfile';
  readonly supports: BackendCapabilities = {
    crossProcess: true,
    persistent: true,
    durability: ['always', 'batched', 'none'],
    liveCrossProcess: true,
  };

  readonly #options: ResolvedOptions;
  /** While anyone listens, a timer polls the feed for other processes' commits. */
  readonly #commits = new CommitListeners({ first: () => this.#poll(), last: () => clearInterval(this.#pollTimer) });
  #pollTimer: NodeJS.Timeout | undefined;
  #monitor: MonitorSink = { emit: () => {} };
  #s!: StoreState;
  #sync!: Syncer;
  #committer!: Committer;
  #syncTimer: NodeJS.Timeout | undefined;

  constructor(options: FlatfileOptions & { faults?: FaultInjection }) {
    if (!options || typeof options.dir !== 'string' || options.dir.length === 0) {
      throw new FfcdbError(ErrorCode.INVALID_ARGUMENT, 'dir must name the data folder', { field: 'dir' });
    }
    const durability = options.durability ?? 'always';
    if (!['always', 'batched', 'none'].includes(durability)) {
      throw new FfcdbError(ErrorCode.INVALID_ARGUMENT, `durability must be 'always', 'batched' or 'none'; got ${String(durability)}`, { field: 'durability' });
    }
    this.#options = {
      dir: options.dir,
      durability,
      batchIntervalMs: positive(options.batchIntervalMs, 50, 'batchIntervalMs'),
      segmentBytes: positive(options.segmentBytes, 8 * 1024 * 1024, 'segmentBytes'),
      lockStaleMs: positive(options.lockStaleMs, 10_000, 'lockStaleMs'),
      pollMs: positive(options.pollMs, 25, 'pollMs'),
      maxFrameBytes: positive(options.maxFrameBytes, 64 * 1024 * 1024, 'maxFrameBytes'),
      maxOpenFiles: positive(options.maxOpenFiles, 2048, 'maxOpenFiles'),
      readOnly: flag(options.readOnly, 'readOnly'),
      ...(options.faults ? { faults: options.faults } : {}),
    };
  }

  /** Opened with `readOnly: true`: nothing in the folder is written, appends and purges fail with READ_ONLY. */
  get readOnly(): boolean {
    return this.#options.readOnly;
  }

  onCommit(listener: CommitListener): () => void {
    return this.#commits.add(listener);
  }

  #poll(): void {
    this.#pollTimer = setInterval(() => {
      if (!this.#s?.open) return;
      try {
        if (this.#s.states.refresh().length > 0) this.#commits.commit(this.#s.feed.head);
      } catch (err) {
        this.#commits.fail(err);
      }
    }, this.#options.pollMs);
    this.#pollTimer.unref();
  }

  async open(context?: BackendContext): Promise<void> {
    if (this.#s?.open) return;
    if (context) this.#monitor = context.monitor;
    try {
      await this.#open();
    } catch (err) {
      throw asIoError(err, this.#options.dir, 'open');
    }
  }

  async #open(): Promise<void> {
    const o = this.#options;
    const root = o.readOnly ? checkStore(o.dir) : makeRoot(o.dir);
    const layout = new Layout(root);
    const files = new FileHandles(o.maxOpenFiles, o.faults, o.readOnly);
    const feed = new Feed(layout, files, o.maxFrameBytes, o.segmentBytes);
    const streams = new StreamLog(layout, files, feed, o.maxFrameBytes, this.#monitor);
    const lock = new WriterLock(root, o.lockStaleMs, (err) => s.fail(err));
    const tombstones = new Tombstones(root, o.faults, o.readOnly);
    const s = new StoreState(o, this.#monitor, layout, files, feed, streams, lock, tombstones, new StreamStates(layout, files, feed, streams, tombstones));
    const abandon = (err: unknown) => {
      // Closing what was opened must not hide why the open failed.
      attempt(() => files.closeAll());
      attempt(() => tombstones.close());
      throw err;
    };
    if (o.readOnly) {
      // No lock, no journal, no committer: a reader of the files as they are, beside any writer.
      try {
        recoverReadOnly(s);
      } catch (err) {
        abandon(err);
      }
      this.#s = s;
      s.open = true;
      return;
    }
    const sync = new Syncer(s);
    const purger = new Purger(s, sync);
    // Under the lock, so that processes opening a new folder together agree on what it is.
    await lock.acquire(LOCK_TIMEOUT_MS);
    try {
      claimStore(root);
      await recover(s, sync, purger);
      s.epoch = nextEpoch(root);
    } catch (err) {
      abandon(err);
    } finally {
      await lock.release();
    }
    // A journal that cannot be made whole (a full disk) is removed by create: the failed open leaves nothing.
    try {
      if (o.durability === 'always') s.journal = CommitJournal.create(root, s.epoch, JOURNAL_BYTES, o.faults);
    } catch (err) {
      abandon(err);
    }
    this.#s = s;
    this.#sync = sync;
    this.#committer = new Committer(s, sync, purger, (head) => this.#commits.commit(head));
    s.open = true;
    if (o.durability === 'batched') {
      this.#syncTimer = setInterval(() => void sync.batched(), o.batchIntervalMs);
      this.#syncTimer.unref();
    }
  }

  async close(): Promise<void> {
    const s = this.#s;
    if (!s?.open) return;
    s.open = false;
    if (this.readOnly) {
      s.files.closeAll();
      s.tombstones.close();
      s.states.clear();
      this.#commits.close();
      return;
    }
    await this.#committer.stop();
    clearInterval(this.#syncTimer);
    await s.pendingSync;
    let syncError: unknown;
    // Everything committed goes to disk and into `synced`, so the next opening checks nothing twice.
    if (!s.failure) await this.#sync.through(s.feed.head).catch((err) => (syncError = err));
    // Every step runs whatever the others did (a lock left held would keep the store from reopening); the first error is thrown.
    // Once everything is synced the journal holds nothing needed; otherwise the next opening replays it.
    const journal = s.journal;
    s.journal = undefined;
    const closeError = attempt(() => journal?.close(!s.failure && !syncError));
    await s.lock.release().catch(() => undefined);
    const filesError = attempt(() => s.files.closeAll());
    const tombstonesError = attempt(() => s.tombstones.close());
    s.states.clear();
    this.#commits.close();
    const error = syncError ?? closeError ?? filesError ?? tombstonesError;
    if (error) throw asIoError(error, s.layout.root, 'close');
  }

  append(streamId: string, events: readonly PreparedEvent[], expected: ExpectedVersion): Promise<AppendResult> {
    return new Promise<AppendResult>((resolve, reject) => this.#enqueue({ kind: 'append', streamId, events, expected, resolve, reject }));
  }

  /** See StorageBackend.purgeStream; the README's Recovery section has the crash story. */
  purgeStream(streamId: string): Promise<PurgeResult> {
    return new Promise<PurgeResult>((resolve, reject) => this.#enqueue({ kind: 'purge', streamId, resolve, reject }));
  }

  #enqueue(pending: Parameters<Committer['enqueue']>[0]): void {
    if (!this.#s?.open) pending.reject(closedError());
    else if (this.readOnly) pending.reject(readOnlyError(pending.kind));
    else this.#committer.enqueue(pending);
  }

  async streamVersion(streamId: string): Promise<number> {
    this.#assertReadable();
    return this.#reading(() => {
      this.#s.states.refresh();
      return this.#s.states.readerState(streamId)?.version ?? this.#s.tombstones.version(streamId)!;
    });
  }

  async headPosition(): Promise<number> {
    this.#assertReadable();
    return this.#reading(() => {
      this.#s.states.refresh();
      return this.#s.feed.head;
    });
  }

  async *readStream(streamId: string, options: StreamReadOptions): AsyncIterable<readonly RecordedEvent[]> {
    this.#assertReadable();
    try {
      this.#s.states.refresh();
      yield* readStreamPages(this.#s, streamId, options);
    } catch (err) {
      throw asIoError(err, this.#s.layout.root, 'read');
    }
  }

  async *readAll(fromPosition: number, limit?: number): AsyncIterable<readonly RecordedEvent[]> {
    this.#assertReadable();
    try {
      this.#s.states.refresh();
      yield* readFeedPages(this.#s, fromPosition, limit);
    } catch (err) {
      throw asIoError(err, this.#s.layout.root, 'read');
    }
  }

  /** A read's system errors as IO. */
  #reading<T>(read: () => T): T {
    try {
      return read();
    } catch (err) {
      throw asIoError(err, this.#s.layout.root, 'read');
    }
  }

  #assertReadable(): void {
    if (!this.#s?.open) throw closedError();
  }
}

function flag(value: boolean | undefined, field: string): boolean {
  if (value !== undefined && typeof value !== 'boolean') throw new FfcdbError(ErrorCode.INVALID_ARGUMENT, `${field} must be a boolean; got ${typeof value}`, { field });
  return value === true;
}

/** Runs a cleanup step, returning what it threw instead of throwing. */
function attempt(step: () => void): unknown {
  try {
    step();
    return undefined;
  } catch (err) {
    return err;
  }
}

function positive(value: number | undefined, fallback: number, field: string): number {
  if (value === undefined) return fallback;
  if (!Number.isSafeInteger(value) || value <= 0) {
    throw new FfcdbError(ErrorCode.INVALID_ARGUMENT, `${field} must be a positive integer; got ${String(value)}`, { field });
  }
  return value;
}
