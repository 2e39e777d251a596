import { ErrorCode, FfcdbError } from '../kernel/errors.js';
import { createIndexDdl, createTableDdl } from '../sql/ddl.js';
import type { SqlDialect, SqlDriver } from '../sql/driver.js';
import { decodeValue } from '../sql/values.js';
import { FORMAT, FORMAT_VERSION, MIGRATION, TABLES } from './schema.js';

/** The migration table's row: the marker and the checkpoint. */
export interface Marker {
  formatVersion: number;
  /** Every event at or below it is migrated. */
  position: number;
  /** The last event migrated: a log that no longer holds it is not the log these rows came from. */
  eventPosition: number;
  eventId: string | null;
  sweepPending: boolean;
  createdNamespace: boolean;
  /** The deferred indexes exist (built at the end of the first catch-up). */
  indexesBuilt: boolean;
}

/**
 * The migration's marker in the target, or undefined when none of its tables
 * exist. Tables with the migration's names but no marker are someone else's:
 * CONFLICT, and nothing is touched. A marker of another format version is
 * UNSUPPORTED_FORMAT.
 */
export async function readMarker(driver: SqlDriver, options: { forRollback?: boolean } = {}): Promise<Marker | undefined> {
  const present = new Set(await driver.listTables());
  const ours = TABLES.filter((t) => present.has(t.name)).map((t) => t.name);
  if (ours.length === 0) return undefined;
  let row: Record<string, unknown> | undefined;
  if (present.has(MIGRATION.name)) {
    // A table of that name with other columns is not ours either.
    row = (await driver.query(`SELECT * FROM ${driver.dialect.table(MIGRATION.name)}`).catch(() => []))[0];
  }
  if (row?.format !== FORMAT || Number(row.id) !== 1) {
    throw new FfcdbError(
      ErrorCode.CONFLICT,
      `${driver.description} already holds tables named as the migration's (${ours.join(', ')}) that the migration did not create; choose another ${driver.dialect.name === 'sqlite' ? 'prefix' : 'schema'} or database`,
      { field: 'to', tables: ours },
    );
  }
  const formatVersion = Number(row.format_version);
  // Rollback removes what any version created: its tables are all named in TABLES.
  if (options.forRollback) return marker(row, formatVersion);
  if (formatVersion !== FORMAT_VERSION) {
    throw new FfcdbError(
      ErrorCode.UNSUPPORTED_FORMAT,
      `${driver.description} holds a migration of format ${formatVersion}; this code writes format ${FORMAT_VERSION}: roll it back and migrate again`,
      { field: 'to', formatVersion, current: FORMAT_VERSION },
    );
  }
  const missing = TABLES.filter((t) => !present.has(t.name)).map((t) => t.name);
  if (missing.length > 0) {
    throw new FfcdbError(ErrorCode.CORRUPT, `${driver.description} lacks tables of its migration: ${missing.join(', ')}; roll it back and migrate again`, { field: 'to', missing });
  }
  return marker(row, formatVersion);
}

function marker(row: Record<string, unknown>, formatVersion: number): Marker {
  return {
    formatVersion,
    position: Number(row.position),
    eventPosition: Number(row.event_position),
    eventId: row.event_id === null || row.event_id === undefined ? null : String(row.event_id),
    sweepPending: decodeValue('boolean', row.sweep_pending) === true,
    createdNamespace: decodeValue('boolean', row.created_namespace) === true,
    indexesBuilt: decodeValue('boolean', row.indexes_built) === true,
  };
}

/**
 * Creates the namespace (if missing), every table and the marker, in one
 * transaction: a failure leaves nothing. The deferred indexes come later
 * (buildIndexes), once the first catch-up has loaded the bulk of the rows.
 */
export async function install(driver: SqlDriver): Promise<Marker> {
  let created = false;
  try {
    await driver.transaction(async () => {
      created = await driver.ensureNamespace();
      for (const table of TABLES) for (const statement of createTableDdl(driver.dialect, table)) await driver.exec(statement);
      const now = Date.now();
      await driver.insert(MIGRATION, [[1, FORMAT, FORMAT_VERSION, 0, 0, null, false, created, false, now, now]]);
    });
  } catch (err) {
    // A SQLite file the connection created goes again (PostgreSQL rolled its schema back).
    if (created) await driver.dropNamespace().catch(() => undefined);
    throw err;
  }
  return { formatVersion: FORMAT_VERSION, position: 0, eventPosition: 0, eventId: null, sweepPending: false, createdNamespace: created, indexesBuilt: false };
}

/** Every statement of the schema in a dialect, deferred indexes included: the DDL the migration runs, for reading or for creating the tables by hand. */
export function schemaDdl(dialect: SqlDialect): string[] {
  return TABLES.flatMap((table) => createTableDdl(dialect, table, { deferredIndexes: true }));
}

/** Builds the deferred indexes and records it, in one transaction. */
export async function buildIndexes(driver: SqlDriver): Promise<void> {
  await driver.transaction(async () => {
    for (const table of TABLES) for (const statement of createIndexDdl(driver.dialect, table, (ix) => ix.deferred === true)) await driver.exec(statement);
    await driver.run(`UPDATE ${driver.dialect.table(MIGRATION.name)} SET indexes_built = ${driver.dialect.param(1)} WHERE id = 1`, [true]);
  });
}
