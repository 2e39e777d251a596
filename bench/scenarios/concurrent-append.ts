/**
 * 64 concurrent async writers, each appending one event at a time to its own
 * session, durability 'always' (group commit: concurrent appends share one
 * fsync), against SQLite (WAL, synchronous=FULL) with the same 64 writers, one
 * INSERT per transaction.
 * Goal (issue 2): at least 4x SQLite and at least 50,000 events/s.
 */
import { join } from 'node:path';
import { messagePool, sessionIds } from '../lib/chat-data.js';
import { openFfcdb } from '../lib/ffcdb.js';
import { Latencies, rate, rounds, sum, timeWriters, type LoopResult } from '../lib/measure.js';
import { defineScenario } from '../lib/scenario.js';
import { SqliteEventLog } from '../lib/sqlite-peer.js';

const WRITERS = 64;

export default defineScenario({
  title: "64 concurrent writers to 64 sessions, durability 'always' (group commit)",
  durability: 'always',
  async run(ctx) {
    const roundMs = ctx.size(2500, 500);
    const roundCount = ctx.size(2, 1);
    const sessions = sessionIds(ctx.seed, WRITERS);
    const pools = sessions.map((s, w) => messagePool(ctx.seed + w, s, 64));
    const ev = (w: number, i: number) => (pools[w] as NonNullable<(typeof pools)[number]>)[i % 64] as NonNullable<(typeof pools)[number]>[number];

    const store = await openFfcdb(join(ctx.dir, 'ffcdb'), 'always');
    const sqlite = new SqliteEventLog(join(ctx.dir, 'sqlite-full.db'), 'FULL');
    // Sessions exist before timing; then a short untimed warm-up of both.
    await Promise.all(sessions.map((s, w) => store.append(s, ev(w, 0))));
    await timeWriters(WRITERS, ctx.size(400, 150), (w, i) => store.append(sessions[w] as string, ev(w, i + 1)));
    await timeWriters(WRITERS, ctx.size(400, 150), (w, i) => sqlite.append(sessions[w] as string, ev(w, i)));

    const ff = { lat: new Latencies(), runs: [] as LoopResult[] };
    const sq = { lat: new Latencies(), runs: [] as LoopResult[] };
    await rounds(roundCount, [
      async () => void ff.runs.push(await timeWriters(WRITERS, roundMs, (w, i) => store.append(sessions[w] as string, ev(w, i)), ff.lat)),
      async () => void sq.runs.push(await timeWriters(WRITERS, roundMs, (w, i) => sqlite.append(sessions[w] as string, ev(w, i)), sq.lat)),
    ]);
    sqlite.close();
    await store.close();

    const r = ctx.results;
    r.params = `${WRITERS} writers · ${roundCount} × ${roundMs / 1000} s each, interleaved · ${sum(ff.runs).ops.toLocaleString('en-US')} ffcdb appends`;
    const sqliteName = 'SQLite WAL sync=FULL, 64 writers, 1 insert/txn';
    r.compare({
      metric: 'throughput',
      kind: 'rate',
      unit: 'events/s',
      value: rate(sum(ff.runs)),
      peers: [
        { name: sqliteName, value: rate(sum(sq.runs)), goal: { text: '≥ 4× SQLite', atLeast: 4 } },
        { name: '50,000 events/s', value: 50_000, target: true, goal: { text: '≥ 50,000 events/s', atLeast: 1 } },
      ],
    });
    for (const p of ['p50', 'p99'] as const) {
      r.compare({ metric: `${p} latency`, kind: 'time', unit: 'ms', value: ff.lat.summary()[p], peers: [{ name: sqliteName, value: sq.lat.summary()[p] }] });
    }
    r.note('better-sqlite3 is synchronous, so the 64 writers\' transactions run one after another, as SQLite\'s single write lock would have them anyway.');
  },
});
