/** What the compliance tests share: sample events, comparisons of whole stores, and waiting with a timeout. */
import assert from 'node:assert/strict';
import type { EventStore } from '../../engine/event-store.js';
import { type ErrorCode, FfcdbError } from '../../kernel/errors.js';
import type { JsonValue, NewEvent, RecordedEvent } from '../../kernel/types.js';

export const SENTINEL: NewEvent = { type: 'test.sentinel', data: null };

/** Data with every kind of JsonValue in it. */
export const RICH_DATA: JsonValue = {
  text: 'Hello, wörld! 👋 — "quoted" \\ back\nslash',
  role: 'assistant',
  n: 42,
  f: -0.125,
  big: 9_007_199_254_740_991,
  ok: true,
  no: false,
  nothing: null,
  parts: [{ kind: 'text', text: 'a' }, { kind: 'image', bytes: new Uint8Array([0, 1, 2, 254, 255]) }],
  empty: { list: [], obj: {}, str: '' },
};

export function ev(n: number, type = 'message.added'): NewEvent {
  return { type, data: { n, text: `message ${n}` }, metadata: { actor: 'user-1' } };
}

export function range(from: number, to: number): number[] {
  return Array.from({ length: Math.max(0, to - from + 1) }, (_, i) => from + i);
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export function pick(o: Readonly<Record<string, unknown>>, ...keys: string[]): Record<string, unknown> {
  return Object.fromEntries(keys.map((k) => [k, o[k]]));
}

/** Makes binary values comparable whatever Uint8Array subclass (Buffer) a backend returns. */
export function plain<T>(v: T): T {
  if (v instanceof Uint8Array) return new Uint8Array(v) as T;
  if (Array.isArray(v)) return v.map(plain) as T;
  if (v !== null && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, plain(x)])) as T;
  return v;
}

export async function drain<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of it) out.push(x);
  return out;
}

/** Awaits the operation (or calls it, for ones that throw synchronously) and returns the FfcdbError it must fail with. */
export async function rejects(op: Promise<unknown> | (() => unknown), code: ErrorCode, what = ''): Promise<FfcdbError> {
  try {
    await (typeof op === 'function' ? op() : op);
  } catch (err) {
    if (!(err instanceof FfcdbError)) throw new Error(`${what}: expected an FfcdbError ${code}, got ${String(err)}`, { cause: err });
    assert.equal(err.code, code, `${what}: ${err.message}`);
    return err;
  }
  throw new Error(`${what}: expected an FfcdbError ${code}, but the operation succeeded`);
}

/**
 * uvu's failure report reads an error's `details` as a diff string, and an
 * FfcdbError's `details` is an object: uvu would crash and skip the rest of the
 * suite. So a test that fails with an FfcdbError fails with a plain Error that
 * spells out its code and details.
 */
export function reportable(err: unknown): never {
  if (err instanceof FfcdbError) {
    throw new Error(`unexpected FfcdbError ${err.code}: ${err.message} ${JSON.stringify(err.details)}\n${err.stack}`, { cause: err });
  }
  throw err;
}

export function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not finish within ${ms} ms`)), ms);
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}

export async function waitFor(cond: () => boolean, ms: number, what: string): Promise<void> {
  const until = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > until) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await sleep(1);
  }
}

/** Heads, stream versions and every event, for comparing a store before and after something. */
export async function snapshot(store: EventStore) {
  const feed = await drain(store.streamAll());
  const streams = [...new Set(feed.map((e) => e.streamId))].sort();
  return {
    head: await store.headPosition(),
    versions: Object.fromEntries(await Promise.all(streams.map(async (s) => [s, await store.streamVersion(s)] as const))),
    feed: plain(feed),
  };
}

/** The snapshot plus every stream read forward and backward. */
export async function fullState(store: EventStore) {
  const snap = await snapshot(store);
  const streams: Record<string, unknown> = {};
  for (const s of Object.keys(snap.versions)) {
    streams[s] = { forward: plain(await store.readStream(s)), backward: plain(await store.readStream(s, { direction: 'backward' })) };
  }
  return { ...snap, streams };
}

export type State = Awaited<ReturnType<typeof snapshot>> & { streams?: Record<string, unknown> };

/** Compares two states piece by piece, so a difference is reported as the first event that differs, not a diff of everything. */
export function assertSameState(actual: State, expected: State): void {
  assert.equal(actual.head, expected.head, 'head position');
  assert.deepEqual(actual.versions, expected.versions, 'stream versions');
  for (let i = 0; i < Math.max(actual.feed.length, expected.feed.length); i++) {
    assert.deepEqual(actual.feed[i], expected.feed[i], `the event at position ${i + 1}`);
  }
  for (const s of Object.keys(expected.streams ?? {})) assert.deepEqual(actual.streams?.[s], expected.streams?.[s], `stream ${s} read forward and backward`);
}

/** What must hold of any store: positions 1..head, versions 1..n per stream in feed order, streams equal to their part of the feed. */
export async function checkInvariants(store: EventStore): Promise<void> {
  const head = await store.headPosition();
  const feed = await drain(store.streamAll());
  assert.deepEqual(feed.map((e) => e.position), range(1, head), 'the feed holds positions 1..head without gaps');
  const byStream = new Map<string, RecordedEvent[]>();
  for (const e of feed) byStream.set(e.streamId, [...(byStream.get(e.streamId) ?? []), e]);
  for (const [streamId, events] of byStream) {
    assert.deepEqual(events.map((e) => e.version), range(1, events.length), `${streamId}: versions follow feed order without gaps`);
    assert.equal(await store.streamVersion(streamId), events.length, `${streamId}: streamVersion`);
    assert.deepEqual(plain(await store.readStream(streamId)), plain(events), `${streamId}: the stream equals its part of the feed`);
    const ts = events.map((e) => e.timestamp);
    assert.ok(ts.every((t, i) => i === 0 || t >= ts[i - 1]!), `${streamId}: timestamps never decrease`);
  }
}

