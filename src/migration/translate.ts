import type { CatalogEvent } from '../../events/catalog.js';
import type { Attachment } from '../../events/messages.js';
import { STREAM_PREFIX, sessionStream } from '../../events/streams.js';
import { applyContextChange } from '../../projections/context.js';
import type { SqlDriver, SqlValue, TableDef } from '../sql/driver.js';
import { jsonText } from '../sql/values.js';
import type { RecordedEvent } from '../types.js';
import { Lru } from './lru.js';
import { type ContextRow, type DocumentRow, type FeedEvent, type MessageRow, type SessionRow, type UserRow, asksForPurge, rowObject, values } from './rows.js';
import {
  CONTEXT,
  CONTEXT_CHANGES,
  CONTEXT_SNAPSHOTS,
  DOCUMENT_ANALYSES,
  DOCUMENTS,
  EVENTS,
  MESSAGE_ATTACHMENTS,
  MESSAGE_REVISIONS,
  MESSAGES,
  PURGED_STREAMS,
  SESSION_TAGS,
  SESSIONS,
  USERS,
} from './schema.js';

/**
 * Event → rows: the chat projections' semantics, folded over the rows a batch
 * touches. Before a batch is folded, every row it can touch (sessions, users,
 * messages, live documents, contexts) is fetched in one query per table, or
 * taken from the LRU caches of rows written before; the fold then runs in
 * memory, in position order, and yields the batch's writes: new rows, the
 * final state of changed rows, and the few set-wise changes (tags and
 * attachments replaced, a deleted session's documents, erased streams).
 *
 * The rules are the projections' (projections/*.ts), so the database agrees
 * with what the chat API reads: a session's events count in its version while
 * it lives; the first message of an id wins; edits and deletes of unknown or
 * deleted messages are ignored; a document belongs to its stream; deleting a
 * session deletes its documents; context changes are RFC 7386 merge patches.
 */

/** A row bound for a table, tagged with the stream whose event made it (an erase later in the batch drops it). */
interface Tagged {
  stream: string;
  values: SqlValue[];
}

interface Tracked<R> {
  row: R;
  /** Not in the database yet: inserted, not upserted. */
  isNew: boolean;
  dirty: boolean;
}

interface TrackedMessage extends Tracked<MessageRow> {
  /** The attachments, when the batch set them (added, or an edit that gave them). */
  attachments?: Attachment[];
}

/** What one batch writes, in the order the sink applies it. */
export interface BatchWrites {
  /** Streams erased by a purge: every row of theirs already in the database goes. */
  erase: { streamId: string; position: number }[];
  /** Sessions whose tag rows are replaced. */
  replaceTags: string[];
  /** Messages (session, message) whose attachment rows are replaced. */
  replaceAttachments: [string, string][];
  /** Sessions deleted in the batch whose documents in the database are deleted with them. */
  deletedSessions: { sessionId: string; at: number }[];
  /** Per table: rows to insert (new) and rows to upsert (changed), in table order. */
  inserts: Map<TableDef, SqlValue[][]>;
  upserts: Map<TableDef, SqlValue[][]>;
  /** The last event of the batch (the checkpoint's event), if it held any. */
  last: RecordedEvent | undefined;
  events: number;
}

export interface TranslatorOptions {
  /** Sessions and users kept between batches (default 100,000 each). */
  cachedRows?: number;
  /** Characters of context JSON kept between batches (default 64 Mi). */
  cachedContextChars?: number;
}

const key = (a: string, b: string) => `${a}\u0000${b}`;

/**
 * Long runs of work on the main thread pause now and then, so that the answers
 * of the database (the batch being written) are taken and its next statement sent.
 */
export const YIELD_EVERY = 500;
export function yieldToIo(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/**
 * What the migration knows of one kind of row beyond what the database has
 * committed: the rows of batches folded but not yet committed (the next batch
 * is folded while the last one is written, so it must not read those rows
 * back from the database), then, for the kinds that keep being touched, an LRU
 * of rows committed.
 */
class Known<R> {
  readonly #inFlight = new Map<string, { row: R; batch: number }>();
  readonly #committed: Lru<string, R> | undefined;

  constructor(committed?: Lru<string, R>) {
    this.#committed = committed;
  }

  get(key: string): R | undefined {
    return this.#inFlight.get(key)?.row ?? this.#committed?.get(key);
  }

  touched(key: string, row: R, batch: number): void {
    this.#inFlight.set(key, { row, batch });
  }

  /** Batches up to `batch` are in the database: their rows move to the LRU (or are forgotten). */
  committed(batch: number): void {
    for (const [key, entry] of this.#inFlight) {
      if (entry.batch > batch) continue;
      this.#inFlight.delete(key);
      this.#committed?.set(key, entry.row);
    }
  }

  delete(key: string): void {
    this.#inFlight.delete(key);
    this.#committed?.delete(key);
  }

  clear(): void {
    this.#inFlight.clear();
    this.#committed?.clear();
  }
}

export class Translator {
  readonly #driver: SqlDriver;
  readonly #sessions: Known<SessionRow>;
  readonly #users: Known<UserRow>;
  readonly #contexts: Known<ContextRow>;
  readonly #messages = new Known<MessageRow>();
  readonly #documents = new Known<DocumentRow>();
  /** Sessions deleted or erased by batches not yet committed: their documents still read as live in the database. */
  readonly #deletedSessions = new Map<string, { at: number; batch: number }>();
  /** Streams erased so far (loaded from purged_streams, then as batches are folded): their events are not kept. */
  readonly erased: Set<string>;

  constructor(driver: SqlDriver, erased: Iterable<string>, options: TranslatorOptions = {}) {
    this.#driver = driver;
    this.#sessions = new Known(new Lru(options.cachedRows ?? 100_000));
    this.#users = new Known(new Lru(options.cachedRows ?? 100_000));
    this.#contexts = new Known(new Lru(options.cachedContextChars ?? 64 * 2 ** 20, (c) => c.value.length + 64));
    this.erased = new Set(erased);
  }

  /**
   * Folds batch number `batch` into its writes. Rows of earlier batches not yet
   * committed are taken from memory, so this may run while the previous
   * batch is being written; call `committed` once the batch's transaction is.
   */
  async translate(events: readonly FeedEvent[], batch: number): Promise<{ writes: BatchWrites; committed: () => void }> {
    const fold = new BatchFold(this.erased);
    await this.#prefetch(fold, events);
    for (let i = 0; i < events.length; i++) {
      fold.apply(events[i]!);
      if (i % YIELD_EVERY === YIELD_EVERY - 1) await yieldToIo();
    }
    const writes = fold.writes();
    for (const streamId of fold.erasedNow) {
      const id = streamId.slice(STREAM_PREFIX.session.length);
      this.erased.add(streamId);
      this.#sessions.delete(id);
      this.#contexts.delete(id);
      this.#deletedSessions.set(id, { at: 0, batch });
    }
    for (const [id, s] of fold.sessions) if (s && !fold.erasedNow.has(sessionStream(id))) this.#sessions.touched(id, s.row, batch);
    for (const [id, u] of fold.users) if (u) this.#users.touched(id, u.row, batch);
    for (const [id, c] of fold.contexts) if (c && !fold.erasedNow.has(sessionStream(id))) this.#contexts.touched(id, c.row, batch);
    for (const [k, m] of fold.messages) if (m) this.#messages.touched(k, m.row, batch);
    for (const [id, d] of fold.documents) this.#documents.touched(id, d.row, batch);
    for (const { sessionId, at } of writes.deletedSessions) this.#deletedSessions.set(sessionId, { at, batch });
    return { writes, committed: () => this.#committed(batch) };
  }

  /** A stream erased outside a batch (a purge found by the sweep, while no batch is in flight). */
  forget(streamId: string): void {
    this.erased.add(streamId);
    for (const known of [this.#sessions, this.#users, this.#contexts, this.#messages, this.#documents] as Known<unknown>[]) known.clear();
  }

  #committed(batch: number): void {
    for (const known of [this.#sessions, this.#users, this.#contexts, this.#messages, this.#documents] as Known<unknown>[]) known.committed(batch);
    for (const [id, d] of this.#deletedSessions) if (d.batch <= batch) this.#deletedSessions.delete(id);
  }

  async #prefetch(fold: BatchFold, batch: readonly FeedEvent[]): Promise<void> {
    const sessions = new Set<string>();
    const users = new Set<string>();
    const contexts = new Set<string>();
    const messages = new Map<string, [string, string]>();
    const documents = new Set<string>();
    /** Sessions whose stream starts in this batch: nothing of theirs is in the database yet. */
    const bornHere = new Set<string>();
    for (const { raw, event: e, owner } of batch) {
      if (!owner || this.erased.has(raw.streamId)) continue;
      if (owner.kind === 'user') users.add(owner.id);
      else if (e?.type === 'session.created' && raw.version === 1) bornHere.add(owner.id);
      else if (!bornHere.has(owner.id)) sessions.add(owner.id);
      if (!e) continue;
      const born = owner.kind === 'session' && bornHere.has(owner.id);
      if (e.type.startsWith('message.')) {
        const id = (e.data as { messageId: string }).messageId;
        if (born) fold.messages.set(key(owner.id, id), null);
        else messages.set(key(owner.id, id), [owner.id, id]);
      } else if (e.type.startsWith('context.') && !born) contexts.add(owner.id);
      else if (e.type.startsWith('document.')) documents.add((e.data as { documentId: string }).documentId);
    }
    for (const id of bornHere) fold.sessions.set(id, null);
    await this.#load(sessions, this.#sessions, SESSIONS, ['session_id'], fold.sessions, (r) => r.session_id);
    await this.#load(users, this.#users, USERS, ['user_id'], fold.users, (r) => r.user_id);
    await this.#load(contexts, this.#contexts, CONTEXT, ['session_id'], fold.contexts, (r) => r.session_id, (c) => (c.current = JSON.parse(c.value) as ContextRow['current']));
    await this.#load(messages.keys(), this.#messages, MESSAGES, ['session_id', 'message_id'], fold.messages, (r) => key(r.session_id, r.message_id), undefined, (k) => messages.get(k)!);
    const docs = new Map<string, Tracked<DocumentRow> | null>();
    await this.#load(documents, this.#documents, DOCUMENTS, ['document_id'], docs, (r) => r.document_id, undefined, (id) => [id], 'deleted_at IS NULL');
    for (const [id, d] of docs) {
      if (!d) continue;
      // A session deleted (or erased) by a batch still being written took its documents along, whatever the database says yet.
      const gone = d.row.session_id === null || d.row.deleted_at !== null ? undefined : this.#deletedSessions.get(d.row.session_id);
      if (gone) d.row.deleted_at = gone.at;
      fold.documents.set(id, d);
    }
  }

  /**
   * Rows by key into the fold: from memory (batches in flight, then the LRU),
   * else from the database in one query, else known absent.
   */
  async #load<R>(
    keys: Iterable<string>,
    known: Known<R>,
    table: TableDef,
    columns: string[],
    into: Map<string, Tracked<R> | null>,
    keyOf: (row: R) => string,
    hydrate?: (row: R) => void,
    keyValues: (key: string) => SqlValue[] = (k) => [k],
    where?: string,
  ): Promise<void> {
    const missing: SqlValue[][] = [];
    for (const k of keys) {
      const row = known.get(k);
      into.set(k, row ? { row, isNew: false, dirty: false } : null);
      if (!row) missing.push(keyValues(k));
    }
    for (const r of await this.#driver.selectByKeys(table, columns, missing, where)) {
      const row = rowObject<R>(table, r);
      hydrate?.(row);
      into.set(keyOf(row), { row, isNew: false, dirty: false });
    }
  }
}

/** The fold of one batch over the rows it touches. */
class BatchFold {
  readonly sessions = new Map<string, Tracked<SessionRow> | null>();
  readonly users = new Map<string, Tracked<UserRow> | null>();
  readonly messages = new Map<string, TrackedMessage | null>();
  /** The latest row of each document id the batch touches (live unless deleted in the batch). */
  readonly documents = new Map<string, Tracked<DocumentRow>>();
  readonly contexts = new Map<string, Tracked<ContextRow> | null>();
  readonly erasedNow = new Set<string>();
  readonly #erased: ReadonlySet<string>;
  /** Documents replaced in `documents` by a new upload of their id: still to be written. */
  readonly #supersededDocuments: Tracked<DocumentRow>[] = [];
  readonly #tags = new Map<string, string[]>();
  readonly #snapshots = new Map<string, Tagged>();
  readonly #events: Tagged[] = [];
  readonly #revisions: Tagged[] = [];
  readonly #changes: Tagged[] = [];
  readonly #analyses: Tagged[] = [];
  readonly #erase: { streamId: string; position: number }[] = [];
  readonly #deletedSessions: { sessionId: string; at: number }[] = [];
  #last: RecordedEvent | undefined;
  #count = 0;

  constructor(erased: ReadonlySet<string>) {
    this.#erased = erased;
  }

  apply(e: FeedEvent): void {
    const { raw, owner } = e;
    this.#count++;
    this.#last = raw;
    if (this.#erased.has(raw.streamId) || this.erasedNow.has(raw.streamId)) return;
    this.#events.push({ stream: raw.streamId, values: e.row });
    if (owner?.kind === 'session') this.#session(owner.id, raw, e.event, e.contentJson);
    else if (owner?.kind === 'user') this.#user(owner.id, raw, e.event);
    if (asksForPurge(e)) {
      this.erasedNow.add(raw.streamId);
      this.#erase.push({ streamId: raw.streamId, position: raw.position });
    }
  }

  #session(id: string, raw: RecordedEvent, e: CatalogEvent | null, contentJson: string | undefined): void {
    const s = this.#loaded(this.sessions, id);
    if (e?.type === 'session.created' && raw.version === 1 && !s) {
      const { userId, title, tags = [], metadata = {} } = e.data;
      const row: SessionRow = {
        session_id: id,
        user_id: userId,
        title,
        metadata: jsonText(metadata),
        archived: false,
        created_at: raw.timestamp,
        updated_at: raw.timestamp,
        version: raw.version,
        last_message_at: null,
        deleted_at: null,
      };
      this.sessions.set(id, { row, isNew: true, dirty: true });
      this.#tags.set(id, tags);
      this.contexts.set(id, { row: { session_id: id, current: {}, value: '{}', version: 0, updated_at: null }, isNew: true, dirty: false });
      return;
    }
    if (!s || s.row.deleted_at !== null) return;
    // Every event of a live session's stream counts in its version and time, whatever its type (sessions projection).
    s.row.version = raw.version;
    s.row.updated_at = raw.timestamp;
    s.dirty = true;
    if (!e) return;
    switch (e.type) {
      case 'session.renamed':
        s.row.title = e.data.title;
        return;
      case 'session.tagged':
        this.#tags.set(id, e.data.tags);
        return;
      case 'session.archived':
        s.row.archived = e.data.archived;
        return;
      case 'session.deleted':
        s.row.deleted_at = raw.timestamp;
        for (const d of this.documents.values()) {
          if (d.row.session_id === id && d.row.deleted_at === null) this.#deleteDocument(d, raw.timestamp);
        }
        if (!s.isNew) this.#deletedSessions.push({ sessionId: id, at: raw.timestamp });
        return;
      case 'message.added':
        s.row.last_message_at = raw.timestamp;
        this.#addMessage(id, raw, e, contentJson!);
        return;
      case 'message.edited':
        this.#editMessage(id, raw, e, contentJson!);
        return;
      case 'message.deleted': {
        const m = this.#liveMessage(id, e.data.messageId);
        if (m) {
          m.row.deleted_at = raw.timestamp;
          m.dirty = true;
        }
        return;
      }
      case 'context.set':
      case 'context.patched':
      case 'context.snapshotted':
        this.#context(id, raw, e);
        return;
      case 'document.uploaded':
      case 'document.analysed':
      case 'document.deleted':
        this.#document({ session: id, user: s.row.user_id }, raw, e);
        return;
      default:
    }
  }

  #user(id: string, raw: RecordedEvent, e: CatalogEvent | null): void {
    const u = this.#loaded(this.users, id);
    if (u) {
      u.row.version = raw.version;
      u.row.updated_at = raw.timestamp;
      u.dirty = true;
    }
    if (!e) return;
    switch (e.type) {
      case 'user.created': {
        if (u || e.data.userId !== id) return;
        const { displayName, email, profile = {}, preferences = {} } = e.data;
        const row: UserRow = {
          user_id: id,
          display_name: displayName ?? null,
          email: email ?? null,
          profile: jsonText(profile),
          preferences: jsonText(preferences),
          created_at: raw.timestamp,
          updated_at: raw.timestamp,
          version: raw.version,
        };
        this.users.set(id, { row, isNew: true, dirty: true });
        return;
      }
      case 'user.updated': {
        if (!u) return;
        const { displayName, email, profile, preferences } = e.data;
        if (displayName !== undefined) u.row.display_name = displayName;
        if (email !== undefined) u.row.email = email;
        if (profile !== undefined) u.row.profile = jsonText(profile);
        if (preferences !== undefined) u.row.preferences = jsonText(preferences);
        return;
      }
      case 'document.uploaded':
      case 'document.analysed':
      case 'document.deleted':
        // A user's library: the documents projection does not ask whether the user exists.
        this.#document({ session: null, user: id }, raw, e);
        return;
      default:
    }
  }

  #addMessage(sessionId: string, raw: RecordedEvent, e: Extract<CatalogEvent, { type: 'message.added' }>, contentJson: string): void {
    const { messageId, role, attachments = [], metadata = {} } = e.data;
    const k = key(sessionId, messageId);
    if (this.#loaded(this.messages, k)) return;
    const row: MessageRow = {
      session_id: sessionId,
      message_id: messageId,
      seq: raw.version,
      role,
      content: contentJson,
      attachments: jsonText(attachments),
      metadata: jsonText(metadata),
      revision: 1,
      created_at: raw.timestamp,
      updated_at: raw.timestamp,
      deleted_at: null,
    };
    this.messages.set(k, { row, isNew: true, dirty: true, attachments });
    this.#revision(row, raw);
  }

  #editMessage(sessionId: string, raw: RecordedEvent, e: Extract<CatalogEvent, { type: 'message.edited' }>, contentJson: string): void {
    const m = this.#liveMessage(sessionId, e.data.messageId);
    if (!m) return;
    const { attachments, metadata } = e.data;
    m.row.content = contentJson;
    if (attachments !== undefined) {
      m.row.attachments = jsonText(attachments);
      m.attachments = attachments;
    }
    if (metadata !== undefined) m.row.metadata = jsonText(metadata);
    m.row.revision++;
    m.row.updated_at = raw.timestamp;
    m.dirty = true;
    this.#revision(m.row, raw);
  }

  #revision(m: MessageRow, raw: RecordedEvent): void {
    this.#revisions.push({ stream: raw.streamId, values: [m.session_id, m.message_id, m.revision, raw.version, m.content, m.attachments, m.metadata, raw.timestamp] });
  }

  #liveMessage(sessionId: string, messageId: string): TrackedMessage | null {
    const m = this.#loaded(this.messages, key(sessionId, messageId));
    return m && m.row.deleted_at === null ? m : null;
  }

  #context(sessionId: string, raw: RecordedEvent, e: Extract<CatalogEvent, { type: 'context.set' | 'context.patched' | 'context.snapshotted' }>): void {
    let c = this.#loaded(this.contexts, sessionId);
    if (!c) {
      // A live session without a context row: {} at version 0.
      c = { row: { session_id: sessionId, current: {}, value: '{}', version: 0, updated_at: null }, isNew: true, dirty: false };
      this.contexts.set(sessionId, c);
    }
    if (e.type === 'context.snapshotted') {
      if (c.dirty) c.row.value = jsonText(c.row.current);
      this.#snapshots.set(key(sessionId, e.data.name), { stream: raw.streamId, values: [sessionId, e.data.name, c.row.version, c.row.value, raw.version, raw.timestamp] });
      return;
    }
    c.row.current = applyContextChange(c.row.current, e);
    c.row.version++;
    c.row.updated_at = raw.timestamp;
    c.dirty = true;
    const op = e.type === 'context.set' ? 'set' : 'patch';
    const value = e.type === 'context.set' ? e.data.context : e.data.patch;
    this.#changes.push({ stream: raw.streamId, values: [sessionId, c.row.version, op, jsonText(value), raw.version, raw.position, raw.timestamp] });
  }

  /** A document event in a session's stream (its owner given) or a user's library (session null). */
  #document(home: { session: string | null; user: string }, raw: RecordedEvent, e: Extract<CatalogEvent, { type: `document.${string}` }>): void {
    const id = e.data.documentId;
    const current = this.documents.get(id);
    const live = current && current.row.deleted_at === null ? current : undefined;
    if (e.type === 'document.uploaded') {
      if (live) return;
      if (current) this.#supersededDocuments.push(current);
      const { name, mediaType, size, sha256, metadata = {} } = e.data;
      const row: DocumentRow = {
        upload_position: raw.position,
        document_id: id,
        user_id: home.user,
        session_id: home.session,
        name,
        media_type: mediaType,
        size,
        sha256,
        metadata: jsonText(metadata),
        uploaded_at: raw.timestamp,
        deleted_at: null,
      };
      this.documents.set(id, { row, isNew: true, dirty: true });
      return;
    }
    // A stream touches only its own documents.
    if (!live || live.row.session_id !== home.session || (home.session === null && live.row.user_id !== home.user)) return;
    if (e.type === 'document.deleted') {
      this.#deleteDocument(live, raw.timestamp);
      return;
    }
    const { analysisVersion, summary, text, entities, data } = e.data as Extract<CatalogEvent, { type: 'document.analysed' }>['data'];
    this.#analyses.push({
      stream: raw.streamId,
      values: [
        raw.position,
        live.row.upload_position,
        id,
        analysisVersion,
        summary ?? null,
        text ?? null,
        entities === undefined ? null : jsonText(entities),
        data === undefined ? null : jsonText(data),
        raw.timestamp,
      ],
    });
  }

  #deleteDocument(d: Tracked<DocumentRow>, at: number): void {
    d.row.deleted_at = at;
    d.dirty = true;
  }

  /** A row the prefetch loaded (or knows absent: null); anything else is a bug in the prefetch. */
  #loaded<T>(map: Map<string, T | null>, k: string): T | null {
    const v = map.get(k);
    if (v === undefined) throw new Error(`migration: row ${JSON.stringify(k)} was not prefetched`);
    return v;
  }

  writes(): BatchWrites {
    const erased = this.erasedNow;
    const keep = (sessionId: string | null) => sessionId === null || !erased.has(sessionStream(sessionId));
    const inserts = new Map<TableDef, SqlValue[][]>();
    const upserts = new Map<TableDef, SqlValue[][]>();
    const add = (into: Map<TableDef, SqlValue[][]>, table: TableDef, row: SqlValue[]) => {
      const list = into.get(table);
      if (list) list.push(row);
      else into.set(table, [row]);
    };
    const tracked = <R extends object>(table: TableDef, t: Tracked<R>) => {
      if (t.dirty || t.isNew) add(t.isNew ? inserts : upserts, table, values(table, t.row));
    };
    const tagged = (table: TableDef, rows: readonly Tagged[]) => {
      for (const r of rows) if (!erased.has(r.stream)) add(inserts, table, r.values);
    };

    for (const u of this.users.values()) if (u) tracked(USERS, u);
    for (const [id, s] of this.sessions) if (s && keep(id)) tracked(SESSIONS, s);
    const replaceTags: string[] = [];
    for (const [id, tags] of this.#tags) {
      if (!keep(id)) continue;
      if (!this.sessions.get(id)!.isNew) replaceTags.push(id);
      tags.forEach((tag, idx) => add(inserts, SESSION_TAGS, [id, tag, idx]));
    }
    const replaceAttachments: [string, string][] = [];
    for (const m of this.messages.values()) {
      if (!m || !keep(m.row.session_id)) continue;
      tracked(MESSAGES, m);
      if (m.attachments === undefined) continue;
      if (!m.isNew) replaceAttachments.push([m.row.session_id, m.row.message_id]);
      m.attachments.forEach((a, idx) => add(inserts, MESSAGE_ATTACHMENTS, [m.row.session_id, m.row.message_id, idx, a.documentId, a.name ?? null, a.mediaType ?? null]));
    }
    tagged(MESSAGE_REVISIONS, this.#revisions);
    for (const d of [...this.#supersededDocuments, ...this.documents.values()]) if (keep(d.row.session_id)) tracked(DOCUMENTS, d);
    tagged(DOCUMENT_ANALYSES, this.#analyses);
    for (const [id, c] of this.contexts) {
      if (!c || !c.dirty || !keep(id)) continue;
      c.row.value = jsonText(c.row.current);
      add(upserts, CONTEXT, [id, c.row.value, c.row.version, c.row.updated_at]);
    }
    tagged(CONTEXT_CHANGES, this.#changes);
    tagged(CONTEXT_SNAPSHOTS, [...this.#snapshots.values()]);
    tagged(EVENTS, this.#events);
    // A snapshot name taken again moves: the row may exist already.
    const snapshots = inserts.get(CONTEXT_SNAPSHOTS);
    if (snapshots) {
      inserts.delete(CONTEXT_SNAPSHOTS);
      upserts.set(CONTEXT_SNAPSHOTS, snapshots);
    }
    for (const { streamId, position } of this.#erase) add(inserts, PURGED_STREAMS, [streamId, position]);
    return {
      erase: this.#erase,
      replaceTags,
      replaceAttachments,
      deletedSessions: this.#deletedSessions.filter((d) => keep(d.sessionId)),
      inserts,
      upserts,
      last: this.#last,
      events: this.#count,
    };
  }
}
