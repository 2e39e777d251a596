import type { Attachment } from '../../events/messages.js';
import type { RecordedEvent } from '../../kernel/types.js';
import { jsonText } from '../../sql/values.js';
import type { MessageRow } from '../rows.js';
import { MESSAGE_ATTACHMENTS, MESSAGE_REVISIONS, MESSAGES } from '../schema.js';
import { type FamilyEvent, type TableWrites, type Tagged, type Tracked, key, loaded } from './tracked.js';

interface TrackedMessage extends Tracked<MessageRow> {
  /** The attachments, when the batch set them (added, or an edit that gave them). */
  attachments?: Attachment[];
}

/**
 * message.* events → messages, message_attachments and message_revisions rows
 * (the messages projection's rules): the first message of a live id wins, a
 * deleted id added again is a new message in the same row; edits and deletes
 * of unknown or deleted messages are ignored; a truncate deletes the messages it names.
 */
export class MessagesFold {
  /** Every message the batch touches, by key(session, message), as prefetched (null: not in the database). */
  readonly rows = new Map<string, TrackedMessage | null>();
  readonly #revisions: Tagged[] = [];

  /** `contentJson` is the message's content as JSON (FeedEvent.contentJson), for added and edited. */
  apply(sessionId: string, raw: RecordedEvent, e: FamilyEvent<'message'>, contentJson: string | undefined): void {
    switch (e.type) {
      case 'message.added': {
        const { messageId, role, attachments = [], metadata = {}, extra, createdAt = raw.timestamp } = e.data;
        const k = key(sessionId, messageId);
        const before = loaded(this.rows, k);
        // A live id's first message wins; a deleted id used again is a new message in its row (the old one's revisions stay).
        if (before && before.row.deleted_at === null) return;
        const row: MessageRow = {
          session_id: sessionId,
          message_id: messageId,
          seq: raw.version,
          role,
          content: contentJson!,
          attachments: jsonText(attachments),
          metadata: jsonText(metadata),
          revision: 1,
          created_at: createdAt,
          updated_at: createdAt,
          deleted_at: null,
          extra: extra === undefined ? null : jsonText(extra),
        };
        this.rows.set(k, { row, isNew: before?.isNew ?? true, dirty: true, attachments });
        this.#revision(row, raw, createdAt);
        return;
      }
      case 'message.edited': {
        const m = this.#live(sessionId, e.data.messageId);
        if (!m) return;
        const { attachments, metadata, extra } = e.data;
        m.row.content = contentJson!;
        if (attachments !== undefined) {
          m.row.attachments = jsonText(attachments);
          m.attachments = attachments;
        }
        if (metadata !== undefined) m.row.metadata = jsonText(metadata);
        if (extra !== undefined) m.row.extra = extra === null ? null : jsonText(extra);
        m.row.revision++;
        m.row.updated_at = raw.timestamp;
        m.dirty = true;
        this.#revision(m.row, raw, raw.timestamp);
        return;
      }
      case 'message.deleted':
        this.#delete(sessionId, e.data.messageId, raw);
        return;
      case 'message.truncated':
        for (const id of e.data.messageIds) this.#delete(sessionId, id, raw);
        return;
      default:
    }
  }

  /** `at`: the revision's time (revision 1: the message's created_at). */
  #revision(m: MessageRow, raw: RecordedEvent, at: number): void {
    this.#revisions.push({ stream: raw.streamId, values: [m.session_id, m.message_id, m.revision, raw.version, m.content, m.attachments, m.metadata, at, m.extra] });
  }

  #delete(sessionId: string, messageId: string, raw: RecordedEvent): void {
    const m = this.#live(sessionId, messageId);
    if (m) {
      m.row.deleted_at = raw.timestamp;
      m.dirty = true;
    }
  }

  #live(sessionId: string, messageId: string): TrackedMessage | null {
    const m = loaded(this.rows, key(sessionId, messageId));
    return m && m.row.deleted_at === null ? m : null;
  }

  /** Returns the messages (session, message) whose attachment rows are replaced. */
  write(out: TableWrites): [string, string][] {
    const replaceAttachments: [string, string][] = [];
    for (const m of this.rows.values()) {
      if (!m || !out.keep(m.row.session_id)) continue;
      out.tracked(MESSAGES, m);
      if (m.attachments === undefined) continue;
      if (!m.isNew) replaceAttachments.push([m.row.session_id, m.row.message_id]);
      for (const [idx, a] of m.attachments.entries()) out.insert(MESSAGE_ATTACHMENTS, [m.row.session_id, m.row.message_id, idx, a.documentId, a.name ?? null, a.mediaType ?? null]);
    }
    out.tagged(MESSAGE_REVISIONS, this.#revisions);
    return replaceAttachments;
  }
}
