import fs from 'node:fs';
import { ErrorCode, FfcdbError } from '../../kernel/errors.js';
import { type SqlDialect, type SqlDriver, type SqlRow, type SqlValue, type TableDef, columnList, quote, upsertClause } from '../driver.js';

/** What the driver uses of a better-sqlite3 statement. */
export interface SqliteStatement {
  run(...params: unknown[]): { changes: number };
  all(...params: unknown[]): unknown[];
}

/** What the driver uses of a better-sqlite3 Database (structural: this module never imports the package). */
export interface SqliteDatabase {
  readonly name: string;
  readonly inTransaction: boolean;
  prepare(sql: string): SqliteStatement;
  exec(sql: string): unknown;
  close(): unknown;
}

export interface SqliteDriverOptions {
  /** Every table and index name starts with it (default `ffcdb_`). */
  prefix?: string;
  /** The connection created the database file (so the namespace is ours to remove). */
  createdFile?: boolean;
  /** close() closes the database (when the driver opened it). */
  owned?: boolean;
}

export const DEFAULT_SQLITE_PREFIX = 'ffcdb_';
const PREFIX = /^[A-Za-z][A-Za-z0-9_]{0,30}$/;

/**
 * SqlDriver over better-sqlite3. Its fast path is the plain one: prepared
 * statements, run row by row inside one transaction per batch (SQLite's cost
 * is the commit, not the statement). Tables live under a name prefix.
 */
export class SqliteDriver implements SqlDriver {
  readonly dialect: SqlDialect;
  readonly description: string;
  readonly #db: SqliteDatabase;
  readonly #prefix: string;
  readonly #createdFile: boolean;
  readonly #owned: boolean;
  readonly #statements = new Map<string, SqliteStatement>();
  #removeOnClose = false;

  constructor(db: SqliteDatabase, options: SqliteDriverOptions = {}) {
    const prefix = options.prefix ?? DEFAULT_SQLITE_PREFIX;
    if (!PREFIX.test(prefix)) throw new FfcdbError(ErrorCode.INVALID_ARGUMENT, `table prefix must be 1-31 of A-Z, a-z, 0-9, '_' starting with a letter; got ${JSON.stringify(prefix)}`, { field: 'prefix' });
    this.#db = db;
    this.#prefix = prefix;
    this.#createdFile = options.createdFile ?? false;
    this.#owned = options.owned ?? false;
    this.description = `sqlite:${db.name} (tables ${prefix}*)`;
    this.dialect = sqliteDialect(prefix);
  }

  get inTransaction(): boolean {
    return this.#db.inTransaction;
  }

  async listTables(): Promise<string[]> {
    const rows = await this.query(`SELECT name FROM sqlite_master WHERE type = 'table'`);
    return rows.map((r) => String(r.name)).filter((n) => n.startsWith(this.#prefix)).map((n) => n.slice(this.#prefix.length));
  }

  async ensureNamespace(): Promise<boolean> {
    return this.#createdFile;
  }

  async dropNamespace(): Promise<boolean> {
    // The file goes when the connection closes, and only if nothing of anyone else's is in it.
    const [row] = await this.query(`SELECT count(*) AS n FROM sqlite_master`);
    this.#removeOnClose = this.#owned && Number(row?.n) === 0;
    return this.#removeOnClose;
  }

  async exec(sql: string): Promise<void> {
    this.#guard(() => this.#db.exec(sql));
  }

  async query(sql: string, params: readonly SqlValue[] = []): Promise<SqlRow[]> {
    return this.#guard(() => this.#statement(sql).all(params.map(bindable)) as SqlRow[]);
  }

  async run(sql: string, params: readonly SqlValue[] = []): Promise<number> {
    return this.#guard(() => this.#statement(sql).run(params.map(bindable)).changes);
  }

  async transaction<T>(fn: () => Promise<T>, options: { readOnly?: boolean } = {}): Promise<T> {
    this.begin(options.readOnly ?? false);
    try {
      const out = await fn();
      this.commit();
      return out;
    } catch (err) {
      this.rollback();
      throw err;
    }
  }

  /** The parts of transaction(), for the threaded driver, whose transactions span messages to its worker. */
  begin(readOnly: boolean): void {
    // IMMEDIATE: take the write lock up front, so a concurrent writer fails at BEGIN rather than at COMMIT.
    // A deferred BEGIN reads one snapshot (in WAL mode without blocking writers).
    this.#guard(() => this.#db.exec(readOnly ? 'BEGIN' : 'BEGIN IMMEDIATE'));
  }

  commit(): void {
    this.#guard(() => this.#db.exec('COMMIT'));
  }

  rollback(): void {
    if (this.#db.inTransaction) this.#db.exec('ROLLBACK');
  }

  async insert(table: TableDef, rows: readonly SqlValue[][]): Promise<void> {
    this.#runRows(`INSERT INTO ${this.dialect.table(table.name)} (${columnList(table)}) VALUES (${table.columns.map(() => '?').join(', ')})`, table, rows);
  }

  async upsert(table: TableDef, rows: readonly SqlValue[][]): Promise<void> {
    this.#runRows(`INSERT INTO ${this.dialect.table(table.name)} (${columnList(table)}) VALUES (${table.columns.map(() => '?').join(', ')}) ${upsertClause(table)}`, table, rows);
  }

  async selectByKeys(table: TableDef, key: readonly string[], keys: readonly SqlValue[][], where?: string): Promise<SqlRow[]> {
    if (keys.length === 0) return [];
    const statement = this.#statement(`SELECT * FROM ${this.dialect.table(table.name)} WHERE ${key.map((k) => `${quote(k)} = ?`).join(' AND ')}${where ? ` AND (${where})` : ''}`);
    return this.#guard(() => {
      const out: SqlRow[] = [];
      for (const k of keys) for (const row of statement.all(k.map(bindable))) out.push(row as SqlRow);
      return out;
    });
  }

  async deleteByKeys(table: TableDef, key: readonly string[], keys: readonly SqlValue[][]): Promise<void> {
    if (keys.length === 0) return;
    this.#runRows(`DELETE FROM ${this.dialect.table(table.name)} WHERE ${key.map((k) => `${quote(k)} = ?`).join(' AND ')}`, undefined, keys);
  }

  async close(): Promise<void> {
    if (!this.#owned) return;
    this.#db.close();
    if (this.#removeOnClose) for (const suffix of ['', '-wal', '-shm', '-journal']) fs.rmSync(this.#db.name + suffix, { force: true });
  }

  #runRows(sql: string, table: TableDef | undefined, rows: readonly SqlValue[][]): void {
    if (rows.length === 0) return;
    const statement = this.#statement(sql);
    // better-sqlite3 binds no booleans: only tables with boolean columns pay for the conversion.
    const converts = table?.columns.some((c) => c.type === 'boolean') ?? false;
    this.#guard(() => {
      for (const row of rows) statement.run(converts ? row.map(bindable) : row);
    });
  }

  #statement(sql: string): SqliteStatement {
    let s = this.#statements.get(sql);
    if (!s) {
      s = this.#guard(() => this.#db.prepare(sql));
      this.#statements.set(sql, s);
    }
    return s;
  }

  #guard<T>(fn: () => T): T {
    try {
      return fn();
    } catch (err) {
      throw sqliteError(err, this.#db.name);
    }
  }
}

/** SQLite's spelling of the schema: tables and indexes under a name prefix. */
export function sqliteDialect(prefix: string): SqlDialect {
  return {
    name: 'sqlite',
    types: { text: 'TEXT', integer: 'INTEGER', boolean: 'INTEGER', json: 'TEXT' },
    table: (name) => quote(prefix + name),
    index: (table, name) => quote(`${prefix}${table}_${name}`),
    param: () => '?',
    storedText: (value) => value,
  };
}

function bindable(v: SqlValue): string | number | null {
  return typeof v === 'boolean' ? (v ? 1 : 0) : v;
}

/** A better-sqlite3 error as an FfcdbError (errors of ours pass through). */
export function sqliteError(err: unknown, file: string): unknown {
  if (err instanceof FfcdbError) return err;
  const code = String((err as { code?: unknown })?.code ?? '');
  const message = `SQLite ${file}: ${(err as Error)?.message ?? String(err)}`;
  const details = { target: `sqlite:${file}`, sqliteCode: code };
  if (code === 'SQLITE_NOTADB') return new FfcdbError(ErrorCode.UNSUPPORTED_FORMAT, `${message} (not an SQLite database)`, details, { cause: err });
  if (code.startsWith('SQLITE_CORRUPT')) return new FfcdbError(ErrorCode.CORRUPT, message, details, { cause: err });
  if (code.startsWith('SQLITE_BUSY') || code.startsWith('SQLITE_LOCKED')) return new FfcdbError(ErrorCode.LOCKED, `${message} (another connection holds the database)`, details, { cause: err });
  if (code.startsWith('SQLITE_CONSTRAINT') || code === 'SQLITE_ERROR') return new FfcdbError(ErrorCode.FAILED, message, details, { cause: err });
  return new FfcdbError(ErrorCode.IO, message, { ...details, file, syscall: 'sqlite', errno: code }, { cause: err });
}
