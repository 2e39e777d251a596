import { monotonicFactory } from 'ulid';
import type { Observable } from 'rxjs';
import { ErrorCode, FfcdbError, readOnlyError } from '../kernel/errors.js';
import type { PreparedEvent, PurgeResult, StorageBackend } from '../backends/backend.js';
import type { AppendResult, EventMetadata, ExpectedVersion, JsonValue, NewEvent, RecordedEvent } from '../kernel/types.js';
import { LIMITS, assertExpectedVersion, assertPositiveInteger, assertStreamId, invalid } from '../kernel/validation.js';
import { Monitor, type MonitorEvent } from './monitor.js';
import { prepareEvent } from './prepare-event.js';
import { type AsOf, type FeedPage, type ReadAllOptions, type ReadStreamOptions, asOfStop, readFeedPage, streamPages, typeFilter } from './reads.js';
import { commitsOf, subscribeToAll, subscribeToStream } from './subscriptions.js';

export interface AppendOptions {
  expectedVersion?: ExpectedVersion;
}

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
    this.#commits$ = commitsOf(backend);
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

  /** Opened read-only (`readOnly: true`): append, importEvents and purgeStream fail with READ_ONLY, before anything else is checked. */
  get readOnly(): boolean {
    return this.#backend.readOnly === true;
  }

  /** Recoveries, timings and errors, for logs and metrics. */
  get monitor$(): Observable<MonitorEvent> {
    return this.#monitor.events$;
  }

  async append(streamId: string, events: NewEvent | readonly NewEvent[], options: AppendOptions = {}): Promise<AppendResult> {
    this.#assertWritable('append');
    assertStreamId(streamId);
    const expected = options.expectedVersion ?? 'any';
    assertExpectedVersion(expected);
    const list: readonly NewEvent[] = Array.isArray(events) ? events : [events as NewEvent];
    if (list.length === 0) throw invalid('events', 'must hold at least one event');
    if (list.length > LIMITS.maxEventsPerAppend) throw invalid('events', `must hold at most ${LIMITS.maxEventsPerAppend} events`);
    const now = Date.now();
    const seen = new Set<string>();
    const prepared = list.map((e, i) => prepareEvent(e, i, now, seen, this.#nextId));
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
    this.#assertWritable('import');
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
      return { ...prepareEvent(e, i, e.timestamp, seen, this.#nextId), idSupplied: false };
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
    this.#assertWritable('purge');
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

  /** The backend's pages, filtered and cut to the limit, once the store is known open. */
  async *#streamPages(streamId: string, options: ReadStreamOptions): AsyncGenerator<readonly RecordedEvent[]> {
    this.#assertOpen();
    yield* streamPages(this.#backend, streamId, options);
  }

  /** One page of the global feed. */
  async readAll(options: ReadAllOptions = {}): Promise<FeedPage> {
    this.#assertOpen();
    return readFeedPage(this.#backend, options);
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
    const stop = asOfStop(asOf);
    for await (const e of this.streamEvents(streamId)) {
      if (stop(e)) return;
      yield e;
    }
  }

  /** Every event of the stream after `afterVersion` (default 0: from the start), then live. */
  subscribeToStream(streamId: string, options: { afterVersion?: number; types?: readonly string[] } = {}): Observable<RecordedEvent> {
    this.#assertOpen();
    return subscribeToStream(this.#backend, this.#commits$, streamId, options);
  }

  /** Every event of the global feed after `afterPosition` (default 0: from the start), then live. */
  subscribeToAll(options: { afterPosition?: number; types?: readonly string[] } = {}): Observable<RecordedEvent> {
    this.#assertOpen();
    return subscribeToAll(this.#backend, this.#commits$, options);
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

  #assertOpen(): void {
    if (this.#closed) throw new FfcdbError(ErrorCode.CLOSED, 'the store is closed');
  }

  #assertWritable(op: string): void {
    this.#assertOpen();
    if (this.readOnly) throw readOnlyError(op);
  }
}
