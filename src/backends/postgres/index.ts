/**
 * `flatfile-chat-db/postgres`: the event log in PostgreSQL. Importing this
 * entry loads `pg`, an optional peer dependency the app installs.
 */
export { PostgresBackend } from './postgres-backend.js';
export type { PostgresBackendOptions, PostgresDurability } from './postgres-backend.js';
export { postgresBackend } from './connect.js';
export type { PostgresOptions } from './connect.js';
