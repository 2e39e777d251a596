/**
 * What keeping the search index current adds to each append: `chat.messages.add`
 * (durability 'always') of ~600-character messages to random sessions of the
 * chat corpus (1,000 sessions × 100 messages; quick: 100), on two private
 * copies, interleaved round by round with the same messages:
 *
 * - indexed: opened with `searchIndexing: 'on-write'`, so the search index
 *   opens with the store and each add is indexed before it resolves;
 * - plain: a store that never searches (its index is never opened).
 *
 * Goal (issue 5): appends with search indexing on stay within 1.5× of appends
 * without it (p50 and appends/s).
 */
import type { ChatStore } from '../../src/chat/chat-store.js';
import { chatApiMessage, seededRandom } from '../lib/chat-data.js';
import { openChatCorpus, seedNote } from '../lib/chat-corpus.js';
import { Latencies, rate, rounds, sum, timeOps, type LoopResult } from '../lib/measure.js';
import { defineScenario } from '../lib/scenario.js';
import { count } from '../lib/search-bench.js';

export default defineScenario({
  title: 'search: the cost of keeping the search index current on each append',
  durability: 'always',
  async run(ctx) {
    const indexed = await openChatCorpus(ctx, { copy: 'indexed', store: { searchIndexing: 'on-write' } });
    const plain = await openChatCorpus(ctx, { copy: 'plain' });
    const { info } = plain;
    const owner = new Map(info.sessionIds.map((id, i) => [id, info.userIds[i % info.users]!]));
    let t0 = performance.now();
    await indexed.chat.search(info.userIds[0]!, 'the');
    ctx.log(`the indexed copy opened in ${(indexed.openMs / 1000).toFixed(1)} s (its index built from the log), first search in ${((performance.now() - t0) / 1000).toFixed(1)} s`);

    const perRound = ctx.size(200, 30);
    const roundCount = ctx.size(3, 2);
    const warmup = ctx.size(30, 10);
    const rnd = seededRandom(ctx.seed ^ 0x1dc5);
    const next = new Map<string, number>();
    const start = Date.UTC(2025, 2, 3, 9);
    const ops = Array.from({ length: warmup + perRound * roundCount }, () => {
      const sessionId = info.sessionIds[Math.floor(rnd() * info.sessions)]!;
      const seq = next.get(sessionId) ?? info.perSession;
      next.set(sessionId, seq + 1);
      return { sessionId, userId: owner.get(sessionId)!, ...chatApiMessage(rnd, { sessionId, seq, at: start + seq * 45_000 }) };
    });
    const add = (chat: ChatStore) => (i: number) => {
      const op = ops[i]!;
      return chat.messages.add(op.sessionId, op.message, op.options);
    };
    const sides = [
      { run: add(indexed.chat), lat: new Latencies(), loops: [] as LoopResult[] },
      { run: add(plain.chat), lat: new Latencies(), loops: [] as LoopResult[] },
    ];
    for (const side of sides) for (let i = 0; i < warmup; i++) await side.run(i);
    t0 = performance.now();
    await rounds(
      roundCount,
      sides.map((side) => async (round: number) => {
        side.loops.push(await timeOps(perRound, (i) => side.run(warmup + round * perRound + i), side.lat));
      }),
    );
    // The last add is found in the indexed copy: the index was kept current.
    const last = ops[ops.length - 1]!;
    const word = last.message.content[0]!.text.match(/[A-Za-z]{4,}/)![0];
    const found = await indexed.chat.search(last.userId, word, { sessionId: last.sessionId, limit: 100 });
    if (!found.items.some((h) => h.itemId === last.message.messageId)) throw new Error('the indexed copy does not find the last message added');
    await indexed.close();
    await plain.close();

    const [on, off] = sides.map((s) => ({ ...s.lat.summary(), rate: rate(sum(s.loops)) }));
    const r = ctx.results;
    const subject = "ffcdb chat.messages.add, searchIndexing 'on-write'";
    const PEER = 'the same adds, no search index';
    const within = { text: 'within 1.5× of appends without indexing', atLeast: 1 / 1.5 };
    r.compare({ metric: 'append p50', kind: 'time', unit: 'ms', subject, value: on!.p50, peers: [{ name: PEER, value: off!.p50, goal: within }] });
    r.compare({ metric: 'append p99', kind: 'time', unit: 'ms', subject, value: on!.p99, peers: [{ name: PEER, value: off!.p99 }] });
    r.compare({ metric: 'appends/s', kind: 'rate', unit: 'appends/s', subject, value: on!.rate, peers: [{ name: PEER, value: off!.rate, goal: within }] });
    r.params = `${count(info.sessions)} sessions × ${info.perSession} messages · ${roundCount} × ${perRound} adds to random sessions each side, interleaved, after ${warmup} warm-up adds`;
    r.note("indexed side: opened with searchIndexing 'on-write' (each add indexed before it resolves), the index built before timing; the last add checked to be found by a search");
    r.note(seedNote(plain.openMs));
  },
});
