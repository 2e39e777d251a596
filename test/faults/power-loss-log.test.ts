import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { openStore } from '../../src/engine/open-store.js';
import type { EventStore } from '../../src/engine/event-store.js';
import type { DurabilityMode } from '../../src/kernel/types.js';
import { runPowerCuts } from '../support/power-loss-cuts.js';
import { type Snapshot, checkAcks, checkConsistency, checkPrefix, readSnapshot, snapshotText } from '../support/verify.js';
import { type Ack, canonFull, eventFor } from '../support/workload.js';

/**
 * The event log (stream segments, the feed, the commit journal, `synced`, the tombstones): concurrent
 * appends of several streams (group commits), a purge and a close, cut anywhere, from the open on. The
 * store must open again, hold exactly what it held (every event byte-equal to what was appended, the
 * feed and the streams agreeing, no gap), and, in 'always' mode, every acknowledged append.
 */
interface LogState {
  durability: DurabilityMode;
  store?: EventStore;
  acks: Ack[];
  /** The purge of `p-old` resolved before the cut. */
  purged: boolean;
}

const TAG = 'pl';
const STREAMS = ['s-one', 's-two', 's-three'];

async function appendLoop(store: EventStore, stream: string, count: number, random: () => number, acks: Ack[], cut: () => boolean): Promise<void> {
  let seq = 0;
  while (seq < count) {
    const n = 1 + Math.floor(random() * 3);
    const seqs = Array.from({ length: n }, (_, i) => seq + 1 + i);
    const r = await store.append(stream, seqs.map((s) => eventFor(TAG, stream, s)));
    seq += n;
    if (!cut()) acks.push({ kind: 'ack', tag: TAG, stream, seqs, firstVersion: r.firstVersion, lastVersion: r.lastVersion, firstPosition: r.firstPosition, lastPosition: r.lastPosition, duplicate: false, at: Date.now() });
  }
}

function logPath(durability: DurabilityMode, cuts: number) {
  return {
    name: `log (${durability})`,
    cuts,
    async setup(root: string) {
      const store = await openStore({ dir: root, durability: 'always' });
      for (const stream of ['s-old', 'p-old']) for (let seq = 1; seq <= 3; seq++) await store.append(stream, eventFor(TAG, stream, seq));
      await store.close();
    },
    state: (): LogState => ({ durability, acks: [], purged: false }),
    async work(root: string, run: { cut: boolean }, s: LogState) {
      const random = Math.random;
      s.store = await openStore({ dir: root, durability });
      const cut = () => run.cut;
      await Promise.all([
        ...STREAMS.map((stream) => appendLoop(s.store!, stream, 12, random, s.acks, cut)),
        (async () => {
          await s.store!.purgeStream('p-old');
          if (!run.cut) s.purged = true;
        })(),
      ]);
      await s.store.close();
    },
    abandon: async (s: LogState) => {
      await s.store?.close();
    },
    async check(image: string, s: LogState): Promise<string[]> {
      const setupAcks: Ack[] = [];
      const old = (stream: string, first: number): Ack => ({ kind: 'ack', tag: TAG, stream, seqs: [1, 2, 3], firstVersion: 1, lastVersion: 3, firstPosition: first, lastPosition: first + 2, duplicate: false, at: 0 });
      setupAcks.push(old('s-old', 1));
      const problems: string[] = [];
      const read = async (): Promise<Snapshot | undefined> => {
        let store: EventStore;
        try {
          store = await openStore({ dir: image, create: false });
        } catch (err) {
          problems.push(`the store does not open: ${String(err)}`);
          return undefined;
        }
        try {
          return await readSnapshot(store, ['s-old', 'p-old', ...STREAMS]);
        } catch (err) {
          problems.push(`reading the store fails: ${String(err)}`);
          return undefined;
        } finally {
          await store.close();
        }
      };
      const first = await read();
      if (!first) return problems;
      problems.push(...consistency(first), ...checkAcks(first, s.durability === 'always' ? [...setupAcks, ...s.acks] : setupAcks));
      const pOld = first.streams.get('p-old') ?? [];
      if (s.purged && pOld.length > 0) problems.push(`p-old was purged before the power went, but holds ${pOld.length} events`);
      if (pOld.length !== 0 && pOld.length !== 3) problems.push(`p-old holds ${pOld.length} events: a purge is whole or not at all`);
      // Recovery made its result durable: opening again finds the same store.
      const second = await read();
      if (second) {
        problems.push(...checkPrefix(first, second));
        if (JSON.stringify(snapshotText(first)) !== JSON.stringify(snapshotText(second))) problems.push('a second open reads another store than the first');
      }
      return problems;
    },
  };
}

/** checkConsistency, with the purged stream's positions (4-6) allowed to be gaps of the feed. */
function consistency(s: Snapshot): string[] {
  if (s.streams.get('p-old')?.length) return checkConsistency(s);
  const problems: string[] = [];
  const byPosition = new Map(s.feed.map((e) => [e.position, e]));
  s.feed.forEach((e, i) => {
    const expected = i < 3 ? i + 1 : i + 4;
    if (e.position !== expected) problems.push(`feed: entry #${i + 1} has position ${e.position}, not ${expected}`);
    if (canonFull(e) !== canonFull(s.streams.get(e.streamId)?.[e.version - 1] ?? e) || !s.streams.get(e.streamId)?.[e.version - 1]) problems.push(`feed position ${e.position} differs from its stream`);
  });
  let total = 0;
  for (const [name, events] of s.streams) {
    total += events.length;
    events.forEach((e, i) => {
      if (e.version !== i + 1) problems.push(`stream ${name}: event #${i + 1} has version ${e.version}`);
      if (!byPosition.has(e.position)) problems.push(`stream ${name} v${e.version} at position ${e.position} is not in the feed`);
    });
  }
  if (total !== s.feed.length) problems.push(`the streams hold ${total} events but the feed ${s.feed.length}`);
  if (s.head !== (s.feed.at(-1)?.position ?? 0)) problems.push(`head ${s.head}, last feed position ${s.feed.at(-1)?.position}`);
  return problems;
}

test("the log after power loss at random calls, durability 'always': opens, holds every acknowledged append byte-equal, and nothing torn", async () => {
  const summary = await runPowerCuts(logPath('always', 40));
  assert.ok(summary.calls > 50, `${summary.calls} calls`);
});

test("the log after power loss at random calls, durability 'none': opens to an exact prefix, nothing torn", async () => {
  await runPowerCuts(logPath('none', 15));
});

test.run();
