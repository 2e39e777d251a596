import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { FfcdbError } from '../../src/kernel/errors.js';
import fc, { readerRuns } from './fc-setup.js';

/**
 * Reader properties: random and damaged inputs fed to a reader, which must
 * give a valid result or fail with an FfcdbError, never another error, never
 * hang, never allocate without bound.
 *
 * Each property runs in a worker thread of its own, under a deadline per case
 * kept by the main thread: a reader stuck in a synchronous loop cannot be
 * interrupted from its own thread (fast-check's `timeout` only races a
 * promise), so a case that does not finish in time has the worker terminated
 * and the property fails, naming the seed and the case to replay. The worker
 * also refuses any single buffer larger than `maxAllocation` (a declared
 * length believed before it was checked) and runs with a capped heap.
 *
 * A test file calls `readerProperties(import.meta.url, ...)`: in the main
 * thread that registers one uvu test per property; in the worker, the same
 * file (imported again) runs the property it was started for.
 */
export interface ReaderProperty<T> {
  arbitrary: fc.Arbitrary<T>;
  /** Feeds one input to the reader and checks what it did; throws (an assertion) when it misbehaved. */
  check?: (input: T) => void;
  /** The same, for a reader that is asynchronous. */
  checkAsync?: (input: T) => Promise<void>;
}

interface Options {
  /** Runs in the worker before the property, with a scratch folder that the main thread removes afterwards. */
  setup?: (scratch: string) => Promise<void> | void;
  /** The largest single buffer a case may ask for (default 80 MiB: a frame of the 64 MiB payload cap, read whole). */
  maxAllocation?: number;
}

interface Job {
  name: string;
  seed: number;
  path?: string;
  runs: number;
  scratch: string;
  maxAllocation: number;
  /** [cases started]: the main thread's watchdog reads it. */
  progress: Int32Array;
}

type Outcome = { ok: true; ms: number } | { ok: false; message: string };

/** A case that runs longer than this is a hang. The machine may be loaded: a case takes milliseconds. */
const CASE_DEADLINE_MS = 10_000;
/** Loading TypeScript in the worker and the setup (building a store, say) before the first case. */
const SETUP_DEADLINE_MS = 120_000;
const DEFAULT_MAX_ALLOCATION = 80 * 2 ** 20;

/** The properties of one file, by name; each takes inputs of its own type. */
export function readerProperties<P extends Record<string, unknown>>(
  moduleUrl: string,
  title: string,
  properties: { [K in keyof P]: ReaderProperty<P[K]> },
  options: Options = {},
): void {
  const job = (workerData as { readerProperty?: Job } | undefined)?.readerProperty;
  if (!isMainThread) {
    const property = job ? (properties as Record<string, ReaderProperty<unknown>>)[job.name] : undefined;
    if (job && property) void runJob(job, property, options).then((outcome) => parentPort!.postMessage(outcome));
    return;
  }
  const s = suite(title);
  for (const name of Object.keys(properties)) {
    s(name, async () => {
      const outcome = await runInWorker(moduleUrl, name, options.maxAllocation ?? DEFAULT_MAX_ALLOCATION);
      if (!outcome.ok) return assert.unreachable(outcome.message);
      if (process.env.FFCDB_FUZZ_RUNS) console.log(`\n  ${title} › ${name}: ${readerRuns} cases in ${(outcome.ms / 1000).toFixed(1)} s`);
    });
  }
  s.run();
}

async function runInWorker(moduleUrl: string, name: string, maxAllocation: number): Promise<Outcome> {
  const scratch = fs.mkdtempSync(path.join(scratchRoot(), 'ffcdb-fuzz-'));
  const seed = process.env.FC_SEED ? Number(process.env.FC_SEED) : Math.floor(Math.random() * 0x7fff_ffff);
  const progress = new Int32Array(new SharedArrayBuffer(4));
  const job: Job = { name, seed, runs: readerRuns, scratch, maxAllocation, progress, ...(process.env.FC_PATH ? { path: process.env.FC_PATH } : {}) };
  // The worker loads TypeScript through tsx's API: a worker does not inherit the parent's loader hooks.
  const api = import.meta.resolve('tsx/esm/api');
  const worker = new Worker(`import(${JSON.stringify(api)}).then(({ register }) => { register(); return import(${JSON.stringify(moduleUrl)}); })`, {
    eval: true,
    workerData: { readerProperty: job },
    resourceLimits: { maxOldGenerationSizeMb: 1024 },
  });
  const replay = `seed ${seed} (replay: FC_SEED=${seed} node --import tsx ${path.relative(process.cwd(), new URL(moduleUrl).pathname)}, or npm run fuzz -- --seed ${seed})`;
  try {
    return await new Promise<Outcome>((resolve) => {
      let seen = 0;
      let since = Date.now();
      const done = (outcome: Outcome) => {
        clearInterval(watchdog);
        resolve(outcome);
      };
      const watchdog = setInterval(() => {
        const started = Atomics.load(progress, 0);
        if (started !== seen) {
          seen = started;
          since = Date.now();
          return;
        }
        const limit = started === 0 ? SETUP_DEADLINE_MS : CASE_DEADLINE_MS;
        if (Date.now() - since > limit) {
          const what = started === 0 ? 'loading and setup' : `case ${started} (FC_PATH=${started - 1} with the seed replays it)`;
          done({ ok: false, message: `${name}: ${what} did not finish within ${limit} ms: the reader hangs; ${replay}` });
        }
      }, 100);
      worker.on('message', (m: Outcome) => done(m.ok ? m : { ok: false, message: `${m.message}\n${replay}` }));
      worker.on('error', (err) => done({ ok: false, message: `${name}: the worker failed (${(err as NodeJS.ErrnoException).code ?? ''} ${err.message}); ${replay}` }));
      // Code 0: the event loop emptied while a case waited on a promise that never settles (an async hang).
      worker.on('exit', (code) => done({ ok: false, message: `${name}: the worker exited with code ${code} before reporting, in case ${Atomics.load(progress, 0)}; ${replay}` }));
    });
  } finally {
    await worker.terminate();
    fs.rmSync(scratch, { recursive: true, force: true });
  }
}

/**
 * Where the cases write their files: a RAM file system when there is one. A
 * reader's answer does not depend on the file system, and on a busy disk a
 * small write can cost milliseconds, most of a case.
 */
function scratchRoot(): string {
  return fs.existsSync('/dev/shm') && fs.statSync('/dev/shm').isDirectory() ? '/dev/shm' : os.tmpdir();
}

async function runJob(job: Job, property: ReaderProperty<unknown>, options: Options): Promise<Outcome> {
  try {
    await options.setup?.(job.scratch);
    const tooLarge = guardAllocations(job.maxAllocation);
    const started = Date.now();
    const begin = () => {
      Atomics.add(job.progress, 0, 1);
      tooLarge.asked = undefined;
    };
    const end = () => {
      if (tooLarge.asked !== undefined) throw new Error(`the reader asked for a buffer of ${tooLarge.asked} bytes (more than ${job.maxAllocation}): a declared length believed before it was checked`);
    };
    const { check, checkAsync } = property;
    const prop = checkAsync
      ? fc.asyncProperty(property.arbitrary, async (input) => {
          begin();
          await checkAsync(input);
          end();
        })
      : fc.property(property.arbitrary, (input) => {
          begin();
          check!(input);
          end();
        });
    await fc.assert(prop, { numRuns: job.runs, seed: job.seed, ...(job.path ? { path: job.path } : {}) });
    return { ok: true, ms: Date.now() - started };
  } catch (err) {
    return { ok: false, message: err instanceof Error ? err.message : String(err) };
  }
}

/**
 * Makes Buffer.alloc, allocUnsafe and allocUnsafeSlow (which fs uses too) refuse any size above `max`,
 * remembering the size asked for: a reader that catches the error still fails its case.
 */
function guardAllocations(max: number): { asked: number | undefined } {
  const state: { asked: number | undefined } = { asked: undefined };
  for (const method of ['alloc', 'allocUnsafe', 'allocUnsafeSlow'] as const) {
    const original = Buffer[method] as (size: number, ...rest: unknown[]) => Buffer;
    (Buffer as unknown as Record<string, unknown>)[method] = (size: number, ...rest: unknown[]) => {
      if (typeof size === 'number' && size > max) {
        state.asked = size;
        throw new RangeError(`refused to allocate ${size} bytes (the fuzz limit is ${max})`);
      }
      return original.call(Buffer, size, ...rest);
    };
  }
  return state;
}

/** Rethrows unless `err` is an FfcdbError with one of `codes` (default CORRUPT): what a reader may fail with. */
export function assertReaderError(err: unknown, what: string, codes: readonly string[] = ['CORRUPT']): void {
  if (err instanceof FfcdbError && codes.includes(err.code)) return;
  const name = err instanceof Error ? `${err.name}${err instanceof FfcdbError ? ` ${err.code}` : ''}: ${err.message}` : String(err);
  throw new Error(`${what}: failed with ${name}, not an FfcdbError ${codes.join(' or ')}${err instanceof Error && !(err instanceof FfcdbError) ? `\n${err.stack}` : ''}`);
}

