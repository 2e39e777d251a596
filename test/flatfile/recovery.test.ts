/**
 * Deterministic recovery cases for the flatfile backend: files are damaged by
 * hand between a close and a reopen (or behind an open store's back, as a
 * writer that died mid-write would leave them), and the store must cut exactly
 * what was never committed, report it through the monitor, and refuse to cut
 * anything that is damage in the middle.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as assert from 'uvu/assert';
import { flatfileSuite } from './unit-helpers.js';
import { FlatfileBackend } from '../../src/backends/flatfile/flatfile-backend.js';
import { EventStore } from '../../src/engine/event-store.js';
import { Monitor, type MonitorEvent } from '../../src/engine/monitor.js';
import { FfcdbError } from '../../src/kernel/errors.js';
import type { FlatfileOptions } from '../../src/backends/flatfile/options.js';

const test = flatfileSuite('flatfile: recovery on reopen');

const dirs: string[] = [];
function tempDir(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ffcdb-recovery-'));
  dirs.push(dir);
  return dir;
}
test.after(() => {
  for (const dir of dirs) fs.rmSync(dir, { recursive: true, force: true });
});

// ---- helpers ------------------------------------------------------------------

const FEED_FILE = (dir: string) => path.join(dir, 'feed', '0000000000000001.feed');

/** The segment files of a stream, oldest first. */
function segmentFiles(dir: string, streamId: string): string[] {
  return (fs.readdirSync(path.join(dir, 'streams'), { recursive: true }) as string[])
    .map((p) => path.join(dir, 'streams', p))
    .filter((p) => path.basename(path.dirname(p)) === streamId && p.endsWith('.seg'))
    .sort();
}

function onlySegment(dir: string, streamId: string): string {
  const files = segmentFiles(dir, streamId);
  assert.is(files.length, 1, `${streamId} has one segment file`);
  return files[0]!;
}

/** Byte offsets of the frames in a file (header: stored payload length at byte 16; 52-byte header, 8-byte trailer). */
function frameOffsets(file: string): number[] {
  const buf = fs.readFileSync(file);
  const out: number[] = [];
  for (let at = 0; at < buf.length; at += 60 + buf.readUInt32LE(at + 16)) out.push(at);
  return out;
}

function frameBytes(file: string, index: number): Buffer {
  const buf = fs.readFileSync(file);
  const at = frameOffsets(file)[index]!;
  return buf.subarray(at, at + 60 + buf.readUInt32LE(at + 16));
}

const ev = (n: number | string) => ({ type: 'test.event', data: { n, text: `event ${n} ${'x'.repeat(40)}` }, metadata: { actor: 'tester' } });

/** Opens a store; `events` receives what the backend reports, including what it repaired while opening. */
async function open(dir: string, events?: MonitorEvent[], options: Partial<FlatfileOptions> = {}): Promise<EventStore> {
  const backend = new FlatfileBackend({ dir, durability: 'always', ...options });
  if (events) {
    const monitor = new Monitor();
    monitor.events$.subscribe((e) => events.push(e));
    await backend.open({ monitor });
  }
  return EventStore.open(backend);
}

/**
 * Models a power failure before the last writes reached the disk: the store's record of what it had synced
 * (`synced`) and its commit journal are gone, as if neither the close's checkpoint nor the group's journal
 * fsync had happened. (Losing data that had been synced is damage, which is reported, never cut.)
 */
function forgetSync(dir: string): void {
  fs.rmSync(path.join(dir, 'synced'), { force: true });
  fs.rmSync(path.join(dir, 'journal'), { recursive: true, force: true });
}

async function withStore<T>(dir: string, fn: (store: EventStore) => Promise<T>, events?: MonitorEvent[]): Promise<T> {
  const store = await open(dir, events);
  try {
    return await fn(store);
  } finally {
    await store.close();
  }
}

/** Stream versions, feed positions and data, for comparing reopens. */
async function contents(store: EventStore, streams: string[]): Promise<unknown> {
  const feed = (await store.readAll()).events.map((e) => [e.position, e.streamId, e.version, e.id, e.data]);
  const byStream: Record<string, unknown> = {};
  for (const s of streams) byStream[s] = (await store.readStream(s)).map((e) => [e.version, e.position, e.id, e.data]);
  return { head: await store.headPosition(), feed, byStream };
}

async function expectCode(p: Promise<unknown>, code: string): Promise<FfcdbError> {
  try {
    await p;
  } catch (err) {
    assert.instance(err, FfcdbError, String(err));
    assert.is((err as FfcdbError).code, code, (err as Error).message);
    return err as FfcdbError;
  }
  assert.unreachable(`expected ${code}`);
  throw new Error('unreachable');
}

async function lockReleased(dir: string): Promise<void> {
  for (let i = 0; fs.existsSync(path.join(dir, 'writer.lock')); i++) {
    if (i > 1000) throw new Error('the store kept its writer lock for 10 s with nothing to write');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

const recoveries = (events: MonitorEvent[]) => events.filter((e) => e.kind === 'tail-truncated' || e.kind === 'orphan-removed');

/** Garbage that is not a frame: no magic number anywhere. */
const GARBAGE = Buffer.from('this is not a frame, just bytes a dying writer left behind......', 'utf8');

// ---- torn tails --------------------------------------------------------------

for (const [label, tail] of [
  ['garbage bytes', () => GARBAGE],
  ['the first 40 bytes of a real frame', (file: string) => frameBytes(file, 0).subarray(0, 40)],
  ['a real frame short of its last byte', (file: string) => frameBytes(file, 1).subarray(0, frameBytes(file, 1).length - 1)],
] as const) {
  test(`a torn tail in a stream segment (${label}) is cut when the stream is next written, and reported through store.monitor$ as 'tail-truncated'`, async () => {
    const dir = tempDir();
    await withStore(dir, async (s) => {
      for (let i = 1; i <= 3; i++) await s.append('s1', ev(i));
    });
    const seg = onlySegment(dir, 's1');
    const whole = fs.statSync(seg).size;
    fs.appendFileSync(seg, tail(seg));
    const torn = fs.statSync(seg).size;
    assert.ok(torn > whole);

    const store = await open(dir);
    const seen: MonitorEvent[] = [];
    const sub = store.monitor$.subscribe((e) => seen.push(e));
    try {
      // Readers never see the torn bytes.
      assert.equal((await store.readStream('s1')).map((e) => e.version), [1, 2, 3]);
      const result = await store.append('s1', ev(4));
      assert.is(result.firstVersion, 4);
      assert.is(result.firstPosition, 4);
      const cut = seen.filter((e) => e.kind === 'tail-truncated');
      assert.is(cut.length, 1, JSON.stringify(seen));
      assert.equal(cut[0], { kind: 'tail-truncated', file: seg, fromBytes: torn, toBytes: whole, reason: (cut[0] as { reason: string }).reason });
      assert.equal(frameOffsets(seg).length, 4, 'the new frame went where the torn bytes were');
      assert.equal((await store.readStream('s1')).map((e) => (e.data as { n: number }).n), [1, 2, 3, 4]);
    } finally {
      sub.unsubscribe();
      await store.close();
    }
    const first = await withStore(dir, (s) => contents(s, ['s1']));
    const second = await withStore(dir, (s) => contents(s, ['s1']));
    assert.equal(second, first);
    assert.equal((first as { head: number }).head, 4);
  });
}

test("a torn tail in the feed is cut on reopen and reported ('tail-truncated'); positions go on without a gap", async () => {
  const dir = tempDir();
  await withStore(dir, async (s) => {
    await s.append('a', ev(1));
    await s.append('b', ev(2));
    await s.append('a', ev(3));
  });
  const feed = FEED_FILE(dir);
  const whole = fs.statSync(feed).size;
  fs.appendFileSync(feed, frameBytes(feed, 1).subarray(0, 30));
  const torn = fs.statSync(feed).size;

  const events: MonitorEvent[] = [];
  await withStore(
    dir,
    async (s) => {
      assert.is(fs.statSync(feed).size, whole, 'the feed is cut back to its last whole frame while opening');
      assert.equal(recoveries(events), [{ kind: 'tail-truncated', file: feed, fromBytes: torn, toBytes: whole, reason: (recoveries(events)[0] as { reason: string } | undefined)?.reason ?? '' }]);
      assert.equal((await s.readAll()).events.map((e) => e.position), [1, 2, 3]);
      const r = await s.append('b', ev(4));
      assert.is(r.firstPosition, 4);
      assert.is(r.firstVersion, 2);
    },
    events,
  );
  const first = await withStore(dir, (s) => contents(s, ['a', 'b']));
  const second = await withStore(dir, (s) => contents(s, ['a', 'b']));
  assert.equal(second, first);
  assert.equal((first as { feed: unknown[] }).feed.length, 4);
});

test("a torn feed tail left behind an open store's back (a writer that died mid-write) is cut by its next append and reported through store.monitor$", async () => {
  const dir = tempDir();
  const store = await open(dir);
  const seen: MonitorEvent[] = [];
  const sub = store.monitor$.subscribe((e) => seen.push(e));
  try {
    await store.append('a', ev(1));
    await store.append('b', ev(2));
    // The store gives the writer lock back once it has nothing queued; only then can another writer have died mid-write.
    await lockReleased(dir);
    const feed = FEED_FILE(dir);
    const whole = fs.statSync(feed).size;
    fs.appendFileSync(feed, frameBytes(feed, 0).subarray(0, 50));
    assert.equal((await store.readAll()).events.map((e) => e.position), [1, 2], 'readers stop before the partial frame');
    const r = await store.append('a', ev(3));
    assert.is(r.firstPosition, 3);
    const cut = seen.filter((e) => e.kind === 'tail-truncated');
    assert.is(cut.length, 1, JSON.stringify(seen));
    assert.is((cut[0] as { file: string }).file, feed);
    assert.is((cut[0] as { toBytes: number }).toBytes, whole);
    assert.equal((await store.readAll()).events.map((e) => [e.position, e.streamId, e.version]), [
      [1, 'a', 1],
      [2, 'b', 1],
      [3, 'a', 2],
    ]);
  } finally {
    sub.unsubscribe();
    await store.close();
  }
  assert.equal(await withStore(dir, (s) => contents(s, ['a', 'b'])), await withStore(dir, (s) => contents(s, ['a', 'b'])));
});

test('what recovery repaired while opening reaches store.monitor$ (a subscriber cannot subscribe before open resolves)', async () => {
  const dir = tempDir();
  await withStore(dir, async (s) => {
    await s.append('a', ev(1));
  });
  fs.appendFileSync(FEED_FILE(dir), GARBAGE);
  const store = await open(dir);
  const seen: MonitorEvent[] = [];
  const sub = store.monitor$.subscribe((e) => seen.push(e));
  await new Promise((resolve) => setTimeout(resolve, 20));
  sub.unsubscribe();
  await store.close();
  assert.ok(
    seen.some((e) => e.kind === 'tail-truncated'),
    `the feed's torn tail was cut while opening, but store.monitor$ never reports it (it is a plain Subject and the cut happened before anyone could subscribe); seen: ${JSON.stringify(seen)}`,
  );
});

// ---- damage in the middle ------------------------------------------------------

test('damage in a stream segment followed by a valid frame raises CORRUPT naming the file and byte offset, and nothing is cut', async () => {
  const dir = tempDir();
  await withStore(dir, async (s) => {
    for (let i = 1; i <= 3; i++) await s.append('s1', ev(i));
    await s.append('s2', ev('other'));
  });
  const seg = onlySegment(dir, 's1');
  const offsets = frameOffsets(seg);
  const buf = fs.readFileSync(seg);
  buf[offsets[1]! + 60] = buf[offsets[1]! + 60]! ^ 0xff; // a payload byte of the middle frame
  fs.writeFileSync(seg, buf);
  const before = fs.readFileSync(seg);

  const store = await open(dir);
  try {
    const read = await expectCode(store.readStream('s1'), 'CORRUPT');
    assert.is(read.details.file, seg);
    assert.is(read.details.offset, offsets[1]);
    assert.ok(read.message.includes(seg) && read.message.includes(String(offsets[1])), read.message);
    // A writer does not cut it either.
    const write = await expectCode(store.append('s1', ev(4)), 'CORRUPT');
    assert.is(write.details.file, seg);
    assert.is(write.details.offset, offsets[1]);
    // The global feed reaches the damaged frame through its feed entry: CORRUPT at the same place.
    const feedRead = await expectCode(store.readAll(), 'CORRUPT');
    assert.is(feedRead.details.file, seg);
    assert.is(feedRead.details.offset, offsets[1]);
    // Other streams are unaffected.
    assert.equal((await store.readStream('s2')).map((e) => e.data), [ev('other').data]);
    assert.ok(fs.readFileSync(seg).equals(before), 'the damaged segment is left exactly as it was');
  } finally {
    await store.close();
  }
  await withStore(dir, async (s) => {
    await expectCode(s.readStream('s1'), 'CORRUPT');
  });
  assert.ok(fs.readFileSync(seg).equals(before), 'still untouched after a second reopen');
});

test('damage in the feed followed by a valid frame raises CORRUPT on open naming the file and byte offset, and nothing is cut', async () => {
  const dir = tempDir();
  await withStore(dir, async (s) => {
    for (let i = 1; i <= 4; i++) await s.append(i % 2 ? 'a' : 'b', ev(i));
  });
  const feed = FEED_FILE(dir);
  const offsets = frameOffsets(feed);
  const buf = fs.readFileSync(feed);
  buf[offsets[1]! + 55] = buf[offsets[1]! + 55]! ^ 0x5a; // a payload byte of the second feed frame
  fs.writeFileSync(feed, buf);
  const before = fs.readFileSync(feed);
  const err = await expectCode(open(dir), 'CORRUPT');
  assert.is(err.details.file, feed);
  assert.is(err.details.offset, offsets[1]);
  assert.ok(err.message.includes(feed) && err.message.includes(String(offsets[1])), err.message);
  assert.ok(fs.readFileSync(feed).equals(before), 'the feed is left exactly as it was');
  // And the writer lock was given back: a second attempt fails the same way instead of waiting for the lock.
  const again = await expectCode(open(dir), 'CORRUPT');
  assert.is(again.details.offset, offsets[1]);
});

/**
 * A store with x (position 1) and then a and b committed together as the last group, closed cleanly
 * (so everything is on disk and `synced` says so), and then one payload byte of a's only frame flipped.
 */
async function damagedLastGroup(durability: 'always' | 'batched' | 'none') {
  const dir = tempDir();
  const store = await open(dir, undefined, { durability });
  const rs = [await store.append('x', ev('x1'))];
  // Queued in one tick while the store does not hold the writer lock: a and b form one group, the last.
  await lockReleased(dir);
  rs.push(...(await Promise.all([store.append('a', ev('a1')), store.append('b', ev('b1'))])));
  assert.equal(rs.map((r) => [r.streamId, r.firstPosition]), [['x', 1], ['a', 2], ['b', 3]]);
  await store.close();
  const feed = FEED_FILE(dir);
  const feedBytes = fs.readFileSync(feed);
  assert.equal(
    frameOffsets(feed).map((at) => (feedBytes[at + 5]! & 2) !== 0),
    [true, false, true],
    'precondition: a and b were committed in one group, the last',
  );
  const segA = onlySegment(dir, 'a');
  const damaged = fs.readFileSync(segA);
  damaged[60] = damaged[60]! ^ 0xff; // a payload byte of a's only frame
  fs.writeFileSync(segA, damaged);
  const files = [feed, segA, onlySegment(dir, 'b')];
  const before = files.map((f) => fs.readFileSync(f));
  const untouched = () => {
    for (const [i, f] of files.entries()) assert.ok(fs.readFileSync(f).equals(before[i]!), `${path.relative(dir, f)} is left exactly as it was`);
  };
  return { dir, segA, untouched };
}

for (const durability of ['always', 'batched', 'none'] as const) {
  test(`one flipped byte in the last commit group, acknowledged and synced (durability '${durability}', closed cleanly), is damage: reopening cuts nothing, the other streams of the group keep their events, and reading the feed through it raises CORRUPT`, async () => {
    const { dir, segA, untouched } = await damagedLastGroup(durability);
    const events: MonitorEvent[] = [];
    const reopened = await open(dir, events);
    try {
      assert.equal(recoveries(events), [], `nothing acknowledged and synced is cut on reopen; the monitor reported ${JSON.stringify(recoveries(events))}`);
      assert.is(await reopened.headPosition(), 3);
      assert.equal((await reopened.readStream('b')).map((e) => e.data), [ev('b1').data], "b's acknowledged event, in the same group, is still there");
      assert.equal((await reopened.readStream('x')).map((e) => e.data), [ev('x1').data]);
      const feedRead = await expectCode(reopened.readAll(), 'CORRUPT');
      assert.is(feedRead.details.file, segA);
      assert.is(feedRead.details.offset, 0);
      assert.equal((await reopened.readAll({ fromPosition: 3 })).events.map((e) => [e.position, e.streamId, e.data]), [[3, 'b', ev('b1').data]], 'the feed after the damaged frame reads');
    } finally {
      await reopened.close();
    }
    untouched();
  });
}

// The damaged frame is the last (only) frame of its stream, so it looks like a torn tail to the stream alone;
// the feed says it was committed and `synced` that it was on disk.

test('one flipped byte in the last frame of a stream, acknowledged and synced: reading that stream raises CORRUPT naming the file and offset, not an empty stream', async () => {
  const { dir, segA, untouched } = await damagedLastGroup('none');
  const reopened = await open(dir);
  try {
    const read = await expectCode(reopened.readStream('a'), 'CORRUPT');
    assert.is(read.details.file, segA);
    assert.is(read.details.offset, 0);
  } finally {
    await reopened.close();
  }
  untouched();
});

test('one flipped byte in the last frame of a stream, acknowledged and synced: the next append to that stream rejects with CORRUPT and does not cut the frame as a torn tail', async () => {
  const { dir, segA, untouched } = await damagedLastGroup('none');
  const reopened = await open(dir);
  const seen: MonitorEvent[] = [];
  const sub = reopened.monitor$.subscribe((e) => seen.push(e));
  try {
    const write = await expectCode(reopened.append('a', ev('a2')), 'CORRUPT');
    assert.is(write.details.file, segA);
    assert.equal(recoveries(seen), [], `the monitor reported ${JSON.stringify(recoveries(seen))}`);
    assert.is(await reopened.headPosition(), 3);
  } finally {
    sub.unsubscribe();
    await reopened.close();
  }
  untouched();
});

// ---- stream frames without a feed frame ----------------------------------------

test("a stream frame whose feed frame is missing (feed cut at a frame boundary) is not returned, and is removed when the stream is next written ('orphan-removed')", async () => {
  const dir = tempDir();
  await withStore(dir, async (s) => {
    for (let i = 1; i <= 3; i++) await s.append('s1', ev(i));
  });
  // The writer died between its stream frame and its feed frame, so it never synced that append.
  forgetSync(dir);
  const feed = FEED_FILE(dir);
  const feedOffsets = frameOffsets(feed);
  fs.truncateSync(feed, feedOffsets[2]!); // the last feed frame, whole, is gone: its append was never committed
  const seg = onlySegment(dir, 's1');
  const orphanAt = frameOffsets(seg)[2]!;

  const events: MonitorEvent[] = [];
  const store = await open(dir, events);
  const seen: MonitorEvent[] = [];
  const sub = store.monitor$.subscribe((e) => seen.push(e));
  try {
    assert.is(await store.headPosition(), 2);
    assert.is(await store.streamVersion('s1'), 2);
    assert.equal((await store.readStream('s1')).map((e) => (e.data as { n: number }).n), [1, 2]);
    assert.equal((await store.readStream('s1', { direction: 'backward' })).map((e) => e.version), [2, 1]);
    assert.equal((await store.readAll()).events.map((e) => e.position), [1, 2]);
    const r = await store.append('s1', ev('new'), { expectedVersion: 2 });
    assert.equal([r.firstVersion, r.firstPosition], [3, 3]);
    const removed = [...recoveries(events), ...recoveries(seen)].filter((e) => e.kind === 'orphan-removed');
    assert.is(removed.length, 1, JSON.stringify([...events, ...seen]));
    assert.is((removed[0] as { file: string }).file, seg);
    assert.is((removed[0] as { offset: number }).offset, orphanAt);
    assert.equal((await store.readStream('s1')).map((e) => (e.data as { n: unknown }).n), [1, 2, 'new']);
  } finally {
    sub.unsubscribe();
    await store.close();
  }
  const first = await withStore(dir, (s) => contents(s, ['s1']));
  assert.equal(await withStore(dir, (s) => contents(s, ['s1'])), first);
});

test('a valid stream frame copied to the end of a segment (no feed frame of its own) is not returned, and is removed when the stream is next written', async () => {
  const dir = tempDir();
  await withStore(dir, async (s) => {
    await s.append('s1', ev(1));
    await s.append('other', ev('o'));
    await s.append('s1', ev(2));
  });
  const seg = onlySegment(dir, 's1');
  const size = fs.statSync(seg).size;
  fs.appendFileSync(seg, frameBytes(seg, 0)); // a whole, checksummed frame the feed never pointed at here
  const store = await open(dir);
  const seen: MonitorEvent[] = [];
  const sub = store.monitor$.subscribe((e) => seen.push(e));
  try {
    assert.equal((await store.readStream('s1')).map((e) => (e.data as { n: number }).n), [1, 2]);
    assert.is(await store.streamVersion('s1'), 2);
    assert.is((await store.readAll()).events.length, 3);
    const r = await store.append('s1', ev(3));
    assert.equal([r.firstVersion, r.firstPosition], [3, 4]);
    assert.equal(
      seen.filter((e) => e.kind === 'orphan-removed').map((e) => [(e as { file: string }).file, (e as { offset: number }).offset]),
      [[seg, size]],
    );
    assert.equal((await store.readStream('s1')).map((e) => (e.data as { n: number }).n), [1, 2, 3]);
  } finally {
    sub.unsubscribe();
    await store.close();
  }
  assert.equal(await withStore(dir, (s) => contents(s, ['s1', 'other'])), await withStore(dir, (s) => contents(s, ['s1', 'other'])));
});

// ---- the last commit group -------------------------------------------------------

test('the last commit group whose stream frame is missing (stream file truncated after close) is cut from the feed on reopen', async () => {
  const dir = tempDir();
  await withStore(dir, async (s) => {
    await s.append('a', ev(1));
    await s.append('a', ev(2));
    await s.append('b', ev(3));
  });
  forgetSync(dir);
  const segB = onlySegment(dir, 'b');
  fs.truncateSync(segB, 0); // power failed before b's frame reached the disk; the feed frame did
  const feed = FEED_FILE(dir);
  const feedOffsets = frameOffsets(feed);

  const events: MonitorEvent[] = [];
  await withStore(
    dir,
    async (s) => {
      const cut = recoveries(events).filter((e) => e.kind === 'tail-truncated');
      assert.is(cut.length, 1, JSON.stringify(events));
      assert.is((cut[0] as { file: string }).file, feed);
      assert.is((cut[0] as { toBytes: number }).toBytes, feedOffsets[2]);
      assert.is(fs.statSync(feed).size, feedOffsets[2]);
      assert.is(await s.headPosition(), 2);
      assert.equal((await s.readAll()).events.map((e) => [e.position, e.streamId]), [
        [1, 'a'],
        [2, 'a'],
      ]);
      assert.equal(await s.readStream('b'), []);
      assert.is(await s.streamVersion('b'), 0);
      const r = await s.append('b', ev('again'), { expectedVersion: 'no_stream' });
      assert.equal([r.firstVersion, r.firstPosition], [1, 3]);
    },
    events,
  );
  const first = await withStore(dir, (s) => contents(s, ['a', 'b']));
  assert.equal(await withStore(dir, (s) => contents(s, ['a', 'b'])), first);
  assert.equal((first as { feed: unknown[] }).feed.length, 3);
});

test('in a commit group of several streams, a missing stream frame cuts the feed from that frame on, and the group\'s later stream frames are removed', async () => {
  const dir = tempDir();
  await withStore(dir, async (s) => {
    // Queued in one tick on a store that does not hold the writer lock yet: one commit group (at least b, c, d).
    const rs = await Promise.all(['a', 'b', 'c', 'd'].map((id, i) => s.append(id, ev(i + 1))));
    assert.equal(rs.map((r) => r.firstPosition), [1, 2, 3, 4]);
  });
  const feed = FEED_FILE(dir);
  const feedOffsets = frameOffsets(feed);
  const feedBytes = fs.readFileSync(feed);
  const groupEnds = feedOffsets.map((at) => (feedBytes[at + 5]! & 2) !== 0);
  assert.equal(groupEnds.slice(1), [false, false, true], 'precondition: b, c and d were committed in one group');
  forgetSync(dir);
  const segC = onlySegment(dir, 'c');
  const segD = onlySegment(dir, 'd');
  fs.truncateSync(segC, 0); // c's frame never reached the disk; b's and d's did, and so did the whole feed

  const events: MonitorEvent[] = [];
  await withStore(
    dir,
    async (s) => {
      assert.is(fs.statSync(feed).size, feedOffsets[2], "the feed is cut at c's feed frame");
      assert.equal(
        recoveries(events)
          .filter((e) => e.kind === 'orphan-removed')
          .map((e) => (e as { file: string }).file),
        [segD],
        "d's frame, committed in the same group after c, is removed",
      );
      assert.is(fs.statSync(segD).size, 0);
      assert.equal((await s.readAll()).events.map((e) => e.streamId), ['a', 'b'], "b, before c in the group, stays");
      assert.equal(await s.readStream('c'), []);
      assert.equal(await s.readStream('d'), []);
      assert.is((await s.readStream('b')).length, 1);
      const r = await s.append('d', ev('again'), { expectedVersion: 'no_stream' });
      assert.equal([r.firstVersion, r.firstPosition], [1, 3]);
    },
    events,
  );
  const first = await withStore(dir, (s) => contents(s, ['a', 'b', 'c', 'd']));
  assert.equal(await withStore(dir, (s) => contents(s, ['a', 'b', 'c', 'd'])), first);
});

for (const [label, leftover] of [
  ['empty', Buffer.alloc(0)],
  ['holding a torn frame', GARBAGE],
] as const) {
  test(`a new segment file a dead writer created but never committed to (${label}) is started over, and the append that starts it over survives reopening`, async () => {
    const dir = tempDir();
    const options = { segmentBytes: 100 };
    const store = await open(dir, undefined, options);
    await store.append('s1', ev(1));
    await store.close();
    const first = onlySegment(dir, 's1');
    assert.ok(fs.statSync(first).size >= 100, 'precondition: the first segment is full, the next append rolls over');
    // The dead writer had created the next segment (named after its first version) and died.
    const next = path.join(path.dirname(first), '0000000000000002.seg');
    fs.writeFileSync(next, leftover);

    const reopened = await open(dir, undefined, options);
    const r = await reopened.append('s1', ev(2));
    assert.equal([r.firstVersion, r.firstPosition], [2, 2]);
    await reopened.close();
    assert.ok(fs.existsSync(next) && fs.statSync(next).size > 0, `the acknowledged frame is in ${path.basename(next)} on disk (not in a file that was unlinked while open)`);

    const events: MonitorEvent[] = [];
    const again = await open(dir, events, options);
    try {
      assert.equal(recoveries(events), [], 'nothing acknowledged is cut on reopen');
      assert.equal((await again.readStream('s1')).map((e) => (e.data as { n: number }).n), [1, 2]);
      assert.equal((await again.readAll()).events.map((e) => e.position), [1, 2]);
    } finally {
      await again.close();
    }
  });
}

test("a store that read a stream while a dead writer's uncommitted segment was there reads the segment another writer started over in its place", async () => {
  // Two stores in this process stand in for two processes: they share only the folder.
  const dir = tempDir();
  const options = { segmentBytes: 100 };
  const setup = await open(dir, undefined, options);
  await setup.append('s1', ev(1));
  await setup.close();
  const next = path.join(path.dirname(onlySegment(dir, 's1')), '0000000000000002.seg');
  fs.writeFileSync(next, ''); // a dead writer's new, empty segment

  const reader = await open(dir, undefined, options);
  const writer = await open(dir, undefined, options);
  try {
    assert.equal((await reader.readStream('s1')).map((e) => e.version), [1]);
    await writer.append('s1', ev(2)); // removes the empty segment and starts it over
    await writer.append('s1', ev(3));
    assert.equal((await writer.readStream('s1')).map((e) => e.version), [1, 2, 3]);
    assert.equal((await reader.readStream('s1')).map((e) => e.version), [1, 2, 3], 'the other store reads the new segment, not the unlinked one it had open');
    assert.equal((await reader.readAll()).events.map((e) => e.position), [1, 2, 3]);
  } finally {
    await reader.close();
    await writer.close();
  }
});

test('a commit group in which one stream rolls over to a new segment is read back whole after reopening', async () => {
  const dir = tempDir();
  const store = await open(dir, undefined, { segmentBytes: 300 });
  const rs = await Promise.all(Array.from({ length: 6 }, (_, i) => store.append('s1', ev(i + 1))));
  assert.equal(rs.map((r) => r.firstVersion), [1, 2, 3, 4, 5, 6]);
  await store.close();
  assert.ok(segmentFiles(dir, 's1').length > 1, 'precondition: the stream spans several segments');
  const events: MonitorEvent[] = [];
  const reopened = await open(dir, events, { segmentBytes: 300 });
  try {
    assert.equal(recoveries(events), []);
    assert.equal((await reopened.readStream('s1')).map((e) => (e.data as { n: number }).n), [1, 2, 3, 4, 5, 6]);
    assert.equal((await reopened.readAll()).events.map((e) => [e.position, e.version]), rs.map((r) => [r.firstPosition, r.firstVersion]));
  } finally {
    await reopened.close();
  }
});

// ---- the feed's tail, judged against `synced` ------------------------------------

/** Ways to damage the last frame of a feed file (at byte `at`, `length` bytes long). */
const FEED_TAIL_DAMAGE = [
  ['a flipped bit in its payload', (buf: Buffer, at: number) => {
    const out = Buffer.from(buf);
    out[at + 55] = out[at + 55]! ^ 0x01;
    return out;
  }],
  ['its last 10 bytes cut', (buf: Buffer) => buf.subarray(0, buf.length - 10)],
  ['a cut inside its header', (buf: Buffer, at: number) => buf.subarray(0, at + 20)],
  ['the whole frame cut (at a frame boundary)', (buf: Buffer, at: number) => buf.subarray(0, at)],
] as const;

for (const [label, damage] of FEED_TAIL_DAMAGE) {
  test(`the last feed frame of a cleanly closed store (acknowledged and synced) with ${label}: opening raises CORRUPT naming the feed and the frame's offset, cuts nothing, and the message is not dropped`, async () => {
    const dir = tempDir();
    await withStore(dir, async (s) => {
      await s.append('a', ev(1));
      await s.append('b', ev(2));
    });
    assert.is(fs.readFileSync(path.join(dir, 'synced'), 'utf8'), '2', 'precondition: the close recorded position 2 as synced');
    const feed = FEED_FILE(dir);
    const last = frameOffsets(feed).at(-1)!;
    fs.writeFileSync(feed, damage(fs.readFileSync(feed), last));
    const before = fs.readFileSync(feed);
    const events: MonitorEvent[] = [];
    const err = await expectCode(open(dir, events), 'CORRUPT');
    assert.is(err.details.file, feed);
    assert.is(err.details.offset, last);
    assert.ok(err.message.includes('positions through 2') && err.message.includes(feed), err.message);
    assert.equal(recoveries(events), [], 'nothing is reported as cut');
    assert.ok(fs.readFileSync(feed).equals(before), 'the feed is left exactly as it was');
    // The writer lock was given back: a second attempt fails the same way.
    assert.is((await expectCode(open(dir), 'CORRUPT')).details.offset, last);
  });

  test(`the same damage (${label}) above the synced position (power failed before the close's checkpoint) is a torn tail: cut and reported`, async () => {
    const dir = tempDir();
    await withStore(dir, async (s) => {
      await s.append('a', ev(1));
      await s.append('b', ev(2));
    });
    forgetSync(dir);
    const feed = FEED_FILE(dir);
    const last = frameOffsets(feed).at(-1)!;
    fs.writeFileSync(feed, damage(fs.readFileSync(feed), last));
    await withStore(dir, async (s) => {
      assert.is(await s.headPosition(), 1);
      assert.equal((await s.readAll()).events.map((e) => e.streamId), ['a']);
    });
    assert.is(fs.statSync(feed).size, last);
  });
}

test("a synced feed frame another process committed, damaged behind an open store's back: the store's next append does not cut it as a torn tail (no tail-truncated, the position is not reused) and reopening raises CORRUPT", async () => {
  const dir = tempDir();
  const store = await open(dir);
  const seen: MonitorEvent[] = [];
  const sub = store.monitor$.subscribe((e) => seen.push(e));
  try {
    await store.append('a', ev(1));
    await lockReleased(dir);
    // Another process (a second store in this one) commits position 2 and closes: it is synced.
    await withStore(dir, async (other) => {
      await other.append('b', ev(2));
    });
    assert.is(fs.readFileSync(path.join(dir, 'synced'), 'utf8'), '2');
    const feed = FEED_FILE(dir);
    const last = frameOffsets(feed).at(-1)!;
    fs.truncateSync(feed, fs.statSync(feed).size - 10);
    const before = fs.readFileSync(feed);
    const err = await store.append('a', ev(3)).then(
      () => assert.unreachable('the append must not take position 2 again'),
      (e: unknown) => e as FfcdbError,
    );
    assert.instance(err, FfcdbError);
    assert.ok(err!.code === 'CORRUPT' || (err!.code === 'FAILED' && err!.details.cause === 'CORRUPT'), `${err!.code}: ${err!.message}`);
    assert.equal(recoveries(seen), [], `the monitor reported ${JSON.stringify(recoveries(seen))}`);
    assert.ok(fs.readFileSync(feed).equals(before), 'the feed is left exactly as it was');
    await store.close().catch(() => undefined);
    const reopen = await expectCode(open(dir), 'CORRUPT');
    assert.is(reopen.details.file, feed);
    assert.is(reopen.details.offset, last);
  } finally {
    sub.unsubscribe();
    await store.close().catch(() => undefined);
  }
});

test.run();
