import fs from 'node:fs';
import path from 'node:path';
import fc from 'fast-check';
import * as assert from 'uvu/assert';
import { FEED_MAGIC, FLAG_GROUP_END } from '../../src/backends/flatfile/frame.js';
import { scanSegment } from '../../src/backends/flatfile/segment-scan.js';
import { FfcdbError } from '../../src/kernel/errors.js';
import { openStore } from '../../src/engine/open-store.js';
import type { FlatfileOptions } from '../../src/backends/flatfile/options.js';
import type { EventStore } from '../../src/engine/event-store.js';
import type { AppendResult, JsonValue, NewEvent, RecordedEvent } from '../../src/kernel/types.js';
import { jsonDiff } from './json.js';

/**
 * A small store built through the public API, and the checks that decide
 * whether what a (damaged) copy of it reads back is an exact prefix of it.
 */

export const STREAMS = ['s-a', 's-b', 's-c'] as const;

export interface Append {
  stream: number;
  events: NewEvent[];
}

/** One step: a single append, or several appends issued together (the flatfile backend commits them as one group). */
export type Step = Append[];

const smallData: fc.Arbitrary<JsonValue> = fc.oneof(
  fc.constant(null),
  fc.integer({ min: -1000, max: 1000 }),
  fc.double({ noNaN: true, noDefaultInfinity: true }).map((d) => (Object.is(d, -0) ? 0 : d)),
  fc.string({ unit: 'binary', maxLength: 3 }),
  fc.uint8Array({ maxLength: 3 }),
  fc.record({ t: fc.string({ maxLength: 4 }) }),
  // Big and repetitive enough to be stored lz4-compressed (small on disk once compressed).
  fc.constant({ text: 'ab'.repeat(1500) }),
);

const event: fc.Arbitrary<NewEvent> = fc.record(
  { type: fc.constantFrom('m', 'n.x'), data: smallData, metadata: fc.constantFrom({}, { actor: 'u' }) },
  { requiredKeys: ['type', 'data'] },
);

const append: fc.Arbitrary<Append> = fc.record({ stream: fc.nat(STREAMS.length - 1), events: fc.array(event, { minLength: 1, maxLength: 2 }) });

/** Steps of appends: mostly one at a time, sometimes 2-3 together (one commit group, maybe to the same stream). */
export const steps = (maxSteps: number): fc.Arbitrary<Step[]> =>
  fc.array(fc.oneof({ weight: 3, arbitrary: append.map((a) => [a]) }, { weight: 1, arbitrary: fc.array(append, { minLength: 2, maxLength: 3 }) }), {
    minLength: 1,
    maxLength: maxSteps,
  });

/** What the intact store holds, checked against what was sent. */
export interface Reference {
  feed: RecordedEvent[];
  streams: Record<string, RecordedEvent[]>;
  /** First position of each commit group, as the feed frames' group-end flags tell. */
  groupStarts: number[];
}

/** Commit groups as written: a group ends at a feed frame with FLAG_GROUP_END (frame.ts). */
function commitGroupStarts(dir: string): number[] {
  const feedDir = path.join(dir, 'feed');
  const starts: number[] = [];
  let groupEnded = true;
  for (const name of fs.readdirSync(feedDir).filter((n) => n.endsWith('.feed')).sort()) {
    const file = path.join(feedDir, name);
    const scan = scanSegment(fs.readFileSync(file), file, FEED_MAGIC, 64 * 1024 * 1024);
    assert.is(scan.tornTail, undefined, `${file} of the intact store has a torn tail`);
    for (const f of scan.frames) {
      if (groupEnded) starts.push(f.header.firstPosition);
      groupEnded = (f.header.flags & FLAG_GROUP_END) !== 0;
    }
  }
  assert.ok(groupEnded, 'the intact feed ends inside a commit group');
  return starts;
}

export async function buildStore(dir: string, plan: Step[], options: Omit<FlatfileOptions, 'dir'> = {}): Promise<Reference> {
  const store = await openStore({ dir, durability: 'none', ...options });
  const sentAt = new Map<number, { streamId: string; version: number; event: NewEvent }>();
  let reference: Omit<Reference, 'groupStarts'>;
  try {
    for (const step of plan) {
      // Issued in the same tick: usually one commit group (the feed's flags say which they were).
      const results: AppendResult[] = await Promise.all(step.map((a) => store.append(STREAMS[a.stream]!, a.events)));
      for (const [i, r] of results.entries()) {
        for (const [j, event] of step[i]!.events.entries()) sentAt.set(r.firstPosition + j, { streamId: r.streamId, version: r.firstVersion + j, event });
      }
    }
    const feed: RecordedEvent[] = [];
    for await (const e of store.streamAll()) feed.push(e);
    assert.is(feed.length, sentAt.size, 'the intact feed holds every appended event');
    feed.forEach((e, i) => {
      const sent = sentAt.get(i + 1)!;
      assert.is(e.position, i + 1);
      assert.is(e.streamId, sent.streamId);
      assert.is(e.version, sent.version);
      assert.is(e.type, sent.event.type);
      const d = jsonDiff(e.data, sent.event.data) ?? jsonDiff(e.metadata, sent.event.metadata ?? {});
      assert.not.ok(d, d);
    });
    const streams: Record<string, RecordedEvent[]> = {};
    for (const s of STREAMS) {
      streams[s] = await store.readStream(s);
      assertSameEvents(streams[s]!, feed.filter((e) => e.streamId === s), `intact stream ${s}`);
    }
    reference = { feed, streams };
  } finally {
    await store.close();
  }
  return { ...reference, groupStarts: commitGroupStarts(dir) };
}

export interface ErrorInfo {
  name: string;
  code?: string;
  message: string;
  details?: Record<string, unknown>;
  /** Size of the file named in `details.file` when the error was caught (a later opening may cut the file). */
  fileSize?: number;
}

/** Events read, and the error that stopped the read, if any. */
export interface ReadResult {
  events: RecordedEvent[];
  error?: ErrorInfo;
}

export interface Outcome {
  /** Set when opening the store failed; nothing else was read. */
  openError?: ErrorInfo;
  forward: Record<string, ReadResult>;
  backward: Record<string, ReadResult>;
  feed: ReadResult;
  /** headPosition() and streamVersion() of every stream, or the error they failed with. */
  head: number | ErrorInfo;
  versions: Record<string, number | ErrorInfo>;
}

function errorInfo(err: unknown): ErrorInfo {
  if (err instanceof FfcdbError) {
    const info: ErrorInfo = { name: err.name, code: err.code, message: err.message, details: { ...err.details } };
    const file = err.details.file;
    if (typeof file === 'string') {
      try {
        info.fileSize = fs.statSync(file).size;
      } catch {
        // The file does not exist: no size.
      }
    }
    return info;
  }
  if (err instanceof Error) return { name: err.name, message: `${err.message}\n${err.stack ?? ''}` };
  return { name: 'non-error', message: String(err) };
}

async function collect(it: AsyncIterable<RecordedEvent>): Promise<ReadResult> {
  const events: RecordedEvent[] = [];
  try {
    for await (const e of it) events.push(e);
    return { events };
  } catch (err) {
    return { events, error: errorInfo(err) };
  }
}

/** Opens the store in `dir`, reads every stream both ways and the whole feed, and closes it. */
export async function readBack(dir: string): Promise<Outcome> {
  const outcome: Outcome = { forward: {}, backward: {}, feed: { events: [] }, head: -1, versions: {} };
  let store: EventStore;
  try {
    store = await openStore({ dir, durability: 'none' });
  } catch (err) {
    outcome.openError = errorInfo(err);
    return outcome;
  }
  try {
    for (const s of STREAMS) {
      outcome.forward[s] = await collect(store.streamEvents(s));
      outcome.backward[s] = await collect(store.streamEvents(s, { direction: 'backward' }));
    }
    outcome.feed = await collect(store.streamAll());
    outcome.head = await store.headPosition().catch(errorInfo);
    for (const s of STREAMS) outcome.versions[s] = await store.streamVersion(s).catch(errorInfo);
  } finally {
    await store.close();
  }
  return outcome;
}

export function assertSameEvents(actual: readonly RecordedEvent[], expected: readonly RecordedEvent[], what: string): void {
  assert.is(actual.length, expected.length, `${what}: expected ${expected.length} events, read ${actual.length}`);
  actual.forEach((a, i) => {
    const d = eventDiff(a, expected[i]!);
    assert.not.ok(d, `${what}: event ${i}: ${d}`);
  });
}

/** Differences between an event read and the one expected; an expected timestamp of -1 or id of '' means "not known". */
export function eventDiff(a: RecordedEvent, e: RecordedEvent): string | undefined {
  for (const k of ['id', 'streamId', 'version', 'position', 'type', 'schemaVersion', 'timestamp'] as const) {
    if ((k === 'timestamp' && e.timestamp === -1) || (k === 'id' && e.id === '')) continue;
    if (a[k] !== e[k]) return `${k} ${String(a[k])} != ${String(e[k])}`;
  }
  return jsonDiff(a.data, e.data, 'data') ?? jsonDiff(a.metadata, e.metadata, 'metadata');
}

/** True when `actual` is exactly the first actual.length events of `expected`. */
export function isPrefix(actual: readonly RecordedEvent[], expected: readonly RecordedEvent[]): string | undefined {
  if (actual.length > expected.length) return `read ${actual.length} events, only ${expected.length} were appended`;
  for (let i = 0; i < actual.length; i++) {
    const d = eventDiff(actual[i]!, expected[i]!);
    if (d) return `event ${i} differs from what was appended: ${d}`;
  }
  return undefined;
}

/** Outcomes compared as values (for "reopening twice gives the same result"). */
export function sameOutcome(a: Outcome, b: Outcome): string | undefined {
  const strip = (o: Outcome) => JSON.stringify(o, (_k, v) => (v instanceof Uint8Array ? `bytes:${Buffer.from(v).toString('hex')}` : v));
  const sa = strip(a);
  const sb = strip(b);
  return sa === sb ? undefined : `first opening read ${sa.slice(0, 2000)}\nsecond opening read ${sb.slice(0, 2000)}`;
}

/**
 * The exact outcome expected when everything up to and including position
 * `head` survived and nothing after it did.
 */
export function assertExactPrefix(o: Outcome, ref: Reference, head: number, what: string): void {
  assert.not.ok(o.openError, `${what}: opening failed: ${o.openError?.message}`);
  assert.not.ok(o.feed.error, `${what}: the feed read failed: ${o.feed.error?.message}`);
  assertSameEvents(o.feed.events, ref.feed.slice(0, head), `${what}: feed`);
  assert.is(o.head, head, `${what}: headPosition`);
  for (const s of STREAMS) {
    const expected = ref.streams[s]!.filter((e) => e.position <= head);
    assert.not.ok(o.forward[s]!.error, `${what}: reading ${s} forward failed: ${o.forward[s]!.error?.message}`);
    assert.not.ok(o.backward[s]!.error, `${what}: reading ${s} backward failed: ${o.backward[s]!.error?.message}`);
    assertSameEvents(o.forward[s]!.events, expected, `${what}: stream ${s} forward`);
    assertSameEvents(o.backward[s]!.events, [...expected].reverse(), `${what}: stream ${s} backward`);
    assert.is(o.versions[s], expected.length, `${what}: streamVersion(${s})`);
  }
}

export interface AfterAppend {
  streamId: string;
  result?: AppendResult;
  error?: ErrorInfo;
}

/**
 * Opens the store, appends one event to every stream, closes it, and reads
 * everything back. Each event is a copy (type, data, metadata) of `templates[stream]`
 * without an id, so that its frame has the same length as the template's had:
 * a new frame written where a damaged one was cut then fits the old feed entry exactly.
 */
export async function appendAndReadBack(dir: string, templates: Record<string, NewEvent>): Promise<{ appends: AfterAppend[]; outcome: Outcome }> {
  const appends: AfterAppend[] = [];
  let store: EventStore;
  try {
    store = await openStore({ dir, durability: 'none' });
  } catch (err) {
    return { appends, outcome: { openError: errorInfo(err), forward: {}, backward: {}, feed: { events: [] }, head: -1, versions: {} } };
  }
  try {
    for (const s of STREAMS) {
      try {
        appends.push({ streamId: s, result: await store.append(s, templates[s]!) });
      } catch (err) {
        appends.push({ streamId: s, error: errorInfo(err) });
      }
    }
  } finally {
    await store.close();
  }
  return { appends, outcome: await readBack(dir) };
}

/** The event appended to a stream after damage: a copy of its last event, or a fixed one for an empty stream. */
export function afterTemplates(ref: Reference): Record<string, NewEvent> {
  const out: Record<string, NewEvent> = {};
  for (const s of STREAMS) {
    const last = ref.streams[s]!.at(-1);
    out[s] = last ? { type: last.type, data: last.data, metadata: last.metadata } : { type: 'after', data: { after: s } };
  }
  return out;
}
