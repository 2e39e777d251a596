/**
 * The data sets of the chat-* scenarios, written through the public chat API
 * (`openChatStore`, flatfile) and copied into the SQLite chat peer with the
 * same ids and times (what the API returned), built once per run into the
 * run's scratch folder and reused:
 *
 * - the chat corpus: 1,000 sessions × 100 messages (quick: 100 × 100) of 50
 *   users (quick: 10), messages added as live traffic would (round r adds
 *   message r of every session, 64 in flight), ~30 % of sessions with one
 *   edited message, and 20 sessions (quick: 4) with 200 context changes
 *   (a set, then merge patches) interleaved with their messages;
 * - the listing store: one user with 100,000 sessions (quick: 3,000) beside
 *   20 users with 50 sessions each (quick: 10 × 20), tagged as SESSION_TAGS says.
 *
 * Both are seeded with durability 'none' (the bytes on disk are the same in
 * every mode; 'always' would only make the build slower) and closed, which
 * saves the projection snapshots; the scenarios reopen them with 'always'.
 * Write scenarios work on a private copy (`copy: true`), so the shared data
 * set stays as built.
 */
import { existsSync } from 'node:fs';
import { copyFile, cp, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { type ChatStore, type ChatStoreOptions, openChatStore } from '../../src/chat/chat-store.js';
import type { DurabilityMode, JsonValue } from '../../src/kernel/types.js';
import { chatApiMessage, chatSessionInput, chatText, contextChanges, seededRandom, sessionIds } from './chat-data.js';
import type { ScenarioContext } from './scenario.js';
import { SqliteChatDb, type Synchronous } from './sqlite-peer.js';
import { removeDir } from './temp.js';

/** How the data sets are seeded (see the header). */
export const SEED_DURABILITY: DurabilityMode = 'none';
const IN_FLIGHT = 64;

/** The note every chat-* scenario prints about how its data set was made. */
export function seedNote(openMs: number): string {
  return `data set seeded through the chat API with durability '${SEED_DURABILITY}', then reopened with durability 'always' for the timed part (open: ${openMs.toFixed(0)} ms, projections from snapshots)`;
}

export interface ChatCorpusShape {
  users: number;
  sessions: number;
  perSession: number;
  contextSessions: number;
  contextChanges: number;
}

export function chatCorpusShape(ctx: ScenarioContext): ChatCorpusShape {
  return { users: ctx.size(50, 10), sessions: ctx.size(1000, 100), perSession: 100, contextSessions: ctx.size(20, 4), contextChanges: 200 };
}

export interface ChatCorpusInfo extends ChatCorpusShape {
  dir: string;
  storeDir: string;
  sqliteFile: string;
  userIds: string[];
  sessionIds: string[];
  /** The sessions holding `contextChanges` context changes. */
  contextSessionIds: string[];
  seed: number;
}

/** A data set opened on both sides: the chat store and the SQLite peer. */
export interface Opened<I> {
  info: I;
  chat: ChatStore;
  sqlite: SqliteChatDb;
  /** Time to open the chat store on the existing data (projections from their snapshots). */
  openMs: number;
  close(): Promise<void>;
}

export interface OpenOptions {
  /** Work on a private copy in the scenario's folder (for scenarios that write); a string names the copy's folder (for two copies). */
  copy?: boolean | string;
  durability?: DurabilityMode;
  /** Further options of `openChatStore`. */
  store?: Omit<Extract<ChatStoreOptions, { dir: string }>, 'dir' | 'durability'>;
  synchronous?: Synchronous;
}

const sessionIdOf = (seed: number, n: number) => sessionIds(seed, n).map((s) => s.replace(/^ses_/, 'ses-'));

function describeChat(ctx: ScenarioContext, shape: ChatCorpusShape): ChatCorpusInfo {
  const dir = join(ctx.runDir, `chat-${shape.sessions}x${shape.perSession}-u${shape.users}-c${shape.contextSessions}x${shape.contextChanges}-seed${ctx.seed}`);
  const ids = sessionIdOf(ctx.seed, shape.sessions);
  return {
    ...shape,
    dir,
    storeDir: join(dir, 'ffcdb'),
    sqliteFile: join(dir, 'sqlite.db'),
    userIds: Array.from({ length: shape.users }, (_, i) => `usr-${String(i).padStart(4, '0')}`),
    sessionIds: ids,
    // Spread over the set: every (sessions / contextSessions)th session.
    contextSessionIds: Array.from({ length: shape.contextSessions }, (_, i) => ids[Math.floor((i * shape.sessions) / shape.contextSessions)] as string),
    seed: ctx.seed,
  };
}

/** Runs `fn` over `items`, `IN_FLIGHT` at a time, in order of the batches; returns the results in order. */
async function inBatches<T, R>(items: readonly T[], fn: (item: T, i: number) => Promise<R>): Promise<R[]> {
  const out: R[] = [];
  for (let i = 0; i < items.length; i += IN_FLIGHT) out.push(...(await Promise.all(items.slice(i, i + IN_FLIGHT).map((x, k) => fn(x, i + k)))));
  return out;
}

const secs = (t0: number) => ((performance.now() - t0) / 1000).toFixed(1);

async function buildChat(ctx: ScenarioContext, info: ChatCorpusInfo): Promise<void> {
  const chat = await openChatStore({ dir: info.storeDir, durability: SEED_DURABILITY });
  const sqlite = new SqliteChatDb(info.sqliteFile, 'NORMAL');
  const rnd = seededRandom(info.seed ^ 0xc4a7);
  const t0 = performance.now();
  try {
    for (const userId of info.userIds) {
      const u = await chat.users.create({ userId, displayName: `${userId} display name` });
      sqlite.createUser(userId, u.displayName ?? userId, u.createdAt);
    }
    const sessionInputs = info.sessionIds.map(() => chatSessionInput(rnd));
    const created = await inBatches(info.sessionIds, (sessionId, i) =>
      chat.sessions.create({ sessionId, userId: info.userIds[i % info.users] as string, ...sessionInputs[i]! }),
    );
    sqlite.transaction(() => {
      for (const s of created) sqlite.createSession({ ...s, at: s.createdAt });
    });

    const contextSet = new Set(info.contextSessionIds);
    const changes = new Map(info.contextSessionIds.map((id) => [id, contextChanges(rnd, info.contextChanges)] as const));
    const perRound = Math.ceil(info.contextChanges / info.perSession);
    const start = Date.UTC(2025, 0, 6, 9);
    for (let seq = 0; seq < info.perSession; seq++) {
      const inputs = info.sessionIds.map((sessionId) => chatApiMessage(rnd, { sessionId, seq, at: start + seq * 45_000 }));
      const added = await inBatches(info.sessionIds, async (sessionId, i) => {
        const m = inputs[i]!;
        const message = await chat.messages.add(sessionId, m.message, m.options);
        const ctxChanges: { op: 'set' | 'patch'; value: { [k: string]: JsonValue }; at: number }[] = [];
        if (contextSet.has(sessionId)) {
          for (const c of changes.get(sessionId)!.slice(seq * perRound, (seq + 1) * perRound)) {
            const v = c.op === 'set' ? await chat.context.set(sessionId, c.value) : await chat.context.patch(sessionId, c.value);
            ctxChanges.push({ ...c, at: v.at! });
          }
        }
        return { sessionId, message, ctxChanges };
      });
      sqlite.transaction(() => {
        for (const a of added) {
          const { messageId, role, content, attachments, metadata, createdAt } = a.message;
          sqlite.addMessage(a.sessionId, { messageId, role, content: content as never, attachments: attachments as never, metadata: metadata as never, at: createdAt });
          for (const c of a.ctxChanges) sqlite.changeContext(a.sessionId, c.op, c.value, c.at);
        }
      });
      if ((seq + 1) % 25 === 0) ctx.log(`  … ${(seq + 1) * info.sessions} messages (${secs(t0)} s)`);
    }
    // ~30 % of sessions: one message edited (a typo fixed, a prompt reworded).
    const edits = info.sessionIds.filter(() => rnd() < 0.3).map((sessionId) => ({ sessionId, seq: Math.floor(rnd() * info.perSession), text: chatText(rnd, 400) }));
    const edited = await inBatches(edits, async (e) => {
      const messageId = `msg_${e.sessionId.slice(4)}_${e.seq}`;
      return { ...e, messageId, m: await chat.messages.edit(e.sessionId, messageId, { content: [{ type: 'text', text: e.text }] }) };
    });
    sqlite.transaction(() => {
      for (const e of edited) sqlite.editMessage(e.sessionId, e.messageId, e.m.content as never, e.m.updatedAt);
    });
    sqlite.checkpoint();
    ctx.log(
      `seeded through the chat API (durability '${SEED_DURABILITY}'): ${info.users} users, ${info.sessions.toLocaleString('en-US')} sessions × ${info.perSession} messages, ` +
        `${edited.length} edits, ${info.contextSessions} sessions × ${info.contextChanges} context changes, in ${secs(t0)} s (SQLite copy included)`,
    );
  } finally {
    sqlite.close();
    await chat.close();
  }
}

async function ensure(ctx: ScenarioContext, dir: string, what: string, stamp: string, build: () => Promise<void>): Promise<void> {
  const marker = join(dir, 'READY');
  if (existsSync(marker) && (await readFile(marker, 'utf8')) === stamp) {
    ctx.log(`reusing ${what}, built earlier in this run`);
    return;
  }
  await removeDir(dir);
  await mkdir(dir, { recursive: true });
  ctx.log(`building ${what} …`);
  await build();
  await writeFile(marker, stamp);
}

async function open<I extends { storeDir: string; sqliteFile: string }>(ctx: ScenarioContext, info: I, options: OpenOptions): Promise<Opened<I>> {
  let { storeDir, sqliteFile } = info;
  if (options.copy) {
    const t0 = performance.now();
    const to = join(ctx.dir, typeof options.copy === 'string' ? options.copy : 'copy');
    await mkdir(to, { recursive: true });
    await cp(storeDir, join(to, 'ffcdb'), { recursive: true });
    await copyFile(sqliteFile, join(to, 'sqlite.db'));
    storeDir = join(to, 'ffcdb');
    sqliteFile = join(to, 'sqlite.db');
    ctx.log(`copied the data set for this scenario's writes in ${secs(t0)} s`);
  }
  const durability = options.durability ?? 'always';
  const t0 = performance.now();
  const chat = await openChatStore({ ...options.store, dir: storeDir, durability });
  const openMs = performance.now() - t0;
  const sqlite = new SqliteChatDb(sqliteFile, options.synchronous ?? 'FULL');
  ctx.log(`opened the chat store (durability '${durability}') in ${openMs.toFixed(0)} ms; SQLite with synchronous=${options.synchronous ?? 'FULL'}`);
  return {
    info: { ...info, storeDir, sqliteFile },
    chat,
    sqlite,
    openMs,
    close: async () => {
      sqlite.close();
      await chat.close();
    },
  };
}

/** Opens the chat corpus on both sides, building it first if this run has not. */
export async function openChatCorpus(ctx: ScenarioContext, options: OpenOptions = {}): Promise<Opened<ChatCorpusInfo>> {
  const info = describeChat(ctx, chatCorpusShape(ctx));
  await ensure(ctx, info.dir, `the chat corpus (${info.sessions.toLocaleString('en-US')} sessions × ${info.perSession} messages)`, 'v1', () => buildChat(ctx, info));
  return open(ctx, info, options);
}

// ---------- the listing store: one user with 100,000 sessions ----------

export interface ListingShape {
  /** Sessions of the heavy user. */
  sessions: number;
  otherUsers: number;
  perOtherUser: number;
}

export function listingShape(ctx: ScenarioContext): ListingShape {
  return { sessions: ctx.size(100_000, 3_000), otherUsers: ctx.size(20, 10), perOtherUser: ctx.size(50, 20) };
}

export interface ListingInfo extends ListingShape {
  dir: string;
  storeDir: string;
  sqliteFile: string;
  userId: string;
  seed: number;
}

export const HEAVY_USER = 'usr-heavy';

async function buildListing(ctx: ScenarioContext, info: ListingInfo): Promise<void> {
  const chat = await openChatStore({ dir: info.storeDir, durability: SEED_DURABILITY });
  const sqlite = new SqliteChatDb(info.sqliteFile, 'NORMAL');
  const rnd = seededRandom(info.seed ^ 0x1157);
  const t0 = performance.now();
  try {
    const others = Array.from({ length: info.otherUsers }, (_, i) => `usr-${String(i).padStart(4, '0')}`);
    for (const userId of [info.userId, ...others]) {
      const u = await chat.users.create({ userId, displayName: `${userId} display name` });
      sqlite.createUser(userId, u.displayName ?? userId, u.createdAt);
    }
    // The other users' sessions are spread among the heavy user's, as they would arrive.
    const total = info.sessions + info.otherUsers * info.perOtherUser;
    const every = Math.floor(total / (info.otherUsers * info.perOtherUser));
    const owners: string[] = [];
    let other = 0;
    for (let i = 0; i < total; i++) owners.push(i % every === every - 1 && other < info.otherUsers * info.perOtherUser ? (others[other++ % info.otherUsers] as string) : info.userId);
    const ids = sessionIdOf(info.seed ^ 0x2, total);
    const CHUNK = 2000;
    for (let c = 0; c < total; c += CHUNK) {
      const slice = ids.slice(c, c + CHUNK);
      const inputs = slice.map(() => chatSessionInput(rnd));
      const created = await inBatches(slice, (sessionId, k) => chat.sessions.create({ sessionId, userId: owners[c + k] as string, ...inputs[k]! }));
      sqlite.transaction(() => {
        for (const s of created) sqlite.createSession({ ...s, at: s.createdAt });
      });
      if ((c + CHUNK) % 20_000 === 0) ctx.log(`  … ${(c + CHUNK).toLocaleString('en-US')} sessions (${secs(t0)} s)`);
    }
    sqlite.checkpoint();
    ctx.log(
      `seeded through the chat API (durability '${SEED_DURABILITY}'): ${info.sessions.toLocaleString('en-US')} sessions of ${info.userId} and ` +
        `${info.otherUsers} × ${info.perOtherUser} of other users, in ${secs(t0)} s (SQLite copy included)`,
    );
  } finally {
    sqlite.close();
    await chat.close();
  }
}

/** Opens the listing store on both sides, building it first if this run has not. */
export async function openListingStore(ctx: ScenarioContext, options: OpenOptions = {}): Promise<Opened<ListingInfo>> {
  const shape = listingShape(ctx);
  const dir = join(ctx.runDir, `listing-${shape.sessions}-seed${ctx.seed}`);
  const info: ListingInfo = { ...shape, dir, storeDir: join(dir, 'ffcdb'), sqliteFile: join(dir, 'sqlite.db'), userId: HEAVY_USER, seed: ctx.seed };
  await ensure(ctx, dir, `the listing store (one user with ${shape.sessions.toLocaleString('en-US')} sessions)`, 'v1', () => buildListing(ctx, info));
  return open(ctx, info, options);
}
