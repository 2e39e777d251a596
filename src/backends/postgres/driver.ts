/**
 * What the backend uses of a PostgreSQL driver, as structural types: node-postgres's
 * `pg.Pool` fits them, so this module (and the backend) never imports `pg`.
 */
export interface PgResult<R> {
  rows: R[];
}

/** With a name, the statement is prepared once per connection and reused. */
export interface PgQuery {
  name?: string;
  text: string;
  values?: unknown[];
}

export interface PgQueryable {
  query<R = Record<string, unknown>>(text: string, values?: unknown[]): Promise<PgResult<R>>;
  query<R = Record<string, unknown>>(query: PgQuery): Promise<PgResult<R>>;
}

export interface PgNotification {
  channel: string;
  payload?: string | undefined;
}

/** A connection checked out of the pool: LISTEN needs one of its own. */
export interface PgPoolClient extends PgQueryable {
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
