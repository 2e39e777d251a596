/**
 * Replay of the whole global feed: decode and deliver every event, in position
 * order, with streamAll (async iterator) and with readAll pages of 1,000,
 * against a full scan of SQLite's table decoding the same rows.
 * Goal (issue 2): 300,000 events/s or more.
 */
import type { RecordedEvent } from '../../src/kernel/types.js';
import { openCorpus, standardShape } from '../lib/corpus.js';
import { median, rounds } from '../lib/measure.js';
import { defineScenario } from '../lib/scenario.js';

/** Touches what a projection would read, so that no decoding can be skipped. */
function touch(e: RecordedEvent): number {
  const d = e.data as { content?: { text?: string }[] } | null;
  return e.position + (d?.content?.[0]?.text?.length ?? 0) + (e.metadata.actor?.length ?? 0);
}

export default defineScenario({
  title: 'replay the whole global feed (decode and deliver every event)',
  async run(ctx) {
    const corpus = await openCorpus(ctx, standardShape(ctx));
    const { store, sqlite, info } = corpus;
    const roundCount = ctx.size(3, 1);
    const rates = { stream: [] as number[], pages: [] as number[], sqlite: [] as number[] };
    let checksum = 0;

    const timed = async (into: number[], body: () => Promise<number> | number) => {
      const t0 = performance.now();
      const n = await body();
      const ms = performance.now() - t0;
      if (n !== info.events) throw new Error(`replayed ${n} events, expected ${info.events}`);
      into.push((n * 1000) / ms);
    };
    const viaStream = async () => {
      let n = 0;
      for await (const e of store.streamAll()) {
        checksum += touch(e);
        n++;
      }
      return n;
    };
    const viaPages = async () => {
      let n = 0;
      let from = 1;
      for (;;) {
        const page = await store.readAll({ fromPosition: from, limit: 1000 });
        for (const e of page.events) checksum += touch(e);
        n += page.events.length;
        if (page.events.length === 0 || page.nextPosition > page.headPosition) break;
        from = page.nextPosition;
      }
      return n;
    };
    const viaSqlite = () => {
      let n = 0;
      for (const e of sqlite.scan()) {
        checksum += touch(e);
        n++;
      }
      return n;
    };

    // One untimed pass over the same files (JIT, page cache).
    await viaStream();
    viaSqlite();
    await rounds(roundCount, [
      () => timed(rates.stream, viaStream),
      () => timed(rates.pages, viaPages),
      () => timed(rates.sqlite, viaSqlite),
    ]);
    await corpus.close();

    const r = ctx.results;
    r.params = `${info.events.toLocaleString('en-US')} events in ${info.sessions.toLocaleString('en-US')} sessions · median of ${roundCount} passes each, interleaved`;
    const sqliteName = 'SQLite full scan, same rows decoded';
    r.compare({
      metric: 'streamAll',
      kind: 'rate',
      unit: 'events/s',
      value: median(rates.stream),
      peers: [
        { name: sqliteName, value: median(rates.sqlite) },
        { name: '300,000 events/s', value: 300_000, target: true, goal: { text: '≥ 300,000 events/s', atLeast: 1 } },
      ],
    });
    r.compare({
      metric: 'readAll pages of 1,000',
      kind: 'rate',
      unit: 'events/s',
      value: median(rates.pages),
      peers: [
        { name: sqliteName, value: median(rates.sqlite) },
        { name: '300,000 events/s', value: 300_000, target: true },
      ],
    });
    if (checksum === -1) console.log(checksum); // keeps the work observable
  },
});
