/**
 * Read a session's context as of a past version through the public chat API
 * (`chat.context.get(id, { asOf: { version: 100 } })`: the context projection
 * knows where each change lies in the session's log; the value is rebuilt
 * from the last `set` at or before version 100, folding the merge patches
 * after it, read from the log). Sessions of the chat corpus with 200 context
 * changes (change 1 a `set` of a ~1 KB context, then RFC 7386 merge patches:
 * task step and status, remembered facts added, replaced and removed, the
 * recent-tools list, the running summary), interleaved with 100 messages.
 *
 * SQLite peer (SqliteChatDb, WAL): the natural SQL way, a `context_history
 * (session_id, version)` table holding each change's patch AND the whole
 * context JSON after it (what an app writes to make a past version one
 * indexed row): `SELECT context FROM context_history WHERE session_id = ? AND
 * version = ?` + JSON.parse. Shown beside it, without a goal, the other SQL
 * way: select the patches from the last `set` and fold them (same merge patch
 * code as ours). All three return the same object (checked).
 * The plan sets no target for time travel. Goal (p50): no slower than SQLite
 * (the full-JSON-per-version table).
 */
import { isDeepStrictEqual } from 'node:util';
import { seededRandom } from '../lib/chat-data.js';
import { openChatCorpus, seedNote } from '../lib/chat-corpus.js';
import { compareLatencies } from '../lib/chat-figures.js';
import { Latencies, rounds, timeOps } from '../lib/measure.js';
import { defineScenario } from '../lib/scenario.js';

const AS_OF = 100;

export default defineScenario({
  title: 'chat API: a session context as of version 100 (of 200) vs SQLite context_history',
  durability: 'always',
  async run(ctx) {
    const corpus = await openChatCorpus(ctx);
    const { chat, sqlite, info } = corpus;
    const perRound = ctx.size(1000, 200);
    const roundCount = ctx.size(3, 1);
    const warmup = ctx.size(100, 20);
    const rnd = seededRandom(ctx.seed ^ 0xc0e7);
    const order = Array.from({ length: warmup + perRound * roundCount }, () => info.contextSessionIds[Math.floor(rnd() * info.contextSessions)] as string);

    let bytes = 0;
    for (const sessionId of info.contextSessionIds) {
      const a = await chat.context.get(sessionId, { asOf: { version: AS_OF } });
      const b = sqlite.contextAt(sessionId, AS_OF);
      const c = sqlite.contextFolded(sessionId, AS_OF);
      const now = await chat.context.get(sessionId);
      if (a.version !== AS_OF || now.version !== info.contextChanges || !isDeepStrictEqual(a.context, b) || !isDeepStrictEqual(b, c)) {
        throw new Error(`the chat API and SQLite returned different contexts for ${sessionId} as of version ${AS_OF}`);
      }
      bytes += JSON.stringify(a.context).length;
    }
    for (const sessionId of order.slice(0, warmup)) {
      await chat.context.get(sessionId, { asOf: { version: AS_OF } });
      sqlite.contextAt(sessionId, AS_OF);
      sqlite.contextFolded(sessionId, AS_OF);
    }
    const ours = new Latencies();
    const full = new Latencies();
    const fold = new Latencies();
    await rounds(roundCount, [
      async (round) => {
        const base = warmup + round * perRound;
        await timeOps(perRound, (i) => chat.context.get(order[base + i]!, { asOf: { version: AS_OF } }), ours);
      },
      async (round) => {
        const base = warmup + round * perRound;
        await timeOps(perRound, (i) => void sqlite.contextAt(order[base + i]!, AS_OF), full);
      },
      async (round) => {
        const base = warmup + round * perRound;
        await timeOps(perRound, (i) => void sqlite.contextFolded(order[base + i]!, AS_OF), fold);
      },
    ]);
    await corpus.close();

    const r = ctx.results;
    r.params =
      `${info.contextSessions} sessions with ${info.contextChanges} context changes and ${info.perSession} messages each (in a corpus of ${info.sessions.toLocaleString('en-US')} sessions), ` +
      `context ~${Math.round(bytes / info.contextSessions).toLocaleString('en-US')} characters of JSON at version ${AS_OF} · ${roundCount} × ${perRound} reads, interleaved`;
    compareLatencies(r, {
      what: `context as of version ${AS_OF}`,
      subject: `ffcdb chat.context.get({ asOf: { version: ${AS_OF} } })`,
      sqliteName: 'SQLite: full JSON per version, 1 row',
      others: [{ name: 'SQLite: patches from the last set, folded', lat: fold.summary() }],
      ours: ours.summary(),
      sqlite: full.summary(),
    });
    r.note(seedNote(corpus.openMs));
  },
});
