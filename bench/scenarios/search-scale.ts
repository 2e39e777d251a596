/**
 * Search at scale, run only when named: a store of N sessions × 100 messages
 * (`--sessions N`; default 100,000 = 10,000,000 messages, issue 5's scale
 * run; quick: 200) of N / 20 users, ~600-character messages, beside SQLite
 * FTS5 over the same messages:
 *
 * - the store is written raw through the engine (durability 'none', appends
 *   of 10 events, 500 sessions at a time round by round), then opened once
 *   through the chat API so that its projections are snapshotted; how long
 *   that took is reported;
 * - FTS5 is fed from the store's log in transactions of 10,000 rows (only the
 *   INSERTs timed);
 * - then as `search`: our index build (the first search, then closing the
 *   store, which writes the index out), size on disk,
 *   resident memory after opening (a fresh process), and p50/p99 of the five
 *   query classes, interleaved with FTS5.
 *
 *   npm run bench -- search-scale --sessions 10000 --timeout 1200
 */
import { join } from 'node:path';
import { openChatStore } from '../../src/chat/chat-store.js';
import type { EventStore } from '../../src/engine/event-store.js';
import type { NewEvent } from '../../src/kernel/types.js';
import { chatApiMessage, chatSessionInput, seededRandom, sessionIds } from '../lib/chat-data.js';
import { openFfcdb } from '../lib/ffcdb.js';
import { defineScenario } from '../lib/scenario.js';
import { FTS5, Fts5Peer, MB, type PeerRow, count, ffcdbMemory, ffcdbQueries, last30Days, messageText, queryClasses, queryRounds, writeQueries } from '../lib/search-bench.js';
import { dirSize, filesSize } from '../lib/temp.js';

const PER_SESSION = 100;
const SESSIONS_PER_USER = 20;
const SLICE = 500;
const PER_APPEND = 10;

const secs = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

/** N sessions × 100 messages into `store`, a slice of sessions at a time (only a slice's events in memory). */
async function fill(store: EventStore, sessions: number, users: string[], seed: number, log: (m: string) => void): Promise<void> {
  const rnd = seededRandom(seed ^ 0x5ca1e);
  const t0 = performance.now();
  for (const userId of users) await store.append(`u-${userId}`, { type: 'user.created', data: { userId, displayName: `${userId} display name` } });
  const ids = sessionIds(seed, sessions).map((s) => s.replace(/^ses_/, 'ses-'));
  const start = Date.UTC(2025, 0, 6, 9);
  const every = Math.max(1, Math.round(sessions / SLICE / 10));
  for (let first = 0; first < sessions; first += SLICE) {
    const slice = ids.slice(first, first + SLICE);
    const events = slice.map((sessionId, i): NewEvent[] => [
      { type: 'session.created', data: { userId: users[(first + i) % users.length]!, ...chatSessionInput(rnd) } },
      ...Array.from({ length: PER_SESSION }, (_, seq): NewEvent => ({ type: 'message.added', schemaVersion: 2, data: chatApiMessage(rnd, { sessionId, seq, at: start + seq * 45_000 }).message })),
    ]);
    for (let from = 0; from < PER_SESSION + 1; from += PER_APPEND) {
      await Promise.all(slice.map((sessionId, i) => store.append(`s-${sessionId}`, events[i]!.slice(from, from + PER_APPEND))));
    }
    if ((first / SLICE + 1) % every === 0) log(`  … ${count((first + SLICE) * PER_SESSION)} messages (${secs(performance.now() - t0)})`);
  }
}

/** Feeds FTS5 from the log in transactions of 10,000 rows; returns the first 5,000 rows (the query words' sample) and the time span. */
async function feedFts5(events: EventStore, fts5: Fts5Peer): Promise<{ sample: PeerRow[]; first: number; last: number }> {
  const owners = new Map<string, string>();
  const sample: PeerRow[] = [];
  let batch: PeerRow[] = [];
  let first = Infinity;
  let last = -Infinity;
  for await (const e of events.streamAll({ types: ['session.created', 'message.added'] })) {
    const sessionId = e.streamId.slice(2);
    const d = e.data as { userId?: string; content?: unknown };
    if (e.type === 'session.created') {
      owners.set(sessionId, d.userId!);
      continue;
    }
    const row = { text: messageText(d.content), userId: owners.get(sessionId)!, sessionId, at: e.timestamp };
    if (sample.length < 5_000) sample.push(row);
    first = Math.min(first, row.at);
    last = Math.max(last, row.at);
    batch.push(row);
    if (batch.length === 10_000) {
      fts5.add(batch);
      batch = [];
    }
  }
  fts5.add(batch);
  fts5.checkpoint();
  return { sample, first, last };
}

export default defineScenario({
  title: 'search at scale: index build, size, resident memory and query latency vs SQLite FTS5',
  durability: 'always',
  async run(ctx) {
    const sessions = ctx.sessions ?? ctx.size(100_000, 200);
    const messages = sessions * PER_SESSION;
    const users = Array.from({ length: Math.max(1, Math.round(sessions / SESSIONS_PER_USER)) }, (_, i) => `usr-${String(i).padStart(6, '0')}`);
    const storeDir = join(ctx.dir, 'ffcdb');

    ctx.log(`building a store of ${count(sessions)} sessions × ${PER_SESSION} messages (${count(messages)} messages, ${count(users.length)} users), raw through the engine, durability 'none'`);
    let t0 = performance.now();
    const raw = await openFfcdb(storeDir, 'none');
    try {
      await fill(raw, sessions, users, ctx.seed, ctx.log);
    } finally {
      await raw.close();
    }
    const writeMs = performance.now() - t0;
    t0 = performance.now();
    await (await openChatStore({ dir: storeDir, durability: 'none' })).close();
    const projectMs = performance.now() - t0;
    ctx.log(`written in ${secs(writeMs)}; projections built and snapshotted in ${secs(projectMs)}`);

    const fts5 = new Fts5Peer(join(ctx.dir, 'fts5.db'));
    const chat = await openChatStore({ dir: storeDir, durability: 'always' });
    try {
      const { sample, first, last } = await feedFts5(chat.events, fts5);
      ctx.log(`FTS5 indexed ${count(fts5.docs)} messages in ${secs(fts5.buildMs)} (INSERTs only)`);
      // Built when on disk (see search.ts): closing the store writes out what the index holds only in memory.
      t0 = performance.now();
      await chat.search(users[0]!, 'the');
      const firstSearchMs = performance.now() - t0;
      await chat.close();
      const buildMs = performance.now() - t0;
      ctx.log(`ffcdb indexed the whole log in ${secs(buildMs)}, written out by closing the store`);
      const onDisk = await dirSize(join(storeDir, 'search'));

      const r = ctx.results;
      r.compare({ metric: 'store build (written raw, projections snapshotted)', kind: 'time', unit: 's', value: (writeMs + projectMs) / 1000, peers: [] });
      r.compare({ metric: 'index build', kind: 'rate', unit: 'msg/s', value: messages / (buildMs / 1000), peers: [{ name: FTS5, value: fts5.docs / (fts5.buildMs / 1000), goal: { text: 'at least as fast as FTS5', atLeast: 1 } }] });
      const ftsOnDisk = await filesSize([fts5.file]);
      r.compare({ metric: 'index size on disk', kind: 'size', unit: 'MB', value: onDisk.bytes / MB, peers: [{ name: FTS5, value: ftsOnDisk.bytes / MB, goal: { text: 'no larger than FTS5', atLeast: 1 } }] });

      const plan = { rounds: ctx.size(2, 1), perRound: ctx.size(50, 20), childPerRound: 0 };
      const classes = queryClasses(sample, users, plan.perRound * plan.rounds, ctx.seed, last30Days(first, last));
      const ours = await ffcdbQueries(storeDir, await writeQueries(ctx.dir, classes));
      const openMs = ours.ready.buildMs;
      try {
        await queryRounds(r, ctx.log, classes, { ours, fts5, p99Target: false }, plan);
      } finally {
        ours.close();
      }
      r.params = `${count(sessions)} sessions × ${PER_SESSION} messages (${count(messages)} messages), ${count(users.length)} users · top 20 per query, ${plan.rounds} × ${plan.perRound} queries per class, interleaved`;
      r.note(`store built in ${secs(writeMs + projectMs)}: written raw in ${secs(writeMs)}, projections built and snapshotted in ${secs(projectMs)}; reopened with its index, in a process of its own for the queries, in ${secs(openMs)}`);
      r.note(`index build: ffcdb ${secs(buildMs)} (the first search reads and indexes the whole log in ${secs(firstSearchMs)}; closing the store writes out the rest); FTS5 ${secs(fts5.buildMs)} (INSERTs only, rows read from the log untimed)`);
    } finally {
      fts5.close();
      await chat.close();
    }

    const mem = await ffcdbMemory(storeDir, users[0]!);
    ctx.results.compare({ metric: 'resident memory after opening', kind: 'size', unit: 'MB', value: mem.rssBytes / MB, peers: [] });
    ctx.results.note(`memory: RSS growth after global.gc() in a fresh process, from the store just opened (which itself added ${(mem.openRssBytes! / MB).toFixed(0)} MB) to after one search (${mem.buildMs.toFixed(0)} ms; heap +${(mem.heapBytes / MB).toFixed(1)} MB, buffers +${(mem.bufferBytes / MB).toFixed(1)} MB)`);
    ctx.results.note(`"last 30 days": from 30 % of the way back from the newest message to the oldest, as if the set spanned 100 days`);
  },
});
