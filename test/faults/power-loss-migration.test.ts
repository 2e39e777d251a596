import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { type ChatStore, openChatStore } from '../../src/chat/chat-store.js';
import { migrate } from '../../src/migration/migrate.js';
import { verifyMigration } from '../../src/migration/verify.js';
import { connectSqlite } from '../../src/sql/sqlite/connect.js';
import type { SqlDriver } from '../../src/sql/driver.js';
import { type PathUnderTest, runPowerCuts } from '../support/power-loss-cuts.js';

/**
 * The migration checkpoint is a row of the target database, committed in the same transaction as its
 * batch's rows: nothing of ours on disk, and SQLite's durability is SQLite's (its file lies outside the
 * simulated folder and is kept as SQLite left it). What power loss can do is take the log's unsynced
 * tail from under a checkpoint that already reflects it. (SQLite on this thread: connectSqlite, what
 * connectTarget runs on a worker thread, without the thread's start-up.) So the store's folder loses power while a
 * migration follows the chat writes into SQLite; after it, with durability 'always', the migration
 * resumes from its checkpoint on the recovered log without a CONFLICT (the checkpoint never runs ahead
 * of the durable log) and verifies clean against it.
 */
interface MigrationState {
  sqlite: string;
  chat?: ChatStore;
  target?: SqlDriver;
  stop?: AbortController;
  following?: Promise<unknown>;
}

const migrationPath: PathUnderTest<MigrationState> = {
  name: 'migration checkpoint (the log under a following migration)',
  cuts: 25,
  async setup(root) {
    const chat = await openChatStore({ dir: root });
    await chat.users.create({ userId: 'alice' });
    await chat.sessions.create({ userId: 'alice', sessionId: 's1', title: 'power' });
    await chat.close();
  },
  state: () => ({ sqlite: '' }),
  async work(root, _run, s) {
    s.sqlite = `${root}.sqlite`;
    s.chat = await openChatStore({ dir: root });
    s.target = await connectSqlite(s.sqlite);
    s.stop = new AbortController();
    s.following = migrate({ store: s.chat.events, target: s.target, follow: true, signal: s.stop.signal, batchSize: 4 });
    // Awaited after the writes (or by abandon): marked handled now, so a cut that fails it meanwhile is not an unhandled rejection ending the test process.
    s.following.catch(() => undefined);
    for (let i = 0; i < 12; i++) {
      await s.chat.messages.add('s1', { role: 'user', content: `message ${i}` });
      if (i % 3 === 2) await s.chat.context.patch('s1', { step: i });
    }
    s.stop.abort();
    await s.following;
    await s.target.close();
    await s.chat.close();
  },
  abandon: async (s) => {
    s.stop?.abort();
    await s.following?.catch(() => undefined);
    await s.target?.close().catch(() => undefined);
    await s.chat?.close();
  },
  async check(image, s) {
    let chat: ChatStore;
    try {
      chat = await openChatStore({ dir: image, create: false });
    } catch (err) {
      return [`the chat store does not open: ${String(err)}`];
    }
    const target = await connectSqlite(s.sqlite);
    try {
      await migrate({ store: chat.events, target });
      const report = await verifyMigration({ store: chat.events, target });
      return report.ok ? [] : [`the migration does not verify: ${JSON.stringify(report.differences).slice(0, 500)}`];
    } catch (err) {
      return [`resuming the migration fails: ${String(err)}`];
    } finally {
      await target.close();
      await chat.close();
    }
  },
};

test("the migration checkpoint after power loss of the store at random calls, durability 'always': the migration resumes on the recovered log and verifies clean", async () => {
  const summary = await runPowerCuts(migrationPath);
  assert.ok(summary.calls > 30, `${summary.calls} calls`);
});

test.run();
