import type { RecordedEvent } from '../../kernel/types.js';
import { jsonText } from '../../sql/values.js';
import type { SessionRow } from '../rows.js';
import { SESSION_TAGS, SESSIONS } from '../schema.js';
import { type FamilyEvent, type TableWrites, type Tracked, loaded } from './tracked.js';

/** session.* events → sessions and session_tags rows (the sessions projection's rules). */
export class SessionsFold {
  /** Every session the batch touches, as prefetched (null: not in the database). */
  readonly rows = new Map<string, Tracked<SessionRow> | null>();
  /** Sessions whose tags the batch set: their tag rows are replaced. */
  readonly #tags = new Map<string, string[]>();

  /** A stream's first event creating its session. */
  created(id: string, raw: RecordedEvent, e: Extract<FamilyEvent<'session'>, { type: 'session.created' }>): void {
    const { userId, title, tags = [], metadata = {}, createdAt = raw.timestamp } = e.data;
    const row: SessionRow = {
      session_id: id,
      user_id: userId,
      title,
      metadata: jsonText(metadata),
      archived: false,
      created_at: createdAt,
      updated_at: raw.timestamp,
      version: raw.version,
      last_message_at: null,
      deleted_at: null,
    };
    this.rows.set(id, { row, isNew: true, dirty: true });
    this.#tags.set(id, tags);
  }

  /**
   * The live session an event of its stream belongs to, its version and time
   * moved to the event's: every event of a live session's stream counts, whatever its type.
   * Null when the session is unknown or deleted.
   */
  live(id: string, raw: RecordedEvent): Tracked<SessionRow> | null {
    const s = loaded(this.rows, id);
    if (!s || s.row.deleted_at !== null) return null;
    s.row.version = raw.version;
    s.row.updated_at = raw.timestamp;
    s.dirty = true;
    return s;
  }

  /** A deleted session restored: its row (and with it every row of the session, kept as they were) live again. False when it is not deleted. */
  restored(id: string, raw: RecordedEvent): boolean {
    const s = loaded(this.rows, id);
    if (!s || s.row.deleted_at === null) return false;
    s.row.deleted_at = null;
    s.row.version = raw.version;
    s.row.updated_at = raw.timestamp;
    s.dirty = true;
    return true;
  }

  apply(s: Tracked<SessionRow>, raw: RecordedEvent, e: FamilyEvent<'session'>): void {
    switch (e.type) {
      case 'session.renamed':
        s.row.title = e.data.title;
        return;
      case 'session.tagged':
        this.#tags.set(s.row.session_id, e.data.tags);
        return;
      case 'session.updated': {
        const { title, tags, metadata } = e.data;
        if (title !== undefined) s.row.title = title;
        if (tags !== undefined) this.#tags.set(s.row.session_id, tags);
        if (metadata !== undefined) s.row.metadata = jsonText(metadata);
        return;
      }
      case 'session.archived':
        s.row.archived = e.data.archived;
        return;
      case 'session.deleted':
        // Its other rows stay as they are, hidden with it, for a restore.
        s.row.deleted_at = raw.timestamp;
        return;
      default:
    }
  }

  write(out: TableWrites): { replaceTags: string[] } {
    for (const [id, s] of this.rows) if (s && out.keep(id)) out.tracked(SESSIONS, s);
    const replaceTags: string[] = [];
    for (const [id, tags] of this.#tags) {
      if (!out.keep(id)) continue;
      if (!this.rows.get(id)!.isNew) replaceTags.push(id);
      for (const [idx, tag] of tags.entries()) out.insert(SESSION_TAGS, [id, tag, idx]);
    }
    return { replaceTags };
  }
}
