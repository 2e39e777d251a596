import { Observable, filter } from 'rxjs';
import type { StorageBackend } from '../backends/backend.js';
import type { RecordedEvent } from '../kernel/types.js';
import { assertPositiveInteger, assertStreamId } from '../kernel/validation.js';
import { typeFilter } from './reads.js';

/** The backend's commit listener as an Observable: ends on close, fails if the backend stops following commits. */
export function commitsOf(backend: StorageBackend): Observable<number> {
  return new Observable<number>((subscriber) =>
    backend.onCommit({
      commit: (head) => subscriber.next(head),
      end: (error) => (error === undefined ? subscriber.complete() : subscriber.error(error)),
    }),
  );
}

/** Every event of the stream after `afterVersion` (default 0: from the start), then live. */
export function subscribeToStream(
  backend: StorageBackend,
  commits$: Observable<number>,
  streamId: string,
  options: { afterVersion?: number; types?: readonly string[] },
): Observable<RecordedEvent> {
  assertStreamId(streamId);
  const after = options.afterVersion ?? 0;
  assertPositiveInteger(after, 'afterVersion', 0);
  const types = typeFilter(options.types);
  const live = followFromCursor<number>({
    start: after,
    commits$,
    readAfter: async (cursor, emit, isStopped) => {
      for await (const page of backend.readStream(streamId, { direction: 'forward', fromVersion: cursor + 1 })) {
        for (const e of page) {
          if (isStopped()) return cursor;
          if (e.version !== cursor + 1) continue;
          cursor = e.version;
          emit(e);
        }
      }
      return cursor;
    },
  });
  return types ? live.pipe(filter((e) => types.has(e.type))) : live;
}

/** Every event of the global feed after `afterPosition` (default 0: from the start), then live. */
export function subscribeToAll(
  backend: StorageBackend,
  commits$: Observable<number>,
  options: { afterPosition?: number; types?: readonly string[] },
): Observable<RecordedEvent> {
  const after = options.afterPosition ?? 0;
  assertPositiveInteger(after, 'afterPosition', 0);
  const types = typeFilter(options.types);
  const live = followFromCursor<number>({
    start: after,
    commits$,
    readAfter: async (cursor, emit, isStopped) => {
      const head = await backend.headPosition();
      if (head <= cursor) return cursor;
      for await (const page of backend.readAll(cursor + 1)) {
        for (const e of page) {
          if (isStopped() || e.position > head) return cursor;
          // Purged streams leave gaps in the positions: the cursor only has to move forward.
          if (e.position <= cursor) continue;
          cursor = e.position;
          emit(e);
        }
      }
      // Read through the head: positions up to it that were not delivered were purged, and need no second look.
      return isStopped() ? cursor : head;
    },
  });
  return types ? live.pipe(filter((e) => types.has(e.type))) : live;
}

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
