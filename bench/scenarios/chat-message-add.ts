/**
 * Add a message durably through the public chat API (`chat.messages.add`: one
 * `message.added` event appended to the session's stream with durability
 * 'always', the inline projections — sessions, messages — updated before it
 * resolves, the stored message read back from the log) to random sessions of
 * the chat corpus (1,000 sessions × 100 messages), ~600-character messages
 * with model, token usage and audit fields.
 *
 * SQLite peer (SqliteChatDb, WAL, synchronous=FULL), same work in one
 * transaction: the session's next seq, INSERT into `messages` (unique
 * (session_id, seq) and message_id indexes; content, attachments and metadata
 * as JSON text), UPDATE the session's message_count / last_message_at /
 * version, and the message row read back and decoded as the API returns it.
 *
 * Both add the same messages (same ids, text, metadata) to the same sessions,
 * each on its private copy of the corpus, interleaved round by round.
 * Plan target: < 5 ms. Goals (p50): ≥ 10× inside it, no slower than SQLite.
 */
import { isDeepStrictEqual } from 'node:util';
import { chatApiMessage, seededRandom } from '../lib/chat-data.js';
import { openChatCorpus, seedNote } from '../lib/chat-corpus.js';
import { compareLatencies } from '../lib/chat-figures.js';
import { Latencies, rounds, timeOps } from '../lib/measure.js';
import { defineScenario } from '../lib/scenario.js';

export default defineScenario({
  title: 'chat API: add a message durably, projections updated, vs SQLite',
  durability: 'always',
  async run(ctx) {
    const corpus = await openChatCorpus(ctx, { copy: true });
    const { chat, sqlite, info } = corpus;
    const perRound = ctx.size(500, 100);
    const roundCount = ctx.size(3, 1);
    const warmup = ctx.size(50, 20);
    const rnd = seededRandom(ctx.seed ^ 0xadd);
    const next = new Map<string, number>();
    const start = Date.UTC(2025, 1, 3, 9);
    const ops = Array.from({ length: warmup + perRound * roundCount }, () => {
      const sessionId = info.sessionIds[Math.floor(rnd() * info.sessions)] as string;
      const seq = next.get(sessionId) ?? info.perSession;
      next.set(sessionId, seq + 1);
      return { sessionId, ...chatApiMessage(rnd, { sessionId, seq, at: start + seq * 45_000 }) };
    });

    // Same answer on both sides (the times differ: each side stamps its own).
    for (const op of ops.slice(0, warmup)) {
      const a = await chat.messages.add(op.sessionId, op.message, op.options);
      const b = sqlite.addMessage(op.sessionId, op.message);
      const same = (m: typeof b | typeof a) => ({ messageId: m.messageId, role: m.role, content: m.content, metadata: m.metadata, attachments: m.attachments, revision: m.revision });
      if (!isDeepStrictEqual(same(a), same(b))) throw new Error(`the chat API and SQLite returned different messages for ${op.message.messageId}`);
    }
    const ours = new Latencies();
    const peer = new Latencies();
    await rounds(roundCount, [
      async (round) => {
        const base = warmup + round * perRound;
        await timeOps(perRound, (i) => {
          const op = ops[base + i]!;
          return chat.messages.add(op.sessionId, op.message, op.options);
        }, ours);
      },
      async (round) => {
        const base = warmup + round * perRound;
        await timeOps(perRound, (i) => {
          const op = ops[base + i]!;
          sqlite.addMessage(op.sessionId, op.message);
        }, peer);
      },
    ]);
    // Both hold the same message counts afterwards.
    for (const sessionId of [...next.keys()].slice(0, 20)) {
      const a = (await chat.sessions.get(sessionId)).messageCount;
      const b = sqlite.lastMessages(sessionId, 1).items[0]?.messageId;
      const c = (await chat.messages.list(sessionId, { order: 'desc', limit: 1 })).items[0]?.messageId;
      if (a !== next.get(sessionId) || b !== c) throw new Error(`the chat API and SQLite disagree on session ${sessionId} after the adds`);
    }
    await corpus.close();

    const r = ctx.results;
    r.params = `${info.sessions.toLocaleString('en-US')} sessions × ${info.perSession} messages · ${roundCount} × ${perRound} adds to random sessions, interleaved, after ${warmup} checked warm-up adds`;
    compareLatencies(r, { what: 'add a message', subject: 'ffcdb chat.messages.add', ours: ours.summary(), sqlite: peer.summary(), targetMs: 5 });
    r.note(seedNote(corpus.openMs));
  },
});
