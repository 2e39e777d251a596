import { monotonicFactory } from 'ulid';
import { Observable, filter } from 'rxjs';
import { ErrorCode, FfcdbError } from '../kernel/errors.js';
import type { PreparedEvent, PurgeResult, StorageBackend, StreamReadOptions } from '../backends/backend.js';
import type { AppendResult, EventMetadata, ExpectedVersion, JsonValue, NewEvent, ReadDirection, RecordedEvent } from '../kernel/types.js';
import { Monitor, type MonitorEvent } from './monitor.js';
import { followFromCursor } from './subscriptions.js';
import {
  LIMITS,
  assertEventId,
  assertEventType,
  assertExpectedVersion,
  assertJsonValue,
  assertPositiveInteger,
  assertStreamId,
  invalid,
} from '../kernel/validation.js';

export interface AppendOptions {
  expectedVersion?: ExpectedVersion;
}

export interface ReadStreamOptions {
  direction?: ReadDirection;
  /** Forward: the first version returned; backward: the last. */
  fromVersion?: number;
  limit?: number;
  /** Only events of these types. */
  types?: readonly string[];
}

export interface ReadAllOptions {
  /** The first global position to return (default 1). */
  fromPosition?: number;
  limit?: number;
  types?: readonly string[];
}

export interface FeedPage {
  events: RecordedEvent[];
  /** Pass as `fromPosition` to read the next page. */
  nextPosition: number;
  /** The head position when the page was read. */
  headPosition: number;
}

export type AsOf = { version: number } | { time: number | Date };

/** An event recorded by another store (an export), appended by `importEvents` as it was. */
export interface ImportedEvent {
  id: string;
  /** Its stream version: the first of a call continues the stream, the rest follow without gaps. */
  version: number;
  type: string;
  schemaVersion: number;
  /** Milliseconds since the epoch, kept as given: never below the stream's previous event. */
  timestamp: number;
  data: JsonValue;
  metadata: EventMetadata;
}

/**
 * The engine: validates input, gives events their ids and timestamps, and
 * serves reads, time travel and subscriptions over any StorageBackend.
 */
export class EventStore {
  readonly #backend: StorageBackend;
  readonly #monitor: Monitor;
  readonly #nextId = monotonicFactory();
  /** The backend's commit listener as an Observable: ends on close, fails if the backend stops following commits. */
  readonly #commits$: Observable<number>;
  #closed = false;

  private constructor(backend: StorageBackend, monitor: Monitor) {
    this.#backend = backend;
    this.#monitor = monitor;
    this.#commits$ = new Observable<number>((subscriber) =>
      backend.onCommit({
        commit: (head) => subscriber.next(head),
        end: (error) => (error === undefined ? subscriber.complete() : subscriber.error(error)),
      }),
    );
  }

  static async open(backend: StorageBackend): Promise<EventStore> {
    const monitor = new Monitor();
    await backend.open({ monitor });
    monitor.opened();
    return new EventStore(backend, monitor);
  }

  get backend(): StorageBackend {
    return this.#backend;
  }

  /** Recoveries, timings and errors, for logs and metrics. */
  get monitor$(): Observable<MonitorEvent> {
    return this.#monitor.events$;
  }

  async append(streamId: string, events: NewEvent | readonly NewEvent[], options: AppendOptions = {}): Promise<AppendResult> {
    this.#assertOpen();
    assertStreamId(streamId);
    const expected = options.expectedVersion ?? 'any';
    assertExpectedVersion(expected);
    const list: readonly NewEvent[] = Array.isArray(events) ? events : [events as NewEvent];
    if (list.length === 0) throw invalid('events', 'must hold at least one event');
    if (list.length > LIMITS.maxEventsPerAppend) throw invalid('events', `must hold at most ${LIMITS.maxEventsPerAppend} events`);
    const now = Date.now();
    const seen = new Set<string>();
    const prepared = list.map((e, i) => this.#prepare(e, i, now, seen));
    return this.#write('append', streamId, prepared, expected);
  }

  async #write(op: string, streamId: string, prepared: readonly PreparedEvent[], expected: ExpectedVersion): Promise<AppendResult> {
    const started = performance.now();
    try {
      const result = await this.#backend.append(streamId, prepared, expected);
      this.#monitor.emit({ kind: 'operation', op, ms: performance.now() - started, events: prepared.length });
      return result;
    } catch (err) {
      if (err instanceof FfcdbError) this.#monitor.emit({ kind: 'error', op, code: err.code, message: err.message });
      throw err;
    }
  }

  /**
   * Appends events recorded elsewhere with their own ids, timestamps and
   * versions, through the backend's normal append: for restoring an export
   * (src/export/), never for new writes, which `append` stamps. The first
   * version must be the stream's next one (checked atomically, as an expected
   * version: CONFLICT otherwise) and the rest consecutive; timestamps must not
   * decrease, from the stream's last stored event on (the backend would raise
   * them silently). Ids are checked for form and within the call; they are
   * not looked up in the stream (that index would hold every id of an import
   * in memory), so they are trusted to be as unique as in the store they came from.
   */
  async importEvents(streamId: string, events: readonly ImportedEvent[]): Promise<AppendResult> {
    this.#assertOpen();
    assertStreamId(streamId);
    if (!Array.isArray(events) || events.length === 0) throw invalid('events', 'must be an array of at least one event');
    if (events.length > LIMITS.maxEventsPerAppend) throw invalid('events', `must hold at most ${LIMITS.maxEventsPerAppend} events`);
    const first = (events[0] as Partial<ImportedEvent> | null)?.version;
    assertPositiveInteger(first, 'events[0].version', 1);
    let previous = 0;
    if (first > 1) {
      for await (const page of this.#backend.readStream(streamId, { direction: 'backward', limit: 1 })) {
        previous = page[0]?.timestamp ?? 0;
        break;
      }
    }
    const seen = new Set<string>();
    const prepared = events.map((e, i): PreparedEvent => {
      if (e === null || typeof e !== 'object') throw invalid(`events[${i}]`, 'must be an object');
      if (e.version !== first + i) throw invalid(`events[${i}].version`, `must be ${first + i} (versions follow each other); got ${String(e.version)}`);
      if (e.id === undefined) throw invalid(`events[${i}].id`, 'is required');
      assertPositiveInteger(e.timestamp, `events[${i}].timestamp`, 0);
      if (e.timestamp < previous) throw invalid(`events[${i}].timestamp`, `must not be below the stream's previous timestamp ${previous}; got ${e.timestamp}`);
      previous = e.timestamp;
      // The id is as recorded, not a caller's retry token: no lookup in the stream.
      return { ...this.#prepare(e, i, e.timestamp, seen), idSupplied: false };
    });
    return this.#write('import', streamId, prepared, first - 1);
  }

  /**
   * Erases every event of the stream from storage, durably (see StorageBackend.purgeStream):
   * the stream keeps its version, reads as empty, refuses appends (CONFLICT), and its
   * positions become gaps in the feed. NOT_FOUND when it never existed; a no-op
   * (`events: 0`) when it was purged already.
   */
  async purgeStream(streamId: string): Promise<PurgeResult> {
    this.#assertOpen();
    assertStreamId(streamId);
    const started = performance.now();
    try {
      const result = await this.#backend.purgeStream(streamId);
      this.#monitor.emit({ kind: 'operation', op: 'purge', ms: performance.now() - started, events: result.events });
      return result;
    } catch (err) {
      if (err instanceof FfcdbError) this.#monitor.emit({ kind: 'error', op: 'purge', code: err.code, message: err.message });
      throw err;
    }
  }

  async streamVersion(streamId: string): Promise<number> {
    this.#assertOpen();
    assertStreamId(streamId);
    return this.#backend.streamVersion(streamId);
  }

  async headPosition(): Promise<number> {
    this.#assertOpen();
    return this.#backend.headPosition();
  }

  /** Reads up to `limit` events of a stream into memory. */
  async readStream(streamId: string, options: ReadStreamOptions = {}): Promise<RecordedEvent[]> {
    const out: RecordedEvent[] = [];
    for await (const page of this.#streamPages(streamId, options)) for (const e of page) out.push(e);
    return out;
  }

  /** Streams a stream's events with constant memory. */
  async *streamEvents(streamId: string, options: ReadStreamOptions = {}): AsyncGenerator<RecordedEvent> {
    for await (const page of this.#streamPages(streamId, options)) yield* page;
  }

  /** The backend's pages, filtered and cut to the limit: one await per page, not per event. */
  async *#streamPages(streamId: string, options: ReadStreamOptions): AsyncGenerator<readonly RecordedEvent[]> {
    this.#assertOpen();
    assertStreamId(streamId);
    const direction = options.direction ?? 'forward';
    if (direction !== 'forward' && direction !== 'backward') throw invalid('direction', `must be 'forward' or 'backward'`);
    if (options.fromVersion !== undefined) assertPositiveInteger(options.fromVersion, 'fromVersion', 0);
    let remaining = readLimit(options.limit);
    const types = typeFilter(options.types);
    if (remaining === 0) return;
    const backendOptions: StreamReadOptions = { direction };
    if (options.fromVersion !== undefined) backendOptions.fromVersion = options.fromVersion;
    if (!types && Number.isFinite(remaining)) backendOptions.limit = remaining;
    for await (const page of this.#backend.readStream(streamId, backendOptions)) {
      const kept = types ? page.filter((e) => types.has(e.type)) : page;
      if (kept.length >= remaining) {
        yield kept.slice(0, remaining);
        return;
      }
      remaining -= kept.length;
      if (kept.length > 0) yield kept;
    }
  }

  /** One page of the global feed. */
  async readAll(options: ReadAllOptions = {}): Promise<FeedPage> {
    this.#assertOpen();
    const from = options.fromPosition ?? 1;
    assertPositiveInteger(from, 'fromPosition', 1);
    const limit = readLimit(options.limit ?? 1000);
    const types = typeFilter(options.types);
    const headPosition = await this.#backend.headPosition();
    const events: RecordedEvent[] = [];
    let nextPosition = from;
    if (limit > 0) {
      outer: for await (const page of this.#backend.readAll(from, types ? undefined : limit)) {
        for (const e of page) {
          if (e.position > headPosition) break outer;
          nextPosition = e.position + 1;
          if (types && !types.has(e.type)) continue;
          events.push(e);
          if (events.length >= limit) break outer;
        }
      }
    }
    if (events.length < limit) nextPosition = Math.max(nextPosition, headPosition + 1);
    return { events, nextPosition, headPosition };
  }

  /** Streams the global feed from a position with constant memory, up to the head at the time of each page. */
  async *streamAll(options: Omit<ReadAllOptions, 'limit'> = {}): AsyncGenerator<RecordedEvent> {
    this.#assertOpen();
    const from = options.fromPosition ?? 1;
    assertPositiveInteger(from, 'fromPosition', 1);
    const types = typeFilter(options.types);
    for await (const page of this.#backend.readAll(from)) {
      for (const e of page) if (!types || types.has(e.type)) yield e;
    }
  }

  /** The stream as it was after version N, or at time T (every event with timestamp <= T). */
  async readStreamAsOf(streamId: string, asOf: AsOf): Promise<RecordedEvent[]> {
    const out: RecordedEvent[] = [];
    for await (const e of this.streamAsOf(streamId, asOf)) out.push(e);
    return out;
  }

  async *streamAsOf(streamId: string, asOf: AsOf): AsyncGenerator<RecordedEvent> {
    let stop: (e: RecordedEvent) => boolean;
    if ('version' in asOf) {
      assertPositiveInteger(asOf.version, 'asOf.version', 0);
      const v = asOf.version;
      stop = (e) => e.version > v;
    } else if ('time' in asOf) {
      const t = asOf.time instanceof Date ? asOf.time.getTime() : asOf.time;
      if (typeof t !== 'number' || !Number.isFinite(t)) throw invalid('asOf.time', 'must be a Date or milliseconds since the epoch');
      stop = (e) => e.timestamp > t;
    } else {
      throw invalid('asOf', 'must be { version } or { time }');
    }
    for await (const e of this.streamEvents(streamId)) {
      if (stop(e)) return;
      yield e;
    }
  }

  /** Every event of the stream after `afterVersion` (default 0: from the start), then live. */
  subscribeToStream(streamId: string, options: { afterVersion?: number; types?: readonly string[] } = {}): Observable<RecordedEvent> {
    this.#assertOpen();
    assertStreamId(streamId);
    const after = options.afterVersion ?? 0;
    assertPositiveInteger(after, 'afterVersion', 0);
    const types = typeFilter(options.types);
    const live = followFromCursor<number>({
      start: after,
      commits$: this.#commits$,
      readAfter: async (cursor, emit, isStopped) => {
        for await (const page of this.#backend.readStream(streamId, { direction: 'forward', fromVersion: cursor + 1 })) {
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
  subscribeToAll(options: { afterPosition?: number; types?: readonly string[] } = {}): Observable<RecordedEvent> {
    this.#assertOpen();
    const after = options.afterPosition ?? 0;
    assertPositiveInteger(after, 'afterPosition', 0);
    const types = typeFilter(options.types);
    const live = followFromCursor<number>({
      start: after,
      commits$: this.#commits$,
      readAfter: async (cursor, emit, isStopped) => {
        const head = await this.#backend.headPosition();
        if (head <= cursor) return cursor;
        for await (const page of this.#backend.readAll(cursor + 1)) {
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

  /** Head positions as commits happen (this process's, and other processes' where the backend supports it). */
  get commits$(): Observable<number> {
    return this.#commits$;
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#backend.close();
    this.#monitor.complete();
  }

  #prepare(e: NewEvent, index: number, now: number, seen: Set<string>): PreparedEvent {
    const at = `events[${index}]`;
    if (e === null || typeof e !== 'object') throw invalid(at, 'must be an object');
    assertEventType(e.type, `${at}.type`);
    if (!('data' in e) || e.data === undefined) throw invalid(`${at}.data`, 'is required (use null for no data)');
    assertJsonValue(e.data, `${at}.data`);
    if (e.metadata !== undefined && (e.metadata === null || typeof e.metadata !== 'object' || Array.isArray(e.metadata))) {
      throw invalid(`${at}.metadata`, 'must be an object');
    }
    const metadata = stripUndefined(e.metadata ?? {});
    assertJsonValue(metadata, `${at}.metadata`);
    for (const key of ['actor', 'correlationId', 'causationId'] as const) {
      const v = metadata[key];
      if (v !== undefined && typeof v !== 'string') throw invalid(`${at}.metadata.${key}`, 'must be a string');
    }
    const schemaVersion = e.schemaVersion ?? 1;
    assertPositiveInteger(schemaVersion, `${at}.schemaVersion`, 1);
    if (schemaVersion > 65_535) throw invalid(`${at}.schemaVersion`, 'must be at most 65535');
    let id: string;
    const idSupplied = e.id !== undefined;
    if (idSupplied) {
      assertEventId(e.id, `${at}.id`);
      id = e.id as string;
      if (seen.has(id)) throw new FfcdbError(ErrorCode.DUPLICATE_EVENT, `${at}.id ${id} appears twice in one append`, { field: `${at}.id`, id });
      seen.add(id);
    } else {
      id = this.#nextId(now);
    }
    return { id, idSupplied, type: e.type, schemaVersion, timestamp: now, data: e.data, metadata };
  }

  #assertOpen(): void {
    if (this.#closed) throw new FfcdbError(ErrorCode.CLOSED, 'the store is closed');
  }
}

function readLimit(limit: number | undefined): number {
  if (limit === undefined) return Number.POSITIVE_INFINITY;
  assertPositiveInteger(limit, 'limit', 0);
  return limit;
}

function typeFilter(types: readonly string[] | undefined): Set<string> | undefined {
  if (types === undefined) return undefined;
  if (!Array.isArray(types) || types.some((t) => typeof t !== 'string')) throw invalid('types', 'must be an array of event type names');
  return new Set(types);
}

function stripUndefined<T extends object>(o: T): T {
  const out: Record<string, unknown> = {};
  // defineProperty, not `out[k] = v`: a `__proto__` key must stay a key (which validation refuses), not set the prototype.
  for (const [k, v] of Object.entries(o)) {
    if (v !== undefined) Object.defineProperty(out, k, { value: v, enumerable: true, writable: true, configurable: true });
  }
  return out as T;
}
