/**
 * Read the last 100 events of one session (readStream backward, limit 100) in a
 * store of 1,000 sessions × 100 events, against SQLite's indexed select of the
 * same rows (ORDER BY version DESC LIMIT 100 on the (stream_id, version) index).
 * Both decode every event into the same RecordedEvent objects.
 * Goal (issue 2): 2x faster than SQLite or better.
 */
import { seededRandom } from '../lib/chat-data.js';
import { openCorpus, standardShape } from '../lib/corpus.js';
import { Latencies, rate, rounds, sum, timeOps, type LoopResult } from '../lib/measure.js';
import { defineScenario } from '../lib/scenario.js';

export default defineScenario({
  title: 'read the last 100 events of one session among many',
  async run(ctx) {
    const shape = standardShape(ctx);
    const corpus = await openCorpus(ctx, shape);
    const { store, sqlite, info } = corpus;
    const readsPerRound = ctx.size(1500, 200);
    const roundCount = ctx.size(3, 1);
    const rnd = seededRandom(ctx.seed ^ 0xbeef);
    const order = Array.from({ length: readsPerRound * roundCount + 200 }, () => info.sessionIds[Math.floor(rnd() * info.sessions)] as string);
    const LIMIT = 100;

    // Same rows on both sides, newest first.
    for (const s of order.slice(0, 20)) {
      const a = await store.readStream(s, { direction: 'backward', limit: LIMIT });
      const b = sqlite.readLast(s, LIMIT);
      if (a.length !== LIMIT || b.length !== LIMIT || a.some((e, i) => e.id !== b[i]?.id || e.version !== b[i]?.version)) {
        throw new Error(`ffcdb and SQLite disagree on the last ${LIMIT} events of ${s}`);
      }
    }
    // Warm-up.
    for (const s of order.slice(20, 200)) {
      await store.readStream(s, { direction: 'backward', limit: LIMIT });
      sqlite.readLast(s, LIMIT);
    }

    const ff = { lat: new Latencies(), runs: [] as LoopResult[] };
    const sq = { lat: new Latencies(), runs: [] as LoopResult[] };
    let events = 0;
    await rounds(roundCount, [
      async (round) => {
        const base = 200 + round * readsPerRound;
        ff.runs.push(
          await timeOps(readsPerRound, async (i) => {
            events += (await store.readStream(order[base + i] as string, { direction: 'backward', limit: LIMIT })).length;
          }, ff.lat),
        );
      },
      async (round) => {
        const base = 200 + round * readsPerRound;
        sq.runs.push(await timeOps(readsPerRound, (i) => void sqlite.readLast(order[base + i] as string, LIMIT), sq.lat));
      },
    ]);
    if (events !== readsPerRound * roundCount * LIMIT) throw new Error(`read ${events} events, expected ${readsPerRound * roundCount * LIMIT}`);
    await corpus.close();

    const r = ctx.results;
    r.params = `${info.sessions.toLocaleString('en-US')} sessions × ${info.perSession} events · ${roundCount} × ${readsPerRound.toLocaleString('en-US')} reads of random sessions, interleaved`;
    const sqliteName = 'SQLite indexed select, same rows';
    r.compare({
      metric: 'throughput',
      kind: 'rate',
      unit: 'reads/s',
      value: rate(sum(ff.runs)),
      peers: [{ name: sqliteName, value: rate(sum(sq.runs)), goal: { text: '≥ 2× faster than SQLite', atLeast: 2 } }],
    });
    for (const p of ['p50', 'p99'] as const) {
      r.compare({ metric: `${p} latency`, kind: 'time', unit: 'ms', value: ff.lat.summary()[p], peers: [{ name: sqliteName, value: sq.lat.summary()[p] }] });
    }
    if (corpus.openMs > 0) r.note(`opening the store on ${info.events.toLocaleString('en-US')} events took ${corpus.openMs.toFixed(0)} ms (not timed above)`);
  },
});
