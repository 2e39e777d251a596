/**
 * Migration by replay into SQLite and PostgreSQL (issue 4, "Migration" and
 * "Proof"): a full migration of a store holding something of everything
 * verifies clean; the rows say what the chat API says; migrating twice changes
 * nothing; purges erase; follow mode picks up new events; verification finds
 * tampering; rollback leaves the database as it was; bad input is refused
 * with a typed error and leaves nothing behind.
 */
import fs from 'node:fs';
import * as assert from 'uvu/assert';
import { openChatStore } from '../../src/chat/chat-store.js';
import { ErrorCode } from '../../src/kernel/errors.js';
import { Migration, migrate } from '../../src/migration/migrate.js';
import { rollbackMigration } from '../../src/migration/rollback.js';
import { verifyMigration } from '../../src/migration/verify.js';
import { decodeRow } from '../../src/sql/values.js';
import { MESSAGES } from '../../src/migration/schema.js';
import { connectTarget } from '../../src/sql/connect.js';
import { flatfileSuite, rejected } from '../flatfile/unit-helpers.js';
import { buildChatStore, fillChatStore } from '../support/migration-store.js';
import { postgresAvailable } from '../support/postgres.js';
import { type TestTarget, assertVerified, checksums, postgresTarget, sqliteTarget, tempRoot, withDriver, withLog } from './helpers.js';

const KINDS: { kind: 'sqlite' | 'postgres'; make: (o?: { preexisting?: boolean }) => TestTarget }[] = [{ kind: 'sqlite', make: (o) => sqliteTarget(o) }];
if (postgresAvailable('migration to PostgreSQL')) KINDS.push({ kind: 'postgres', make: () => postgresTarget() });

const storeDir = tempRoot('migration-store');
await buildChatStore(storeDir);

for (const { kind, make } of KINDS) {
  const test = flatfileSuite(`migration into ${kind}`);
  const withTarget = async (fn: (t: TestTarget) => Promise<void>, options?: { preexisting?: boolean }) => {
    const t = make(options);
    try {
      await fn(t);
    } finally {
      await t.cleanup();
    }
  };

  test('a full migration verifies clean, and its rows say what the chat API says', () =>
    withTarget(async (t) => {
      await withLog(storeDir, async (store) => {
        const result = await withDriver(t, (target) => migrate({ store, target, batchSize: 7 }));
        assert.is(result.position, await store.headPosition());
        const report = await assertVerified(store, t);
        assert.is(report.sessions, 4, 'main, second and restored live; deleted deleted; purged gone');
        assert.is(report.events.log.rows, report.events.database.rows);
        assert.is(report.events.log.sha256, report.events.database.sha256);
      });
      await withDriver(t, async (d) => {
        const one = async (sql: string, params: (string | number)[] = []) => (await d.query(sql.replace(/\{(\w+)\}/g, (_, n: string) => d.dialect.table(n)), params))[0]!;
        const m1 = decodeRow(MESSAGES, await one(`SELECT * FROM {messages} WHERE message_id = 'm1'`));
        assert.equal([m1[4], m1[6], m1[7]], ['"Find a very quiet hotel."', '{"edited":true}', 3]);
        assert.is(Number((await one(`SELECT count(*) AS n FROM {message_revisions} WHERE message_id = 'm1'`)).n), 3);
        const m2 = await one(`SELECT deleted_at, revision FROM {messages} WHERE message_id = 'm2'`);
        assert.ok(m2.deleted_at !== null);
        assert.is(Number(m2.revision), 1, 'an edit of a deleted message is ignored');
        const attached = await d.query(`SELECT document_id, name FROM ${d.dialect.table('message_attachments')} WHERE message_id = 'm3' ORDER BY idx`);
        assert.equal(attached.map((r) => [r.document_id, r.name]), [['d-plan', null], ['d-lib', 'cv']]);
        assert.is((await one(`SELECT metadata FROM {messages} WHERE message_id = 'm-v1'`)).metadata, '{"model":"gpt-x"}', 'v1 upcast');
        assert.is((await one(`SELECT content FROM {messages} WHERE message_id = 'm1'`)).content, '"Find a very quiet hotel."', 'the repeated id did not win');
        const m5 = await one(`SELECT role, extra FROM {messages} WHERE message_id = 'm5'`);
        assert.equal([m5.role, m5.extra], ['Critic', '{"name":"critic-2"}'], 'an app role, and extra as the last edit gave it');
        const m5Revisions = await d.query(`SELECT extra FROM ${d.dialect.table('message_revisions')} WHERE message_id = 'm5' ORDER BY revision`);
        assert.equal(m5Revisions.map((r) => r.extra), ['{"name":"critic","additional_kwargs":{}}', '{"name":"critic","additional_kwargs":{}}', '{"name":"critic-2"}'], 'extra carried over by an edit that left it out');
        assert.is((await one(`SELECT extra FROM {messages} WHERE message_id = 'm1'`)).extra, null);
        const m6 = await one(`SELECT content, extra, revision FROM {messages} WHERE message_id = 'm6'`);
        assert.equal([m6.content, m6.extra, Number(m6.revision)], ['"six!"', null, 2], 'an edit removing extra');
        assert.ok((await one(`SELECT deleted_at FROM {messages} WHERE message_id = 'm8'`)).deleted_at !== null, 'deleted by a truncate');
        const m7 = await one(`SELECT content, deleted_at, revision FROM {messages} WHERE message_id = 'm7'`);
        assert.equal([m7.content, m7.deleted_at, Number(m7.revision)], ['"seven again"', null, 1], 'a deleted id used again');
        const m7Revisions = await d.query(`SELECT content FROM ${d.dialect.table('message_revisions')} WHERE message_id = 'm7' ORDER BY stream_version`);
        assert.equal(m7Revisions.map((r) => r.content), ['"seven"', '"seven again"'], 'the earlier message of the id stays in the revisions');
        assert.ok((await one(`SELECT deleted_at FROM {messages} WHERE message_id = 'm4'`)).deleted_at !== null, 'deleted by a sync');
        assert.is((await one(`SELECT content FROM {messages} WHERE message_id = 'm9'`)).content, '"nine"', 'added by a sync');
        const second = await one(`SELECT title, metadata FROM {sessions} WHERE session_id = 'second'`);
        assert.equal([second.title, second.metadata], ['Second, renamed', '{"pinned":true}'], 'a session update, the title it left out kept');
        const secondTags = await d.query(`SELECT tag FROM ${d.dialect.table('session_tags')} WHERE session_id = 'second' ORDER BY idx`);
        assert.equal(secondTags.map((r) => r.tag), ['u1', 'u2']);
        assert.is((await one(`SELECT value FROM {context} WHERE session_id = 'main'`)).value, '{"summary":"trip","goals":["hotel","food"],"budget":{"currency":"EUR","min":100}}');
        const snaps = await d.query(`SELECT name, version, value FROM ${d.dialect.table('context_snapshots')} ORDER BY session_id, name`);
        assert.equal(
          snaps.map((r) => [r.name, Number(r.version), r.value]),
          [
            ['later', 3, '{"summary":"trip","goals":["hotel","food"],"budget":{"currency":"EUR","min":100}}'],
            ['start', 1, '{"summary":"trip","goals":["hotel"],"budget":{"max":900,"currency":"EUR"}}'],
            ['one', 1, '{"step":1}'],
            ['empty', 0, '{}'],
          ],
        );
        const docs = await d.query(`SELECT document_id, session_id, user_id, deleted_at FROM ${d.dialect.table('documents')} ORDER BY upload_position`);
        assert.equal(
          docs.map((r) => [r.document_id, r.session_id, r.user_id, r.deleted_at === null]),
          [
            ['d-plan', 'main', 'ann', true],
            ['d-lib', null, 'ann', true],
            ['d-gone', 'main', 'ann', false],
            ['d-gone', 'second', 'ann', true],
            ['d-of-deleted', 'deleted', 'bob', true],
            ['d-of-purged', 'second', 'ann', true],
            ['d-restored', 'restored', 'ann', true],
            ['d-carl', null, 'carl', true],
          ],
        );
        const deleted = await one(`SELECT title, deleted_at FROM {sessions} WHERE session_id = 'deleted'`);
        assert.is(deleted.title, 'Going away');
        assert.ok(deleted.deleted_at !== null);
        const restored = await one(`SELECT title, deleted_at FROM {sessions} WHERE session_id = 'restored'`);
        assert.equal([restored.title, restored.deleted_at], ['Back again', null], 'a restore clears deleted_at');
        const restoredMessages = await d.query(`SELECT message_id, deleted_at FROM ${d.dialect.table('messages')} WHERE session_id = 'restored' ORDER BY seq`);
        assert.equal(restoredMessages.map((r) => [r.message_id, r.deleted_at === null]), [['r1', true], ['r2', false], ['r3', true]], 'as they were at the deletion, and written since');
        assert.is((await one(`SELECT value FROM {context} WHERE session_id = 'restored'`)).value, '{"step":1}');
        assert.is(Number((await one(`SELECT count(*) AS n FROM {sessions} WHERE session_id = 'purged'`)).n), 0);
        assert.is(Number((await one(`SELECT count(*) AS n FROM {events} WHERE stream_id = 's-purged'`)).n), 0);
        const session = await one(`SELECT version, title, archived FROM {sessions} WHERE session_id = 'second'`);
        assert.equal([session.title, session.archived === true || session.archived === 1], ['Second, renamed', true]);
        const tags = await d.query(`SELECT tag FROM ${d.dialect.table('session_tags')} WHERE session_id = 'main'`);
        assert.equal(tags.map((r) => r.tag), ['travel']);
        assert.is((await one(`SELECT data FROM {events} WHERE stream_id = 'x-audit'`)).data, '{"bytes":{"$base64":"AAEC/w=="},"nested":[{"b":{"$base64":"Bw=="}}]}');
        const analysis = await one(`SELECT text FROM {document_analyses} WHERE analysis_version = 2`);
        assert.is(analysis.text, kind === 'postgres' ? 'the plan\uFFFDwith a NUL' : 'the plan\u0000with a NUL');
      });
      // The same store through the chat API: what the rows must agree with.
      const chat = await openChatStore({ dir: storeDir, durability: 'none' });
      try {
        const s = await chat.sessions.get('main');
        await withDriver(t, async (d) => {
          const [row] = await d.query(`SELECT version, updated_at, last_message_at FROM ${d.dialect.table('sessions')} WHERE session_id = 'main'`);
          assert.equal([Number(row!.version), Number(row!.updated_at), Number(row!.last_message_at)], [s.version, s.updatedAt, s.lastMessageAt]);
          const [count] = await d.query(`SELECT count(*) AS n FROM ${d.dialect.table('messages')} WHERE session_id = 'main' AND deleted_at IS NULL`);
          assert.is(Number(count!.n), s.messageCount);
        });
      } finally {
        await chat.close();
      }
    }));

  test('the batch size changes nothing: one event per batch, three, and the default give the same rows', () =>
    withTarget(async (t) => {
      await withLog(storeDir, async (store) => {
        await withDriver(t, (target) => migrate({ store, target }));
        const whole = await checksums(t);
        for (const batchSize of [1, 3]) {
          await withDriver(t, (target) => rollbackMigration(target));
          await withDriver(t, (target) => migrate({ store, target, batchSize }));
          assert.equal(await checksums(t), whole, `batches of ${batchSize}`);
          await assertVerified(store, t);
        }
      });
    }));

  test('migrating twice changes nothing: the second run writes no row', () =>
    withTarget(async (t) => {
      await withLog(storeDir, async (store) => {
        await withDriver(t, (target) => migrate({ store, target }));
        const before = await checksums(t);
        const again = await withDriver(t, (target) => migrate({ store, target }));
        assert.equal([again.events, again.batches], [0, 0]);
        assert.equal(await checksums(t), before);
        assert.ok(before.every((c) => c.table !== 'events' || c.rows > 40));
      });
    }));

  test('ids of any form the one rule takes migrate into text columns exactly and verify clean: paths, quotes, case twins, emoji, 512 bytes', async () => {
    const dir = tempRoot('migration-ids');
    const ids = ['../x', "o'brien; DROP TABLE sessions; --", 'Chat', 'chat', 'a/b\\c', '\u{1F600}\u202E', 'x'.repeat(512), `${'é'.repeat(255)}z`];
    try {
      const chat = await openChatStore({ dir, durability: 'none' });
      try {
        for (const id of ids) {
          await chat.users.create({ userId: id });
          await chat.sessions.create({ userId: id, sessionId: id, title: 'T' });
          await chat.messages.add(id, { messageId: id, role: 'assistant', content: [{ type: 'tool_call', id, name: 'search', arguments: {} }] });
        }
      } finally {
        await chat.close();
      }
      await withTarget(async (t) => {
        await withLog(dir, async (store) => {
          await withDriver(t, (target) => migrate({ store, target }));
          await assertVerified(store, t);
        });
        await withDriver(t, async (d) => {
          const rows = await d.query(`SELECT session_id, user_id FROM ${d.dialect.table('sessions')}`);
          assert.equal(rows.map((r) => [r.session_id, r.user_id]).sort(), ids.map((id) => [id, id]).sort());
          const messages = await d.query(`SELECT message_id FROM ${d.dialect.table('messages')}`);
          assert.equal(messages.map((r) => r.message_id).sort(), [...ids].sort());
        });
      });
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  test('a purge after the migration erases the session; so does a purge of an already deleted session, and a raw purge request', async () => {
    const dir = tempRoot('migration-purge');
    try {
      await withTarget(async (t) => {
        const chat = await openChatStore({ dir, durability: 'none' });
        try {
          await fillChatStore(chat);
          await chat.sessions.create({ userId: 'ann', sessionId: 'later', title: 'Later' });
          await chat.messages.add('later', { role: 'user', content: 'soon gone' });
          await withDriver(t, (target) => migrate({ store: chat.events, target }));
          // Purged with its deletion unseen: only gaps tell.
          await chat.messages.add('later', { role: 'user', content: 'more' });
          await chat.sessions.delete('later', { purge: true });
          // Deleted and migrated, then purged without a new event.
          await chat.sessions.delete('deleted', { purge: true });
          // A purge asked for by an event the log still holds.
          await chat.sessions.create({ userId: 'ann', sessionId: 'asked', title: 'Asked' });
          await chat.events.append('s-asked', { type: 'session.deleted', data: { purge: true } });
          await chat.events.append('s-asked', { type: 'app.note', data: { after: 'the purge request' } });
          const result = await withDriver(t, (target) => migrate({ store: chat.events, target }));
          assert.is(result.erased, 3);
          await assertVerified(chat.events, t);
          await withDriver(t, async (d) => {
            const left = await d.query(`SELECT stream_id FROM ${d.dialect.table('events')} WHERE stream_id IN ('s-later', 's-deleted', 's-asked')`);
            assert.equal(left, []);
            const tombstones = await d.query(`SELECT stream_id FROM ${d.dialect.table('purged_streams')} ORDER BY stream_id`);
            assert.equal(tombstones.map((r) => r.stream_id), ['s-asked', 's-deleted', 's-later']);
          });
        } finally {
          await chat.close();
        }
      });
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  test('a batch that fails leaves none of its rows and the checkpoint where it was; the next run redoes it', async () => {
    const dir = tempRoot('migration-fail');
    try {
      await withTarget(async (t) => {
        const chat = await openChatStore({ dir, durability: 'none' });
        try {
          await fillChatStore(chat);
          await withDriver(t, (target) => migrate({ store: chat.events, target }));
          const before = await checksums(t);
          const position = await chat.events.headPosition();
          await chat.messages.add('second', [{ messageId: 'fine', role: 'user', content: 'rows before the failing one' }, { messageId: 'late', role: 'user', content: 'its event row is taken' }]);
          await chat.context.patch('second', { more: true });
          // A row the migration did not write, in its way: the second new event's.
          await t.sql((n) => `INSERT INTO ${n('events')} (position, stream_id, version, id, type, schema_version, at, data, metadata) VALUES (${position + 2}, 'x', 1, 'x', 'x', 1, 0, 'null', '{}')`);
          const err = await rejected(withDriver(t, (target) => migrate({ store: chat.events, target, batchSize: 2 })));
          assert.ok(err.code === ErrorCode.FAILED, `${err.code} ${err.message}`);
          await t.sql((n) => `DELETE FROM ${n('events')} WHERE stream_id = 'x'`);
          assert.equal(await checksums(t), before, 'nothing of the failed batch is left');
          await withDriver(t, async (d) => assert.is(Number((await d.query(`SELECT position FROM ${d.dialect.table('migration')}`))[0]!.position), position));
          await withDriver(t, (target) => migrate({ store: chat.events, target }));
          await assertVerified(chat.events, t);
        } finally {
          await chat.close();
        }
      });
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  test('follow mode picks up events appended after the catch-up', async () => {
    const dir = tempRoot('migration-follow');
    try {
      await withTarget(async (t) => {
        const chat = await openChatStore({ dir, durability: 'none' });
        const driver = await t.connect();
        try {
          await chat.users.create({ userId: 'ann' });
          await chat.sessions.create({ userId: 'ann', sessionId: 's1', title: 'Live' });
          const migration = await Migration.open({ store: chat.events, target: driver });
          const following = migration.follow();
          await chat.messages.add('s1', { messageId: 'late-1', role: 'user', content: 'after the catch-up' });
          await chat.context.patch('s1', { seen: true });
          const head = await chat.events.headPosition();
          for (let i = 0; i < 200 && migration.position < head; i++) await new Promise((r) => setTimeout(r, 10));
          migration.stop();
          const result = await following;
          assert.is(result.position, head);
          const rows = await driver.query(`SELECT content FROM ${driver.dialect.table('messages')} WHERE message_id = 'late-1'`);
          assert.equal(rows.map((r) => r.content), ['"after the catch-up"']);
          const report = await verifyMigration({ store: chat.events, target: driver });
          assert.ok(report.ok, JSON.stringify(report.differences));
          // The same through migrate({ follow: true }), stopped by an AbortSignal.
          const abort = new AbortController();
          const followed = migrate({ store: chat.events, target: driver, follow: true, signal: abort.signal });
          await chat.messages.add('s1', { messageId: 'late-2', role: 'user', content: 'while following again' });
          const again = await chat.events.headPosition();
          for (let i = 0; i < 200 && (await driver.query(`SELECT position FROM ${driver.dialect.table('migration')}`))[0]!.position !== again; i++) await new Promise((r) => setTimeout(r, 10));
          abort.abort();
          assert.is((await followed).position, again);
        } finally {
          await driver.close();
          await chat.close();
        }
      });
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  test('verification reports each difference it finds: a changed message, a lost event, an extra session', () =>
    withTarget(async (t) => {
      await withLog(storeDir, async (store) => {
        await withDriver(t, (target) => migrate({ store, target }));
        await t.sql((n) => `UPDATE ${n('messages')} SET content = '"tampered"' WHERE message_id = 'm4'`);
        await t.sql((n) => `DELETE FROM ${n('events')} WHERE position = 1`);
        await t.sql((n) => `INSERT INTO ${n('sessions')} (session_id, user_id, title, metadata, archived, created_at, updated_at, version) VALUES ('extra', 'ann', 'Extra', '{}', ${t.kind === 'sqlite' ? 0 : 'false'}, 1, 1, 1)`);
        const report = await withDriver(t, (target) => verifyMigration({ store, target }));
        assert.not.ok(report.ok);
        const found = report.differences.map((d) => `${d.scope} ${d.id} ${d.table}`).sort();
        assert.equal(found, ['session extra sessions', 'session main messages', 'stream u-ann events']);
        assert.is(report.events.database.rows, report.events.log.rows - 1);
      });
    }));

  test('rollback drops exactly what the migration created: an unrelated table survives and the database is as it was', () =>
    withTarget(
      async (t) => {
        await t.sql((n) => `CREATE TABLE ${n('notes')} (id integer PRIMARY KEY, body text)`);
        await t.sql((n) => `INSERT INTO ${n('notes')} VALUES (1, 'keep me')`);
        const before = await t.objects();
        await withLog(storeDir, (store) => withDriver(t, (target) => migrate({ store, target })));
        assert.ok((await t.objects()).length > before.length + 10);
        const result = await withDriver(t, (target) => rollbackMigration(target));
        assert.is(result.dropped.length, 14);
        assert.is(result.namespace, false, 'the namespace held the unrelated table before');
        assert.equal(await t.objects(), before);
        await withDriver(t, async (d) => assert.equal((await d.query(`SELECT body FROM ${d.dialect.table('notes')}`)).map((r) => r.body), ['keep me']));
        const again = await rejected(withDriver(t, (target) => rollbackMigration(target)));
        assert.is(again.code, ErrorCode.NOT_FOUND);
      },
      { preexisting: true },
    ));

  test('rollback of a migration into a new namespace removes the namespace too', () =>
    withTarget(async (t) => {
      const before = await t.objects();
      await withLog(storeDir, (store) => withDriver(t, (target) => migrate({ store, target })));
      const result = await withDriver(t, (target) => rollbackMigration(target));
      assert.ok(result.namespace);
      assert.equal(await t.objects(), before);
      if (t.kind === 'sqlite') assert.not.ok(fs.existsSync(t.url.slice('sqlite:'.length)), 'the file the migration created is gone');
    }));

  test('tables named as the migration\'s but not created by it are refused with CONFLICT, and nothing is written', () =>
    withTarget(
      async (t) => {
        await t.sql((n) => `CREATE TABLE ${n('messages')} (id integer PRIMARY KEY)`);
        const before = await t.objects();
        const err = await rejected(withLog(storeDir, (store) => withDriver(t, (target) => migrate({ store, target }))));
        assert.is(err.code, ErrorCode.CONFLICT);
        assert.equal(err.details.tables, ['messages']);
        assert.equal(await t.objects(), before);
        assert.is((await rejected(withDriver(t, (target) => rollbackMigration(target)))).code, ErrorCode.CONFLICT, 'rollback does not touch them either');
        assert.equal(await t.objects(), before);
      },
      { preexisting: true },
    ));

  test('a marker of another format version, or a log that is not the one migrated, is refused', () =>
    withTarget(async (t) => {
      await withLog(storeDir, (store) => withDriver(t, (target) => migrate({ store, target })));
      const other = tempRoot('migration-other');
      try {
        await buildChatStore(other);
        // Same shape, other event ids: not the log these rows came from.
        const err = await rejected(withLog(other, (store) => withDriver(t, (target) => migrate({ store, target }))));
        assert.is(err.code, ErrorCode.CONFLICT);
        assert.match(err.message, 'another store');
      } finally {
        fs.rmSync(other, { recursive: true, force: true });
      }
      await t.sql((n) => `UPDATE ${n('migration')} SET format_version = 99`);
      const newer = await rejected(withLog(storeDir, (store) => withDriver(t, (target) => migrate({ store, target }))));
      assert.is(newer.code, ErrorCode.UNSUPPORTED_FORMAT);
    }));

  test.run();
}

const bad = flatfileSuite('migration: unreachable or refused targets');

bad('a target that is neither sqlite: nor postgres:// is INVALID_ARGUMENT', async () => {
  assert.is((await rejected(connectTarget('mysql://x'))).code, ErrorCode.INVALID_ARGUMENT);
  assert.is((await rejected(connectTarget('sqlite:'))).code, ErrorCode.INVALID_ARGUMENT);
});

bad('an SQLite file in a missing folder is NOT_FOUND; a file that is not a database is UNSUPPORTED_FORMAT and stays as it was', async () => {
  const dir = tempRoot('migration-bad');
  try {
    assert.is((await rejected(connectTarget(`sqlite:${dir}/missing/chat.db`))).code, ErrorCode.NOT_FOUND);
    const file = `${dir}/not-a-db`;
    fs.writeFileSync(file, 'hello, this is text and not a database at all, long enough to have a header');
    assert.is((await rejected(connectTarget(`sqlite:${file}`))).code, ErrorCode.UNSUPPORTED_FORMAT);
    assert.is(fs.readFileSync(file, 'utf8').startsWith('hello'), true);
    assert.equal(fs.readdirSync(dir).sort(), ['not-a-db']);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

bad('an unreachable PostgreSQL is IO; wrong credentials are INVALID_ARGUMENT; a missing database is NOT_FOUND', async () => {
  assert.is((await rejected(connectTarget('postgres://ffcdb:ffcdb@127.0.0.1:1/ffcdb_test'))).code, ErrorCode.IO);
  if (!postgresAvailable('migration: refused PostgreSQL credentials')) return;
  const url = new URL(process.env.FFCDB_TEST_POSTGRES!);
  url.password = 'definitely-wrong';
  assert.is((await rejected(connectTarget(url.toString()))).code, ErrorCode.INVALID_ARGUMENT);
  const missing = new URL(process.env.FFCDB_TEST_POSTGRES!);
  missing.pathname = '/ffcdb_no_such_database';
  assert.is((await rejected(connectTarget(missing.toString()))).code, ErrorCode.NOT_FOUND);
});

bad.after(() => fs.rmSync(storeDir, { recursive: true, force: true }));
bad.run();
