import { parentPort } from 'node:worker_threads';
import type { NewEvent } from '../../src/kernel/types.js';
import { appendAndReadBack, readBack } from './scenario.js';

/**
 * Runs in a worker thread: opens a data folder and reads everything back,
 * twice (reopening), then (if asked) appends to every stream and reads back once more.
 * The main thread can terminate the worker when it takes too long, which a
 * timeout in the same thread could not do for a synchronous loop.
 */
parentPort!.on('message', async (job: { id: number; dir: string; appendAfter?: Record<string, NewEvent> }) => {
  try {
    const first = await readBack(job.dir);
    const second = await readBack(job.dir);
    const after = job.appendAfter ? await appendAndReadBack(job.dir, job.appendAfter) : undefined;
    parentPort!.postMessage({ id: job.id, first, second, after });
  } catch (err) {
    parentPort!.postMessage({ id: job.id, crash: err instanceof Error ? `${err.name}: ${err.message}\n${err.stack}` : String(err) });
  }
});
