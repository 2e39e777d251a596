/**
 * What ffcdb uses of node-postgres, as structural types: `pg.Pool` and the
 * clients it hands out fit them, so the backend and the migration's driver
 * never import `pg` (an optional peer dependency; connect.ts loads it).
 */
export interface PgResult<R> {
  rows: R[];
  /** Rows a statement changed (INSERT, UPDATE, DELETE); null for others. */
  rowCount?: number | null;
}

/** With a name, the statement is prepared once per connection and reused. */
export interface PgQuery {
  name?: string;
  text: string;
  values?: unknown[];
}

interface PgQueryable {
  query<R = Record<string, unknown>>(text: string, values?: unknown[]): Promise<PgResult<R>>;
  query<R = Record<string, unknown>>(query: PgQuery): Promise<PgResult<R>>;
}

/** pg's connection object, as a COPY FROM STDIN drives it. */
export interface PgCopyConnection {
  query(text: string): void;
  sendCopyFromChunk(chunk: Buffer): void;
  endCopyFrom(): void;
}

/** pg's Submittable protocol (what pg-copy-streams uses): the object drives the connection itself. */
export interface PgSubmittable {
  submit(connection: PgCopyConnection): void;
}

export interface PgNotification {
  channel: string;
  payload?: string | undefined;
}

/** A connection checked out of the pool: a transaction, a COPY or a LISTEN needs one of its own. */
export interface PgPoolClient extends PgQueryable {
  query<S extends PgSubmittable>(submittable: S): S;
  query<R = Record<string, unknown>>(text: string, values?: unknown[]): Promise<PgResult<R>>;
  query<R = Record<string, unknown>>(query: PgQuery): Promise<PgResult<R>>;
  /** With an error (or true) the pool destroys the connection instead of reusing it. */
  release(err?: Error | boolean): void;
  on(event: 'notification', listener: (message: PgNotification) => void): unknown;
  on(event: 'error', listener: (err: Error) => void): unknown;
  on(event: 'end', listener: () => void): unknown;
  removeListener(event: 'error', listener: (err: Error) => void): unknown;
  removeAllListeners(event?: string): unknown;
}

export interface PgPool extends PgQueryable {
  connect(): Promise<PgPoolClient>;
  end(): Promise<void>;
  on(event: 'error', listener: (err: Error) => void): unknown;
  /** node-postgres keeps the connection settings here; used only to name the server in errors. */
  readonly options?: { host?: string | undefined; port?: number | undefined; database?: string | undefined; connectionString?: string | undefined };
}
