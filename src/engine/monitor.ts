import { Subject, concat, defer, from, type Observable } from 'rxjs';

/** What the store reports about itself: recoveries, operation timings, failures. */
export type MonitorEvent =
  | { kind: 'tail-truncated'; file: string; fromBytes: number; toBytes: number; reason: string }
  | { kind: 'orphan-removed'; file: string; offset: number; reason: string }
  | { kind: 'operation'; op: string; ms: number; events?: number }
  | { kind: 'error'; op: string; code: string; message: string };

/** At most this many events from opening are kept for late subscribers. */
const OPENING_EVENTS = 1000;

export class Monitor {
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
