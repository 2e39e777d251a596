/**
 * Migration rate into PostgreSQL (pg): a store of 1,000,000 chat events
 * (quick: 20,000) replayed into the relational schema, against the same rows
 * written by PostgreSQL's own bulk path fed from memory (COPY FROM STDIN, one
 * transaction per 10,000 rows: the floor) and by a plain loop of single-row
 * INSERTs in autocommit. See bench/lib/migration-bench.ts. Needs a server:
 * FFCDB_TEST_POSTGRES, else the local one at postgres://ffcdb:ffcdb@127.0.0.1:5432/ffcdb_test.
 * Goals (issue 4): ≥ 30,000 events/s, within 2× of the floor.
 */
import { connectPostgres } from '../../src/sql/postgres/connect.js';
import type { SqlDriver, SqlRow, TableDef } from '../../src/sql/driver.js';
import { runMigrationBench } from '../lib/migration-bench.js';
import { defineScenario } from '../lib/scenario.js';

const URL = process.env.FFCDB_TEST_POSTGRES || 'postgres://ffcdb:ffcdb@127.0.0.1:5432/ffcdb_test';
const PAGE = 10_000;

export default defineScenario({
  title: 'migration to PostgreSQL: events/s replaying 1,000,000 chat events into the relational schema',
  async run(ctx) {
    const schema = (label: string) => `ffcdb_bench_migrate_${process.pid}_${label}`;
    await runMigrationBench(ctx, {
      name: 'PostgreSQL',
      goal: 30_000,
      open: (label) => connectPostgres(URL, { schema: schema(label) }),
      async *readInOrder(driver: SqlDriver, table: TableDef): AsyncGenerator<SqlRow[]> {
        // A cursor over the heap: rows come in the order they were written (a changed row where its last version was).
        await driver.exec('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
        try {
          await driver.exec(`DECLARE rows_in_order NO SCROLL CURSOR FOR SELECT * FROM ${driver.dialect.table(table.name)}`);
          for (;;) {
            const rows = await driver.query(`FETCH ${PAGE} FROM rows_in_order`);
            if (rows.length === 0) return;
            yield rows;
          }
        } finally {
          await driver.exec('COMMIT');
        }
      },
      async drop(label) {
        const driver = await connectPostgres(URL, { schema: schema(label) });
        try {
          await driver.exec(`DROP SCHEMA IF EXISTS "${schema(label)}" CASCADE`);
        } finally {
          await driver.close();
        }
      },
    });
  },
});
