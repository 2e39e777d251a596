import { STREAM_PREFIX, sessionStream } from '../events/streams.js';
import type { SqlDriver, SqlValue, TableDef } from '../sql/driver.js';
import { Lru } from './lru.js';
import { type ContextRow, type DocumentRow, type FeedEvent, type MessageRow, type SessionRow, type UserRow, rowObject } from './rows.js';
import { CONTEXT, DOCUMENTS, MESSAGES, SESSIONS, USERS } from './schema.js';
import { BatchFold, type BatchWrites } from './translate/batch-fold.js';
import { Known } from './translate/known.js';
import { type Tracked, inFamily, key } from './translate/tracked.js';

export type { BatchWrites };

/**
 * Event → rows: the chat projections' semantics, folded over the rows a batch
 * touches. Before a batch is folded, every row it can touch (sessions, users,
 * messages, live documents, contexts) is fetched in one query per table, or
 * taken from the LRU caches of rows written before; the fold then runs in
 * memory, in position order, and yields the batch's writes: new rows, the
 * final state of changed rows, and the few set-wise changes (tags and
 * attachments replaced, erased streams).
 *
 * The rules are the projections' (projections/*.ts), so the database agrees
 * with what the chat API reads. Each event family's rules and rows are in
 * translate/<family>.ts; translate/batch-fold.ts routes a batch's events to
 * them. This module keeps rows between batches and prefetches a batch's.
 */

export interface TranslatorOptions {
  /** Sessions and users kept between batches (default 100,000 each). */
  cachedRows?: number;
  /** Characters of context JSON kept between batches (default 64 Mi). */
  cachedContextChars?: number;
}

/**
 * Long runs of work on the main thread pause now and then, so that the answers
 * of the database (the batch being written) are taken and its next statement sent.
 */
export const YIELD_EVERY = 500;
export function yieldToIo(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

export class Translator {
  readonly #driver: SqlDriver;
  readonly #sessions: Known<SessionRow>;
  readonly #users: Known<UserRow>;
  readonly #contexts: Known<ContextRow>;
  readonly #messages = new Known<MessageRow>();
  readonly #documents = new Known<DocumentRow>();
  /** Sessions erased by batches not yet committed: their documents still read as live in the database. */
  readonly #erasedSessions = new Map<string, number>();
  /** Streams erased so far (loaded from purged_streams, then as batches are folded): their events are not kept. */
  readonly erased: Set<string>;

  constructor(driver: SqlDriver, erased: Iterable<string>, options: TranslatorOptions = {}) {
    this.#driver = driver;
    this.#sessions = new Known(new Lru(options.cachedRows ?? 100_000));
    this.#users = new Known(new Lru(options.cachedRows ?? 100_000));
    this.#contexts = new Known(new Lru(options.cachedContextChars ?? 64 * 2 ** 20, (c) => c.value.length + 64));
    this.erased = new Set(erased);
  }

  /**
   * Folds batch number `batch` into its writes. Rows of earlier batches not yet
   * committed are taken from memory, so this may run while the previous
   * batch is being written; call `committed` once the batch's transaction is.
   */
  async translate(events: readonly FeedEvent[], batch: number): Promise<{ writes: BatchWrites; committed: () => void }> {
    const fold = new BatchFold(this.erased);
    await this.#prefetch(fold, events);
    for (let i = 0; i < events.length; i++) {
      fold.apply(events[i]!);
      if (i % YIELD_EVERY === YIELD_EVERY - 1) await yieldToIo();
    }
    const writes = fold.writes();
    for (const streamId of fold.erasedNow) {
      const id = streamId.slice(STREAM_PREFIX.session.length);
      this.erased.add(streamId);
      this.#sessions.delete(id);
      this.#contexts.delete(id);
      this.#erasedSessions.set(id, batch);
    }
    for (const [id, s] of fold.sessions.rows) if (s && !fold.erasedNow.has(sessionStream(id))) this.#sessions.touched(id, s.row, batch);
    for (const [id, u] of fold.users.rows) if (u) this.#users.touched(id, u.row, batch);
    for (const [id, c] of fold.contexts.rows) if (c && !fold.erasedNow.has(sessionStream(id))) this.#contexts.touched(id, c.row, batch);
    for (const [k, m] of fold.messages.rows) if (m) this.#messages.touched(k, m.row, batch);
    for (const [id, d] of fold.documents.rows) this.#documents.touched(id, d.row, batch);
    return { writes, committed: () => this.#committed(batch) };
  }

  /** A stream erased outside a batch (a purge found by the sweep, while no batch is in flight). */
  forget(streamId: string): void {
    this.erased.add(streamId);
    for (const known of [this.#sessions, this.#users, this.#contexts, this.#messages, this.#documents] as Known<unknown>[]) known.clear();
  }

  #committed(batch: number): void {
    for (const known of [this.#sessions, this.#users, this.#contexts, this.#messages, this.#documents] as Known<unknown>[]) known.committed(batch);
    for (const [id, b] of this.#erasedSessions) if (b <= batch) this.#erasedSessions.delete(id);
  }

  async #prefetch(fold: BatchFold, batch: readonly FeedEvent[]): Promise<void> {
    const sessions = new Set<string>();
    const users = new Set<string>();
    const contexts = new Set<string>();
    const messages = new Map<string, [string, string]>();
    const documents = new Set<string>();
    /** Sessions whose stream starts in this batch: nothing of theirs is in the database yet. */
    const bornHere = new Set<string>();
    for (const { raw, event: e, owner } of batch) {
      if (!owner || this.erased.has(raw.streamId)) continue;
      if (owner.kind === 'user') users.add(owner.id);
      else if (e?.type === 'session.created' && raw.version === 1) bornHere.add(owner.id);
      else if (!bornHere.has(owner.id)) sessions.add(owner.id);
      if (!e) continue;
      const born = owner.kind === 'session' && bornHere.has(owner.id);
      if (inFamily(e, 'message')) {
        for (const id of e.type === 'message.truncated' ? e.data.messageIds : [e.data.messageId]) {
          if (born) fold.messages.rows.set(key(owner.id, id), null);
          else messages.set(key(owner.id, id), [owner.id, id]);
        }
      } else if (inFamily(e, 'context')) {
        if (!born) contexts.add(owner.id);
      } else if (inFamily(e, 'document')) documents.add(e.data.documentId);
    }
    for (const id of bornHere) fold.sessions.rows.set(id, null);
    await this.#load(sessions, this.#sessions, SESSIONS, ['session_id'], fold.sessions.rows, (r) => r.session_id);
    await this.#load(users, this.#users, USERS, ['user_id'], fold.users.rows, (r) => r.user_id);
    await this.#load(contexts, this.#contexts, CONTEXT, ['session_id'], fold.contexts.rows, (r) => r.session_id, (c) => (c.current = JSON.parse(c.value) as ContextRow['current']));
    await this.#load(messages.keys(), this.#messages, MESSAGES, ['session_id', 'message_id'], fold.messages.rows, (r) => key(r.session_id, r.message_id), undefined, (k) => messages.get(k)!);
    const docs = new Map<string, Tracked<DocumentRow> | null>();
    await this.#load(documents, this.#documents, DOCUMENTS, ['document_id'], docs, (r) => r.document_id, undefined, (id) => [id], 'deleted_at IS NULL');
    for (const [id, d] of docs) {
      if (!d) continue;
      // A session erased by a batch still being written took its documents along, whatever the database says yet.
      if (d.row.session_id !== null && d.row.deleted_at === null && this.#erasedSessions.has(d.row.session_id)) d.row.deleted_at = 0;
      fold.documents.rows.set(id, d);
    }
  }

  /**
   * Rows by key into the fold: from memory (batches in flight, then the LRU),
   * else from the database in one query, else known absent.
   */
  async #load<R>(
    keys: Iterable<string>,
    known: Known<R>,
    table: TableDef,
    columns: string[],
    into: Map<string, Tracked<R> | null>,
    keyOf: (row: R) => string,
    hydrate?: (row: R) => void,
    keyValues: (key: string) => SqlValue[] = (k) => [k],
    where?: string,
  ): Promise<void> {
    const missing: SqlValue[][] = [];
    for (const k of keys) {
      const row = known.get(k);
      into.set(k, row ? { row, isNew: false, dirty: false } : null);
      if (!row) missing.push(keyValues(k));
    }
    for (const r of await this.#driver.selectByKeys(table, columns, missing, where)) {
      const row = rowObject<R>(table, r);
      hydrate?.(row);
      into.set(keyOf(row), { row, isNew: false, dirty: false });
    }
  }
}
