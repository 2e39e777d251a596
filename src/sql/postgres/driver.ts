import { ErrorCode, FfcdbError } from '../../kernel/errors.js';
import { type ColumnType, type SqlDialect, type SqlDriver, type SqlRow, type SqlValue, type TableDef, columnList, columnsOf, quote, upsertClause } from '../driver.js';
import { CopyFromRows } from './copy.js';
import { pgFailure } from './errors.js';
import type { PgPool, PgPoolClient, PgResult } from './pool.js';

export interface PostgresDriverOptions {
  /** The schema holding the tables (default `ffcdb`). */
  schema?: string;
  /** Shown in messages; no credentials. */
  description?: string;
  /** Called by close(): ends the connection the driver was given. */
  release?: () => Promise<void> | void;
}

const DEFAULT_POSTGRES_SCHEMA = 'ffcdb';
const SCHEMA = /^[a-z_][a-z0-9_]{0,62}$/;
const ARRAY_TYPES: Record<ColumnType, string> = { text: 'text[]', integer: 'bigint[]', boolean: 'boolean[]', json: 'json[]' };

/**
 * SqlDriver over pg. New rows go in with COPY FROM STDIN (one per table per
 * batch); upserts, lookups and deletes by key send each column as one array
 * parameter and join `unnest` of them, so every statement is one round trip
 * whatever the number of rows. JSON columns are `json` (not `jsonb`): the text
 * is kept as written, and `json` accepts the U+0000 escapes chat text may hold.
 */
export class PostgresDriver implements SqlDriver {
  readonly dialect: SqlDialect;
  readonly description: string;
  readonly #client: PgPoolClient;
  readonly #schema: string;
  readonly #release: (() => Promise<void> | void) | undefined;
  #createdSchema = false;
  /** Statements go to the server one after another, in the order made (pg's own queue for concurrent calls is deprecated). */
  #tail: Promise<unknown> = Promise.resolve();

  constructor(client: PgPoolClient, options: PostgresDriverOptions = {}) {
    const schema = options.schema ?? DEFAULT_POSTGRES_SCHEMA;
    if (!SCHEMA.test(schema)) throw new FfcdbError(ErrorCode.INVALID_ARGUMENT, `schema must be 1-63 of a-z, 0-9, '_' starting with a letter or '_'; got ${JSON.stringify(schema)}`, { field: 'schema' });
    this.#client = client;
    this.#schema = schema;
    this.#release = options.release;
    this.description = `${options.description ?? 'postgres'} (schema ${schema})`;
    this.dialect = postgresDialect(schema);
  }

  /** A driver on one client of the pool (a transaction needs one connection), given back when the driver closes. */
  static async fromPool(pool: PgPool, options: Omit<PostgresDriverOptions, 'release'> = {}): Promise<PostgresDriver> {
    const client = await pool.connect().catch((err: unknown) => {
      throw pgFailure(err, options.description ?? 'postgres', undefined, 'to');
    });
    return new PostgresDriver(client, { ...options, release: () => client.release() });
  }

  async listTables(): Promise<string[]> {
    const rows = await this.query(
      `SELECT c.relname AS name FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = $1 AND c.relkind IN ('r', 'p', 'v', 'm', 'f')`,
      [this.#schema],
    );
    return rows.map((r) => String(r.name));
  }

  async ensureNamespace(): Promise<boolean> {
    const rows = await this.query(`SELECT 1 AS present FROM pg_catalog.pg_namespace WHERE nspname = $1`, [this.#schema]);
    if (rows.length === 0) {
      await this.exec(`CREATE SCHEMA ${quote(this.#schema)}`);
      this.#createdSchema = true;
    }
    return this.#createdSchema;
  }

  async dropNamespace(): Promise<boolean> {
    // RESTRICT (the default) refuses when anything of anyone else's is in the schema: then it stays.
    const [left] = await this.query(
      `SELECT (SELECT count(*) FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = $1)
            + (SELECT count(*) FROM pg_catalog.pg_proc p JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace WHERE n.nspname = $1)
            + (SELECT count(*) FROM pg_catalog.pg_type t JOIN pg_catalog.pg_namespace n ON n.oid = t.typnamespace WHERE n.nspname = $1 AND t.typrelid = 0 AND t.typelem = 0) AS n`,
      [this.#schema],
    );
    if (Number(left?.n) !== 0) return false;
    await this.exec(`DROP SCHEMA IF EXISTS ${quote(this.#schema)}`);
    return true;
  }

  async exec(sql: string): Promise<void> {
    await this.#query(sql);
  }

  async query(sql: string, params: readonly SqlValue[] = []): Promise<SqlRow[]> {
    return (await this.#query(sql, params)).rows;
  }

  async run(sql: string, params: readonly SqlValue[] = []): Promise<number> {
    return (await this.#query(sql, params)).rowCount ?? 0;
  }

  async transaction<T>(fn: () => Promise<T>, options: { readOnly?: boolean } = {}): Promise<T> {
    // REPEATABLE READ: every statement of a read-only transaction sees one snapshot.
    await this.#query(options.readOnly ? 'BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY' : 'BEGIN');
    try {
      const out = await fn();
      await this.#query('COMMIT');
      return out;
    } catch (err) {
      // A broken connection cannot roll back; the server does when the session ends.
      await this.#serial(() => this.#client.query('ROLLBACK')).catch(() => undefined);
      throw err;
    }
  }

  async insert(table: TableDef, rows: readonly SqlValue[][]): Promise<void> {
    if (rows.length === 0) return;
    const copy = new CopyFromRows(`COPY ${this.dialect.table(table.name)} (${columnList(table)}) FROM STDIN`, table.columns, rows, this.dialect.storedText);
    await this.#serial(() => {
      this.#client.query(copy);
      return copy.done;
    }).catch((err: unknown) => {
      throw this.#error(err);
    });
  }

  async upsert(table: TableDef, rows: readonly SqlValue[][]): Promise<void> {
    if (rows.length === 0) return;
    const columns = table.columns;
    const arrays = this.#arrays(columns.map((c) => c.type), rows);
    const unnest = columns.map((c, i) => `$${i + 1}::${ARRAY_TYPES[c.type]}`).join(', ');
    await this.#query(`INSERT INTO ${this.dialect.table(table.name)} (${columnList(table)}) SELECT * FROM unnest(${unnest}) ${upsertClause(table)}`, arrays);
  }

  async selectByKeys(table: TableDef, key: readonly string[], keys: readonly SqlValue[][], where?: string): Promise<SqlRow[]> {
    if (keys.length === 0) return [];
    const { from, on, arrays } = this.#keyJoin(table, key, keys);
    return (await this.#query(`SELECT t.* FROM ${this.dialect.table(table.name)} t JOIN ${from} ON ${on}${where ? ` WHERE ${where}` : ''}`, arrays)).rows;
  }

  async deleteByKeys(table: TableDef, key: readonly string[], keys: readonly SqlValue[][]): Promise<void> {
    if (keys.length === 0) return;
    const { from, on, arrays } = this.#keyJoin(table, key, keys);
    await this.#query(`DELETE FROM ${this.dialect.table(table.name)} t USING ${from} WHERE ${on}`, arrays);
  }

  async close(): Promise<void> {
    await this.#release?.();
  }

  #keyJoin(table: TableDef, key: readonly string[], keys: readonly SqlValue[][]): { from: string; on: string; arrays: SqlValue[][] } {
    const columns = columnsOf(table, key);
    const from = `unnest(${columns.map((c, i) => `$${i + 1}::${ARRAY_TYPES[c.type]}`).join(', ')}) AS k(${columns.map((_, i) => `k${i}`).join(', ')})`;
    const on = columns.map((c, i) => `t.${quote(c.name)} = k.k${i}`).join(' AND ');
    return { from, on, arrays: this.#arrays(columns.map((c) => c.type), keys) };
  }

  /** Rows turned into one array per column, text made storable. */
  #arrays(types: readonly ColumnType[], rows: readonly SqlValue[][]): SqlValue[][] {
    return types.map((type, i) => rows.map((r) => (type === 'text' && typeof r[i] === 'string' ? this.dialect.storedText(r[i] as string) : r[i]!)));
  }

  async #query(sql: string, params?: readonly (SqlValue | SqlValue[])[]): Promise<PgResult<SqlRow>> {
    try {
      return await this.#serial(() => this.#client.query<SqlRow>(sql, params as unknown[] | undefined));
    } catch (err) {
      throw this.#error(err);
    }
  }

  /** `field: 'to'`: the migration names its database with --to. */
  #error(err: unknown): FfcdbError {
    return pgFailure(err, this.description, undefined, 'to');
  }

  #serial<T>(send: () => Promise<T>): Promise<T> {
    const run = this.#tail.then(send, send);
    this.#tail = run.catch(() => undefined);
    return run;
  }
}

/** PostgreSQL's spelling of the schema: tables in a schema of their own. */
export function postgresDialect(schema: string): SqlDialect {
  return {
    name: 'postgres',
    types: { text: 'text', integer: 'bigint', boolean: 'boolean', json: 'json' },
    table: (name) => `${quote(schema)}.${quote(name)}`,
    index: (table, name) => quote(`${table}_${name}`),
    param: (n) => `$${n}`,
    // text cannot hold U+0000 (JSON columns keep it, escaped).
    storedText: (value) => (value.includes('\0') ? value.replace(/\0/g, '\uFFFD') : value),
  };
}
