/**
 * Save a whole chat as the AI SDK's saveChat does every turn: `chat.messages.sync`
 * of a 1,000-message chat with one new message at the end (the store finds
 * the one change from the digests its messages projection keeps, without
 * reading the other 1,000 from the log, and appends one `message.added`),
 * beside adding that one message with `chat.messages.add` (which also reads
 * the stored message back), each to its own session of 1,000 messages, in the
 * same store, durability 'always', interleaved round by round. Messages are the
 * chat-* scenarios' ~600-character messages with model, usage and audit fields.
 * Goal (issue 11): sync p50 at most 2× add p50.
 */
import { openChatStore } from '../../src/chat/chat-store.js';
import { chatApiMessage, seededRandom } from '../lib/chat-data.js';
import { Latencies, rounds, timeOps } from '../lib/measure.js';
import { defineScenario } from '../lib/scenario.js';

const START = Date.UTC(2025, 1, 3, 9);

export default defineScenario({
  title: 'chat API: sync a 1,000-message chat with one new message, vs adding that message',
  durability: 'always',
  async run(ctx) {
    const chatSize = 1000;
    const perRound = ctx.size(100, 20);
    const roundCount = ctx.size(3, 1);
    const rnd = seededRandom(ctx.seed ^ 0x5c);
    const message = (sessionId: string, seq: number) => chatApiMessage(rnd, { sessionId, seq, at: START + seq * 45_000 }).message;
    const seed = await openChatStore({ dir: ctx.dir, durability: 'none' });
    const lists = new Map<string, ReturnType<typeof message>[]>();
    for (const sessionId of ['add', 'sync']) {
      await seed.users.ensure({ userId: 'u1' });
      await seed.sessions.create({ userId: 'u1', sessionId, title: sessionId });
      const list = Array.from({ length: chatSize }, (_, i) => message(sessionId, i));
      for (let i = 0; i < chatSize; i += 100) await seed.messages.add(sessionId, list.slice(i, i + 100));
      lists.set(sessionId, list);
    }
    await seed.close();

    const chat = await openChatStore({ dir: ctx.dir, durability: 'always' });
    const synced = lists.get('sync')!;
    let added = chatSize;
    const ops = Array.from({ length: perRound * roundCount }, (_, i) => ({ add: message('add', chatSize + i), sync: message('sync', chatSize + i) }));
    const adds = new Latencies();
    const syncs = new Latencies();
    await rounds(roundCount, [
      async (round) => {
        await timeOps(perRound, (i) => chat.messages.add('add', ops[round * perRound + i]!.add), adds);
      },
      async (round) => {
        await timeOps(perRound, async (i) => {
          synced.push(ops[round * perRound + i]!.sync);
          const r = await chat.messages.sync('sync', synced);
          if (r.added.length !== 1 || r.unchanged !== synced.length - 1) throw new Error(`sync found ${r.added.length} added, ${r.unchanged} unchanged`);
        }, syncs);
      },
    ]);
    added += perRound * roundCount;
    for (const sessionId of ['add', 'sync']) {
      const count = (await chat.messages.count(sessionId)).count;
      if (count !== added) throw new Error(`session ${sessionId} holds ${count} messages, not ${added}`);
    }
    await chat.close();

    const ours = syncs.summary();
    const peer = adds.summary();
    const r = ctx.results;
    r.params = `sessions of ${chatSize.toLocaleString('en-US')} messages (growing by one per op) · ${roundCount} × ${perRound} ops each, interleaved`;
    for (const stat of ['p50', 'p99', 'mean'] as const) {
      r.compare({
        metric: `sync one new message ${stat}`,
        kind: 'time',
        unit: 'ms',
        subject: 'ffcdb chat.messages.sync',
        value: ours[stat],
        peers: [{ name: 'chat.messages.add (one message)', value: peer[stat], ...(stat === 'p50' ? { goal: { text: 'at most 2× adding one message (issue 11)', atLeast: 0.5 } } : {}) }],
      });
    }
  },
});
