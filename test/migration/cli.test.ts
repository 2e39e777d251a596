/**
 * `ffcdb migrate`, `migrate verify` and `migrate rollback`: exit codes 0 (done,
 * or the database agrees), 1 (verify found differences), 2 (bad usage or a
 * refused target, with the error's code and message); progress as plain lines
 * when stdout is not a terminal; `--follow` picks up another process's writes
 * and stops cleanly on SIGTERM.
 */
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import * as assert from 'uvu/assert';
import { openChatStore } from '../../src/chat/chat-store.js';
import { flatfileSuite } from '../flatfile/unit-helpers.js';
import { buildChatStore } from '../support/migration-store.js';
import { postgresAvailable } from '../support/postgres.js';
import { type TestTarget, postgresTarget, sqliteTarget, tempRoot, withDriver } from './helpers.js';

const CLI = path.resolve('src/cli/ffcdb.ts');

function ffcdb(...args: string[]) {
  return spawnSync(process.execPath, ['--import', 'tsx', CLI, ...args], { encoding: 'utf8', timeout: 120_000 });
}

const test = flatfileSuite('ffcdb migrate');
const storeDir = tempRoot('migration-cli');
test.before(() => buildChatStore(storeDir).then(() => undefined));
test.after(() => fs.rmSync(storeDir, { recursive: true, force: true }));

const kinds: { kind: string; make: () => TestTarget }[] = [{ kind: 'sqlite', make: () => sqliteTarget() }];
if (postgresAvailable('ffcdb migrate on PostgreSQL')) kinds.push({ kind: 'postgres', make: () => postgresTarget() });

for (const { kind, make } of kinds) {
  test(`${kind}: migrate, verify, tamper, verify again, roll back`, async () => {
    const t = make();
    try {
      const run = ffcdb('migrate', '--dir', storeDir, '--to', t.url, ...t.namespaceArgs, '--batch', '10');
      assert.is(run.status, 0, run.stderr);
      assert.match(run.stdout, /migrated \d+ events in \d+ batches .* events\/s\); checkpoint \d+/);
      assert.not.match(run.stdout, 'ffcdb:ffcdb@', 'no password in the output');
      const verify = ffcdb('migrate', 'verify', '--dir', storeDir, '--to', t.url, ...t.namespaceArgs);
      assert.is(verify.status, 0, verify.stdout + verify.stderr);
      assert.match(verify.stdout, 'the database agrees with the log');
      await t.sql((n) => `UPDATE ${n('context')} SET value = '{"changed":true}' WHERE session_id = 'main'`);
      const differ = ffcdb('migrate', 'verify', '--dir', storeDir, '--to', t.url, ...t.namespaceArgs);
      assert.is(differ.status, 1);
      assert.match(differ.stdout, 'session main context: log 1 rows');
      assert.match(differ.stdout, '1 differences');
      const rollback = ffcdb('migrate', 'rollback', '--to', t.url, ...t.namespaceArgs);
      assert.is(rollback.status, 0, rollback.stderr);
      assert.match(rollback.stdout, 'dropped 14 tables');
      const none = ffcdb('migrate', 'verify', '--dir', storeDir, '--to', t.url, ...t.namespaceArgs);
      assert.is(none.status, 2);
      assert.match(none.stderr, 'NOT_FOUND');
    } finally {
      await t.cleanup();
    }
  });

  test(`${kind}: --follow picks up another process's writes and stops on SIGTERM`, async () => {
    const t = make();
    const dir = tempRoot('migration-cli-follow');
    try {
      const chat = await openChatStore({ dir, durability: 'always' });
      try {
        await chat.users.create({ userId: 'ann' });
        await chat.sessions.create({ userId: 'ann', sessionId: 'live', title: 'Live' });
        const child = spawn(process.execPath, ['--import', 'tsx', CLI, 'migrate', '--dir', dir, '--to', t.url, ...t.namespaceArgs, '--follow'], { stdio: ['ignore', 'pipe', 'pipe'] });
        let out = '';
        let err = '';
        child.stdout!.setEncoding('utf8').on('data', (s: string) => (out += s));
        child.stderr!.setEncoding('utf8').on('data', (s: string) => (err += s));
        const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
        for (let i = 0; i < 300 && !out.includes('following'); i++) await new Promise((r) => setTimeout(r, 50));
        assert.match(out, 'following the log', err);
        await chat.messages.add('live', { messageId: 'from-the-app', role: 'user', content: 'written while following' });
        const seen = async () => withDriver(t, async (d) => (await d.query(`SELECT 1 AS x FROM ${d.dialect.table('messages')} WHERE message_id = 'from-the-app'`)).length === 1);
        let found = false;
        for (let i = 0; i < 200 && !found; i++) {
          await new Promise((r) => setTimeout(r, 50));
          found = await seen();
        }
        assert.ok(found, `the follower did not migrate the new message:\n${out}\n${err}`);
        child.kill('SIGTERM');
        assert.is(await exited, 0, err);
        assert.match(out, /stopped at position \d+/);
      } finally {
        await chat.close();
      }
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
      await t.cleanup();
    }
  });
}

test('verify and rollback of a missing SQLite file are NOT_FOUND and leave no file behind', () => {
  const dir = tempRoot('migration-missing');
  const file = path.join(dir, 'nothing-here.db');
  try {
    for (const args of [['verify', '--dir', storeDir], ['rollback']]) {
      const run = ffcdb('migrate', ...args, '--to', `sqlite:${file}`);
      assert.is(run.status, 2, run.stdout + run.stderr);
      assert.match(run.stderr, 'NOT_FOUND');
      assert.match(run.stderr, 'does not exist');
      for (const suffix of ['', '-wal', '-shm', '-journal']) assert.not.ok(fs.existsSync(file + suffix), `migrate ${args[0]} left ${file}${suffix}`);
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('bad usage and refused targets exit 2 with the reason', async () => {
  const t = sqliteTarget({ preexisting: true });
  try {
    const typo = ffcdb('migrate', 'verfy', '--dir', storeDir, '--to', t.url);
    assert.is(typo.status, 2);
    assert.match(typo.stderr, 'unexpected "verfy"');
    assert.is(ffcdb('migrate', '--dir', storeDir).status, 2, '--to is required');
    assert.is(ffcdb('migrate', '--dir', storeDir, '--to', t.url, '--batch', '0').status, 2);
    const unreachable = ffcdb('migrate', '--dir', storeDir, '--to', 'postgres://ffcdb:secret@127.0.0.1:1/ffcdb_test');
    assert.is(unreachable.status, 2);
    assert.match(unreachable.stderr, 'IO: cannot reach PostgreSQL');
    assert.not.match(unreachable.stderr, 'secret');
    await t.sql((n) => `CREATE TABLE ${n('events')} (x integer)`);
    const before = await t.objects();
    const foreign = ffcdb('migrate', '--dir', storeDir, '--to', t.url);
    assert.is(foreign.status, 2);
    assert.match(foreign.stderr, 'CONFLICT');
    assert.match(foreign.stderr, 'did not create');
    assert.equal(await t.objects(), before);
  } finally {
    await t.cleanup();
  }
});

test.run();
