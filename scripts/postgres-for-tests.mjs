// Finds a PostgreSQL server for the tests that need one, and says so in one line.
//
// 1. FFCDB_TEST_POSTGRES (a connection string) names a server: it is used as is.
// 2. Otherwise, on a machine with a local PostgreSQL cluster (Debian's
//    pg_ctlcluster) and as root, the cluster is started if stopped, and a role
//    `ffcdb` with a database `ffcdb_test` is created if missing; CI runs this way.
// 3. Otherwise the PostgreSQL tests are skipped, with one line saying why.
//
// Returns the connection string, or undefined. Each test file then works in a
// schema of its own, dropped when it ends (test/support/postgres.ts).
import { execFileSync } from 'node:child_process';

const LOCAL = 'postgres://ffcdb:ffcdb@127.0.0.1:5432/ffcdb_test';

export function findTestPostgres() {
  if (process.env.FFCDB_TEST_POSTGRES) {
    console.log(`PostgreSQL tests: using FFCDB_TEST_POSTGRES`);
    return process.env.FFCDB_TEST_POSTGRES;
  }
  const why = startLocalCluster();
  if (why === undefined) {
    console.log(`PostgreSQL tests: using the local cluster (${LOCAL.replace(/:[^:@]*@/, ':***@')})`);
    return LOCAL;
  }
  console.log(`PostgreSQL tests SKIPPED: ${why}. Set FFCDB_TEST_POSTGRES=postgres://user:password@host:5432/db to run them.`);
  return undefined;
}

/** Undefined when the local cluster is up with our role and database; else why not. */
function startLocalCluster() {
  if (process.getuid?.() !== 0) return 'no FFCDB_TEST_POSTGRES, and not root, so no local cluster can be started';
  let clusters;
  try {
    clusters = run('pg_lsclusters', ['--no-header']);
  } catch {
    return 'no FFCDB_TEST_POSTGRES, and no local PostgreSQL (pg_lsclusters not found)';
  }
  const first = clusters.trim().split('\n')[0]?.trim().split(/\s+/);
  if (!first || first.length < 4) return 'no FFCDB_TEST_POSTGRES, and no local PostgreSQL cluster';
  const [version, name, port, status] = first;
  try {
    if (status !== 'online') run('pg_ctlcluster', [version, name, 'start']);
    for (let i = 0; i < 50; i++) {
      try {
        run('pg_isready', ['-q', '-h', '127.0.0.1', '-p', port]);
        break;
      } catch {
        execFileSync('sleep', ['0.2']);
      }
    }
    const sql = (statement) => run('su', ['postgres', '-c', `psql -p ${port} -v ON_ERROR_STOP=1 -qAtc "${statement}"`]);
    if (sql("SELECT 1 FROM pg_roles WHERE rolname = 'ffcdb'").trim() !== '1') sql("CREATE ROLE ffcdb LOGIN PASSWORD 'ffcdb'");
    if (sql("SELECT 1 FROM pg_database WHERE datname = 'ffcdb_test'").trim() !== '1') sql('CREATE DATABASE ffcdb_test OWNER ffcdb');
  } catch (err) {
    return `the local PostgreSQL cluster ${version}/${name} could not be started or prepared (${String(err.message ?? err).split('\n')[0]})`;
  }
  if (port !== '5432') return `the local cluster listens on port ${port}, not 5432`;
  return undefined;
}

function run(cmd, args) {
  return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}
