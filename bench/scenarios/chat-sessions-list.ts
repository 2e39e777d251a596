/**
 * List the first page (20) of a user's sessions when the user has 100,000
 * sessions, through the public chat API (`chat.sessions.list(userId)`: newest
 * first, archived ones left out, from the sessions projection), and a page
 * filtered by tag (`{ tag }`) for a tag on ~10 % of the sessions ('travel')
 * and one on ~1 % ('tax'). The store also holds 20 other users' 50 sessions
 * each, spread among the heavy user's.
 *
 * SQLite peer (SqliteChatDb, WAL): `SELECT * FROM sessions WHERE user_id = ?
 * AND archived = 0 ORDER BY created_at DESC, session_id DESC LIMIT 21` on the
 * (user_id, created_at, session_id) index; the tag page adds `AND EXISTS
 * (SELECT 1 FROM session_tags WHERE session_id = s.session_id AND tag = ?)`
 * (session_tags primary key (session_id, tag)). Rows decoded (tags, metadata
 * JSON) into the same Session objects, checked equal (SQLite holds the ids
 * and times the API returned when the store was seeded).
 * The plan sets no target for listings. Goal (p50): no slower than SQLite.
 */
import { isDeepStrictEqual } from 'node:util';
import { openListingStore, seedNote } from '../lib/chat-corpus.js';
import { compareLatencies } from '../lib/chat-figures.js';
import { Latencies, rounds, timeOps } from '../lib/measure.js';
import { defineScenario } from '../lib/scenario.js';

const PAGE = 20;
const QUERIES = [
  { what: 'first page of 20', tag: undefined },
  { what: "page filtered by tag 'travel' (~10 %)", tag: 'travel' },
  { what: "page filtered by tag 'tax' (~1 %)", tag: 'tax' },
] as const;

export default defineScenario({
  title: "chat API: first page of a user's 100,000 sessions (and tag-filtered pages) vs SQLite",
  durability: 'always',
  async run(ctx) {
    const store = await openListingStore(ctx);
    const { chat, sqlite, info } = store;
    const perRound = ctx.size(1000, 200);
    const roundCount = ctx.size(3, 1);
    const warmup = ctx.size(100, 20);
    const r = ctx.results;

    for (const q of QUERIES) {
      const options = q.tag === undefined ? {} : { tag: q.tag };
      const a = await chat.sessions.list(info.userId, options);
      const b = sqlite.listSessions(info.userId, PAGE, q.tag);
      const strip = ({ position: _p, ...s }: (typeof a.items)[number] & { position?: number }) => s;
      if (a.items.length !== PAGE || a.hasMore !== b.hasMore || !isDeepStrictEqual(a.items.map(strip), b.items)) {
        throw new Error(`the chat API and SQLite returned different pages for ${q.what}`);
      }
      for (let i = 0; i < warmup; i++) {
        await chat.sessions.list(info.userId, options);
        sqlite.listSessions(info.userId, PAGE, q.tag);
      }
      const ours = new Latencies();
      const peer = new Latencies();
      await rounds(roundCount, [
        () => timeOps(perRound, () => chat.sessions.list(info.userId, options), ours).then(() => undefined),
        () => timeOps(perRound, () => void sqlite.listSessions(info.userId, PAGE, q.tag), peer).then(() => undefined),
      ]);
      compareLatencies(r, { what: q.what, sqliteName: 'SQLite (WAL) indexed select, rows decoded', subject: 'ffcdb chat.sessions.list', ours: ours.summary(), sqlite: peer.summary() });
    }
    await store.close();

    r.params = `${info.userId} with ${info.sessions.toLocaleString('en-US')} sessions (+ ${info.otherUsers} × ${info.perOtherUser} of other users) · per query ${roundCount} × ${perRound} pages, interleaved, after ${warmup} warm-up pages, first page checked equal`;
    r.notes.splice(0, r.notes.length, 'the plan sets no target for listings; the goal is SQLite\'s');
    r.note(seedNote(store.openMs));
  },
});
