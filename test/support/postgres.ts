// PostgreSQL for tests (not a test file). `npm test` finds a server
// (scripts/postgres-for-tests.mjs) and passes it as FFCDB_TEST_POSTGRES; when
// there is none, the PostgreSQL suites say once that they were skipped.
import { randomBytes } from 'node:crypto';
import pg from 'pg';

export const TEST_POSTGRES: string | undefined = process.env.FFCDB_TEST_POSTGRES || undefined;

/** Logs one line and returns false when no server is configured: the caller registers no tests. */
export function postgresAvailable(suite: string): boolean {
  if (TEST_POSTGRES) return true;
  console.log(`  ${suite}: SKIPPED, no PostgreSQL server (set FFCDB_TEST_POSTGRES to run it)`);
  return false;
}

/** A fresh schema name, unique to this run and caller. */
export function uniqueSchema(prefix = 'ffcdb_t'): string {
  return `${prefix}_${process.pid}_${randomBytes(4).toString('hex')}`;
}

/** Runs fn with a client connected to the test database; the client is closed after. */
export async function withClient<T>(fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: TEST_POSTGRES });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

/** Drops a schema the test created, and everything in it. */
export async function dropSchema(schema: string): Promise<void> {
  await withClient((c) => c.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`));
}
