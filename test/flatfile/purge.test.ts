/**
 * Purging a stream on the flatfile backend, beyond the compliance suite: the
 * commit journals (this store's and other open stores') are scrubbed too, other
 * processes see a purge at once and never fail on the files it deleted, and a
 * purge cut short by a crash or a failing disk is either undone or finished on
 * the next open, never a recovery cut of other data.
 */
import fs from 'node:fs';
import path from 'node:path';
import * as assert from 'uvu/assert';
import type { Subscription } from 'rxjs';
import { FlatfileBackend } from '../../src/backends/flatfile/flatfile-backend.js';
import type { FaultInjection } from '../../src/storage/durable-files.js';
import type { FlatfileOptions } from '../../src/backends/flatfile/options.js';
import { EventStore } from '../../src/engine/event-store.js';
import { Monitor, type MonitorEvent } from '../../src/engine/monitor.js';
import type { NewEvent, RecordedEvent } from '../../src/kernel/types.js';
import { runWorker, startWorker } from '../support/children.js';
import { filesHolding } from '../../src/testing/files-holding.js';
import { parseLines } from '../support/workload.js';
import { flatfileSuite, rejected, tempRoot } from './unit-helpers.js';

const test = flatfileSuite('flatfile: purging a stream');

const dirs: string[] = [];
function tempDir(): string {
  const dir = tempRoot('purge');
  dirs.push(dir);
  return dir;
}
test.after(() => {
  for (const dir of dirs) fs.rmSync(dir, { recursive: true, force: true });
});

// ---- helpers ------------------------------------------------------------------

async function open(dir: string, options: Partial<FlatfileOptions> & { faults?: FaultInjection } = {}, events?: MonitorEvent[]): Promise<EventStore> {
  const backend = new FlatfileBackend({ dir, durability: 'always', ...options });
  if (events) {
    const monitor = new Monitor();
    monitor.events$.subscribe((e) => events.push(e));
    await backend.open({ monitor });
  }
  return EventStore.open(backend);
}

/** A marker no other test writes; events carrying it are small (under the 1 KiB compression threshold). */
function newMarker(name: string): string {
  return `${name}-marker-${Math.random().toString(36).slice(2)}`;
}

function secret(marker: string, n: number): NewEvent {
  return { type: 'message.added', data: { text: `${marker} says ${n}` }, metadata: { actor: `${marker}-actor` } };
}

const ev = (n: number): NewEvent => ({ type: 't', data: { n } });

/** Files under `dir` whose bytes contain `marker`, relative to `dir`. */

/** A stream's folder (streams/ab/cd/<id>), found by its name. */
function streamDir(dir: string, streamId: string): string | undefined {
  const found = (fs.readdirSync(path.join(dir, 'streams'), { recursive: true }) as string[]).find((p) => path.basename(p) === streamId);
  return found === undefined ? undefined : path.join(dir, 'streams', found);
}

const summary = (events: RecordedEvent[]) => events.map((e) => [e.streamId, e.version, e.position, e.data]);

async function feed(store: EventStore): Promise<RecordedEvent[]> {
  const out: RecordedEvent[] = [];
  for await (const e of store.streamAll()) out.push(e);
  return out;
}

/** This process's descriptors that point at deleted files inside `dir` (Linux; empty elsewhere). */
function deletedFilesHeldOpen(dir: string): string[] {
  if (!fs.existsSync('/proc/self/fd')) return [];
  const held: string[] = [];
  for (const fd of fs.readdirSync('/proc/self/fd')) {
    let target: string;
    try {
      target = fs.readlinkSync(`/proc/self/fd/${fd}`);
    } catch {
      continue; // closed meanwhile
    }
    if (target.startsWith(dir + path.sep) && target.endsWith(' (deleted)')) held.push(target);
  }
  return held;
}

async function waitFor(cond: () => boolean, what: string, ms = 20_000): Promise<void> {
  for (const until = Date.now() + ms; !cond(); ) {
    if (Date.now() > until) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

// ---- the journals ---------------------------------------------------------------

test("a purge blanks the stream's frames out of every commit journal, another open store's included, and that store's later commits still replay after a power loss", async () => {
  const dir = tempDir();
  const marker = newMarker('journal');
  const purger = await open(dir);
  // A second store on the folder stands in for another process: its own journal, caches and descriptors.
  const other = await open(dir);
  try {
    await other.append('kept', ev(1));
    await other.append('gone', [secret(marker, 1), secret(marker, 2)]);
    await other.append('kept', ev(2));
    const holders = filesHolding(dir, marker);
    assert.ok(holders.some((f) => f.startsWith('journal/')), `the other store's journal holds the events before the purge: ${holders}`);

    assert.equal(await purger.purgeStream('gone'), { streamId: 'gone', version: 2, events: 2 });
    assert.equal(filesHolding(dir, marker), [], 'no segment, feed or journal holds them after it');

    // The other store commits more (journal records after the blanked ones); then a power loss takes them
    // from the logs, leaving them only in its journal.
    const feedFile = path.join(dir, 'feed', '0000000000000001.feed');
    const keptFile = path.join(streamDir(dir, 'kept')!, '0000000000000001.seg');
    const sizes = [fs.statSync(feedFile).size, fs.statSync(keptFile).size] as const;
    await other.append('kept', [ev(3), ev(4)]);
    await other.append('kept', ev(5));
    const expected = summary(await feed(other));
    fs.truncateSync(feedFile, sizes[0]);
    fs.truncateSync(keptFile, sizes[1]);

    const reopened = await open(dir);
    try {
      assert.equal(summary(await feed(reopened)), expected, 'replay walked past the blanked records to the later ones');
      assert.equal((await reopened.readStream('kept')).map((e) => e.data), [{ n: 1 }, { n: 2 }, { n: 3 }, { n: 4 }, { n: 5 }]);
      assert.equal(filesHolding(dir, marker), []);
    } finally {
      await reopened.close();
    }
  } finally {
    await other.close();
    await purger.close();
  }
});

// ---- other processes ------------------------------------------------------------

test('a purge by another process is seen here at once: a reader and a writer with the stream cached get its version, an empty read, a gap in the feed and CONFLICT, hold none of its files open, and a live subscriber goes on past the gap', async () => {
  const dir = tempDir();
  const marker = newMarker('cross');
  const store = await open(dir, { segmentBytes: 4096 });
  const received: RecordedEvent[] = [];
  let failure: unknown;
  let sub: Subscription | undefined;
  try {
    await store.append('kept', ev(1));
    for (let i = 0; i < 40; i++) await store.append('gone', secret(marker, i));
    await store.append('kept', ev(2));
    // Cache what there is to cache: the stream's state, its segment descriptors, the feed.
    assert.is((await store.readStream('gone')).length, 40);
    assert.is((await store.readAll()).events.length, 42);
    assert.ok(streamDir(dir, 'gone') && fs.readdirSync(streamDir(dir, 'gone')!).length > 1, 'the stream spans several segments');
    sub = store.subscribeToAll().subscribe({ next: (e) => received.push(e), error: (err) => (failure = err) });
    await waitFor(() => received.length === 42, 'the subscriber to catch up');

    const purge = await runWorker({ mode: 'purge', dir, tag: 'purger', streams: ['gone'] });
    const [reported] = parseLines<{ kind: string }>(purge.stdout).filter((l) => l.kind === 'purged');
    assert.equal(reported, { kind: 'purged', tag: 'purger', streamId: 'gone', version: 40, events: 40 });

    assert.is(await store.streamVersion('gone'), 40);
    assert.equal(await store.readStream('gone'), []);
    assert.equal((await store.readAll()).events.map((e) => e.position), [1, 42]);
    const err = await rejected(store.append('gone', ev(3)));
    assert.is(err.code, 'CONFLICT');
    assert.equal(err.details, { streamId: 'gone', purged: true });
    assert.equal(deletedFilesHeldOpen(dir), [], 'no descriptor keeps a deleted segment alive');
    assert.equal(filesHolding(dir, marker), []);

    await runWorker({ mode: 'append', dir, tag: 'later', streams: ['later'], appends: 3, durability: 'always' });
    await store.append('kept', ev(4));
    await waitFor(() => received.length === 46 || failure !== undefined, 'the events appended after the purge');
    assert.is(failure, undefined);
    assert.equal(received.slice(42).map((e) => e.streamId), ['later', 'later', 'later', 'kept']);
    assert.equal(received.slice(42).map((e) => e.position), [43, 44, 45, 46]);
  } finally {
    sub?.unsubscribe();
    await store.close();
  }
});

test('a store that created a stream another store then purges is not failed by the folder it can no longer fsync', async () => {
  const dir = tempDir();
  // Batched, with no timed sync before close: the new stream's folders wait for this store's next checkpoint.
  const creator = await open(dir, { durability: 'batched', batchIntervalMs: 60_000 });
  const purger = await open(dir);
  try {
    await creator.append('gone', ev(1));
    await purger.purgeStream('gone');
    await creator.append('kept', ev(2));
  } finally {
    await purger.close();
  }
  await creator.close();
  const reopened = await open(dir);
  try {
    assert.equal((await reopened.readAll()).events.map((e) => [e.streamId, e.position]), [['kept', 2]]);
  } finally {
    await reopened.close();
  }
});

test('a feed read paging past the first page when another store purges a stream further on skips its events instead of failing', async () => {
  const dir = tempDir();
  const writer = await open(dir, { durability: 'none' });
  const reader = await open(dir, { durability: 'none' });
  try {
    // More feed frames than one page of the reader gathers (16,384), then the stream to purge, then more.
    const before = 17_000;
    await Promise.all(Array.from({ length: before }, (_, i) => writer.append(`x${i % 7}`, ev(i))));
    await writer.append('gone', [ev(-1), ev(-2)]);
    await Promise.all(Array.from({ length: 100 }, (_, i) => writer.append('y', ev(i))));
    const pages = reader.streamAll()[Symbol.asyncIterator]();
    const seen: RecordedEvent[] = [(await pages.next()).value as RecordedEvent];
    await writer.purgeStream('gone');
    for (let r = await pages.next(); !r.done; r = await pages.next()) seen.push(r.value);
    assert.is(seen.length, before + 100);
    assert.ok(seen.every((e) => e.streamId !== 'gone'));
    assert.equal(seen.map((e) => e.position), [...Array.from({ length: before }, (_, i) => i + 1), ...Array.from({ length: 100 }, (_, i) => before + 3 + i)]);
  } finally {
    await reader.close();
    await writer.close();
  }
});

test('a stream read that a purge in another store cuts short ends quietly, with no error and nothing from the files it had not opened', async () => {
  const dir = tempDir();
  const writer = await open(dir, { durability: 'none', segmentBytes: 4096 });
  const reader = await open(dir, { durability: 'none' });
  try {
    // Four segments of one 5000-event frame each. The reader's first page holds whole frames from the first
    // segments; the later ones are deleted before it opens them.
    for (let b = 0; b < 4; b++) await writer.append('gone', Array.from({ length: 5000 }, (_, i) => ev(b * 5000 + i)));
    const events = reader.streamEvents('gone')[Symbol.asyncIterator]();
    let read = (await events.next()).done ? 0 : 1;
    await writer.purgeStream('gone');
    while (!(await events.next()).done) read++;
    assert.ok(read > 0 && read < 20_000 && read % 5000 === 0, `the whole frames of the page read before the purge, and no more; got ${read}`);
    assert.equal(await reader.readStream('gone'), []);
  } finally {
    await reader.close();
    await writer.close();
  }
});

// ---- crashes and failing disks ----------------------------------------------------

test('a purge cut short after its tombstone (the files still on disk) is finished by the next open, and nothing else is cut', async () => {
  const dir = tempDir();
  const marker = newMarker('reopen');
  const store = await open(dir);
  await store.append('kept', ev(1));
  await store.append('gone', [secret(marker, 1), secret(marker, 2)]);
  await store.append('kept', ev(2));
  const saved = fs.mkdtempSync(path.join(dir, '..', 'saved-'));
  dirs.push(saved);
  const goneDir = streamDir(dir, 'gone')!;
  fs.cpSync(goneDir, saved, { recursive: true });
  await store.purgeStream('gone');
  const expected = summary(await feed(store));
  await store.close();
  // As a crash between the tombstone and the deletes would leave it.
  fs.cpSync(saved, goneDir, { recursive: true });
  assert.ok(filesHolding(dir, marker).length > 0);

  const events: MonitorEvent[] = [];
  const reopened = await open(dir, {}, events);
  try {
    assert.is(streamDir(dir, 'gone'), undefined, "the stream's folder is gone");
    assert.equal(filesHolding(dir, marker), []);
    assert.equal(summary(await feed(reopened)), expected);
    assert.is(await reopened.streamVersion('gone'), 2);
    assert.equal(events.filter((e) => e.kind === 'tail-truncated' || e.kind === 'orphan-removed'), [], 'no recovery cut');
  } finally {
    await reopened.close();
  }
});

test('a purge cut short after its tombstone is finished by the next process to take the writer lock', async () => {
  const dir = tempDir();
  const marker = newMarker('takeover');
  const running = await open(dir);
  try {
    await running.append('gone', secret(marker, 1));
    const goneDir = streamDir(dir, 'gone')!;
    const saved = fs.mkdtempSync(path.join(dir, '..', 'saved-'));
    dirs.push(saved);
    fs.cpSync(goneDir, saved, { recursive: true });
    const purger = await open(dir);
    await purger.purgeStream('gone');
    await purger.close();
    fs.cpSync(saved, goneDir, { recursive: true });

    assert.equal(await running.readStream('gone'), [], 'a reader skips a tombstoned stream whose files are still there');
    await running.append('kept', ev(1));
    assert.is(streamDir(dir, 'gone'), undefined);
    assert.equal(filesHolding(dir, marker), []);
  } finally {
    await running.close();
  }
});

test('a purge whose tombstone cannot be written fails with IO and stops the store; reopened, the stream is whole and can be purged', async () => {
  const dir = tempDir();
  let armed = false;
  const faults: FaultInjection = {
    write: (file) => {
      if (armed && path.basename(file) === 'purged') throw Object.assign(new Error('EIO: simulated write failure'), { code: 'EIO' });
    },
  };
  const store = await open(dir, { faults });
  await store.append('gone', [ev(1), ev(2)]);
  await store.append('kept', ev(3));
  armed = true;
  assert.is((await rejected(store.purgeStream('gone'))).code, 'IO');
  assert.is((await rejected(store.append('kept', ev(4)))).code, 'FAILED');
  await store.close().catch(() => undefined);

  const reopened = await open(dir);
  try {
    assert.equal((await reopened.readStream('gone')).map((e) => e.data), [{ n: 1 }, { n: 2 }]);
    assert.equal(await reopened.purgeStream('gone'), { streamId: 'gone', version: 2, events: 2 });
  } finally {
    await reopened.close();
  }
});

test('a purge whose folder fsync fails after the tombstone fails with IO; the reopened store has finished it', async () => {
  const dir = tempDir();
  const marker = newMarker('fsync');
  await (async () => {
    const store = await open(dir);
    await store.append('gone', secret(marker, 1));
    await store.append('kept', ev(2));
    await store.close();
  })();
  const shard = path.dirname(streamDir(dir, 'gone')!);
  let armed = false;
  const faults: FaultInjection = {
    sync: (file) => {
      if (armed && file === shard) throw Object.assign(new Error('EIO: simulated fsync failure'), { code: 'EIO' });
    },
  };
  // Opened again, so the purge's checkpoint finds nothing new to fsync and the first folder it syncs is the shard.
  const store = await open(dir, { faults });
  armed = true;
  assert.is((await rejected(store.purgeStream('gone'))).code, 'IO');
  await store.close().catch(() => undefined);

  const reopened = await open(dir);
  try {
    assert.is(await reopened.streamVersion('gone'), 1);
    assert.equal(await reopened.readStream('gone'), []);
    assert.equal(await reopened.purgeStream('gone'), { streamId: 'gone', version: 1, events: 0 });
    assert.is(streamDir(dir, 'gone'), undefined);
    assert.equal(filesHolding(dir, marker), []);
  } finally {
    await reopened.close();
  }
});

test('a torn tombstone (its purger died writing it) is cut on open and reported; the stream is whole', async () => {
  const dir = tempDir();
  const store = await open(dir);
  await store.append('gone', [ev(1), ev(2)]);
  await store.close();
  fs.appendFileSync(path.join(dir, 'purged'), Buffer.concat([Buffer.from('FFCT'), Buffer.alloc(20)]));

  const events: MonitorEvent[] = [];
  const reopened = await open(dir, {}, events);
  try {
    assert.equal(
      events.filter((e) => e.kind === 'tail-truncated').map((e) => (e as { file: string }).file),
      [path.join(dir, 'purged')],
    );
    assert.is(fs.statSync(path.join(dir, 'purged')).size, 0);
    assert.is((await reopened.readStream('gone')).length, 2);
    await reopened.append('gone', ev(3));
  } finally {
    await reopened.close();
  }
});

test("recovery does not cut the feed at a purged stream's missing frames, even when they were the last commit and `synced` was lost", async () => {
  const dir = tempDir();
  const store = await open(dir);
  await store.append('kept', [ev(1), ev(2)]);
  await store.append('gone', [ev(3), ev(4)]);
  await store.purgeStream('gone');
  await store.close();
  // The purge's feed frames are the last group, and nothing records that they were synced.
  fs.rmSync(path.join(dir, 'synced'));
  fs.rmSync(path.join(dir, 'journal'), { recursive: true, force: true });

  const events: MonitorEvent[] = [];
  const reopened = await open(dir, {}, events);
  try {
    assert.equal(events.filter((e) => e.kind === 'tail-truncated' || e.kind === 'orphan-removed'), []);
    assert.is(await reopened.headPosition(), 4);
    assert.equal((await reopened.readAll()).events.map((e) => e.position), [1, 2]);
    assert.is((await reopened.append('kept', ev(5))).firstPosition, 5);
  } finally {
    await reopened.close();
  }
});

test('a process killed (SIGKILL) in the middle of a run of purges leaves every stream whole or purged, the acknowledged ones purged, and the rest of the store intact', async () => {
  const STREAMS = 30;
  for (const delayMs of [0, 7, 25]) {
    const dir = tempDir();
    const markers = Array.from({ length: STREAMS }, (_, i) => newMarker(`p${i}`));
    const names = markers.map((_, i) => `p${i}`);
    const seed = await open(dir);
    for (let i = 0; i < STREAMS; i++) {
      await seed.append(names[i]!, [secret(markers[i]!, 1), secret(markers[i]!, 2)]);
      await seed.append('kept', ev(i));
    }
    await seed.close();

    const worker = startWorker({ mode: 'purge', dir, tag: `killed-${delayMs}`, streams: names, durability: 'always' });
    const purged = () => parseLines<{ kind: string; streamId?: string }>(worker.stdout()).filter((l) => l.kind === 'purged');
    await waitFor(() => purged().length >= 3 || worker.child.exitCode !== null, 'three purges');
    await new Promise((resolve) => setTimeout(resolve, delayMs));
    worker.child.kill('SIGKILL');
    await worker.finished;
    // The dead writer's lock would go stale after lockStaleMs; age it rather than wait.
    const past = new Date(Date.now() - 60_000);
    if (fs.existsSync(path.join(dir, 'writer.lock'))) fs.utimesSync(path.join(dir, 'writer.lock'), past, past);
    const acked = new Set(purged().map((l) => l.streamId));

    const store = await open(dir);
    try {
      assert.equal((await store.readStream('kept')).map((e) => e.data), Array.from({ length: STREAMS }, (_, i) => ({ n: i })), 'the kept stream is whole');
      const feedStreams = new Set((await feed(store)).map((e) => e.streamId));
      for (let i = 0; i < STREAMS; i++) {
        const name = names[i]!;
        assert.is(await store.streamVersion(name), 2, name);
        const events = await store.readStream(name);
        if (events.length === 0) {
          assert.is(streamDir(dir, name), undefined, `${name} is purged: its folder is gone`);
          assert.equal(filesHolding(dir, markers[i]!), [], `${name} is purged: none of its bytes remain`);
          assert.not.ok(feedStreams.has(name));
          assert.is((await rejected(store.append(name, ev(0)))).code, 'CONFLICT');
        } else {
          assert.not.ok(acked.has(name), `${name} was acknowledged as purged but reads back`);
          assert.equal(events.map((e) => (e.data as { text: string }).text), [`${markers[i]} says 1`, `${markers[i]} says 2`], `${name} is whole`);
        }
      }
      assert.ok(acked.size >= 3 && acked.size < STREAMS, `the kill came in the middle of the run (${acked.size} of ${STREAMS} acknowledged)`);
    } finally {
      await store.close();
    }
  }
});

test.run();
