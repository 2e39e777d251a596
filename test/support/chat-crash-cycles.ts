/**
 * The crash test through the chat API (issue 13): a child process
 * (chat-worker.ts) writes through `openChatStore` on a flatfile store
 * (durability 'always'): sessions, messages, context sets and patches,
 * uploads, searches, and now and then a close and reopen. It is killed with
 * SIGKILL at a random moment: after a random number of acknowledged
 * operations, or (one cycle in eight) within 300 ms of being told to start,
 * so some kills land while it opens and recovers the store. The store is then
 * reopened with `openChatStore({ dir })` and checked (chat-model.ts):
 *
 * - every projection compares identical with a rebuild from the log and
 *   reflects the head;
 * - every acknowledged item reads back through the chat API: users, sessions,
 *   messages and their count, context values, versions and snapshots,
 *   documents, their analyses and their bytes through documents.open;
 * - search: each acknowledged, not-deleted message is found by a search for
 *   the word only it holds, and the words of deleted messages, of deleted
 *   sessions' messages and of replaced texts find nothing;
 * - opened a second time (from the snapshots and search segments the close
 *   wrote), the projections and search still agree.
 *
 * The one write in flight at the kill may or may not have landed: the items it
 * touched are left out of the checks from then on. Each cycle starts a new
 * child on the same folder, so later cycles start from what earlier kills left.
 * A killed child holds the writer lock until it goes stale (lockStaleMs 2000,
 * the minimum), so a cycle costs a few seconds of mostly waiting: the next
 * cycle's child starts (and loads) while the checks run, and several folders
 * run side by side. `npm run crash -- N` (crash-command.ts) runs N cycles and
 * prints the summary; test/chat/crash.test.ts runs a few dozen.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { type ChatStore, openChatStore } from '../../src/chat/chat-store.js';
import { isFfcdbError } from '../../src/kernel/errors.js';
import type { ChatLine, ChatWorkerConfig } from './chat-ops.js';
import { ChatModel, checkAcknowledged, checkProjections, checkSearch } from './chat-model.js';
import { parseLines, rng } from './workload.js';

export interface ChatCrashOptions {
  /** Cycles over all folders. */
  cycles: number;
  /** Data folders run side by side, each with its own child (default 4). */
  folders?: number;
  seed?: number;
  /** Keep the data folders (they are kept anyway when a check failed). */
  keep?: boolean;
  /** Progress lines. */
  log?: (line: string) => void;
}

export interface ChatCrashSummary {
  cycles: number;
  folders: number;
  seed: number;
  kills: number;
  /** Kills with an operation in flight, by operation. */
  inFlight: Record<string, number>;
  /** Kills before the child had opened the store. */
  killsWhileOpening: number;
  /** Acknowledged writes, every one checked after every later kill (but those a later in-flight write touched). */
  writes: number;
  /** Items read back through the chat API, over all checks. */
  itemsChecked: number;
  /** Searches the reopened stores checked, and those the children did and checked themselves. */
  searches: number;
  childSearches: number;
  /** Closes and reopens the children did (each writes search segments and snapshots a kill may cut). */
  childReopens: number;
  problems: string[];
  /** Folders kept for a look (a check failed, or `keep`). */
  kept: string[];
  ms: number;
}

const WORKER = fileURLToPath(new URL('./chat-worker.ts', import.meta.url));
const LOCK_STALE_MS = 2000;
/** A child must reach its kill point within this (a loaded machine starts tsx slowly). */
const CHILD_DEADLINE_MS = 60_000;
const EARLY_KILL_SHARE = 1 / 8;

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

interface Child {
  child: ChildProcess;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }>;
}

function startChatWorker(config: ChatWorkerConfig): Child {
  const child = spawn(process.execPath, ['--import', 'tsx', WORKER, JSON.stringify(config)], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.setEncoding('utf8').on('data', (s: string) => (stderr += s));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, stderr }));
  });
  return { child, exited };
}

interface Cycle {
  ackFile: string;
  goFile: string;
  worker: Child;
}

function emptySummary(seed: number, folders: number): ChatCrashSummary {
  return { cycles: 0, folders, seed, kills: 0, inFlight: {}, killsWhileOpening: 0, writes: 0, itemsChecked: 0, searches: 0, childSearches: 0, childReopens: 0, problems: [], kept: [], ms: 0 };
}

/** Opens the store, runs the checks and closes it; a failure of any of these is a problem. */
async function reopened(dir: string, where: string, problems: string[], check: (chat: ChatStore) => Promise<void>): Promise<void> {
  try {
    const chat = await openChatStore({ dir, lockStaleMs: LOCK_STALE_MS });
    try {
      await check(chat);
    } finally {
      await chat.close();
    }
  } catch (err) {
    problems.push(`${where}: reopening and checking the store failed: ${(err as Error)?.stack ?? String(err)}${isFfcdbError(err) ? ` ${JSON.stringify(err.details)}` : ''}`);
  }
}

/** Runs `cycles` cycles on one data folder; stops after the first cycle whose checks found problems here or in another folder (`failed`). */
async function runFolder(seed: number, cycles: number, name: string, keep: boolean, failed: { any: boolean }, log: (line: string) => void): Promise<ChatCrashSummary> {
  const random = rng(seed);
  const root = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'ffcdb-chat-crash-')));
  const dir = path.join(root, 'store');
  const model = new ChatModel();
  const s = emptySummary(seed, 1);
  // The next cycle's child is started while this cycle's checks run, and waits for its go file to open the store.
  const start = (cycle: number): Cycle => {
    const ackFile = path.join(root, `c${cycle}.jsonl`);
    const goFile = path.join(root, `c${cycle}.go`);
    const config: ChatWorkerConfig = {
      dir,
      tag: `c${cycle}`,
      ackFile,
      goFile,
      seed: Math.floor(random() * 2 ** 31),
      lockStaleMs: LOCK_STALE_MS,
      snapshotEvery: 1 + Math.floor(random() * 8),
      searchIndexing: random() < 0.5 ? 'on-search' : 'on-write',
    };
    return { ackFile, goFile, worker: startChatWorker(config) };
  };
  let next: Cycle | undefined = cycles > 0 ? start(1) : undefined;
  let current: Cycle | undefined;
  try {
    for (let cycle = 1; cycle <= cycles && !failed.any; cycle++) {
      const started = Date.now();
      const where = `${name} (seed ${seed}), cycle ${cycle}`;
      const problems: string[] = [];
      current = next!;
      next = undefined;
      const { ackFile, worker } = current;
      fs.writeFileSync(current.goFile, '');
      const acks = () => (fs.existsSync(ackFile) ? fs.readFileSync(ackFile, 'utf8').split('"kind":"ack"').length - 1 : 0);
      const deadline = Date.now() + CHILD_DEADLINE_MS;
      const alive = () => worker.child.exitCode === null && worker.child.signalCode === null && Date.now() < deadline;
      // Kill after 2 to 30 acknowledged operations, give or take a few ms; or within 300 ms of the go signal, often while the child opens the store.
      const early = random() < EARLY_KILL_SHARE;
      const killAfter = early ? 0 : 2 + Math.floor(random() * 28);
      if (early) await sleep(Math.floor(random() * 300));
      else {
        while (acks() < killAfter && alive()) await sleep(2);
        await sleep(Math.floor(random() * 8));
      }
      worker.child.kill('SIGKILL');
      const exit = await worker.exited;
      current = undefined;
      s.kills++;
      if (exit.signal !== 'SIGKILL') problems.push(`${where}: the child died by itself, not of the kill (code ${exit.code}):\n${exit.stderr}`);
      if (cycle < cycles) next = start(cycle + 1);

      const lines = fs.existsSync(ackFile) ? parseLines<ChatLine>(fs.readFileSync(ackFile, 'utf8')) : [];
      if (!lines.some((l) => l.kind === 'ready')) s.killsWhileOpening++;
      const absorbed = model.absorb(lines, problems);
      const acked = absorbed.writes + absorbed.searches + absorbed.reopens;
      if (acked < killAfter) problems.push(`${where}: the child acknowledged ${acked} operations within ${CHILD_DEADLINE_MS} ms, not the ${killAfter} to wait for`);
      s.writes += absorbed.writes;
      s.childSearches += absorbed.searches;
      s.childReopens += absorbed.reopens;
      if (absorbed.inFlight) s.inFlight[absorbed.inFlight.op] = (s.inFlight[absorbed.inFlight.op] ?? 0) + 1;
      const ran = Date.now() - started;

      let opened = Date.now();
      await reopened(dir, where, problems, async (chat) => {
        opened = Date.now();
        await checkProjections(chat, where, problems);
        s.itemsChecked += await checkAcknowledged(chat, model, where, problems);
        s.searches += await checkSearch(chat, model, where, problems);
      });
      // Opened again, from the snapshots and search segments the close wrote: still consistent.
      await reopened(dir, `${where}, second opening`, problems, async (chat) => {
        await checkProjections(chat, `${where}, second opening`, problems);
        s.searches += await checkSearch(chat, model, `${where}, second opening`, problems);
      });
      s.problems.push(...problems);
      if (problems.length > 0) failed.any = true;
      s.cycles++;
      log(
        `${name} cycle ${cycle}/${cycles}: ${absorbed.writes} writes, ${absorbed.searches} searches, ${absorbed.reopens} reopens acknowledged;` +
          ` killed ${lines.some((l) => l.kind === 'ready') ? (absorbed.inFlight ? `during ${absorbed.inFlight.op}` : 'between operations') : 'while opening'}` +
          ` [ran ${ran} ms, reopen ${opened - started - ran} ms, checks ${Date.now() - opened} ms]${problems.length ? `: ${problems.length} PROBLEMS` : ''}`,
      );
    }
    return s;
  } finally {
    for (const c of [current, next]) {
      if (!c) continue;
      c.worker.child.kill('SIGKILL');
      await c.worker.exited.catch(() => undefined);
    }
    if (s.problems.length > 0 || keep) s.kept.push(root);
    else fs.rmSync(root, { recursive: true, force: true });
  }
}

export async function runChatCrashCycles(options: ChatCrashOptions): Promise<ChatCrashSummary> {
  const started = Date.now();
  const seed = options.seed ?? Math.floor(Math.random() * 2 ** 30);
  const folders = Math.max(1, Math.min(options.folders ?? 4, options.cycles));
  const log = options.log ?? (() => undefined);
  const shares = Array.from({ length: folders }, (_, i) => Math.floor(options.cycles / folders) + (i < options.cycles % folders ? 1 : 0));
  const failed = { any: false };
  const parts = await Promise.all(shares.map((n, i) => runFolder(seed + i, n, `folder ${i + 1}`, options.keep ?? false, failed, log)));
  const total = emptySummary(seed, folders);
  for (const p of parts) {
    for (const k of ['cycles', 'kills', 'killsWhileOpening', 'writes', 'itemsChecked', 'searches', 'childSearches', 'childReopens'] as const) total[k] += p[k];
    for (const [op, n] of Object.entries(p.inFlight)) total.inFlight[op] = (total.inFlight[op] ?? 0) + n;
    total.problems.push(...p.problems);
    total.kept.push(...p.kept);
  }
  total.ms = Date.now() - started;
  return total;
}

export function formatChatSummary(s: ChatCrashSummary): string {
  const inFlight = Object.values(s.inFlight).reduce((a, b) => a + b, 0);
  const ops = Object.entries(s.inFlight)
    .sort((a, b) => b[1] - a[1])
    .map(([op, n]) => `${op} ${n}`)
    .join(', ');
  return [
    `chat crash cycles: ${s.cycles} on ${s.folders} data folder(s) (seed ${s.seed}) in ${(s.ms / 1000).toFixed(1)} s`,
    `  children killed with SIGKILL: ${s.kills} (${inFlight} with an operation in flight${ops ? `: ${ops}` : ''}; ${s.killsWhileOpening} while opening the store)`,
    `  acknowledged writes checked: ${s.writes} (${s.itemsChecked} item reads through the chat API over all checks)`,
    `  searches checked: ${s.searches} by the reopened stores, ${s.childSearches} by the children as they ran; ${s.childReopens} closes and reopens by the children`,
    `  problems: ${s.problems.length}${s.problems.length ? `\n${s.problems.slice(0, 20).map((p) => `    - ${p}`).join('\n')}` : ''}`,
    ...(s.kept.length ? [`  data kept at ${s.kept.join(', ')}`] : []),
  ].join('\n');
}
