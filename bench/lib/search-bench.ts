/**
 * What the search-* scenarios share: the messages as rows, the five query
 * classes, the SQLite FTS5 peer, the peers in processes of their own
 * (search-child.ts), and the query rounds with their figures.
 */
import { fork } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import type { EventStore } from '../../src/engine/event-store.js';
import { seededRandom } from './chat-data.js';
import { Latencies, rounds, timeOps } from './measure.js';
import type { PeerFigure, Results } from './report.js';

const OURS = 'ffcdb';
export const FTS5 = 'SQLite FTS5 bm25()';
export const MINISEARCH = 'MiniSearch';
export const FLEXSEARCH = 'FlexSearch';
/** The peer name of issue 5's latency target. */
export const TARGET_5 = 'target (issue 5)';

/** A message as the peers index it. */
export interface PeerRow {
  text: string;
  userId: string;
  sessionId: string;
  at: number;
  /** Set where the top-10 overlap with FTS5 is measured (the search scenario). */
  messageId?: string;
}

/** Two words ANDed, or (`phrase`) the two words adjacent and in order, for one user, optionally from a time on. */
export interface SearchQuery {
  userId: string;
  words: [string, string];
  phrase: boolean;
  from?: number;
}

export interface QueryClass {
  name: string;
  queries: SearchQuery[];
}

/** What a child reports once its index is built (or, for ffcdb, opened). */
export interface ChildReady {
  docs: number;
  /** Build time; for ffcdb, the first search's (with opening the store, for ffcdb-queries). */
  buildMs: number;
  /** Growth of resident memory / used heap over the child's baseline (ffcdb: over the store just opened). */
  rssBytes: number;
  heapBytes: number;
  /** Growth of Buffers and ArrayBuffers (outside the heap, inside RSS). */
  bufferBytes: number;
  /** ffcdb: what opening the chat store itself added. */
  openRssBytes?: number;
}

/** The message text the index sees: the text parts, one per line. */
export function messageText(content: unknown): string {
  return typeof content === 'string' ? content : (content as { type: string; text?: string }[]).filter((p) => p.type === 'text').map((p) => p.text).join('\n');
}

/** Every message at its latest revision (deleted ones left out), with its owner and time. */
export async function latestMessages(events: EventStore): Promise<PeerRow[]> {
  const owners = new Map<string, string>();
  const rows = new Map<string, PeerRow>();
  for await (const e of events.streamAll({ types: ['session.created', 'message.added', 'message.edited', 'message.deleted'] })) {
    const sessionId = e.streamId.slice(2);
    const d = e.data as { userId?: string; messageId?: string; content?: unknown };
    if (e.type === 'session.created') owners.set(sessionId, d.userId!);
    else if (e.type === 'message.added') rows.set(`${sessionId}/${d.messageId}`, { text: messageText(d.content), userId: owners.get(sessionId)!, sessionId, at: e.timestamp, messageId: d.messageId! });
    else if (e.type === 'message.edited') {
      const row = rows.get(`${sessionId}/${d.messageId}`);
      if (row) row.text = messageText(d.content);
    } else rows.delete(`${sessionId}/${d.messageId}`);
  }
  return [...rows.values()];
}

/** Lowercase words by frequency, most frequent first. */
function frequencies(rows: readonly PeerRow[]): string[] {
  const counts = new Map<string, number>();
  for (const r of rows) for (const w of r.text.toLowerCase().match(/[a-z]{3,}/g) ?? []) counts.set(w, (counts.get(w) ?? 0) + 1);
  return [...counts].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1)).map(([w]) => w);
}

/** Adjacent word pairs that occur in the texts, not both common. */
function phrases(rows: readonly PeerRow[], common: ReadonlySet<string>): [string, string][] {
  const out = new Map<string, [string, string]>();
  for (const r of rows) {
    const ws = r.text.toLowerCase().match(/[a-z]{3,}/g) ?? [];
    for (let i = 1; i < ws.length && out.size < 500; i++) if (!(common.has(ws[i - 1]!) && common.has(ws[i]!))) out.set(`${ws[i - 1]} ${ws[i]}`, [ws[i - 1]!, ws[i]!]);
  }
  return [...out.values()];
}

/** The time from which "the last 30 days" keeps messages: 30 % of the way back from the newest, as if the set spanned 100 days. */
export function last30Days(first: number, last: number): number {
  return last - 0.3 * (last - first);
}

/**
 * `count` queries per class, for random users: two common words, two
 * mid-frequency words, a common and a rare word (words ranked by frequency
 * in `sample`), a two-word phrase that occurs in it, and two common words
 * from `from` on.
 */
export function queryClasses(sample: readonly PeerRow[], users: readonly string[], count: number, seed: number, from: number): QueryClass[] {
  const words = frequencies(sample);
  const common = words.slice(0, 20);
  const mid = words.slice(Math.floor(words.length / 3), Math.floor(words.length / 3) + 200);
  const rare = words.slice(-200);
  const bigrams = phrases(sample.slice(0, 2_000), new Set(common));
  const rnd = seededRandom(seed ^ 0x5ea4c4);
  const pick = <T>(xs: readonly T[]) => xs[Math.floor(rnd() * xs.length)]!;
  const make = (name: string, q: () => Omit<SearchQuery, 'userId'>): QueryClass => ({ name, queries: Array.from({ length: count }, () => ({ userId: pick(users), ...q() })) });
  return [
    make('two common words', () => ({ words: [pick(common), pick(common)], phrase: false })),
    make('two mid-frequency words', () => ({ words: [pick(mid), pick(mid)], phrase: false })),
    make('common + rare word', () => ({ words: [pick(common), pick(rare)], phrase: false })),
    make('phrase', () => ({ words: pick(bigrams), phrase: true })),
    make('two common words, last 30 days', () => ({ words: [pick(common), pick(common)], phrase: false, from })),
  ];
}

/** The query as `chat.search` takes it. */
export function oursQuery(q: SearchQuery): string {
  return q.phrase ? `"${q.words.join(' ')}"` : q.words.join(' ');
}

/**
 * The FTS5 peer: the rows in an FTS5 table (`porter unicode61
 * remove_diacritics 2`; user, session and time UNINDEXED), top 20 by bm25().
 */
export class Fts5Peer {
  readonly #db: Database.Database;
  readonly #insert: Database.Statement;
  readonly #plain: Database.Statement;
  readonly #since: Database.Statement;
  /** Per rowid - 1, `sessionId/messageId` of rows that carry a message id (for the top-10 overlap). */
  readonly #keys: string[] = [];
  /** Time spent in `add`. */
  buildMs = 0;
  docs = 0;

  constructor(readonly file: string) {
    this.#db = new Database(file);
    this.#db.pragma('journal_mode = WAL');
    this.#db.exec("CREATE VIRTUAL TABLE m USING fts5(body, user UNINDEXED, session UNINDEXED, at UNINDEXED, tokenize = 'porter unicode61 remove_diacritics 2')");
    this.#insert = this.#db.prepare('INSERT INTO m (body, user, session, at) VALUES (?, ?, ?, ?)');
    this.#plain = this.#db.prepare('SELECT rowid, bm25(m) AS score FROM m WHERE m MATCH ? AND user = ? ORDER BY score LIMIT 20');
    this.#since = this.#db.prepare('SELECT rowid, bm25(m) AS score FROM m WHERE m MATCH ? AND user = ? AND at >= ? ORDER BY score LIMIT 20');
  }

  /** Inserts rows in one transaction (timed). */
  add(rows: readonly PeerRow[]): void {
    const t0 = performance.now();
    this.#db.transaction(() => {
      for (const r of rows) this.#insert.run(r.text, r.userId, r.sessionId, r.at);
    })();
    this.buildMs += performance.now() - t0;
    this.docs += rows.length;
    for (const r of rows) if (r.messageId !== undefined) this.#keys.push(`${r.sessionId}/${r.messageId}`);
  }

  /** Whether every row came with its message id, so that `top10` can name them. */
  get keyed(): boolean {
    return this.docs > 0 && this.#keys.length === this.docs;
  }

  /** The `sessionId/messageId` of the best 10 matches, best first. */
  top10(q: SearchQuery): string[] {
    return (this.search(q) as { rowid: number }[]).slice(0, TOP_OVERLAP).map((r) => this.#keys[r.rowid - 1]!);
  }

  /** Checkpoints the WAL into the database file, whose size is then the index's. */
  checkpoint(): void {
    this.#db.pragma('wal_checkpoint(TRUNCATE)');
  }

  search(q: SearchQuery): unknown[] {
    const match = q.phrase ? `"${q.words.join(' ')}"` : q.words.map((w) => `"${w}"`).join(' ');
    return q.from === undefined ? this.#plain.all(match, q.userId) : this.#since.all(match, q.userId, q.from);
  }

  close(): void {
    this.#db.close();
  }
}

const childScript = fileURLToPath(new URL('./search-child.ts', import.meta.url));

/** A contender in its own process (search-child.ts), its index built. */
export class SearchChild {
  private constructor(
    readonly name: string,
    readonly ready: ChildReady,
    readonly process: ReturnType<typeof fork>,
  ) {}

  /** Starts `search-child.ts` in `mode` and waits for its report. */
  static start(name: string, mode: 'minisearch' | 'flexsearch' | 'ffcdb' | 'ffcdb-queries', args: string[]): Promise<SearchChild> {
    const child = fork(childScript, [mode, ...args], { execArgv: [...process.execArgv, '--expose-gc'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    return new Promise((resolve, reject) => {
      const exited = (code: number | null) => reject(new Error(`${name}: search child exited with ${code} before reporting`));
      child.once('exit', exited);
      child.once('message', (m) => {
        child.off('exit', exited);
        resolve(new SearchChild(name, m as ChildReady, child));
      });
    });
  }

  /** Runs queries `from`..`from + count` of class `cls` in the child; returns their latencies (ms) and the hits found. */
  run(cls: number, from: number, count: number): Promise<{ ms: number[]; hits: number }> {
    return this.#ask({ cls, from, count });
  }

  /** ffcdb only: the `sessionId/messageId` of each query's best 10 messages (untimed). */
  top10(cls: number, from: number, count: number): Promise<string[][]> {
    return this.#ask({ cls, from, count, top10: true });
  }

  #ask<T>(request: { cls: number; from: number; count: number; top10?: boolean }): Promise<T> {
    return new Promise((resolve, reject) => {
      const exited = (code: number | null) => reject(new Error(`${this.name}: search child exited with ${code} while querying`));
      this.process.once('exit', exited);
      this.process.once('message', (m) => {
        this.process.off('exit', exited);
        resolve(m as T);
      });
      this.process.send(request);
    });
  }

  close(): void {
    this.process.disconnect();
  }
}

/** Writes the rows as JSON lines and the query classes as JSON, for the peers' processes. */
export async function writePeerInput(dir: string, rows: readonly PeerRow[], classes: readonly QueryClass[]): Promise<{ rowsFile: string; queriesFile: string }> {
  const rowsFile = join(dir, 'rows.jsonl');
  const out = createWriteStream(rowsFile);
  for (const r of rows) if (!out.write(`${JSON.stringify(r)}\n`)) await new Promise<void>((resolve) => out.once('drain', () => resolve()));
  await new Promise<void>((resolve, reject) => out.end((err?: Error | null) => (err ? reject(err) : resolve())));
  return { rowsFile, queriesFile: await writeQueries(dir, classes) };
}

/** Writes the query classes as JSON, for the contenders' processes. */
export async function writeQueries(dir: string, classes: readonly QueryClass[]): Promise<string> {
  const queriesFile = join(dir, 'queries.json');
  await writeFile(queriesFile, JSON.stringify(classes));
  return queriesFile;
}

/**
 * Our queries in a process of their own, as the peers': the chat store opened
 * (from the folder the scenario built and closed) and its index opened by a
 * first search before the child reports. Its heap is the store's alone, not
 * the scenario's rows and FTS5's, whose collections would land on our queries.
 */
export function ffcdbQueries(storeDir: string, queriesFile: string): Promise<SearchChild> {
  return SearchChild.start(OURS, 'ffcdb-queries', [storeDir, queriesFile]);
}

/** Resident memory of our index: the chat store opened in a process of its own, one search run (the store must be closed here). */
export function ffcdbMemory(storeDir: string, userId: string): Promise<ChildReady> {
  return SearchChild.start('ffcdb', 'ffcdb', [storeDir, userId]).then((c) => c.ready);
}

export interface QueryContenders {
  /** Ours, in its own process (ffcdbQueries). */
  ours: SearchChild;
  fts5: Fts5Peer;
  children?: readonly SearchChild[];
  /** Judge p99 against issue 5's 5 ms (set for 1,000 sessions). */
  p99Target: boolean;
}

export interface QueryPlan {
  rounds: number;
  perRound: number;
  /** The children run the first `childPerRound` of each round's queries (MiniSearch takes ~0.25 s for two common words over 100,000 messages). */
  childPerRound: number;
}

/**
 * Every class's queries, `rounds` of `perRound` (children: `childPerRound`), contenders
 * interleaved round by round (ours and FTS5 here, the children in theirs)
 * after a warm-up of 20 queries each; p50 and p99 beside every peer, with
 * issue 5's goals: at or under FTS5, 10× faster than MiniSearch, p99 under 5 ms.
 * The progress line counts each contender's hits, a check that all found results.
 */
export async function queryRounds(
  results: Results,
  log: (m: string) => void,
  classes: readonly QueryClass[],
  c: QueryContenders,
  { rounds: roundCount, perRound, childPerRound }: QueryPlan,
): Promise<void> {
  const children = c.children ?? [];
  for (const [k, cls] of classes.entries()) {
    const warm = cls.queries.slice(0, 20);
    await c.ours.run(k, 0, warm.length);
    for (const q of warm) c.fts5.search(q);
    for (const child of children) await child.run(k, 0, warm.length);
    const names = [OURS, FTS5, ...children.map((child) => child.name)];
    const lat = names.map(() => new Latencies());
    const hits = names.map(() => 0);
    const query = (round: number, i: number) => cls.queries[round * perRound + i]!;
    await rounds(roundCount, [
      async (round) => {
        const r = await c.ours.run(k, round * perRound, perRound);
        for (const ms of r.ms) lat[0]!.recordMs(ms);
        hits[0]! += r.hits;
      },
      (round) => timeOps(perRound, (i) => {
          hits[1]! += c.fts5.search(query(round, i)).length;
        }, lat[1]).then(() => undefined),
      ...children.map((child, j) => async (round: number) => {
        const r = await child.run(k, round * perRound, childPerRound);
        for (const ms of r.ms) lat[j + 2]!.recordMs(ms);
        hits[j + 2]! += r.hits;
      }),
    ]);
    log(`${cls.name}: ${names.map((n, j) => `${n} ${count(lat[j]!.count)} queries, ${count(hits[j]!)} hits`).join('; ')}`);
    if (c.fts5.keyed) {
      const ours = await c.ours.top10(k, 0, perRound * roundCount);
      const overlap = ours.reduce((sum, top, i) => sum + overlapOf(top, c.fts5.top10(cls.queries[i]!)), 0) / ours.length;
      results.compare({
        metric: `${cls.name} top-10 overlap with FTS5`,
        kind: 'rate',
        unit: '',
        value: overlap,
        peers: [{ name: TARGET_11, value: 0.9, target: TARGET_11, goal: { text: 'mean top-10 overlap with FTS5 bm25() at least 0.9', atLeast: 1 } }],
      });
    }
    const [a, ...peerStats] = lat.map((l) => l.summary());
    for (const stat of ['p50', 'p99'] as const) {
      const peers: PeerFigure[] = peerStats.map((s, j) => {
        const name = names[j + 1]!;
        const goal = name === FTS5 ? { text: 'at or under FTS5', atLeast: 1 } : name === MINISEARCH ? { text: '10× faster than MiniSearch', atLeast: 10 } : undefined;
        return { name, value: s[stat], ...(goal ? { goal } : {}) };
      });
      if (stat === 'p99' && c.p99Target) peers.push({ name: TARGET_5, value: 5, target: TARGET_5, goal: { text: 'p99 under 5 ms', atLeast: 1 } });
      results.compare({ metric: `${cls.name} ${stat}`, kind: 'time', unit: 'ms', value: a![stat], peers });
    }
  }
}

/** How many of the best hits the overlap with FTS5 compares. */
const TOP_OVERLAP = 10;

/** The peer name of issue 11's overlap target. */
const TARGET_11 = 'target (issue 11)';

/** The share of two top lists in common, over the longer one (1 when both are empty). */
function overlapOf(a: readonly string[], b: readonly string[]): number {
  const size = Math.max(a.length, b.length);
  if (size === 0) return 1;
  const inB = new Set(b);
  return a.filter((key) => inB.has(key)).length / size;
}

export const MB = 1e6;

export function count(n: number): string {
  return n.toLocaleString('en-US');
}
