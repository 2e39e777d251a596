/**
 * Get the last 100 messages of a 100-message session through the public chat
 * API (`chat.messages.list(id, { order: 'desc', limit: 100 })`: the page read
 * backward from the session's log, deleted messages left out, edited ones at
 * their latest revision, with cursors) among the chat corpus's 1,000 sessions
 * × 100 messages (~30 % of sessions hold an edited message; 20 also hold 200
 * context changes between their messages).
 *
 * SQLite peer (SqliteChatDb, WAL): `SELECT * FROM messages WHERE session_id = ?
 * AND deleted = 0 ORDER BY seq DESC LIMIT 101` on the unique (session_id, seq)
 * index (edits are in place, `revision` column, so no join), every row decoded
 * (content, attachments and metadata JSON) into the same Message objects
 * (checked equal, times included: SQLite holds what the API returned).
 * Plan target: < 50 ms. Goals (p50): ≥ 10× inside it, no slower than SQLite.
 */
import { isDeepStrictEqual } from 'node:util';
import { seededRandom } from '../lib/chat-data.js';
import { openChatCorpus, seedNote } from '../lib/chat-corpus.js';
import { compareLatencies } from '../lib/chat-figures.js';
import { Latencies, rounds, timeOps } from '../lib/measure.js';
import { defineScenario } from '../lib/scenario.js';

const LIMIT = 100;

export default defineScenario({
  title: 'chat API: the last 100 messages of a session vs SQLite',
  durability: 'always',
  async run(ctx) {
    const corpus = await openChatCorpus(ctx);
    const { chat, sqlite, info } = corpus;
    const perRound = ctx.size(1000, 200);
    const roundCount = ctx.size(3, 1);
    const warmup = ctx.size(200, 50);
    const rnd = seededRandom(ctx.seed ^ 0x1a57);
    const order = Array.from({ length: warmup + perRound * roundCount }, () => info.sessionIds[Math.floor(rnd() * info.sessions)] as string);

    // The same page on both sides, for every session (the warm-up reads).
    let edited = 0;
    for (const sessionId of order.slice(0, warmup)) {
      const a = await chat.messages.list(sessionId, { order: 'desc', limit: LIMIT });
      const b = sqlite.lastMessages(sessionId, LIMIT);
      const strip = ({ position: _p, ...m }: (typeof a.items)[number] & { position?: number }) => m;
      if (a.items.length !== LIMIT || a.hasMore !== b.hasMore || !isDeepStrictEqual(a.items.map(strip), b.items)) {
        throw new Error(`the chat API and SQLite returned different pages for ${sessionId}`);
      }
      edited += a.items.filter((m) => m.revision > 1).length;
    }
    const ours = new Latencies();
    const peer = new Latencies();
    let read = 0;
    await rounds(roundCount, [
      async (round) => {
        const base = warmup + round * perRound;
        await timeOps(perRound, async (i) => {
          read += (await chat.messages.list(order[base + i]!, { order: 'desc', limit: LIMIT })).items.length;
        }, ours);
      },
      async (round) => {
        const base = warmup + round * perRound;
        await timeOps(perRound, (i) => void sqlite.lastMessages(order[base + i]!, LIMIT), peer);
      },
    ]);
    if (read !== perRound * roundCount * LIMIT) throw new Error(`read ${read} messages, expected ${perRound * roundCount * LIMIT}`);
    await corpus.close();

    const r = ctx.results;
    r.params = `${info.sessions.toLocaleString('en-US')} sessions × ${info.perSession} messages · ${roundCount} × ${perRound} pages of random sessions, interleaved, after ${warmup} warm-up pages checked equal (${edited} edited messages among them)`;
    compareLatencies(r, { what: 'last 100 messages', sqliteName: 'SQLite (WAL) indexed select, rows decoded', subject: "ffcdb chat.messages.list({ order: 'desc', limit: 100 })", ours: ours.summary(), sqlite: peer.summary(), targetMs: 50 });
    r.note(seedNote(corpus.openMs));
  },
});
