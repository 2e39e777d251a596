import { ErrorCode, FfcdbError } from '../../kernel/errors.js';
import { importPeer } from '../peer.js';
import { PostgresDriver } from './driver.js';
import { pgFailure } from './errors.js';
import type { PgPool, PgPoolClient, PgQuery, PgResult } from './pool.js';

/**
 * The one module that loads `pg` (an optional peer dependency), and only when
 * a pool is first used: an app that never talks to PostgreSQL needs no pg.
 */

export interface PgPoolOptions {
  /** Connections at most (default 10). */
  max?: number;
  /** Give up connecting after this long (default: pg's, no limit). */
  connectTimeoutMs?: number;
  /** Read bigint as a number and json as its text, as SqlDriver rows hold them (positions stay below 2^53). */
  sqlValues?: boolean;
}

interface PgModule {
  default: {
    Pool: new (config: object) => PgPool;
    types: { getTypeParser(oid: number, format?: string): (value: string) => unknown };
  };
}

const INT8 = 20;
const JSON_OID = 114;

/**
 * A pg pool on `connectionString`, made on first use. Its `options` name the
 * server at once (for messages); a missing pg fails the first query or
 * connect with NOT_FOUND naming the package.
 */
export function createPgPool(connectionString: string, options: PgPoolOptions = {}): PgPool {
  return new LazyPgPool(connectionString, options);
}

class LazyPgPool implements PgPool {
  readonly options: { connectionString: string };
  readonly #settings: PgPoolOptions;
  #pool: Promise<PgPool> | undefined;
  /** 'error' listeners added before the pool exists. */
  readonly #onError: ((err: Error) => void)[] = [];

  constructor(connectionString: string, settings: PgPoolOptions) {
    this.options = { connectionString };
    this.#settings = settings;
  }

  query<R = Record<string, unknown>>(text: string, values?: unknown[]): Promise<PgResult<R>>;
  query<R = Record<string, unknown>>(query: PgQuery): Promise<PgResult<R>>;
  async query<R>(query: string | PgQuery, values?: unknown[]): Promise<PgResult<R>> {
    const pool = await this.#made();
    return typeof query === 'string' ? pool.query<R>(query, values) : pool.query<R>(query);
  }

  async connect(): Promise<PgPoolClient> {
    return (await this.#made()).connect();
  }

  async end(): Promise<void> {
    // A pool never used has nothing to end (and pg need not be loaded for it).
    const pool = await this.#pool?.catch(() => undefined);
    await pool?.end();
  }

  on(event: 'error', listener: (err: Error) => void): this {
    if (this.#pool) void this.#pool.then((pool) => pool.on(event, listener), () => undefined);
    else this.#onError.push(listener);
    return this;
  }

  #made(): Promise<PgPool> {
    this.#pool ??= importPeer<PgModule>('pg', 'PostgreSQL').then(({ default: pg }) => {
      const { max, connectTimeoutMs, sqlValues } = this.#settings;
      const pool = new pg.Pool({
        connectionString: this.options.connectionString,
        max: max ?? 10,
        ...(connectTimeoutMs === undefined ? {} : { connectionTimeoutMillis: connectTimeoutMs }),
        ...(sqlValues ? { types: { getTypeParser: (oid: number, format?: string) => (oid === INT8 ? Number : oid === JSON_OID ? (v: string) => v : pg.types.getTypeParser(oid, format)) } } : {}),
      });
      for (const listener of this.#onError) pool.on('error', listener);
      return pool;
    });
    return this.#pool;
  }
}

/** The connection string without its password, for messages. */
function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return 'postgres://(unparsable connection string)';
  }
}

export interface PostgresConnectOptions {
  /** The schema holding the tables (default `ffcdb`). */
  schema?: string;
  connectTimeoutMs?: number;
}

/** The migration's driver: one connection of a pool of its own, ended when the driver closes. */
export async function connectPostgres(url: string, options: PostgresConnectOptions = {}): Promise<PostgresDriver> {
  const description = redactUrl(url);
  if (description.startsWith('postgres://(')) throw new FfcdbError(ErrorCode.INVALID_ARGUMENT, 'the PostgreSQL connection string is not a URL', { field: 'to' });
  const pool = createPgPool(url, { max: 1, connectTimeoutMs: options.connectTimeoutMs ?? 10_000, sqlValues: true });
  // A connection that drops emits 'error'; unheard, that would end the process. The next query reports it.
  pool.on('error', () => undefined);
  let client: PgPoolClient;
  try {
    client = await pool.connect();
  } catch (err) {
    await pool.end().catch(() => undefined);
    throw pgFailure(err, description, undefined, 'to');
  }
  client.on('error', () => undefined);
  const release = async () => {
    client.release();
    await pool.end();
  };
  try {
    return new PostgresDriver(client, { schema: options.schema, description, release });
  } catch (err) {
    await release();
    throw err;
  }
}
