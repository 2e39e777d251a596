import { Worker } from 'node:worker_threads';
import type { NewEvent } from '../../src/kernel/types.js';
import type { AfterAppend, Outcome } from './scenario.js';

export interface ReadBacks {
  first: Outcome;
  second: Outcome;
  after?: { appends: AfterAppend[]; outcome: Outcome };
}

export type IsolatedResult = ReadBacks | { crash: string } | { hang: number };

/**
 * Reads data folders back in a worker thread, one at a time, with a deadline
 * per folder. A folder that makes the store loop forever (even synchronously)
 * comes back as `{ hang }` and the worker is replaced.
 */
export class IsolatedReader {
  #worker: Worker | undefined;
  #nextId = 1;
  #pending: { id: number; resolve: (r: IsolatedResult) => void } | undefined;

  #start(): Worker {
    // The worker loads TypeScript through tsx's API: a worker does not inherit the parent's loader hooks.
    const api = import.meta.resolve('tsx/esm/api');
    const file = new URL('./read-back-worker.ts', import.meta.url).href;
    const worker = new Worker(`import(${JSON.stringify(api)}).then(({ register }) => { register(); return import(${JSON.stringify(file)}); })`, { eval: true });
    worker.on('message', (m: { id: number } & IsolatedResult) => {
      if (this.#pending?.id !== m.id) return;
      const { resolve } = this.#pending;
      this.#pending = undefined;
      const { id: _id, ...result } = m;
      resolve(result as IsolatedResult);
    });
    const fail = (why: string) => {
      if (this.#worker === worker) this.#worker = undefined;
      const p = this.#pending;
      this.#pending = undefined;
      p?.resolve({ crash: why });
    };
    worker.on('error', (err) => fail(`the worker failed: ${err.stack ?? err.message}`));
    worker.on('exit', (code) => fail(`the worker exited with code ${code}`));
    worker.unref();
    return worker;
  }

  /** Reads `dir` back twice; with `appendAfter`, then appends those events (one per stream) and reads back again. */
  async read(dir: string, deadlineMs: number, appendAfter?: Record<string, NewEvent>): Promise<IsolatedResult> {
    this.#worker ??= this.#start();
    const worker = this.#worker;
    const id = this.#nextId++;
    let timer: NodeJS.Timeout | undefined;
    const result = await new Promise<IsolatedResult>((resolve) => {
      this.#pending = { id, resolve };
      timer = setTimeout(() => {
        if (this.#pending?.id !== id) return;
        this.#pending = undefined;
        resolve({ hang: deadlineMs });
      }, deadlineMs);
      worker.postMessage({ id, dir, appendAfter });
    });
    clearTimeout(timer);
    if ('hang' in result) await this.close();
    return result;
  }

  async close(): Promise<void> {
    const worker = this.#worker;
    this.#worker = undefined;
    await worker?.terminate();
  }
}
