import fs from 'node:fs';
import path from 'node:path';
import * as assert from 'uvu/assert';
import { ErrorCode, FfcdbError } from '../../src/kernel/errors.js';
import type { EventStore } from '../../src/engine/event-store.js';
import { openStore } from '../../src/engine/open-store.js';
import { FEED_MAGIC, FLAG_GROUP_END, encodeFrame, parseHeader } from '../../src/backends/flatfile/frame.js';
import { encodeMsgpack } from '../../src/codec/event-codec.js';
import { FEED_DIR, STREAMS_DIR } from '../../src/storage/store-folder.js';
import { FEED_SUFFIX, listSegments } from '../../src/backends/flatfile/layout.js';
import type { JsonValue, NewEvent, RecordedEvent } from '../../src/kernel/types.js';
import { flatfileSuite, rejected, tempRoot, rng } from './unit-helpers.js';

const test = flatfileSuite('flatfile/feed');

/** What the test expects at each global position (index 0 = position 1). */
interface Expected {
  streamId: string;
  version: number;
  type: string;
  data: JsonValue;
}

type Row = [position: number, streamId: string, version: number, type: string, data: string];

function row(e: RecordedEvent): Row {
  return [e.position, e.streamId, e.version, e.type, JSON.stringify(e.data)];
}

function rows(model: Expected[], from = 1, to = model.length): Row[] {
  const out: Row[] = [];
  for (let p = from; p <= to; p++) {
    const m = model[p - 1]!;
    out.push([p, m.streamId, m.version, m.type, JSON.stringify(m.data)]);
  }
  return out;
}


async function appendAndRecord(store: EventStore, model: Expected[], streamId: string, events: NewEvent[]): Promise<void> {
  const r = await store.append(streamId, events);
  events.forEach((e, k) => {
    model[r.firstPosition + k - 1] = { streamId, version: r.firstVersion + k, type: e.type, data: e.data };
  });
}

function countFiles(dir: string, suffix: string): number {
  let n = 0;
  for (const e of fs.readdirSync(dir, { withFileTypes: true, recursive: true })) if (e.isFile() && e.name.endsWith(suffix)) n++;
  return n;
}

async function collectAll(store: EventStore, fromPosition: number): Promise<Row[]> {
  const out: Row[] = [];
  for await (const e of store.streamAll({ fromPosition })) out.push(row(e));
  return out;
}

// ---- a small store: many stream segments, one feed segment ---------------

let base = '';
let smallDir = '';
let small: EventStore;
const smallModel: Expected[] = [];

// ---- a large store: the feed itself rolls over (feed segments are at least 1 MiB) ----

let bigDir = '';
let big: EventStore;
const bigModel: Expected[] = [];
const BIG_EVENTS = 12_000;
/** Long stream ids make feed frames large, so fewer appends fill a feed segment. */
const BIG_STREAMS = Array.from({ length: 24 }, (_, i) => `stream-${i}-`.padEnd(120, 'x'));

test.before(async () => {
  base = tempRoot('feed');
  smallDir = path.join(base, 'small');
  small = await openStore({ dir: smallDir, durability: 'batched', batchIntervalMs: 10, segmentBytes: 512 });
  const random = rng(42);
  const streams = ['alpha', 'beta', 'gamma', 'delta', 'eps'];
  for (let round = 0; round < 60; round++) {
    // One append per stream per round, concurrently: they share commit groups.
    const chosen = streams.filter(() => random() < 0.7);
    await Promise.all(
      chosen.map((s) => {
        const n = 1 + Math.floor(random() * 4);
        const events = Array.from({ length: n }, (_, k) => ({ type: random() < 0.3 ? 'note' : 'msg', data: { round, k, s, text: 'x'.repeat(Math.floor(random() * 80)) } }));
        return appendAndRecord(small, smallModel, s, events);
      }),
    );
    // And a few sequential single appends in between.
    if (round % 7 === 0) await appendAndRecord(small, smallModel, 'solo', [{ type: 'msg', data: round }]);
  }

  bigDir = path.join(base, 'big');
  big = await openStore({ dir: bigDir, durability: 'batched', batchIntervalMs: 10, segmentBytes: 8192 });
  let i = 0;
  while (i < BIG_EVENTS) {
    const wave: Promise<void>[] = [];
    for (const s of BIG_STREAMS) {
      if (i >= BIG_EVENTS) break;
      wave.push(appendAndRecord(big, bigModel, s, [{ type: i % 5 === 0 ? 'rare' : 'msg', data: i }]));
      i++;
    }
    await Promise.all(wave);
  }
});

test.after(async () => {
  await small?.close();
  await big?.close();
  fs.rmSync(base, { recursive: true, force: true });
});

test('the model is gap-free: positions 1..N were all handed out', () => {
  assert.ok(smallModel.length > 300, `${smallModel.length} events`);
  for (let p = 1; p <= smallModel.length; p++) assert.ok(smallModel[p - 1], `position ${p}`);
  assert.is(bigModel.length, BIG_EVENTS);
  for (let p = 1; p <= BIG_EVENTS; p++) assert.ok(bigModel[p - 1], `position ${p}`);
});

test('stream segments rolled over in the small store', () => {
  assert.ok(countFiles(path.join(smallDir, STREAMS_DIR), '.seg') > 20);
});

test('reading the feed from every position returns exactly the suffix from that position', async () => {
  assert.is(await small.headPosition(), smallModel.length);
  const all = rows(smallModel);
  for (let p = 1; p <= smallModel.length + 2; p++) {
    const page = await small.readAll({ fromPosition: p, limit: 10_000 });
    assert.equal(page.events.map(row), all.slice(p - 1), `from ${p}`);
    assert.is(page.headPosition, smallModel.length);
    assert.is(page.nextPosition, Math.max(p, smallModel.length + 1));
  }
});

test('streamAll from every position yields the same suffix', async () => {
  const all = rows(smallModel);
  for (let p = 1; p <= smallModel.length + 1; p += 3) assert.equal(await collectAll(small, p), all.slice(p - 1), `from ${p}`);
});

test('events read through the feed equal the events read through their streams', async () => {
  const byStream = new Map<string, Row[]>();
  for (const e of (await small.readAll({ limit: 100_000 })).events) {
    const list = byStream.get(e.streamId) ?? [];
    list.push(row(e));
    byStream.set(e.streamId, list);
  }
  for (const [streamId, list] of byStream) {
    assert.equal((await small.readStream(streamId)).map(row), list, streamId);
  }
});

test('paging with nextPosition covers every event exactly once, for page sizes 1, 2, 7 and 1000', async () => {
  const all = rows(smallModel);
  for (const limit of [1, 2, 7, 1000]) {
    const seen: Row[] = [];
    let from = 1;
    let pages = 0;
    for (;;) {
      const page = await small.readAll({ fromPosition: from, limit });
      pages++;
      if (page.events.length === 0) break;
      assert.ok(page.events.length <= limit);
      seen.push(...page.events.map(row));
      assert.ok(page.nextPosition > from, 'nextPosition advances');
      from = page.nextPosition;
      assert.ok(pages <= all.length + 2, 'paging terminates');
    }
    assert.equal(seen, all, `limit ${limit}`);
    assert.is(from, all.length + 1);
  }
});

test('paging with a type filter returns every matching event exactly once, in order', async () => {
  const notes = rows(smallModel).filter((r) => r[3] === 'note');
  assert.ok(notes.length > 10);
  const seen: Row[] = [];
  let from = 1;
  for (let i = 0; i < 10_000; i++) {
    const page = await small.readAll({ fromPosition: from, limit: 3, types: ['note'] });
    if (page.events.length === 0) break;
    for (const e of page.events) assert.is(e.type, 'note');
    seen.push(...page.events.map(row));
    from = page.nextPosition;
  }
  assert.equal(seen, notes);
});

test('reading past the head returns an empty page whose nextPosition stays at head + 1', async () => {
  const head = smallModel.length;
  for (const from of [head + 1, head + 2, head + 1000]) {
    const page = await small.readAll({ fromPosition: from });
    assert.equal(page.events, []);
    assert.is(page.headPosition, head);
    assert.is(page.nextPosition, from);
  }
});

test('fromPosition must be an integer >= 1 (INVALID_ARGUMENT)', async () => {
  for (const bad of [0, -1, 1.5, Number.NaN]) {
    assert.is((await rejected(small.readAll({ fromPosition: bad }))).code, ErrorCode.INVALID_ARGUMENT, String(bad));
  }
});

test('after reopening, the feed from every position still returns the right suffix', async () => {
  await small.close();
  small = await openStore({ dir: smallDir, durability: 'batched', batchIntervalMs: 10, segmentBytes: 512 });
  const all = rows(smallModel);
  assert.is(await small.headPosition(), all.length);
  for (let p = 1; p <= all.length + 1; p++) {
    const page = await small.readAll({ fromPosition: p, limit: 10_000 });
    assert.equal(page.events.map(row), all.slice(p - 1), `from ${p}`);
  }
});

test('the feed of the large store rolled over into several segments named by their first position', () => {
  const dir = path.join(bigDir, FEED_DIR);
  const segments = listSegments(dir, FEED_SUFFIX);
  assert.ok(segments.length >= 3, `${segments.length} feed segments`);
  assert.is(segments[0], 1);
  let previousLast = 0;
  for (const first of segments) {
    const file = path.join(dir, `${String(first).padStart(16, '0')}${FEED_SUFFIX}`);
    const bytes = fs.readFileSync(file);
    const header = parseHeader(bytes, 0, FEED_MAGIC, 1 << 20);
    assert.type(header, 'object', file);
    if (typeof header === 'string') return;
    assert.is(header.firstPosition, first, 'a feed segment is named by the position of its first frame');
    assert.is(first, previousLast + 1, 'segments continue one another without a gap');
    // Walk the frames to find the segment's last position.
    let at = 0;
    let last = 0;
    while (at < bytes.length) {
      const h = parseHeader(bytes, at, FEED_MAGIC, 1 << 20);
      if (typeof h === 'string') throw new Error(`bad feed frame at ${at} in ${file}: ${h}`);
      last = h.firstPosition + h.count - 1;
      at += 60 + h.storedLength;
    }
    previousLast = last;
  }
  assert.is(previousLast, BIG_EVENTS);
});

test('stream segments of the large store rolled over too', () => {
  assert.ok(countFiles(path.join(bigDir, STREAMS_DIR), '.seg') > BIG_STREAMS.length * 3);
});

test('reading the large feed from every position starts at exactly that position', async () => {
  const all = rows(bigModel);
  for (let p = 1; p <= BIG_EVENTS; p++) {
    const page = await big.readAll({ fromPosition: p, limit: 2 });
    assert.equal(page.events.map(row), all.slice(p - 1, p + 1), `from ${p}`);
  }
});

test('feed segments are found by position: reads starting at, before and after each segment boundary', async () => {
  const all = rows(bigModel);
  const segments = listSegments(path.join(bigDir, FEED_DIR), FEED_SUFFIX);
  for (const first of segments) {
    for (const p of [first - 2, first - 1, first, first + 1, first + 63, first + 64, first + 65]) {
      if (p < 1 || p > BIG_EVENTS) continue;
      const page = await big.readAll({ fromPosition: p, limit: 300 });
      assert.equal(page.events.map(row), all.slice(p - 1, p - 1 + 300), `from ${p}`);
    }
  }
});

test('paging through the large feed with nextPosition covers every event exactly once (page sizes 7, 1000, 5000)', async () => {
  const all = rows(bigModel);
  for (const limit of [7, 1000, 5000]) {
    const seen: Row[] = [];
    let from = 1;
    for (;;) {
      const page = await big.readAll({ fromPosition: from, limit });
      if (page.events.length === 0) break;
      for (const e of page.events) seen.push(row(e));
      from = page.nextPosition;
    }
    assert.is(seen.length, all.length, `limit ${limit}`);
    assert.equal(seen, all, `limit ${limit}`);
  }
});

test('paging through the large feed with a type filter returns every matching event once', async () => {
  const rare = rows(bigModel).filter((r) => r[3] === 'rare');
  const seen: Row[] = [];
  let from = 1;
  for (;;) {
    const page = await big.readAll({ fromPosition: from, limit: 400, types: ['rare'] });
    if (page.events.length === 0) break;
    seen.push(...page.events.map(row));
    from = page.nextPosition;
  }
  assert.equal(seen, rare);
});

test('after reopening the large store, every feed segment is found again by position', async () => {
  await big.close();
  big = await openStore({ dir: bigDir, durability: 'batched', batchIntervalMs: 10, segmentBytes: 8192 });
  const all = rows(bigModel);
  assert.is(await big.headPosition(), BIG_EVENTS);
  for (const first of listSegments(path.join(bigDir, FEED_DIR), FEED_SUFFIX)) {
    for (const p of [first - 1, first, first + 1, first + 100]) {
      if (p < 1 || p > BIG_EVENTS) continue;
      assert.equal((await big.readAll({ fromPosition: p, limit: 50 })).events.map(row), all.slice(p - 1, p + 49), `from ${p}`);
    }
  }
  assert.equal(await collectAll(big, 1), all);
});

test('appending after a reopen continues the feed in the tail segment at the next position', async () => {
  const head = await big.headPosition();
  const r = await big.append(BIG_STREAMS[0]!, [
    { type: 'msg', data: 'after-1' },
    { type: 'msg', data: 'after-2' },
  ]);
  assert.is(r.firstPosition, head + 1);
  const page = await big.readAll({ fromPosition: head, limit: 10 });
  assert.equal(
    page.events.map((e) => [e.position, e.data]),
    [
      [head, bigModel[head - 1]!.data],
      [head + 1, 'after-1'],
      [head + 2, 'after-2'],
    ],
  );
});

test('appends to one stream committed together across a stream segment boundary are each found by the feed at their own position', async () => {
  // segmentBytes below one frame: every append to the stream starts a new segment. Appends issued together
  // share one commit group, so the stream rolls over inside the group.
  const dir = path.join(base, 'group-roll');
  const store = await openStore({ dir, durability: 'always', segmentBytes: 100 });
  try {
    const texts = ['one', 'two', 'three', 'four'];
    const results = await Promise.all(texts.map((text) => store.append('s', { type: 'msg', data: { text } })));
    assert.equal(
      results.map((r) => [r.firstVersion, r.firstPosition]),
      texts.map((_, i) => [i + 1, i + 1]),
    );
    assert.equal(
      (await store.readStream('s')).map((e) => [e.version, e.position, (e.data as { text: string }).text]),
      texts.map((t, i) => [i + 1, i + 1, t]),
      'the stream read is right',
    );
    const feed = (await store.readAll()).events;
    assert.equal(
      feed.map((e) => [e.version, e.position, (e.data as { text: string }).text]),
      texts.map((t, i) => [i + 1, i + 1, t]),
      'the feed read must agree with the stream read',
    );
  } finally {
    await store.close();
  }
});

// ---- crafted feed frames: checksummed, but declaring impossible numbers ----------------------

/** A whole, CRC-valid feed frame for position 2 (version 2) whose payload is `row` ([streamId, segment, offset, length]). */
function craftedFeedFrame(row: unknown): Buffer {
  const payload = encodeMsgpack(row);
  return encodeFrame(
    { magic: FEED_MAGIC, flags: FLAG_GROUP_END, count: 1, epoch: 1, rawLength: payload.length, linkOffset: 0, linkSegment: 0, firstVersion: 2, firstPosition: 2 },
    payload,
  );
}

let crafted = 0;
for (const [label, row] of [
  ['a length of 2^40', ['a', 1, 0, 2 ** 40]],
  ['a length just over 4 GiB', ['a', 1, 0, 2 ** 32 + 1]],
  ['a negative length', ['a', 1, 0, -5]],
  ['a negative offset', ['a', 1, -100, 200]],
  ['an offset of 2^40', ['a', 1, 2 ** 40, 200]],
] as const) {
  test(`a CRC-valid feed frame whose payload declares ${label} raises CORRUPT (an FfcdbError), never a RangeError, when read and when the store is reopened`, async () => {
    const dir = path.join(base, `crafted-${++crafted}`);
    const store = await openStore({ dir, durability: 'always' });
    try {
      await store.append('a', { type: 'msg', data: 'a1' });
      // Appended behind the open store's back, as another process would: the store reads it as news.
      fs.appendFileSync(path.join(dir, FEED_DIR, `${'1'.padStart(16, '0')}${FEED_SUFFIX}`), craftedFeedFrame(row));
      const err = await rejected(store.readAll()); // fails unless it is an FfcdbError
      assert.is(err.code, ErrorCode.CORRUPT, err.message);
    } finally {
      await store.close();
    }
    // Reopening refuses with CORRUPT, or opens (having cut the frame as a torn tail) and reads without a RangeError.
    let reopened: EventStore | undefined;
    try {
      reopened = await openStore({ dir, durability: 'always' });
    } catch (err) {
      assert.instance(err, FfcdbError, String((err as Error)?.stack ?? err));
      assert.is((err as FfcdbError).code, ErrorCode.CORRUPT, (err as Error).message);
      return;
    }
    try {
      try {
        const events = (await reopened.readAll()).events;
        assert.equal(events.map((e) => [e.position, e.streamId, e.data]), [[1, 'a', 'a1']], 'only the real event is read');
      } catch (err) {
        assert.instance(err, FfcdbError, String((err as Error)?.stack ?? err));
        assert.is((err as FfcdbError).code, ErrorCode.CORRUPT, (err as Error).message);
      }
    } finally {
      await reopened.close();
    }
  });
}

test('a feed frame whose checksum holds but whose payload is not msgpack is CORRUPT at opening, naming the feed file and the frame, not a decoder error', async () => {
  const dir = tempRoot('feed-forged');
  try {
    const store = await openStore({ dir, durability: 'none' });
    await store.append('s', { type: 't', data: 1 });
    await store.close();
    const file = path.join(dir, FEED_DIR, listSegments(path.join(dir, FEED_DIR), FEED_SUFFIX).map((n) => `${String(n).padStart(16, '0')}${FEED_SUFFIX}`)[0]!);
    const header = parseHeader(fs.readFileSync(file), 0, FEED_MAGIC, 1 << 20);
    if (typeof header === 'string') throw new Error(header);
    fs.writeFileSync(file, encodeFrame({ ...header, rawLength: 0 }, Buffer.alloc(0)));
    const err = await rejected(openStore({ dir, durability: 'none' }));
    assert.is(err.code, ErrorCode.CORRUPT, err.message);
    assert.equal([err.details.file, err.details.offset], [file, 0]);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
