/** `flatfile-chat-db/migration`: replaying the log into SQL (SQLite or PostgreSQL), verifying and rolling back. */
export { Migration, migrate } from './migrate.js';
export type { MigrationOptions, MigrationProgress, MigrationResult } from './migrate.js';
export { verifyMigration } from './verify.js';
export type { Difference, TableFigures, VerifyOptions, VerifyReport } from './verify.js';
export { rollbackMigration } from './rollback.js';
export type { RollbackResult } from './rollback.js';
export { tableChecksums } from './checksum.js';
export type { TableChecksum } from './checksum.js';
export { schemaDdl } from './install.js';
export { FORMAT_VERSION as SQL_FORMAT_VERSION, TABLES as SQL_TABLES } from './schema.js';
export { connectTarget } from '../sql/connect.js';
export type { ConnectOptions } from '../sql/connect.js';
export type { ColumnDef, ColumnType, IndexDef, SqlDialect, SqlDriver, SqlRow, SqlValue, TableDef } from '../sql/driver.js';
export { SqliteDriver, sqliteDialect } from '../sql/sqlite/driver.js';
export type { SqliteDatabase, SqliteDriverOptions } from '../sql/sqlite/driver.js';
export { ThreadedSqliteDriver } from '../sql/sqlite/threaded.js';
export { PostgresDriver, postgresDialect } from '../sql/postgres/driver.js';
export type { PostgresDriverOptions } from '../sql/postgres/driver.js';
