/**
 * `postgresBackend()`: a PostgresBackend from a connection string, or from a
 * pool the caller made. It never imports `pg`: the pool it makes loads pg
 * (an optional peer dependency) when the backend opens.
 */
import { createPgPool } from '../../sql/postgres/connect.js';
import type { PgPool } from '../../sql/postgres/pool.js';
import { PostgresBackend, type PostgresDurability } from './postgres-backend.js';

export type PostgresOptions = ({ connectionString: string; pool?: never; poolSize?: number } | { pool: PgPool; connectionString?: never }) & {
  schema?: string;
  durability?: PostgresDurability;
};

/**
 * `postgresBackend({ connectionString: 'postgres://user:pw@host/db' })` makes a
 * pool of `poolSize` connections (default 10) that the backend ends on close;
 * a pool given is the caller's to end.
 */
export function postgresBackend(options: PostgresOptions): PostgresBackend {
  const common = { schema: options.schema, durability: options.durability };
  if (options.pool) return new PostgresBackend({ ...common, pool: options.pool });
  const pool = createPgPool(options.connectionString, { max: options.poolSize ?? 10 });
  return new PostgresBackend({ ...common, pool, endPoolOnClose: true });
}
