/**
 * The crash test (issue 2, "Proof"): child processes append to one data folder
 * with durability 'always' and are killed with SIGKILL at random moments, over
 * and over. After every round of kills the store is reopened (twice) and
 * checked:
 *
 * - every append a child acknowledged (it writes the ack line with one
 *   fs.writeSync only after `await append` resolved) is present and byte-equal
 *   (ids, types, data, metadata), with the version and position it was
 *   acknowledged with;
 * - every stored event is exactly the event its id names (no torn or mixed
 *   data), and each child loop's events are stored as seq 1..k in order;
 * - versions 1..n and positions 1..N without gaps; the feed and the streams agree;
 * - reopening twice gives the same result, and nothing seen after an earlier
 *   round is lost or changed later.
 *
 * A child killed while holding the writer lock blocks the next writer until
 * the lock goes stale, so the stores use lockStaleMs 2000 (the minimum) and a
 * cycle takes about 2.5 s. Checks read the whole store, so the store is
 * started afresh every `cyclesPerFolder` cycles to keep a cycle's cost flat.
 *
 * `npm run crash -- [cycles] --engine [--seed=N] [--children=N] [--keep] [--postgres=URL]`
 * runs hundreds of cycles (default 300) and prints a summary (crash-command.ts;
 * without `--engine` it runs the chat API's crash cycles, chat-crash-cycles.ts);
 * test/flatfile/crash.test.ts runs a few dozen through the same function.
 *
 * With `postgres` (a connection string; `--postgres=URL`), the same cycles run on
 * the PostgreSQL backend: each data folder stands for a schema of its own
 * (test/support/postgres.ts `schemaOf`), dropped at the end unless kept.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { FlatfileBackend } from '../../src/backends/flatfile/flatfile-backend.js';
import { postgresBackend } from '../../src/backends/postgres/connect.js';
import { EventStore } from '../../src/engine/event-store.js';
import { Monitor } from '../../src/engine/monitor.js';
import { startWorker, type Worker } from './children.js';
import { dropSchema, schemaOf } from './postgres.js';
import { type Snapshot, checkAcks, checkConsistency, checkPrefix, formatProblems, readSnapshot, snapshotText } from './verify.js';
import { type Ack, eventFor, parseLines, rng } from './workload.js';

export interface CrashOptions {
  cycles: number;
  /** Child processes per cycle (default 3). */
  children?: number;
  seed?: number;
  /** Where the data folders go; a new temporary folder by default (removed afterwards unless `keep` or a check failed). */
  dir?: string;
  keep?: boolean;
  /** Cycles run on one data folder before the next starts afresh (default 20). */
  cyclesPerFolder?: number;
  /** Children are killed at random moments up to this long after the first acknowledged append of the cycle (default 400 ms). */
  killWindowMs?: number;
  /** Share of cycles whose kills are timed from the go signal instead, so some land while a child opens and recovers (default 1/6). */
  earlyKillShare?: number;
  /** Stream segment size in bytes; small by default so that segments roll over often (default 4096). */
  segmentBytes?: number;
  /** Progress lines. */
  log?: (line: string) => void;
  /** A PostgreSQL connection string: run on the PostgreSQL backend, one schema per data folder. */
  postgres?: string;
}

export interface CrashSummary {
  cycles: number;
  seed: number;
  folders: number;
  kills: number;
  /** Cycles whose kills were timed from the go signal (some during open and recovery). */
  earlyKillCycles: number;
  /** Kills of a child that had already acknowledged appends in its cycle. */
  killsWhileAppending: number;
  acknowledgedAppends: number;
  acknowledgedEvents: number;
  storedEvents: number;
  /** Stored events whose ack line the child did not get to write before it died (allowed: never acknowledged). */
  unacknowledgedButStored: number;
  /** What the first reopen after each round reported through the monitor, by kind. */
  recoveries: Record<string, number>;
  /** What the children repaired (leftovers of children killed before them), by kind. */
  childRecoveries: Record<string, number>;
  /** Reopens that had to wait for a dead child's writer lock to go stale (> 1 s). */
  staleLockWaits: number;
  ms: number;
}

export class CrashCheckFailed extends Error {}

const LOCK_STALE_MS = 2000;

function openStore(dir: string, postgres: string | undefined, monitor?: Monitor): Promise<EventStore> {
  const backend = postgres
    ? postgresBackend({ connectionString: postgres, schema: schemaOf(dir) })
    : new FlatfileBackend({ dir, durability: 'always', lockStaleMs: LOCK_STALE_MS });
  if (!monitor) return EventStore.open(backend);
  // Opening the backend first with our monitor shows what recovery did while opening.
  return backend.open({ monitor }).then(() => EventStore.open(backend));
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
const running = (w: Worker) => w.child.exitCode === null && w.child.signalCode === null;

interface CycleChildren {
  cycle: number;
  folder: string;
  goFile: string;
  ackFiles: string[];
  workers: Worker[];
}

export async function runCrashCycles(options: CrashOptions): Promise<CrashSummary> {
  const started = Date.now();
  const seed = options.seed ?? Math.floor(Math.random() * 2 ** 31);
  const children = options.children ?? 3;
  const perFolder = options.cyclesPerFolder ?? 20;
  const killWindow = options.killWindowMs ?? 400;
  const earlyShare = options.earlyKillShare ?? 1 / 6;
  const log = options.log ?? (() => undefined);
  const random = rng(seed);
  const base = options.dir ?? fs.mkdtempSync(path.join(os.tmpdir(), 'ffcdb-crash-'));
  const ackDir = fs.mkdtempSync(path.join(os.tmpdir(), 'ffcdb-crash-acks-'));
  const folderFor = (cycle: number) => path.join(base, `folder-${Math.floor((cycle - 1) / perFolder) + 1}`);
  const summary: CrashSummary = {
    cycles: 0,
    seed,
    folders: 0,
    kills: 0,
    earlyKillCycles: 0,
    killsWhileAppending: 0,
    acknowledgedAppends: 0,
    acknowledgedEvents: 0,
    storedEvents: 0,
    unacknowledgedButStored: 0,
    recoveries: {},
    childRecoveries: {},
    staleLockWaits: 0,
    ms: 0,
  };
  let failed = false;
  let next: CycleChildren | undefined;
  // Per data folder: everything acknowledged in it, and what the last check saw.
  let acks: Ack[] = [];
  let previous: Snapshot | undefined;
  let folderStored = 0;
  let folderAcked = 0;

  const fail = (cycle: number, what: string, problems: readonly string[]): never => {
    failed = true;
    const repaired = `children repaired so far: ${counts(summary.childRecoveries)}`;
    const kept = options.postgres ? `schema ${schemaOf(folderFor(cycle))} kept` : `data folder kept at ${folderFor(cycle)}`;
    throw new CrashCheckFailed(`crash cycle ${cycle} (seed ${seed}, ${kept}): ${what}\n${formatProblems(problems)}\n  (${repaired})`);
  };

  // Children of the next cycle are started (Node and tsx loading) while the
  // parent still checks the last one; they open the store once the go file appears.
  const spawnCycle = (cycle: number): CycleChildren => {
    const folder = folderFor(cycle);
    const goFile = path.join(ackDir, `c${cycle}.go`);
    const ackFiles: string[] = [];
    const workers: Worker[] = [];
    for (let i = 0; i < children; i++) {
      const ackFile = path.join(ackDir, `c${cycle}-w${i}.jsonl`);
      ackFiles.push(ackFile);
      workers.push(
        startWorker({
          mode: 'crash',
          dir: folder,
          tag: `c${cycle}w${i}`,
          // One concurrent loop per stream: a stream of this child slot's own, and two every child writes.
          streams: [`own-${i}`, 'shared-0', 'shared-1'],
          maxBatch: 3,
          ackFile,
          goFile,
          goBeforeOpen: true,
          durability: 'always',
          lockStaleMs: LOCK_STALE_MS,
          segmentBytes: options.segmentBytes ?? 4096,
          ...(options.postgres ? { postgres: { url: options.postgres, schema: schemaOf(folder) } } : {}),
        }),
      );
    }
    return { cycle, folder, goFile, ackFiles, workers };
  };
  const acksIn = (file: string) => (fs.existsSync(file) ? fs.readFileSync(file, 'utf8').split('\n').filter((l) => l.includes('"kind":"ack"')).length : 0);

  try {
    next = options.cycles > 0 ? spawnCycle(1) : undefined;
    for (let cycle = 1; cycle <= options.cycles; cycle++) {
      const { folder, goFile, ackFiles, workers } = next!;

      if (cycle === 1 || folder !== folderFor(cycle - 1)) {
        // A fresh data folder. Its feed's first segment exists before any child
        // opens it (processes that all open an empty folder are the multi-process test's).
        summary.storedEvents += folderStored;
        summary.unacknowledgedButStored += folderStored - folderAcked;
        acks = [];
        previous = undefined;
        folderStored = 0;
        folderAcked = 0;
        summary.folders++;
        const store = await openStore(folder, options.postgres);
        const result = await store.append('setup', eventFor('seed', 'setup', 1));
        acks.push({ kind: 'ack', tag: 'seed', stream: 'setup', seqs: [1], ...result, at: Date.now() });
        folderAcked++;
        await store.close();
      }

      // ---- let the children append, then kill them ---------------------------
      fs.writeFileSync(goFile, 'go');
      const t0 = Date.now();
      const early = random() < earlyShare;
      if (early) {
        summary.earlyKillCycles++;
      } else {
        const deadline = Date.now() + 30_000;
        while (ackFiles.every((f) => acksIn(f) === 0)) {
          const dead = workers.find((w) => !running(w));
          if (dead) fail(cycle, 'a child exited on its own before appending', [(await dead.finished).stderr]);
          if (Date.now() > deadline) fail(cycle, 'no child acknowledged an append within 30 s', []);
          await sleep(5);
        }
      }
      const exits = await Promise.all(
        workers.map(async (w, i) => {
          await sleep(Math.floor(random() * (early ? 2 * killWindow : killWindow)));
          const appending = acksIn(ackFiles[i]!) > 0;
          if (running(w) && w.child.kill('SIGKILL')) {
            summary.kills++;
            if (appending) summary.killsWhileAppending++;
          }
          return w.finished;
        }),
      );
      const tKilled = Date.now();
      next = cycle < options.cycles ? spawnCycle(cycle + 1) : undefined;
      const selfExited = exits.map((f, i) => ({ f, i })).filter(({ f }) => f.signal !== 'SIGKILL');
      if (selfExited.length > 0) {
        fail(
          cycle,
          'a child exited on its own (it appends forever and must only ever be killed)',
          selfExited.map(({ f, i }) =>
            f.code === 0
              ? `child ${i}: exit code 0 after ${acksIn(ackFiles[i]!)} acknowledged appends: its pending appends never settled and its event loop ran empty`
              : `child ${i}: exit ${f.code}: ${f.stderr}`,
          ),
        );
      }

      const cycleAcks: Ack[] = [];
      for (const f of ackFiles) {
        if (!fs.existsSync(f)) continue;
        const lines = parseLines<{ kind: string; event?: { kind: string } }>(fs.readFileSync(f, 'utf8'));
        cycleAcks.push(...lines.filter((l): l is Ack => l.kind === 'ack'));
        for (const l of lines) if (l.kind === 'recovery' && l.event) summary.childRecoveries[l.event.kind] = (summary.childRecoveries[l.event.kind] ?? 0) + 1;
      }
      acks.push(...cycleAcks);
      const cycleEvents = cycleAcks.reduce((n, a) => n + a.seqs.length, 0);
      summary.acknowledgedAppends += cycleAcks.length;
      summary.acknowledgedEvents += cycleEvents;
      folderAcked += cycleEvents;

      // ---- reopen and check ---------------------------------------------------
      const monitor = new Monitor();
      const seen: Record<string, number> = {};
      const sub = monitor.events$.subscribe((e) => {
        if (e.kind === 'tail-truncated' || e.kind === 'orphan-removed' || e.kind === 'error') seen[e.kind] = (seen[e.kind] ?? 0) + 1;
      });
      const openStarted = Date.now();
      let first: Snapshot | undefined;
      let openedAt = 0;
      try {
        const store = await openStore(folder, options.postgres, monitor);
        openedAt = Date.now();
        try {
          first = await readSnapshot(store);
        } finally {
          await store.close();
        }
      } catch (err) {
        fail(cycle, 'reopening and reading the store after the kills failed', [String((err as Error)?.stack ?? err)]);
      } finally {
        sub.unsubscribe();
      }
      if (openedAt - openStarted > 1000) summary.staleLockWaits++;
      for (const [kind, n] of Object.entries(seen)) summary.recoveries[kind] = (summary.recoveries[kind] ?? 0) + n;

      const problems = [...checkConsistency(first!), ...checkAcks(first!, acks)];
      if (previous) problems.push(...checkPrefix(previous, first!));
      if (problems.length > 0) fail(cycle, 'the reopened store does not hold what was acknowledged', problems);

      let second: Snapshot | undefined;
      try {
        const again = await openStore(folder, options.postgres);
        try {
          second = await readSnapshot(again);
        } finally {
          await again.close();
        }
      } catch (err) {
        fail(cycle, 'the second reopen failed', [String((err as Error)?.stack ?? err)]);
      }
      if (JSON.stringify(snapshotText(second!)) !== JSON.stringify(snapshotText(first!))) {
        fail(cycle, 'reopening a second time gave a different result', [...checkPrefix(first!, second!), ...checkPrefix(second!, first!)]);
      }

      previous = first;
      folderStored = first!.feed.length;
      summary.cycles = cycle;
      log(
        `cycle ${cycle}/${options.cycles}: ${cycleAcks.length} appends (${cycleEvents} events) acknowledged, ${first!.feed.length} events stored` +
          `${early ? ', kills timed from the go signal' : ''}${Object.keys(seen).length ? `, recovery: ${JSON.stringify(seen)}` : ''}` +
          ` [ran ${tKilled - t0} ms, reopen ${openedAt - openStarted} ms, checks ${Date.now() - openedAt} ms]`,
      );
    }
    summary.storedEvents += folderStored;
    summary.unacknowledgedButStored += folderStored - folderAcked;
    summary.ms = Date.now() - started;
    return summary;
  } finally {
    const left = next?.workers ?? [];
    for (const w of left) if (running(w)) w.child.kill('SIGKILL');
    await Promise.all(left.map((w) => w.finished.catch(() => undefined)));
    fs.rmSync(ackDir, { recursive: true, force: true });
    if (!failed && !options.keep && !options.dir) fs.rmSync(base, { recursive: true, force: true });
    if (options.postgres && !failed && !options.keep) {
      for (let f = 1; f <= summary.folders; f++) await dropSchema(schemaOf(folderFor((f - 1) * perFolder + 1)));
    }
  }
}

function counts(kinds: Record<string, number>): string {
  const entries = Object.entries(kinds);
  return entries.length ? entries.map(([k, n]) => `${k} ${n}`).join(', ') : 'nothing to repair';
}

export function formatSummary(s: CrashSummary): string {
  return [
    `crash cycles: ${s.cycles} on ${s.folders} data folder(s) (seed ${s.seed}) in ${(s.ms / 1000).toFixed(1)} s`,
    `  children killed with SIGKILL: ${s.kills} (${s.killsWhileAppending} after they had acknowledged appends; ${s.earlyKillCycles} cycles with kills timed from the go signal, some while opening)`,
    `  acknowledged: ${s.acknowledgedAppends} appends, ${s.acknowledgedEvents} events; every one present and byte-equal after every kill`,
    `  stored: ${s.storedEvents} events (${s.unacknowledgedButStored} written but not acknowledged before the kill)`,
    `  recovery while reopening: ${counts(s.recoveries)}; ${s.staleLockWaits} reopens waited for a dead child's lock to go stale`,
    `  repaired by the children (leftovers of killed writers): ${counts(s.childRecoveries)}`,
  ].join('\n');
}
