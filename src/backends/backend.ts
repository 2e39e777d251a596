import type { AppendResult, DurabilityMode, EventMetadata, ExpectedVersion, JsonValue, ReadDirection, RecordedEvent } from '../kernel/types.js';

/**
 * An event after the engine validated it and gave it an id, schema version and timestamp.
 * The backend adds stream version and global position atomically.
 */
export interface PreparedEvent {
  id: string;
  /** True when the caller chose the id, so the backend must check it for a retry. */
  idSupplied: boolean;
  type: string;
  schemaVersion: number;
  timestamp: number;
  data: JsonValue;
  metadata: EventMetadata;
}

/** Optional capabilities, so the engine and the compliance suite know what to expect of a backend. */
export interface BackendCapabilities {
  /** Several processes may open the same store and append concurrently. */
  crossProcess: boolean;
  /** Data survives the process (and, with `always`, power loss). */
  persistent: boolean;
  /** Durability modes the backend honours. */
  durability: readonly DurabilityMode[];
  /** Commits of other processes reach `onCommit` listeners without a local append. */
  liveCrossProcess: boolean;
}

export interface StreamReadOptions {
  direction: ReadDirection;
  /** Forward: first version to return; backward: last version to return. Default: the start (forward) or the end (backward). */
  fromVersion?: number;
  /** How many events the caller will take at most (a hint: a backend may read less ahead; the engine enforces the limit). */
  limit?: number;
}

/**
 * The storage contract every backend implements. Reads yield pages (arrays) of
 * events so that a backend can hand over a whole frame or row batch at once;
 * the engine flattens, filters and limits them. Iterating must hold only one
 * page in memory at a time.
 */
export interface StorageBackend {
  readonly kind: string;
  readonly supports: BackendCapabilities;
  /** True when the store was opened read-only: `append` and `purgeStream` fail with READ_ONLY and nothing is written. */
  readonly readOnly?: boolean;

  open(context: BackendContext): Promise<void>;
  close(): Promise<void>;

  /**
   * Appends atomically: either every event gets consecutive versions and global
   * positions, or none is written. Checks `expected` and caller-supplied ids
   * (a retry of an earlier append returns its original result) atomically,
   * across processes where `supports.crossProcess`. Raises a timestamp below
   * the stream's last one to that value, so time travel can rely on order.
   */
  append(streamId: string, events: readonly PreparedEvent[], expected: ExpectedVersion): Promise<AppendResult>;

  /** The stream's current version; 0 when it does not exist. */
  streamVersion(streamId: string): Promise<number>;

  /** Every read yields new event objects: the caller may keep or change them without touching what is stored. */
  readStream(streamId: string, options: StreamReadOptions): AsyncIterable<readonly RecordedEvent[]>;

  /** Events with position >= fromPosition, in position order. `limit` is a hint, as in StreamReadOptions. */
  readAll(fromPosition: number, limit?: number): AsyncIterable<readonly RecordedEvent[]>;

  /** The highest committed global position (0 when empty). */
  headPosition(): Promise<number>;

  /**
   * Erases every event of the stream from storage (a GDPR-style purge), atomically
   * and, where `supports.persistent`, durably: once it resolves, none of the
   * stream's payload bytes (data, metadata, ids, types, timestamps) remain
   * anywhere the backend keeps data, across a crash and reopen too. The stream
   * becomes a tombstone:
   * - `streamVersion` still returns the version it had;
   * - `readStream` yields nothing, and `readAll` skips its positions: the other
   *   streams' positions stay as they were, so the feed has gaps where the
   *   purged events were (positions are never reused);
   * - appending to it fails with CONFLICT, details `{ streamId, purged: true }`:
   *   a purged id cannot be reused, so nobody reads a new stream as the old one.
   * Purging a stream that does not exist fails with NOT_FOUND; purging a
   * tombstone again is a no-op that resolves with `events: 0`. Serialised with
   * appends (an append queued before the purge is erased with the stream, one
   * queued after it fails), across processes where `supports.crossProcess`.
   */
  purgeStream(streamId: string): Promise<PurgeResult>;

  /**
   * Calls `listener.commit` with the head position after commits; with
   * `liveCrossProcess`, other processes' commits too. Heads never go back.
   * `listener.end` is called once when no more commits will be reported: with
   * no argument at close (a listener added after close ends at once), or with
   * the error that stopped the backend following commits. Returns a function
   * that removes the listener.
   */
  onCommit(listener: CommitListener): () => void;
}

/** What `StorageBackend.onCommit` calls. */
export interface CommitListener {
  commit(head: number): void;
  end(error?: unknown): void;
}

export interface PurgeResult {
  streamId: string;
  /** The version the stream had, which `streamVersion` keeps returning. */
  version: number;
  /** Events this call erased: the stream's version the first time, 0 when it was purged already. */
  events: number;
}

/** What a backend reports about itself: recoveries, operation timings, failures. */
export type BackendReport =
  | { kind: 'tail-truncated'; file: string; fromBytes: number; toBytes: number; reason: string }
  /** A read-only store found bytes a writer's recovery would cut (a torn frame, a commit whose stream frame is not whole): it reads up to `toBytes` and changes nothing. */
  | { kind: 'tail-ignored'; file: string; fromBytes: number; toBytes: number; reason: string }
  | { kind: 'orphan-removed'; file: string; offset: number; reason: string }
  | { kind: 'operation'; op: string; ms: number; events?: number }
  | { kind: 'error'; op: string; code: string; message: string };

/** Where a backend sends its reports (the engine's monitor). */
export interface MonitorSink {
  emit(event: BackendReport): void;
}

export interface BackendContext {
  monitor: MonitorSink;
}
