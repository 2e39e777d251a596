import { applyContextChange } from '../../projections/context.js';
import type { RecordedEvent } from '../../kernel/types.js';
import { jsonText } from '../../sql/values.js';
import type { ContextRow } from '../rows.js';
import { CONTEXT, CONTEXT_CHANGES, CONTEXT_SNAPSHOTS } from '../schema.js';
import { type FamilyEvent, type TableWrites, type Tagged, type Tracked, key, loaded } from './tracked.js';

/**
 * context.* events → context, context_changes and context_snapshots rows (the
 * context projection's rules): changes are RFC 7386 merge patches over the
 * parsed value, whose JSON text is made again only when written or snapshotted.
 */
export class ContextsFold {
  /** Every context the batch touches, by session, as prefetched (null: not in the database). */
  readonly rows = new Map<string, Tracked<ContextRow> | null>();
  /** The latest snapshot of each (session, name): a name taken again moves. */
  readonly #snapshots = new Map<string, Tagged>();
  readonly #changes: Tagged[] = [];

  /** A new session's context: {} at version 0, written once changed. */
  started(sessionId: string): void {
    this.rows.set(sessionId, { row: emptyContext(sessionId), isNew: true, dirty: false });
  }

  apply(sessionId: string, raw: RecordedEvent, e: FamilyEvent<'context'>): void {
    let c = loaded(this.rows, sessionId);
    if (!c) {
      // A live session without a context row: {} at version 0.
      c = { row: emptyContext(sessionId), isNew: true, dirty: false };
      this.rows.set(sessionId, c);
    }
    if (e.type === 'context.snapshotted') {
      if (c.dirty) c.row.value = jsonText(c.row.current);
      this.#snapshots.set(key(sessionId, e.data.name), { stream: raw.streamId, values: [sessionId, e.data.name, c.row.version, c.row.value, raw.version, raw.timestamp] });
      return;
    }
    c.row.current = applyContextChange(c.row.current, e);
    c.row.version++;
    c.row.updated_at = raw.timestamp;
    c.dirty = true;
    const op = e.type === 'context.set' ? 'set' : 'patch';
    const value = e.type === 'context.set' ? e.data.context : e.data.patch;
    this.#changes.push({ stream: raw.streamId, values: [sessionId, c.row.version, op, jsonText(value), raw.version, raw.position, raw.timestamp] });
  }

  write(out: TableWrites): void {
    for (const [id, c] of this.rows) {
      if (!c?.dirty || !out.keep(id)) continue;
      c.row.value = jsonText(c.row.current);
      out.upsert(CONTEXT, [id, c.row.value, c.row.version, c.row.updated_at]);
    }
    out.tagged(CONTEXT_CHANGES, this.#changes);
    // Upserted: a snapshot name taken again may have its row already.
    out.tagged(CONTEXT_SNAPSHOTS, this.#snapshots.values(), true);
  }
}

function emptyContext(sessionId: string): ContextRow {
  return { session_id: sessionId, current: {}, value: '{}', version: 0, updated_at: null };
}
