/**
 * Appends without fsync: one writer, one event per append, durability 'none',
 * against SQLite (WAL, synchronous=NORMAL: no fsync on commit), one INSERT per
 * transaction.
 * Goal (issue 2): ahead of SQLite.
 */
import { join } from 'node:path';
import { messagePool, sessionIds } from '../lib/chat-data.js';
import { openFfcdb } from '../lib/ffcdb.js';
import { Latencies, rate, rounds, sum, timeWriters, type LoopResult } from '../lib/measure.js';
import { defineScenario } from '../lib/scenario.js';
import { SqliteEventLog } from '../lib/sqlite-peer.js';

export default defineScenario({
  title: "appends without fsync: one writer, one event per append, durability 'none'",
  durability: 'none',
  async run(ctx) {
    const roundMs = ctx.size(2000, 400);
    const roundCount = ctx.size(3, 1);
    const session = sessionIds(ctx.seed, 1)[0] as string;
    const pool = messagePool(ctx.seed, session, 500);
    const ev = (i: number) => pool[i % pool.length] as (typeof pool)[number];

    const store = await openFfcdb(join(ctx.dir, 'ffcdb'), 'none');
    const sqlite = new SqliteEventLog(join(ctx.dir, 'sqlite-normal.db'), 'NORMAL');
    await timeWriters(1, ctx.size(500, 150), (_, i) => store.append(session, ev(i)));
    await timeWriters(1, ctx.size(500, 150), (_, i) => sqlite.append(session, ev(i)));

    const ff = { lat: new Latencies(), runs: [] as LoopResult[] };
    const sq = { lat: new Latencies(), runs: [] as LoopResult[] };
    await rounds(roundCount, [
      async () => void ff.runs.push(await timeWriters(1, roundMs, (_, i) => store.append(session, ev(i)), ff.lat)),
      async () => void sq.runs.push(await timeWriters(1, roundMs, (_, i) => sqlite.append(session, ev(i)), sq.lat)),
    ]);
    sqlite.close();
    await store.close();

    const r = ctx.results;
    r.params = `${roundCount} × ${roundMs / 1000} s each, interleaved · ${sum(ff.runs).ops.toLocaleString('en-US')} ffcdb appends`;
    const sqliteName = 'SQLite WAL sync=NORMAL, 1 insert/txn';
    r.compare({
      metric: 'throughput',
      kind: 'rate',
      unit: 'events/s',
      value: rate(sum(ff.runs)),
      peers: [{ name: sqliteName, value: rate(sum(sq.runs)), goal: { text: 'ahead of SQLite synchronous=NORMAL', atLeast: 1 } }],
    });
    for (const p of ['p50', 'p99'] as const) {
      r.compare({ metric: `${p} latency`, kind: 'time', unit: 'ms', value: ff.lat.summary()[p], peers: [{ name: sqliteName, value: sq.lat.summary()[p] }] });
    }
  },
});
