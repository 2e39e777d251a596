/**
 * What the PostgreSQL backend adds to the shared contract: typed errors for a
 * server it cannot use, its options, the schema it refuses, state that another
 * process changed behind its back, and the LISTEN connection coming back.
 */
import pg from 'pg';
import type { Subscription } from 'rxjs';
import * as assert from 'uvu/assert';
import { postgresBackend } from '../../src/backends/postgres/connect.js';
import { PostgresBackend } from '../../src/backends/postgres/postgres-backend.js';
import { EventStore } from '../../src/engine/event-store.js';
import { ErrorCode } from '../../src/kernel/errors.js';
import type { RecordedEvent } from '../../src/kernel/types.js';
import { flatfileSuite as readableSuite, rejected, thrown } from '../flatfile/unit-helpers.js';
import { TEST_POSTGRES, dropSchema, postgresAvailable, uniqueSchema, withClient } from '../support/postgres.js';
import { sleep } from '../support/postgres-workers.js';

if (postgresAvailable('postgres: backend options, errors and notifications')) {
  const test = readableSuite('postgres: backend options, errors and notifications');
  const schemas: string[] = [];
  const newSchema = () => {
    const s = uniqueSchema();
    schemas.push(s);
    return s;
  };
  const open = (schema: string) => EventStore.open(postgresBackend({ connectionString: TEST_POSTGRES!, schema }));
  test.after(async () => {
    for (const s of schemas) await dropSchema(s);
  });

  /** The test server's connection string with some parts changed. */
  function variant(change: (url: URL) => void): string {
    const url = new URL(TEST_POSTGRES!);
    change(url);
    return url.toString();
  }

  test('opening fails, naming the server and never a raw pg error, with IO when the server is unreachable, INVALID_ARGUMENT for wrong credentials, NOT_FOUND for a missing database', async () => {
    const cases: Array<[string, (u: URL) => void, ErrorCode, RegExp]> = [
      ['refused', (u) => { u.hostname = '127.0.0.1'; u.port = '1'; }, ErrorCode.IO, /cannot reach PostgreSQL at 127\.0\.0\.1:1\/.*connection refused \(ECONNREFUSED\)/],
      ['wrong password', (u) => { u.password = 'not-the-password'; }, ErrorCode.INVALID_ARGUMENT, /refused the login.*password authentication failed.*\(28P01\)/],
      ['unknown database', (u) => { u.pathname = '/no_such_database_ffcdb'; }, ErrorCode.NOT_FOUND, /no_such_database_ffcdb.*does not exist \(3D000\)/],
    ];
    for (const [what, change, code, message] of cases) {
      const url = variant(change);
      const err = await rejected(EventStore.open(postgresBackend({ connectionString: url, schema: newSchema() })));
      assert.is(err.code, code, what);
      assert.match(err.message, message, what);
      const host = new URL(url);
      assert.ok(err.message.includes(`${host.hostname}:${host.port || 5432}`), `${what}: the message names the server: ${err.message}`);
      assert.is(err.details.server, `${host.hostname}:${host.port || 5432}${host.pathname}`);
      assert.not.ok(err.message.includes('not-the-password'), 'the password is never shown');
    }
  });

  test('bad options are refused with INVALID_ARGUMENT before anything connects', () => {
    for (const schema of ['', 'Upper', 'has-dash', '1digit', 'x"; DROP SCHEMA public; --', 'a'.repeat(49), 'pg catalog', 42]) {
      const err = thrown(() => postgresBackend({ connectionString: 'postgres://nobody@127.0.0.1:1/none', schema: schema as string }));
      assert.is(err.code, ErrorCode.INVALID_ARGUMENT, String(schema));
      assert.is(err.details.field, 'schema');
    }
    const err = thrown(() => postgresBackend({ connectionString: 'postgres://nobody@127.0.0.1:1/none', schema: 'fine', durability: 'batched' as never }));
    assert.is(err.details.field, 'durability');
  });

  test('a schema holding tables the backend did not create, or another format, is refused with UNSUPPORTED_FORMAT and left as it was', async () => {
    const foreign = newSchema();
    await withClient((c) => c.query(`CREATE SCHEMA "${foreign}"; CREATE TABLE "${foreign}".orders (id int)`));
    const err = await rejected(open(foreign));
    assert.is(err.code, ErrorCode.UNSUPPORTED_FORMAT);
    assert.match(err.message, /orders/);
    const tables = await withClient((c) => c.query('SELECT tablename FROM pg_tables WHERE schemaname = $1', [foreign]));
    assert.equal(tables.rows, [{ tablename: 'orders' }], 'nothing was created beside it');

    const newer = newSchema();
    await (await open(newer)).close();
    await withClient((c) => c.query(`UPDATE "${newer}".ffcdb_format SET version = 99`));
    const again = await rejected(open(newer));
    assert.is(again.code, ErrorCode.UNSUPPORTED_FORMAT);
    assert.match(again.message, /version 99/);
  });

  test('an empty schema made beforehand (by a DBA) is taken and set up', async () => {
    const schema = newSchema();
    await withClient((c) => c.query(`CREATE SCHEMA "${schema}"`));
    const store = await open(schema);
    await store.append('s', { type: 't', data: 1 });
    assert.is(await store.headPosition(), 1);
    await store.close();
  });

  test('state another process changed is corrected by the database: expected versions, purges and retries are judged on what is stored', async () => {
    const schema = newSchema();
    const a = await open(schema);
    const b = await open(schema);
    try {
      await a.append('s', { type: 't', data: 1 });
      // b moves 's' on; a still remembers version 1.
      await b.append('s', [{ type: 't', data: 2 }, { type: 't', data: 3, id: 'b-3' }]);
      assert.is((await a.append('s', { type: 't', data: 4 }, { expectedVersion: 3 })).firstVersion, 4);
      const conflict = await rejected(b.append('s', { type: 't', data: 5 }, { expectedVersion: 3 }));
      assert.equal([conflict.code, conflict.details.actual], [ErrorCode.CONFLICT, 4]);
      // a retry of b's append through a finds it stored.
      const retry = await a.append('s', { type: 't', data: 3, id: 'b-3' });
      assert.equal([retry.duplicate, retry.firstVersion, retry.firstPosition], [true, 3, 3]);
      // b created 't'; a has never seen it.
      await b.append('t', { type: 't', data: 1 });
      const exists = await rejected(a.append('t', { type: 't', data: 2 }, { expectedVersion: 'no_stream' }));
      assert.equal([exists.code, exists.details.actual], [ErrorCode.CONFLICT, 1]);
      // b purges 's'; a believes it is alive.
      await b.purgeStream('s');
      const purged = await rejected(a.append('s', { type: 't', data: 6 }));
      assert.equal(purged.details, { streamId: 's', purged: true });
      assert.equal(await a.purgeStream('s'), { streamId: 's', version: 4, events: 0 });
      assert.is(await a.headPosition(), 5);
    } finally {
      await a.close();
      await b.close();
    }
  });

  test('ids are validated before any SQL: the backend refuses a bad stream or event id with INVALID_ID itself', async () => {
    const backend = postgresBackend({ connectionString: TEST_POSTGRES!, schema: newSchema() });
    const store = await EventStore.open(backend);
    try {
      const event = { id: 'ok', idSupplied: true, type: 't', schemaVersion: 1, timestamp: Date.now(), data: 1, metadata: {} };
      for (const id of ['a\nb', 'x'.repeat(521), '']) {
        assert.is((await rejected(backend.append(id, [event], 'any'))).code, ErrorCode.INVALID_ID);
        assert.is((await rejected(backend.streamVersion(id))).code, ErrorCode.INVALID_ID);
        assert.is((await rejected(backend.purgeStream(id))).code, ErrorCode.INVALID_ID);
      }
      assert.is((await rejected(backend.append('s', [{ ...event, id: "1' OR '1'='1\u0000" }], 'any'))).code, ErrorCode.INVALID_ID);
      assert.is(await backend.headPosition(), 0);
    } finally {
      await store.close();
    }
  });

  test('commits of another process keep reaching a subscriber after its LISTEN connection was cut, and close ends the subscription', async () => {
    const schema = newSchema();
    const reader = await open(schema);
    const writer = await open(schema);
    const received: RecordedEvent[] = [];
    let completed = false;
    const sub: Subscription = reader.subscribeToAll().subscribe({ next: (e) => received.push(e), complete: () => (completed = true) });
    const errors: string[] = [];
    reader.monitor$.subscribe((e) => {
      if (e.kind === 'error') errors.push(`${e.op}: ${e.message}`);
    });
    const waitFor = async (n: number) => {
      for (const until = Date.now() + 10_000; received.length < n && Date.now() < until; ) await sleep(5);
      assert.is(received.length, n);
    };
    try {
      await writer.append('w', { type: 't', data: 1 });
      await waitFor(1);
      const cut = await withClient((c) =>
        c.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE query = $1 AND pid <> pg_backend_pid()', [`LISTEN "ffcdb_commits_${schema}"`]),
      );
      assert.is(cut.rows.length, 1, "the reader's LISTEN connection was cut (the writer, with no subscriber, listens to nothing)");
      // Appended while nobody listens (the reconnect is at least 50 ms away), and after it.
      await writer.append('w', { type: 't', data: 2 });
      await waitFor(2);
      await sleep(200);
      await writer.append('w', { type: 't', data: 3 });
      await waitFor(3);
      assert.equal(received.map((e) => e.position), [1, 2, 3]);
      assert.ok(errors.some((e) => e.startsWith('listen: ')), `the lost connection was reported on monitor$: ${errors.join('; ')}`);
    } finally {
      await reader.close();
      await writer.close();
    }
    assert.ok(completed, 'close completes the live subscription');
    sub.unsubscribe();
  });

  test('a pool the caller gives is used and left open on close', async () => {
    const pool = new pg.Pool({ connectionString: TEST_POSTGRES, max: 3 });
    try {
      const backend = postgresBackend({ pool, schema: newSchema() });
      assert.instance(backend, PostgresBackend);
      const store = await EventStore.open(backend);
      await store.append('s', { type: 't', data: 1 });
      await store.close();
      assert.equal((await pool.query('SELECT 1 AS one')).rows, [{ one: 1 }]);
    } finally {
      await pool.end();
    }
  });

  test.run();
}
