/**
 * The SQLite peer: the same events in one better-sqlite3 table, the way an
 * event store on SQLite keeps them. Payloads are msgpack (the same encoding the
 * engine uses), ids are ULIDs, versions are checked by a unique index.
 * `append` is one INSERT in autocommit mode: one insert per transaction.
 */
import Database from 'better-sqlite3';
import { Packr } from 'msgpackr';
import { monotonicFactory } from 'ulid';
import type { EventMetadata, JsonValue, NewEvent, RecordedEvent } from '../../src/types.js';

export const packr = new Packr({ useRecords: false, structuredClone: false, mapsAsObjects: true });

export type Synchronous = 'OFF' | 'NORMAL' | 'FULL';

interface Row {
  position: number;
  stream_id: string;
  version: number;
  id: string;
  type: string;
  schema_version: number;
  timestamp: number;
  data: Buffer;
  metadata: Buffer;
}

function decode(r: Row): RecordedEvent {
  return {
    id: r.id,
    streamId: r.stream_id,
    version: r.version,
    position: r.position,
    type: r.type,
    schemaVersion: r.schema_version,
    timestamp: r.timestamp,
    data: packr.unpack(r.data) as JsonValue,
    metadata: packr.unpack(r.metadata) as EventMetadata,
  };
}

export class SqliteEventLog {
  readonly db: Database.Database;
  readonly #versions = new Map<string, number>();
  readonly #nextId = monotonicFactory();
  readonly #insert: Database.Statement;
  readonly #last: Database.Statement<[string, number], Row>;
  readonly #scan: Database.Statement<[], Row>;

  constructor(
    readonly file: string,
    synchronous: Synchronous,
  ) {
    this.db = new Database(file);
    this.db.pragma('journal_mode = WAL');
    this.db.pragma(`synchronous = ${synchronous}`);
    this.db.exec(`
      CREATE TABLE IF NOT EXISTS events (
        position       INTEGER PRIMARY KEY,
        stream_id      TEXT    NOT NULL,
        version        INTEGER NOT NULL,
        id             TEXT    NOT NULL,
        type           TEXT    NOT NULL,
        schema_version INTEGER NOT NULL,
        timestamp      INTEGER NOT NULL,
        data           BLOB    NOT NULL,
        metadata       BLOB    NOT NULL
      );
      CREATE UNIQUE INDEX IF NOT EXISTS events_stream_version ON events (stream_id, version);
    `);
    this.#insert = this.db.prepare(
      'INSERT INTO events (position, stream_id, version, id, type, schema_version, timestamp, data, metadata) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)',
    );
    this.#last = this.db.prepare<[string, number], Row>('SELECT * FROM events WHERE stream_id = ? ORDER BY version DESC LIMIT ?');
    this.#scan = this.db.prepare<[], Row>('SELECT * FROM events ORDER BY position');
    for (const r of this.db.prepare('SELECT stream_id, MAX(version) AS v FROM events GROUP BY stream_id').all() as { stream_id: string; v: number }[]) {
      this.#versions.set(r.stream_id, r.v);
    }
  }

  /** One event, one INSERT, one transaction (autocommit). */
  append(streamId: string, e: NewEvent): void {
    const version = (this.#versions.get(streamId) ?? 0) + 1;
    const now = Date.now();
    this.#insert.run(null, streamId, version, this.#nextId(now), e.type, e.schemaVersion ?? 1, now, packr.pack(e.data), packr.pack(e.metadata ?? {}));
    this.#versions.set(streamId, version);
  }

  /** Stores an event exactly as another store recorded it (ids, versions, positions). */
  copy(e: RecordedEvent): void {
    this.#insert.run(e.position, e.streamId, e.version, e.id, e.type, e.schemaVersion, e.timestamp, packr.pack(e.data), packr.pack(e.metadata));
    this.#versions.set(e.streamId, e.version);
  }

  transaction(fn: () => void): void {
    this.db.transaction(fn)();
  }

  /** The last `n` events of a stream, newest first, decoded. */
  readLast(streamId: string, n: number): RecordedEvent[] {
    return this.#last.all(streamId, n).map(decode);
  }

  /** Every event in position order, decoded one row at a time. */
  *scan(): Generator<RecordedEvent> {
    for (const r of this.#scan.iterate()) yield decode(r);
  }

  /** Moves the WAL into the database file and truncates it. */
  checkpoint(): void {
    this.db.pragma('wal_checkpoint(TRUNCATE)');
  }

  close(): void {
    this.db.close();
  }
}
