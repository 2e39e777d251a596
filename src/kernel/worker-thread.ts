import { extname } from 'node:path';
import { Worker } from 'node:worker_threads';
import { ErrorCode, FfcdbError } from './errors.js';

/** A typed error as it crosses a thread boundary (structured clone keeps no class). */
export type WorkerError = { code?: string; message: string; details?: Record<string, unknown> };

export function workerError(err: unknown): WorkerError {
  return err instanceof FfcdbError ? { code: err.code, message: err.message, details: { ...err.details } } : { message: (err as Error)?.message ?? String(err) };
}

export function fromWorker(error: WorkerError): FfcdbError {
  return new FfcdbError((error.code as ErrorCode | undefined) ?? ErrorCode.FAILED, error.message, error.details ?? {});
}

/**
 * Starts the worker module `name` (without extension) that sits beside the
 * module `from` (its import.meta.url): `name.js` once built. Run from source
 * (.ts, under tsx), a worker thread does not inherit tsx's loader, so it
 * registers it first.
 */
export function startWorker(from: string, name: string, workerData: unknown): Worker {
  const ext = extname(new URL(from).pathname);
  const url = new URL(`./${name}${ext}`, from);
  if (ext !== '.ts') return new Worker(url, { workerData });
  const tsx = import.meta.resolve('tsx/esm/api');
  return new Worker(`import(${JSON.stringify(tsx)}).then((tsx) => { tsx.register(); return import(${JSON.stringify(url.href)}); })`, { eval: true, workerData });
}
