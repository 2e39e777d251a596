import { encodeMsgpack } from '../../codec/event-codec.js';
import { ErrorCode, FfcdbError } from '../../kernel/errors.js';
import { assertId, assertStreamId } from '../../kernel/validation.js';
import type { AppendResult, ExpectedVersion, RecordedEvent } from '../../kernel/types.js';
import { purgeNotFound } from '../append-rules.js';
import type { BackendCapabilities, BackendContext, CommitListener as BackendCommitListener, MonitorSink, PreparedEvent, PurgeResult, StorageBackend, StreamReadOptions } from '../backend.js';
import { CommitListeners } from '../commit-listeners.js';
import type { PgPool } from '../../sql/postgres/pool.js';
import { pgFailure, serverName } from '../../sql/postgres/errors.js';
import { CommitListener } from './notifications.js';
import { type AppendRow, NOTHING_STORED, type PendingAppend, type PendingPurge, type StreamState, UNKNOWN_STREAM, decide, groupParams, takeGroup } from './append-group.js';
import { type ReadQuery, readFeedPages, readStreamPages } from './keyset-reads.js';
import { type Statements, assertSchemaName, commitChannel, ensureSchema, statements, withConnection } from './schema.js';
import { WriterConnection } from './writer-connection.js';

export type PostgresDurability = 'always' | 'none';

export interface PostgresBackendOptions {
  /** A node-postgres `pg.Pool` (or anything of the same shape). `postgresBackend()` in connect.ts makes one from a connection string. */
  pool: PgPool;
  /** The schema holding the log's tables, created when missing. Default 'ffcdb'. */
  schema?: string;
  /** 'always' (default): an append resolves once its commit is flushed to the WAL; 'none': `synchronous_commit = off` for its transaction. */
  durability?: PostgresDurability;
  /** End the pool when the backend closes (or fails to open): set when the pool was made for this backend. */
  endPoolOnClose?: boolean;
}

/** Stream states remembered from earlier commits, so an append usually needs one round trip. */
const MAX_KNOWN_STREAMS = 4096;

/**
 * The event log in PostgreSQL, for apps whose servers share one database.
 *
 * Appends queue in this process and are committed in groups, on a connection
 * kept for writing: one call of the schema's `append_events` function (one
 * round trip, one transaction, one WAL flush) commits every append queued
 * while the previous group was in flight. The function takes the schema's
 * writer lock first, so writers of every process commit one after another and
 * positions become visible in the order they were handed out: a reader that
 * has seen position P has seen everything below it.
 *
 * The append rules (append-rules.ts) run here, on the stream state this process
 * last saw (or "new stream" when it saw none). The function checks that state
 * under the lock; where it was stale, the entry comes back with the actual
 * state, and the rules run again on that.
 */
export class PostgresBackend implements StorageBackend {
  readonly kind = 'postgres';
  readonly supports: BackendCapabilities = { crossProcess: true, persistent: true, durability: ['always', 'none'], liveCrossProcess: true };
  /** The first listener starts the LISTEN connection: a process that never follows commits never receives NOTIFYs. */
  readonly #commits = new CommitListeners({ first: () => this.#listen() });
  readonly #pool: PgPool;
  readonly #schema: string;
  readonly #sync: boolean;
  readonly #endPool: boolean;
  readonly #server: string;
  readonly #sql: Statements;
  /** Recently used streams' states, oldest first. */
  readonly #known = new Map<string, StreamState>();
  readonly #queue: Array<PendingAppend | PendingPurge> = [];
  #committing: Promise<void> | undefined;
  readonly #writer: WriterConnection;
  /** The pool's reads, as the keyset reads take them. */
  readonly #read: ReadQuery = (statement, values, doing) => this.#query(statement, values, doing);
  #listener: CommitListener | undefined;
  #monitor: MonitorSink | undefined;
  #lastHead = 0;
  #state: 'new' | 'open' | 'closed' = 'new';

  constructor(options: PostgresBackendOptions) {
    const schema = options.schema ?? 'ffcdb';
    assertSchemaName(schema);
    const durability = options.durability ?? 'always';
    if (durability !== 'always' && durability !== 'none') {
      throw new FfcdbError(ErrorCode.INVALID_ARGUMENT, `durability must be 'always' or 'none'; got ${JSON.stringify(durability)}`, { field: 'durability' });
    }
    this.#pool = options.pool;
    this.#schema = schema;
    this.#sync = durability === 'always';
    this.#endPool = options.endPoolOnClose ?? false;
    this.#server = serverName(options.pool);
    this.#sql = statements(schema);
    this.#writer = new WriterConnection(options.pool);
  }

  async open(context: BackendContext): Promise<void> {
    if (this.#state === 'open') return;
    if (this.#state === 'closed') throw closedError();
    this.#monitor = context.monitor;
    // An idle pooled connection that breaks is reported here; without a listener pg would crash the process.
    if (this.#endPool) this.#pool.on('error', (err) => this.#report('pool', pgFailure(err, this.#server, 'holding an idle connection')));
    try {
      await withConnection(this.#pool, (client) => ensureSchema(client, this.#schema));
      this.#state = 'open';
    } catch (err) {
      this.#state = 'closed';
      if (this.#endPool) await this.#pool.end().catch(() => undefined);
      throw pgFailure(err, this.#server, `opening schema ${this.#schema}`);
    }
  }

  onCommit(listener: BackendCommitListener): () => void {
    return this.#commits.add(listener);
  }

  /** Lets queued appends finish, stops listening, ends the commit listeners. */
  async close(): Promise<void> {
    if (this.#state === 'closed') return;
    this.#state = 'closed';
    while (this.#committing) await this.#committing;
    this.#writer.release();
    await this.#listener?.close();
    this.#commits.close();
    if (this.#endPool) await this.#pool.end().catch(() => undefined);
  }

  append(streamId: string, events: readonly PreparedEvent[], expected: ExpectedVersion): Promise<AppendResult> {
    return new Promise((resolve, reject) => {
      this.#assertOpen();
      assertStreamId(streamId);
      for (const [i, e] of events.entries()) assertId(e.id, `events[${i}].id`);
      // Encoded now: the caller may change its objects once append returns.
      const data = events.map((e) => encodeMsgpack(e.data));
      const metadata = events.map((e) => encodeMsgpack(e.metadata));
      const bytes = data.reduce((n, b) => n + b.length, 0) + metadata.reduce((n, b) => n + b.length, 0);
      this.#enqueue({ kind: 'append', streamId, events, data, metadata, bytes, expected, resolve, reject });
    });
  }

  purgeStream(streamId: string): Promise<PurgeResult> {
    return new Promise((resolve, reject) => {
      this.#assertOpen();
      assertStreamId(streamId);
      this.#enqueue({ kind: 'purge', streamId, resolve, reject });
    });
  }

  async streamVersion(streamId: string): Promise<number> {
    assertStreamId(streamId);
    const rows = await this.#query<{ version: string }>(this.#sql.streamVersion, [streamId], `reading the version of stream ${streamId}`);
    return rows[0] ? Number(rows[0].version) : 0;
  }

  async headPosition(): Promise<number> {
    const rows = await this.#query<{ position: string }>(this.#sql.head, [], 'reading the head position');
    return Number(rows[0]?.position ?? 0);
  }

  readStream(streamId: string, options: StreamReadOptions): AsyncIterable<readonly RecordedEvent[]> {
    return readStreamPages(this.#read, this.#sql, streamId, options);
  }

  readAll(fromPosition: number, limit?: number): AsyncIterable<readonly RecordedEvent[]> {
    return readFeedPages(this.#read, this.#sql, fromPosition, limit);
  }

  // ---------------------------------------------------------------- committing

  #enqueue(pending: PendingAppend | PendingPurge): void {
    this.#queue.push(pending);
    this.#committing ??= this.#commitQueued();
  }

  /** One group (or purge) at a time; whatever queues meanwhile is the next group. */
  async #commitQueued(): Promise<void> {
    try {
      while (this.#queue.length > 0) {
        const next = this.#queue[0]!;
        if (next.kind === 'purge') {
          this.#queue.shift();
          await this.#purge(next);
        } else {
          await this.#commitGroup(takeGroup(this.#queue));
        }
      }
    } finally {
      // No await between the empty check and here, so nothing can be queued unseen.
      this.#committing = undefined;
    }
  }

  async #commitGroup(group: PendingAppend[]): Promise<void> {
    const assumed = group.map((p) => this.#known.get(p.streamId) ?? UNKNOWN_STREAM);
    const decisions = group.map((p, i) => decide(p, assumed[i]!, NOTHING_STORED));
    const params = groupParams(group, assumed, decisions, this.#sync, commitChannel(this.#schema));
    let rows: AppendRow[];
    try {
      rows = await this.#writer.query<AppendRow>({ ...this.#sql.append, values: params });
    } catch (err) {
      // Whether it committed is unknown: forget what we knew of these streams.
      for (const p of group) this.#known.delete(p.streamId);
      const failure = this.#failure(err, 'appending');
      for (const p of group) p.reject(failure);
      return;
    }
    const again: PendingAppend[] = [];
    let head = 0;
    for (const [i, row] of rows.entries()) {
      const p = group[i]!;
      const decision = decisions[i]!;
      if (row.ok && decision.write) {
        const n = p.events.length;
        const firstVersion = assumed[i]!.version + 1;
        const firstPosition = Number(row.first_position);
        this.#remember(p.streamId, { version: firstVersion + n - 1, purged: false });
        head = Math.max(head, firstPosition + n - 1);
        p.resolve({ streamId: p.streamId, firstVersion, lastVersion: firstVersion + n - 1, firstPosition, lastPosition: firstPosition + n - 1, duplicate: false });
      } else if (row.ok && !decision.write) {
        decision.settle();
      } else {
        // The state was not what we assumed: decide again on the state the database had under its lock.
        const actual = { version: Number(row.version), purged: row.purged };
        this.#remember(p.streamId, actual);
        const stored = new Map((row.refs ?? []).map(([id, version, position]) => [id, { version, position }]));
        const redo = decide(p, actual, stored);
        if (redo.write) again.push(p);
        else redo.settle();
      }
    }
    this.#queue.unshift(...again);
    this.#announce(head);
  }

  async #purge(p: PendingPurge): Promise<void> {
    try {
      const rows = await this.#writer.query<{ version: string; erased: string }>({ ...this.#sql.purge, values: [p.streamId] });
      const row = rows[0];
      if (!row) throw purgeNotFound(p.streamId);
      const version = Number(row.version);
      this.#remember(p.streamId, { version, purged: true });
      p.resolve({ streamId: p.streamId, version, events: Number(row.erased) });
    } catch (err) {
      this.#known.delete(p.streamId);
      p.reject(this.#failure(err, `purging stream ${p.streamId}`));
    }
  }

  #remember(streamId: string, state: StreamState): void {
    this.#known.delete(streamId);
    this.#known.set(streamId, state);
    if (this.#known.size > MAX_KNOWN_STREAMS) this.#known.delete(this.#known.keys().next().value!);
  }

  // ---------------------------------------------------------------- helpers

  /** Emits a head once, and never one below an earlier one (local commits and NOTIFY both report heads). */
  #announce(head: number): void {
    if (head <= this.#lastHead || this.#state !== 'open') return;
    this.#lastHead = head;
    this.#commits.commit(head);
  }

  async #query<R>(statement: { name: string; text: string }, values: unknown[], doing: string): Promise<R[]> {
    this.#assertOpen();
    try {
      return (await this.#pool.query<R>({ ...statement, values })).rows;
    } catch (err) {
      // A read that was running when close() ended the pool.
      if (this.#state === 'closed') throw closedError();
      throw this.#failure(err, doing);
    }
  }

  #failure(err: unknown, doing: string): FfcdbError {
    const failure = pgFailure(err, this.#server, doing);
    if (failure.code === ErrorCode.IO) this.#report(doing, failure);
    return failure;
  }

  /** Starts the LISTEN connection once, for the first commit listener. */
  #listen(): void {
    if (this.#listener || this.#state !== 'open') return;
    this.#listener = new CommitListener({
      pool: this.#pool,
      listen: this.#sql.listen,
      channel: commitChannel(this.#schema),
      onHead: (head) => this.#announce(head),
      readHead: () => this.headPosition(),
      onLost: (err) => this.#report('listen', pgFailure(err, this.#server, 'listening for commits')),
    });
  }

  #report(op: string, err: FfcdbError): void {
    this.#monitor?.emit({ kind: 'error', op, code: err.code, message: err.message });
  }

  #assertOpen(): void {
    if (this.#state !== 'open') throw closedError();
  }
}

function closedError(): FfcdbError {
  return new FfcdbError(ErrorCode.CLOSED, 'the PostgreSQL backend is closed');
}
