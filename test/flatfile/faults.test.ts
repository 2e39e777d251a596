/**
 * Failing disks and hostile data folders. The backend's `faults` hooks make a
 * write or fsync of a chosen file throw (EIO, ENOSPC); the store must reject
 * that append with IO, acknowledge nothing more (FAILED) until it is reopened,
 * and keep everything acknowledged before. Symlinks and special files planted
 * in the data folder are refused with UNSAFE_PATH; a folder that is not a
 * store is refused with UNSUPPORTED_FORMAT.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as assert from 'uvu/assert';
import { flatfileSuite } from './unit-helpers.js';
import { FlatfileBackend } from '../../src/backends/flatfile/flatfile-backend.js';
import { EventStore } from '../../src/engine/event-store.js';
import { FfcdbError } from '../../src/errors.js';
import type { DurabilityMode, RecordedEvent } from '../../src/types.js';

const test = flatfileSuite('flatfile: I/O failures and unsafe data folders');

const dirs: string[] = [];
function tempDir(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ffcdb-faults-'));
  dirs.push(dir);
  return dir;
}
test.after(() => {
  for (const dir of dirs) fs.rmSync(dir, { recursive: true, force: true });
});

// ---- helpers ------------------------------------------------------------------

type Target = (file: string) => boolean;

/** Fault hooks that throw a system error for matching files while armed. */
class Disk {
  write: { target: Target; code: string } | undefined;
  sync: { target: Target; code: string } | undefined;
  readonly hits: Array<[string, string]> = [];

  hooks() {
    return {
      write: (file: string) => this.#maybeThrow('write', file),
      sync: (file: string) => this.#maybeThrow('sync', file),
    };
  }

  #maybeThrow(op: 'write' | 'sync', file: string): void {
    const fault = this[op];
    if (fault && fault.target(file)) {
      this.hits.push([op, file]);
      throw Object.assign(new Error(`${fault.code}: simulated ${op} failure, '${file}'`), { code: fault.code, syscall: op });
    }
  }
}

const isSegment: Target = (f) => f.endsWith('.seg');
const isFeed: Target = (f) => f.endsWith('.feed');
const isDirectory: Target = (f) => !/\.(seg|feed)$/.test(f);

function openWithDisk(dir: string, disk: Disk, durability: DurabilityMode = 'always'): Promise<EventStore> {
  return EventStore.open(new FlatfileBackend({ dir, durability, batchIntervalMs: 20, faults: disk.hooks() }));
}

function open(dir: string): Promise<EventStore> {
  return EventStore.open(new FlatfileBackend({ dir, durability: 'always' }));
}

const ev = (n: number | string) => ({ type: 'test.event', data: { n, body: `event ${n}` } });

async function rejection(p: Promise<unknown>): Promise<FfcdbError> {
  try {
    await p;
  } catch (err) {
    assert.instance(err, FfcdbError, String(err));
    return err as FfcdbError;
  }
  assert.unreachable('expected the promise to reject');
  throw new Error('unreachable');
}

async function expectCode(p: Promise<unknown>, code: string): Promise<FfcdbError> {
  const err = await rejection(p);
  assert.is(err.code, code, err.message);
  return err;
}

const summary = (events: RecordedEvent[]) => events.map((e) => [e.streamId, e.version, e.position, e.data]);

/** Reopens (without faults) and checks: the acknowledged events are there, untouched, in a consistent store; appends work again. */
async function checkAfterReopen(dir: string, acked: RecordedEvent[], failedData: unknown[], expectFailedAbsent: boolean): Promise<void> {
  const store = await open(dir);
  try {
    const feed = (await store.readAll()).events;
    feed.forEach((e, i) => assert.is(e.position, i + 1, 'feed positions without gaps'));
    const byPosition = new Map(feed.map((e) => [e.position, e]));
    for (const e of acked) {
      const found = byPosition.get(e.position);
      assert.ok(found, `acknowledged ${e.streamId} v${e.version} is there`);
      assert.equal([found!.id, found!.streamId, found!.version, found!.data, found!.metadata, found!.timestamp], [e.id, e.streamId, e.version, e.data, e.metadata, e.timestamp]);
    }
    const streams = [...new Set(feed.map((e) => e.streamId))];
    for (const s of streams) {
      const events = await store.readStream(s);
      events.forEach((e, i) => assert.is(e.version, i + 1, `${s}: versions without gaps`));
      assert.equal(summary(events), summary(feed.filter((e) => e.streamId === s)), `${s} agrees with the feed`);
    }
    if (expectFailedAbsent) {
      for (const d of failedData) assert.not.ok(feed.some((e) => JSON.stringify(e.data) === JSON.stringify(d)), `the failed append ${JSON.stringify(d)} left nothing behind`);
    }
    // Appends work again: on old streams, on the stream the failed append went to, on new ones.
    const head = await store.headPosition();
    const targets = [...new Set([...streams, 'fresh', 'after-reopen'])];
    for (const s of targets) {
      const version = await store.streamVersion(s);
      const r = await store.append(s, ev(`after ${s}`), { expectedVersion: version });
      assert.is(r.firstVersion, version + 1);
      const events = await store.readStream(s);
      assert.equal(events.map((e) => e.version), Array.from({ length: version + 1 }, (_, i) => i + 1));
      assert.equal(events.at(-1)!.data, ev(`after ${s}`).data);
    }
    assert.is(await store.headPosition(), head + targets.length);
  } finally {
    await store.close();
  }
  // And the store reads the same after one more reopen.
  const a = await open(dir);
  const first = summary((await a.readAll()).events);
  await a.close();
  const b = await open(dir);
  assert.equal(summary((await b.readAll()).events), first);
  await b.close();
}

// ---- fsync and write failures ----------------------------------------------------

for (const { label, op, target, code, failedLeavesNothing } of [
  { label: 'an fsync of a stream segment fails with EIO', op: 'sync', target: isSegment, code: 'EIO', failedLeavesNothing: false },
  { label: 'an fsync of the feed fails with ENOSPC', op: 'sync', target: isFeed, code: 'ENOSPC', failedLeavesNothing: false },
  { label: 'an fsync of a new stream folder fails with EIO', op: 'sync', target: isDirectory, code: 'EIO', failedLeavesNothing: false },
  { label: 'a write of a stream segment fails with ENOSPC', op: 'write', target: isSegment, code: 'ENOSPC', failedLeavesNothing: true },
  { label: 'a write of the feed fails with EIO (after the stream frame was written)', op: 'write', target: isFeed, code: 'EIO', failedLeavesNothing: true },
] as const) {
  test(`${label}: the append rejects with IO, later appends with FAILED, and after reopening everything acknowledged is intact and appends work`, async () => {
    const dir = tempDir();
    const disk = new Disk();
    const store = await openWithDisk(dir, disk);
    const acked: RecordedEvent[] = [];
    try {
      for (let i = 1; i <= 3; i++) await store.append(i === 2 ? 'b' : 'a', ev(i));
      acked.push(...(await store.readAll()).events);
      assert.is(acked.length, 3);

      disk[op] = { target, code };
      // A stream that does not exist yet, so that a new folder is created (and fsynced) too.
      const failing = store.append('fresh', ev('doomed'));
      const err = await expectCode(failing, 'IO');
      assert.is(err.details.errno, code);
      assert.ok(typeof err.details.file === 'string' && target(err.details.file as string), `details.file names the failing file: ${String(err.details.file)}`);
      assert.ok(disk.hits.length > 0, 'the fault hook was hit');

      // The store acknowledges nothing more, even once the disk is "fine" again.
      disk[op] = undefined;
      const later = await expectCode(store.append('a', ev('later')), 'FAILED');
      assert.is(later.details.cause, 'IO');
      await expectCode(store.append('fresh', ev('later too')), 'FAILED');
    } finally {
      await store.close();
    }
    await checkAfterReopen(dir, acked, [ev('doomed').data, ev('later').data, ev('later too').data], failedLeavesNothing);
    // 'later' and 'later too' were refused before anything was written: never there, whatever the fault.
    await checkAfterReopen(dir, acked, [ev('later').data, ev('later too').data], true);
  });
}

test('an fsync failure in a commit group rejects every append of the group with IO and every queued one with FAILED; none is acknowledged', async () => {
  const dir = tempDir();
  const disk = new Disk();
  const store = await openWithDisk(dir, disk);
  let acked: RecordedEvent[] = [];
  try {
    await store.append('a', ev(0));
    acked = (await store.readAll()).events;
    disk.sync = { target: isFeed, code: 'EIO' };
    const results = await Promise.allSettled(Array.from({ length: 8 }, (_, i) => store.append(`s${i % 3}`, ev(i + 1))));
    assert.ok(results.every((r) => r.status === 'rejected'), 'nothing in or after the failed group is acknowledged');
    const codes = results.map((r) => (r as PromiseRejectedResult).reason.code as string);
    assert.ok(codes.every((c) => c === 'IO' || c === 'FAILED'), codes.join());
    assert.is(codes[0], 'IO');
    disk.sync = undefined;
    await expectCode(store.append('a', ev('after')), 'FAILED');
  } finally {
    await store.close();
  }
  await checkAfterReopen(dir, acked, [], false);
});

test("durability 'batched': a failed background fsync makes later appends reject with FAILED until reopened", async () => {
  const dir = tempDir();
  const disk = new Disk();
  const store = await openWithDisk(dir, disk, 'batched');
  let acked: RecordedEvent[] = [];
  try {
    await store.append('a', ev(1));
    await new Promise((resolve) => setTimeout(resolve, 100)); // a background fsync went through
    acked = (await store.readAll()).events;
    disk.sync = { target: () => true, code: 'EIO' };
    await store.append('a', ev(2)); // acknowledged before its (failing) fsync: that is what 'batched' means
    let err: FfcdbError | undefined;
    for (let i = 0; i < 200 && !err; i++) {
      await new Promise((resolve) => setTimeout(resolve, 20));
      err = await store.append('a', ev(`probe ${i}`)).then(
        () => undefined,
        (e: FfcdbError) => e,
      );
    }
    assert.ok(err, 'appends are refused once the background fsync failed');
    assert.is(err!.code, 'FAILED', err!.message);
    disk.sync = undefined;
    await expectCode(store.append('a', ev('after')), 'FAILED');
  } finally {
    await store.close();
  }
  await checkAfterReopen(dir, acked, [], false);
});

// ---- symlinks and special files in the data folder -----------------------------------

/** A store with streams s1 and s2 (two events each), closed. */
async function storeWithTwoStreams(): Promise<string> {
  const dir = tempDir();
  const store = await open(dir);
  await store.append('s1', [ev(1), ev(2)]);
  await store.append('s2', ev(3));
  await store.append('s2', ev(4));
  await store.close();
  return dir;
}

function streamDir(dir: string, streamId: string): string {
  const found = (fs.readdirSync(path.join(dir, 'streams'), { recursive: true }) as string[]).find((p) => path.basename(p) === streamId);
  assert.ok(found, `${streamId} has a folder`);
  return path.join(dir, 'streams', found!);
}

/** Moves `target` outside the data folder and leaves a symlink to it in its place. */
function replaceWithSymlink(target: string): string {
  const outside = path.join(tempDir(), path.basename(target));
  fs.cpSync(target, outside, { recursive: true });
  fs.rmSync(target, { recursive: true });
  fs.symlinkSync(outside, target);
  return outside;
}

async function expectUnsafe(p: Promise<unknown>, what: string): Promise<void> {
  const err = await rejection(p);
  assert.is(err.code, 'UNSAFE_PATH', `${what}: ${err.code} ${err.message}`);
  assert.ok(typeof err.details.path === 'string', `${what}: details.path names the path`);
}

test('a stream folder replaced by a symlink is refused with UNSAFE_PATH when the stream is read or written', async () => {
  const dir = await storeWithTwoStreams();
  replaceWithSymlink(streamDir(dir, 's1'));
  const store = await open(dir);
  try {
    await expectUnsafe(store.readStream('s1'), 'readStream');
    await expectUnsafe(store.append('s1', ev(9)), 'append');
    await expectUnsafe(store.streamVersion('s1'), 'streamVersion');
    assert.is((await store.readStream('s2')).length, 2, 'other streams still work');
  } finally {
    await store.close();
  }
});

test('a stream folder replaced by a symlink is refused with UNSAFE_PATH when the global feed reaches it', async () => {
  const dir = await storeWithTwoStreams();
  replaceWithSymlink(streamDir(dir, 's1'));
  const store = await open(dir);
  try {
    await expectUnsafe(store.readAll(), 'readAll (the feed points into the symlinked folder)');
  } finally {
    await store.close();
  }
});

test('a shard folder (streams/xx) replaced by a symlink is refused with UNSAFE_PATH', async () => {
  const dir = await storeWithTwoStreams();
  const shard = path.join(dir, 'streams', path.relative(path.join(dir, 'streams'), streamDir(dir, 's1')).split(path.sep)[0]!);
  replaceWithSymlink(shard);
  const store = await open(dir);
  try {
    await expectUnsafe(store.readStream('s1'), 'readStream');
    await expectUnsafe(store.append('s1', ev(9)), 'append');
  } finally {
    await store.close();
  }
});

test('a segment file replaced by a symlink is refused with UNSAFE_PATH by reads, the feed and appends', async () => {
  const dir = await storeWithTwoStreams();
  const seg = path.join(streamDir(dir, 's1'), '0000000000000001.seg');
  replaceWithSymlink(seg);
  const store = await open(dir);
  try {
    await expectUnsafe(store.readStream('s1'), 'readStream');
    await expectUnsafe(store.readAll(), 'readAll');
    await expectUnsafe(store.append('s1', ev(9)), 'append');
  } finally {
    await store.close();
  }
  assert.ok(fs.lstatSync(seg).isSymbolicLink(), 'the symlink is left alone');
});

test('a segment file of the last commit group replaced by a symlink is refused with UNSAFE_PATH on open', async () => {
  const dir = await storeWithTwoStreams();
  replaceWithSymlink(path.join(streamDir(dir, 's2'), '0000000000000001.seg'));
  await expectUnsafe(open(dir), 'open');
});

test('a feed segment replaced by a symlink is refused with UNSAFE_PATH on open', async () => {
  const dir = await storeWithTwoStreams();
  replaceWithSymlink(path.join(dir, 'feed', '0000000000000001.feed'));
  await expectUnsafe(open(dir), 'open');
});

test('the feed folder replaced by a symlink is refused with UNSAFE_PATH on open (nothing is written through it)', async () => {
  const dir = await storeWithTwoStreams();
  const outside = replaceWithSymlink(path.join(dir, 'feed'));
  const before = fs.readFileSync(path.join(outside, '0000000000000001.feed'));
  let opened: EventStore | undefined;
  try {
    opened = await open(dir);
    // Opened: it must at least not write through the link.
    await opened.append('s3', ev(5)).catch(() => undefined);
  } catch (err) {
    assert.instance(err, FfcdbError);
    assert.is((err as FfcdbError).code, 'UNSAFE_PATH', (err as Error).message);
  } finally {
    await opened?.close();
  }
  assert.ok(fs.readFileSync(path.join(outside, '0000000000000001.feed')).equals(before), 'nothing was written outside the data folder');
  assert.is(opened, undefined, 'open refused the symlinked feed folder');
});

test('the streams folder replaced by a symlink is refused with UNSAFE_PATH', async () => {
  const dir = await storeWithTwoStreams();
  replaceWithSymlink(path.join(dir, 'streams'));
  let store: EventStore | undefined;
  try {
    store = await open(dir);
    await expectUnsafe(store.readStream('s1'), 'readStream');
    await expectUnsafe(store.append('s9', ev(9)), 'append to a new stream');
  } catch (err) {
    // Refusing at open is fine too.
    assert.instance(err, FfcdbError);
    assert.is((err as FfcdbError).code, 'UNSAFE_PATH', (err as Error).message);
  } finally {
    await store?.close();
  }
});

test('a FIFO in place of a segment file is refused with UNSAFE_PATH', async () => {
  const dir = await storeWithTwoStreams();
  const seg = path.join(streamDir(dir, 's1'), '0000000000000001.seg');
  fs.rmSync(seg);
  try {
    execFileSync('mkfifo', [seg]);
  } catch {
    return; // no mkfifo on this system
  }
  const store = await open(dir);
  try {
    await expectUnsafe(store.readStream('s1'), 'readStream');
    await expectUnsafe(store.append('s1', ev(9)), 'append');
  } finally {
    await store.close();
  }
});

// ---- folders that are not stores --------------------------------------------------

test('a non-empty folder that is not a store is refused with UNSUPPORTED_FORMAT and left untouched', async () => {
  const dir = tempDir();
  fs.writeFileSync(path.join(dir, 'notes.txt'), 'my files');
  fs.mkdirSync(path.join(dir, 'photos'));
  const err = await rejection(open(dir));
  assert.is(err.code, 'UNSUPPORTED_FORMAT', err.message);
  assert.equal(fs.readdirSync(dir).sort(), ['notes.txt', 'photos']);
});

test('a store marker of another format version, or not JSON, is refused with UNSUPPORTED_FORMAT', async () => {
  for (const marker of ['{"format":"flatfile-chat-db","version":99}\n', '{"format":"something-else","version":1}', 'not json at all']) {
    const dir = await storeWithTwoStreams();
    fs.writeFileSync(path.join(dir, 'ffcdb.json'), marker);
    const err = await rejection(open(dir));
    assert.is(err.code, 'UNSUPPORTED_FORMAT', `${marker}: ${err.message}`);
  }
});

test('an empty folder becomes a store', async () => {
  const dir = tempDir();
  const store = await open(dir);
  await store.append('s', ev(1));
  await store.close();
  assert.ok(fs.existsSync(path.join(dir, 'ffcdb.json')));
});

test.run();
