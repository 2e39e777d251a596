/**
 * `flatfile-chat-db/postgres`: the event log in PostgreSQL. `pg` is an optional
 * peer dependency the app installs; it is loaded when a pool is first used.
 */
export { PostgresBackend } from './postgres-backend.js';
export type { PostgresBackendOptions, PostgresDurability } from './postgres-backend.js';
export { postgresBackend } from './connect.js';
export type { PostgresOptions } from './connect.js';
