import { ErrorCode, FfcdbError } from '../../errors.js';
import { importPeer } from '../peer.js';
import { type PgClient, PostgresDriver, postgresError } from './driver.js';

export interface PostgresConnectOptions {
  /** The schema holding the tables (default `ffcdb`). */
  schema?: string;
  connectTimeoutMs?: number;
}

interface PgModule {
  default: {
    Client: new (config: object) => PgClient & { connect(): Promise<void>; end(): Promise<void>; on(event: 'error', fn: (err: Error) => void): void };
    types: { getTypeParser(oid: number, format?: string): (value: string) => unknown };
  };
}

const INT8 = 20;
const JSON_OID = 114;

/** The connection string without its password, for messages. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return 'postgres://(unparsable connection string)';
  }
}

/** Connects through pg, the one place that loads the package. */
export async function connectPostgres(url: string, options: PostgresConnectOptions = {}): Promise<PostgresDriver> {
  const pg = (await importPeer<PgModule>('pg', 'PostgreSQL')).default;
  const description = redactUrl(url);
  if (description.startsWith('postgres://(')) throw new FfcdbError(ErrorCode.INVALID_ARGUMENT, 'the PostgreSQL connection string is not a URL', { field: 'to' });
  const client = new pg.Client({
    connectionString: url,
    connectionTimeoutMillis: options.connectTimeoutMs ?? 10_000,
    // Positions stay below 2^53, so bigint reads as a number; JSON is compared and re-parsed by the migration as text.
    types: { getTypeParser: (oid: number, format?: string) => (oid === INT8 ? Number : oid === JSON_OID ? (v: string) => v : pg.types.getTypeParser(oid, format)) },
  });
  // An idle connection that drops emits 'error'; unheard, that would end the process. The next query reports it.
  client.on('error', () => undefined);
  try {
    await client.connect();
  } catch (err) {
    await client.end().catch(() => undefined);
    throw postgresError(err, description);
  }
  try {
    return new PostgresDriver(client, { ...options, description, release: () => client.end() });
  } catch (err) {
    await client.end();
    throw err;
  }
}
