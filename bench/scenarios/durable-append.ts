/**
 * Durable append, one event per append, one writer, durability 'always':
 * the engine against the physical floor (a raw write + fdatasync loop of the
 * same number of bytes per append) and SQLite (WAL, synchronous=FULL, one
 * INSERT per transaction).
 * Goal (issue 2): within 1.3x of the floor, and no slower than SQLite.
 */
import { closeSync, fdatasyncSync, openSync, writeSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { join } from 'node:path';
import { messagePool, sessionIds } from '../lib/chat-data.js';
import { openFfcdb } from '../lib/ffcdb.js';
import { Latencies, rate, rounds, sum, timeOps, type LoopResult } from '../lib/measure.js';
import { defineScenario } from '../lib/scenario.js';
import { packr, SqliteEventLog } from '../lib/sqlite-peer.js';
import { dirSize } from '../lib/temp.js';

export default defineScenario({
  title: "durable append: one event per append, one writer, durability 'always'",
  durability: 'always',
  async run(ctx) {
    const opsPerRound = ctx.size(1500, 250);
    const roundCount = ctx.size(3, 1);
    const warmup = ctx.size(300, 100);
    const session = sessionIds(ctx.seed, 1)[0] as string;
    const pool = messagePool(ctx.seed, session, 500);
    const ev = (i: number) => pool[i % pool.length] as (typeof pool)[number];

    // --- the engine; its warm-up also tells how many bytes one append adds on disk
    const storeDir = join(ctx.dir, 'ffcdb');
    const store = await openFfcdb(storeDir, 'always');
    await store.append(session, ev(0));
    const before = await dirSize(storeDir);
    for (let i = 1; i <= warmup; i++) await store.append(session, ev(i));
    const after = await dirSize(storeDir);
    const grown = (after.bytes - before.bytes) / warmup;
    const msgpackBytes = Math.round(pool.reduce((s, e) => s + packr.pack(e).length, 0) / pool.length);
    const bytesPerAppend = grown > 0 ? Math.round(grown) : msgpackBytes;
    ctx.log(
      grown > 0
        ? `one append adds ${bytesPerAppend} B to the store on disk (event as msgpack: ${msgpackBytes} B); the floor writes ${bytesPerAppend} B per op`
        : `the store did not grow on disk; the floor writes the msgpack size of the event, ${bytesPerAppend} B per op`,
    );

    // --- the floors: the same bytes per op, appended to one file, fdatasync after each
    const payloads = pool.slice(0, 64).map((e) => {
      const src = packr.pack(e);
      const b = Buffer.alloc(bytesPerAppend);
      for (let o = 0; o < b.length; o += src.length) src.copy(b, o, 0, Math.min(src.length, b.length - o));
      return b;
    });
    const fd = openSync(join(ctx.dir, 'floor-sync.log'), 'a');
    const fh = await open(join(ctx.dir, 'floor-async.log'), 'a');
    const floorSync = (i: number) => {
      writeSync(fd, payloads[i % payloads.length] as Buffer);
      fdatasyncSync(fd);
    };
    const floorAsync = async (i: number) => {
      await fh.write(payloads[i % payloads.length] as Buffer);
      await fh.datasync();
    };

    // --- SQLite, WAL, synchronous=FULL, one insert per transaction
    const sqlite = new SqliteEventLog(join(ctx.dir, 'sqlite-full.db'), 'FULL');

    for (let i = 0; i < warmup; i++) {
      floorSync(i);
      await floorAsync(i);
      sqlite.append(session, ev(i));
    }

    const contenders = {
      ffcdb: { lat: new Latencies(), runs: [] as LoopResult[], op: (i: number) => store.append(session, ev(i)) },
      floorSync: { lat: new Latencies(), runs: [] as LoopResult[], op: floorSync },
      floorAsync: { lat: new Latencies(), runs: [] as LoopResult[], op: floorAsync },
      sqlite: { lat: new Latencies(), runs: [] as LoopResult[], op: (i: number) => sqlite.append(session, ev(i)) },
    };
    let offset = warmup + 1;
    await rounds(
      roundCount,
      Object.values(contenders).map((c) => async () => {
        c.runs.push(await timeOps(opsPerRound, (i) => c.op(offset + i), c.lat));
        offset += opsPerRound;
      }),
    );

    closeSync(fd);
    await fh.close();
    sqlite.close();
    await store.close();

    const r = ctx.results;
    r.params = `${roundCount} × ${opsPerRound.toLocaleString('en-US')} appends each, interleaved · ${bytesPerAppend} B per append`;
    const floorName = 'write+fdatasync, sync (physical floor)';
    const asyncName = 'write+fdatasync via fs.promises';
    const sqliteName = 'SQLite WAL sync=FULL, 1 insert/txn';
    const ops = (k: keyof typeof contenders) => rate(sum(contenders[k].runs));
    r.compare({
      metric: 'throughput',
      kind: 'rate',
      unit: 'appends/s',
      value: ops('ffcdb'),
      peers: [
        { name: floorName, value: ops('floorSync'), goal: { text: 'within 1.3× of the floor', atLeast: 1 / 1.3 } },
        { name: asyncName, value: ops('floorAsync') },
        { name: sqliteName, value: ops('sqlite'), goal: { text: 'no slower than SQLite', atLeast: 1 } },
      ],
    });
    for (const p of ['p50', 'p99'] as const) {
      const v = (k: keyof typeof contenders) => contenders[k].lat.summary()[p];
      r.compare({
        metric: `${p} latency`,
        kind: 'time',
        unit: 'ms',
        value: v('ffcdb'),
        peers: [
          { name: floorName, value: v('floorSync') },
          { name: asyncName, value: v('floorAsync') },
          { name: sqliteName, value: v('sqlite') },
        ],
      });
    }
  },
});
