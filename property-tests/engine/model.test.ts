import fc from '../support/fc-setup.js';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { MemoryBackend } from '../../src/backends/memory/memory-backend.js';
import type { EventStore } from '../../src/engine/event-store.js';
import type { ReadAllOptions, ReadStreamOptions } from '../../src/engine/reads.js';
import { FfcdbError } from '../../src/kernel/errors.js';
import { openStore } from '../../src/engine/open-store.js';
import type { AppendResult, EventMetadata, ExpectedVersion, JsonValue, NewEvent, RecordedEvent } from '../../src/kernel/types.js';
import { jsonDiff, jsonValue } from '../support/json.js';
import { withTempDir } from '../support/temp.js';

/**
 * Model-based test: random sequences of appends (expected versions that match
 * or conflict, caller ids, retries, concurrent appends), reads (forward,
 * backward, from a version, limited, filtered), feed reads, and close/reopen,
 * run against the EventStore and against a plain in-memory model of what it
 * must hold. Every answer must equal the model's.
 */

const STREAMS = ['chat-1', 'chat-2', 'chat-3'];
const TYPES = ['msg.added', 'msg.edited', 'ctx.set'];

// ---- the model -------------------------------------------------------------------

interface ModelEvent {
  streamId: string;
  version: number;
  position: number;
  /** Known when the caller supplied it; learnt from the first read otherwise. */
  id?: string;
  type: string;
  schemaVersion: number;
  data: JsonValue;
  metadata: EventMetadata;
  /** Learnt from the first read: the model does not know the clock. */
  timestamp?: number;
}

type Outcome = { result: AppendResult } | { error: string; actual?: number };

class Model {
  readonly streams = new Map<string, ModelEvent[]>();
  readonly feed: ModelEvent[] = [];
  /** Appends that carried caller ids and succeeded (not as retries), for later retries. */
  readonly withIds: Array<{ streamId: string; events: NewEvent[] }> = [];
  nextId = 1;

  stream(id: string): ModelEvent[] {
    return this.streams.get(id) ?? [];
  }

  /** What an append must do: the engine's rules, in their order. */
  append(streamId: string, events: readonly NewEvent[], expected: ExpectedVersion): Outcome {
    const ids = events.map((e) => e.id).filter((id): id is string => id !== undefined);
    if (new Set(ids).size !== ids.length) return { error: 'DUPLICATE_EVENT' };
    const stream = this.stream(streamId);
    const hits = ids.map((id) => stream.find((e) => e.id === id)).filter((e): e is ModelEvent => e !== undefined);
    if (hits.length > 0) {
      if (hits.length !== events.length) return { error: 'DUPLICATE_EVENT' };
      return {
        result: {
          streamId,
          firstVersion: Math.min(...hits.map((h) => h.version)),
          lastVersion: Math.max(...hits.map((h) => h.version)),
          firstPosition: Math.min(...hits.map((h) => h.position)),
          lastPosition: Math.max(...hits.map((h) => h.position)),
          duplicate: true,
        },
      };
    }
    const actual = stream.length;
    const ok = expected === 'any' || (expected === 'no_stream' && actual === 0) || (expected === 'exists' && actual > 0) || expected === actual;
    if (!ok) return { error: 'CONFLICT', actual };
    const firstVersion = actual + 1;
    const firstPosition = this.feed.length + 1;
    events.forEach((e, i) => {
      const m: ModelEvent = {
        streamId,
        version: firstVersion + i,
        position: firstPosition + i,
        type: e.type,
        schemaVersion: e.schemaVersion ?? 1,
        data: e.data,
        metadata: e.metadata ?? {},
        ...(e.id !== undefined ? { id: e.id } : {}),
      };
      stream.push(m);
      this.feed.push(m);
    });
    this.streams.set(streamId, stream);
    if (ids.length > 0) this.withIds.push({ streamId, events: [...events] });
    return {
      result: { streamId, firstVersion, lastVersion: firstVersion + events.length - 1, firstPosition, lastPosition: firstPosition + events.length - 1, duplicate: false },
    };
  }

  readStream(streamId: string, o: ReadStreamOptions): ModelEvent[] {
    const stream = this.stream(streamId);
    let out =
      o.direction === 'backward'
        ? stream.filter((e) => e.version <= (o.fromVersion ?? stream.length)).reverse()
        : stream.filter((e) => e.version >= (o.fromVersion ?? 1));
    if (o.types) out = out.filter((e) => o.types!.includes(e.type));
    return o.limit === undefined ? out : out.slice(0, o.limit);
  }

  readAll(o: ReadAllOptions): { events: ModelEvent[]; nextPosition: number; headPosition: number } {
    const from = o.fromPosition ?? 1;
    const limit = o.limit ?? 1000;
    const head = this.feed.length;
    const events: ModelEvent[] = [];
    let nextPosition = from;
    if (limit > 0) {
      for (const e of this.feed.slice(from - 1)) {
        nextPosition = e.position + 1;
        if (o.types && !o.types.includes(e.type)) continue;
        events.push(e);
        if (events.length >= limit) break;
      }
    }
    if (events.length < limit) nextPosition = Math.max(nextPosition, head + 1);
    return { events, nextPosition, headPosition: head };
  }
}

/** Compares events read with the model's, learning ids and timestamps the model could not know. */
function assertEvents(actual: readonly RecordedEvent[], expected: readonly ModelEvent[], what: string): void {
  const show = (es: readonly { streamId: string; version: number; position: number }[]) => es.map((e) => `${e.streamId}@v${e.version}/p${e.position}`).join(' ');
  assert.is(actual.length, expected.length, `${what}: read [${show(actual)}], expected [${show(expected)}]`);
  actual.forEach((a, i) => {
    const e = expected[i]!;
    const at = `${what}: event ${i} (${a.streamId} v${a.version} p${a.position})`;
    assert.is(a.streamId, e.streamId, `${at}: streamId`);
    assert.is(a.version, e.version, `${at}: version`);
    assert.is(a.position, e.position, `${at}: position`);
    assert.is(a.type, e.type, `${at}: type`);
    assert.is(a.schemaVersion, e.schemaVersion, `${at}: schemaVersion`);
    const d = jsonDiff(a.data, e.data, 'data') ?? jsonDiff(a.metadata, e.metadata, 'metadata');
    assert.not.ok(d, `${at}: ${d}`);
    if (e.id === undefined) e.id = a.id;
    assert.is(a.id, e.id, `${at}: id`);
    e.timestamp ??= a.timestamp;
    assert.is(a.timestamp, e.timestamp, `${at}: timestamp changed between reads`);
  });
}

/** Timestamps never decrease within a stream (checked on every full forward read). */
function assertTimestampsOrdered(events: readonly RecordedEvent[], what: string): void {
  for (let i = 1; i < events.length; i++) assert.ok(events[i]!.timestamp >= events[i - 1]!.timestamp, `${what}: timestamp decreases at version ${events[i]!.version}`);
}

// ---- the system under test -----------------------------------------------------------

interface Real {
  store: EventStore;
  /** Closes the store and opens it again on the same data (persistent backends only). */
  reopen?: () => Promise<void>;
}

async function outcomeOf(p: Promise<AppendResult>): Promise<Outcome> {
  try {
    return { result: await p };
  } catch (err) {
    if (!(err instanceof FfcdbError)) throw err;
    return typeof err.details.actual === 'number' ? { error: err.code, actual: err.details.actual } : { error: err.code };
  }
}

// ---- commands -----------------------------------------------------------------------

/** An expected version chosen relative to the stream's version when the command runs, so some match and some conflict. */
type ExpectedChoice = 'any' | 'no_stream' | 'exists' | { delta: number };

const expectedChoice: fc.Arbitrary<ExpectedChoice> = fc.oneof(
  { weight: 3, arbitrary: fc.constant<ExpectedChoice>('any') },
  fc.constantFrom<ExpectedChoice>('no_stream', 'exists'),
  { weight: 3, arbitrary: fc.integer({ min: -2, max: 2 }).map((delta): ExpectedChoice => ({ delta })) },
);

function resolveExpected(choice: ExpectedChoice, version: number): ExpectedVersion {
  return typeof choice === 'string' ? choice : Math.max(0, version + choice.delta);
}

interface EventSpec {
  type: string;
  data: JsonValue;
  metadata?: EventMetadata;
  schemaVersion?: number;
  /** Whether the caller supplies an id (a fresh one, made when the command runs). */
  withId: boolean;
}

const eventSpec: fc.Arbitrary<EventSpec> = fc.record(
  {
    type: fc.constantFrom(...TYPES),
    data: jsonValue({ maxDepth: 2, maxKeys: 3 }),
    metadata: fc.constantFrom<EventMetadata>({ actor: 'user-1' }, { correlationId: 'c-1', causationId: 'e-0' }, { actor: 'bot', extra: [1, 'two'] }),
    schemaVersion: fc.integer({ min: 1, max: 3 }),
    withId: fc.boolean(),
  },
  { requiredKeys: ['type', 'data', 'withId'] },
);

interface AppendSpec {
  stream: number;
  events: EventSpec[];
  expected: ExpectedChoice;
  /** Repeat the first caller id inside the batch (refused as a whole). */
  repeatIdInBatch: boolean;
}

const appendSpec: fc.Arbitrary<AppendSpec> = fc.record({
  stream: fc.nat(STREAMS.length - 1),
  events: fc.array(eventSpec, { minLength: 1, maxLength: 3 }),
  expected: expectedChoice,
  repeatIdInBatch: fc.oneof({ weight: 12, arbitrary: fc.constant(false) }, { weight: 1, arbitrary: fc.constant(true) }),
});

function materialize(m: Model, spec: AppendSpec): { streamId: string; events: NewEvent[]; expected: ExpectedVersion } {
  const streamId = STREAMS[spec.stream]!;
  const events: NewEvent[] = spec.events.map(({ withId, ...e }) => (withId ? { ...e, id: `ev-${m.nextId++}` } : { ...e }));
  if (spec.repeatIdInBatch) {
    const id = events.find((e) => e.id !== undefined)?.id ?? `ev-${m.nextId++}`;
    events.push({ type: TYPES[0]!, data: 'again', id });
    if (events[0]!.id === undefined) events[0] = { ...events[0]!, id };
  }
  return { streamId, events, expected: resolveExpected(spec.expected, m.stream(streamId).length) };
}

function describeAppend(a: { streamId: string; events: NewEvent[]; expected: ExpectedVersion }): string {
  return `append(${a.streamId}, [${a.events.map((e) => e.id ?? '·').join(',')}], ${String(a.expected)})`;
}

function assertOutcome(actual: Outcome, expected: Outcome, what: string): void {
  assert.equal(actual, expected, `${what}: got ${JSON.stringify(actual)}, the model says ${JSON.stringify(expected)}`);
}

class AppendCommand implements fc.AsyncCommand<Model, Real> {
  constructor(readonly spec: AppendSpec) {}
  check(): boolean {
    return true;
  }
  async run(m: Model, r: Real): Promise<void> {
    const a = materialize(m, this.spec);
    const expected = m.append(a.streamId, a.events, a.expected);
    assertOutcome(await outcomeOf(r.store.append(a.streamId, a.events, { expectedVersion: a.expected })), expected, describeAppend(a));
  }
  toString(): string {
    return `Append(${JSON.stringify(this.spec)})`;
  }
}

/** Several appends issued together (one commit group for the flatfile backend); each must do what it would do alone, in call order. */
class ConcurrentAppendCommand implements fc.AsyncCommand<Model, Real> {
  constructor(readonly specs: AppendSpec[]) {}
  check(): boolean {
    return true;
  }
  async run(m: Model, r: Real): Promise<void> {
    const appends = this.specs.map((s) => materialize(m, s));
    const calls = appends.map((a) => outcomeOf(r.store.append(a.streamId, a.events, { expectedVersion: a.expected })));
    const expected = appends.map((a) => m.append(a.streamId, a.events, a.expected));
    const actual = await Promise.all(calls);
    for (const [i, o] of actual.entries()) assertOutcome(o, expected[i]!, `concurrent ${describeAppend(appends[i]!)}`);
  }
  toString(): string {
    return `Concurrent(${JSON.stringify(this.specs)})`;
  }
}

/**
 * Resends an earlier append that carried caller ids: exactly (a retry: the
 * original result, nothing written), only part of it (every id held: also a
 * retry), with one new event added (refused: part old, part new), or to
 * another stream (new events there).
 */
class RetryCommand implements fc.AsyncCommand<Model, Real> {
  constructor(
    readonly pick: number,
    readonly mode: 'exact' | 'part' | 'plus-new' | 'other-stream',
    readonly expected: ExpectedChoice,
  ) {}
  check(m: Readonly<Model>): boolean {
    return m.withIds.length > 0;
  }
  async run(m: Model, r: Real): Promise<void> {
    const original = m.withIds[this.pick % m.withIds.length]!;
    let streamId = original.streamId;
    let events = original.events;
    if (this.mode === 'part') events = events.filter((e) => e.id !== undefined).slice(0, Math.max(1, Math.floor(events.length / 2)));
    if (this.mode === 'plus-new') events = [...events, { type: TYPES[1]!, data: 'new', id: `ev-${m.nextId++}` }];
    if (this.mode === 'other-stream') streamId = STREAMS[(STREAMS.indexOf(streamId) + 1) % STREAMS.length]!;
    const expected = resolveExpected(this.expected, m.stream(streamId).length);
    const want = m.append(streamId, events, expected);
    assertOutcome(await outcomeOf(r.store.append(streamId, events, { expectedVersion: expected })), want, `retry (${this.mode}) ${describeAppend({ streamId, events, expected })}`);
  }
  toString(): string {
    return `Retry(${this.pick}, ${this.mode}, ${JSON.stringify(this.expected)})`;
  }
}

type FromChoice = undefined | { delta: number } | { abs: number };

function resolveFrom(choice: FromChoice, end: number): number | undefined {
  if (choice === undefined) return undefined;
  return 'abs' in choice ? choice.abs : Math.max(0, end + choice.delta);
}

const fromChoice: fc.Arbitrary<FromChoice> = fc.oneof(
  fc.constant(undefined),
  fc.integer({ min: 0, max: 3 }).map((abs) => ({ abs })),
  fc.integer({ min: -3, max: 2 }).map((delta) => ({ delta })),
);
const limitChoice = fc.option(fc.integer({ min: 0, max: 4 }), { nil: undefined });
const typesChoice = fc.option(fc.subarray(TYPES), { nil: undefined });

class ReadStreamCommand implements fc.AsyncCommand<Model, Real> {
  constructor(
    readonly stream: number,
    readonly direction: 'forward' | 'backward',
    readonly from: FromChoice,
    readonly limit: number | undefined,
    readonly types: string[] | undefined,
  ) {}
  check(): boolean {
    return true;
  }
  async run(m: Model, r: Real): Promise<void> {
    const streamId = STREAMS[this.stream]!;
    const options: ReadStreamOptions = { direction: this.direction };
    const fromVersion = resolveFrom(this.from, m.stream(streamId).length);
    if (fromVersion !== undefined) options.fromVersion = fromVersion;
    if (this.limit !== undefined) options.limit = this.limit;
    if (this.types !== undefined) options.types = this.types;
    const got = await r.store.readStream(streamId, options);
    assertEvents(got, m.readStream(streamId, options), `readStream(${streamId}, ${JSON.stringify(options)}) of a stream at version ${m.stream(streamId).length}`);
    if (options.direction === 'forward' && fromVersion === undefined && !options.limit && !options.types) assertTimestampsOrdered(got, `readStream(${streamId})`);
  }
  toString(): string {
    return `ReadStream(${this.stream}, ${this.direction}, ${JSON.stringify(this.from)}, ${this.limit}, ${JSON.stringify(this.types)})`;
  }
}

class ReadAsOfCommand implements fc.AsyncCommand<Model, Real> {
  constructor(
    readonly stream: number,
    readonly version: FromChoice,
  ) {}
  check(): boolean {
    return true;
  }
  async run(m: Model, r: Real): Promise<void> {
    const streamId = STREAMS[this.stream]!;
    const version = resolveFrom(this.version, m.stream(streamId).length) ?? 0;
    const got = await r.store.readStreamAsOf(streamId, { version });
    assertEvents(got, m.stream(streamId).filter((e) => e.version <= version), `readStreamAsOf(${streamId}, { version: ${version} })`);
  }
  toString(): string {
    return `ReadAsOf(${this.stream}, ${JSON.stringify(this.version)})`;
  }
}

class ReadAllCommand implements fc.AsyncCommand<Model, Real> {
  constructor(
    readonly from: FromChoice,
    readonly limit: number | undefined,
    readonly types: string[] | undefined,
  ) {}
  check(): boolean {
    return true;
  }
  async run(m: Model, r: Real): Promise<void> {
    const options: ReadAllOptions = {};
    const from = resolveFrom(this.from, m.feed.length);
    if (from !== undefined) options.fromPosition = Math.max(1, from);
    if (this.limit !== undefined) options.limit = this.limit;
    if (this.types !== undefined) options.types = this.types;
    const what = `readAll(${JSON.stringify(options)}) of a feed at ${m.feed.length}`;
    const page = await r.store.readAll(options);
    const want = m.readAll(options);
    assertEvents(page.events, want.events, what);
    assert.is(page.nextPosition, want.nextPosition, `${what}: nextPosition`);
    assert.is(page.headPosition, want.headPosition, `${what}: headPosition`);
    // The global feed streamed from the same position holds the same events as the model.
    const streamed: RecordedEvent[] = [];
    for await (const e of r.store.streamAll(options.fromPosition === undefined ? {} : { fromPosition: options.fromPosition })) streamed.push(e);
    assertEvents(streamed, m.feed.slice((options.fromPosition ?? 1) - 1), `streamAll(from ${options.fromPosition ?? 1})`);
  }
  toString(): string {
    return `ReadAll(${JSON.stringify(this.from)}, ${this.limit}, ${JSON.stringify(this.types)})`;
  }
}

class VersionsCommand implements fc.AsyncCommand<Model, Real> {
  check(): boolean {
    return true;
  }
  async run(m: Model, r: Real): Promise<void> {
    assert.is(await r.store.headPosition(), m.feed.length, 'headPosition');
    for (const s of STREAMS) assert.is(await r.store.streamVersion(s), m.stream(s).length, `streamVersion(${s})`);
  }
  toString(): string {
    return 'Versions';
  }
}

class ReopenCommand implements fc.AsyncCommand<Model, Real> {
  check(): boolean {
    return true;
  }
  async run(m: Model, r: Real): Promise<void> {
    await r.reopen!();
    // Everything is still there, byte for byte, after reopening.
    const feed: RecordedEvent[] = [];
    for await (const e of r.store.streamAll()) feed.push(e);
    assertEvents(feed, m.feed, 'the feed after reopening');
  }
  toString(): string {
    return 'Reopen';
  }
}

function commandArbs(withReopen: boolean): Array<fc.Arbitrary<fc.AsyncCommand<Model, Real>>> {
  const arbs: Array<fc.Arbitrary<fc.AsyncCommand<Model, Real>>> = [
    appendSpec.map((s) => new AppendCommand(s)),
    appendSpec.map((s) => new AppendCommand(s)),
    fc.array(appendSpec, { minLength: 2, maxLength: 4 }).map((s) => new ConcurrentAppendCommand(s)),
    fc.tuple(fc.nat(), fc.constantFrom('exact', 'part', 'plus-new', 'other-stream') as fc.Arbitrary<RetryCommand['mode']>, expectedChoice).map(([p, mode, e]) => new RetryCommand(p, mode, e)),
    fc.tuple(fc.nat(STREAMS.length - 1), fc.constantFrom<'forward' | 'backward'>('forward', 'backward'), fromChoice, limitChoice, typesChoice).map(([s, d, f, l, t]) => new ReadStreamCommand(s, d, f, l, t)),
    fc.tuple(fc.nat(STREAMS.length - 1), fromChoice).map(([s, v]) => new ReadAsOfCommand(s, v)),
    fc.tuple(fromChoice, limitChoice, typesChoice).map(([f, l, t]) => new ReadAllCommand(f, l, t)),
    fc.constant(new VersionsCommand()),
  ];
  if (withReopen) arbs.push(fc.constant(new ReopenCommand()));
  return arbs;
}

// ---- the runs --------------------------------------------------------------------------

const model = suite('property: model-based append/read/reopen');

async function runFlatfile(options: { segmentBytes?: number }, numRuns: number): Promise<void> {
  await fc.assert(
    fc.asyncProperty(fc.commands(commandArbs(true), { maxCommands: 60, size: 'max' }), async (cmds) =>
      withTempDir('model', async (dir) => {
        const open = () => openStore({ dir, durability: 'none', ...options });
        const real: Real = { store: await open() };
        real.reopen = async () => {
          await real.store.close();
          real.store = await open();
        };
        try {
          await fc.asyncModelRun(() => ({ model: new Model(), real }), cmds);
        } finally {
          await real.store.close();
        }
      }),
    ),
    { numRuns },
  );
}

model('the flatfile store answers every append, read and reopen as the model does', async () => {
  await runFlatfile({}, 200);
});

model('the flatfile store with small segment files (streams span many) answers as the model does', async () => {
  await runFlatfile({ segmentBytes: 300 }, 200);
});

model('the memory store answers every append and read as the model does', async () => {
  await fc.assert(
    fc.asyncProperty(fc.commands(commandArbs(false), { maxCommands: 60, size: 'max' }), async (cmds) => {
      const real: Real = { store: await openStore({ backend: new MemoryBackend() }) };
      try {
        await fc.asyncModelRun(() => ({ model: new Model(), real }), cmds);
      } finally {
        await real.store.close();
      }
    }),
    { numRuns: 400 },
  );
});

model.run();
