/** Starting store-worker.ts child processes and collecting what they report. */
import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { WorkerConfig } from './store-worker.js';

export const WORKER_SCRIPT = fileURLToPath(new URL('./store-worker.ts', import.meta.url));

export interface Finished {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface Worker {
  child: ChildProcess;
  /** Resolves when the process has exited and its output pipes are drained. */
  finished: Promise<Finished>;
  /** Output so far (stdout). */
  stdout(): string;
}

export function startWorker(config: WorkerConfig, options: { ipc?: boolean } = {}): Worker {
  const child = spawn(process.execPath, ['--import', 'tsx', WORKER_SCRIPT, JSON.stringify(config)], {
    stdio: options.ipc ? ['ignore', 'pipe', 'pipe', 'ipc'] : ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout!.setEncoding('utf8').on('data', (s: string) => (stdout += s));
  child.stderr!.setEncoding('utf8').on('data', (s: string) => (stderr += s));
  const finished = new Promise<Finished>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
  return { child, finished, stdout: () => stdout };
}

/** Runs a worker to its end; rejects when it exits with an error. */
export async function runWorker(config: WorkerConfig): Promise<Finished> {
  const done = await startWorker(config).finished;
  if (done.code !== 0) throw new Error(`worker ${config.tag} exited with ${done.code ?? done.signal}:\n${done.stderr}`);
  return done;
}
