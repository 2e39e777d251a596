/**
 * store-worker.ts children on a PostgreSQL schema, for the PostgreSQL
 * multi-process and feed-order tests: starting them together, collecting their
 * acknowledgements, and checking a schema against them.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as assert from 'uvu/assert';
import { postgresBackend } from '../../src/backends/postgres/connect.js';
import { EventStore } from '../../src/engine/event-store.js';
import type { RecordedEvent } from '../../src/kernel/types.js';
import { startWorker, type Worker } from './children.js';
import { TEST_POSTGRES, dropSchema, uniqueSchema } from './postgres.js';
import type { WorkerConfig } from './store-worker.js';
import { type Snapshot, checkAcks, checkConsistency, formatProblems, readSnapshot, snapshotText } from './verify.js';
import { type Ack, parseLines } from './workload.js';

export type PgWorkerConfig = Omit<WorkerConfig, 'dir' | 'postgres' | 'goFile'>;

/** Schemas (and a folder for go files) that one test file uses; `dispose` drops and removes them. */
export class PgWorkspace {
  readonly #schemas: string[] = [];
  readonly #dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ffcdb-pg-'));

  schema(): string {
    const schema = uniqueSchema();
    this.#schemas.push(schema);
    return schema;
  }

  open(schema: string): Promise<EventStore> {
    return EventStore.open(postgresBackend({ connectionString: TEST_POSTGRES!, schema }));
  }

  worker(schema: string, config: PgWorkerConfig, options: { ipc?: boolean } = {}): Worker {
    return startWorker({ durability: 'always', ...config, dir: '', postgres: { url: TEST_POSTGRES!, schema } }, options);
  }

  /** Starts append workers that open the schema, report ready and wait for a go file; then lets them all go at once. */
  async startTogether(schema: string, configs: PgWorkerConfig[]): Promise<Worker[]> {
    const goFile = path.join(this.#dir, `${schema}.go`);
    const workers = configs.map((c) => startWorker({ durability: 'always', ...c, dir: '', goFile, postgres: { url: TEST_POSTGRES!, schema } }));
    const deadline = Date.now() + 60_000;
    for (const w of workers) {
      while (!w.stdout().includes('"kind":"ready"')) {
        if (w.child.exitCode !== null || w.child.signalCode !== null || Date.now() > deadline) {
          for (const other of workers) other.child.kill('SIGKILL');
          throw new Error(`a worker did not get ready within 60 s: ${(await w.finished).stderr}`);
        }
        await sleep(10);
      }
    }
    fs.writeFileSync(goFile, 'go');
    return workers;
  }

  async dispose(): Promise<void> {
    for (const schema of this.#schemas) await dropSchema(schema);
    fs.rmSync(this.#dir, { recursive: true, force: true });
  }
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export function acksOf(stdout: string): Ack[] {
  return parseLines<{ kind: string }>(stdout).filter((l): l is Ack => l.kind === 'ack');
}

export function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    promise.finally(() => clearTimeout(timer)),
    new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms: ${what}`)), ms))),
  ]);
}

/** Waits for every worker to exit 0 after finishing its loops; returns their acknowledgements. */
export async function finishAll(workers: Worker[]): Promise<Ack[]> {
  const runs = await Promise.all(workers.map((w) => withTimeout(w.finished, 120_000, 'a worker to finish')));
  for (const r of runs) {
    assert.is(r.code, 0, `a worker failed:\n${r.stderr}`);
    assert.ok(r.stdout.includes('"kind":"done"'), `a worker exited after ${acksOf(r.stdout).length} acknowledged appends without finishing its loops`);
  }
  return runs.flatMap((r) => acksOf(r.stdout));
}

/**
 * Nothing was killed, so the store holds exactly the acknowledged events:
 * consistent, each position acknowledged once, a paged feed read equal to the
 * streamed one, and the same after reopening.
 */
export async function checkAgainstAcks(open: () => Promise<EventStore>, acks: Ack[]): Promise<void> {
  const total = acks.reduce((n, a) => n + a.seqs.length, 0);
  const store = await open();
  let snap: Snapshot;
  try {
    snap = await readSnapshot(store);
    const problems = [...checkConsistency(snap), ...checkAcks(snap, acks)];
    assert.ok(problems.length === 0, `\n${formatProblems(problems)}`);
    assert.is(snap.feed.length, total);
    const positions = acks.flatMap((a) => a.seqs.map((_, i) => a.firstPosition + i)).sort((a, b) => a - b);
    assert.equal(positions, Array.from({ length: total }, (_, i) => i + 1), 'each position was acknowledged to exactly one append');
    const paged: RecordedEvent[] = [];
    for (let from = 1; ; ) {
      const page = await store.readAll({ fromPosition: from, limit: 37 });
      paged.push(...page.events);
      if (page.events.length === 0) break;
      from = page.nextPosition;
    }
    assert.equal(paged.map((e) => e.id), snap.feed.map((e) => e.id));
  } finally {
    await store.close();
  }
  const again = await open();
  try {
    assert.equal(snapshotText(await readSnapshot(again)), snapshotText(snap), 'reopening reads the same store');
  } finally {
    await again.close();
  }
}
