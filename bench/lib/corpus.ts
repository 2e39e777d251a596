/**
 * The shared data set of the read scenarios: S sessions of P chat messages,
 * appended one event per append, sessions interleaved as live traffic would be
 * (round r appends message r of every session). SQLite gets exactly the same
 * recorded events (ids, versions, positions, timestamps), copied from the store.
 *
 * Built once per run into the run's scratch folder and reused by the scenarios
 * that ask for the same shape (read-last-100, replay, disk-bytes).
 */
import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { EventStore } from '../../src/engine/event-store.js';
import { chatMessageEvent, seededRandom, sessionIds } from './chat-data.js';
import { openFfcdb } from './ffcdb.js';
import type { ScenarioContext } from './scenario.js';
import { SqliteEventLog } from './sqlite-peer.js';
import { removeDir } from './temp.js';

export interface CorpusShape {
  sessions: number;
  perSession: number;
}

/** The shape the read scenarios share: 1,000 sessions of 100 events (quick: 200 of 100). */
export function standardShape(ctx: ScenarioContext): CorpusShape {
  return { sessions: ctx.size(1000, 200), perSession: 100 };
}

export interface CorpusInfo extends CorpusShape {
  dir: string;
  storeDir: string;
  sqliteFile: string;
  sessionIds: string[];
  events: number;
  seed: number;
}

export interface Corpus {
  info: CorpusInfo;
  store: EventStore;
  sqlite: SqliteEventLog;
  /** Time to open the store on the existing data. */
  openMs: number;
  close(): Promise<void>;
}

const APPENDS_IN_FLIGHT = 64;
/**
 * The bytes on disk are the same in every durability mode; the load uses
 * 'always' with 64 appends in flight (group commit), which keeps it quick and
 * never leaves many files holding unsynced data at once.
 */
const BUILD_DURABILITY = 'always';

async function fill(ctx: ScenarioContext, store: EventStore, info: CorpusInfo): Promise<void> {
  const rnd = seededRandom(info.seed);
  const start = Date.UTC(2025, 0, 6, 9);
  const t0 = performance.now();
  for (let seq = 0; seq < info.perSession; seq++) {
    for (let i = 0; i < info.sessions; i += APPENDS_IN_FLIGHT) {
      const batch = info.sessionIds.slice(i, i + APPENDS_IN_FLIGHT);
      await Promise.all(batch.map((sessionId) => store.append(sessionId, chatMessageEvent(rnd, { sessionId, seq, at: start + seq * 45_000 }))));
    }
  }
  ctx.log(`appended ${info.events.toLocaleString('en-US')} events (one per append) in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
}

async function copyToSqlite(store: EventStore, sqlite: SqliteEventLog): Promise<void> {
  let batch: Parameters<SqliteEventLog['copy']>[0][] = [];
  const flush = () => {
    const rows = batch;
    sqlite.transaction(() => {
      for (const e of rows) sqlite.copy(e);
    });
    batch = [];
  };
  for await (const e of store.streamAll()) {
    batch.push(e);
    if (batch.length >= 1000) flush();
  }
  flush();
  sqlite.checkpoint();
}

function describe(shape: CorpusShape, seed: number, dir: string): CorpusInfo {
  return {
    ...shape,
    dir,
    storeDir: join(dir, 'ffcdb'),
    sqliteFile: join(dir, 'sqlite.db'),
    sessionIds: sessionIds(seed, shape.sessions),
    events: shape.sessions * shape.perSession,
    seed,
  };
}

/** Makes sure the data set exists on disk and says where. */
export async function ensureCorpus(ctx: ScenarioContext, shape: CorpusShape): Promise<CorpusInfo> {
  const info = describe(shape, ctx.seed, join(ctx.runDir, `corpus-${shape.sessions}x${shape.perSession}-seed${ctx.seed}`));
  const marker = join(info.dir, 'READY');
  if (existsSync(marker) && (await readFile(marker, 'utf8')) === String(info.events)) {
    ctx.log(`reusing the data set built earlier in this run: ${shape.sessions} sessions × ${shape.perSession} events`);
    return info;
  }
  await removeDir(info.dir);
  await mkdir(info.dir, { recursive: true });
  ctx.log(`building the data set: ${shape.sessions} sessions × ${shape.perSession} events (durability '${BUILD_DURABILITY}')`);
  const store = await openFfcdb(info.storeDir, BUILD_DURABILITY);
  const sqlite = new SqliteEventLog(info.sqliteFile, 'NORMAL');
  try {
    await fill(ctx, store, info);
    await copyToSqlite(store, sqlite);
  } finally {
    sqlite.close();
    await store.close();
  }
  await writeFile(marker, String(info.events));
  return info;
}

/** Opens the data set on both sides (building it first if needed). */
export async function openCorpus(ctx: ScenarioContext, shape: CorpusShape): Promise<Corpus> {
  const info = await ensureCorpus(ctx, shape);
  const t0 = performance.now();
  const store = await openFfcdb(info.storeDir, 'none');
  const openMs = performance.now() - t0;
  ctx.log(`opened the store (${info.events.toLocaleString('en-US')} events in ${info.sessions} sessions) in ${openMs.toFixed(0)} ms`);
  const sqlite = new SqliteEventLog(info.sqliteFile, 'NORMAL');
  const close = async () => {
    sqlite.close();
    await store.close();
  };
  return { info, store, sqlite, openMs, close };
}
