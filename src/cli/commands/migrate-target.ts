import { type EventStore, openStore } from '../../index.js';
import { type SqlDriver, connectTarget } from '../../migration/index.js';
import { UsageError } from '../command.js';
import { storeDir } from './store-dir.js';

/** The options every `migrate` command takes to name its database. */
export const TARGET_OPTIONS = {
  to: { type: 'string' },
  prefix: { type: 'string' },
  schema: { type: 'string' },
} as const;

export const TARGET_USAGE = '--to sqlite:FILE|postgres://USER:PASSWORD@HOST:PORT/DB [--prefix ffcdb_] [--schema ffcdb]';

type Values = Record<string, string | boolean | (string | boolean)[] | undefined>;

/**
 * Connects to --to (with --prefix for SQLite, --schema for PostgreSQL), runs
 * fn and closes the connection. `mustExist`: a missing SQLite file is
 * NOT_FOUND, not created (verify and rollback only look at what is there).
 */
export async function withTarget<T>(values: Values, fn: (driver: SqlDriver) => Promise<T>, options: { mustExist?: boolean } = {}): Promise<T> {
  if (typeof values.to !== 'string' || values.to === '') throw new UsageError('--to is required');
  const driver = await connectTarget(values.to, {
    ...(typeof values.prefix === 'string' ? { prefix: values.prefix } : {}),
    ...(typeof values.schema === 'string' ? { schema: values.schema } : {}),
    ...(options.mustExist ? { mustExist: true } : {}),
  });
  try {
    return await fn(driver);
  } finally {
    await driver.close();
  }
}

/**
 * Opens the event log in --dir, which must hold a store (the engine alone: a migration reads the feed, not the projections), runs fn and closes it.
 * Read-only: a migration writes to its database, never to the store, and follows other processes' commits.
 */
export async function withLog<T>(dir: unknown, fn: (store: EventStore) => Promise<T>): Promise<T> {
  const store = await openStore({ dir: storeDir(dir), readOnly: true });
  try {
    return await fn(store);
  } finally {
    await store.close();
  }
}

/** Refuses words after the command: `migrate verfy` must not migrate. */
export function noPositionals(positionals: string[]): void {
  if (positionals.length > 0) throw new UsageError(`unexpected ${JSON.stringify(positionals.join(' '))}`);
}
