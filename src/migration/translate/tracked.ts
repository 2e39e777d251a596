import type { CatalogEvent } from '../../events/catalog.js';
import { sessionStream } from '../../events/streams.js';
import type { SqlValue, TableDef } from '../../sql/driver.js';
import { values } from '../rows.js';

/** What each family's fold shares: rows as the batch left them, and the batch's writes put together. */

export interface Tracked<R> {
  row: R;
  /** Not in the database yet: inserted, not upserted. */
  isNew: boolean;
  dirty: boolean;
}

/** A row bound for a table, tagged with the stream whose event made it (an erase later in the batch drops it). */
export interface Tagged {
  stream: string;
  values: SqlValue[];
}

/** The events of one family: those whose type starts with `<family>.`. */
export type FamilyEvent<F extends string> = Extract<CatalogEvent, { type: `${F}.${string}` }>;

export function inFamily<F extends string>(e: CatalogEvent, family: F): e is FamilyEvent<F> {
  return e.type.startsWith(`${family}.`);
}

export const key = (a: string, b: string) => `${a}\u0000${b}`;

/** A row the prefetch loaded (or knows absent: null); anything else is a bug in the prefetch. */
export function loaded<T>(map: Map<string, T | null>, k: string): T | null {
  const v = map.get(k);
  if (v === undefined) throw new Error(`migration: row ${JSON.stringify(k)} was not prefetched`);
  return v;
}

/** The rows of one batch, per table: new rows inserted, changed rows upserted. Rows of streams erased in the batch are left out. */
export class TableWrites {
  readonly inserts = new Map<TableDef, SqlValue[][]>();
  readonly upserts = new Map<TableDef, SqlValue[][]>();
  readonly #erased: ReadonlySet<string>;

  constructor(erasedNow: ReadonlySet<string>) {
    this.#erased = erasedNow;
  }

  /** Whether a row of this session (or of no session: null) is still written. */
  keep(sessionId: string | null): boolean {
    return sessionId === null || !this.#erased.has(sessionStream(sessionId));
  }

  insert(table: TableDef, row: SqlValue[]): void {
    add(this.inserts, table, row);
  }

  upsert(table: TableDef, row: SqlValue[]): void {
    add(this.upserts, table, row);
  }

  /** A tracked row, if new or changed. */
  tracked<R extends object>(table: TableDef, t: Tracked<R>): void {
    if (t.dirty || t.isNew) add(t.isNew ? this.inserts : this.upserts, table, values(table, t.row));
  }

  /** Tagged rows (inserted, or upserted when `upsert`), but those of streams erased in the batch. */
  tagged(table: TableDef, rows: Iterable<Tagged>, upsert = false): void {
    for (const r of rows) if (!this.#erased.has(r.stream)) add(upsert ? this.upserts : this.inserts, table, r.values);
  }
}

function add(into: Map<TableDef, SqlValue[][]>, table: TableDef, row: SqlValue[]): void {
  const list = into.get(table);
  if (list) list.push(row);
  else into.set(table, [row]);
}
