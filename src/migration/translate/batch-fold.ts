import type { CatalogEvent } from '../../events/catalog.js';
import type { SqlValue, TableDef } from '../../sql/driver.js';
import type { RecordedEvent } from '../../kernel/types.js';
import { type FeedEvent, asksForPurge } from '../rows.js';
import { EVENTS, PURGED_STREAMS } from '../schema.js';
import { ContextsFold } from './context.js';
import { DocumentsFold } from './documents.js';
import { MessagesFold } from './messages.js';
import { SessionsFold } from './sessions.js';
import { TableWrites, type Tagged, inFamily, loaded } from './tracked.js';
import { UsersFold } from './users.js';

/** What one batch writes, in the order the sink applies it. */
export interface BatchWrites {
  /** Streams erased by a purge: every row of theirs already in the database goes. */
  erase: { streamId: string; position: number }[];
  /** Sessions whose tag rows are replaced. */
  replaceTags: string[];
  /** Messages (session, message) whose attachment rows are replaced. */
  replaceAttachments: [string, string][];
  /** Per table: rows to insert (new) and rows to upsert (changed), in table order. */
  inserts: Map<TableDef, SqlValue[][]>;
  upserts: Map<TableDef, SqlValue[][]>;
  /** The last event of the batch (the checkpoint's event), if it held any. */
  last: RecordedEvent | undefined;
  events: number;
}

/**
 * The fold of one batch over the rows it touches: each event goes to the fold
 * of its family (sessions.ts, users.ts, messages.ts, context.ts,
 * documents.ts), which knows its rows and what its events do to them. What
 * crosses families is here: a session stream's events count only while its
 * session lives (a deleted session's rows stay as they were, hidden with it,
 * until a restore), a session created starts its context, a message added is
 * the session's last message time.
 */
export class BatchFold {
  readonly sessions = new SessionsFold();
  readonly users = new UsersFold();
  readonly messages = new MessagesFold();
  readonly documents = new DocumentsFold();
  readonly contexts = new ContextsFold();
  readonly erasedNow = new Set<string>();
  readonly #erased: ReadonlySet<string>;
  readonly #events: Tagged[] = [];
  readonly #erase: { streamId: string; position: number }[] = [];
  #last: RecordedEvent | undefined;
  #count = 0;

  constructor(erased: ReadonlySet<string>) {
    this.#erased = erased;
  }

  apply(e: FeedEvent): void {
    const { raw, owner } = e;
    this.#count++;
    this.#last = raw;
    if (this.#erased.has(raw.streamId) || this.erasedNow.has(raw.streamId)) return;
    this.#events.push({ stream: raw.streamId, values: e.row });
    if (owner?.kind === 'session') this.#session(owner.id, raw, e.event, e.contentJson);
    else if (owner?.kind === 'user') this.#user(owner.id, raw, e.event);
    if (asksForPurge(e)) {
      this.erasedNow.add(raw.streamId);
      this.#erase.push({ streamId: raw.streamId, position: raw.position });
    }
  }

  #session(id: string, raw: RecordedEvent, e: CatalogEvent | null, contentJson: string | undefined): void {
    if (e?.type === 'session.created' && raw.version === 1 && !loaded(this.sessions.rows, id)) {
      this.sessions.created(id, raw, e);
      this.contexts.started(id);
      return;
    }
    if (e?.type === 'session.restored' && this.sessions.restored(id, raw)) return;
    const s = this.sessions.live(id, raw);
    if (!s || !e) return;
    if (inFamily(e, 'session')) this.sessions.apply(s, raw, e);
    else if (inFamily(e, 'message')) {
      if (e.type === 'message.added') s.row.last_message_at = e.data.createdAt ?? raw.timestamp;
      this.messages.apply(id, raw, e, contentJson);
    } else if (inFamily(e, 'context')) this.contexts.apply(id, raw, e);
    else if (inFamily(e, 'document')) this.documents.apply({ session: id, user: s.row.user_id }, raw, e);
  }

  #user(id: string, raw: RecordedEvent, e: CatalogEvent | null): void {
    this.users.touched(id, raw);
    if (!e) return;
    if (inFamily(e, 'user')) this.users.apply(id, raw, e);
    // A user's library: the documents projection does not ask whether the user exists.
    else if (inFamily(e, 'document')) this.documents.apply({ session: null, user: id }, raw, e);
  }

  writes(): BatchWrites {
    const out = new TableWrites(this.erasedNow);
    this.users.write(out);
    const { replaceTags } = this.sessions.write(out);
    const replaceAttachments = this.messages.write(out);
    this.documents.write(out);
    this.contexts.write(out);
    out.tagged(EVENTS, this.#events);
    for (const { streamId, position } of this.#erase) out.insert(PURGED_STREAMS, [streamId, position]);
    return { erase: this.#erase, replaceTags, replaceAttachments, inserts: out.inserts, upserts: out.upserts, last: this.#last, events: this.#count };
  }
}
