/** Timing: latency histograms (HdrHistogram) and op-count or time-boxed loops. */
import * as hdr from 'hdr-histogram-js';

export interface LatencySummary {
  count: number;
  /** Milliseconds. */
  p50: number;
  p99: number;
  mean: number;
  max: number;
}

/** Records op latencies in nanoseconds, 3 significant digits. */
export class Latencies {
  readonly #hist = hdr.build({ numberOfSignificantValueDigits: 3, lowestDiscernibleValue: 1 });

  recordMs(ms: number): void {
    this.#hist.recordValue(Math.max(1, Math.round(ms * 1e6)));
  }

  get count(): number {
    return this.#hist.totalCount;
  }

  summary(): LatencySummary {
    const h = this.#hist;
    return {
      count: h.totalCount,
      p50: h.getValueAtPercentile(50) / 1e6,
      p99: h.getValueAtPercentile(99) / 1e6,
      mean: h.mean / 1e6,
      max: h.maxValue / 1e6,
    };
  }
}

export interface LoopResult {
  ops: number;
  elapsedMs: number;
}

/** Runs `op` `n` times one after another, recording each latency; returns ops and wall time. */
export async function timeOps(n: number, op: (i: number) => unknown, latencies?: Latencies): Promise<LoopResult> {
  const started = performance.now();
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    const r = op(i);
    if (r instanceof Promise) await r;
    latencies?.recordMs(performance.now() - t0);
  }
  return { ops: n, elapsedMs: performance.now() - started };
}

/**
 * `writers` concurrent async loops, each calling `op(writer, i)` until `durationMs`
 * has passed; returns the ops done and the wall time until the last one finished.
 */
export async function timeWriters(
  writers: number,
  durationMs: number,
  op: (writer: number, i: number) => unknown,
  latencies?: Latencies,
): Promise<LoopResult> {
  const started = performance.now();
  const deadline = started + durationMs;
  let ops = 0;
  const loop = async (w: number): Promise<void> => {
    for (let i = 0; performance.now() < deadline; i++) {
      const t0 = performance.now();
      await op(w, i);
      latencies?.recordMs(performance.now() - t0);
      ops++;
    }
  };
  await Promise.all(Array.from({ length: writers }, (_, w) => loop(w)));
  return { ops, elapsedMs: performance.now() - started };
}

/** ops per second. */
export function rate(r: LoopResult): number {
  return (r.ops * 1000) / r.elapsedMs;
}

export function sum(rs: readonly LoopResult[]): LoopResult {
  return rs.reduce((a, r) => ({ ops: a.ops + r.ops, elapsedMs: a.elapsedMs + r.elapsedMs }), { ops: 0, elapsedMs: 0 });
}

export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
}

/**
 * Interleaves contenders round by round (A B C, B C A, C A B ...) so that slow
 * drift of the machine (page cache, disk, thermal) does not favour one of them.
 */
export async function rounds(count: number, contenders: ReadonlyArray<(round: number) => Promise<void>>): Promise<void> {
  for (let r = 0; r < count; r++) {
    for (let k = 0; k < contenders.length; k++) {
      const c = contenders[(k + r) % contenders.length];
      if (c) await c(r);
    }
  }
}
