// Shared helpers for the projection tests (not a test file itself).
import { NEVER, type Observable } from 'rxjs';
import type { CatalogEvent } from '../../src/events/catalog.js';
import { MemoryBackend } from '../../src/backends/memory/memory-backend.js';
import { EventStore } from '../../src/engine/event-store.js';
import { Monitor, type MonitorEvent, type ProjectionAction } from '../../src/engine/monitor.js';
import { defineProjection, type Projection } from '../../src/projections/projection.js';
import { ProjectionRunner, type ProjectionRunnerOptions } from '../../src/projector/projection-runner.js';
import { MemorySnapshotStore, type ProjectionSnapshot, type SnapshotStore } from '../../src/projector/snapshot-store.js';
import type { NewEvent } from '../../src/kernel/types.js';

export function memoryStore(): Promise<EventStore> {
  return EventStore.open(new MemoryBackend());
}

/**
 * The same store, but the runner sees only the commits pushed to `commits$`
 * (none by default): it then advances only when asked, so tests decide how far.
 */
export function withCommits(store: EventStore, commits$: Observable<number> = NEVER): EventStore {
  return new Proxy(store, {
    get(target, key) {
      if (key === 'commits$') return commits$;
      const value: unknown = Reflect.get(target, key, target);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
}

/** What a monitor reports about projections, kept in order. */
export class ProjectionLog {
  readonly events: Array<Extract<MonitorEvent, { kind: 'projection' }>> = [];
  readonly monitor = new Monitor();

  constructor() {
    this.monitor.events$.subscribe((e) => {
      if (e.kind === 'projection') this.events.push(e);
    });
  }

  of(action: ProjectionAction, name?: string): Array<Extract<MonitorEvent, { kind: 'projection' }>> {
    return this.events.filter((e) => e.action === action && (name === undefined || e.name === name));
  }
}

/** A memory snapshot store that remembers every save. */
export class SpySnapshotStore extends MemorySnapshotStore {
  readonly saves: Array<{ name: string; position: number; eventId: string }> = [];

  override async save(snapshot: ProjectionSnapshot): Promise<void> {
    this.saves.push({ name: snapshot.name, position: snapshot.position, eventId: snapshot.eventId });
    await super.save(snapshot);
  }
}

export interface Titles {
  /** Positions applied, in the order applied. */
  positions: number[];
  /** The latest title per stream. */
  titles: Map<string, string>;
}

/**
 * A test projection over session.renamed (and session.created): it records the
 * order it saw positions in, and counts its apply calls in `applied` (outside
 * the state, so replays from a snapshot can be told from full replays).
 */
export function titlesProjection(options: { name?: string; version?: number } = {}): Projection<Titles> & { applied: number } {
  const p = defineProjection<Titles>({
    name: options.name ?? 'titles',
    version: options.version ?? 1,
    handles: ['session.created', 'session.renamed'],
    init: () => ({ positions: [], titles: new Map() }),
    apply(state, event: CatalogEvent) {
      counter.applied++;
      const title = event.type === 'session.created' || event.type === 'session.renamed' ? event.data.title : undefined;
      // Reading a field of a payload written around validation (data: null) throws: the runner must skip it.
      state.titles.set(event.streamId, title!.toUpperCase());
      state.positions.push(event.position);
    },
  });
  const counter = Object.assign(p, { applied: 0 });
  return counter;
}

export const renamed = (title: string): NewEvent => ({ type: 'session.renamed', data: { title } });

/** Appends `n` renames round-robin over `streams`, one append each; returns their positions. */
export async function appendRenames(store: EventStore, n: number, streams = ['s-a', 's-b', 's-c'], prefix = 't'): Promise<number[]> {
  const positions: number[] = [];
  for (let i = 0; i < n; i++) {
    const r = await store.append(streams[i % streams.length]!, renamed(`${prefix}${i}`));
    positions.push(r.lastPosition);
  }
  return positions;
}

export function openRunner(store: EventStore, projections: readonly Projection<unknown>[], options: Partial<ProjectionRunnerOptions> & { snapshots?: SnapshotStore } = {}): Promise<ProjectionRunner> {
  return ProjectionRunner.open(store, projections, { snapshots: options.snapshots ?? new MemorySnapshotStore(), monitor: options.monitor ?? new Monitor(), ...(options.snapshotEvery === undefined ? {} : { snapshotEvery: options.snapshotEvery }) });
}

/** Resolves once `check` holds, polling; rejects after `ms`. */
export async function until(check: () => boolean, ms = 5000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}
