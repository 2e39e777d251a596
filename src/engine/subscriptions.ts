import { Observable } from 'rxjs';
import type { RecordedEvent } from '../kernel/types.js';

/**
 * Catch-up-then-live without a gap or duplicate at the switch: there is no
 * switch. One loop reads from its cursor until it reaches the head, then waits
 * for the next commit notification and reads from the same cursor again. The
 * log is the only source of events, so a commit that lands while the loop is
 * reading is picked up by the next read.
 */
export function followFromCursor<C>(options: {
  start: C;
  /** Reads every event after the cursor that is committed now; returns the new cursor. */
  readAfter: (cursor: C, emit: (event: RecordedEvent) => void, isStopped: () => boolean) => Promise<C>;
  /** Emits when something may have been committed. */
  commits$: Observable<unknown>;
}): Observable<RecordedEvent> {
  return new Observable<RecordedEvent>((subscriber) => {
    let cursor = options.start;
    let stopped = false;
    let running: Promise<void> | null = null;
    let again = false;
    const isStopped = () => stopped || subscriber.closed;

    /** Runs the read loop once at a time; a notification during a read asks for one more pass. */
    const pump = (): Promise<void> => {
      if (running) {
        again = true;
        return running;
      }
      running = (async () => {
        try {
          do {
            again = false;
            cursor = await options.readAfter(cursor, (e) => subscriber.next(e), isStopped);
          } while (again && !isStopped());
        } catch (err) {
          if (!isStopped()) subscriber.error(err);
          stopped = true;
        } finally {
          running = null;
        }
      })();
      return running;
    };

    const sub = options.commits$.subscribe({
      next: () => void pump(),
      complete: () => subscriber.complete(),
      error: (err) => subscriber.error(err),
    });
    void pump();
    return () => {
      stopped = true;
      sub.unsubscribe();
    };
  });
}
