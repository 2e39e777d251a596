import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import * as assert from 'uvu/assert';
import { ErrorCode } from '../../src/kernel/errors.js';
import type { EventStore } from '../../src/engine/event-store.js';
import { openStore } from '../../src/engine/open-store.js';
import { STREAM_MAGIC, parseHeader } from '../../src/backends/flatfile/frame.js';
import { Layout, SEGMENT_SUFFIX, listSegments } from '../../src/backends/flatfile/layout.js';
import type { JsonValue, NewEvent, RecordedEvent } from '../../src/kernel/types.js';
import { flatfileSuite, rejected, tempRoot, rng } from './unit-helpers.js';

const test = flatfileSuite('flatfile/stream-log');

interface Expected {
  version: number;
  position: number;
  type: string;
  data: JsonValue;
  timestamp: number;
}

type Row = [version: number, position: number, type: string, data: string];

function dataKey(data: unknown): string {
  const json = JSON.stringify(data);
  return json.length > 2000 ? `sha1:${createHash('sha1').update(json).digest('hex')}` : json;
}

function row(e: RecordedEvent): Row {
  return [e.version, e.position, e.type, dataKey(e.data)];
}

function expectedRows(list: Expected[]): Row[] {
  return list.map((m) => [m.version, m.position, m.type, dataKey(m.data)]);
}


/** About `n` characters that lz4 cannot shrink much, so the frame really is that large on disk. */
function noise(n: number, random: () => number): string {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
  let s = '';
  for (let i = 0; i < n; i++) s += alphabet[Math.floor(random() * 64)];
  return s;
}

const OPTIONS = { durability: 'batched' as const, batchIntervalMs: 10, segmentBytes: 1024 };
const STREAM = 'chat-1';

let base = '';
let dir = '';
let store: EventStore;
const model: Expected[] = [];

async function append(streamId: string, events: NewEvent[]): Promise<void> {
  const r = await store.append(streamId, events);
  if (streamId !== STREAM) return;
  const written = await store.readStream(STREAM, { fromVersion: r.firstVersion, limit: events.length });
  events.forEach((e, k) => {
    model.push({ version: r.firstVersion + k, position: r.firstPosition + k, type: e.type, data: e.data, timestamp: written[k]!.timestamp });
  });
}

test.before(async () => {
  base = tempRoot('stream-log');
  dir = path.join(base, 'store');
  store = await openStore({ dir, ...OPTIONS });
  const random = rng(7);
  for (let i = 0; i < 120; i++) {
    const n = 1 + Math.floor(random() * 5);
    const events = Array.from({ length: n }, (_, k) => ({
      type: random() < 0.25 ? 'tool' : 'msg',
      data: { i, k, text: noise(Math.floor(random() * 120), random) },
      metadata: { actor: `u${i % 3}` },
    }));
    await append(STREAM, events);
    // Another stream in between, so versions and positions differ.
    if (random() < 0.5) await append('other', [{ type: 'msg', data: i }]);
    // A frame larger than the reader's 256 KiB chunk, in the middle of the stream.
    if (i === 50) await append(STREAM, [{ type: 'big', data: noise(264 * 1024, random) }]);
    // Let the clock move, so reads as of a time have something to tell apart.
    if (i % 15 === 14) await sleep(3);
  }
});

test.after(async () => {
  await store?.close();
  fs.rmSync(base, { recursive: true, force: true });
});

function streamDir(): string {
  return new Layout(fs.realpathSync(dir)).streamDir(STREAM);
}

test('the stream spans many segment files, each named by the first version it holds', () => {
  const segments = listSegments(streamDir(), SEGMENT_SUFFIX);
  assert.ok(segments.length > 20, `${segments.length} segments`);
  const largest = Math.max(...segments.map((first) => fs.statSync(path.join(streamDir(), `${String(first).padStart(16, '0')}${SEGMENT_SUFFIX}`)).size));
  assert.ok(largest > 256 * 1024, `the big event's segment is ${largest} bytes: larger than the reader's chunk`);
  assert.is(segments[0], 1);
  for (const first of segments) {
    const bytes = fs.readFileSync(path.join(streamDir(), `${String(first).padStart(16, '0')}${SEGMENT_SUFFIX}`));
    const h = parseHeader(bytes, 0, STREAM_MAGIC, 1 << 26);
    assert.type(h, 'object');
    if (typeof h !== 'string') assert.is(h.firstVersion, first);
  }
});

test('versions are 1..N without gaps and timestamps never decrease', async () => {
  const all = await store.readStream(STREAM);
  assert.is(all.length, model.length);
  assert.is(await store.streamVersion(STREAM), model.length);
  all.forEach((e, i) => {
    assert.is(e.version, i + 1);
    assert.is(e.streamId, STREAM);
    if (i > 0) assert.ok(e.timestamp >= all[i - 1]!.timestamp);
  });
  assert.equal(all.map(row), expectedRows(model));
  assert.equal(all[0]!.metadata, { actor: 'u0' });
});

async function checkForwardFromEveryVersion(s: EventStore): Promise<void> {
  const all = expectedRows(model);
  for (let v = 0; v <= model.length + 2; v++) {
    const got = await s.readStream(STREAM, { direction: 'forward', fromVersion: v });
    assert.equal(got.map(row), all.slice(Math.max(v, 1) - 1), `forward from ${v}`);
  }
}

async function checkBackwardFromEveryVersion(s: EventStore): Promise<void> {
  const all = expectedRows(model);
  for (let v = 1; v <= model.length + 2; v++) {
    const got = await s.readStream(STREAM, { direction: 'backward', fromVersion: v });
    assert.equal(got.map(row), all.slice(0, Math.min(v, model.length)).reverse(), `backward from ${v}`);
  }
}

test('reading forward from every version returns that version and everything after it', async () => {
  await checkForwardFromEveryVersion(store);
});

test('reading backward from every version returns that version and everything before it, newest first', async () => {
  await checkBackwardFromEveryVersion(store);
});

test('backward without fromVersion starts at the last version; backward from version 0 is empty', async () => {
  const all = expectedRows(model);
  assert.equal((await store.readStream(STREAM, { direction: 'backward' })).map(row), [...all].reverse());
  assert.equal(await store.readStream(STREAM, { direction: 'backward', fromVersion: 0 }), []);
});

test('forward and backward with a limit return the next `limit` events from every version', async () => {
  const all = expectedRows(model);
  for (let v = 1; v <= model.length; v++) {
    assert.equal((await store.readStream(STREAM, { fromVersion: v, limit: 3 })).map(row), all.slice(v - 1, v + 2), `forward ${v}`);
    assert.equal(
      (await store.readStream(STREAM, { direction: 'backward', fromVersion: v, limit: 3 })).map(row),
      all.slice(Math.max(0, v - 3), v).reverse(),
      `backward ${v}`,
    );
  }
  assert.equal(await store.readStream(STREAM, { limit: 0 }), []);
});

test('a type filter applies across segment boundaries in both directions', async () => {
  const tools = expectedRows(model.filter((m) => m.type === 'tool'));
  assert.ok(tools.length > 20);
  assert.equal((await store.readStream(STREAM, { types: ['tool'] })).map(row), tools);
  assert.equal((await store.readStream(STREAM, { direction: 'backward', types: ['tool'] })).map(row), [...tools].reverse());
  const bigs = expectedRows(model.filter((m) => m.type === 'big'));
  assert.is(bigs.length, 1);
  assert.equal((await store.readStream(STREAM, { direction: 'backward', types: ['big'] })).map(row), [...bigs].reverse());
});

test('streamEvents iterates a stream lazily and can stop early', async () => {
  const seen: number[] = [];
  for await (const e of store.streamEvents(STREAM, { fromVersion: 100 })) {
    seen.push(e.version);
    if (seen.length === 5) break;
  }
  assert.equal(seen, [100, 101, 102, 103, 104]);
});

test('readStreamAsOf a version returns exactly the events up to it, for every version', async () => {
  const all = expectedRows(model);
  for (let v = 0; v <= model.length + 1; v++) {
    assert.equal((await store.readStreamAsOf(STREAM, { version: v })).map(row), all.slice(0, v), `as of version ${v}`);
  }
});

test('readStreamAsOf a time returns every event stamped at or before it, and nothing later', async () => {
  const times = [...new Set(model.map((m) => m.timestamp))].sort((a, b) => a - b);
  assert.ok(times.length >= 4, `${times.length} distinct timestamps`);
  for (const t of [times[0]! - 1, ...times.flatMap((x) => [x, x + 1]), times.at(-1)! + 60_000]) {
    const want = expectedRows(model.filter((m) => m.timestamp <= t));
    assert.equal((await store.readStreamAsOf(STREAM, { time: t })).map(row), want, `as of ${t}`);
  }
  for (const t of [times[0]! - 1, times[1]!, times.at(-1)!]) {
    const want = expectedRows(model.filter((m) => m.timestamp <= t));
    assert.equal((await store.readStreamAsOf(STREAM, { time: new Date(t) })).map(row), want, `as of Date ${t}`);
  }
});

test('readStreamAsOf refuses a bad version or time with INVALID_ARGUMENT', async () => {
  for (const asOf of [{ version: -1 }, { version: 1.5 }, { time: Number.NaN }, { time: Number.POSITIVE_INFINITY }, { time: 'yesterday' }, {}]) {
    const err = await rejected(store.readStreamAsOf(STREAM, asOf as never));
    assert.is(err.code, ErrorCode.INVALID_ARGUMENT, JSON.stringify(asOf));
  }
});

test('a stream that does not exist reads as empty in both directions and has version 0', async () => {
  assert.equal(await store.readStream('nobody'), []);
  assert.equal(await store.readStream('nobody', { direction: 'backward' }), []);
  assert.equal(await store.readStreamAsOf('nobody', { version: 3 }), []);
  assert.is(await store.streamVersion('nobody'), 0);
});

test('after reopening, forward and backward reads from every version are still right (read from disk)', async () => {
  await store.close();
  store = await openStore({ dir, ...OPTIONS });
  assert.is(await store.streamVersion(STREAM), model.length);
  await checkForwardFromEveryVersion(store);
  await checkBackwardFromEveryVersion(store);
});

test('appends after reopening continue the version sequence in the tail segment or a new one', async () => {
  const before = listSegments(streamDir(), SEGMENT_SUFFIX).length;
  for (let i = 0; i < 20; i++) {
    const r = await store.append(STREAM, { type: 'msg', data: { after: i, text: 'y'.repeat(100) } });
    assert.is(r.firstVersion, model.length + 1);
    const [e] = await store.readStream(STREAM, { fromVersion: r.firstVersion });
    model.push({ version: r.firstVersion, position: r.firstPosition, type: 'msg', data: { after: i, text: 'y'.repeat(100) }, timestamp: e!.timestamp });
  }
  assert.ok(listSegments(streamDir(), SEGMENT_SUFFIX).length > before);
  assert.equal((await store.readStream(STREAM, { direction: 'backward', limit: 25 })).map(row), expectedRows(model).slice(-25).reverse());
});

test('appends to one stream committed together across a segment boundary are all there after reopening', async () => {
  const groupDir = path.join(base, 'group-roll');
  let s = await openStore({ dir: groupDir, durability: 'always', segmentBytes: 100 });
  const texts = ['one', 'two', 'three', 'four', 'five'];
  try {
    // Issued together, these share one commit group; every frame is over 100 bytes, so each starts a segment.
    await Promise.all(texts.map((text) => s.append('s', { type: 'msg', data: { text } })));
    await s.close();
    s = await openStore({ dir: groupDir, durability: 'always', segmentBytes: 100 });
    assert.is(await s.streamVersion('s'), texts.length, 'every acknowledged event survives reopening');
    assert.equal(
      (await s.readStream('s')).map((e) => (e.data as { text: string }).text),
      texts,
    );
    assert.equal(
      (await s.readStream('s', { direction: 'backward' })).map((e) => (e.data as { text: string }).text),
      [...texts].reverse(),
    );
  } finally {
    await s.close();
  }
});

test.run();
