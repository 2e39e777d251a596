import fs from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { encodeEvents } from '../../codec/event-codec.js';
import { ErrorCode, FfcdbError, ioError } from '../../errors.js';
import type { AppendResult, ExpectedVersion, RecordedEvent } from '../../types.js';
import { type StoredRef, checkExpectedVersion, findRetry, purgeNotFound, purgedConflict } from '../append-rules.js';
import type { BackendCapabilities, BackendContext, CommitListener, MonitorSink, PreparedEvent, PurgeResult, StorageBackend, StreamReadOptions } from '../backend.js';
import { CommitListeners } from '../commit-listeners.js';
import { Feed, type FeedEntry } from './feed.js';
import { FLAG_LZ4, STREAM_MAGIC, encodeFrame, frameIntact, frameLength, parseHeader, setLink } from './frame.js';
import { type FaultInjection, FileHandles, syncDirectories } from './file-handles.js';
import { Layout, STREAMS_DIR, isRealDirectory } from './layout.js';
import { claimStore, makeRoot, nextEpoch, readSynced, writeSynced } from './store-files.js';
import type { FlatfileOptions } from './options.js';
import { type StreamState, StreamLog } from './stream-log.js';
import { WriterLock } from './writer-lock.js';
import { CommitJournal, type JournalWrite } from './commit-journal.js';
import { Tombstones } from './tombstones.js';

export type { FlatfileOptions } from './options.js';

/** Appends committed together at most; bounds one group's memory and latency. */
const MAX_GROUP = 1024;
/** A busy writer hands the lock to a waiting process after holding it this long. */
const LOCK_HOLD_MS = 50;
/** ... and then waits this long before asking for it again (waiters retry at least every 10 ms). */
const LOCK_HANDOFF_MS = 15;
/** An idle writer keeps the lock this long for its next append. */
const LOCK_IDLE_MS = 2;
const LOCK_TIMEOUT_MS = 30_000;
/** Size of a writer's commit journal ('always' mode); a commit group too large for it is fsynced in place. */
const JOURNAL_BYTES = 16 * 1024 * 1024;
const MAX_CACHED_STREAMS = 4096;
/** Reads gather this many frames (or events) per page; a feed page costs one read per stream file it touches. */
const READ_BATCH_FRAMES = 16_384;
const READ_BATCH_EVENTS = 16_384;
const FIRST_PAGE_EVENTS = 128;

interface PendingAppend {
  kind: 'append';
  streamId: string;
  events: readonly PreparedEvent[];
  expected: ExpectedVersion;
  resolve(result: AppendResult): void;
  reject(err: unknown): void;
}

interface PendingPurge {
  kind: 'purge';
  streamId: string;
  resolve(result: PurgeResult): void;
  reject(err: unknown): void;
}

interface PlannedFrame {
  pending: PendingAppend;
  draft: StreamState;
  /** First version of the segment the frame goes to (the draft may roll on to a newer one within the group). */
  segment: number;
  file: string;
  newSegment: boolean;
  offset: number;
  frame: Buffer;
  result: AppendResult;
  ids: Array<[string, StoredRef]>;
}

/**
 * The embedded default: one append-only segmented log per stream plus the
 * global feed, in a local folder. See the README for the format and the
 * recovery rules.
 */
export class FlatfileBackend implements StorageBackend {
  readonly kind = 'flatfile';
  readonly supports: BackendCapabilities = {
    crossProcess: true,
    persistent: true,
    durability: ['always', 'batched', 'none'],
    liveCrossProcess: true,
  };

  readonly #options: Required<Omit<FlatfileOptions, 'faults'>> & { faults?: FaultInjection };
  /** While anyone listens, a timer polls the feed for other processes' commits. */
  readonly #commits = new CommitListeners({ first: () => this.#poll(), last: () => clearInterval(this.#pollTimer) });
  #pollTimer: NodeJS.Timeout | undefined;
  #monitor: MonitorSink = { emit: () => {} };
  #layout!: Layout;
  #files!: FileHandles;
  #feed!: Feed;
  #streams!: StreamLog;
  #lock!: WriterLock;
  #tombstones!: Tombstones;
  /** Purges (in the tombstone file's order) whose files this process knows to be deleted. */
  #purgesFinished = 0;
  readonly #states = new Map<string, StreamState>();
  /** Lock tenures (acquisitions) so far, and the tenure in which each cached stream's tail was last checked. */
  #tenure = 0;
  readonly #checked = new Map<string, number>();
  #epoch = 0;
  /** Appends and purges, in call order: a purge commits alone, between the groups of appends around it. */
  #queue: Array<PendingAppend | PendingPurge> = [];
  #committer: Promise<void> | undefined;
  #committing = false;
  #failure: FfcdbError | undefined;
  #open = false;
  #syncTimer: NodeJS.Timeout | undefined;
  #idleRelease: NodeJS.Timeout | undefined;
  #journal: CommitJournal | undefined;
  /** Folders with new entries not yet fsynced; the next checkpoint syncs them. */
  readonly #newDirs = new Set<string>();
  #pendingSync: Promise<void> | undefined;

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
      ...(options.faults ? { faults: options.faults } : {}),
    };
  }

  onCommit(listener: CommitListener): () => void {
    return this.#commits.add(listener);
  }

  #poll(): void {
    this.#pollTimer = setInterval(() => {
      if (!this.#open) return;
      try {
        if (this.#refresh().length > 0) this.#commits.commit(this.#feed.head);
      } catch (err) {
        this.#commits.fail(err);
      }
    }, this.#options.pollMs);
    this.#pollTimer.unref();
  }

  async open(context?: BackendContext): Promise<void> {
    if (this.#open) return;
    if (context) this.#monitor = context.monitor;
    const root = makeRoot(this.#options.dir);
    this.#layout = new Layout(root);
    this.#files = new FileHandles(this.#options.maxOpenFiles, this.#options.faults);
    this.#feed = new Feed(this.#layout, this.#files, this.#options.maxFrameBytes, this.#options.segmentBytes);
    this.#streams = new StreamLog(this.#layout, this.#files, this.#feed, this.#options.maxFrameBytes, this.#monitor);
    this.#lock = new WriterLock(root, this.#options.lockStaleMs, (err) => this.#fail(err));
    this.#tombstones = new Tombstones(root, this.#options.faults);
    // Under the lock, so that processes opening a new folder together agree on what it is.
    await this.#lock.acquire(LOCK_TIMEOUT_MS);
    try {
      claimStore(root);
      await this.#recover();
      this.#epoch = nextEpoch(root);
    } catch (err) {
      this.#files.closeAll();
      this.#tombstones.close();
      throw err;
    } finally {
      await this.#lock.release();
    }
    if (this.#options.durability === 'always') this.#journal = CommitJournal.create(root, this.#epoch, JOURNAL_BYTES, this.#options.faults);
    this.#open = true;
    if (this.#options.durability === 'batched') {
      this.#syncTimer = setInterval(() => void this.#syncBatched(), this.#options.batchIntervalMs);
      this.#syncTimer.unref();
    }
  }

  async close(): Promise<void> {
    if (!this.#open) return;
    this.#open = false;
    await this.#committer;
    clearInterval(this.#syncTimer);
    clearTimeout(this.#idleRelease);
    await this.#pendingSync;
    let syncError: unknown;
    // Everything committed goes to disk and into `synced`, so the next opening checks nothing twice.
    if (!this.#failure) await this.#syncThrough(this.#feed.head).catch((err) => (syncError = err));
    // Once everything is synced the journal holds nothing needed; otherwise the next opening replays it.
    this.#journal?.close(!this.#failure && !syncError);
    this.#journal = undefined;
    await this.#lock.release().catch(() => undefined);
    this.#files.closeAll();
    this.#tombstones.close();
    this.#states.clear();
    this.#commits.close();
    if (syncError) throw syncError;
  }

  append(streamId: string, events: readonly PreparedEvent[], expected: ExpectedVersion): Promise<AppendResult> {
    return new Promise<AppendResult>((resolve, reject) => this.#enqueue({ kind: 'append', streamId, events, expected, resolve, reject }));
  }

  /** See StorageBackend.purgeStream; the README's Recovery section has the crash story. */
  purgeStream(streamId: string): Promise<PurgeResult> {
    return new Promise<PurgeResult>((resolve, reject) => this.#enqueue({ kind: 'purge', streamId, resolve, reject }));
  }

  #enqueue(pending: PendingAppend | PendingPurge): void {
    if (!this.#open) return pending.reject(closedError());
    if (this.#failure) return pending.reject(failedError(this.#failure));
    this.#queue.push(pending);
    if (!this.#committing) {
      this.#committing = true;
      this.#committer = this.#runCommitter();
    }
  }

  async streamVersion(streamId: string): Promise<number> {
    this.#assertReadable();
    this.#refresh();
    return this.#readerState(streamId)?.version ?? this.#tombstones.version(streamId)!;
  }

  async headPosition(): Promise<number> {
    this.#assertReadable();
    this.#refresh();
    return this.#feed.head;
  }

  async *readStream(streamId: string, options: StreamReadOptions): AsyncIterable<readonly RecordedEvent[]> {
    this.#assertReadable();
    this.#refresh();
    const state = this.#readerState(streamId);
    if (!state) return;
    // A snapshot of the committed extent: appends that land while we iterate are not half-read.
    const snapshot: StreamState = { ...state, segments: [...state.segments] };
    const from =
      options.direction === 'forward' ? Math.max(1, options.fromVersion ?? 1) : Math.min(options.fromVersion ?? snapshot.version, snapshot.version);
    if (options.direction === 'forward' ? from > snapshot.version : from < 1) return;
    // Frames are gathered into pages (one await per page) of the caller's limit, or, without one, of sizes
    // doubling up to READ_BATCH_EVENTS: a filtered read that stops early decodes little, a replay pays few awaits.
    let pageSize = Math.min(options.limit ?? FIRST_PAGE_EVENTS, READ_BATCH_EVENTS);
    let page: RecordedEvent[] = [];
    try {
      for (const frame of this.#streams.read(snapshot, options.direction, from)) {
        if (!this.#open) throw closedError();
        for (const e of frame) page.push(e);
        if (page.length >= pageSize) {
          yield page;
          page = [];
          pageSize = Math.min(pageSize * 2, READ_BATCH_EVENTS);
        }
      }
    } catch (err) {
      // Purged while we read it (here or in another process): the read ends with what it had.
      if (this.#purgedSince(err, [streamId])) return;
      throw err;
    }
    if (page.length > 0) yield page;
  }

  async *readAll(fromPosition: number, limit?: number): AsyncIterable<readonly RecordedEvent[]> {
    this.#assertReadable();
    this.#refresh();
    let batch: FeedEntry[] = [];
    let events = 0;
    const readFrames = (): RecordedEvent[][] => {
      try {
        return this.#streams.readFrames(batch);
      } catch (err) {
        // A purge deleted stream files this page points at since it was gathered: read the rest.
        if (!this.#purgedSince(err, batch.map((e) => e.streamId))) throw err;
        return this.#streams.readFrames(batch.filter((e) => !this.#tombstones.has(e.streamId)));
      }
    };
    const page = (): RecordedEvent[] => {
      const out: RecordedEvent[] = [];
      for (const frame of readFrames()) for (const e of frame) if (e.position >= fromPosition) out.push(e);
      batch = [];
      events = 0;
      return out;
    };
    for (const entry of this.#feed.entriesFrom(fromPosition)) {
      if (!this.#open) throw closedError();
      // A purged stream's positions are gaps: its feed frames stay, its events are gone.
      if (this.#tombstones.has(entry.streamId)) continue;
      batch.push(entry);
      events += entry.count;
      if (batch.length >= READ_BATCH_FRAMES || events >= Math.min(limit ?? READ_BATCH_EVENTS, READ_BATCH_EVENTS)) yield page();
    }
    if (batch.length > 0) yield page();
  }

  // ---- committing -------------------------------------------------------

  async #runCommitter(): Promise<void> {
    clearTimeout(this.#idleRelease);
    let failed = false;
    try {
      while (this.#queue.length > 0) {
        if (this.#failure) {
          this.#rejectQueued(failedError(this.#failure));
          break;
        }
        if (this.#lock.held && Date.now() - this.#lock.heldSince > LOCK_HOLD_MS) {
          if (this.#lock.othersWaiting(LOCK_HOLD_MS)) {
            // Another process is waiting: hand the lock over and step back long enough for it to notice.
            await this.#lock.release();
            await sleep(LOCK_HANDOFF_MS);
          } else this.#lock.heldSince = Date.now();
        }
        if (!this.#lock.held) {
          await this.#lock.acquire(LOCK_TIMEOUT_MS);
          this.#tenure++;
          this.#checked.clear();
          await this.#adoptForeignCommits();
        }
        const purgeAt = this.#queue.findIndex((p) => p.kind === 'purge');
        if (purgeAt === 0) await this.#purge(this.#queue.shift() as PendingPurge);
        else await this.#commit(this.#queue.splice(0, purgeAt === -1 ? MAX_GROUP : Math.min(purgeAt, MAX_GROUP)) as PendingAppend[]);
      }
    } catch (err) {
      failed = true;
      const failure = err instanceof FfcdbError ? err : ioError(err, this.#layout.root, 'commit');
      if (failure.code === ErrorCode.LOCKED) this.#rejectQueued(failure);
      else {
        this.#fail(failure);
        this.#rejectQueued(failedError(failure));
      }
    } finally {
      // Cleared in the same tick as the loop saw an empty queue, so the next append starts a new committer.
      this.#committing = false;
      // A writer that appends again as soon as it is resolved finds the lock still held: no lock round per append.
      if (this.#lock.held) {
        if (failed || !this.#open) await this.#lock.release().catch(() => undefined);
        else {
          this.#idleRelease = setTimeout(() => {
            if (!this.#committing) void this.#lock.release().catch(() => undefined);
          }, LOCK_IDLE_MS);
          this.#idleRelease.unref();
        }
      }
    }
  }

  /** Under the lock: learn what other processes committed and purged, and clear up after a writer that died mid-write. */
  async #adoptForeignCommits(): Promise<void> {
    const foreign = this.#refresh();
    this.#feed.dropTornTail(this.#monitor);
    await this.#finishPurges();
    // What other processes committed may be in no journal we can vouch for (a writer that died between its
    // frames and its journal record): in 'always' mode it is made durable before we commit on top of it.
    if (this.#options.durability === 'always' && foreign.length > 0) await this.#syncThrough(this.#feed.head);
  }

  async #commit(group: PendingAppend[]): Promise<void> {
    const planned: PlannedFrame[] = [];
    const drafts = new Map<string, StreamState>();
    const dirsToSync = new Set<string>();
    /** Retries of appends planned in this very group: settled with it, not before it is durable. */
    const retries: Array<{ pending: PendingAppend; result: AppendResult }> = [];
    let nextPosition = this.#feed.head + 1;
    for (const pending of group) {
      try {
        const plan = this.#plan(pending, drafts, nextPosition, retries);
        if (plan === undefined) continue;
        planned.push(plan);
        nextPosition = plan.result.lastPosition + 1;
      } catch (err) {
        // A bad append is refused alone; a failing disk (cutting a dead writer's leftovers) stops the store.
        if (err instanceof FfcdbError && err.code === ErrorCode.IO) this.#fail(err);
        pending.reject(err);
      }
    }
    const settleRetries = (failure?: FfcdbError) => {
      for (const r of retries) (failure ? r.pending.reject(failure) : r.pending.resolve(r.result));
    };
    if (this.#failure) {
      for (const p of planned) p.pending.reject(failedError(this.#failure));
      settleRetries(failedError(this.#failure));
      return;
    }
    if (planned.length === 0) return;

    const feedPlan = this.#feed.plan(
      planned.map((p) => ({
        streamId: p.pending.streamId,
        segment: p.segment,
        offset: p.offset,
        length: p.frame.length,
        firstVersion: p.result.firstVersion,
        firstPosition: p.result.firstPosition,
        count: p.pending.events.length,
      })),
      this.#epoch,
    );
    planned.forEach((p, i) => setLink(p.frame, feedPlan.segment, feedPlan.located[i]!.feedOffset));

    this.#feed.writing = true;
    try {
      // Fencing: if another process holds the lock now or wrote to the feed, our lock was taken over (our
      // event loop may have stalled past the stale time before the lock library could tell us). Write nothing.
      this.#assertFeedUnchanged(feedPlan.file, feedPlan.offset);
      const checkedAt = performance.now();
      // Stream frames first, then the feed: a whole feed frame always points at a whole stream frame.
      const touched = new Set<string>([feedPlan.file]);
      const writes: JournalWrite[] = [];
      for (const p of planned) {
        if (p.newSegment) {
          for (const d of this.#streams.ensureDir(p.draft.dir)) dirsToSync.add(d);
          dirsToSync.add(p.draft.dir);
          this.#files.get(p.file, true);
          if (this.#files.size(p.file) > 0) {
            this.#monitor.emit({ kind: 'orphan-removed', file: p.file, offset: 0, reason: 'an uncommitted segment was started over' });
            this.#files.truncate(p.file, 0);
          }
        }
        this.#files.write(p.file, p.frame, p.offset);
        touched.add(p.file);
        writes.push({ file: p.file, offset: p.offset, bytes: p.frame });
      }
      if (feedPlan.newSegment) dirsToSync.add(this.#layout.feedDir());
      // Checked again right before the feed write when writing the stream frames took long (a stall there
      // must not let this writer put its feed frames over another's); a takeover needs seconds of stall.
      if (performance.now() - checkedAt > 1) this.#assertStillOurs(feedPlan.file);
      this.#files.write(feedPlan.file, feedPlan.bytes, feedPlan.offset, true);
      writes.push({ file: feedPlan.file, offset: feedPlan.offset, bytes: feedPlan.bytes });
      for (const d of dirsToSync) this.#newDirs.add(d);
      const waits = this.#options.durability === 'always';
      if (waits) await this.#makeDurable(writes, touched, planned[0]!.result.firstPosition, planned.at(-1)!.result.lastPosition);
      // Still ours? Nothing may have been appended after our frames, and the lock must not have been lost meanwhile.
      // (Without an await since the last check, nothing could have run in between.)
      if (this.#failure) throw this.#failure;
      if (waits) this.#assertFeedUnchanged(feedPlan.file, feedPlan.offset + feedPlan.bytes.length);
    } catch (err) {
      const failure = err instanceof FfcdbError ? err : ioError(err, this.#layout.root, 'commit');
      this.#fail(failure);
      if (failure.code !== ErrorCode.LOCKED) this.#cutBack(feedPlan, planned);
      for (const p of planned) p.pending.reject(failure);
      settleRetries(failure);
      return;
    } finally {
      // After a failure the frames a failed commit may have left are not news to this process: stay deaf.
      if (!this.#failure) this.#feed.writing = false;
    }

    this.#feed.committed(feedPlan);
    for (const p of planned) {
      const state = this.#states.get(p.pending.streamId);
      if (state) {
        Object.assign(state, p.draft, { ids: state.ids });
        for (const [id, ref] of p.ids) state.ids?.set(id, ref);
      }
    }
    for (const p of planned) p.pending.resolve(p.result);
    settleRetries();
    this.#commits.commit(this.#feed.head);
  }

  /**
   * `always` mode: the group's bytes go into the commit journal, one fdatasync
   * on a preallocated file. When the journal is full, a checkpoint first syncs
   * the logs and lets it start over; a group too large for it is fsynced in place.
   */
  async #makeDurable(writes: readonly JournalWrite[], touched: Set<string>, firstPosition: number, lastPosition: number): Promise<void> {
    const journal = this.#journal!;
    const record = journal.record(writes, firstPosition, lastPosition - firstPosition + 1, this.#epoch);
    if (record && !journal.fits(record)) {
      await this.#syncThrough(firstPosition - 1);
      journal.rewind();
    }
    if (record && journal.fits(record)) {
      try {
        await journal.append(record);
      } catch (err) {
        journal.forgetFailed(record);
        throw err;
      }
      return;
    }
    await this.#files.sync(touched);
    await this.#syncDirs([...this.#newDirs]);
    this.#newDirs.clear();
    if (this.#feed.syncedThrough >= firstPosition - 1) {
      this.#feed.syncedThrough = lastPosition;
      writeSynced(this.#layout.root, lastPosition);
    }
  }

  #assertStillOurs(file: string): void {
    if (!this.#lock.stillOurs()) throw fencedError(file);
  }

  #assertFeedUnchanged(file: string, expectedSize: number): void {
    this.#assertStillOurs(file);
    const size = this.#files.size(file);
    if (size !== expectedSize && size !== -1) {
      throw new FfcdbError(
        ErrorCode.LOCKED,
        `the feed changed under this writer (${file} is ${size} bytes, expected ${expectedSize}): another process took the lock over; this store is fenced`,
        { file },
      );
    }
  }

  /**
   * Best effort after a failed commit: take back what it wrote, so that nobody
   * (this process's next opening included) mistakes it for a commit. If this
   * fails too, recovery finds the frames; the append was reported as failed.
   */
  #cutBack(feedPlan: { file: string; offset: number }, planned: readonly PlannedFrame[]): void {
    try {
      this.#files.truncate(feedPlan.file, feedPlan.offset);
      for (const p of planned) this.#files.truncate(p.file, p.offset);
    } catch {
      // The disk is failing; the store is already failed and reports the first error.
    }
  }

  /** Checks one append against its stream and lays out its frame. Undefined when it is a retry (already resolved). */
  #plan(
    pending: PendingAppend,
    drafts: Map<string, StreamState>,
    firstPosition: number,
    retries: Array<{ pending: PendingAppend; result: AppendResult }>,
  ): PlannedFrame | undefined {
    const { streamId, events, expected } = pending;
    if (this.#tombstones.has(streamId)) throw purgedConflict(streamId);
    let draft = drafts.get(streamId);
    if (!draft) {
      const state = this.#writerState(streamId);
      draft = { ...state, segments: [...state.segments] };
      drafts.set(streamId, draft);
    }
    if (events.some((e) => e.idSupplied)) {
      const state = this.#states.get(streamId)!;
      state.ids ??= this.#streams.buildIdIndex(state);
      const ids = state.ids;
      const planned = draftIds(drafts, streamId);
      let inThisGroup = false;
      const retry = findRetry(streamId, events, (id) => {
        const found = ids.get(id) ?? planned.get(id);
        if (found && !ids.has(id)) inThisGroup = true;
        return found;
      });
      if (retry) {
        if (inThisGroup) retries.push({ pending, result: retry });
        else pending.resolve(retry);
        return undefined;
      }
    }
    checkExpectedVersion(streamId, expected, draft.version);

    const firstVersion = draft.version + 1;
    let timestamp = draft.lastTimestamp;
    const bodies = events.map((e) => {
      timestamp = Math.max(timestamp, e.timestamp);
      return { ...e, timestamp };
    });
    const payload = encodeEvents(bodies);
    if (payload.stored.length > this.#options.maxFrameBytes) {
      throw new FfcdbError(ErrorCode.INVALID_ARGUMENT, `events encode to ${payload.stored.length} bytes; one append may hold at most ${this.#options.maxFrameBytes}`, {
        field: 'events',
      });
    }
    const frame = encodeFrame(
      {
        magic: STREAM_MAGIC,
        flags: payload.compressed ? FLAG_LZ4 : 0,
        count: events.length,
        epoch: this.#epoch,
        rawLength: payload.rawLength,
        linkOffset: 0,
        linkSegment: 0,
        firstVersion,
        firstPosition,
      },
      payload.stored,
    );
    const newSegment = draft.segments.length === 0 || draft.tailEnd >= this.#options.segmentBytes;
    if (newSegment) {
      draft.segments.push(firstVersion);
      draft.tailEnd = 0;
    }
    const offset = draft.tailEnd;
    draft.tailEnd += frame.length;
    draft.version = firstVersion + events.length - 1;
    draft.lastTimestamp = timestamp;
    const result: AppendResult = {
      streamId,
      firstVersion,
      lastVersion: draft.version,
      firstPosition,
      lastPosition: firstPosition + events.length - 1,
      duplicate: false,
    };
    const ids = events.map((e, i): [string, StoredRef] => [e.id, { version: firstVersion + i, position: firstPosition + i }]);
    for (const [id, ref] of ids) draftIds(drafts, streamId).set(id, ref);
    const segment = draft.segments.at(-1)!;
    return { pending, draft, segment, file: this.#layout.segmentPath(draft.dir, segment), newSegment, offset, frame, result, ids };
  }

  /** The stream's state as the writer sees it: bytes past the committed end are leftovers of a dead writer. */
  #writerState(streamId: string): StreamState {
    let state = this.#states.get(streamId);
    // Checked once per lock tenure: while we hold the lock nobody else writes.
    if (state && state.segments.length > 0 && this.#checked.get(streamId) !== this.#tenure) {
      const tail = this.#layout.segmentPath(state.dir, state.segments.at(-1)!);
      if (this.#files.size(tail) !== state.tailEnd) state = undefined;
    }
    if (!state) {
      state = this.#streams.load(streamId, true);
      this.#cache(state);
    }
    this.#checked.set(streamId, this.#tenure);
    return state;
  }

  /**
   * The stream's committed state; undefined when it was purged. A purge writes its tombstone before it
   * deletes the files, so a load that raced with the deletes finds the tombstone when it looks again.
   */
  #readerState(streamId: string): StreamState | undefined {
    if (this.#tombstones.has(streamId)) return undefined;
    let state = this.#states.get(streamId);
    if (state) return state;
    try {
      state = this.#streams.load(streamId, false);
    } catch (err) {
      if (this.#purgedSince(err, [streamId])) return undefined;
      throw err;
    }
    this.#refreshTombstones();
    if (this.#tombstones.has(streamId)) return undefined;
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
  #refresh(): FeedEntry[] {
    const foreign = this.#feed.refresh();
    for (const e of foreign) this.#states.delete(e.streamId);
    this.#refreshTombstones();
    return foreign;
  }

  /** One fstat of the tombstone file; what other processes purged is forgotten, descriptors included. */
  #refreshTombstones(): void {
    for (const streamId of this.#tombstones.refresh()) this.#forgetStream(streamId);
  }

  #forgetStream(streamId: string): void {
    this.#states.delete(streamId);
    this.#checked.delete(streamId);
    this.#files.closeUnder(this.#layout.streamDir(streamId));
  }

  /**
   * After a read failed: whether it failed because a purge (here or in another process) deleted files of
   * one of these streams since the read began. The caller then leaves those streams out.
   */
  #purgedSince(err: unknown, streamIds: readonly string[]): boolean {
    if (!(err instanceof FfcdbError) || (err.code !== ErrorCode.CORRUPT && err.code !== ErrorCode.NOT_FOUND)) return false;
    this.#refreshTombstones();
    return streamIds.some((id) => this.#tombstones.has(id));
  }

  /**
   * Opening under the lock: cut a torn feed tail, then check every feed entry
   * above the last position known to be on disk (and the last commit group):
   * its stream frame must be whole. The first one that is not (power failed before its fsync) was never
   * durable, and neither is anything after it in a consistent history: the feed
   * and the streams are cut back to just before it, an exact prefix.
   */
  async #recover(): Promise<void> {
    CommitJournal.replay(this.#layout.root, readSynced(this.#layout.root), this.#monitor);
    this.#tombstones.load(this.#monitor);
    const lastGroup = this.#feed.load(true, this.#monitor);
    // Never above the head: a feed whose torn tail was just cut may hold less than `synced` once said.
    this.#feed.syncedThrough = Math.min(Math.max(this.#feed.syncedThrough, readSynced(this.#layout.root)), this.#feed.head);
    // The last group is always checked too: it is cheap, and it catches a tail cut after the fact.
    const from = Math.min(this.#feed.syncedThrough + 1, lastGroup[0]?.firstPosition ?? Number.POSITIVE_INFINITY);
    let bad: FeedEntry | undefined;
    for (const e of this.#feed.entriesFrom(from)) {
      // A purged stream's frames are gone on purpose: nothing to cut.
      if (!this.#tombstones.has(e.streamId) && !this.#streamFrameWhole(e)) {
        bad = e;
        break;
      }
    }
    // Below the synced position a bad frame is damage to data that was on disk: it is reported when
    // read (CORRUPT), never cut, and nothing after it is touched.
    if (bad && bad.firstPosition <= this.#feed.syncedThrough) bad = undefined;
    if (bad) {
      // Stream frames at or after the cut, found through the entries being cut, lowest offset per file.
      const cuts = new Map<string, number>();
      for (const e of this.#feed.entriesFrom(bad.firstPosition)) {
        const file = this.#layout.segmentPath(this.#layout.streamDir(e.streamId), e.segment);
        cuts.set(file, Math.min(cuts.get(file) ?? e.offset, e.offset));
      }
      this.#feed.cutAt(bad.feedSegment, bad.feedOffset);
      this.#monitor.emit({
        kind: 'tail-truncated',
        file: this.#layout.feedSegmentPath(bad.feedSegment),
        fromBytes: -1,
        toBytes: bad.feedOffset,
        reason: `the stream frame for position ${bad.firstPosition} never reached the disk`,
      });
      for (const [file, offset] of cuts) {
        if (this.#files.size(file) > offset) {
          this.#files.truncate(file, offset);
          this.#monitor.emit({ kind: 'orphan-removed', file, offset, reason: 'its commit was cut from the feed' });
        }
      }
      this.#feed.load(true, this.#monitor);
      this.#feed.syncedThrough = Math.min(this.#feed.syncedThrough, this.#feed.head);
    }
    await this.#syncThrough(this.#feed.head);
    // Each purger finishes the purges before its own, so only the last one can have been cut short.
    this.#purgesFinished = Math.max(0, this.#tombstones.count - 1);
    await this.#finishPurges();
    CommitJournal.removeDead(this.#layout.root);
  }

  /**
   * Makes every committed entry through `target` durable, whoever wrote it:
   * fsyncs the stream files and feed segments they live in, then records
   * `target` in the `synced` file so recovery need not check them again.
   */
  async #syncThrough(target: number): Promise<void> {
    const from = this.#feed.syncedThrough + 1;
    if (target < from) return;
    const files = new Set<string>(this.#feed.segmentFiles(from, target));
    // Folders whose new entries the range made (whoever made them): a segment's first frame is at offset 0,
    // a stream's first segment is 1 (its folders may be new too), a feed segment starts at its first position.
    const dirs = new Set<string>(this.#newDirs);
    this.#refreshTombstones();
    for (const e of this.#feed.entriesFrom(from)) {
      if (e.firstPosition > target) break;
      if (this.#tombstones.has(e.streamId)) continue;
      const dir = this.#layout.streamDir(e.streamId);
      files.add(this.#layout.segmentPath(dir, e.segment));
      if (e.offset === 0) dirs.add(dir);
      if (e.offset === 0 && e.segment === 1) for (let d = path.dirname(dir); d.length > this.#layout.root.length; d = path.dirname(d)) dirs.add(d);
      if (e.feedOffset === 0) dirs.add(this.#layout.feedDir());
    }
    // In chunks: every file being fsynced is held open, and there may be more than descriptors allow.
    const all = [...files];
    const chunk = Math.max(1, Math.floor(this.#options.maxOpenFiles / 4));
    for (let i = 0; i < all.length; i += chunk) await this.#files.sync(all.slice(i, i + chunk));
    const dirList = [...dirs];
    for (let i = 0; i < dirList.length; i += chunk) await this.#syncDirs(dirList.slice(i, i + chunk));
    for (const d of dirList) this.#newDirs.delete(d);
    writeSynced(this.#layout.root, target);
    this.#feed.syncedThrough = Math.max(this.#feed.syncedThrough, target);
  }

  /** fsyncs folders; a purged stream's folder, removed since it was noted (by any process), needs none. */
  #syncDirs(dirs: readonly string[]): Promise<void> {
    const streamsDir = path.join(this.#layout.root, STREAMS_DIR);
    return syncDirectories(dirs, this.#options.faults, (dir) => {
      this.#refreshTombstones();
      return path.dirname(path.dirname(path.dirname(dir))) === streamsDir && this.#tombstones.has(path.basename(dir));
    });
  }

  // ---- purging --------------------------------------------------------

  async #purge(pending: PendingPurge): Promise<void> {
    try {
      pending.resolve(await this.#purgeUnderLock(pending.streamId));
    } catch (err) {
      const failure = err instanceof FfcdbError ? err : ioError(err, this.#layout.root, 'purge');
      // A disk that failed, or a lock that was lost, stops the store as it does for a commit; a stream that
      // does not exist (or cannot be read) fails this purge alone.
      if (failure.code === ErrorCode.IO || failure.code === ErrorCode.LOCKED) this.#fail(failure);
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
  async #purgeUnderLock(streamId: string): Promise<PurgeResult> {
    const purgedAt = this.#tombstones.version(streamId);
    if (purgedAt !== undefined) return { streamId, version: purgedAt, events: 0 };
    const { version } = this.#writerState(streamId);
    if (version === 0) throw purgeNotFound(streamId);
    await this.#pendingSync;
    await this.#syncThrough(this.#feed.head);
    CommitJournal.removeDead(this.#layout.root);
    CommitJournal.scrub(this.#layout.root, this.#options.faults);
    // Fencing, as for a commit: a writer that lost the lock must not delete what another may be appending to.
    this.#assertStillOurs(this.#tombstones.file);
    if (this.#refresh().length > 0) throw fencedError(this.#tombstones.file);
    this.#tombstones.append(streamId, version, this.#epoch);
    await this.#erase(streamId);
    this.#purgesFinished = this.#tombstones.count;
    return { streamId, version, events: version };
  }

  /**
   * Under the lock: deletes the files of purges that a purger (this process, or another) tombstoned but
   * may not have finished deleting, because it died or failed. One lstat for each purge not seen finished.
   */
  async #finishPurges(): Promise<void> {
    for (const streamId of this.#tombstones.since(this.#purgesFinished)) {
      if (isRealDirectory(this.#layout.streamDir(streamId))) await this.#erase(streamId);
    }
    this.#purgesFinished = this.#tombstones.count;
  }

  /** Deletes a purged stream's folder with its segment files, and makes the removal durable. */
  async #erase(streamId: string): Promise<void> {
    const dir = this.#layout.streamDir(streamId);
    // A batched sync in flight keeps its descriptors (closeUnder spares them): once it is done, none outlives the delete.
    await this.#pendingSync;
    this.#forgetStream(streamId);
    try {
      // Symlinks inside are removed, never followed.
      fs.rmSync(dir, { recursive: true, force: true });
    } catch (err) {
      throw ioError(err, dir, 'rm');
    }
    await syncDirectories([path.dirname(dir)], this.#options.faults);
  }

  #streamFrameWhole(e: FeedEntry): boolean {
    const file = this.#layout.segmentPath(this.#layout.streamDir(e.streamId), e.segment);
    if (this.#files.size(file) < e.offset + e.length) return false;
    const buf = this.#files.read(file, e.offset, e.length);
    const header = parseHeader(buf, 0, STREAM_MAGIC, this.#options.maxFrameBytes);
    return (
      typeof header !== 'string' &&
      frameLength(header.storedLength) === e.length &&
      frameIntact(buf, 0, header) &&
      header.firstVersion === e.firstVersion &&
      header.firstPosition === e.firstPosition &&
      header.count === e.count
    );
  }

  async #syncBatched(): Promise<void> {
    if (this.#pendingSync || this.#failure || this.#feed.syncedThrough >= this.#feed.head) return;
    this.#pendingSync = this.#syncThrough(this.#feed.head)
      .catch((err) => this.#fail(err instanceof FfcdbError ? err : ioError(err, this.#layout.root, 'fdatasync')))
      .finally(() => (this.#pendingSync = undefined));
    await this.#pendingSync;
  }

  /** After a failed write or fsync nothing more is acknowledged: the page cache may not match the disk. */
  #fail(err: FfcdbError): void {
    if (this.#failure) return;
    this.#failure = err;
    this.#states.clear();
    this.#monitor.emit({ kind: 'error', op: 'store', code: err.code, message: err.message });
  }

  #rejectQueued(err: FfcdbError): void {
    for (const p of this.#queue.splice(0)) p.reject(err);
  }

  #assertReadable(): void {
    if (!this.#open) throw closedError();
  }
}

function draftIds(drafts: Map<string, StreamState>, streamId: string): Map<string, StoredRef> {
  const draft = drafts.get(streamId)!;
  draft.ids ??= new Map();
  return draft.ids;
}

function positive(value: number | undefined, fallback: number, field: string): number {
  if (value === undefined) return fallback;
  if (!Number.isSafeInteger(value) || value <= 0) {
    throw new FfcdbError(ErrorCode.INVALID_ARGUMENT, `${field} must be a positive integer; got ${String(value)}`, { field });
  }
  return value;
}

function closedError(): FfcdbError {
  return new FfcdbError(ErrorCode.CLOSED, 'the store is closed');
}

function fencedError(file: string): FfcdbError {
  return new FfcdbError(ErrorCode.LOCKED, 'another process took the writer lock over; this store is fenced and must be reopened', { file });
}

function failedError(cause: FfcdbError): FfcdbError {
  return new FfcdbError(ErrorCode.FAILED, `the store stopped accepting writes after an earlier failure (${cause.code}: ${cause.message}); close and reopen it`, {
    cause: cause.code,
  });
}
