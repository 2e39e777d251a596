import { setTimeout as sleep } from 'node:timers/promises';
import { ErrorCode, FfcdbError, ioError } from '../../kernel/errors.js';
import type { JournalWrite } from './commit-journal.js';
import { type GroupRetries, type PendingAppend, type PlannedFrame, planAppend } from './commit-plan.js';
import { setLink } from './frame.js';
import type { PendingPurge, Purger } from './purger.js';
import { type StoreState, closedError, failedError } from './store-state.js';
import type { StreamState } from './stream-log.js';
import type { Syncer } from './syncer.js';

/** Appends committed together at most; bounds one group's memory and latency. */
const MAX_GROUP = 1024;
/** A busy writer hands the lock to a waiting process after holding it this long. */
const LOCK_HOLD_MS = 50;
/** ... and then waits this long before asking for it again (waiters retry at least every 10 ms). */
const LOCK_HANDOFF_MS = 15;
/** An idle writer keeps the lock this long for its next append. */
const LOCK_IDLE_MS = 2;
export const LOCK_TIMEOUT_MS = 30_000;

/**
 * The commit path: appends and purges queue in call order; one loop takes the
 * writer lock and commits the appends in groups (stream frames, then one feed
 * frame, then the journal or an fsync), a purge alone between the groups
 * around it.
 */
export class Committer {
  readonly #s: StoreState;
  readonly #sync: Syncer;
  readonly #purger: Purger;
  readonly #committed: (head: number) => void;
  #queue: Array<PendingAppend | PendingPurge> = [];
  #running: Promise<void> | undefined;
  #committing = false;
  #idleRelease: NodeJS.Timeout | undefined;

  constructor(state: StoreState, sync: Syncer, purger: Purger, committed: (head: number) => void) {
    this.#s = state;
    this.#sync = sync;
    this.#purger = purger;
    this.#committed = committed;
  }

  enqueue(pending: PendingAppend | PendingPurge): void {
    if (!this.#s.open) {
      pending.reject(closedError());
      return;
    }
    if (this.#s.failure) {
      pending.reject(failedError(this.#s.failure));
      return;
    }
    this.#queue.push(pending);
    if (!this.#committing) {
      this.#committing = true;
      this.#running = this.#run();
    }
  }

  /** Waits for the loop to end (the store is closing: nothing more is queued). */
  async stop(): Promise<void> {
    await this.#running;
    clearTimeout(this.#idleRelease);
  }

  async #run(): Promise<void> {
    const s = this.#s;
    clearTimeout(this.#idleRelease);
    let failed = false;
    try {
      while (this.#queue.length > 0) {
        if (s.failure) {
          this.#rejectQueued(failedError(s.failure));
          break;
        }
        if (s.lock.held && Date.now() - s.lock.heldSince > LOCK_HOLD_MS) {
          if (s.lock.othersWaiting(LOCK_HOLD_MS)) {
            // Another process is waiting: hand the lock over and step back long enough for it to notice.
            await s.lock.release();
            await sleep(LOCK_HANDOFF_MS);
          } else s.lock.heldSince = Date.now();
        }
        if (!s.lock.held) {
          await s.lock.acquire(LOCK_TIMEOUT_MS);
          s.states.newTenure();
          await this.#adoptForeignCommits();
        }
        const purgeAt = this.#queue.findIndex((p) => p.kind === 'purge');
        if (purgeAt === 0) await this.#purger.purge(this.#queue.shift() as PendingPurge);
        else await this.#commit(this.#queue.splice(0, purgeAt === -1 ? MAX_GROUP : Math.min(purgeAt, MAX_GROUP)) as PendingAppend[]);
      }
    } catch (err) {
      failed = true;
      const failure = err instanceof FfcdbError ? err : ioError(err, s.layout.root, 'commit');
      if (failure.code === ErrorCode.LOCKED) this.#rejectQueued(failure);
      else {
        s.fail(failure);
        this.#rejectQueued(failedError(failure));
      }
    } finally {
      // Cleared in the same tick as the loop saw an empty queue, so the next append starts a new committer.
      this.#committing = false;
      // A writer that appends again as soon as it is resolved finds the lock still held: no lock round per append.
      if (s.lock.held) {
        if (failed || !s.open) await s.lock.release().catch(() => undefined);
        else {
          this.#idleRelease = setTimeout(() => {
            if (!this.#committing) void s.lock.release().catch(() => undefined);
          }, LOCK_IDLE_MS);
          this.#idleRelease.unref();
        }
      }
    }
  }

  /** Under the lock: learn what other processes committed and purged, and clear up after a writer that died mid-write. */
  async #adoptForeignCommits(): Promise<void> {
    const s = this.#s;
    const foreign = s.states.refresh();
    s.feed.dropTornTail(s.monitor);
    await this.#purger.finishPurges();
    // What other processes committed may be in no journal we can vouch for (a writer that died between its
    // frames and its journal record): in 'always' mode it is made durable before we commit on top of it.
    if (s.options.durability === 'always' && foreign.length > 0) await this.#sync.through(s.feed.head);
  }

  async #commit(group: PendingAppend[]): Promise<void> {
    const s = this.#s;
    const planned: PlannedFrame[] = [];
    const drafts = new Map<string, StreamState>();
    const dirsToSync = new Set<string>();
    const retries: GroupRetries = [];
    let nextPosition = s.feed.head + 1;
    for (const pending of group) {
      try {
        const plan = planAppend(s, pending, drafts, nextPosition, retries);
        if (plan === undefined) continue;
        planned.push(plan);
        nextPosition = plan.result.lastPosition + 1;
      } catch (err) {
        // A bad append is refused alone; a failing disk (cutting a dead writer's leftovers) stops the store.
        if (err instanceof FfcdbError && err.code === ErrorCode.IO) s.fail(err);
        pending.reject(err);
      }
    }
    const settleRetries = (failure?: FfcdbError) => {
      for (const r of retries) (failure ? r.pending.reject(failure) : r.pending.resolve(r.result));
    };
    if (s.failure) {
      for (const p of planned) p.pending.reject(failedError(s.failure));
      settleRetries(failedError(s.failure));
      return;
    }
    if (planned.length === 0) return;

    const feedPlan = s.feed.plan(
      planned.map((p) => ({
        streamId: p.pending.streamId,
        segment: p.segment,
        offset: p.offset,
        length: p.frame.length,
        firstVersion: p.result.firstVersion,
        firstPosition: p.result.firstPosition,
        count: p.pending.events.length,
      })),
      s.epoch,
    );
    for (let i = 0; i < planned.length; i++) setLink(planned[i]!.frame, feedPlan.segment, feedPlan.located[i]!.feedOffset);

    s.feed.writing = true;
    let forgetRecord: (() => void) | undefined;
    try {
      // Fencing: if another process holds the lock now or wrote to the feed, our lock was taken over (our
      // event loop may have stalled past the stale time before the lock library could tell us). Write nothing.
      s.assertFeedUnchanged(feedPlan.file, feedPlan.offset);
      const checkedAt = performance.now();
      // Stream frames first, then the feed: a whole feed frame always points at a whole stream frame.
      const touched = new Set<string>([feedPlan.file]);
      const writes: JournalWrite[] = [];
      for (const p of planned) {
        if (p.newSegment) {
          for (const d of s.streams.ensureDir(p.draft.dir)) dirsToSync.add(d);
          dirsToSync.add(p.draft.dir);
          s.files.get(p.file, true);
          if (s.files.size(p.file) > 0) {
            s.monitor.emit({ kind: 'orphan-removed', file: p.file, offset: 0, reason: 'an uncommitted segment was started over' });
            s.files.truncate(p.file, 0);
          }
        }
        s.files.write(p.file, p.frame, p.offset);
        touched.add(p.file);
        writes.push({ file: p.file, offset: p.offset, bytes: p.frame });
      }
      if (feedPlan.newSegment) dirsToSync.add(s.layout.feedDir());
      // Checked again right before the feed write when writing the stream frames took long (a stall there
      // must not let this writer put its feed frames over another's); a takeover needs seconds of stall.
      if (performance.now() - checkedAt > 1) s.assertStillOurs(feedPlan.file);
      s.files.write(feedPlan.file, feedPlan.bytes, feedPlan.offset, true);
      writes.push({ file: feedPlan.file, offset: feedPlan.offset, bytes: feedPlan.bytes });
      for (const d of dirsToSync) s.newDirs.add(d);
      const waits = s.options.durability === 'always';
      if (waits) forgetRecord = await this.#sync.commitGroup(writes, touched, planned[0]!.result.firstPosition, planned.at(-1)!.result.lastPosition);
      // Still ours? Nothing may have been appended after our frames, and the lock must not have been lost meanwhile.
      // (Without an await since the last check, nothing could have run in between.)
      if (s.failure) throw s.failure;
      if (waits) s.assertFeedUnchanged(feedPlan.file, feedPlan.offset + feedPlan.bytes.length);
    } catch (err) {
      const failure = err instanceof FfcdbError ? err : ioError(err, s.layout.root, 'commit');
      s.fail(failure);
      if (failure.code !== ErrorCode.LOCKED) {
        // The journal's record first: replay would bring the commit back, though it was reported as failed.
        forgetRecord?.();
        this.#cutBack(feedPlan, planned);
      }
      for (const p of planned) p.pending.reject(failure);
      settleRetries(failure);
      return;
    } finally {
      // After a failure the frames a failed commit may have left are not news to this process: stay deaf.
      if (!s.failure) s.feed.writing = false;
    }

    s.feed.committed(feedPlan);
    for (const p of planned) {
      const state = s.states.get(p.pending.streamId);
      if (state) {
        Object.assign(state, p.draft, { ids: state.ids });
        for (const [id, ref] of p.ids) state.ids?.set(id, ref);
      }
    }
    for (const p of planned) p.pending.resolve(p.result);
    settleRetries();
    this.#committed(s.feed.head);
  }

  /**
   * Best effort after a failed commit: take back what it wrote, so that nobody
   * (this process's next opening included) mistakes it for a commit. If this
   * fails too, recovery finds the frames; the append was reported as failed.
   */
  #cutBack(feedPlan: { file: string; offset: number }, planned: readonly PlannedFrame[]): void {
    try {
      this.#s.files.truncate(feedPlan.file, feedPlan.offset);
      for (const p of planned) this.#s.files.truncate(p.file, p.offset);
    } catch {
      // The disk is failing; the store is already failed and reports the first error.
    }
  }

  #rejectQueued(err: FfcdbError): void {
    for (const p of this.#queue.splice(0)) p.reject(err);
  }
}
