import { ErrorCode, FfcdbError } from '../kernel/errors.js';
import { dropTableDdl } from '../sql/ddl.js';
import type { SqlDriver } from '../sql/driver.js';
import { readMarker } from './install.js';
import { TABLES } from './schema.js';

export interface RollbackResult {
  /** The tables dropped, children first. */
  dropped: string[];
  /** The PostgreSQL schema or SQLite file the migration had created was removed too (when nothing else was in it). */
  namespace: boolean;
}

/**
 * Removes everything the migration created, and nothing else: only the tables
 * its schema lists, only when its marker says it created them, in one
 * transaction (a table someone else's object depends on makes it fail whole);
 * then the namespace, if the migration created it and it is empty.
 */
export async function rollbackMigration(driver: SqlDriver): Promise<RollbackResult> {
  const marker = await readMarker(driver, { forRollback: true });
  if (!marker) throw new FfcdbError(ErrorCode.NOT_FOUND, `${driver.description} holds no migration to roll back`, { field: 'to' });
  const present = new Set(await driver.listTables());
  const dropped = [...TABLES].reverse().filter((t) => present.has(t.name));
  await driver.transaction(async () => {
    for (const table of dropped) await driver.exec(dropTableDdl(driver.dialect, table));
  });
  const namespace = marker.createdNamespace && (await driver.dropNamespace());
  return { dropped: dropped.map((t) => t.name), namespace };
}
