import type { CatalogEvent } from '../events/catalog.js';
import type { JsonObject } from '../events/fields.js';
import { streamEntity } from '../events/streams.js';
import { defineProjection } from './projection.js';
import { mergePatch } from './merge-patch.js';
import { type SessionStates, initSessionStates, sessionState } from './session-states.js';

/** One change of a session's context: its version is the count of changes up to and including it. */
export interface ContextChange {
  version: number;
  op: 'set' | 'patch';
  streamVersion: number;
  position: number;
  at: number;
}

export interface ContextSnapshotRef {
  name: string;
  /** The context version the snapshot names (0: the empty context). */
  version: number;
  streamVersion: number;
  at: number;
}

export interface SessionContext {
  current: JsonObject;
  /** Every change, oldest first; the content of each stays in the log. */
  history: ContextChange[];
  /** Named snapshots by name; taking a name again moves it. */
  snapshots: Map<string, ContextSnapshotRef>;
}

export type ContextState = SessionStates<SessionContext>;

/** Applies one change to a context: the same step serves the projection and time travel. */
export function applyContextChange(current: JsonObject, event: Extract<CatalogEvent, { type: 'context.set' | 'context.patched' }>): JsonObject {
  return event.type === 'context.set' ? event.data.context : (mergePatch(current, event.data.patch) as JsonObject);
}

export const contextProjection = defineProjection<ContextState>({
  name: 'context',
  version: 2,
  handles: ['session.created', 'session.deleted', 'session.restored', 'context.set', 'context.patched', 'context.snapshotted'],
  init: initSessionStates,
  apply(state, event: CatalogEvent) {
    const owner = streamEntity(event.streamId);
    if (owner?.kind !== 'session') return;
    const context = sessionState(state, owner.id, event, () => ({ current: {}, history: [], snapshots: new Map() }));
    if (!context) return;
    switch (event.type) {
      case 'context.set':
      case 'context.patched':
        context.current = applyContextChange(context.current, event);
        context.history.push({
          version: context.history.length + 1,
          op: event.type === 'context.set' ? 'set' : 'patch',
          streamVersion: event.version,
          position: event.position,
          at: event.timestamp,
        });
        break;
      case 'context.snapshotted':
        context.snapshots.set(event.data.name, {
          name: event.data.name,
          version: context.history.length,
          streamVersion: event.version,
          at: event.timestamp,
        });
        break;
      default:
    }
  },
});
