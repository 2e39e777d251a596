/**
 * The migrate-* scenarios' measurement, the same for each database:
 *
 * 1. ours: `migrate()` of the corpus store into a fresh target, timed end to
 *    end (reading and decoding the log, folding events into rows, writing the
 *    batches with their checkpoints, building the deferred indexes);
 * 2. the floor: the same rows, read back from (1) in the order they were
 *    written, 10,000 at a time (untimed), and written into a fresh target
 *    through the database's own bulk path (the driver's insert: prepared
 *    statements in SQLite, COPY in PostgreSQL), one transaction per 10,000 rows
 *    (a batch of (1) writes about as many), then the same indexes built: only
 *    the writing is timed;
 * 3. a plain loop of single-row INSERT statements, each its own transaction
 *    (autocommit), as a straightforward copy script would do, over a sample
 *    of every table (into tables without foreign keys, as the sample leaves
 *    parents out), time-boxed.
 *
 * (2) and (3) count rows; they are given in events/s through the ratio of
 * rows to events of (1). The floor writes each row once, in its final state:
 * (1) also writes the intermediate states of rows that change (a session's
 * row at each batch that touches it), which is part of its cost.
 */
import { buildIndexes, install } from '../../src/migration/install.js';
import { createTableDdl } from '../../src/sql/ddl.js';
import { migrate } from '../../src/migration/migrate.js';
import { CONTENT_TABLES } from '../../src/migration/schema.js';
import { type SqlDriver, type SqlRow, type SqlValue, type TableDef, columnList } from '../../src/sql/driver.js';
import { decodeRow } from '../../src/sql/values.js';
import { openFfcdb } from './ffcdb.js';
import { migrationCorpus } from './migration-corpus.js';
import type { ScenarioContext } from './scenario.js';

export interface MigrationBenchTarget {
  /** The database's name in the report ("SQLite", "PostgreSQL"). */
  name: string;
  /** A fresh, empty target; `label` tells targets of one run apart. */
  open(label: string): Promise<SqlDriver>;
  /** Rows of a table in the order they were written, in pages. */
  readInOrder(driver: SqlDriver, table: TableDef): AsyncGenerator<SqlRow[]>;
  /** Removes what open() made. */
  drop(label: string): Promise<void>;
  /** The goal of issue 4, events/s. */
  goal: number;
}

const NAIVE_MS = 10_000;
const NAIVE_SAMPLE = 0.01;

export async function runMigrationBench(ctx: ScenarioContext, target: MigrationBenchTarget): Promise<void> {
  const corpus = await migrationCorpus(ctx);
  const store = await openFfcdb(corpus.storeDir, 'none');
  const secs = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
  try {
    // 1. ours
    const ours = await target.open('ours');
    let oursMs = 0;
    let batches = 0;
    try {
      // One untimed pass over the log warms the page cache as the floor's reads warm theirs.
      for await (const e of store.streamAll()) void e;
      const t0 = performance.now();
      const result = await migrate({ store, target: ours });
      oursMs = performance.now() - t0;
      batches = result.batches;
      if (result.events !== corpus.events) throw new Error(`migrated ${result.events} events, expected ${corpus.events}`);
      ctx.log(`migrated ${result.events.toLocaleString('en-US')} events in ${result.batches} batches in ${secs(oursMs)}`);

      // 2. the floor, fed from (1)'s rows
      const floor = await target.open('floor');
      let rows = 0;
      let floorMs = 0;
      const naiveSample = new Map<TableDef, SqlValue[][]>();
      try {
        await install(floor);
        for (const table of CONTENT_TABLES) {
          const sample: SqlValue[][] = [];
          naiveSample.set(table, sample);
          let tableRows = 0;
          for await (const page of target.readInOrder(ours, table)) {
            const values = page.map((r) => decodeRow(table, r));
            tableRows += values.length;
            rows += values.length;
            if (sample.length < Math.ceil(tableRows * NAIVE_SAMPLE)) sample.push(...values.slice(0, Math.ceil(tableRows * NAIVE_SAMPLE) - sample.length));
            const t0 = performance.now();
            await floor.transaction(() => floor.insert(table, values));
            floorMs += performance.now() - t0;
          }
        }
        const t0 = performance.now();
        await buildIndexes(floor);
        floorMs += performance.now() - t0;
      } finally {
        await floor.close();
        await target.drop('floor');
      }
      const rowsPerEvent = rows / corpus.events;
      ctx.log(`floor: ${rows.toLocaleString('en-US')} rows (${rowsPerEvent.toFixed(2)} per event) written in ${secs(floorMs)}`);

      // 3. a plain loop of single-row INSERTs, autocommit, over a sample of every table
      const naive = await target.open('naive');
      let naiveRows = 0;
      let naiveMs = 0;
      try {
        await naive.ensureNamespace();
        // A sample of each table holds children whose parents it left out: these tables go without foreign keys (which only spares the loop work).
        for (const table of CONTENT_TABLES) for (const statement of createTableDdl(naive.dialect, { ...table, foreignKeys: [] })) await naive.exec(statement);
        const p = (n: number) => naive.dialect.param(n);
        const statements = new Map(CONTENT_TABLES.map((t) => [t, `INSERT INTO ${naive.dialect.table(t.name)} (${columnList(t)}) VALUES (${t.columns.map((_, i) => p(i + 1)).join(', ')})`]));
        // In 100 rounds, each a hundredth of every table's sample: a loop cut off by the clock has written the migration's mix.
        const t0 = performance.now();
        for (let round = 0; round < 100 && performance.now() - t0 < NAIVE_MS; round++) {
          for (const [table, sample] of naiveSample) {
            const share = Math.ceil(sample.length / 100);
            for (const row of sample.slice(round * share, (round + 1) * share)) {
              await naive.run(statements.get(table)!, row);
              naiveRows++;
            }
          }
        }
        naiveMs = performance.now() - t0;
      } finally {
        await naive.close();
        await target.drop('naive');
      }
      ctx.log(`plain loop: ${naiveRows.toLocaleString('en-US')} single-row INSERTs (autocommit) in ${secs(naiveMs)}`);

      const oursRate = (corpus.events * 1000) / oursMs;
      const floorRate = (rows * 1000) / floorMs / rowsPerEvent;
      const naiveRate = (naiveRows * 1000) / naiveMs / rowsPerEvent;
      const r = ctx.results;
      r.params = `${corpus.events.toLocaleString('en-US')} events (${corpus.users.toLocaleString('en-US')} users, ${corpus.sessions.toLocaleString('en-US')} sessions × 100, interleaved) · ${batches} batches · ${rows.toLocaleString('en-US')} rows (${rowsPerEvent.toFixed(2)} per event)`;
      r.compare({
        metric: 'migration rate',
        kind: 'rate',
        unit: 'events/s',
        value: oursRate,
        subject: `ffcdb migrate → ${target.name} (log read, rows folded, batches committed with their checkpoint, indexes built)`,
        peers: [
          { name: `${target.name} bulk path fed from memory (the floor)`, value: floorRate, goal: { text: 'within 2× of the floor', atLeast: 0.5 } },
          { name: `plain loop of single-row INSERTs (autocommit)`, value: naiveRate },
          { name: `${target.goal.toLocaleString('en-US')} events/s`, value: target.goal, target: 'goal (issue 4)', goal: { text: `≥ ${target.goal.toLocaleString('en-US')} events/s`, atLeast: 1 } },
        ],
      });
      r.note(`the floor and the plain loop count rows, given here per event at ${rowsPerEvent.toFixed(2)} rows per event; the floor writes each row once in its final state, the migration also the intermediate states of changing rows (sessions, contexts) at each batch`);
    } finally {
      await ours.close();
      await target.drop('ours');
    }
  } finally {
    await store.close();
  }
}
