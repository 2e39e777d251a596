/**
 * Create a session through the public chat API (`chat.sessions.create`, one
 * `session.created` event in the session's new stream, projections updated
 * before it resolves, the session read back from the projection) on the chat
 * corpus (1,000 sessions × 100 messages of 50 users), durability 'always'.
 *
 * SQLite peer (bench/lib/sqlite-peer.ts SqliteChatDb, WAL, synchronous=FULL),
 * same work: one transaction that checks the user exists, inserts the
 * `sessions` row (indexed on (user_id, created_at, session_id)) and its
 * `session_tags` rows, and reads the row back as the API returns it.
 *
 * Both create the same sessions (same ids, titles, tags, owners) on private
 * copies of the corpus, interleaved round by round.
 * Plan target: < 10 ms. Goals (p50): ≥ 10× inside it, no slower than SQLite.
 */
import { chatSessionInput, seededRandom } from '../lib/chat-data.js';
import { openChatCorpus, seedNote } from '../lib/chat-corpus.js';
import { compareLatencies } from '../lib/chat-figures.js';
import { Latencies, rounds, timeOps } from '../lib/measure.js';
import { defineScenario } from '../lib/scenario.js';

export default defineScenario({
  title: 'chat API: create a session (durable) vs SQLite',
  durability: 'always',
  async run(ctx) {
    const corpus = await openChatCorpus(ctx, { copy: true });
    const { chat, sqlite, info } = corpus;
    const perRound = ctx.size(300, 50);
    const roundCount = ctx.size(3, 1);
    const warmup = ctx.size(30, 10);
    const rnd = seededRandom(ctx.seed ^ 0x5e55);
    const ops = Array.from({ length: warmup + perRound * roundCount }, (_, i) => ({
      sessionId: `ses-bench-${String(i).padStart(6, '0')}`,
      userId: info.userIds[Math.floor(rnd() * info.users)] as string,
      ...chatSessionInput(rnd),
    }));

    // Same answer on both sides.
    for (const op of ops.slice(0, warmup)) {
      const a = await chat.sessions.create(op);
      const b = sqlite.createSession(op);
      if (a.sessionId !== b.sessionId || a.userId !== b.userId || a.title !== b.title || a.tags.join() !== b.tags.join() || a.messageCount !== b.messageCount || a.archived !== b.archived) {
        throw new Error(`the chat API and SQLite returned different sessions for ${op.sessionId}`);
      }
    }
    const ours = new Latencies();
    const peer = new Latencies();
    await rounds(roundCount, [
      async (round) => {
        const base = warmup + round * perRound;
        await timeOps(perRound, (i) => chat.sessions.create(ops[base + i]!), ours);
      },
      async (round) => {
        const base = warmup + round * perRound;
        await timeOps(perRound, (i) => void sqlite.createSession(ops[base + i]!), peer);
      },
    ]);
    await corpus.close();

    const r = ctx.results;
    r.params = `${info.sessions.toLocaleString('en-US')} sessions × ${info.perSession} messages of ${info.users} users · ${roundCount} × ${perRound} creates, interleaved, after ${warmup} checked warm-up creates`;
    compareLatencies(r, { what: 'create a session', subject: 'ffcdb chat.sessions.create', ours: ours.summary(), sqlite: peer.summary(), targetMs: 10 });
    r.note(seedNote(corpus.openMs));
  },
});
