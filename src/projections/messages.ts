import type { CatalogEvent } from '../events/catalog.js';
import { streamEntity } from '../events/streams.js';
import { type MessageDigest, addedDigest, editedDigest } from './message-digest.js';
import { defineProjection } from './projection.js';
import { type SessionStates, initSessionStates, sessionState } from './session-states.js';

/**
 * Where each message of a session lives in its stream. The content stays in
 * the log: reads fetch it by stream version, so the state holds a few numbers
 * per message however long the messages are, and a page of messages is read
 * straight from the log in constant memory.
 */
export interface SessionMessages {
  /** Stream version of each message's `message.added`, by message id (the latest message of the id). */
  added: Map<string, number>;
  /** Stream versions of each edited message's edits, oldest first. */
  edits: Map<string, number[]>;
  /** Stream version of each deleted message's `message.deleted` (or `message.truncated`). */
  deleted: Map<string, number>;
  /** A digest of each live message as it reads now (message-digest.ts): what sync and upsert compare. */
  digests: Map<string, MessageDigest>;
  /** Earlier messages of an id deleted and then used again: each one's added and edit stream versions, oldest first. */
  retired: Map<string, number[][]>;
  /** Messages not deleted. */
  count: number;
}

export type MessagesState = SessionStates<SessionMessages>;

export const messagesProjection = defineProjection<MessagesState>({
  name: 'messages',
  version: 4,
  handles: ['session.created', 'session.deleted', 'session.restored', 'message.added', 'message.edited', 'message.deleted', 'message.truncated'],
  init: initSessionStates,
  apply(state, event: CatalogEvent) {
    const owner = streamEntity(event.streamId);
    if (owner?.kind !== 'session') return;
    const session = sessionState(state, owner.id, event, () => ({ added: new Map(), edits: new Map(), deleted: new Map(), digests: new Map(), retired: new Map(), count: 0 }));
    if (!session) return;
    switch (event.type) {
      case 'message.added': {
        const { messageId, ...message } = event.data;
        if (session.added.has(messageId)) {
          if (!session.deleted.has(messageId)) return;
          retire(session, messageId);
        }
        session.added.set(messageId, event.version);
        session.digests.set(messageId, addedDigest(message));
        session.count++;
        break;
      }
      case 'message.edited': {
        const { messageId: id, ...edit } = event.data;
        const digest = session.digests.get(id);
        if (!digest) return;
        const edits = session.edits.get(id);
        if (edits) edits.push(event.version);
        else session.edits.set(id, [event.version]);
        session.digests.set(id, editedDigest(digest, edit));
        break;
      }
      case 'message.deleted':
        remove(session, event.data.messageId, event.version);
        break;
      case 'message.truncated':
        for (const id of event.data.messageIds) remove(session, id, event.version);
        break;
      default:
    }
  },
});

function remove(session: SessionMessages, id: string, version: number): void {
  if (!session.digests.delete(id)) return;
  session.deleted.set(id, version);
  session.count--;
}

/** A deleted message's id used again: the deleted one's versions move to `retired` (the audit trail), and the id starts afresh. */
function retire(session: SessionMessages, id: string): void {
  const versions = [session.added.get(id)!, ...(session.edits.get(id) ?? [])];
  const earlier = session.retired.get(id);
  if (earlier) earlier.push(versions);
  else session.retired.set(id, [versions]);
  // Deleted first, so the id's new place in the map is at the end: the order of the conversation.
  session.added.delete(id);
  session.edits.delete(id);
  session.deleted.delete(id);
}
