import { ErrorCode, FfcdbError } from '../kernel/errors.js';
import type { SqlDriver } from './driver.js';

export interface ConnectOptions {
  /** SQLite: the table name prefix (default `ffcdb_`). */
  prefix?: string;
  /** PostgreSQL: the schema (default `ffcdb`). */
  schema?: string;
  /** SQLite: refuse a missing file (NOT_FOUND) rather than create an empty one (verify and rollback only look at what is there). */
  mustExist?: boolean;
}

/**
 * A driver for a target: `sqlite:FILE` or `postgres://user:password@host:port/db`
 * (`postgresql://` too). The dialect's connect module, and its native
 * package, load only when asked for. SQLite runs on a worker thread, so its
 * (synchronous) work overlaps the migration's own.
 */
export async function connectTarget(target: string, options: ConnectOptions = {}): Promise<SqlDriver> {
  if (typeof target !== 'string' || target === '') throw new FfcdbError(ErrorCode.INVALID_ARGUMENT, 'the target must be sqlite:FILE or postgres://...', { field: 'to' });
  if (target.startsWith('sqlite:')) {
    const file = target.slice('sqlite:'.length).replace(/^\/\/(?=\/)/, '');
    if (file === '') throw new FfcdbError(ErrorCode.INVALID_ARGUMENT, 'sqlite: needs a file, as in sqlite:./chat.db', { field: 'to' });
    const { ThreadedSqliteDriver } = await import('./sqlite/threaded.js');
    return ThreadedSqliteDriver.open(file, { ...(options.prefix === undefined ? {} : { prefix: options.prefix }), ...(options.mustExist ? { mustExist: true } : {}) });
  }
  if (/^postgres(ql)?:\/\//.test(target)) {
    const { connectPostgres } = await import('./postgres/connect.js');
    return connectPostgres(target, options.schema === undefined ? {} : { schema: options.schema });
  }
  throw new FfcdbError(ErrorCode.INVALID_ARGUMENT, `the target must be sqlite:FILE or postgres://...; got ${JSON.stringify(target.slice(0, 40))}`, { field: 'to' });
}
