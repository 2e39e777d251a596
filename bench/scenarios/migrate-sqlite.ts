/**
 * Migration rate into SQLite (better-sqlite3): a store of 1,000,000 chat
 * events (quick: 20,000) replayed into the relational schema, against the
 * same rows written by SQLite's own bulk path fed from memory (prepared
 * statements, one transaction per 10,000 rows: the floor) and by a plain loop
 * of single-row INSERTs in autocommit. See bench/lib/migration-bench.ts.
 * Goals (issue 4): ≥ 50,000 events/s, within 2× of the floor.
 */
import fs from 'node:fs';
import { join } from 'node:path';
import { connectSqlite } from '../../src/sql/sqlite/connect.js';
import { ThreadedSqliteDriver } from '../../src/sql/sqlite/threaded.js';
import type { SqlDriver, SqlRow, TableDef } from '../../src/sql/driver.js';
import { runMigrationBench } from '../lib/migration-bench.js';
import { defineScenario } from '../lib/scenario.js';

const PAGE = 10_000;

export default defineScenario({
  title: 'migration to SQLite: events/s replaying 1,000,000 chat events into the relational schema',
  async run(ctx) {
    const file = (label: string) => join(ctx.dir, `${label}.db`);
    await runMigrationBench(ctx, {
      name: 'SQLite',
      goal: 50_000,
      // Ours as `ffcdb migrate --to sqlite:` runs it (a worker thread); the floor and the loop on the main thread, with nothing between them and SQLite.
      open: (label) => (label === 'ours' ? ThreadedSqliteDriver.open(file(label)) : connectSqlite(file(label))),
      async *readInOrder(driver: SqlDriver, table: TableDef): AsyncGenerator<SqlRow[]> {
        // rowid order is the order rows were inserted in.
        let after = 0;
        for (;;) {
          const rows = await driver.query(`SELECT rowid AS "_rowid", * FROM ${driver.dialect.table(table.name)} WHERE rowid > ? ORDER BY rowid LIMIT ${PAGE}`, [after]);
          if (rows.length === 0) return;
          after = Number(rows.at(-1)!._rowid);
          yield rows;
        }
      },
      async drop(label) {
        for (const suffix of ['', '-wal', '-shm']) fs.rmSync(file(label) + suffix, { force: true });
      },
    });
  },
});
