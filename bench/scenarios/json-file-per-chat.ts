/**
 * How common chat-history stores work today: one JSON file per chat, read,
 * parsed, appended to, serialised and rewritten (to a temporary file, fsynced,
 * renamed over the old one) on every new message. Against the engine appending
 * one event with durability 'always', to a chat that already holds 1,000 and
 * 5,000 messages.
 * No goal in issue 2: the figures show what moving to the log buys.
 */
import { open, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { NewEvent } from '../../src/kernel/types.js';
import { messagePool, sessionIds } from '../lib/chat-data.js';
import { openFfcdb } from '../lib/ffcdb.js';
import { Latencies, rate, rounds, sum, timeOps, type LoopResult } from '../lib/measure.js';
import { defineScenario } from '../lib/scenario.js';

/** A chat message as a JSON-file store keeps it. */
function asJsonMessage(e: NewEvent): unknown {
  return { ...(e.data as object), metadata: e.metadata };
}

/** The JSON-file store's append: read, parse, push, stringify, write a temp file, fsync it, rename it over. */
async function jsonAppend(file: string, message: unknown): Promise<void> {
  const messages = JSON.parse(await readFile(file, 'utf8')) as unknown[];
  messages.push(message);
  const tmp = `${file}.tmp`;
  const fh = await open(tmp, 'w');
  try {
    await fh.writeFile(JSON.stringify(messages));
    await fh.datasync();
  } finally {
    await fh.close();
  }
  await rename(tmp, file);
}

export default defineScenario({
  title: 'append to a chat of 1,000 and 5,000 messages vs a JSON file per chat',
  durability: 'always',
  async run(ctx) {
    const r = ctx.results;
    const roundCount = ctx.size(3, 1);
    const plan = [
      { size: 1000, perRound: ctx.size(60, 25) },
      { size: 5000, perRound: ctx.size(15, 6) },
    ];
    const params: string[] = [];
    for (const { size, perRound } of plan) {
      const session = sessionIds(ctx.seed + size, 1)[0] as string;
      const total = perRound * roundCount + 10;
      const pool = messagePool(ctx.seed + size, session, size + total);

      const store = await openFfcdb(join(ctx.dir, `ffcdb-${size}`), 'always');
      for (let i = 0; i < size; i += 100) await store.append(session, pool.slice(i, Math.min(size, i + 100)));
      const file = join(ctx.dir, `chat-${size}.json`);
      await writeFile(file, JSON.stringify(pool.slice(0, size).map(asJsonMessage)));
      const startBytes = (await readFile(file)).length;

      let next = size;
      // Warm-up: a few appends each, untimed.
      for (let i = 0; i < 5; i++, next++) {
        await store.append(session, pool[next] as NewEvent);
        await jsonAppend(file, asJsonMessage(pool[next] as NewEvent));
      }
      const ff = { lat: new Latencies(), runs: [] as LoopResult[] };
      const js = { lat: new Latencies(), runs: [] as LoopResult[] };
      let ffNext = next;
      let jsNext = next;
      await rounds(roundCount, [
        async () => void ff.runs.push(await timeOps(perRound, () => store.append(session, pool[ffNext++] as NewEvent), ff.lat)),
        async () => void js.runs.push(await timeOps(perRound, () => jsonAppend(file, asJsonMessage(pool[jsNext++] as NewEvent)), js.lat)),
      ]);
      await store.close();

      const peer = `JSON file per chat, rewritten+fsynced (${(startBytes / 2 ** 20).toFixed(1)} MiB)`;
      r.compare({
        metric: `append @${size.toLocaleString('en-US')} msgs`,
        kind: 'rate',
        unit: 'appends/s',
        value: rate(sum(ff.runs)),
        peers: [{ name: peer, value: rate(sum(js.runs)) }],
      });
      for (const p of ['p50', 'p99'] as const) {
        r.compare({
          metric: `${p} @${size.toLocaleString('en-US')} msgs`,
          kind: 'time',
          unit: 'ms',
          value: ff.lat.summary()[p],
          peers: [{ name: peer, value: js.lat.summary()[p] }],
        });
      }
      params.push(`${roundCount} × ${perRound} appends at ${size.toLocaleString('en-US')}`);
    }
    r.params = `${params.join(', ')} · interleaved`;
  },
});
