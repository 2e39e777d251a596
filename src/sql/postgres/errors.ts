import { ErrorCode, FfcdbError } from '../../kernel/errors.js';
import type { PgPool } from './pool.js';

/** Socket-level failures: the server could not be reached at all. */
const UNREACHABLE: Readonly<Record<string, string>> = {
  ECONNREFUSED: 'connection refused',
  ENOTFOUND: 'host not found',
  EAI_AGAIN: 'host name lookup failed',
  ETIMEDOUT: 'connection timed out',
  EHOSTUNREACH: 'host unreachable',
  ENETUNREACH: 'network unreachable',
  ECONNRESET: 'connection reset',
  EPIPE: 'connection closed',
};

/**
 * What a SQLSTATE means to the caller, by code and then by class (its first
 * two characters). Anything else, or an error without a SQLSTATE (a dropped
 * connection, a timeout), is IO: the server failed us, not the request.
 */
const BY_CODE: Readonly<Record<string, ErrorCode>> = {
  '28000': ErrorCode.INVALID_ARGUMENT, // invalid_authorization_specification: no such role, or pg_hba refuses it
  '28P01': ErrorCode.INVALID_ARGUMENT, // invalid_password
  '42501': ErrorCode.INVALID_ARGUMENT, // insufficient_privilege: the role given cannot do this
  '3D000': ErrorCode.NOT_FOUND, // invalid_catalog_name: the database does not exist
  '2BP01': ErrorCode.CONFLICT, // dependent_objects_still_exist: someone else's objects need it
  '55P03': ErrorCode.CONFLICT, // lock_not_available
};
const BY_CLASS: Readonly<Record<string, ErrorCode>> = {
  '28': ErrorCode.INVALID_ARGUMENT, // invalid authorization
  '40': ErrorCode.CONFLICT, // transaction rollback: serialization failure, deadlock
  '22': ErrorCode.FAILED, // data exception
  '23': ErrorCode.FAILED, // integrity constraint violation
  '42': ErrorCode.FAILED, // syntax error or access rule violation
};

/** The FfcdbError code for a driver error's SQLSTATE (or socket error code). */
export function errorCodeOf(sqlstate: string | undefined): ErrorCode {
  if (!sqlstate || UNREACHABLE[sqlstate]) return ErrorCode.IO;
  return BY_CODE[sqlstate] ?? BY_CLASS[sqlstate.slice(0, 2)] ?? ErrorCode.IO;
}

/** Why an error's SQLSTATE may need the caller's hand, said after the server's own message. */
const HINTS: Readonly<Record<string, string>> = {
  '42501': 'the role lacks a privilege this needs',
  '2BP01': 'objects ffcdb did not create depend on its tables; remove them first',
};

/**
 * Wraps whatever pg threw as an FfcdbError naming the server (never a
 * password) and what was being done, its code from the table above, so no
 * raw pg error reaches a caller. `field` is the caller's option that named the
 * server, given as details.field when the error is about it (credentials,
 * database, privileges). FfcdbErrors (ours, or a missing pg) pass through.
 */
export function pgFailure(err: unknown, server: string, doing?: string, field?: string): FfcdbError {
  if (err instanceof FfcdbError) return err;
  const raw = (err as { code?: unknown } | undefined)?.code;
  const sqlstate = typeof raw === 'string' && raw !== '' ? raw : undefined;
  // An AggregateError (every address of `localhost` refused) has an empty message.
  const text = (err as Error | undefined)?.message || (sqlstate && UNREACHABLE[sqlstate]) || String(err);
  const during = doing ? ` while ${doing}` : '';
  const code = errorCodeOf(sqlstate);
  const tag = sqlstate ? ` (${sqlstate}${HINTS[sqlstate] ? `: ${HINTS[sqlstate]}` : ''})` : '';
  let message: string;
  if (sqlstate && UNREACHABLE[sqlstate]) message = `cannot reach PostgreSQL at ${server}${during}: ${UNREACHABLE[sqlstate]}${tag}`;
  else if (!sqlstate && /timeout|terminated/i.test(text)) message = `cannot reach PostgreSQL at ${server}${during}: ${text}`;
  else if (sqlstate?.startsWith('28')) message = `PostgreSQL at ${server} refused the login${during}: ${text}${tag}`;
  else message = `PostgreSQL at ${server} failed${during}: ${text}${tag}`;
  const aboutTheServer = field !== undefined && (code === ErrorCode.INVALID_ARGUMENT || code === ErrorCode.NOT_FOUND);
  return new FfcdbError(code, message, { server, code: sqlstate, ...(aboutTheServer ? { field } : {}) }, { cause: err });
}

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
