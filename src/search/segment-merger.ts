import fs from 'node:fs';
import path from 'node:path';
import type { Worker } from 'node:worker_threads';
import { type WorkerError, fromWorker, startWorker } from '../kernel/worker-thread.js';
import { ErrorCode, FfcdbError } from '../kernel/errors.js';

/** A merge for the merge thread: the segment files to merge, each with its tombstoned ordinals when the merge began. */
export interface MergeJob {
  dir: string;
  name: string;
  sources: { file: string; dead: number[] }[];
}

export type MergeAnswer = { ok: true; remap: Int32Array[] } | { ok: false; error: WorkerError };

/**
 * Runs merges on a thread of their own (merge-worker.ts), one at a time,
 * started on the first merge and kept (unreferenced: it never keeps the
 * process alive) for the next.
 */
export class SegmentMerger {
  #worker: Worker | undefined;
  #pending: { resolve: (remap: Int32Array[] | undefined) => void; reject: (err: unknown) => void; file: string } | undefined;

  /** Writes segment `name` from `sources`; resolves with where each source's ordinals went, or undefined if cancelled. */
  merge(job: MergeJob): Promise<Int32Array[] | undefined> {
    if (this.#pending) return Promise.reject(new FfcdbError(ErrorCode.FAILED, 'a merge is already running'));
    this.#worker ??= this.#start();
    const worker = this.#worker;
    return new Promise((resolve, reject) => {
      this.#pending = { resolve, reject, file: path.join(job.dir, job.name) };
      worker.postMessage(job);
    });
  }

  /** Stops the thread; a merge in progress resolves undefined and its partial file is removed. */
  async cancel(): Promise<void> {
    const worker = this.#worker;
    this.#worker = undefined;
    if (!worker) return;
    const pending = this.#pending;
    this.#pending = undefined;
    await worker.terminate();
    if (pending) {
      fs.rmSync(pending.file, { force: true });
      pending.resolve(undefined);
    }
  }

  #start(): Worker {
    const worker = startWorker(import.meta.url, 'merge-worker', null);
    worker.unref();
    worker.on('message', (answer: MergeAnswer) => {
      const pending = this.#pending;
      this.#pending = undefined;
      if (answer.ok) pending?.resolve(answer.remap);
      else pending?.reject(fromWorker(answer.error));
    });
    const fail = (err: FfcdbError) => {
      if (this.#worker === worker) this.#worker = undefined;
      const pending = this.#pending;
      this.#pending = undefined;
      pending?.reject(err);
    };
    worker.on('error', (err) => fail(new FfcdbError(ErrorCode.FAILED, `the search merge thread failed: ${err.message}`, {}, { cause: err })));
    worker.on('exit', () => fail(new FfcdbError(ErrorCode.FAILED, 'the search merge thread exited')));
    return worker;
  }
}
