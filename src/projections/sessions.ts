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

export interface SessionsState {
  sessions: Map<string, SessionView>;
  /** Each user's session ids in listing order: by createdAt, then id, ascending. */
  byUser: Map<string, string[]>;
}

/**
 * Session listings. A deleted session leaves the state (reads stop returning
 * it; the log keeps its history). Every event of a session's stream counts in
 * its `version` and `updatedAt`, whatever its type.
 */
export const sessionsProjection = defineProjection<SessionsState>({
  name: 'sessions',
  version: 1,
  handles: ['session.created', 'session.renamed', 'session.tagged', 'session.updated', 'session.archived', 'session.deleted', 'message.added'],
  init: () => ({ sessions: new Map(), byUser: new Map() }),
  apply(state, event: CatalogEvent) {
    const owner = streamEntity(event.streamId);
    if (owner?.kind !== 'session') return;
    const id = owner.id;
    if (event.type === 'session.created' && event.version === 1 && !state.sessions.has(id)) {
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
      state.sessions.set(id, view);
      let list = state.byUser.get(userId);
      if (!list) {
        list = [];
        state.byUser.set(userId, list);
      }
      list.splice(listingIndex(state, list, view.createdAt, id), 0, id);
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
