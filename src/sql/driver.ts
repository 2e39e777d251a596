/**
 * The dialect-neutral core of the SQL layer: table definitions and the few
 * operations the migration needs from a database. Each dialect folder
 * (`sqlite/`, `postgres/`) implements SqlDriver over its native driver, taken
 * as a structural type; only their `connect` modules import the native
 * package. Nothing here knows which database it talks to.
 */

/** Column types of a table definition; each dialect maps them to its own (ddl.ts). */
export type ColumnType = 'text' | 'integer' | 'boolean' | 'json';

export interface ColumnDef {
  readonly name: string;
  readonly type: ColumnType;
  readonly nullable?: boolean;
  /** One line for the README's schema section. */
  readonly doc: string;
}

export interface IndexDef {
  /** Unique within its table; the dialect qualifies it. */
  readonly name: string;
  readonly columns: readonly string[];
  readonly unique?: boolean;
  /** A partial index: a condition written in SQL both dialects read alike. */
  readonly where?: string;
  /**
   * Built after a bulk load rather than kept up to date row by row: rows
   * arriving in another order than the index's (sessions interleaved in the
   * feed) would rewrite most of its pages at every commit.
   */
  readonly deferred?: boolean;
}

interface ForeignKeyDef {
  readonly columns: readonly string[];
  readonly table: string;
  readonly references: readonly string[];
}

export interface TableDef {
  /** Unqualified: the driver puts it in its namespace (table prefix or schema). */
  readonly name: string;
  readonly doc: string;
  readonly columns: readonly ColumnDef[];
  readonly primaryKey: readonly string[];
  readonly indexes?: readonly IndexDef[];
  readonly foreignKeys?: readonly ForeignKeyDef[];
}

/** A value bound to a column: JSON columns take their JSON text. */
export type SqlValue = string | number | boolean | null;

/** A row as the database returns it, keyed by column name; decode it with decodeRow (values.ts). */
export type SqlRow = Record<string, unknown>;

type DialectName = 'sqlite' | 'postgres';

/**
 * How a dialect spells the schema: type names and qualified names. ddl.ts turns
 * one TableDef into CREATE statements through it.
 */
export interface SqlDialect {
  readonly name: DialectName;
  readonly types: Readonly<Record<ColumnType, string>>;
  /** The qualified, quoted name of a table of the namespace. */
  table(name: string): string;
  /** The quoted name of an index of `table` (index names are per database in SQLite, per schema in PostgreSQL). */
  index(table: string, name: string): string;
  /** The n-th (from 1) positional parameter. */
  param(n: number): string;
  /**
   * The text a value of a text column holds once stored (PostgreSQL's text
   * cannot hold U+0000); verification compares with what the database can hold.
   */
  storedText(value: string): string;
}

/**
 * What the migration needs from a database. Rows are arrays of values in the
 * order of the table definition's columns. Statements run on one connection,
 * one at a time; `transaction` makes everything inside it one commit.
 */
export interface SqlDriver {
  readonly dialect: SqlDialect;
  /** For messages: where the tables go, without credentials. */
  readonly description: string;
  /** Tables present in the namespace, by unqualified name. */
  listTables(): Promise<string[]>;
  /** Creates the namespace if it is missing (a PostgreSQL schema; a new SQLite file); resolves true when this call or the connection created it. */
  ensureNamespace(): Promise<boolean>;
  /** Removes the namespace (the caller knows the migration created it), if nothing is left in it; resolves whether it did. */
  dropNamespace(): Promise<boolean>;
  /** Statements without parameters or results (DDL), separated by semicolons. */
  exec(sql: string): Promise<void>;
  query(sql: string, params?: readonly SqlValue[]): Promise<SqlRow[]>;
  /** Resolves with the number of rows the statement changed. */
  run(sql: string, params?: readonly SqlValue[]): Promise<number>;
  /**
   * Runs fn in one transaction: committed when it resolves, rolled back when it
   * throws. Not reentrant. `readOnly`: a consistent snapshot for reading that
   * takes no write lock.
   */
  transaction<T>(fn: () => Promise<T>, options?: { readOnly?: boolean }): Promise<T>;
  /** Inserts new rows the fastest way the database has (prepared statements; COPY). */
  insert(table: TableDef, rows: readonly SqlValue[][]): Promise<void>;
  /** Inserts rows, or replaces every non-key column of a row whose primary key exists. Keys must not repeat. */
  upsert(table: TableDef, rows: readonly SqlValue[][]): Promise<void>;
  /** Rows whose `key` columns equal one of `keys`, and that meet `where` (a condition in neutral SQL) when given. */
  selectByKeys(table: TableDef, key: readonly string[], keys: readonly SqlValue[][], where?: string): Promise<SqlRow[]>;
  deleteByKeys(table: TableDef, key: readonly string[], keys: readonly SqlValue[][]): Promise<void>;
  close(): Promise<void>;
}

/** The columns of `table` named by `names`, in that order (throws on a name the table lacks: a bug). */
export function columnsOf(table: TableDef, names: readonly string[]): ColumnDef[] {
  return names.map((n) => {
    const c = table.columns.find((col) => col.name === n);
    if (!c) throw new Error(`table ${table.name} has no column ${n}`);
    return c;
  });
}

/** Double-quoted identifier, the same in both dialects. */
export function quote(identifier: string): string {
  return `"${identifier.replace(/"/g, '""')}"`;
}

/** `ON CONFLICT (pk) DO UPDATE SET c = excluded.c, ...`, which both dialects read alike. */
export function upsertClause(table: TableDef): string {
  const rest = table.columns.filter((c) => !table.primaryKey.includes(c.name));
  const pk = table.primaryKey.map(quote).join(', ');
  if (rest.length === 0) return `ON CONFLICT (${pk}) DO NOTHING`;
  return `ON CONFLICT (${pk}) DO UPDATE SET ${rest.map((c) => `${quote(c.name)} = excluded.${quote(c.name)}`).join(', ')}`;
}

export function columnList(table: TableDef): string {
  return table.columns.map((c) => quote(c.name)).join(', ');
}
