/**
 * History import of a mail archive's shape (issue 11, deliverable 3): 2,000
 * threads of 1 to 3 messages (about 2 each, ~600 characters), each thread and
 * message with its own `createdAt` in 2002, into an empty durable store
 * through the bulk path (`chat.import.sessions`: one append per thread, 64
 * threads in flight, so appends share group commits; durability 'always').
 *
 * SQLite peer (bench/lib/sqlite-peer.ts SqliteChatDb schema, WAL,
 * synchronous=FULL): the same rows (the sessions, with their message count
 * and last message time, and the messages) inserted in transactions of 1,000
 * rows, as a bulk loader would.
 *
 * Both run on fresh stores in each round, interleaved.
 * Goal (issue 11): at least as fast as SQLite (rows/s).
 */
import { join } from 'node:path';
import { openChatStore } from '../../src/chat/chat-store.js';
import type { ImportedSession } from '../../src/chat/bulk-import.js';
import { chatText, seededRandom } from '../lib/chat-data.js';
import { rounds } from '../lib/measure.js';
import { defineScenario } from '../lib/scenario.js';
import { SqliteChatDb } from '../lib/sqlite-peer.js';
import { removeDir } from '../lib/temp.js';

const ROWS_PER_TRANSACTION = 1000;
const YEAR_2002 = Date.UTC(2002, 0, 1);

interface Thread extends ImportedSession {
  sessionId: string;
  createdAt: number;
  messages: { messageId: string; role: string; content: string; createdAt: number }[];
}

function archive(seed: number, threads: number, users: readonly string[]): Thread[] {
  const rnd = seededRandom(seed);
  return Array.from({ length: threads }, (_, t) => {
    const start = YEAR_2002 + Math.floor(rnd() * 364 * 86_400_000);
    // 1 to 3 messages, mean 2: most threads are a question and an answer.
    const count = 1 + Math.floor(rnd() * 3);
    const sessionId = `thread-${String(t).padStart(5, '0')}`;
    return {
      sessionId,
      userId: users[t % users.length]!,
      title: `Re:\t${chatText(rnd, 40).slice(0, 60)}`,
      createdAt: start,
      messages: Array.from({ length: count }, (_, m) => ({
        messageId: `${sessionId}.${m}`,
        role: m % 2 === 0 ? 'user' : 'assistant',
        content: chatText(rnd, 600),
        createdAt: start + m * 3_600_000,
      })),
    };
  });
}

/** The peer: the same rows into SQLite, committed every 1,000 rows. */
function sqliteImport(file: string, users: readonly string[], threads: readonly Thread[]): { rows: number; ms: number } {
  const sqlite = new SqliteChatDb(file, 'FULL');
  try {
    const now = Date.now();
    for (const u of users) sqlite.db.prepare('INSERT INTO users (user_id, display_name, email, created_at, updated_at) VALUES (?, ?, ?, ?, ?)').run(u, u, null, now, now);
    const started = performance.now();
    const insertSession = sqlite.db.prepare(
      'INSERT INTO sessions (session_id, user_id, title, created_at, updated_at, last_message_at, message_count, next_seq, version) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)',
    );
    const insertMessage = sqlite.db.prepare('INSERT INTO messages (session_id, seq, message_id, role, content, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)');
    const rows: (() => void)[] = [];
    for (const t of threads) {
      const last = t.messages.at(-1)!.createdAt;
      rows.push(() => insertSession.run(t.sessionId, t.userId, t.title, t.createdAt, now, last, t.messages.length, t.messages.length + 1, t.messages.length + 1));
      for (const [i, m] of t.messages.entries()) rows.push(() => insertMessage.run(t.sessionId, i + 1, m.messageId, m.role, JSON.stringify(m.content), m.createdAt, m.createdAt));
    }
    const batch = sqlite.db.transaction((slice: (() => void)[]) => {
      for (const row of slice) row();
    });
    for (let i = 0; i < rows.length; i += ROWS_PER_TRANSACTION) batch(rows.slice(i, i + ROWS_PER_TRANSACTION));
    return { rows: rows.length, ms: performance.now() - started };
  } finally {
    sqlite.close();
  }
}

async function ffcdbImport(dir: string, users: readonly string[], threads: readonly Thread[]): Promise<{ rows: number; ms: number }> {
  const chat = await openChatStore({ dir, durability: 'always' });
  try {
    for (const u of users) await chat.users.create({ userId: u });
    const started = performance.now();
    const report = await chat.import.sessions(threads);
    const ms = performance.now() - started;
    if (report.sessions !== threads.length) throw new Error(`imported ${report.sessions} sessions, not ${threads.length}`);
    return { rows: report.sessions + report.messages, ms };
  } finally {
    await chat.close();
  }
}

export default defineScenario({
  title: 'history import: an archive of short threads through chat.import.sessions (durable) vs SQLite in transactions of 1,000 rows',
  durability: 'always',
  async run(ctx) {
    const threadCount = ctx.size(2000, 300);
    const roundCount = ctx.size(3, 1);
    const users = ['ann', 'bob', 'carl', 'dana'];
    const threads = archive(ctx.seed ^ 0x1a7e, threadCount, users);
    const ours: { rows: number; ms: number }[] = [];
    const peer: { rows: number; ms: number }[] = [];

    // The same data reads back the same: a thread's createdAt, its messages' times and count.
    {
      const dir = join(ctx.dir, 'check');
      await ffcdbImport(dir, users, threads.slice(0, 20));
      const chat = await openChatStore({ dir, durability: 'none' });
      const t = threads[7]!;
      const s = await chat.sessions.get(t.sessionId);
      const page = await chat.messages.list(t.sessionId);
      await chat.close();
      if (s.createdAt !== t.createdAt || s.messageCount !== t.messages.length || page.items.some((m, i) => m.createdAt !== t.messages[i]!.createdAt)) {
        throw new Error('the import does not read back as given');
      }
      await removeDir(dir);
    }

    await rounds(roundCount, [
      async (round) => {
        const dir = join(ctx.dir, `ffcdb-${round}`);
        ours.push(await ffcdbImport(dir, users, threads));
        await removeDir(dir);
      },
      async (round) => {
        peer.push(sqliteImport(join(ctx.dir, `sqlite-${round}.db`), users, threads));
      },
    ]);

    const rate = (runs: { rows: number; ms: number }[]) => (runs.reduce((a, r) => a + r.rows, 0) / runs.reduce((a, r) => a + r.ms, 0)) * 1000;
    const messages = threads.reduce((a, t) => a + t.messages.length, 0);
    const r = ctx.results;
    r.params = `${threadCount.toLocaleString('en-US')} threads, ${messages.toLocaleString('en-US')} messages (~600 characters) · ${roundCount} rounds, interleaved, each into a fresh store`;
    r.compare({
      metric: 'import throughput',
      kind: 'rate',
      unit: 'rows/s',
      value: rate(ours),
      peers: [{ name: 'SQLite WAL sync=FULL, 1,000 rows/txn', value: rate(peer), goal: { text: 'at least as fast as SQLite in transactions of 1,000 (issue 11)', atLeast: 1 } }],
    });
    r.compare({
      metric: 'archive import time',
      kind: 'time',
      unit: 'ms',
      value: ours.reduce((a, x) => a + x.ms, 0) / ours.length,
      peers: [{ name: 'SQLite WAL sync=FULL, 1,000 rows/txn', value: peer.reduce((a, x) => a + x.ms, 0) / peer.length }],
    });
    r.note('a row is a session or a message; ffcdb also keeps every event, its projections and the audit trail');
  },
});
