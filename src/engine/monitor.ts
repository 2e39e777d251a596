import { Subject, type Observable } from 'rxjs';

/** What the store reports about itself: recoveries, operation timings, failures. */
export type MonitorEvent =
  | { kind: 'tail-truncated'; file: string; fromBytes: number; toBytes: number; reason: string }
  | { kind: 'orphan-removed'; file: string; offset: number; reason: string }
  | { kind: 'operation'; op: string; ms: number; events?: number }
  | { kind: 'error'; op: string; code: string; message: string }
  | { kind: 'lock'; state: 'acquired' | 'released' | 'compromised' | 'stale-taken-over'; detail?: string };

export class Monitor {
  readonly #subject = new Subject<MonitorEvent>();
  readonly events$: Observable<MonitorEvent> = this.#subject.asObservable();

  emit(event: MonitorEvent): void {
    this.#subject.next(event);
  }

  complete(): void {
    this.#subject.complete();
  }
}
