/**
 * One search contender in a process of its own, so that its memory is its
 * own: started by `SearchChild.start` (search-bench.ts) with `--expose-gc`.
 *
 * - `minisearch ROWS QUERIES` / `flexsearch ROWS QUERIES`: builds the
 *   library's index from the rows (JSON lines, read in batches so that only a
 *   batch is in memory besides the index; only the adds are timed), reports
 *   the build time and the memory the index holds, then runs the queries the
 *   parent asks for (`{ cls, from, count }`) and answers with their latencies.
 * - `ffcdb STORE_DIR USER_ID`: opens the chat store, runs one search (which
 *   opens the index from its segment files), reports the memory that took.
 * - `ffcdb-queries STORE_DIR QUERIES`: opens the chat store and its index (a
 *   first search), then runs the queries the parent asks for through
 *   `chat.search`, as the peers do theirs.
 *
 * Resident memory is measured after `global.gc()`, as growth over the
 * process's own baseline (modules loaded, nothing built or opened yet).
 */
import { createReadStream } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import { Charset, Document } from 'flexsearch';
import MiniSearch from 'minisearch';
import { openChatStore } from '../../src/chat/chat-store.js';
import { type ChildReady, type PeerRow, type QueryClass, type SearchQuery, oursQuery } from './search-bench.js';

const [mode, a, b] = process.argv.slice(2);
const send = (m: unknown) => new Promise<void>((resolve) => process.send!(m, () => resolve()));

function memory(): { rss: number; heapUsed: number; arrayBuffers: number } {
  (globalThis as { gc?: () => void }).gc?.();
  const m = process.memoryUsage();
  return { rss: m.rss, heapUsed: m.heapUsed, arrayBuffers: m.arrayBuffers };
}

const TOP = 20;

/** A library's index behind one interface: add rows, answer a query with at most TOP ids. */
interface PeerIndex {
  add(rows: readonly PeerRow[], firstId: number): void;
  search(q: SearchQuery): number[];
}

/**
 * MiniSearch 7: `text` indexed with its default tokenizer (lowercased, no
 * stemming), user and time stored for the `filter` callback, AND of the
 * words (`combineWith: 'AND'`), ranked by its BM25. No phrase support: a
 * phrase is the AND of its words.
 */
function miniSearch(): PeerIndex {
  const index = new MiniSearch<PeerRow & { id: number }>({ fields: ['text'], storeFields: ['userId', 'at'] });
  return {
    add: (rows, firstId) => index.addAll(rows.map((r, i) => ({ ...r, id: firstId + i }))),
    search: (q) => {
      const from = q.from ?? -Infinity;
      return index
        .search(q.words.join(' '), { combineWith: 'AND', filter: (r) => r.userId === q.userId && (r.at as number) >= from })
        .slice(0, TOP)
        .map((r) => r.id as number);
    },
  };
}

/**
 * FlexSearch 0.8: a Document index, `text` with the `strict` tokenizer and
 * the `Normalize` encoder (lowercased, letters deduplicated, no stemming),
 * user and time in its document store. Several words are ANDed; a phrase is
 * the AND of its words (the context index only ranks by proximity, it does
 * not require it). Its `tag` filter cannot serve here: with a tag, a search
 * keeps only the tagged among the query's first 100 matches of all users
 * (flexsearch/src/document/search.js), so most of a user's hits are missed. Instead every
 * match is fetched with its stored fields (`enrich`), in FlexSearch's rank
 * order, and the first TOP of the user (at or after `from`) are kept.
 */
function flexSearch(): PeerIndex {
  const index = new Document<{ id: number; text: string; userId: string; at: number }>({
    document: { id: 'id', index: [{ field: 'text', tokenize: 'strict', encoder: Charset.Normalize }], store: ['userId', 'at'] },
  });
  let size = 0;
  return {
    add: (rows, firstId) => {
      for (let i = 0; i < rows.length; i++) {
        const r = rows[i]!;
        index.add({ id: firstId + i, text: r.text, userId: r.userId, at: r.at });
      }
      size = firstId + rows.length;
    },
    search: (q) => {
      const from = q.from ?? -Infinity;
      const hits = index.search(q.words.join(' '), { limit: size, pluck: 'text', enrich: true }) as { id: number; doc: { userId: string; at: number } | null }[];
      const out: number[] = [];
      for (const h of hits) if (h.doc && h.doc.userId === q.userId && h.doc.at >= from && out.push(h.id) === TOP) break;
      return out;
    },
  };
}

async function buildPeer(rowsFile: string, index: PeerIndex): Promise<{ docs: number; buildMs: number }> {
  const BATCH = 5_000;
  let docs = 0;
  let buildMs = 0;
  let batch: PeerRow[] = [];
  const flush = () => {
    const t0 = performance.now();
    index.add(batch, docs);
    buildMs += performance.now() - t0;
    docs += batch.length;
    batch = [];
  };
  for await (const line of createInterface({ input: createReadStream(rowsFile), crlfDelay: Infinity })) {
    batch.push(JSON.parse(line) as PeerRow);
    if (batch.length === BATCH) flush();
  }
  flush();
  return { docs, buildMs };
}

async function runPeer(): Promise<void> {
  const base = memory();
  const index = mode === 'minisearch' ? miniSearch() : flexSearch();
  const { docs, buildMs } = await buildPeer(a!, index);
  const built = memory();
  const classes = JSON.parse(await readFile(b!, 'utf8')) as QueryClass[];
  const ready: ChildReady = { docs, buildMs, rssBytes: built.rss - base.rss, heapBytes: built.heapUsed - base.heapUsed, bufferBytes: built.arrayBuffers - base.arrayBuffers };
  answerQueries(classes, async (q) => index.search(q).length, () => process.exit(0));
  await send(ready);
}

/**
 * Runs the queries the parent asks for (`{ cls, from, count }`) one after
 * another, answering with their latencies and hits; with `top10` (ffcdb
 * only), untimed, with each query's best 10 messages.
 */
function answerQueries(classes: readonly QueryClass[], search: (q: SearchQuery) => Promise<number>, done: () => void, top10?: (q: SearchQuery) => Promise<string[]>): void {
  process.on('message', async (m: { cls: number; from: number; count: number; top10?: boolean }) => {
    if (m.top10) {
      const tops: string[][] = [];
      for (const q of classes[m.cls]!.queries.slice(m.from, m.from + m.count)) tops.push(await top10!(q));
      await send(tops);
      return;
    }
    const ms: number[] = [];
    let hits = 0;
    for (const q of classes[m.cls]!.queries.slice(m.from, m.from + m.count)) {
      const t0 = performance.now();
      hits += await search(q);
      ms.push(performance.now() - t0);
    }
    await send({ ms, hits });
  });
  process.on('disconnect', done);
}

async function runFfcdbQueries(): Promise<void> {
  const t0 = performance.now();
  const chat = await openChatStore({ dir: a!, durability: 'none' });
  const classes = JSON.parse(await readFile(b!, 'utf8')) as QueryClass[];
  await chat.search(classes[0]!.queries[0]!.userId, 'the');
  const openMs = performance.now() - t0;
  const m = memory();
  const since = (q: SearchQuery) => (q.from === undefined ? {} : { from: q.from });
  answerQueries(
    classes,
    async (q) => (await chat.search(q.userId, oursQuery(q), since(q))).items.length,
    () => void chat.close().then(() => process.exit(0)),
    async (q) => (await chat.search(q.userId, oursQuery(q), { ...since(q), kinds: ['message'], limit: 10 })).items.map((h) => `${h.sessionId}/${h.itemId}`),
  );
  await send({ docs: 0, buildMs: openMs, rssBytes: m.rss, heapBytes: m.heapUsed, bufferBytes: m.arrayBuffers } satisfies ChildReady);
}

async function runFfcdb(): Promise<void> {
  const base = memory();
  const chat = await openChatStore({ dir: a!, durability: 'none' });
  const opened = memory();
  const t0 = performance.now();
  await chat.search(b!, 'the');
  const searchMs = performance.now() - t0;
  const searched = memory();
  const ready: ChildReady = {
    docs: 0,
    buildMs: searchMs,
    rssBytes: searched.rss - opened.rss,
    heapBytes: searched.heapUsed - opened.heapUsed,
    bufferBytes: searched.arrayBuffers - opened.arrayBuffers,
    openRssBytes: opened.rss - base.rss,
  };
  await chat.close();
  await send(ready);
  process.exit(0);
}

await (mode === 'ffcdb' ? runFfcdb() : mode === 'ffcdb-queries' ? runFfcdbQueries() : runPeer());
