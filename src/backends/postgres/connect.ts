/**
 * The one module that imports `pg` (an optional peer dependency): builds a
 * PostgresBackend from a connection string, or from a pool the caller made.
 */
import pg from 'pg';
import type { PgPool } from './driver.js';
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
  const pool = new pg.Pool({ connectionString: options.connectionString, max: options.poolSize ?? 10 });
  return new PostgresBackend({ ...common, pool, endPoolOnClose: true });
}
