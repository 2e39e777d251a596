/**
 * A child process that works on a shared data folder, for the multi-process
 * and crash tests. Run as `node --import tsx test/support/store-worker.ts '<json config>'`.
 *
 * Modes:
 * - `append`: one sequential loop per stream in `streams`, all loops running
 *   concurrently (so appends from one process share group commits); each loop
 *   appends `appends` times, 1..maxBatch events at a time.
 * - `crash`: like `append` but never stops; it is meant to be killed.
 * - `race`: waits for `{ op: 'append', expected }` messages on the IPC channel and
 *   answers each with the result or the error of one append with that expected version.
 * - `purge`: purges the streams in `streams` one after another, reporting each
 *   result as a `purged` line; it may be killed in the middle.
 *
 * With `postgres`, the worker opens a PostgresBackend on that schema instead of
 * the flatfile store in `dir`.
 *
 * Every acknowledged append is reported as one JSON line (workload.ts `Ack`),
 * written with one fs.writeSync call only after `await append` resolved, to
 * `ackFile` when given, else to stdout (synchronous for files and, on Linux, pipes).
 */
import fs from 'node:fs';
import type { StorageBackend } from '../../src/backends/backend.js';
import { FlatfileBackend } from '../../src/backends/flatfile/flatfile-backend.js';
import { postgresBackend } from '../../src/backends/postgres/connect.js';
import { EventStore } from '../../src/engine/event-store.js';
import { isFfcdbError } from '../../src/kernel/errors.js';
import type { DurabilityMode } from '../../src/kernel/types.js';
import { type Ack, eventFor, rng } from './workload.js';

export interface WorkerConfig {
  mode: 'append' | 'crash' | 'race' | 'purge';
  dir: string;
  /** Prefix of every event id this worker writes; unique per worker (and per crash cycle). */
  tag: string;
  streams?: string[];
  appends?: number;
  maxBatch?: number;
  ackFile?: string;
  durability?: DurabilityMode;
  lockStaleMs?: number;
  segmentBytes?: number;
  /** Race mode: the one stream every message appends to. */
  stream?: string;
  /** When set, the worker opens the store, reports `ready`, and starts appending only once this file exists. */
  goFile?: string;
  /** With goFile: wait for it before opening the store (so a worker can be started while another process holds the store). */
  goBeforeOpen?: boolean;
  /** Work on this PostgreSQL schema (durability 'always' or 'none') instead of the folder `dir`. */
  postgres?: { url: string; schema: string };
}

const config = JSON.parse(process.argv[2] ?? '{}') as WorkerConfig;
const out = config.ackFile ? fs.openSync(config.ackFile, 'a') : 1;

function report(line: object): void {
  fs.writeSync(out, `${JSON.stringify(line)}\n`);
}

async function waitForGo(): Promise<void> {
  if (!config.goFile) return;
  while (!fs.existsSync(config.goFile)) await new Promise((resolve) => setTimeout(resolve, 5));
}

async function main(): Promise<void> {
  if (config.goBeforeOpen) await waitForGo();
  const store = await EventStore.open(backend());
  // What this process repaired (a dead writer's leftovers), for the crash summary.
  store.monitor$.subscribe((e) => {
    if (e.kind === 'tail-truncated' || e.kind === 'orphan-removed') report({ kind: 'recovery', tag: config.tag, event: e });
  });
  report({ kind: 'ready', tag: config.tag, pid: process.pid, at: Date.now() });
  if (!config.goBeforeOpen) await waitForGo();

  if (config.mode === 'race') {
    await race(store);
    return;
  }
  if (config.mode === 'purge') {
    for (const stream of config.streams ?? []) report({ kind: 'purged', tag: config.tag, ...(await store.purgeStream(stream)) });
    await store.close();
    report({ kind: 'done', tag: config.tag });
    return;
  }

  const random = rng(hashTag(config.tag));
  const maxBatch = config.maxBatch ?? 1;
  const limit = config.mode === 'crash' ? Number.POSITIVE_INFINITY : (config.appends ?? 10);
  const loop = async (stream: string): Promise<void> => {
    let seq = 1;
    for (let n = 0; n < limit; n++) {
      const size = 1 + Math.floor(random() * maxBatch);
      const seqs = Array.from({ length: size }, (_, i) => seq + i);
      seq += size;
      const result = await store.append(
        stream,
        seqs.map((s) => eventFor(config.tag, stream, s)),
      );
      const ack: Ack = { kind: 'ack', tag: config.tag, stream, seqs, ...result, at: Date.now() };
      report(ack);
    }
  };
  await Promise.all((config.streams ?? []).map(loop));
  await store.close();
  report({ kind: 'done', tag: config.tag });
}

function backend(): StorageBackend {
  const durability = config.durability ?? 'always';
  if (config.postgres) {
    if (durability === 'batched') throw new Error('the PostgreSQL backend has no batched durability');
    return postgresBackend({ connectionString: config.postgres.url, schema: config.postgres.schema, durability });
  }
  return new FlatfileBackend({
    dir: config.dir,
    durability,
    lockStaleMs: config.lockStaleMs ?? 2000,
    ...(config.segmentBytes ? { segmentBytes: config.segmentBytes } : {}),
  });
}

async function race(store: EventStore): Promise<void> {
  const stream = config.stream ?? 'race';
  await new Promise<void>((resolve) => {
    process.on('message', (msg: { op: string; expected?: number; seq?: number }) => {
      if (msg.op === 'stop') {
        process.removeAllListeners('message');
        resolve();
        return;
      }
      const seq = msg.seq ?? 0;
      store.append(stream, eventFor(config.tag, stream, seq), { expectedVersion: msg.expected ?? 'any' }).then(
        (result) => process.send!({ kind: 'ok', tag: config.tag, seq, result }),
        (err: unknown) =>
          process.send!({
            kind: 'error',
            tag: config.tag,
            seq,
            code: isFfcdbError(err) ? err.code : String(err),
            details: isFfcdbError(err) ? err.details : {},
            message: (err as Error).message,
          }),
      );
    });
    process.send!({ kind: 'listening', tag: config.tag });
  });
  await store.close();
  process.disconnect();
}

function hashTag(s: string): number {
  let h = 7;
  for (let i = 0; i < s.length; i++) h = (Math.imul(h, 31) + s.charCodeAt(i)) >>> 0;
  return h;
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(`worker ${config.tag} failed: ${(err as Error)?.stack ?? String(err)} ${JSON.stringify(isFfcdbError(err) ? { code: err.code, details: err.details } : {})}\n`);
    process.exit(1);
  },
);
