import { createHash } from 'node:crypto';
import type { SqlDriver, SqlRow, SqlValue, TableDef } from '../sql/driver.js';
import { quote } from '../sql/driver.js';
import { canonicalJson, decodeRow } from '../sql/values.js';
import { CONTENT_TABLES } from './schema.js';

/**
 * Content checksums of rows: each row is hashed in a canonical form (JSON with
 * sorted keys, whatever the database did to spacing and key order), and a set
 * of rows is summed by XOR of the row hashes (rows are unique by primary key,
 * so order does not matter and no row cancels another).
 */
export class Digest {
  rows = 0;
  readonly #sum = Buffer.alloc(32);

  add(hash: Buffer): void {
    this.rows++;
    xor(this.#sum, hash);
  }

  /** Adds every row of another digest. */
  merge(other: Digest): void {
    this.rows += other.rows;
    xor(this.#sum, other.#sum);
  }

  get sha256(): string {
    return this.#sum.toString('hex');
  }

  equals(other: Digest | undefined): boolean {
    return other !== undefined && this.rows === other.rows && this.sha256 === other.sha256;
  }
}

function xor(into: Buffer, hash: Buffer): void {
  for (let i = 0; i < 32; i++) into[i]! ^= hash[i]!;
}

/**
 * The hash of a row in its canonical form. `omit` leaves out columns a
 * comparison cannot know (surrogate keys); `storedText` maps text as the
 * database holds it (PostgreSQL's text has no U+0000).
 */
export function rowHash(table: TableDef, row: readonly SqlValue[], storedText: (s: string) => string = (s) => s, omit?: ReadonlySet<string>): Buffer {
  const canonical: SqlValue[] = [];
  table.columns.forEach((c, i) => {
    if (omit?.has(c.name)) return;
    const v = row[i] ?? null;
    if (v === null) canonical.push(null);
    else if (c.type === 'json') canonical.push(canonicalJson(v as string));
    else if (c.type === 'text') canonical.push(storedText(v as string));
    else canonical.push(v);
  });
  return createHash('sha256').update(JSON.stringify(canonical)).digest();
}

/** Every row of a table, decoded, in pages of primary-key order (keyset paging: constant memory, no cursor). */
export async function* scanTable(driver: SqlDriver, table: TableDef, pageSize = 5000): AsyncGenerator<SqlValue[]> {
  const pk = table.primaryKey;
  const keyIndex = pk.map((k) => table.columns.findIndex((c) => c.name === k));
  const order = pk.map(quote).join(', ');
  const p = (n: number) => driver.dialect.param(n);
  let after: SqlValue[] | undefined;
  for (;;) {
    const where = after ? ` WHERE (${order}) > (${pk.map((_, i) => p(i + 1)).join(', ')})` : '';
    const rows: SqlRow[] = await driver.query(`SELECT * FROM ${driver.dialect.table(table.name)}${where} ORDER BY ${order} LIMIT ${pageSize}`, after ?? []);
    for (const r of rows) yield decodeRow(table, r);
    if (rows.length < pageSize) return;
    const last = decodeRow(table, rows.at(-1)!);
    after = keyIndex.map((i) => last[i]!);
  }
}

export interface TableChecksum {
  table: string;
  rows: number;
  sha256: string;
}

/**
 * Row count and content checksum of each content table: two databases that
 * migrated the same log agree on every one (the migration's own bookkeeping,
 * its checkpoint and purge tombstones, is left out). To compare SQLite with
 * PostgreSQL, give both PostgreSQL's `storedText` (its text holds no U+0000).
 */
export async function tableChecksums(driver: SqlDriver, storedText?: (s: string) => string, tables: readonly TableDef[] = CONTENT_TABLES): Promise<TableChecksum[]> {
  const out: TableChecksum[] = [];
  for (const table of tables) {
    const digest = new Digest();
    for await (const row of scanTable(driver, table)) digest.add(rowHash(table, row, storedText));
    out.push({ table: table.name, rows: digest.rows, sha256: digest.sha256 });
  }
  return out;
}
