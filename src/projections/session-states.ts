import type { CatalogEvent } from '../events/catalog.js';

/**
 * A projection's state per session, live and deleted: a deleted session's
 * state is kept as it was, out of reads' way, until `session.restored` brings
 * it back or a purge (`session.deleted` with `purge`) drops it.
 */
export interface SessionStates<T> {
  /** Live sessions' states. */
  sessions: Map<string, T>;
  /** Deleted, not purged, sessions' states. */
  deleted: Map<string, T>;
}

export function initSessionStates<T>(): SessionStates<T> {
  return { sessions: new Map(), deleted: new Map() };
}

/**
 * Applies what a session's lifecycle events do to its state (created, deleted,
 * restored, purged) and returns the live state any other event of its
 * stream applies to; undefined when there is none, or the event was one of those.
 */
export function sessionState<T>(state: SessionStates<T>, sessionId: string, event: CatalogEvent, init: () => T): T | undefined {
  switch (event.type) {
    case 'session.created':
      if (event.version === 1) state.sessions.set(sessionId, init());
      return undefined;
    case 'session.deleted': {
      const live = state.sessions.get(sessionId);
      state.sessions.delete(sessionId);
      if (event.data.purge === true) state.deleted.delete(sessionId);
      else if (live) state.deleted.set(sessionId, live);
      return undefined;
    }
    case 'session.restored': {
      const gone = state.deleted.get(sessionId);
      if (gone && !state.sessions.has(sessionId)) {
        state.sessions.set(sessionId, gone);
        state.deleted.delete(sessionId);
      }
      return undefined;
    }
    default:
      return state.sessions.get(sessionId);
  }
}
