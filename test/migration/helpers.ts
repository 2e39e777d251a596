// Shared helpers for the migration tests (not a test file itself).
import fs from 'node:fs';
import path from 'node:path';
import * as assert from 'uvu/assert';
import type { EventStore } from '../../src/engine/event-store.js';
import { tableChecksums } from '../../src/migration/checksum.js';
import { type VerifyReport, verifyMigration } from '../../src/migration/verify.js';
import { openStore } from '../../src/engine/open-store.js';
import { connectTarget } from '../../src/sql/connect.js';
import type { SqlDriver } from '../../src/sql/driver.js';
import { tempRoot } from '../flatfile/unit-helpers.js';
import { TEST_POSTGRES, dropSchema, uniqueSchema, withClient } from '../support/postgres.js';

/** A database to migrate into, private to one test, and how to look at it from outside the migration. */
export interface TestTarget {
  kind: 'sqlite' | 'postgres';
  /** The --to string. */
  url: string;
  /** --prefix / --schema for the CLI. */
  namespaceArgs: string[];
  connect(): Promise<SqlDriver>;
  /** Every table (and index, for SQLite) in the database, sorted: what "as it was" compares. */
  objects(): Promise<string[]>;
  /** Runs SQL outside the migration (tampering, unrelated tables); `t` names a table of the namespace. */
  sql(statement: (t: (name: string) => string) => string): Promise<void>;
  cleanup(): Promise<void>;
}

export function sqliteTarget(options: { preexisting?: boolean } = {}): TestTarget {
  const dir = tempRoot('migration');
  const file = path.join(dir, 'chat.db');
  const prefix = 'ffcdb_';
  const raw = async <T>(fn: (db: import('better-sqlite3').Database) => T): Promise<T> => {
    const Database = (await import('better-sqlite3')).default;
    const db = new Database(file);
    try {
      return fn(db);
    } finally {
      db.close();
    }
  };
  const target: TestTarget = {
    kind: 'sqlite',
    url: `sqlite:${file}`,
    namespaceArgs: [],
    connect: () => connectTarget(`sqlite:${file}`, { prefix }),
    objects: async () => (fs.existsSync(file) ? raw((db) => (db.prepare(`SELECT type || ' ' || name AS o FROM sqlite_master ORDER BY 1`).all() as { o: string }[]).map((r) => r.o)) : []),
    sql: (statement) => raw((db) => void db.exec(statement((name) => `"${prefix}${name}"`))),
    cleanup: async () => fs.rmSync(dir, { recursive: true, force: true }),
  };
  if (options.preexisting) fs.writeFileSync(file, '');
  return target;
}

export function postgresTarget(): TestTarget {
  const schema = uniqueSchema('ffcdb_mig');
  return {
    kind: 'postgres',
    url: TEST_POSTGRES!,
    namespaceArgs: ['--schema', schema],
    connect: () => connectTarget(TEST_POSTGRES!, { schema }),
    objects: () =>
      withClient(async (c) =>
        (
          await c.query(
            `SELECT n.nspname || '.' || c.relname || ' ' || c.relkind::text AS o FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
             WHERE n.nspname NOT IN ('pg_catalog', 'information_schema', 'pg_toast') AND n.nspname NOT LIKE 'pg_temp%' AND (n.nspname = $1 OR n.nspname NOT LIKE 'ffcdb%')
             UNION ALL SELECT 'schema ' || nspname FROM pg_namespace WHERE nspname = $1 ORDER BY 1`,
            [schema],
          )
        ).rows.map((r: { o: string }) => r.o),
      ),
    // Statements from outside run in the schema, made if missing (as an app's own schema would be).
    sql: (statement) => withClient(async (c) => void (await c.query(`CREATE SCHEMA IF NOT EXISTS "${schema}"; ${statement((name) => `"${schema}"."${name}"`)}`))),
    cleanup: () => dropSchema(schema),
  };
}

/** The targets to run a suite on: SQLite always, PostgreSQL when a server is configured. */
export function targets(): { name: string; make: () => TestTarget }[] {
  const out = [{ name: 'sqlite', make: () => sqliteTarget() }];
  if (TEST_POSTGRES) out.push({ name: 'postgres', make: () => postgresTarget() });
  return out;
}

/** Opens the engine on a store folder (what the migration reads), runs fn, closes it. */
export async function withLog<T>(dir: string, fn: (store: EventStore) => Promise<T>): Promise<T> {
  const store = await openStore({ dir, durability: 'none' });
  try {
    return await fn(store);
  } finally {
    await store.close();
  }
}

/** Connects, runs fn, closes. */
export async function withDriver<T>(target: TestTarget, fn: (driver: SqlDriver) => Promise<T>): Promise<T> {
  const driver = await target.connect();
  try {
    return await fn(driver);
  } finally {
    await driver.close();
  }
}

/** Asserts the database agrees with the log, showing the differences when it does not. */
export async function assertVerified(store: EventStore, target: TestTarget): Promise<VerifyReport> {
  const report = await withDriver(target, (driver) => verifyMigration({ store, target: driver }));
  assert.ok(report.ok, `verify found differences: ${JSON.stringify(report.differences.slice(0, 10), null, 1)}`);
  return report;
}

/** Content checksums of every table, text as PostgreSQL can hold it (U+0000 as U+FFFD), so both dialects compare. */
export function checksums(target: TestTarget) {
  return withDriver(target, (driver) => tableChecksums(driver, (s) => s.replace(/\0/g, '\uFFFD')));
}

export { tempRoot };
