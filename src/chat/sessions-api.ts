import { monotonicFactory } from 'ulid';
import { type CatalogEvent, upcast } from '../events/catalog.js';
import { type JsonObject, object } from '../events/fields.js';
import type { SessionCreated, SessionUpdated } from '../events/sessions.js';
import { sessionStream } from '../events/streams.js';
import { type DocumentView, type DocumentsState, documentsProjection } from '../projections/documents.js';
import { messagesProjection } from '../projections/messages.js';
import { type SessionView, type SessionsState, listingIndex, sessionsProjection } from '../projections/sessions.js';
import { usersProjection } from '../projections/users.js';
import { assertId, assertInert, invalid } from '../kernel/validation.js';
import { ErrorCode, FfcdbError, isFfcdbError } from '../kernel/errors.js';
import { type ChatCore, type ChatEvent, type ReadOptions, type WriteOptions, assertOptions, detached, notFound, payload, storedObject } from './chat-core.js';
import { createdAt } from './created-at.js';
import { type Page, type PageOptions, decodeCursor, encodeCursor, pageDirection, pageLimit } from './page.js';
import type { Reflected } from './users-api.js';

export interface Session extends SessionView {
  /** Messages not deleted. */
  messageCount: number;
}

export interface NewSession {
  userId: string;
  /** Generated (a ULID) when left out. */
  sessionId?: string;
  /** Any text a person types, tabs and line breaks included, empty allowed; up to 1,000 characters. */
  title: string;
  tags?: string[];
  metadata?: JsonObject;
  /** For history imported: when the session began (an ISO 8601 string, a Date, or ms since the epoch; 1970 to 9999). Listings, their time filters, search and SQL use it; the event's own timestamp stays the time of the write. */
  createdAt?: string | Date | number;
}

/** What `sessions.update` may change: each field given replaces the one before. */
export type SessionChanges = SessionUpdated;

export interface SessionListOptions extends PageOptions {
  /** `desc` (default): newest first, by creation time. */
  order?: 'asc' | 'desc';
  /** Only sessions carrying this tag. */
  tag?: string;
  /** Only sessions whose title contains this text, ignoring case. */
  title?: string;
  /** false (default): sessions not archived; true: archived only; 'any': both. */
  archived?: boolean | 'any';
  /** Only sessions created at or after this time (ms since the epoch, or a Date). */
  createdFrom?: number | Date;
  /** Only sessions created before this time. */
  createdTo?: number | Date;
  waitFor?: number;
}

const nextId = monotonicFactory();

export class SessionsApi {
  readonly #core: ChatCore;
  /** Removes the blobs of a purged session's documents that nothing else names. */
  readonly #releaseBlobs: (sha256s: Iterable<string>) => Promise<void>;

  constructor(core: ChatCore, releaseBlobs: (sha256s: Iterable<string>) => Promise<void>) {
    this.#core = core;
    this.#releaseBlobs = releaseBlobs;
  }

  /** NOT_FOUND when the user does not exist; CONFLICT when the session id is taken. */
  async create(session: NewSession, options?: WriteOptions): Promise<Reflected<Session>> {
    const { sessionId, data } = sessionCreatedData(session, 'session');
    const { userId } = data;
    await this.#core.command(sessionStream(sessionId), options, () => {
      if (!this.#core.state(usersProjection).has(userId)) throw notFound('user', userId, 'userId');
      return { events: [{ type: 'session.created', data, field: 'session' }], expected: 'no_stream' };
    }).catch((err: unknown) => {
      throw isFfcdbError(err, ErrorCode.CONFLICT) ? new FfcdbError(ErrorCode.CONFLICT, `session ${JSON.stringify(sessionId)} already exists`, { field: 'sessionId', sessionId }) : err;
    });
    return this.#view(sessionId);
  }

  /**
   * Get-or-create, safe across processes (as users.ensure): creates the
   * session unless its id is live (then it is returned as it is, the fields
   * given ignored). NOT_FOUND for an unknown user; CONFLICT when the session
   * belongs to another user, or its id is of a deleted session (restore it).
   */
  async ensure(session: NewSession & { sessionId: string }, options?: WriteOptions): Promise<Reflected<Session> & { created: boolean }> {
    assertInert(session, 'session'); // so reading the id runs none of the caller's code
    if (typeof session === 'object' && session !== null) assertId((session as { sessionId?: unknown }).sessionId, 'session.sessionId');
    const { sessionId, data } = sessionCreatedData(session, 'session');
    const { userId } = data;
    let created = false;
    await this.#core
      .change(sessionStream(sessionId), options, () => {
        const live = this.#core.state(sessionsProjection).sessions.get(sessionId);
        if (live && live.userId !== userId) {
          throw new FfcdbError(ErrorCode.CONFLICT, `session ${JSON.stringify(sessionId)} belongs to another user`, { field: 'session.userId', sessionId });
        }
        created = live === undefined;
        if (created && !this.#core.state(usersProjection).has(userId)) throw notFound('user', userId, 'userId');
        return { events: created ? [{ type: 'session.created', data, field: 'session' }] : [], expected: 'no_stream' };
      })
      .catch((err: unknown) => {
        if (!isFfcdbError(err, ErrorCode.CONFLICT) || err.details.field === 'session.userId') throw err;
        throw new FfcdbError(ErrorCode.CONFLICT, `session ${JSON.stringify(sessionId)} was deleted: restore it, or use another id`, { field: 'sessionId', sessionId });
      });
    return { ...this.#view(sessionId), created };
  }

  /** NOT_FOUND for a session that does not exist or was deleted. */
  async get(sessionId: string, options?: ReadOptions): Promise<Reflected<Session>> {
    assertId(sessionId, 'sessionId');
    await this.#core.reflect(options);
    return this.#view(sessionId);
  }

  rename(sessionId: string, title: string, options?: WriteOptions): Promise<Reflected<Session>> {
    return this.#change(sessionId, options, () => ({ type: 'session.renamed', data: { title }, field: '' }));
  }

  /** Replaces the session's tags. */
  tag(sessionId: string, tags: string[], options?: WriteOptions): Promise<Reflected<Session>> {
    return this.#change(sessionId, options, () => ({ type: 'session.tagged', data: { tags }, field: '' }));
  }

  /**
   * Changes any of the title, tags and metadata in one event: each field given
   * replaces the one before (metadata whole, not merged); fields left out stay.
   * INVALID_ARGUMENT when nothing is given.
   */
  update(sessionId: string, changes: SessionChanges, options?: WriteOptions): Promise<Reflected<Session>> {
    const data = payload(changes, 'changes', ['userId', 'sessionId']) as SessionChanges;
    return this.#change(sessionId, options, () => ({ type: 'session.updated', data, field: 'changes' }));
  }

  archive(sessionId: string, archived = true, options?: WriteOptions): Promise<Reflected<Session>> {
    return this.#change(sessionId, options, () => ({ type: 'session.archived', data: { archived }, field: '' }));
  }

  /**
   * Reads stop returning the session, its messages, documents and context; all
   * are kept (the blobs of its documents too) for `restore`. The log keeps the
   * audit trail, unless `purge` (of a live or a deleted session): then the
   * session's events are erased from storage and blobs only it named are
   * removed. NOT_FOUND for a session that does not exist, or is deleted and
   * not asked to be purged.
   */
  async delete(sessionId: string, options: WriteOptions & { purge?: boolean } = {}): Promise<{ sessionId: string; purged: boolean; position: number }> {
    assertId(sessionId, 'sessionId');
    assertOptions(options);
    const { purge = false, ...write } = options;
    if (typeof purge !== 'boolean') throw invalid('purge', 'must be a boolean');
    const stream = sessionStream(sessionId);
    const sessions = this.#core.state(sessionsProjection);
    const blobs = new Set<string>();
    let position = this.#core.runner.position;
    // A purge that failed after the deletion was recorded is finished by asking again.
    const unfinishedPurge = purge && !sessions.sessions.has(sessionId) && !sessions.deleted.has(sessionId) && (await this.#core.events.streamVersion(stream)) > 0;
    if (!unfinishedPurge) {
      const result = await this.#core.command(stream, write, () => {
        const gone = purge ? this.#core.state(sessionsProjection).deleted.get(sessionId)?.view : undefined;
        const session = gone ?? this.#existing(sessionId);
        for (const doc of sessionDocuments(this.#core.state(documentsProjection), sessionId)) blobs.add(doc.sha256);
        return { events: [{ type: 'session.deleted', data: purge ? { purge } : {} }], expected: session.version };
      });
      position = result.lastPosition;
    } else {
      // Its documents left the projection with the purge's deletion; the log still names their blobs, which the failed call may not have released.
      for (const e of await this.#core.events.readStream(stream, { types: ['document.uploaded'] })) blobs.add((upcast(e) as CatalogEvent & { type: 'document.uploaded' }).data.sha256);
    }
    if (purge) {
      // Kept for a restore until now. Released before the purge erases the events that name them, so that asking again after any failure finds them.
      await this.#releaseBlobs(blobs);
      await this.#core.events.purgeStream(stream);
      // Snapshots saved before the purge may hold the session's title, context and ids: replace them.
      await this.#core.runner.saveSnapshots();
      await this.#core.afterPurge?.();
    }
    return { sessionId, purged: purge, position };
  }

  /**
   * Brings back a deleted, not purged, session as it was when deleted: its
   * messages, documents (their bytes) and context, and its search documents.
   * CONFLICT for a live session; NOT_FOUND for one that never existed or was
   * purged.
   */
  async restore(sessionId: string, options?: WriteOptions): Promise<Reflected<Session>> {
    assertId(sessionId, 'sessionId');
    await this.#core.command(sessionStream(sessionId), options, () => {
      const state = this.#core.state(sessionsProjection);
      if (state.sessions.has(sessionId)) throw new FfcdbError(ErrorCode.CONFLICT, `session ${JSON.stringify(sessionId)} is not deleted: there is nothing to restore`, { field: 'sessionId', sessionId });
      const gone = state.deleted.get(sessionId);
      if (!gone) throw new FfcdbError(ErrorCode.NOT_FOUND, `session ${JSON.stringify(sessionId)} cannot be restored: it never existed, or was purged`, { field: 'sessionId', id: sessionId });
      return { events: [{ type: 'session.restored', data: {} }], expected: gone.view.version };
    });
    return this.#view(sessionId);
  }

  /** A user's sessions, newest first by default, filtered and paged with cursors. */
  async list(userId: string, options: SessionListOptions = {}): Promise<Page<Session>> {
    assertId(userId, 'userId');
    object(options, 'options');
    const limit = pageLimit(options.limit, 20);
    const direction = pageDirection(options);
    const order = options.order ?? 'desc';
    if (order !== 'asc' && order !== 'desc') throw invalid('order', `must be 'asc' or 'desc'`);
    const keep = filter(options);
    const from = time(options.createdFrom, 'createdFrom') ?? Number.NEGATIVE_INFINITY;
    const to = time(options.createdTo, 'createdTo') ?? Number.POSITIVE_INFINITY;
    const position = await this.#core.reflect(options);

    const state = this.#core.state(sessionsProjection);
    const list = state.byUser.get(userId) ?? [];
    // The listing's range in the ascending list: [lo, hi).
    let lo = firstAtOrAfter(state, list, from);
    let hi = firstAtOrAfter(state, list, to);
    if (direction) {
      const [createdAt, id] = decodeCursor(direction === 'after' ? options.after : options.before, direction, ['number', 'string']) as [number, string];
      const at = listingIndex(state, list, createdAt, id);
      const exact = list[at] === id ? 1 : 0;
      // `after` in descending order walks down the ascending list, and so on.
      if ((direction === 'after') === (order === 'asc')) lo = Math.max(lo, at + exact);
      else hi = Math.min(hi, at);
    }
    const forward = order === 'asc' ? direction !== 'before' : direction === 'before';
    const items: Session[] = [];
    let hasMore = false;
    for (let i = forward ? lo : hi - 1; forward ? i < hi : i >= lo; i += forward ? 1 : -1) {
      const session = state.sessions.get(list[i]!)!;
      if (!keep(session)) continue;
      if (items.length === limit) {
        hasMore = true;
        break;
      }
      items.push(this.#session(session));
    }
    // A backward page was gathered nearest-first; show it in listing order.
    if (direction === 'before') items.reverse();
    const page: Page<Session> = { items, hasMore, position };
    if (items.length > 0) {
      page.prevCursor = encodeCursor([items[0]!.createdAt, items[0]!.sessionId]);
      page.nextCursor = encodeCursor([items.at(-1)!.createdAt, items.at(-1)!.sessionId]);
    }
    return page;
  }

  async #change(sessionId: string, options: WriteOptions | undefined, event: () => ChatEvent): Promise<Reflected<Session>> {
    assertId(sessionId, 'sessionId');
    await this.#core.command(sessionStream(sessionId), options, () => ({ events: [event()], expected: this.#existing(sessionId).version }));
    return this.#view(sessionId);
  }

  #existing(sessionId: string): SessionView {
    const session = this.#core.state(sessionsProjection).sessions.get(sessionId);
    if (!session) throw notFound('session', sessionId, 'sessionId');
    return session;
  }

  #view(sessionId: string): Reflected<Session> {
    return { ...this.#session(this.#existing(sessionId)), position: this.#core.runner.position };
  }

  #session(view: SessionView): Session {
    return { ...detached(view), messageCount: this.#core.state(messagesProjection).sessions.get(view.sessionId)?.count ?? 0 };
  }
}

/** A session's documents, live or (the session deleted) kept for a restore. */
function sessionDocuments(state: DocumentsState, sessionId: string): DocumentView[] {
  return state.deletedSessions.get(sessionId)?.documents ?? (state.bySession.get(sessionId) ?? []).map((id) => state.documents.get(id)!);
}

/** The id and session.created payload of a new session (its id generated when left out, createdAt in ms), as it will be stored. */
export function sessionCreatedData(session: NewSession, field: string): { sessionId: string; data: SessionCreated } {
  const { userId, sessionId = nextId(), createdAt: given, ...rest } = storedObject(session, field, { userId: 'userId', sessionId: 'sessionId' }) as unknown as NewSession;
  assertId(userId, 'userId');
  assertId(sessionId, 'sessionId');
  const at = createdAt(given, `${field}.createdAt`);
  const data = { userId, ...rest } as SessionCreated;
  if (at !== undefined) data.createdAt = at;
  return { sessionId, data };
}

/** The first index of the ascending list whose session was created at or after `t`. */
function firstAtOrAfter(state: SessionsState, list: readonly string[], t: number): number {
  let lo = 0;
  let hi = list.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (state.sessions.get(list[mid]!)!.createdAt < t) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

function filter(options: SessionListOptions): (s: SessionView) => boolean {
  const { tag, title, archived = false } = options;
  if (tag !== undefined && typeof tag !== 'string') throw invalid('tag', 'must be a string');
  if (title !== undefined && typeof title !== 'string') throw invalid('title', 'must be a string');
  if (archived !== 'any' && typeof archived !== 'boolean') throw invalid('archived', `must be true, false or 'any'`);
  const needle = title?.toLowerCase();
  return (s) =>
    (archived === 'any' || s.archived === archived) &&
    (tag === undefined || s.tags.includes(tag)) &&
    (needle === undefined || s.title.toLowerCase().includes(needle));
}

function time(value: number | Date | undefined, field: string): number | undefined {
  if (value === undefined) return undefined;
  const t = value instanceof Date ? value.getTime() : value;
  if (typeof t !== 'number' || !Number.isFinite(t)) throw invalid(field, 'must be a Date or milliseconds since the epoch');
  return t;
}
