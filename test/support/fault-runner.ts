/**
 * Fault injection at every file-system call (issue 13): runs a scenario with its N-th file-system call
 * failing, for every N the run reaches and each failure kind, and checks what is left.
 *
 * A scenario is a list of steps (the first opens the store, the last closes it), run in a fresh folder
 * prepared without faults. Only calls whose path (or a rename's destination) is inside that folder
 * count, so module loading and the test runner do not. A first clean pass counts the calls (and the
 * sites in src/ that make them); a second builds the reference: the scenario's `view` (what a
 * reopened store reads back, as plain data) after each number of steps. Then, per kind and N:
 * - every error a step threw is an FfcdbError (IO naming the injected errno, or FAILED), never a raw one;
 * - after the first failure, one more call on the same store object (`probe`, a marker append) and the
 *   close may succeed or fail, typed too; an acknowledged probe must be there after reopening;
 * - the folder reopens without the fault and reads back as the view after the steps acknowledged
 *   before the failure, or after the failed step too (whole or absent, never half). A scenario may
 *   `finish` a failed step that is promised to complete when asked again (a purge), after which the
 *   view must be the one after that step.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as assert from 'uvu/assert';
import { ErrorCode, FfcdbError } from '../../src/kernel/errors.js';
import { type FsCall, type FsVerdict, interceptFs } from './fs-interceptor.js';

export const FAULT_KINDS = ['EIO', 'ENOSPC', 'EACCES', 'short', 'EINTR'] as const;
export type FaultKind = (typeof FAULT_KINDS)[number];

export interface Step {
  name: string;
  run(): Promise<unknown>;
}

/** One run of a scenario over a prepared folder. */
export interface Run {
  /** In order: the first opens the store, the last closes it. */
  steps: Step[];
  /** A later call on the same store objects after a failure (a marker write): it may fail, typed. Returns a check for the reopened folder when it was acknowledged. */
  probe?(): Promise<(root: string) => Promise<void>>;
  /** Closes whatever the steps left open, after a failure (errors ignored: the close step is the one judged). */
  abandon(): Promise<void>;
}

export interface FaultScenario {
  name: string;
  /** Builds the folder the faulted run starts from (no faults). */
  prepare(root: string): Promise<void>;
  start(root: string): Run;
  /** What the folder holds, read by reopening it without faults, as plain data to compare. */
  view(root: string): Promise<unknown>;
  /** Completes a failed step that is promised to finish when asked again; the view must then be the one after it. */
  finish?(root: string, step: string): Promise<void>;
  /** Failure points that found defects, run in every mode (their N moves with timers, their call does not). */
  pinned?: PinnedFault[];
}

/** A failure point pinned to a call: the `nth` (default 1) call named `name` from `file` (a src/ path) during `step`, counted after the step's first `after` call when given. */
export interface PinnedFault {
  kind: FaultKind;
  step: string;
  name: string;
  file: string;
  nth?: number;
  after?: string;
  /** A src/ file the call must come through (a shared helper's caller). */
  caller?: string;
  /** The defect it found. */
  why: string;
}

/** What a clean pass saw: the calls in the folder, in order, and the sites that made them. */
export interface CleanPass {
  calls: number;
  writes: number;
  sites: Set<string>;
  /** The site of each call, and of each write call, in order. */
  callSites: string[];
  writeSites: string[];
}

/** How to choose the N to fail: every N; the first call of each distinct site; or a spread of N evenly apart. */
export type Coverage = 'every' | 'sites' | { spread: number };

export interface FaultReport {
  scenario: string;
  sites: number;
  calls: number;
  writes: number;
  /** Failure points run (kind × N, and the pinned ones), and the distinct sites they failed. */
  points: number;
  pinned: number;
  failedSites: number;
  /** Runs where a step's call failed, by the failing step. */
  failedSteps: Record<string, number>;
  ms: number;
}

const inside = (root: string, p: string | undefined) => p !== undefined && (p === root || p.startsWith(root + path.sep));
const inScope = (root: string, call: FsCall) => inside(root, call.path) || inside(root, call.dest);
const isWrite = (call: FsCall) => call.name === 'write' || call.name === 'writev';
const siteName = (call: FsCall) => call.site ?? `(node internals: ${call.api} ${call.name})`;

/** The length of a write call's data, to cut it in half. */
function writeLength(call: FsCall): number {
  const data = call.args[call.api === 'handle' ? 0 : 1];
  if (Array.isArray(data)) return data.reduce((n: number, b: Uint8Array) => n + b.byteLength, 0);
  if (typeof data === 'string') return Buffer.byteLength(data);
  if (ArrayBuffer.isView(data)) {
    const rest = call.args.slice(call.api === 'handle' ? 1 : 2);
    return typeof rest[1] === 'number' ? rest[1] : data.byteLength - (typeof rest[0] === 'number' ? rest[0] : 0);
  }
  return 0;
}

/** Runs fn with every in-scope call passed to `before`. */
async function intercepted<T>(root: string, before: (call: FsCall) => FsVerdict, fn: () => Promise<T>): Promise<T> {
  const uninstall = await interceptFs({ before: (call) => (inScope(root, call) ? before(call) : undefined) });
  try {
    return await fn();
  } finally {
    uninstall();
  }
}

export async function cleanPass(s: FaultScenario, template: string): Promise<CleanPass> {
  return withCopy(template, async (root) => {
    const pass: CleanPass = { calls: 0, writes: 0, sites: new Set(), callSites: [], writeSites: [] };
    const run = s.start(root);
    await intercepted(
      root,
      (call) => {
        pass.calls++;
        pass.callSites.push(siteName(call));
        if (isWrite(call)) {
          pass.writes++;
          pass.writeSites.push(siteName(call));
        }
        pass.sites.add(siteName(call));
        return undefined;
      },
      async () => {
        for (const step of run.steps) await step.run();
      },
    );
    return pass;
  });
}

/** The view after each number of steps done: views[i] after the first i steps (and the close). */
async function referenceViews(s: FaultScenario, template: string): Promise<unknown[]> {
  const count = s.start('').steps.length;
  const views: unknown[] = [];
  // Step 0 opens and the last closes: the views are after opening, after each step between, then after close.
  for (let done = 1; done < count; done++) {
    views.push(
      await withCopy(template, async (root) => {
        const run = s.start(root);
        for (const step of run.steps.slice(0, done)) await step.run();
        await run.steps.at(-1)!.run();
        return s.view(root);
      }),
    );
  }
  return views;
}

/** Runs go in memory (tmpfs) where there is one: the disk's faults are simulated, and real fsyncs only cost time. */
const BASE = fs.existsSync('/dev/shm') ? '/dev/shm' : os.tmpdir();

async function withRoot<T>(fn: (root: string) => Promise<T>): Promise<T> {
  const root = fs.realpathSync(fs.mkdtempSync(path.join(BASE, 'ffcdb-faults-')));
  try {
    return await fn(root);
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
}

/** A fresh folder holding a copy of the prepared one. */
function withCopy<T>(template: string, fn: (root: string) => Promise<T>): Promise<T> {
  return withRoot((root) => {
    fs.cpSync(template, root, { recursive: true });
    return fn(root);
  });
}

/** An error a step threw under a fault: an FfcdbError, IO naming the injected errno or FAILED (a store that failed earlier). */
function assertTyped(err: unknown, kind: FaultKind, where: string): void {
  if (!(err instanceof FfcdbError)) throw new Error(`${where}: threw a raw error, not an FfcdbError: ${(err as Error)?.stack ?? String(err)}`);
  const codes: string[] = [ErrorCode.IO, ErrorCode.FAILED];
  assert.ok(codes.includes(err.code), `${where}: threw ${err.code} (${err.message}), expected IO or FAILED`);
  if (err.code === ErrorCode.IO && kind !== 'short' && err.details.errno !== undefined) assert.is(err.details.errno, kind, `${where}: IO names the injected errno (${err.message})`);
}

/** The outcome of one faulted run. */
interface Outcome {
  fired: FsCall | undefined;
  /** Index of the first step that threw, or -1. */
  failed: number;
}

/** Picks the one call to fail, told the step running. */
type Picker = (call: FsCall, step: string) => boolean;

/** The N-th call (the N-th write, for short writes). */
function nthCall(kind: FaultKind, n: number): Picker {
  let seen = 0;
  return (call) => (kind !== 'short' || isWrite(call)) && ++seen === n;
}

/** A pinned failure point's call: the nth from its file and of its name during its step (counted after its `after` call, if any). */
function pinnedCall(pin: PinnedFault): Picker {
  let seen = 0;
  let after = pin.after === undefined;
  return (call, step) => {
    if (step !== pin.step) return false;
    if (!after) {
      after = call.name === pin.after;
      return false;
    }
    const from = (file: string) => (site: string | undefined) => (site ?? '').startsWith(`${file}:`);
    return call.name === pin.name && from(pin.file)(call.site) && (pin.caller === undefined || call.sites.some(from(pin.caller))) && ++seen === (pin.nth ?? 1);
  };
}

async function faultedRun(s: FaultScenario, root: string, kind: FaultKind, label: string, pick: Picker): Promise<{ outcome: Outcome; probeCheck: ((root: string) => Promise<void>) | undefined }> {
  const run = s.start(root);
  let step = '';
  const outcome: Outcome = { fired: undefined, failed: -1 };
  let probeCheck: ((root: string) => Promise<void>) | undefined;
  const describe = () => `${s.name}, ${kind} at ${label} (${outcome.fired ? `${outcome.fired.name} ${siteName(outcome.fired)}` : 'not reached'})`;
  await intercepted(
    root,
    (call) => {
      if (outcome.fired || !pick(call, step)) return undefined;
      outcome.fired = call;
      return kind === 'short' ? { shortWrite: Math.floor(writeLength(call) / 2) } : { fail: kind };
    },
    async () => {
      for (const [i, current] of run.steps.entries()) {
        step = current.name;
        try {
          await current.run();
        } catch (err) {
          assertTyped(err, kind, `${describe()}: step ${current.name}`);
          outcome.failed = i;
          break;
        }
      }
      if (outcome.failed < 0) return;
      // The store objects after a failure: one more call, then the close, may fail (typed) or work.
      step = '(after the failure)';
      if (outcome.failed > 0 && outcome.failed < run.steps.length - 1) {
        if (run.probe) {
          try {
            probeCheck = await run.probe();
          } catch (err) {
            assertTyped(err, kind, `${describe()}: a call after the failure`);
          }
        }
        try {
          await run.steps.at(-1)!.run();
        } catch (err) {
          assertTyped(err, kind, `${describe()}: close after the failure`);
        }
      }
      await run.abandon().catch(() => undefined);
    },
  );
  return { outcome, probeCheck };
}

/** Which N to fail among calls made from `sites` (in order): all, each site's first, or `spread` of them evenly apart (the first and the last among them). */
export function chooseN(sites: readonly string[], coverage: Coverage): number[] {
  const max = sites.length;
  const all = Array.from({ length: max }, (_, i) => i + 1);
  if (coverage === 'sites') return all.filter((n) => sites.indexOf(sites[n - 1]!) === n - 1);
  if (coverage === 'every' || coverage.spread >= max) return all;
  const picked = new Set<number>();
  for (let i = 0; i < coverage.spread; i++) picked.add(1 + Math.round((i * (max - 1)) / (coverage.spread - 1)));
  return [...picked];
}

/**
 * Runs the scenario with each kind's N-th call failing, for the N `coverage(kind)` chooses, and checks
 * each run. Returns the figures to report.
 */
export async function runFaults(s: FaultScenario, coverage: (kind: FaultKind) => Coverage): Promise<FaultReport> {
  const started = Date.now();
  return withRoot(async (template) => {
    await s.prepare(template);
    return faultsFrom(s, template, coverage, started);
  });
}

async function faultsFrom(s: FaultScenario, template: string, coverage: (kind: FaultKind) => Coverage, started: number): Promise<FaultReport> {
  const clean = await cleanPass(s, template);
  const views = await referenceViews(s, template);
  const steps = s.start('').steps.map((step) => step.name);
  const report: FaultReport = { scenario: s.name, sites: clean.sites.size, calls: clean.calls, writes: clean.writes, points: 0, pinned: 0, failedSites: 0, failedSteps: {}, ms: 0 };
  const failedSites = new Set<string>();
  const problems: string[] = [];
  const only = process.env.FFCDB_FAULTS_ONLY;
  const points: Array<{ kind: FaultKind; label: string; pick: Picker; pinned?: boolean }> = [];
  for (const kind of FAULT_KINDS) {
    for (const n of chooseN(kind === 'short' ? clean.writeSites : clean.callSites, coverage(kind))) {
      // FFCDB_FAULTS_ONLY=EIO:170 reruns one failure point; =pinned runs the pinned ones.
      if (only && only !== `${kind}:${n}`) continue;
      points.push({ kind, label: `call ${n}`, pick: nthCall(kind, n) });
    }
  }
  if (!only || only === 'pinned') for (const pin of s.pinned ?? []) points.push({ kind: pin.kind, label: `${pin.name} of ${pin.file} in ${pin.step} (${pin.why})`, pick: pinnedCall(pin), pinned: true });
  for (const { kind, label, pick, pinned } of points) {
    await withCopy(template, async (root) => {
      try {
        const { outcome, probeCheck } = await faultedRun(s, root, kind, label, pick);
        const where = `${s.name}, ${kind} at ${label} (${outcome.fired ? `${outcome.fired.name} ${siteName(outcome.fired)}` : 'not reached'})`;
        if (pinned && !outcome.fired) assert.unreachable(`${where}: the pinned failure point was not reached (did the code move?)`);
        report.points++;
        if (pinned) report.pinned++;
        if (outcome.fired) failedSites.add(siteName(outcome.fired));
        if (outcome.failed >= 0) report.failedSteps[steps[outcome.failed]!] = (report.failedSteps[steps[outcome.failed]!] ?? 0) + 1;
        await checkAfter(s, root, views, outcome.failed, steps, where);
        if (probeCheck) await probeCheck(root);
      } catch (err) {
        problems.push((err as Error)?.message ?? String(err));
      }
    });
  }
  // Every problem at once (a defect tends to show at many N): the first ones in full, and how many.
  if (problems.length > 0) assert.unreachable(`${problems.length} faulted runs went wrong:\n${problems.slice(0, 40).join('\n')}`);
  report.failedSites = failedSites.size;
  report.ms = Date.now() - started;
  return report;
}

/** The reopened folder reads as the view before the failed step or after it (after finishing it, when the scenario can). */
async function checkAfter(s: FaultScenario, root: string, views: unknown[], failed: number, steps: string[], where: string): Promise<void> {
  const last = views.length - 1;
  // views[i]: after opening and i more steps. Opening failed: as prepared; the close failed: everything acknowledged.
  const before = failed < 0 ? last : Math.min(Math.max(failed - 1, 0), last);
  const after = failed < 0 ? last : Math.min(failed, last);
  let view: unknown;
  try {
    view = await s.view(root);
  } catch (err) {
    throw new Error(`${where}: the folder does not reopen and read back: ${err instanceof FfcdbError ? `${err.code} ${err.message}` : ((err as Error)?.stack ?? String(err))}`);
  }
  const text = JSON.stringify(view);
  if (text === JSON.stringify(views[before]) || text === JSON.stringify(views[after])) return;
  if (failed >= 0 && s.finish) {
    await s.finish(root, steps[failed]!);
    const finished = await s.view(root);
    if (JSON.stringify(finished) !== JSON.stringify(views[after])) assert.unreachable(`${where}: after finishing ${steps[failed]}, the folder does not read as if it had worked: ${difference(finished, views[after])}`);
    return;
  }
  assert.unreachable(`${where}: the folder reads neither as before the failed step (${failed < 0 ? 'none' : steps[failed]}) nor as after it: before: ${difference(view, views[before])}; after: ${difference(view, views[after])}`);
}

/** Where two plain values first differ, as `path: actual ≠ expected`. */
function difference(actual: unknown, expected: unknown, at = ''): string {
  if (JSON.stringify(actual) === JSON.stringify(expected)) return '';
  if (actual && expected && typeof actual === 'object' && typeof expected === 'object') {
    for (const key of new Set([...Object.keys(actual), ...Object.keys(expected)])) {
      const d = difference((actual as Record<string, unknown>)[key], (expected as Record<string, unknown>)[key], `${at}.${key}`);
      if (d) return d;
    }
  }
  return `${at || '(the view)'}: ${JSON.stringify(actual)?.slice(0, 300)} ≠ ${JSON.stringify(expected)?.slice(0, 300)}`;
}

/** One line for the test's output: what was covered. */
export function describeReport(r: FaultReport): string {
  const steps = Object.entries(r.failedSteps)
    .map(([step, n]) => `${step} ${n}`)
    .join(', ');
  return `faults ${r.scenario}: ${r.calls} fs calls (${r.writes} writes) from ${r.sites} sites; ${r.points} failure points run (${r.pinned} pinned), failing ${r.failedSites} distinct sites; failed steps: ${steps || 'none'}; ${(r.ms / 1000).toFixed(1)} s`;
}
