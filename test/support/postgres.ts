// PostgreSQL for tests (not a test file). `npm test` finds a server
// (scripts/postgres-for-tests.mjs) and passes it as FFCDB_TEST_POSTGRES; when
// there is none, the PostgreSQL suites say once that they were skipped.
import { createHash, randomBytes } from 'node:crypto';
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

/** Names of the tables of `schema` with a row whose text (bytea as hex) contains `marker`. */
export async function rowsHolding(schema: string, marker: string): Promise<string[]> {
  return withClient(async (c) => {
    const tables = (await c.query<{ name: string }>('SELECT tablename AS name FROM pg_tables WHERE schemaname = $1 ORDER BY 1', [schema])).rows;
    const hex = Buffer.from(marker, 'utf8').toString('hex');
    const holding: string[] = [];
    for (const { name } of tables) {
      const { rows } = await c.query(`SELECT 1 FROM "${schema}"."${name}" t WHERE strpos(t::text, $1) > 0 OR strpos(t::text, $2) > 0 LIMIT 1`, [marker, hex]);
      if (rows.length > 0) holding.push(`${schema}.${name}`);
    }
    return holding;
  });
}

/**
 * Compliance tests get a folder each; here each folder names a schema of its
 * own, so reopening the folder reopens the schema. The name is derived from the
 * folder alone, so the suite's child processes find the same schema.
 */
export function schemaOf(dir: string): string {
  return `ffcdb_t_${createHash('sha256').update(dir).digest('hex').slice(0, 20)}`;
}

/** backendComplianceSuite options for a backend in schemaOf(ctx.dir): the schema is dropped after each test, and the purge test searches its rows. */
export const schemaPerTest = {
  cleanup: ({ dir }: { dir: string }): Promise<void> => dropSchema(schemaOf(dir)),
  placesHolding: ({ dir }: { dir: string }, marker: string): Promise<string[]> => rowsHolding(schemaOf(dir), marker),
};
