import type { CatalogEvent } from '../events/catalog.js';
import { streamEntity } from '../events/streams.js';
import { defineProjection } from './projection.js';

/**
 * Where each message of a session lives in its stream. The content stays in
 * the log: reads fetch it by stream version, so the state holds a few numbers
 * per message however long the messages are, and a page of messages is read
 * straight from the log in constant memory.
 */
export interface SessionMessages {
  /** Stream version of each message's `message.added`, by message id. */
  added: Map<string, number>;
  /** Stream versions of each edited message's edits, oldest first. */
  edits: Map<string, number[]>;
  /** Stream version of each deleted message's `message.deleted`. */
  deleted: Map<string, number>;
  /** Messages not deleted. */
  count: number;
}

export type MessagesState = Map<string, SessionMessages>;

export const messagesProjection = defineProjection<MessagesState>({
  name: 'messages',
  version: 1,
  handles: ['session.created', 'session.deleted', 'message.added', 'message.edited', 'message.deleted'],
  init: () => new Map(),
  apply(state, event: CatalogEvent) {
    const owner = streamEntity(event.streamId);
    if (owner?.kind !== 'session') return;
    if (event.type === 'session.created') {
      if (event.version === 1) state.set(owner.id, { added: new Map(), edits: new Map(), deleted: new Map(), count: 0 });
      return;
    }
    const session = state.get(owner.id);
    if (!session) return;
    switch (event.type) {
      case 'session.deleted':
        state.delete(owner.id);
        break;
      case 'message.added':
        if (session.added.has(event.data.messageId)) return;
        session.added.set(event.data.messageId, event.version);
        session.count++;
        break;
      case 'message.edited': {
        const id = event.data.messageId;
        if (!session.added.has(id) || session.deleted.has(id)) return;
        const edits = session.edits.get(id);
        if (edits) edits.push(event.version);
        else session.edits.set(id, [event.version]);
        break;
      }
      case 'message.deleted': {
        const id = event.data.messageId;
        if (!session.added.has(id) || session.deleted.has(id)) return;
        session.deleted.set(id, event.version);
        session.count--;
        break;
      }
      default:
    }
  },
});
