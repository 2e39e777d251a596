import type { CatalogEvent } from '../events/catalog.js';
import type { JsonObject } from '../events/fields.js';
import { streamEntity } from '../events/streams.js';
import { defineProjection } from './projection.js';

export interface SessionView {
  sessionId: string;
  userId: string;
  title: string;
  tags: string[];
  metadata: JsonObject;
  archived: boolean;
  /** The time the session was created with (history imported), else the time of its session.created. */
  createdAt: number;
  /** Time of the session's latest event of any kind (as written, whatever `createdAt` says). */
  updatedAt: number;
  /** The session stream's version: the expected version of its next change. */
  version: number;
  /** `createdAt` of the latest message added. */
  lastMessageAt?: number;
}

/** A deleted, not purged, session: as it was when deleted, and when that was. */
export interface DeletedSession {
  view: SessionView;
  at: number;
}

export interface SessionsState {
  /** Live sessions. */
  sessions: Map<string, SessionView>;
  /** Deleted sessions until purged: reads do not see them; `session.restored` brings one back. */
  deleted: Map<string, DeletedSession>;
  /** Each user's session ids in listing order: by createdAt, then id, ascending. */
  byUser: Map<string, string[]>;
}

/**
 * Session listings. A deleted session moves to `deleted`, as it was (reads stop
 * returning it; events of its stream but its restore or purge change
 * nothing); a purge drops it. Every event of a live session's stream counts in
 * its `version` and `updatedAt`, whatever its type.
 */
export const sessionsProjection = defineProjection<SessionsState>({
  name: 'sessions',
  version: 2,
  handles: ['session.created', 'session.renamed', 'session.tagged', 'session.updated', 'session.archived', 'session.deleted', 'session.restored', 'message.added'],
  init: () => ({ sessions: new Map(), deleted: new Map(), byUser: new Map() }),
  apply(state, event: CatalogEvent) {
    const owner = streamEntity(event.streamId);
    if (owner?.kind !== 'session') return;
    const id = owner.id;
    if (event.type === 'session.created' && event.version === 1 && !state.sessions.has(id) && !state.deleted.has(id)) {
      const { userId, title, tags, metadata, createdAt = event.timestamp } = event.data;
      const view: SessionView = {
        sessionId: id,
        userId,
        title,
        tags: tags ?? [],
        metadata: metadata ?? {},
        archived: false,
        createdAt,
        updatedAt: event.timestamp,
        version: event.version,
      };
      addToListing(state, view);
      return;
    }
    const gone = state.deleted.get(id);
    if (gone) {
      if (event.type === 'session.restored') {
        gone.view.version = event.version;
        gone.view.updatedAt = event.timestamp;
        addToListing(state, gone.view);
        state.deleted.delete(id);
      } else if (event.type === 'session.deleted' && event.data.purge === true) state.deleted.delete(id);
      return;
    }
    const session = counted(state, event);
    if (!session) return;
    switch (event.type) {
      case 'session.renamed':
        session.title = event.data.title;
        break;
      case 'session.tagged':
        session.tags = event.data.tags;
        break;
      case 'session.updated': {
        const { title, tags, metadata } = event.data;
        if (title !== undefined) session.title = title;
        if (tags !== undefined) session.tags = tags;
        if (metadata !== undefined) session.metadata = metadata;
        break;
      }
      case 'session.archived':
        session.archived = event.data.archived;
        break;
      case 'session.deleted': {
        const list = state.byUser.get(session.userId)!;
        list.splice(listingIndex(state, list, session.createdAt, id), 1);
        state.sessions.delete(id);
        if (list.length === 0) state.byUser.delete(session.userId);
        if (event.data.purge !== true) state.deleted.set(id, { view: session, at: event.timestamp });
        break;
      }
      case 'message.added':
        session.lastMessageAt = event.data.createdAt ?? event.timestamp;
        break;
      default:
    }
  },
  unhandled: counted,
});

/** A live session into the state and its user's listing. */
function addToListing(state: SessionsState, view: SessionView): void {
  state.sessions.set(view.sessionId, view);
  let ids = state.byUser.get(view.userId);
  if (!ids) {
    ids = [];
    state.byUser.set(view.userId, ids);
  }
  ids.splice(listingIndex(state, ids, view.createdAt, view.sessionId), 0, view.sessionId);
}

/** The session an event of its stream belongs to, with the event counted in its version and time. */
function counted(state: SessionsState, event: { streamId: string; version: number; timestamp: number }): SessionView | undefined {
  const owner = streamEntity(event.streamId);
  const session = owner?.kind === 'session' ? state.sessions.get(owner.id) : undefined;
  if (session) {
    session.version = event.version;
    session.updatedAt = event.timestamp;
  }
  return session;
}

/** Where (createdAt, id) is or would go in a user's listing: binary search. */
export function listingIndex(state: SessionsState, list: readonly string[], createdAt: number, id: string): number {
  let lo = 0;
  let hi = list.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    const other = state.sessions.get(list[mid]!)!;
    if (other.createdAt < createdAt || (other.createdAt === createdAt && list[mid]! < id)) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
