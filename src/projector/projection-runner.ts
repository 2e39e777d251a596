import { isDeepStrictEqual } from 'node:util';
import { type CatalogEvent, upcast, validateEvent } from '../events/catalog.js';
import type { EventStore } from '../engine/event-store.js';
import type { Monitor, ProjectionAction } from '../engine/monitor.js';
import { assertPositiveInteger, invalid } from '../kernel/validation.js';
import { ErrorCode, FfcdbError, readOnlyError } from '../kernel/errors.js';
import { FeedConsumer } from './feed-consumer.js';
import type { RecordedEvent } from '../kernel/types.js';
import type { Projection } from '../projections/projection.js';
import type { SnapshotStore } from './snapshot-store.js';
import { stateDifferences } from './state-diff.js';

export interface ProjectionRunnerOptions {
  snapshots: SnapshotStore;
  monitor: Monitor;
  /** Save snapshots after this many positions since the last save (default 100,000), and always on close. */
  snapshotEvery?: number;
  /** A read-only store: snapshots are loaded but never saved (`saveSnapshots` fails with READ_ONLY); state lives in memory. */
  readOnly?: boolean;
}

/** What a comparison of a projection rebuilt from the feed with the one maintained incrementally found. */
export interface ProjectionComparison {
  name: string;
  version: number;
  /** Both states reflect exactly this position. */
  position: number;
  identical: boolean;
  /** Paths where the states differ (the first few), e.g. `sessions.get("a1").title`. */
  differences: string[];
  /** Whether the rebuilt state replaced the live one. */
  swapped: boolean;
}

interface Slot {
  readonly projection: Projection<unknown>;
  readonly handles: ReadonlySet<string>;
  state: unknown;
  /** Every event at or below it is applied. */
  position: number;
  /** The last event applied (or skipped), so a snapshot can check it still matches the log. */
  last: { position: number; id: string };
}

/**
 * Keeps projections up to date with the global feed. All state changes run on
 * one queue, in position order; the live projections always reflect the same
 * position once caught up. Callers that need their own write reflected (the
 * chat API, inline) call `catchUp(position)` before they resolve; other
 * processes' commits are applied as `commits$` reports them.
 */
export class ProjectionRunner {
  readonly #store: EventStore;
  readonly #feed: FeedConsumer;
  readonly #slots = new Map<string, Slot>();
  readonly #snapshots: SnapshotStore;
  readonly #monitor: Monitor;
  readonly #snapshotEvery: number;
  readonly #readOnly: boolean;
  #position = 0;
  #savedAt = 0;
  #queue: Promise<unknown> = Promise.resolve();
  #unfollow: (() => void) | undefined;
  #closed = false;

  private constructor(store: EventStore, options: ProjectionRunnerOptions) {
    this.#store = store;
    this.#feed = new FeedConsumer(store);
    this.#snapshots = options.snapshots;
    this.#monitor = options.monitor;
    this.#snapshotEvery = options.snapshotEvery ?? 100_000;
    this.#readOnly = options.readOnly === true;
  }

  /** Loads each projection's snapshot (or starts it empty), catches up with the feed, then follows it. */
  static async open(store: EventStore, projections: readonly Projection<unknown>[], options: ProjectionRunnerOptions): Promise<ProjectionRunner> {
    const runner = new ProjectionRunner(store, options);
    for (const p of projections) {
      if (runner.#slots.has(p.name)) throw invalid('projections', `name ${p.name} appears twice`);
      runner.#slots.set(p.name, await runner.#load(p));
    }
    runner.#position = Math.min(...[...runner.#slots.values()].map((s) => s.position));
    runner.#savedAt = runner.#position;
    await runner.catchUp();
    runner.#unfollow = runner.#feed.follow({
      // Nothing was skipped: the next catch-up starts where this one stopped.
      next: (head) => void runner.catchUp(head).catch((err: unknown) => runner.#error('follow', err)),
      // Without it a failed poll of the log would be rxjs's unhandled error, thrown from a timer: the process would exit.
      error: (err) => runner.#error('follow', err),
    });
    return runner;
  }

  /** The position every live projection reflects. */
  get position(): number {
    return this.#position;
  }

  /** The live state of a projection. Read it synchronously: it changes whenever the runner applies events. */
  state<S>(projection: Projection<S>): S {
    const slot = this.#slots.get(projection.name);
    if (!slot || slot.projection !== projection) throw invalid('projection', `${projection.name} is not run by this store`);
    return slot.state as S;
  }

  /** Applies every committed event up to `target` (default: the head), resolving with the position reached. */
  catchUp(target?: number): Promise<number> {
    if (target !== undefined && target <= this.#position) return Promise.resolve(this.#position);
    return this.#exclusive(async () => {
      const to = target ?? (await this.#store.headPosition());
      await this.#advance(to);
      return this.#position;
    });
  }

  /**
   * Resolves once the live projections reflect `position`: a position an append
   * (of this process or, once visible, another) returned.
   */
  async waitFor(position: number): Promise<number> {
    assertPositiveInteger(position, 'waitFor', 0);
    if (position <= this.#position) return this.#position;
    const head = await this.#store.headPosition();
    if (position > head) throw invalid('waitFor', `position ${position} is beyond the feed's head ${head}`);
    return this.catchUp(position);
  }

  /** Rebuilds `name` from the feed beside the live state and reports whether the two agree, without swapping. */
  compare(name: string): Promise<ProjectionComparison> {
    return this.#rebuildBeside(name, false);
  }

  /** Rebuilds `name` from the feed beside the live state, compares, and swaps the rebuilt state in. */
  rebuild(name: string): Promise<ProjectionComparison> {
    return this.#rebuildBeside(name, true);
  }

  /** Persists every live projection with its checkpoint. */
  saveSnapshots(): Promise<void> {
    if (this.#readOnly) return Promise.reject(readOnlyError('saveSnapshots'));
    return this.#exclusive(() => this.#save());
  }

  /** Stops following the feed and saves snapshots (unless read-only). */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#unfollow?.();
    await this.#exclusive(async () => {
      if (!this.#readOnly) await this.#save();
    });
  }

  async #load(projection: Projection<unknown>): Promise<Slot> {
    const slot: Slot = {
      projection,
      handles: new Set(projection.handles),
      state: projection.init(),
      position: 0,
      last: { position: 0, id: '' },
    };
    const snapshot = await this.#snapshots.load(projection.name);
    if (!snapshot) return slot;
    if (snapshot.version !== projection.version) {
      this.#report(projection.name, 'rebuilt', 0, `snapshot is of version ${snapshot.version}, the projection of version ${projection.version}`);
      return slot;
    }
    if ((await this.#feed.check(snapshot)).verdict === 'cut') {
      this.#report(projection.name, 'snapshot-discarded', snapshot.position, 'the log no longer holds the events the snapshot reflects');
      return slot;
    }
    this.#report(projection.name, 'loaded', snapshot.position);
    return { ...slot, state: snapshot.state, position: snapshot.position, last: { position: snapshot.eventPosition, id: snapshot.eventId } };
  }

  async #advance(target: number): Promise<void> {
    if (target <= this.#position) return;
    for (const stale of await this.#apply([...this.#slots.values()], target)) {
      const fresh = this.#fresh(stale);
      await this.#apply([fresh], target);
      this.#slots.set(stale.projection.name, fresh);
      this.#report(stale.projection.name, 'rebuilt', target, 'events it had not read yet were purged: replayed from the start, so nothing of the purged stream stays');
    }
    this.#position = target;
    // A snapshot only saves replay time: failing to save one must not fail a catch-up of committed events. The next one tries again.
    if (!this.#readOnly && this.#position - this.#savedAt >= this.#snapshotEvery) await this.#save().catch((err: unknown) => this.#error('snapshot-save', err));
  }

  /**
   * Applies the feed above each slot's position up to `to` (positions of purged
   * streams are gaps: everything up to `to` counts as seen). Returns the slots
   * that met a gap above a position they had reached before: a stream purged
   * since may have its first events in their state and its deletion among the
   * gaps, so only a replay from the start can tell what they should hold.
   */
  async #apply(slots: readonly Slot[], to: number): Promise<Set<Slot>> {
    const from = slots.map((s) => s.position);
    const stale = new Set<Slot>();
    for await (const batch of this.#feed.batches(Math.min(...from), to)) {
      for (const gap of batch.gaps) {
        for (const [i, s] of slots.entries()) if (from[i]! > 0 && gap.to > from[i]!) stale.add(s);
      }
      for (const e of batch.events) this.#applyToAll(slots, e);
    }
    for (const s of slots) s.position = Math.max(s.position, to);
    return stale;
  }

  #fresh(slot: Slot): Slot {
    return { projection: slot.projection, handles: slot.handles, state: slot.projection.init(), position: 0, last: { position: 0, id: '' } };
  }

  #applyToAll(slots: readonly Slot[], raw: RecordedEvent): void {
    let event: CatalogEvent | undefined | null;
    for (const slot of slots) {
      if (raw.position <= slot.position) continue;
      slot.position = raw.position;
      slot.last = { position: raw.position, id: raw.id };
      const handled = slot.handles.has(raw.type);
      if (handled && event === undefined) event = this.#upcast(slot, raw);
      try {
        if (handled && event) slot.projection.apply(slot.state, event);
        else slot.projection.unhandled?.(slot.state, raw);
      } catch (err) {
        this.#report(slot.projection.name, 'event-skipped', raw.position, `${raw.type} ${raw.id}: ${(err as Error).message}`);
      }
    }
  }

  /**
   * The event at its current schema version, or null (reported) when the
   * catalog refuses it: the log may hold events written through the engine
   * around the chat API, and a projection must never see a malformed one.
   */
  #upcast(slot: Slot, raw: RecordedEvent): CatalogEvent | null {
    try {
      validateEvent(raw.type, raw.schemaVersion, raw.data);
      return upcast(raw);
    } catch (err) {
      this.#report(slot.projection.name, 'event-skipped', raw.position, `${raw.type} ${raw.id}: ${(err as Error).message}`);
      return null;
    }
  }

  async #rebuildBeside(name: string, swap: boolean): Promise<ProjectionComparison> {
    const live = this.#slots.get(name);
    if (!live) throw new FfcdbError(ErrorCode.NOT_FOUND, `no projection named ${JSON.stringify(name)}`, { field: 'name', name });
    let side = this.#fresh(live);
    // The long replay runs outside the queue, so the live projections keep serving and advancing.
    await this.#apply([side], this.#position);
    return this.#exclusive(async () => {
      // A purge while the replay ran outside the queue can leave half a stream in the side state.
      if ((await this.#apply([side], this.#position)).size > 0) {
        side = this.#fresh(live);
        await this.#apply([side], this.#position);
      }
      const differences = stateDifferences(live.state, side.state, 'state', 10);
      const identical = differences.length === 0 && isDeepStrictEqual(live.state, side.state);
      if (swap) {
        this.#slots.set(name, side);
        this.#report(name, 'rebuilt', side.position, identical ? 'identical to the live state' : `${differences.length} differences`);
      }
      return { name, version: live.projection.version, position: side.position, identical, differences, swapped: swap };
    });
  }

  async #save(): Promise<void> {
    for (const slot of this.#slots.values()) {
      await this.#snapshots.save({
        name: slot.projection.name,
        version: slot.projection.version,
        position: slot.position,
        eventPosition: slot.last.position,
        eventId: slot.last.id,
        state: slot.state,
      });
    }
    this.#savedAt = this.#position;
    this.#report('projections', 'snapshot-saved', this.#position);
  }

  #exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.#queue.then(fn);
    this.#queue = run.catch(() => undefined);
    return run;
  }

  #error(op: string, err: unknown): void {
    this.#monitor.emit({ kind: 'error', op: `projections-${op}`, code: err instanceof FfcdbError ? err.code : ErrorCode.FAILED, message: (err as Error)?.message ?? String(err) });
  }

  #report(name: string, action: ProjectionAction, position: number, detail?: string): void {
    this.#monitor.emit(detail === undefined ? { kind: 'projection', name, action, position } : { kind: 'projection', name, action, position, detail });
  }
}
