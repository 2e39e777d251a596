/**
 * The worker thread of ThreadedSqliteDriver: it opens the database (through
 * connect.ts) and runs the calls it is sent, one at a time, in order.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { type WorkerError, workerError } from '../../kernel/worker-thread.js';
import { ErrorCode, FfcdbError } from '../../kernel/errors.js';
import { connectSqlite, type SqliteConnectOptions } from './connect.js';
import type { SqliteDriver } from './driver.js';

/** A call to the driver; `id` matches the answer to it. */
export interface WorkerCall {
  id: number;
  op: 'listTables' | 'ensureNamespace' | 'dropNamespace' | 'exec' | 'query' | 'run' | 'insert' | 'upsert' | 'selectByKeys' | 'deleteByKeys' | 'begin' | 'commit' | 'rollback' | 'close';
  args: unknown[];
}

export type WorkerAnswer = { id: number; ok: true; value: unknown } | { id: number; ok: false; error: WorkerError };
export type WorkerReady = { ready: true; description: string } | { ready: false; error: WorkerError };

const port = parentPort!;
const { file, options } = workerData as { file: string; options: SqliteConnectOptions };
let driver: SqliteDriver;
try {
  driver = await connectSqlite(file, options);
  port.postMessage({ ready: true, description: driver.description } satisfies WorkerReady);
} catch (err) {
  port.postMessage({ ready: false, error: workerError(err) } satisfies WorkerReady);
  port.close();
}

/**
 * The main thread sends a transaction's calls without waiting for each answer.
 * Once one of them fails (BEGIN included), the rest are refused unrun until
 * the rollback: nothing after a failure may commit, nor run outside the transaction.
 */
let aborted: WorkerError | undefined;

port.on('message', async (call: WorkerCall) => {
  // The driver's work is synchronous underneath (better-sqlite3): each call is done before the next message is taken.
  try {
    if (call.op === 'rollback') aborted = undefined;
    else if (aborted) throw new FfcdbError((aborted.code as ErrorCode | undefined) ?? ErrorCode.FAILED, `not run: an earlier statement of the transaction failed (${aborted.message})`, aborted.details ?? {});
    const value = await (driver[call.op] as (...args: unknown[]) => unknown).apply(driver, call.args);
    port.postMessage({ id: call.id, ok: true, value } satisfies WorkerAnswer);
  } catch (err) {
    if (call.op !== 'rollback' && (call.op === 'begin' || driver.inTransaction)) aborted ??= workerError(err);
    port.postMessage({ id: call.id, ok: false, error: workerError(err) } satisfies WorkerAnswer);
  }
  if (call.op === 'close') port.close();
});
