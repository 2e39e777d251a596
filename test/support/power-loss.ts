/**
 * Power-loss simulation on the fs interceptor: the run's calls inside a folder are counted and followed
 * by a model of the disk (disk-model.ts, which says what power loss may drop); at the N-th call the power
 * goes (that call and every later one inside the folder fail with EIO, and the run's objects are
 * abandoned), and the folder is written elsewhere as the disk could hold it after the power came back.
 */
import { DiskModel } from './disk-model.js';
import { type FsCall, interceptFs } from './fs-interceptor.js';

export interface PowerLossRun {
  /** Whether the power went: a result that arrives after it was not acknowledged before it. */
  readonly cut: boolean;
}

export interface PowerLossOptions {
  /** The folder whose calls are followed, counted and cut. Everything in it at the start is durable. */
  root: string;
  /** The call inside `root` (1-based) at which the power goes; undefined: it does not (a dry run, to count calls). */
  cutAt: number | undefined;
  /** Opens what it needs itself (descriptors opened before the simulation are not followed) and works; must check `run.cut` before counting a result as acknowledged. */
  work(run: PowerLossRun): Promise<void>;
  /** After the cut, with every call inside `root` still failing: stops what the run left running (timers), e.g. by closing the store. */
  abandon?(): Promise<void>;
  /** Where the folder as power loss left it is written (must not exist). */
  image: string;
  random: () => number;
  /** How long the work may go on after the cut before it is abandoned (ms; default 5,000). */
  settleMs?: number;
}

export interface PowerLossResult {
  /** Calls made inside `root` (up to the cut). */
  calls: number;
  cut: boolean;
  /** Mutating calls the model did not follow (should be none). */
  unmodeled: string[];
  unseen: string[];
}

/**
 * Runs `work` with the power going at call `cutAt` inside `root`, abandons it, and writes the folder as the
 * disk could hold it to `image`. An error of the work before the cut is the caller's (it is rethrown).
 */
export async function simulatePowerLoss(o: PowerLossOptions): Promise<PowerLossResult> {
  const model = new DiskModel(o.root);
  let calls = 0;
  let cut = false;
  let onCut: () => void = () => {};
  const cutHappened = new Promise<void>((resolve) => {
    onCut = resolve;
  });
  const run: PowerLossRun = {
    get cut() {
      return cut;
    },
  };
  // The model's own calls (reading what unseen callers made, writing the image) are neither counted nor cut.
  let busy = false;
  const quietly = <T>(f: () => T): T => {
    busy = true;
    try {
      return f();
    } finally {
      busy = false;
    }
  };
  const inside = (call: FsCall) => !busy && (model.inside(call.path) || model.inside(call.dest));
  const restore = await interceptFs({
    before(call) {
      if (!inside(call)) return undefined;
      if (!cut) {
        calls++;
        if (calls === o.cutAt) {
          cut = true;
          onCut();
        }
      }
      return cut ? { fail: 'EIO' } : undefined;
    },
    after(call, result) {
      if (!cut && inside(call)) quietly(() => model.observe(call, result));
    },
  });
  let workError: unknown;
  let unseen: string[];
  try {
    const working = o.work(run).then(
      () => undefined,
      (err: unknown) => {
        if (!cut) workError = err;
      },
    );
    await Promise.race([working, cutHappened.then(() => Promise.race([working, new Promise((r) => setTimeout(r, o.settleMs ?? 5000))]))]);
    if (workError) throw workError;
    // The power goes now if it has not yet: whatever the work did last was not fsynced by anyone.
    if (!cut) {
      cut = true;
      onCut();
    }
    // A close that never settles (its disk is gone) must not hold the test up, nor let the process exit under it.
    let abandoned = 'settled';
    await Promise.race([o.abandon?.().catch(() => undefined), new Promise((r) => setTimeout(r, o.settleMs ?? 5000)).then(() => (abandoned = 'timed out'))]);
    if (abandoned !== 'settled') console.log(`  (power-loss: closing what the run left open did not settle in ${o.settleMs ?? 5000} ms; abandoned)`);
    ({ unseen } = quietly(() => model.writeImage(o.image, o.random)));
  } finally {
    restore();
  }
  return { calls, cut: calls >= (o.cutAt ?? Number.POSITIVE_INFINITY), unmodeled: model.unmodeled, unseen };
}
