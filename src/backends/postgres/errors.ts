import { ErrorCode, FfcdbError } from '../../errors.js';
import type { PgPool } from './driver.js';

/** Socket-level failures: the server could not be reached at all. */
const UNREACHABLE: Readonly<Record<string, string>> = {
  ECONNREFUSED: 'connection refused',
  ENOTFOUND: 'host not found',
  EAI_AGAIN: 'host name lookup failed',
  ETIMEDOUT: 'connection timed out',
  EHOSTUNREACH: 'host unreachable',
  ENETUNREACH: 'network unreachable',
  ECONNRESET: 'connection reset',
};

/** `host:port/database` of the pool's server, for messages (never the password). */
export function serverName(pool: PgPool): string {
  const o = pool.options ?? {};
  if (o.connectionString) {
    try {
      const url = new URL(o.connectionString);
      return `${url.hostname || 'localhost'}:${url.port || 5432}${url.pathname.length > 1 ? url.pathname : ''}`;
    } catch {
      return 'the PostgreSQL server named by the connection string';
    }
  }
  return `${o.host ?? process.env.PGHOST ?? 'localhost'}:${o.port ?? process.env.PGPORT ?? 5432}${o.database ? `/${o.database}` : ''}`;
}

/**
 * Wraps whatever the driver threw as an FfcdbError IO naming the server, so no
 * raw pg error reaches a caller. Our own FfcdbErrors pass through.
 */
export function pgFailure(err: unknown, server: string, doing: string): FfcdbError {
  if (err instanceof FfcdbError) return err;
  const code = typeof (err as { code?: unknown })?.code === 'string' ? ((err as { code: string }).code) : undefined;
  // An AggregateError (every address of `localhost` refused) has an empty message.
  const text = (err as Error | undefined)?.message || (code && UNREACHABLE[code]) || String(err);
  let message: string;
  if (code && UNREACHABLE[code]) message = `cannot reach PostgreSQL at ${server} while ${doing}: ${UNREACHABLE[code]} (${code})`;
  else if (code?.startsWith('28')) message = `PostgreSQL at ${server} refused the login while ${doing}: ${text} (${code})`;
  else message = `PostgreSQL at ${server} failed while ${doing}: ${text}${code ? ` (${code})` : ''}`;
  return new FfcdbError(ErrorCode.IO, message, { server, code }, { cause: err });
}
