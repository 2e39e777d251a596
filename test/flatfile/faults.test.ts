/**
 * Failing disks and hostile data folders. The backend's `faults` hooks make a
 * write or fsync of a chosen file throw (EIO, ENOSPC); the store must reject
 * that append with IO, acknowledge nothing more (FAILED) until it is reopened,
 * and keep everything acknowledged before. Symlinks and special files planted
 * in the data folder are refused with UNSAFE_PATH; a folder that is not a
 * store is refused with UNSUPPORTED_FORMAT.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as assert from 'uvu/assert';
import { flatfileSuite } from './unit-helpers.js';
import { FlatfileBackend } from '../../src/backends/flatfile/flatfile-backend.js';
import { EventStore } from '../../src/engine/event-store.js';
import { FfcdbError } from '../../src/kernel/errors.js';
import type { DurabilityMode, RecordedEvent } from '../../src/kernel/types.js';

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
    if (fault?.target(file)) {
      this.hits.push([op, file]);
      throw Object.assign(new Error(`${fault.code}: simulated ${op} failure, '${file}'`), { code: fault.code, syscall: op });
    }
  }
}

const isSegment: Target = (f) => f.endsWith('.seg');
const isFeed: Target = (f) => f.endsWith('.feed');
/** In 'always' mode a commit's one fsync is its writer's commit journal's; the logs are fsynced at checkpoints. */
const isJournal: Target = (f) => f.endsWith('.journal');
const isDirectory: Target = (f) => !/\.(seg|feed|journal)$/.test(f);

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
    for (const [i, e] of feed.entries()) assert.is(e.position, i + 1, 'feed positions without gaps');
    const byPosition = new Map(feed.map((e) => [e.position, e]));
    for (const e of acked) {
      const found = byPosition.get(e.position);
      assert.ok(found, `acknowledged ${e.streamId} v${e.version} is there`);
      assert.equal([found!.id, found!.streamId, found!.version, found!.data, found!.metadata, found!.timestamp], [e.id, e.streamId, e.version, e.data, e.metadata, e.timestamp]);
    }
    const streams = [...new Set(feed.map((e) => e.streamId))];
    for (const s of streams) {
      const events = await store.readStream(s);
      for (const [i, e] of events.entries()) assert.is(e.version, i + 1, `${s}: versions without gaps`);
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
  { label: 'an fsync of the commit journal fails with EIO', op: 'sync', target: isJournal, code: 'EIO', failedLeavesNothing: false },
  { label: 'an fsync of the commit journal fails with ENOSPC', op: 'sync', target: isJournal, code: 'ENOSPC', failedLeavesNothing: false },
  { label: 'a write of the commit journal fails with ENOSPC', op: 'write', target: isJournal, code: 'ENOSPC', failedLeavesNothing: false },
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
    disk.sync = { target: isJournal, code: 'EIO' };
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

// ---- failed commits: retries, taking back, cutting a dead writer's leftovers --------------------

async function lockReleased(dir: string): Promise<void> {
  for (let i = 0; fs.existsSync(path.join(dir, 'writer.lock')); i++) {
    if (i > 1000) throw new Error('the store kept its writer lock for 10 s with nothing to write');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** Replaces a function of node:fs (the backend calls it through the same module object); returns the undo. */
function replaceFs(name: 'fdatasync' | 'fdatasyncSync', impl: (...args: never[]) => unknown): () => void {
  const target = fs as unknown as Record<string, unknown>;
  const original = target[name];
  target[name] = impl;
  return () => {
    target[name] = original;
  };
}

test('a retry of an event id queued in the same commit group as the original is rejected with the group when its commit fails, never resolved as a duplicate', async () => {
  const dir = tempDir();
  const disk = new Disk();
  const store = await openWithDisk(dir, disk);
  const event = { id: 'evt-retried', ...ev('retried') };
  try {
    await store.append('s1', ev(0));
    // Without the lock, the committer first waits for it: appends queued in one tick form one group.
    await lockReleased(dir);
    disk.sync = { target: () => true, code: 'EIO' };
    const first = store.append('s1', event);
    const retry = store.append('s1', event);
    await expectCode(first, 'IO');
    const err = await rejection(retry);
    assert.ok(err.code === 'IO' || err.code === 'FAILED', `the retry rejects with IO (its group failed) or FAILED, not ${err.code}: ${err.message}`);
    disk.sync = undefined;
    await expectCode(store.append('s1', ev('after')), 'FAILED');
  } finally {
    disk.sync = undefined;
    await store.close();
  }
  // Whatever the failed commit left, the store agrees with itself about the event: a retry after reopening
  // is a duplicate exactly when the event is there, and the stream holds it once.
  const reopened = await open(dir);
  try {
    const present = (await reopened.readStream('s1')).some((e) => e.id === event.id);
    const r = await reopened.append('s1', event);
    assert.is(r.duplicate, present, `duplicate (${r.duplicate}) when the event is in the stream (${present})`);
    assert.is((await reopened.readStream('s1')).filter((e) => e.id === event.id).length, 1);
  } finally {
    await reopened.close();
  }
});

for (const { label, target } of [
  { label: 'the commit journal', target: isJournal },
  { label: 'any file', target: () => true },
] as const) {
  test(`an append rejected with IO because an fsync of ${label} failed is taken back: the files return to their sizes before it, and after close and reopen its event is in neither the feed nor the stream`, async () => {
    const dir = tempDir();
    const disk = new Disk();
    const store = await openWithDisk(dir, disk);
    const feed = path.join(dir, 'feed', '0000000000000001.feed');
    let seg = '';
    try {
      await store.append('s1', ev('acked'));
      seg = path.join(streamDir(dir, 's1'), '0000000000000001.seg');
      const before = [fs.statSync(feed).size, fs.statSync(seg).size];
      disk.sync = { target, code: 'EIO' };
      await expectCode(store.append('s1', ev('rejected')), 'IO');
      disk.sync = undefined;
      assert.equal([fs.statSync(feed).size, fs.statSync(seg).size], before, 'the feed frame and the stream frame of the failed commit are cut back');
      await expectCode(store.append('s1', ev('later')), 'FAILED');
    } finally {
      disk.sync = undefined;
      await store.close();
    }
    const reopened = await open(dir);
    try {
      assert.equal((await reopened.readAll()).events.map((e) => e.data), [ev('acked').data], 'the feed holds only the acknowledged event');
      assert.equal((await reopened.readStream('s1')).map((e) => e.data), [ev('acked').data], 'the stream holds only the acknowledged event');
      const r = await reopened.append('s1', ev('after reopen'));
      assert.equal([r.firstVersion, r.firstPosition], [2, 2]);
    } finally {
      await reopened.close();
    }
  });
}

for (const { label, target } of [
  { label: 'a stream segment', target: isSegment },
  { label: 'the feed', target: isFeed },
  { label: 'a new stream folder', target: isDirectory },
] as const) {
  test(`an fsync of ${label} that fails at the closing checkpoint makes close() reject with IO; reopening replays the commit journal and every acknowledged event is there`, async () => {
    const dir = tempDir();
    const disk = new Disk();
    const store = await openWithDisk(dir, disk);
    for (let i = 1; i <= 3; i++) await store.append(i === 2 ? 'b' : 'a', ev(i));
    const acked = (await store.readAll()).events;
    disk.sync = { target, code: 'EIO' };
    await expectCode(store.close(), 'IO');
    assert.ok(disk.hits.some(([op, file]) => op === 'sync' && target(file)), 'the checkpoint fsynced the failing file');
    assert.equal(fs.readdirSync(path.join(dir, 'journal')).length, 1, 'the journal is kept: it is what makes the events durable');
    await checkAfterReopen(dir, acked, [], true);
  });
}

test("a failed fdatasync while cutting a dead writer's orphan stream frame rejects that append with IO and every later append with FAILED", async () => {
  const dir = tempDir();
  let acked: RecordedEvent[] = [];
  {
    const store = await open(dir);
    await store.append('s1', ev(1));
    await store.append('other', ev(2));
    acked = (await store.readAll()).events;
    await store.close();
  }
  // A dead writer's leftover: a whole, checksummed frame at the end of s1's segment that no feed frame points at.
  const seg = path.join(streamDir(dir, 's1'), '0000000000000001.seg');
  fs.appendFileSync(seg, fs.readFileSync(seg));
  const store = await open(dir);
  // The backend cuts the orphan with ftruncate + fdatasync when s1 is next written; make that fdatasync fail.
  const segInode = fs.statSync(seg).ino;
  const fdatasyncSync = fs.fdatasyncSync;
  let failures = 0;
  const restore = replaceFs('fdatasyncSync', (fd: number) => {
    if (failures === 0 && fs.fstatSync(fd).ino === segInode) {
      failures++;
      throw Object.assign(new Error(`EIO: simulated fdatasync failure, '${seg}'`), { code: 'EIO', syscall: 'fdatasync' });
    }
    return fdatasyncSync(fd);
  });
  try {
    const err = await expectCode(store.append('s1', ev(3)), 'IO');
    assert.is(failures, 1, 'the fdatasync of the cut segment was the one that failed');
    assert.is(err.details.errno, 'EIO');
    restore();
    // The disk failed under the store: nothing more is acknowledged, on this stream or any other.
    const later = await expectCode(store.append('s1', ev(4)), 'FAILED');
    assert.is(later.details.cause, 'IO');
    await expectCode(store.append('other', ev(5)), 'FAILED');
    await expectCode(store.append('fresh', ev(6)), 'FAILED');
  } finally {
    restore();
    await store.close();
  }
  await checkAfterReopen(dir, acked, [ev(3).data, ev(4).data, ev(5).data, ev(6).data], true);
});

// ---- descriptors: fsyncing more files than maxOpenFiles ----------------------------------------

test("durability 'none' with 100 streams and maxOpenFiles 8: close() fsyncs them in chunks (never more than maxOpenFiles at once), records them in synced, and the store reopens with every event", async () => {
  const dir = tempDir();
  const STREAMS = 100;
  const MAX_OPEN = 8;
  const fdatasync = fs.fdatasync;
  let inFlight = 0;
  let most = 0;
  let calls = 0;
  const restore = replaceFs('fdatasync', (fd: number, callback: fs.NoParamCallback) => {
    calls++;
    most = Math.max(most, ++inFlight);
    fdatasync(fd, (err) => {
      inFlight--;
      callback(err);
    });
  });
  try {
    const store = await EventStore.open(new FlatfileBackend({ dir, durability: 'none', maxOpenFiles: MAX_OPEN }));
    try {
      for (let i = 0; i < STREAMS; i++) await store.append(`s${i}`, ev(i));
    } finally {
      await store.close(); // must resolve: every file is fsynced and `synced` written
    }
  } finally {
    restore();
  }
  assert.ok(calls >= STREAMS + 1, `close() fsynced every segment and the feed (${calls} fdatasync calls)`);
  assert.ok(most <= MAX_OPEN, `at most ${MAX_OPEN} files (each held open) are fsynced at once; saw ${most}`);
  assert.is(fs.readFileSync(path.join(dir, 'synced'), 'utf8'), String(STREAMS), 'close() recorded everything as synced');
  const store = await EventStore.open(new FlatfileBackend({ dir, durability: 'none', maxOpenFiles: MAX_OPEN }));
  try {
    assert.is(await store.headPosition(), STREAMS);
    const feed = (await store.readAll({ limit: 10_000 })).events;
    assert.equal(
      feed.map((e) => [e.position, e.streamId, e.version, e.data]),
      Array.from({ length: STREAMS }, (_, i) => [i + 1, `s${i}`, 1, ev(i).data]),
    );
    for (const i of [0, 37, STREAMS - 1]) assert.equal((await store.readStream(`s${i}`)).map((e) => e.data), [ev(i).data]);
  } finally {
    await store.close();
  }
});

test("durability 'none' under a real descriptor limit (ulimit -n 128, 300 streams, maxOpenFiles 32): close() and reopening succeed and every event is there", async () => {
  if (process.platform === 'win32' || !fs.existsSync('/bin/sh')) return; // no ulimit
  const dir = tempDir();
  const STREAMS = 300;
  const url = (p: string) => JSON.stringify(new URL(p, import.meta.url).href);
  const child = `
    import fs from 'node:fs';
    const { EventStore } = await import(${url('../../src/engine/event-store.ts')});
    const { FlatfileBackend } = await import(${url('../../src/backends/flatfile/flatfile-backend.ts')});
    const dir = process.argv[1];
    const out = {};
    const describe = (e) => (e && e.code ? e.code + ': ' : '') + String(e && e.message ? e.message : e);
    const store = await EventStore.open(new FlatfileBackend({ dir, durability: 'none', maxOpenFiles: 32 }));
    for (let i = 0; i < ${STREAMS}; i++) await store.append('s' + i, { type: 't', data: i });
    out.close = await store.close().then(() => 'ok', describe);
    out.synced = fs.existsSync(dir + '/synced') ? fs.readFileSync(dir + '/synced', 'utf8') : null;
    try {
      const again = await EventStore.open(new FlatfileBackend({ dir, durability: 'none', maxOpenFiles: 32 }));
      out.head = await again.headPosition();
      out.feed = (await again.readAll({ limit: 10000 })).events.every((e, i) => e.position === i + 1 && e.streamId === 's' + i && e.data === i);
      out.reopen = await again.close().then(() => 'ok', describe);
    } catch (e) {
      out.reopen = describe(e);
    }
    process.stdout.write(JSON.stringify(out));
  `;
  const run = spawnSync('/bin/sh', ['-c', 'ulimit -n 128 && exec "$@"', 'sh', process.execPath, '--import', 'tsx', '--input-type=module', '-e', child, dir], {
    encoding: 'utf8',
    timeout: 60_000,
  });
  assert.is(run.status, 0, `the child failed (${run.status ?? run.signal}):\n${run.stderr}`);
  assert.equal(JSON.parse(run.stdout), { close: 'ok', synced: String(STREAMS), head: STREAMS, feed: true, reopen: 'ok' });
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

test('the tombstone file (purged) replaced by a symlink is refused with UNSAFE_PATH on open', async () => {
  const dir = await storeWithTwoStreams();
  replaceWithSymlink(path.join(dir, 'purged'));
  await expectUnsafe(open(dir), 'open');
});

test('purging a stream whose folder was replaced by a symlink is refused with UNSAFE_PATH, and what the link points to is left alone', async () => {
  const dir = await storeWithTwoStreams();
  const outside = replaceWithSymlink(streamDir(dir, 's1'));
  const store = await open(dir);
  try {
    await expectUnsafe(store.purgeStream('s1'), 'purgeStream');
    assert.equal(fs.readdirSync(outside), ['0000000000000001.seg']);
    assert.is((await store.append('s2', ev(5))).firstPosition, 5, 'the store goes on');
  } finally {
    await store.close();
  }
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

// ---- I/O errors while opening -------------------------------------------------------

for (const { label, plant, errno } of [
  { label: "the epoch file's temporary copy is a directory", plant: (dir: string) => fs.mkdirSync(path.join(dir, `epoch.${process.pid}.tmp`)), errno: 'EISDIR' },
  {
    label: 'a stale writer.lock that is a regular file, not a directory',
    plant: (dir: string) => {
      const lock = path.join(dir, 'writer.lock');
      fs.writeFileSync(lock, 'not a lock directory');
      const past = new Date(Date.now() - 60_000);
      fs.utimesSync(lock, past, past);
    },
    errno: 'ENOTDIR',
  },
] as const) {
  test(`an I/O error while opening (${label}) rejects with an FfcdbError of code IO, not a plain Error`, async () => {
    const dir = await storeWithTwoStreams();
    plant(dir);
    const err = await rejection(open(dir)); // fails unless it is an FfcdbError
    assert.is(err.code, 'IO', err.message);
    assert.is(err.details.errno, errno, err.message);
    assert.ok(typeof err.details.file === 'string' && (err.details.file as string).startsWith(dir), `details.file names the file: ${String(err.details.file)}`);
  });
}

test.run();
