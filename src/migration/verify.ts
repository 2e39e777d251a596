import { type CatalogEvent, upcast } from '../events/catalog.js';
import type { JsonObject } from '../events/fields.js';
import type { Attachment } from '../events/messages.js';
import { sessionStream, userStream } from '../events/streams.js';
import { applyContextChange, type ContextState, contextProjection } from '../projections/context.js';
import { type DocumentsState, type DocumentView, documentsProjection } from '../projections/documents.js';
import { CHAT_PROJECTIONS } from '../projections/index.js';
import { type MessagesState, messagesProjection } from '../projections/messages.js';
import { type DeletedSession, type SessionView, type SessionsState, sessionsProjection } from '../projections/sessions.js';
import { type UsersState, usersProjection } from '../projections/users.js';
import type { EventStore } from '../engine/event-store.js';
import { ErrorCode, FfcdbError } from '../kernel/errors.js';
import type { Projection } from '../projections/projection.js';
import type { SqlDriver, SqlValue, TableDef } from '../sql/driver.js';
import { jsonText } from '../sql/values.js';
import { Digest, rowHash, scanTable } from './checksum.js';
import { readMarker } from './install.js';
import { asksForPurge, feedEvent } from './rows.js';
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
  SESSION_TAGS,
  SESSIONS,
  USERS,
} from './schema.js';

/**
 * Verification: the database against the log, at the position the database
 * reflects. The expected rows are derived a second way, independent of the
 * migration's fold: the chat projections are replayed from the feed up to the
 * checkpoint (the same definitions the chat API reads through), and each
 * row's content is read from the log at the stream versions they record. For
 * every session (and every user) each table's rows are counted and
 * checksummed on both sides; every raw event is checked per stream.
 */

export interface TableFigures {
  rows: number;
  sha256: string;
}

export interface Difference {
  /** What differs: a live or deleted session, a user (and their library), a stream's events, or the checkpoint. */
  scope: 'session' | 'user' | 'stream' | 'checkpoint';
  id: string;
  table: string;
  /** Rows the log says the table holds for it (null: none). */
  log: TableFigures | null;
  database: TableFigures | null;
}

export interface VerifyReport {
  /** The log and the database agree at `position`. */
  ok: boolean;
  /** The checkpoint: the position both sides were compared at. */
  position: number;
  /** The log's head: past `position`, events are still to migrate. */
  head: number;
  /** Sessions compared (live and deleted), users, and streams whose events were compared. */
  sessions: number;
  users: number;
  streams: number;
  /** Every raw event: the log's (purged streams left out) against the events table. */
  events: { log: TableFigures; database: TableFigures };
  differences: Difference[];
}

export interface VerifyOptions {
  store: EventStore;
  target: SqlDriver;
}

/** Columns the log cannot know: the document's surrogate key (the upload's position). */
const OMIT: ReadonlyMap<TableDef, ReadonlySet<string>> = new Map([
  [DOCUMENTS, new Set(['upload_position'])],
  [DOCUMENT_ANALYSES, new Set(['upload_position'])],
]);

/** Per scope (`session:<id>`, `user:<id>`, `stream:<id>`), per table: the digest of its rows. */
class Digests {
  readonly byScope = new Map<string, Map<TableDef, Digest>>();
  readonly #storedText: (s: string) => string;

  constructor(storedText: (s: string) => string) {
    this.#storedText = storedText;
  }

  add(scope: string, table: TableDef, row: readonly SqlValue[]): void {
    let tables = this.byScope.get(scope);
    if (!tables) {
      tables = new Map();
      this.byScope.set(scope, tables);
    }
    let digest = tables.get(table);
    if (!digest) {
      digest = new Digest();
      tables.set(table, digest);
    }
    digest.add(rowHash(table, row, this.#storedText, OMIT.get(table)));
  }
}

interface LogStates {
  users: UsersState;
  sessions: SessionsState;
  messages: MessagesState;
  documents: DocumentsState;
  context: ContextState;
}

/** Compares the database with the log; resolves with every difference found (ok when none). */
export async function verifyMigration(options: VerifyOptions): Promise<VerifyReport> {
  const { store, target: driver } = options;
  return driver.transaction(
    async () => {
      const marker = await readMarker(driver);
      if (!marker) throw new FfcdbError(ErrorCode.NOT_FOUND, `${driver.description} holds no migration`, { field: 'to' });
      const expected = new Digests(driver.dialect.storedText);
      const actual = new Digests(driver.dialect.storedText);
      const position = marker.position;
      const head = await store.headPosition();
      const log = await replayLog(store, position, expected);
      await expectedRows(store, log.states, expected);
      for (const [id, { view, at }] of log.deleted) expected.add(`deleted:${id}`, SESSIONS, sessionRow(view, at));
      await databaseRows(driver, actual);

      const differences: Difference[] = [];
      if (head < position) differences.push({ scope: 'checkpoint', id: String(position), table: 'migration', log: { rows: head, sha256: '' }, database: { rows: position, sha256: '' } });
      const scopes = new Set([...expected.byScope.keys(), ...actual.byScope.keys()]);
      const totals = { log: new Digest(), database: new Digest() };
      for (const scope of [...scopes].sort()) {
        const [kind, ...rest] = scope.split(':');
        const id = rest.join(':');
        const want = expected.byScope.get(scope) ?? new Map<TableDef, Digest>();
        const have = actual.byScope.get(scope) ?? new Map<TableDef, Digest>();
        for (const table of new Set([...want.keys(), ...have.keys()])) {
          const w = want.get(table);
          const h = have.get(table);
          if (table === EVENTS) {
            if (w) totals.log.merge(w);
            if (h) totals.database.merge(h);
          }
          if (w?.equals(h)) continue;
          differences.push({ scope: kind === 'deleted' ? 'session' : (kind as Difference['scope']), id, table: table.name, log: figures(w), database: figures(h) });
        }
      }
      const count = (kind: string) => [...scopes].filter((s) => s.startsWith(`${kind}:`)).length;
      return {
        ok: differences.length === 0,
        position,
        head,
        sessions: count('session') + count('deleted'),
        users: count('user'),
        streams: count('stream'),
        events: { log: figures(totals.log)!, database: figures(totals.database)! },
        differences,
      };
    },
    { readOnly: true },
  );
}

function figures(d: Digest | undefined): TableFigures | null {
  return d ? { rows: d.rows, sha256: d.sha256 } : null;
}

/**
 * Replays the feed up to `position` through the chat projections, as their
 * runner does (validated and upcast; what the catalog refuses goes to
 * `unhandled`), digesting every raw event per stream on the way.
 */
async function replayLog(store: EventStore, position: number, expected: Digests): Promise<{ states: LogStates; deleted: ReadonlyMap<string, DeletedSession> }> {
  const slots = CHAT_PROJECTIONS.map((p: Projection<unknown>) => ({ p, state: p.init() as unknown, handles: new Set<string>(p.handles) }));
  const state = <S>(p: Projection<S>) => slots.find((s) => s.p === p)!.state as S;
  const sessions = state(sessionsProjection);
  const erased = new Set<string>();
  if (position > 0) {
    for await (const raw of store.streamAll()) {
      if (raw.position > position) break;
      const fe = feedEvent(raw);
      // Encoded here again, not taken from the migration's row: an encoding bug must show.
      expected.add(`stream:${raw.streamId}`, EVENTS, [raw.position, raw.streamId, raw.version, raw.id, raw.type, raw.schemaVersion, raw.timestamp, jsonText(raw.data), jsonText(raw.metadata)]);
      if (asksForPurge(fe)) erased.add(raw.streamId);
      for (const slot of slots) {
        try {
          if (fe.event && slot.handles.has(raw.type)) slot.p.apply(slot.state, fe.event);
          else slot.p.unhandled?.(slot.state, raw);
        } catch {
          // The runner skips what a projection cannot apply (reported there as event-skipped).
        }
      }
    }
  }
  // A purge erases every row of the stream, its events included (the projections drop a session asked to be purged).
  for (const streamId of erased) expected.byScope.delete(`stream:${streamId}`);
  return {
    states: {
      users: state(usersProjection),
      sessions,
      messages: state(messagesProjection),
      documents: state(documentsProjection),
      context: state(contextProjection),
    },
    deleted: sessions.deleted,
  };
}

function sessionRow(view: SessionView, deletedAt: number | null): SqlValue[] {
  return [view.sessionId, view.userId, view.title, jsonText(view.metadata), view.archived, view.createdAt, view.updatedAt, view.version, view.lastMessageAt ?? null, deletedAt];
}

function documentRow(doc: DocumentView): SqlValue[] {
  return [null, doc.documentId, doc.userId, doc.sessionId ?? null, doc.name ?? null, doc.mediaType, doc.size, doc.sha256, jsonText(doc.metadata), doc.uploadedAt, null];
}

/** One step of a stream's content the states point at, by stream version. */
type Step =
  /** Events of messages, by key: the message id, or for an earlier message of a reused id (revisions only) the id and its place. */
  | { kind: 'message'; keys: string[] }
  | { kind: 'context'; version: number }
  | { kind: 'analysis'; documentId: string };

interface MessageInProgress {
  row: SqlValue[];
  attachments: Attachment[];
}

/** The rows the log says the database holds for each live session and each user. */
async function expectedRows(store: EventStore, states: LogStates, expected: Digests): Promise<void> {
  for (const view of states.sessions.sessions.values()) {
    const id = view.sessionId;
    const scope = `session:${id}`;
    expected.add(scope, SESSIONS, sessionRow(view, null));
    for (const [i, tag] of view.tags.entries()) expected.add(scope, SESSION_TAGS, [id, tag, i]);
    const steps = new Map<number, Step>();
    const messages = states.messages.sessions.get(id);
    const pending = new Map<string, number>();
    const messageStep = (version: number, key: string) => {
      const step = steps.get(version);
      if (step?.kind === 'message') step.keys.push(key);
      else steps.set(version, { kind: 'message', keys: [key] });
    };
    /** Earlier messages of reused ids: their revision rows stay, their message row is the new one's. */
    const retired = new Set<string>();
    for (const [messageId, incarnations] of messages?.retired ?? []) {
      for (const [n, versions] of incarnations.entries()) {
        const key = `${messageId}\u0000${n}`;
        retired.add(key);
        for (const v of versions) messageStep(v, key);
        pending.set(key, versions.length - 1);
      }
    }
    for (const [messageId, added] of messages?.added ?? []) {
      messageStep(added, messageId);
      const edits = messages!.edits.get(messageId) ?? [];
      for (const v of edits) messageStep(v, messageId);
      const gone = messages!.deleted.get(messageId);
      if (gone !== undefined) messageStep(gone, messageId);
      pending.set(messageId, edits.length + (gone === undefined ? 0 : 1));
    }
    const context = states.context.sessions.get(id);
    for (const change of context?.history ?? []) steps.set(change.streamVersion, { kind: 'context', version: change.version });
    const documents = (states.documents.bySession.get(id) ?? []).map((d) => states.documents.documents.get(d)!);
    for (const doc of documents) {
      expected.add(scope, DOCUMENTS, documentRow(doc));
      for (const a of doc.analyses) steps.set(a.streamVersion, { kind: 'analysis', documentId: doc.documentId });
    }

    const inProgress = new Map<string, MessageInProgress>();
    const finish = (m: MessageInProgress) => {
      expected.add(scope, MESSAGES, m.row);
      for (const [i, a] of m.attachments.entries()) expected.add(scope, MESSAGE_ATTACHMENTS, [id, m.row[1]!, i, a.documentId, a.name ?? null, a.mediaType ?? null]);
    };
    /** The context value after each version a snapshot names. */
    const wanted = new Set([...(context?.snapshots.values() ?? [])].map((s) => s.version));
    const valueAt = new Map<number, JsonObject>([[0, {}]]);
    let current: JsonObject = {};
    for await (const e of readSteps(store, sessionStream(id), steps)) {
      const step = steps.get(e.version)!;
      if (step.kind === 'analysis') {
        expected.add(scope, DOCUMENT_ANALYSES, analysisRow(e));
      } else if (step.kind === 'context' && (e.type === 'context.set' || e.type === 'context.patched')) {
        current = applyContextChange(current, e);
        const change = context!.history[step.version - 1]!;
        const value = e.type === 'context.set' ? e.data.context : e.data.patch;
        expected.add(scope, CONTEXT_CHANGES, [id, change.version, change.op, jsonText(value), change.streamVersion, change.position, change.at]);
        if (wanted.has(change.version)) valueAt.set(change.version, current);
      } else if (step.kind === 'message') {
        for (const key of step.keys) {
          const m = messageRowAfter(id, e, key.split('\u0000')[0]!, inProgress.get(key));
          if (!m) continue;
          inProgress.set(key, m);
          if (e.type === 'message.added' || e.type === 'message.edited') expected.add(scope, MESSAGE_REVISIONS, revisionRow(m.row, e));
          const left = pending.get(key)! - (e.type === 'message.added' ? 0 : 1);
          pending.set(key, left);
          if (left === 0) {
            if (!retired.has(key)) finish(m);
            inProgress.delete(key);
          }
        }
      }
    }
    if (context && context.history.length > 0) expected.add(scope, CONTEXT, [id, jsonText(context.current), context.history.length, context.history.at(-1)!.at]);
    for (const snap of context?.snapshots.values() ?? []) {
      expected.add(scope, CONTEXT_SNAPSHOTS, [id, snap.name, snap.version, jsonText(valueAt.get(snap.version) ?? {}), snap.streamVersion, snap.at]);
    }
  }
  const libraryOwners = new Set([...states.users.keys(), ...states.documents.byUser.keys()]);
  for (const userId of libraryOwners) {
    const scope = `user:${userId}`;
    const user = states.users.get(userId);
    if (user) {
      expected.add(scope, USERS, [userId, user.displayName ?? null, user.email ?? null, jsonText(user.profile), jsonText(user.preferences), user.createdAt, user.updatedAt, user.version]);
    }
    const library = (states.documents.byUser.get(userId) ?? []).map((d) => states.documents.documents.get(d)!).filter((d) => d.sessionId === undefined);
    const steps = new Map<number, Step>();
    for (const doc of library) {
      expected.add(scope, DOCUMENTS, documentRow(doc));
      for (const a of doc.analyses) steps.set(a.streamVersion, { kind: 'analysis', documentId: doc.documentId });
    }
    for await (const e of readSteps(store, userStream(userId), steps)) expected.add(scope, DOCUMENT_ANALYSES, analysisRow(e));
  }
}

/** Message `messageId`'s row after one of its events: added (revision 1), edited (the next revision; attachments, metadata and extra left out carried over), deleted or truncated. */
function messageRowAfter(sessionId: string, e: CatalogEvent, messageId: string, before: MessageInProgress | undefined): MessageInProgress | undefined {
  if (e.type === 'message.added') {
    const { messageId, role, content, attachments = [], metadata = {}, extra, createdAt = e.timestamp } = e.data;
    const row = [sessionId, messageId, e.version, role, jsonText(content), jsonText(attachments), jsonText(metadata), 1, createdAt, createdAt, null, extra === undefined ? null : jsonText(extra)];
    return { row, attachments };
  }
  if (!before) return undefined;
  if (e.type === 'message.deleted' || (e.type === 'message.truncated' && e.data.messageIds.includes(messageId))) {
    return { row: [...before.row.slice(0, 10), e.timestamp, before.row[11]!], attachments: before.attachments };
  }
  if (e.type !== 'message.edited') return undefined;
  const { content, attachments, metadata, extra } = e.data;
  const row = [...before.row];
  if (extra !== undefined) row[11] = extra === null ? null : jsonText(extra);
  row[4] = jsonText(content);
  if (attachments !== undefined) row[5] = jsonText(attachments);
  if (metadata !== undefined) row[6] = jsonText(metadata);
  row[7] = (row[7] as number) + 1;
  row[9] = e.timestamp;
  return { row, attachments: attachments ?? before.attachments };
}

/** Revision 1's time is the message's created_at (its createdAt, for history imported). */
function revisionRow(m: readonly SqlValue[], e: CatalogEvent): SqlValue[] {
  return [m[0]!, m[1]!, m[7]!, e.version, m[4]!, m[5]!, m[6]!, e.type === 'message.added' ? m[8]! : e.timestamp, m[11]!];
}

function analysisRow(e: CatalogEvent): SqlValue[] {
  const { documentId, analysisVersion, summary, text, entities, data } = e.data as Extract<CatalogEvent, { type: 'document.analysed' }>['data'];
  return [e.position, null, documentId, analysisVersion, summary ?? null, text ?? null, entities === undefined ? null : jsonText(entities), data === undefined ? null : jsonText(data), e.timestamp];
}

/** The events of a stream at the given versions, upcast, read in one forward pass that stops after the last. */
async function* readSteps(store: EventStore, streamId: string, steps: ReadonlyMap<number, Step>): AsyncGenerator<CatalogEvent> {
  if (steps.size === 0) return;
  const last = Math.max(...steps.keys());
  for await (const e of store.streamEvents(streamId, { fromVersion: Math.min(...steps.keys()) })) {
    if (e.version > last) return;
    if (steps.has(e.version)) yield upcast(e);
  }
}

/** The database's rows by scope: live sessions and their children, deleted sessions' rows, users and their libraries, events by stream. */
async function databaseRows(driver: SqlDriver, actual: Digests): Promise<void> {
  const deleted = new Set<string>();
  for await (const row of scanTable(driver, SESSIONS)) {
    const id = row[0] as string;
    if (row[9] === null) actual.add(`session:${id}`, SESSIONS, row);
    else {
      deleted.add(id);
      actual.add(`deleted:${id}`, SESSIONS, row);
    }
  }
  // A deleted session's rows stay, hidden as the chat API hides them (its documents too): only its session row is compared.
  for (const table of [SESSION_TAGS, MESSAGES, MESSAGE_REVISIONS, MESSAGE_ATTACHMENTS, CONTEXT, CONTEXT_CHANGES, CONTEXT_SNAPSHOTS]) {
    for await (const row of scanTable(driver, table)) if (!deleted.has(row[0] as string)) actual.add(`session:${String(row[0])}`, table, row);
  }
  const owners = new Map<number, string>();
  for await (const row of scanTable(driver, DOCUMENTS)) {
    if (row[10] !== null || deleted.has(row[3] as string)) continue;
    const scope = row[3] === null ? `user:${String(row[2])}` : `session:${String(row[3])}`;
    owners.set(row[0] as number, scope);
    actual.add(scope, DOCUMENTS, row);
  }
  for await (const row of scanTable(driver, DOCUMENT_ANALYSES)) {
    const scope = owners.get(row[1] as number);
    if (scope) actual.add(scope, DOCUMENT_ANALYSES, row);
  }
  for await (const row of scanTable(driver, USERS)) actual.add(`user:${String(row[0])}`, USERS, row);
  for await (const row of scanTable(driver, EVENTS)) actual.add(`stream:${String(row[1])}`, EVENTS, row);
}
