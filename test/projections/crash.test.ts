/**
 * Crash consistency of the projections (issue 3, "Proof"): a child process
 * writes through the chat API on a flatfile store (durability 'always',
 * snapshots saved every few events), and is killed with SIGKILL at a random
 * moment. The store is then opened again with `openChatStore({ dir })` and
 * every projection must agree with the log (a rebuild from the feed compares
 * identical), and every write the child acknowledged before the kill must read
 * back through the API. Three data folders run side by side, four cycles each,
 * each cycle with a new child on the same folder (so later cycles start from
 * the snapshots and leftovers of earlier kills). Set FFCDB_CRASH_SEED to replay.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { isDeepStrictEqual } from 'node:util';
import * as assert from 'uvu/assert';
import { mergePatch } from '../../src/projections/merge-patch.js';
import { type ChatStore, openChatStore } from '../../src/chat/chat-store.js';
import { ErrorCode, isFfcdbError } from '../../src/kernel/errors.js';
import type { JsonValue } from '../../src/kernel/types.js';
import { type ChatLine, type ChatOp, type ChatWorkerConfig, documentBytes } from '../support/chat-ops.js';
import { parseLines, rng } from '../support/workload.js';
import { flatfileSuite, tempRoot } from '../flatfile/unit-helpers.js';

const test = flatfileSuite('projections: consistent with the log after SIGKILL mid-append');

const WORKER = fileURLToPath(new URL('../support/chat-worker.ts', import.meta.url));
const LOCK_STALE_MS = 2000;

function startChatWorker(config: ChatWorkerConfig): { child: ChildProcess; exited: Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }> } {
  const child = spawn(process.execPath, ['--import', 'tsx', WORKER, JSON.stringify(config)], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.setEncoding('utf8').on('data', (s: string) => (stderr += s));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, stderr }));
  });
  return { child, exited };
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

// ---- what the acknowledged writes say the store must hold ----------------------

interface SessionModel {
  title: string;
  deleted: boolean;
  /** A write on the session itself (rename, delete) was in flight at a kill: its state is either. */
  uncertain: boolean;
  messages: Map<string, { content: string; deleted: boolean; uncertain: boolean }>;
  countUncertain: boolean;
  context: JsonValue;
  changes: number;
  contextUncertain: boolean;
  snapshots: string[];
}

interface DocumentModel {
  sessionId: string;
  variant: number;
  deleted: boolean;
  analyses: number;
  uncertain: boolean;
}

class Model {
  readonly users = new Set<string>();
  readonly sessions = new Map<string, SessionModel>();
  readonly documents = new Map<string, DocumentModel>();
  acks = 0;

  /** Applies what a child reported: acknowledged writes, and uncertainty for the one in flight. */
  absorb(lines: ChatLine[]): { acks: number; inFlight?: ChatOp } {
    const acked = new Set<number>();
    let acks = 0;
    for (const l of lines) {
      if (l.kind !== 'ack') continue;
      acked.add(l.seq);
      this.apply(l);
      acks++;
    }
    this.acks += acks;
    const pending = lines.filter((l): l is Extract<ChatLine, { kind: 'intent' }> => l.kind === 'intent' && !acked.has(l.seq));
    assert.ok(pending.length <= 1, `at most one write was in flight, got ${pending.length}`);
    if (pending[0]) this.unsure(pending[0]);
    return pending[0] ? { acks, inFlight: pending[0] } : { acks };
  }

  apply(o: ChatOp): void {
    const s = 'sessionId' in o ? this.sessions.get(o.sessionId) : undefined;
    switch (o.op) {
      case 'user.create':
        this.users.add(o.userId);
        return;
      case 'session.create':
        this.sessions.set(o.sessionId, { title: o.title, deleted: false, uncertain: false, messages: new Map(), countUncertain: false, context: {}, changes: 0, contextUncertain: false, snapshots: [] });
        return;
      case 'session.rename':
        s!.title = o.title;
        return;
      case 'session.delete':
        s!.deleted = true;
        for (const d of this.documents.values()) if (d.sessionId === o.sessionId) d.deleted = true;
        return;
      case 'message.add':
        s!.messages.set(o.messageId, { content: o.content, deleted: false, uncertain: false });
        return;
      case 'message.edit':
        s!.messages.get(o.messageId)!.content = o.content;
        return;
      case 'message.delete':
        s!.messages.get(o.messageId)!.deleted = true;
        return;
      case 'context.set':
        s!.context = o.value;
        s!.changes++;
        return;
      case 'context.patch':
        s!.context = mergePatch(s!.context, o.value);
        s!.changes++;
        return;
      case 'context.snapshot':
        s!.snapshots.push(o.name);
        return;
      case 'document.upload':
        this.documents.set(o.documentId, { sessionId: o.sessionId, variant: o.variant, deleted: false, analyses: 0, uncertain: false });
        return;
      case 'document.analyse':
        this.documents.get(o.documentId)!.analyses++;
        return;
      case 'document.delete':
        this.documents.get(o.documentId)!.deleted = true;
        return;
    }
  }

  unsure(o: ChatOp): void {
    const s = 'sessionId' in o ? this.sessions.get(o.sessionId) : undefined;
    if (o.op === 'session.rename' || o.op === 'session.delete') {
      s!.uncertain = true;
      for (const d of this.documents.values()) if (d.sessionId === o.sessionId) d.uncertain = true;
    } else if (o.op === 'message.add' || o.op === 'message.delete' || o.op === 'message.edit') {
      s!.countUncertain = true;
      const m = s!.messages.get(o.messageId);
      if (m) m.uncertain = true;
    } else if (o.op === 'context.set' || o.op === 'context.patch' || o.op === 'context.snapshot') {
      s!.contextUncertain = true;
    } else if (o.op === 'document.analyse' || o.op === 'document.delete') {
      this.documents.get(o.documentId)!.uncertain = true;
    }
  }
}

async function code(p: Promise<unknown>): Promise<string | undefined> {
  try {
    await p;
    return undefined;
  } catch (err) {
    if (isFfcdbError(err)) return err.code;
    throw err;
  }
}

async function readAll(stream: NodeJS.ReadableStream): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

/** Every projection agrees with a rebuild from the log, and reflects the head. */
async function checkProjections(chat: ChatStore, where: string): Promise<void> {
  assert.equal([...chat.projections.names].sort(), ['context', 'documents', 'messages', 'sessions', 'users']);
  for (const name of chat.projections.names) {
    const c = await chat.projections.compare(name);
    assert.ok(c.identical, `${where}: projection ${name} differs from a rebuild from the log:\n${c.differences.join('\n')}`);
  }
  assert.is(chat.projections.position, await chat.events.headPosition(), `${where}: the projections reflect the head`);
}

/** Every acknowledged write reads back through the API. */
async function checkAcknowledged(chat: ChatStore, model: Model, where: string): Promise<number> {
  let checked = 0;
  for (const userId of model.users) {
    assert.is((await chat.users.get(userId)).userId, userId);
    checked++;
  }
  for (const [sessionId, s] of model.sessions) {
    if (s.uncertain) continue;
    const at = `${where}: session ${sessionId}`;
    if (s.deleted) {
      assert.is(await code(chat.sessions.get(sessionId)), ErrorCode.NOT_FOUND, `${at} was deleted`);
      assert.is(await code(chat.messages.count(sessionId)), ErrorCode.NOT_FOUND, `${at} was deleted`);
      checked++;
      continue;
    }
    const got = await chat.sessions.get(sessionId);
    assert.is(got.title, s.title, `${at} title`);
    checked++;
    let live = 0;
    for (const [messageId, m] of s.messages) {
      if (!m.deleted) live++;
      if (m.uncertain) continue;
      if (m.deleted) assert.is(await code(chat.messages.get(sessionId, messageId)), ErrorCode.NOT_FOUND, `${at} message ${messageId} was deleted`);
      else assert.is((await chat.messages.get(sessionId, messageId)).content, m.content, `${at} message ${messageId}`);
      checked++;
    }
    if (!s.countUncertain) assert.is((await chat.messages.count(sessionId)).count, live, `${at} message count`);
    if (!s.contextUncertain) {
      const ctx = await chat.context.get(sessionId);
      assert.is(ctx.version, s.changes, `${at} context version`);
      assert.ok(isDeepStrictEqual(ctx.context, s.context), `${at} context ${JSON.stringify(ctx.context)} != ${JSON.stringify(s.context)}`);
      const names = (await chat.context.snapshots(sessionId)).snapshots.map((x) => x.name);
      assert.equal(names.sort(), [...s.snapshots].sort(), `${at} context snapshots`);
      checked++;
    }
  }
  for (const [documentId, d] of model.documents) {
    if (d.uncertain) continue;
    const at = `${where}: document ${documentId}`;
    if (d.deleted) {
      assert.is(await code(chat.documents.get(documentId)), ErrorCode.NOT_FOUND, `${at} was deleted`);
    } else {
      const doc = await chat.documents.get(documentId);
      assert.is(doc.size, documentBytes(d.variant).length, `${at} size`);
      assert.ok((await readAll(await chat.documents.open(documentId))).equals(documentBytes(d.variant)), `${at} bytes`);
      assert.is((await chat.documents.analyses(documentId)).analyses.length, d.analyses, `${at} analyses`);
    }
    checked++;
  }
  return checked;
}

interface PipelineResult {
  kills: number;
  acks: number;
  checked: number;
  killedInFlight: number;
}

async function pipeline(seed: number, cycles: number): Promise<PipelineResult> {
  const random = rng(seed);
  const root = tempRoot('chat-crash');
  const dir = path.join(root, 'store');
  const model = new Model();
  const result: PipelineResult = { kills: 0, acks: 0, checked: 0, killedInFlight: 0 };
  let ok = false;
  try {
    for (let cycle = 1; cycle <= cycles; cycle++) {
      const ackFile = path.join(root, `c${cycle}.jsonl`);
      const tag = `c${cycle}`;
      const worker = startChatWorker({ dir, tag, ackFile, seed: Math.floor(random() * 2 ** 31), lockStaleMs: LOCK_STALE_MS, snapshotEvery: 1 + Math.floor(random() * 8) });
      const acks = () => (fs.existsSync(ackFile) ? fs.readFileSync(ackFile, 'utf8').split('"kind":"ack"').length - 1 : 0);
      // Kill at a random moment once the child is writing: after 2 to 30 acknowledged writes, give or take a few ms.
      const killAfter = 2 + Math.floor(random() * 28);
      const deadline = Date.now() + 20_000;
      while (acks() < killAfter && worker.child.exitCode === null && Date.now() < deadline) await sleep(2);
      await sleep(Math.floor(random() * 8));
      worker.child.kill('SIGKILL');
      const exit = await worker.exited;
      assert.is(exit.signal, 'SIGKILL', `cycle ${cycle}: the child died of the kill, not by itself (code ${exit.code}):\n${exit.stderr}`);
      result.kills++;

      const lines = parseLines<ChatLine>(fs.readFileSync(ackFile, 'utf8'));
      const { acks: acked, inFlight } = model.absorb(lines);
      assert.ok(acked >= killAfter, `cycle ${cycle}: the child acknowledged ${acked} writes`);
      result.acks += acked;
      if (inFlight) result.killedInFlight++;

      const where = `seed ${seed}, cycle ${cycle}`;
      const chat = await openChatStore({ dir, lockStaleMs: LOCK_STALE_MS });
      try {
        await checkProjections(chat, where);
        result.checked += await checkAcknowledged(chat, model, where);
      } finally {
        await chat.close();
      }
      // Opened again, from the snapshots the close saved: still consistent.
      const again = await openChatStore({ dir, lockStaleMs: LOCK_STALE_MS });
      try {
        await checkProjections(again, `${where}, second opening`);
      } finally {
        await again.close();
      }
    }
    ok = true;
    return result;
  } finally {
    if (ok) fs.rmSync(root, { recursive: true, force: true });
    else console.log(`chat crash test: data kept at ${root}`);
  }
}

test('chat writes killed with SIGKILL mid-append: every projection compares identical with the log on reopen, and every acknowledged write reads back', async () => {
  const seed = process.env.FFCDB_CRASH_SEED ? Number(process.env.FFCDB_CRASH_SEED) : Math.floor(Math.random() * 2 ** 30);
  const PIPELINES = 3;
  const CYCLES = 4;
  const results = await Promise.all(Array.from({ length: PIPELINES }, (_, i) => pipeline(seed + i, CYCLES)));
  const total = (k: keyof PipelineResult) => results.reduce((n, r) => n + r[k], 0);
  if (process.env.FFCDB_TEST_VERBOSE) console.log(`\nchat crash (seed ${seed}): ${JSON.stringify(results)}`);
  assert.is(total('kills'), PIPELINES * CYCLES);
  assert.ok(total('acks') >= 2 * PIPELINES * CYCLES, 'acknowledged writes were checked');
  assert.ok(total('checked') > 0);
  // Not vacuous: most kills land while a write is in flight.
  assert.ok(total('killedInFlight') > 0, 'some kills hit a write in flight');
});

test.run();
