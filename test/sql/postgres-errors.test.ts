/**
 * The one SQLSTATE table (src/sql/postgres/errors.ts), and that the PostgreSQL
 * backend and the migration's driver both report through it. No server needed:
 * the pools and clients here fail as pg does, with the error's `code`.
 */
import * as assert from 'uvu/assert';
import { PostgresBackend } from '../../src/backends/postgres/postgres-backend.js';
import { EventStore } from '../../src/engine/event-store.js';
import { ErrorCode, FfcdbError } from '../../src/kernel/errors.js';
import { createPgPool } from '../../src/sql/postgres/connect.js';
import { PostgresDriver } from '../../src/sql/postgres/driver.js';
import { errorCodeOf, pgFailure } from '../../src/sql/postgres/errors.js';
import type { PgPool, PgPoolClient } from '../../src/sql/postgres/pool.js';
import { flatfileSuite as readableSuite, rejected } from '../flatfile/unit-helpers.js';
import { TEST_POSTGRES, withClient } from '../support/postgres.js';

const test = readableSuite('sql: PostgreSQL error table');

/** An error as pg gives it: the server's message and its SQLSTATE in `code`. */
function pgErrorOf(code: string, message = `server said ${code}`): Error {
  return Object.assign(new Error(message), { code });
}

const CONNECTION = 'postgres://app:secret-pw@db.example:5433/chat';

/** A pool whose every connection attempt fails with `err`. */
function failingPool(err: Error): PgPool {
  const fail = () => Promise.reject(err);
  return { query: fail, connect: fail, end: async () => undefined, on: () => undefined, options: { connectionString: CONNECTION } };
}

/** A checked-out client whose every statement fails with `err`. */
function failingClient(err: Error): PgPoolClient {
  const client = {
    query: () => Promise.reject(err),
    release: () => undefined,
    on: () => client,
    removeListener: () => client,
    removeAllListeners: () => client,
  };
  return client as unknown as PgPoolClient;
}

test('the table: unreachable and dropped connections are IO, a refused login or missing privilege INVALID_ARGUMENT, a missing database NOT_FOUND, lock and serialization failures CONFLICT, statement errors FAILED', () => {
  const expected: Array<[string | undefined, ErrorCode]> = [
    ['ECONNREFUSED', ErrorCode.IO],
    ['ENOTFOUND', ErrorCode.IO],
    [undefined, ErrorCode.IO],
    ['08006', ErrorCode.IO], // connection_failure
    ['57P01', ErrorCode.IO], // admin_shutdown
    ['53300', ErrorCode.IO], // too_many_connections
    ['28P01', ErrorCode.INVALID_ARGUMENT], // invalid_password
    ['28000', ErrorCode.INVALID_ARGUMENT], // invalid_authorization_specification
    ['42501', ErrorCode.INVALID_ARGUMENT], // insufficient_privilege
    ['3D000', ErrorCode.NOT_FOUND], // invalid_catalog_name
    ['40001', ErrorCode.CONFLICT], // serialization_failure
    ['40P01', ErrorCode.CONFLICT], // deadlock_detected
    ['55P03', ErrorCode.CONFLICT], // lock_not_available
    ['2BP01', ErrorCode.CONFLICT], // dependent_objects_still_exist
    ['23505', ErrorCode.FAILED], // unique_violation
    ['42P01', ErrorCode.FAILED], // undefined_table
    ['22P02', ErrorCode.FAILED], // invalid_text_representation
    ['XX000', ErrorCode.IO], // internal_error: the server failed, not the request
  ];
  for (const [sqlstate, code] of expected) assert.is(errorCodeOf(sqlstate), code, String(sqlstate));
});

test('a wrapped error names the server and what was done, keeps the SQLSTATE and the cause, and says which option named the server only when the error is about it', () => {
  const cause = pgErrorOf('28P01', 'password authentication failed for user "app"');
  const err = pgFailure(cause, 'db.example:5433/chat', 'opening schema ffcdb', 'to');
  assert.is(err.code, ErrorCode.INVALID_ARGUMENT);
  assert.is(err.message, 'PostgreSQL at db.example:5433/chat refused the login while opening schema ffcdb: password authentication failed for user "app" (28P01)');
  assert.equal(err.details, { server: 'db.example:5433/chat', code: '28P01', field: 'to' });
  assert.is(err.cause, cause);
  assert.equal(pgFailure(pgErrorOf('23505'), 'db', undefined, 'to').details, { server: 'db', code: '23505' });
  const ours = new FfcdbError(ErrorCode.CLOSED, 'closed');
  assert.is(pgFailure(ours, 'db'), ours, 'an FfcdbError passes through');
});

for (const [sqlstate, code] of [['28P01', ErrorCode.INVALID_ARGUMENT], ['3D000', ErrorCode.NOT_FOUND], ['ECONNREFUSED', ErrorCode.IO]] as const) {
  test(`${sqlstate} is ${code} from the backend and from the migration's driver alike, naming the server and never the password`, async () => {
    const backendErr = await rejected(EventStore.open(new PostgresBackend({ pool: failingPool(pgErrorOf(sqlstate)) })));
    const poolErr = await rejected(PostgresDriver.fromPool(failingPool(pgErrorOf(sqlstate)), { description: 'postgres://app:***@db.example:5433/chat' }));
    const driver = new PostgresDriver(failingClient(pgErrorOf(sqlstate)), { description: 'postgres://app:***@db.example:5433/chat' });
    const queryErr = await rejected(driver.query('SELECT 1'));
    for (const [who, err] of [['backend', backendErr], ['driver connecting', poolErr], ['driver querying', queryErr]] as const) {
      assert.is(err.code, code, who);
      assert.is(err.details.code, sqlstate, who);
      assert.ok(err.message.includes('db.example:5433'), `${who}: ${err.message}`);
      assert.not.ok(err.message.includes('secret-pw'), who);
    }
  });
}

test('a pool made from a connection string loads pg only when used: an unused one names its server and ends at once', async () => {
  const pool = createPgPool(CONNECTION);
  assert.equal(pool.options, { connectionString: CONNECTION });
  await pool.end();
});

if (TEST_POSTGRES) {
  test('a made pool queries through pg, and an idle connection that breaks reaches the error listeners added before pg was loaded', async () => {
    const pool = createPgPool(TEST_POSTGRES!, { max: 1, sqlValues: true });
    const heard: Error[] = [];
    pool.on('error', (err) => heard.push(err));
    try {
      const { rows } = await pool.query<{ pid: number; n: number; j: string }>(`SELECT pg_backend_pid() AS pid, 9007199254740991::bigint AS n, '{"a": 1}'::json AS j`);
      assert.equal([rows[0]!.n, rows[0]!.j], [9007199254740991, '{"a": 1}'], 'sqlValues: bigint as a number, json as its text');
      await withClient((c) => c.query('SELECT pg_terminate_backend($1)', [rows[0]!.pid]));
      for (let i = 0; i < 100 && heard.length === 0; i++) await new Promise((r) => setTimeout(r, 20));
      assert.is(heard.length, 1);
    } finally {
      await pool.end();
    }
  });
}

test.run();
