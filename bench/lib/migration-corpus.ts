/**
 * The data set of the migrate-* scenarios: a chat store of 1,000,000 events
 * (quick: 20,000), built once per run into the run's scratch folder and reused.
 *
 * Users and sessions as the chat API writes them (users.created in `u-`
 * streams; per session 100 events: the session created with tags, 84 messages
 * of ~600 characters (assistant ones with model, usage and finish reason, some
 * user ones with an attachment), 3 edits, a deletion, a rename, a context set,
 * 4 merge patches and a snapshot, and in one session of ten a document
 * uploaded and analysed), appended raw through the engine with durability
 * 'none' in appends of ~10 events, sessions interleaved round by round as live
 * traffic would be. Every event is a valid catalog event.
 */
import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { EventStore } from '../../src/engine/event-store.js';
import type { JsonValue, NewEvent } from '../../src/kernel/types.js';
import { chatText, seededRandom } from './chat-data.js';
import { openFfcdb } from './ffcdb.js';
import type { ScenarioContext } from './scenario.js';
import { removeDir } from './temp.js';

export interface MigrationCorpus {
  storeDir: string;
  events: number;
  sessions: number;
  users: number;
}

const PER_SESSION = 100;
const USERS_PER_SESSION = 0.1;
const ROUNDS = 10;
const MODELS = ['gpt-4o', 'claude-3-5-sonnet', 'llama-3.1-70b'];

/** The events of one session, in stream order (100 of them). */
function sessionEvents(rnd: () => number, sessionId: string, userId: string): NewEvent[] {
  const out: NewEvent[] = [];
  const meta = (actor: string) => ({ actor, correlationId: `turn-${sessionId}-${out.length >> 1}` });
  out.push({ type: 'session.created', data: { userId, title: chatText(rnd, 40).slice(0, 60).replace(/[.?!]$/, ''), tags: rnd() < 0.3 ? ['work', 'travel'].slice(0, 1 + Math.floor(rnd() * 2)) : [], metadata: { source: 'web' } }, metadata: meta(userId) });
  const withDocument = rnd() < 0.1;
  const messages = withDocument ? 82 : 84;
  const ids: string[] = [];
  const plan: NewEvent[] = [];
  const documentId = `doc-${sessionId}`;
  for (let i = 0; i < messages; i++) {
    const messageId = `msg-${sessionId}-${i}`;
    ids.push(messageId);
    const user = i % 2 === 0;
    const data: { [k: string]: JsonValue } = { messageId, role: user ? 'user' : 'assistant', content: [{ type: 'text', text: chatText(rnd, 300 + Math.floor(rnd() * 600)) }] };
    if (!user) data.metadata = { model: MODELS[i % 3]!, usage: { inputTokens: 200 + i * 10, outputTokens: 80 + Math.floor(rnd() * 400) }, finishReason: 'stop' };
    else if (withDocument && i > 20 && rnd() < 0.1) data.attachments = [{ documentId, name: 'notes.pdf', mediaType: 'application/pdf' }];
    plan.push({ type: 'message.added', data, schemaVersion: 2, metadata: meta(user ? userId : 'assistant') });
    if (i === 10) plan.push({ type: 'context.set', data: { context: { summary: chatText(rnd, 200), goals: ['plan'], facts: {}, step: 0 } } });
    if (i === 20 && withDocument) {
      plan.push({ type: 'document.uploaded', data: { documentId, name: 'notes.pdf', mediaType: 'application/pdf', size: 120_000, sha256: 'ab'.repeat(32), metadata: { pages: 12 } } });
      plan.push({ type: 'document.analysed', data: { documentId, analysisVersion: 1, summary: chatText(rnd, 300), entities: [{ type: 'person', text: 'Alice' }, { type: 'place', text: 'Lisbon' }] } });
    }
    if (i % 20 === 15) plan.push({ type: 'context.patched', data: { patch: { step: i, facts: { [`f${i}`]: chatText(rnd, 60) }, ...(i > 40 ? { goals: null } : {}) } } });
    if (i === 50) plan.push({ type: 'context.snapshotted', data: { name: 'midway' } });
    if (i % 25 === 24) plan.push({ type: 'message.edited', data: { messageId: ids[i - 3]!, content: [{ type: 'text', text: chatText(rnd, 400) }] } });
    if (i === 60) plan.push({ type: 'message.deleted', data: { messageId: ids[7]! } });
    if (i === 70) plan.push({ type: 'session.renamed', data: { title: 'Renamed while chatting' } });
  }
  out.push(...plan);
  while (out.length < PER_SESSION) out.push({ type: 'context.patched', data: { patch: { pad: out.length } } });
  return out.slice(0, PER_SESSION);
}

async function fill(ctx: ScenarioContext, store: EventStore, sessions: number, users: number): Promise<void> {
  const rnd = seededRandom(ctx.seed ^ 0x316a);
  const t0 = performance.now();
  for (let u = 0; u < users; u++) await store.append(`u-user-${u}`, { type: 'user.created', data: { userId: `user-${u}`, displayName: `User ${u}`, preferences: { language: 'en' } } });
  // Generated per slice of sessions, so only a slice's events are in memory at once.
  const SLICE = 500;
  for (let first = 0; first < sessions; first += SLICE) {
    const ids = Array.from({ length: Math.min(SLICE, sessions - first) }, (_, i) => `ses-${first + i}`);
    const events = ids.map((id, i) => sessionEvents(rnd, id, `user-${(first + i) % users}`));
    const per = Math.ceil(PER_SESSION / ROUNDS);
    for (let round = 0; round < ROUNDS; round++) {
      await Promise.all(ids.map((id, i) => store.append(`s-${id}`, events[i]!.slice(round * per, (round + 1) * per))));
    }
    if ((first / SLICE) % 4 === 3) ctx.log(`  … ${(first + SLICE) * PER_SESSION + users} events (${((performance.now() - t0) / 1000).toFixed(0)} s)`);
  }
}

/** The store, built on first use in this run (durability 'none': the bytes on disk are the same in every mode). */
export async function migrationCorpus(ctx: ScenarioContext): Promise<MigrationCorpus> {
  const sessions = ctx.size(10_000, 200);
  const users = Math.max(1, Math.round(sessions * USERS_PER_SESSION));
  const events = sessions * PER_SESSION + users;
  const dir = join(ctx.runDir, `migration-corpus-${events}-seed${ctx.seed}`);
  const corpus = { storeDir: join(dir, 'ffcdb'), events, sessions, users };
  const marker = join(dir, 'READY');
  if (existsSync(marker) && (await readFile(marker, 'utf8')) === String(events)) {
    ctx.log(`reusing the store built earlier in this run: ${events.toLocaleString('en-US')} events`);
    return corpus;
  }
  await removeDir(dir);
  await mkdir(dir, { recursive: true });
  ctx.log(`building a store of ${events.toLocaleString('en-US')} events (${users} users, ${sessions} sessions × ${PER_SESSION}), raw through the engine, durability 'none'`);
  const t0 = performance.now();
  const store = await openFfcdb(corpus.storeDir, 'none');
  try {
    await fill(ctx, store, sessions, users);
  } finally {
    await store.close();
  }
  ctx.log(`built in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  await writeFile(marker, String(events));
  return corpus;
}
