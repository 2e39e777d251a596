/**
 * The SQLite peers. `SqliteEventLog`: the same events in one better-sqlite3
 * table, the way an event store on SQLite keeps them. Payloads are msgpack (the same encoding the
 * engine uses), ids are ULIDs, versions are checked by a unique index.
 * `append` is one INSERT in autocommit mode: one insert per transaction.
 * `SqliteChatDb` (below): the chat API's data in a relational schema, for the
 * chat-* scenarios.
 */
import { createHash } from 'node:crypto';
import Database from 'better-sqlite3';
import { Packr } from 'msgpackr';
import { monotonicFactory } from 'ulid';
import { mergePatch } from '../../src/projections/merge-patch.js';
import type { EventMetadata, JsonValue, NewEvent, RecordedEvent } from '../../src/kernel/types.js';

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

// ---------- the chat peer: the chat API's data in a relational schema ----------

/**
 * The chat data the way an app developer would keep it in SQLite: one table
 * per entity, JSON text for free-form fields, the indexes the app's queries
 * need, every write one transaction, every write returning the row as stored
 * (as the chat API returns what it recorded).
 *
 * - `users`, `sessions` (denormalised `message_count`, `last_message_at`,
 *   `version`; index `(user_id, created_at, session_id)` for the newest-first
 *   listing with keyset pages), `session_tags (session_id, tag)` for tag
 *   filters (the tags are also kept as a JSON array on the session row, which
 *   is what a listing shows).
 * - `messages`: rowid table, unique index `(session_id, seq)` and unique
 *   `message_id`; the current revision in place (`revision` column), earlier
 *   revisions in `message_revisions`; `deleted` flag.
 * - `documents` (index on `session_id`), bytes in `blobs (sha256, data BLOB)`,
 *   one row per content hash.
 * - `context_history (session_id, version)`: each change's patch and the
 *   whole context after it (full JSON per version, so reading a past version
 *   is one indexed row), plus `sessions.context` holding the current one.
 */
const CHAT_SCHEMA = `
  CREATE TABLE IF NOT EXISTS users (
    user_id      TEXT PRIMARY KEY,
    display_name TEXT,
    email        TEXT,
    profile      TEXT NOT NULL DEFAULT '{}',
    preferences  TEXT NOT NULL DEFAULT '{}',
    created_at   INTEGER NOT NULL,
    updated_at   INTEGER NOT NULL
  );
  CREATE TABLE IF NOT EXISTS sessions (
    session_id      TEXT PRIMARY KEY,
    user_id         TEXT NOT NULL REFERENCES users (user_id),
    title           TEXT NOT NULL,
    tags            TEXT NOT NULL DEFAULT '[]',
    metadata        TEXT NOT NULL DEFAULT '{}',
    archived        INTEGER NOT NULL DEFAULT 0,
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL,
    last_message_at INTEGER,
    message_count   INTEGER NOT NULL DEFAULT 0,
    next_seq        INTEGER NOT NULL DEFAULT 1,
    version         INTEGER NOT NULL DEFAULT 1,
    context         TEXT NOT NULL DEFAULT '{}',
    context_version INTEGER NOT NULL DEFAULT 0
  );
  CREATE INDEX IF NOT EXISTS sessions_user_created ON sessions (user_id, created_at, session_id);
  CREATE TABLE IF NOT EXISTS session_tags (
    session_id TEXT NOT NULL REFERENCES sessions (session_id),
    tag        TEXT NOT NULL,
    PRIMARY KEY (session_id, tag)
  ) WITHOUT ROWID;
  CREATE TABLE IF NOT EXISTS messages (
    id          INTEGER PRIMARY KEY,
    session_id  TEXT NOT NULL REFERENCES sessions (session_id),
    seq         INTEGER NOT NULL,
    message_id  TEXT NOT NULL UNIQUE,
    role        TEXT NOT NULL,
    content     TEXT NOT NULL,
    attachments TEXT NOT NULL DEFAULT '[]',
    metadata    TEXT NOT NULL DEFAULT '{}',
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL,
    revision    INTEGER NOT NULL DEFAULT 1,
    deleted     INTEGER NOT NULL DEFAULT 0
  );
  CREATE UNIQUE INDEX IF NOT EXISTS messages_session_seq ON messages (session_id, seq);
  CREATE TABLE IF NOT EXISTS message_revisions (
    message_id  TEXT NOT NULL,
    revision    INTEGER NOT NULL,
    content     TEXT NOT NULL,
    attachments TEXT NOT NULL,
    metadata    TEXT NOT NULL,
    at          INTEGER NOT NULL,
    PRIMARY KEY (message_id, revision)
  ) WITHOUT ROWID;
  CREATE TABLE IF NOT EXISTS blobs (
    sha256 TEXT PRIMARY KEY,
    size   INTEGER NOT NULL,
    data   BLOB NOT NULL
  );
  CREATE TABLE IF NOT EXISTS documents (
    document_id TEXT PRIMARY KEY,
    user_id     TEXT NOT NULL REFERENCES users (user_id),
    session_id  TEXT REFERENCES sessions (session_id),
    name        TEXT NOT NULL,
    media_type  TEXT NOT NULL,
    size        INTEGER NOT NULL,
    sha256      TEXT NOT NULL REFERENCES blobs (sha256),
    metadata    TEXT NOT NULL DEFAULT '{}',
    uploaded_at INTEGER NOT NULL
  );
  CREATE INDEX IF NOT EXISTS documents_session ON documents (session_id);
  CREATE INDEX IF NOT EXISTS documents_sha256 ON documents (sha256);
  CREATE TABLE IF NOT EXISTS context_history (
    session_id TEXT NOT NULL REFERENCES sessions (session_id),
    version    INTEGER NOT NULL,
    op         TEXT NOT NULL,
    change     TEXT NOT NULL,
    context    TEXT NOT NULL,
    at         INTEGER NOT NULL,
    PRIMARY KEY (session_id, version)
  ) WITHOUT ROWID;
`;

type Json = JsonValue;
type JsonObj = { [key: string]: JsonValue };

/** A session row as the listing returns it (the chat API's Session shape). */
export interface SqlSession {
  sessionId: string;
  userId: string;
  title: string;
  tags: string[];
  metadata: JsonObj;
  archived: boolean;
  createdAt: number;
  updatedAt: number;
  version: number;
  lastMessageAt?: number;
  messageCount: number;
}

/** A message row (the chat API's Message shape). */
export interface SqlMessage {
  messageId: string;
  sessionId: string;
  role: string;
  content: Json;
  attachments: Json[];
  metadata: JsonObj;
  createdAt: number;
  updatedAt: number;
  revision: number;
}

export interface SqlDocument {
  documentId: string;
  userId: string;
  sessionId?: string;
  name: string;
  mediaType: string;
  size: number;
  sha256: string;
  metadata: JsonObj;
  uploadedAt: number;
}

interface SessionRow {
  session_id: string;
  user_id: string;
  title: string;
  tags: string;
  metadata: string;
  archived: number;
  created_at: number;
  updated_at: number;
  last_message_at: number | null;
  message_count: number;
  version: number;
}

interface MessageRow {
  message_id: string;
  session_id: string;
  role: string;
  content: string;
  attachments: string;
  metadata: string;
  created_at: number;
  updated_at: number;
  revision: number;
}

interface DocumentRow {
  document_id: string;
  user_id: string;
  session_id: string | null;
  name: string;
  media_type: string;
  size: number;
  sha256: string;
  metadata: string;
  uploaded_at: number;
}

function sessionFrom(r: SessionRow): SqlSession {
  const s: SqlSession = {
    sessionId: r.session_id,
    userId: r.user_id,
    title: r.title,
    tags: JSON.parse(r.tags) as string[],
    metadata: JSON.parse(r.metadata) as JsonObj,
    archived: r.archived !== 0,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
    version: r.version,
    messageCount: r.message_count,
  };
  if (r.last_message_at !== null) s.lastMessageAt = r.last_message_at;
  return s;
}

function messageFrom(r: MessageRow): SqlMessage {
  return {
    messageId: r.message_id,
    sessionId: r.session_id,
    role: r.role,
    content: JSON.parse(r.content) as Json,
    attachments: JSON.parse(r.attachments) as Json[],
    metadata: JSON.parse(r.metadata) as JsonObj,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
    revision: r.revision,
  };
}

function documentFrom(r: DocumentRow): SqlDocument {
  const d: SqlDocument = {
    documentId: r.document_id,
    userId: r.user_id,
    name: r.name,
    mediaType: r.media_type,
    size: r.size,
    sha256: r.sha256,
    metadata: JSON.parse(r.metadata) as JsonObj,
    uploadedAt: r.uploaded_at,
  };
  if (r.session_id !== null) d.sessionId = r.session_id;
  return d;
}

export interface SqlPage<T> {
  items: T[];
  hasMore: boolean;
}

/**
 * The chat peer. Every public write is one transaction (so one WAL commit,
 * and with `synchronous = FULL` one fsync) that checks what the chat API
 * checks (the owner exists, ids are new) and returns the row read back.
 * Pass `at` to store a time taken from elsewhere (copying the chat store's
 * data); writes default to Date.now().
 */
export class SqliteChatDb {
  readonly db: Database.Database;
  readonly #s: Record<string, Database.Statement>;
  readonly #createSession: (s: NewSqlSession) => SqlSession;
  readonly #addMessage: (sessionId: string, m: NewSqlMessage) => SqlMessage;
  readonly #editMessage: (sessionId: string, messageId: string, content: Json, at: number) => SqlMessage;
  readonly #setContext: (sessionId: string, op: 'set' | 'patch', change: JsonObj, at: number) => { context: JsonObj; version: number };
  readonly #upload: (d: NewSqlDocument, bytes: Uint8Array) => SqlDocument;
  readonly #deleteDocument: (documentId: string) => void;

  constructor(
    readonly file: string,
    synchronous: Synchronous,
  ) {
    this.db = new Database(file);
    this.db.pragma('journal_mode = WAL');
    this.db.pragma(`synchronous = ${synchronous}`);
    this.db.pragma('foreign_keys = ON');
    this.db.exec(CHAT_SCHEMA);
    const p = (sql: string) => this.db.prepare(sql);
    this.#s = {
      insertUser: p('INSERT INTO users (user_id, display_name, email, created_at, updated_at) VALUES (?, ?, ?, ?, ?)'),
      userExists: p('SELECT 1 FROM users WHERE user_id = ?').pluck(),
      insertSession: p('INSERT INTO sessions (session_id, user_id, title, tags, metadata, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)'),
      insertTag: p('INSERT INTO session_tags (session_id, tag) VALUES (?, ?)'),
      getSession: p('SELECT * FROM sessions WHERE session_id = ?'),
      nextSeq: p('SELECT next_seq FROM sessions WHERE session_id = ?').pluck(),
      insertMessage: p(
        'INSERT INTO messages (session_id, seq, message_id, role, content, attachments, metadata, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)',
      ),
      messageAdded: p(
        'UPDATE sessions SET message_count = message_count + 1, next_seq = next_seq + 1, version = version + 1, updated_at = ?, last_message_at = ? WHERE session_id = ?',
      ),
      getMessage: p('SELECT * FROM messages WHERE message_id = ?'),
      keepRevision: p('INSERT INTO message_revisions (message_id, revision, content, attachments, metadata, at) SELECT message_id, revision, content, attachments, metadata, updated_at FROM messages WHERE message_id = ?'),
      editMessage: p('UPDATE messages SET content = ?, revision = revision + 1, updated_at = ? WHERE message_id = ? AND session_id = ? AND deleted = 0'),
      touchSession: p('UPDATE sessions SET version = version + 1, updated_at = ? WHERE session_id = ?'),
      lastMessages: p('SELECT * FROM messages WHERE session_id = ? AND deleted = 0 ORDER BY seq DESC LIMIT ?'),
      listSessions: p('SELECT * FROM sessions WHERE user_id = ? AND archived = 0 ORDER BY created_at DESC, session_id DESC LIMIT ?'),
      listSessionsTagged: p(
        `SELECT * FROM sessions s WHERE s.user_id = ? AND s.archived = 0
           AND EXISTS (SELECT 1 FROM session_tags t WHERE t.session_id = s.session_id AND t.tag = ?)
         ORDER BY s.created_at DESC, s.session_id DESC LIMIT ?`,
      ),
      getContext: p('SELECT context, context_version FROM sessions WHERE session_id = ?'),
      setContext: p('UPDATE sessions SET context = ?, context_version = ?, version = version + 1, updated_at = ? WHERE session_id = ?'),
      insertContext: p('INSERT INTO context_history (session_id, version, op, change, context, at) VALUES (?, ?, ?, ?, ?, ?)'),
      contextAt: p('SELECT context FROM context_history WHERE session_id = ? AND version = ?').pluck(),
      contextChanges: p('SELECT op, change FROM context_history WHERE session_id = ? AND version BETWEEN ? AND ? ORDER BY version'),
      lastSet: p(`SELECT MAX(version) FROM context_history WHERE session_id = ? AND version <= ? AND op = 'set'`).pluck(),
      insertBlob: p('INSERT OR IGNORE INTO blobs (sha256, size, data) VALUES (?, ?, ?)'),
      insertDocument: p(
        'INSERT INTO documents (document_id, user_id, session_id, name, media_type, size, sha256, metadata, uploaded_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)',
      ),
      getDocument: p('SELECT * FROM documents WHERE document_id = ?'),
      sessionOwner: p('SELECT user_id FROM sessions WHERE session_id = ?').pluck(),
      deleteDocument: p('DELETE FROM documents WHERE document_id = ? RETURNING sha256').pluck(),
      blobInUse: p('SELECT 1 FROM documents WHERE sha256 = ? LIMIT 1').pluck(),
      deleteBlob: p('DELETE FROM blobs WHERE sha256 = ?'),
    };
    const s = this.#s as Record<string, Database.Statement<unknown[], unknown>>;
    const get = <T>(name: string, ...args: unknown[]) => s[name]!.get(...args) as T | undefined;
    this.#createSession = this.db.transaction((n: NewSqlSession) => {
      if (get('userExists', n.userId) === undefined) throw new Error(`user ${n.userId} does not exist`);
      const at = n.at ?? Date.now();
      s.insertSession!.run(n.sessionId, n.userId, n.title, JSON.stringify(n.tags ?? []), JSON.stringify(n.metadata ?? {}), at, at);
      for (const tag of n.tags ?? []) s.insertTag!.run(n.sessionId, tag);
      return sessionFrom(get<SessionRow>('getSession', n.sessionId)!);
    });
    this.#addMessage = this.db.transaction((sessionId: string, m: NewSqlMessage) => {
      const seq = get<number>('nextSeq', sessionId);
      if (seq === undefined) throw new Error(`session ${sessionId} does not exist`);
      const at = m.at ?? Date.now();
      s.insertMessage!.run(sessionId, seq, m.messageId, m.role, JSON.stringify(m.content), JSON.stringify(m.attachments ?? []), JSON.stringify(m.metadata ?? {}), at, at);
      s.messageAdded!.run(at, at, sessionId);
      return messageFrom(get<MessageRow>('getMessage', m.messageId)!);
    });
    this.#editMessage = this.db.transaction((sessionId: string, messageId: string, content: Json, at: number) => {
      s.keepRevision!.run(messageId);
      if (s.editMessage!.run(JSON.stringify(content), at, messageId, sessionId).changes !== 1) throw new Error(`message ${messageId} does not exist`);
      s.touchSession!.run(at, sessionId);
      return messageFrom(get<MessageRow>('getMessage', messageId)!);
    });
    this.#setContext = this.db.transaction((sessionId: string, op: 'set' | 'patch', change: JsonObj, at: number) => {
      const row = get<{ context: string; context_version: number }>('getContext', sessionId);
      if (!row) throw new Error(`session ${sessionId} does not exist`);
      const context = op === 'set' ? change : (mergePatch(JSON.parse(row.context) as JsonObj, change) as JsonObj);
      const version = row.context_version + 1;
      const text = JSON.stringify(context);
      s.insertContext!.run(sessionId, version, op, JSON.stringify(change), text, at);
      s.setContext!.run(text, version, at, sessionId);
      return { context, version };
    });
    this.#upload = this.db.transaction((d: NewSqlDocument, bytes: Uint8Array) => {
      const userId = d.sessionId === undefined ? d.userId : get<string>('sessionOwner', d.sessionId);
      if (userId === undefined || get('userExists', userId) === undefined) throw new Error('document owner does not exist');
      const sha256 = createHash('sha256').update(bytes).digest('hex');
      const at = d.at ?? Date.now();
      s.insertBlob!.run(sha256, bytes.byteLength, bytes);
      s.insertDocument!.run(d.documentId, userId, d.sessionId ?? null, d.name, d.mediaType, bytes.byteLength, sha256, JSON.stringify(d.metadata ?? {}), at);
      return documentFrom(get<DocumentRow>('getDocument', d.documentId)!);
    });
    this.#deleteDocument = this.db.transaction((documentId: string) => {
      const sha = get<string>('deleteDocument', documentId);
      if (sha !== undefined && get('blobInUse', sha) === undefined) s.deleteBlob!.run(sha);
    });
  }

  createUser(userId: string, displayName: string, at = Date.now()): void {
    this.#s.insertUser!.run(userId, displayName, null, at, at);
  }

  createSession(s: NewSqlSession): SqlSession {
    return this.#createSession(s);
  }

  addMessage(sessionId: string, m: NewSqlMessage): SqlMessage {
    return this.#addMessage(sessionId, m);
  }

  /** A new revision: the old one moves to message_revisions, the row holds the new content. */
  editMessage(sessionId: string, messageId: string, content: Json, at = Date.now()): SqlMessage {
    return this.#editMessage(sessionId, messageId, content, at);
  }

  /** The last `limit` messages, newest first, with whether there are more. */
  lastMessages(sessionId: string, limit: number): SqlPage<SqlMessage> {
    const rows = this.#s.lastMessages!.all(sessionId, limit + 1) as MessageRow[];
    const hasMore = rows.length > limit;
    if (hasMore) rows.pop();
    return { items: rows.map(messageFrom), hasMore };
  }

  /** A user's sessions newest first, optionally only those with `tag`: the first page. */
  listSessions(userId: string, limit: number, tag?: string): SqlPage<SqlSession> {
    const rows = (tag === undefined ? this.#s.listSessions!.all(userId, limit + 1) : this.#s.listSessionsTagged!.all(userId, tag, limit + 1)) as SessionRow[];
    const hasMore = rows.length > limit;
    if (hasMore) rows.pop();
    return { items: rows.map(sessionFrom), hasMore };
  }

  /** A context change: the history row (patch and whole context after it) and the session's current context. */
  changeContext(sessionId: string, op: 'set' | 'patch', change: JsonObj, at = Date.now()): { context: JsonObj; version: number } {
    return this.#setContext(sessionId, op, change, at);
  }

  /** The context after its `version`th change: the stored whole-context JSON of that version. */
  contextAt(sessionId: string, version: number): JsonObj {
    if (version === 0) return {};
    const text = this.#s.contextAt!.get(sessionId, version) as string | undefined;
    if (text === undefined) throw new Error(`no context version ${version} in ${sessionId}`);
    return JSON.parse(text) as JsonObj;
  }

  /** The same, the other SQL way: fold the stored patches from the last `set` at or before `version`. */
  contextFolded(sessionId: string, version: number): JsonObj {
    const from = (this.#s.lastSet!.get(sessionId, version) as number | null) ?? 1;
    let context: JsonObj = {};
    for (const r of this.#s.contextChanges!.all(sessionId, from, version) as { op: string; change: string }[]) {
      const change = JSON.parse(r.change) as JsonObj;
      context = r.op === 'set' ? change : (mergePatch(context, change) as JsonObj);
    }
    return context;
  }

  /** Hashes the bytes, stores them as a BLOB (once per hash) and the document row, in one transaction. */
  uploadDocument(d: NewSqlDocument, bytes: Uint8Array): SqlDocument {
    return this.#upload(d, bytes);
  }

  /** Deletes the document row, and the blob when no other document names it. */
  deleteDocument(documentId: string): void {
    this.#deleteDocument(documentId);
  }

  transaction(fn: () => void): void {
    this.db.transaction(fn)();
  }

  checkpoint(): void {
    this.db.pragma('wal_checkpoint(TRUNCATE)');
  }

  close(): void {
    this.db.close();
  }
}

export interface NewSqlSession {
  sessionId: string;
  userId: string;
  title: string;
  tags?: string[];
  metadata?: JsonObj;
  at?: number;
}

export interface NewSqlMessage {
  messageId: string;
  role: string;
  content: Json;
  attachments?: Json[];
  metadata?: JsonObj;
  at?: number;
}

export interface NewSqlDocument {
  documentId: string;
  sessionId?: string;
  userId?: string;
  name: string;
  mediaType: string;
  metadata?: JsonObj;
  at?: number;
}
