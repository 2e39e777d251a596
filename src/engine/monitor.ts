import { Subject, concat, defer, from, type Observable } from 'rxjs';
import type { BackendReport, MonitorSink } from '../backends/backend.js';

/** What the store reports about itself: the backend's recoveries, timings and failures, and the projections' progress. */
export type MonitorEvent = BackendReport | { kind: 'projection'; name: string; action: ProjectionAction; position: number; detail?: string };

/**
 * loaded: state came from a snapshot; rebuilt: replayed from the feed (no usable
 * snapshot, another version, or asked for); snapshot-saved; snapshot-discarded: it
 * ran ahead of the log or could not be read; event-skipped: an event the
 * projection could not apply (written around the chat API's validation).
 */
export type ProjectionAction = 'loaded' | 'rebuilt' | 'snapshot-saved' | 'snapshot-discarded' | 'event-skipped';

/** At most this many events from opening are kept for late subscribers. */
const OPENING_EVENTS = 1000;

export class Monitor implements MonitorSink {
  readonly #subject = new Subject<MonitorEvent>();
  /**
   * What happened while the store was opening (recovery cuts, lock take-overs).
   * Nobody can subscribe to a store before its open resolves, so every
   * subscriber gets these first, then the live events.
   */
  readonly #opening: MonitorEvent[] = [];
  #opened = false;
  readonly events$: Observable<MonitorEvent> = defer(() => concat(from(this.#opening.slice()), this.#subject));

  emit(event: MonitorEvent): void {
    if (!this.#opened && this.#opening.length < OPENING_EVENTS) this.#opening.push(event);
    this.#subject.next(event);
  }

  /** The store finished opening: later events are delivered live only. */
  opened(): void {
    this.#opened = true;
  }

  complete(): void {
    this.#subject.complete();
  }
}
