import type { CatalogEvent, EventType } from '../events/catalog.js';
import type { RecordedEvent } from '../kernel/types.js';

/**
 * A projection is a pure definition: it names the events it handles and folds
 * them into a state, with no I/O and no clock. The runner owns everything else
 * (checkpoints, persistence, reading the feed), so the same definition serves
 * incremental updates, rebuilds and tests alike.
 *
 * `apply` may update the state in place: copying a map of 100,000 sessions per
 * event would make a pure reducer O(n) per event. It must be deterministic, so
 * that replaying the same events always gives the same state; that is what the
 * rebuild property checks. The state must survive a structured-clone msgpack
 * round trip (plain objects, arrays, Maps, Sets, numbers, strings), since
 * snapshots persist it that way.
 */
export interface Projection<S> {
  readonly name: string;
  /** Bump when `apply` or the state's shape changes: a persisted state of another version is rebuilt from the feed. */
  readonly version: number;
  readonly handles: readonly EventType[];
  init(): S;
  /** Events arrive in global position order, upcast to their current schema version. */
  apply(state: S, event: CatalogEvent): void;
  /**
   * Sees, as recorded, each event `apply` does not get: of a type it does not
   * handle (any type, the catalog's or not) or one the catalog refuses. For
   * bookkeeping that counts every event of a stream, such as its version.
   */
  unhandled?(state: S, event: RecordedEvent): void;
}

/** Defines a projection with its state type inferred. */
export function defineProjection<S>(projection: Projection<S>): Projection<S> {
  return projection;
}
