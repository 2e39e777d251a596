/**
 * `openStore({ dir, readOnly: true })` and `new FlatfileBackend({ dir, readOnly: true })`: the store opens
 * and reads without writing anything in its folder (checked by a fingerprint of every entry, on a
 * read-only mount and on a full disk), refuses writes with READ_ONLY, leaves what a writer's recovery
 * would cut as it is (reading up to it, in memory), and reads beside a live writer in another process.
 */
import fs from 'node:fs';
import path from 'node:path';
import { firstValueFrom, take, toArray } from 'rxjs';
import * as assert from 'uvu/assert';
import { FlatfileBackend } from '../../src/backends/flatfile/flatfile-backend.js';
import { EventStore } from '../../src/engine/event-store.js';
import { Monitor, type MonitorEvent } from '../../src/engine/monitor.js';
import { openFolderParts, openStore } from '../../src/engine/open-store.js';
import { exportFolder } from '../../src/export/export-store.js';
import { importExport } from '../../src/export/import-store.js';
import { ErrorCode } from '../../src/kernel/errors.js';
import { WriterLock } from '../../src/storage/writer-lock.js';
import { fails } from '../chat/helpers.js';
import { runWorker, startWorker } from '../support/children.js';
import { fingerprint, readOnlyMount, smallDisk } from '../support/read-only-folder.js';
import type { Ack } from '../support/workload.js';
import { flatfileSuite, tempRoot } from '../flatfile/unit-helpers.js';

const test = flatfileSuite('engine: a read-only open');
let root = '';

test.before.each(() => {
  root = tempRoot('read-only');
});

test.after.each(() => {
  fs.rmSync(root, { recursive: true, force: true });
});

const ev = (n: number) => ({ type: 'test.event', data: { n, text: `event ${n} ${'x'.repeat(40)}` } });
const FEED = (dir: string) => path.join(dir, 'feed', '0000000000000001.feed');

/** A closed store holding a (2 events), b (1), and c purged: every kind of file a store has. */
async function seed(dir: string, options: { durability?: 'always' | 'none' } = {}): Promise<void> {
  const store = await openStore({ dir, durability: options.durability ?? 'always' });
  await store.append('a', [ev(1), ev(2)]);
  await store.append('b', ev(3));
  await store.append('c', ev(4));
  await store.purgeStream('c');
  await store.close();
}

/** A read-only store; `events` receives what its backend reports while opening too. */
async function openReadOnly(dir: string, events?: MonitorEvent[]): Promise<EventStore> {
  const backend = new FlatfileBackend({ dir, readOnly: true, pollMs: 5 });
  if (events) {
    const monitor = new Monitor();
    monitor.events$.subscribe((e) => events.push(e));
    await backend.open({ monitor });
  }
  return EventStore.open(backend);
}

/** Everything the store holds, read every way the engine reads. */
async function readEverything(store: EventStore): Promise<unknown> {
  return {
    head: await store.headPosition(),
    feed: (await store.readAll()).events.map((e) => [e.position, e.streamId, e.version, e.data]),
    a: (await store.readStream('a', { direction: 'backward' })).map((e) => e.version),
    b: (await store.readStream('b')).map((e) => e.version),
    c: [await store.streamVersion('c'), (await store.readStream('c')).length],
    asOf: (await store.readStreamAsOf('a', { version: 1 })).map((e) => e.version),
    live: (await firstValueFrom(store.subscribeToAll().pipe(take(3), toArray()))).map((e) => e.position),
  };
}

const EXPECTED = {
  head: 4,
  feed: [
    [1, 'a', 1, ev(1).data],
    [2, 'a', 2, ev(2).data],
    [3, 'b', 1, ev(3).data],
  ],
  a: [2, 1],
  b: [1],
  c: [1, 0],
  asOf: [1],
  live: [1, 2, 3],
};

test('opening read-only, reading every way, subscribing and closing leaves every entry of the folder as it was (names, modes, sizes, times, bytes)', async () => {
  const dir = path.join(root, 'store');
  await seed(dir);
  const before = fingerprint(dir);
  const store = await openStore({ dir, readOnly: true });
  assert.ok(store.readOnly);
  assert.equal(await readEverything(store), EXPECTED);
  await store.close();
  assert.is(fingerprint(dir), before);
});

test('a store on a read-only mount opens read-only and reads everything, where a writable open fails', async () => {
  const dir = path.join(root, 'store');
  await seed(dir);
  const before = fingerprint(dir);
  const mounted = readOnlyMount(dir);
  if (typeof mounted === 'string') {
    console.log(`  (read-only mount test skipped: ${mounted})`);
    return;
  }
  try {
    await fails(openStore({ dir }), ErrorCode.IO);
    const store = await openStore({ dir, readOnly: true });
    try {
      assert.equal(await readEverything(store), EXPECTED);
    } finally {
      await store.close();
    }
  } finally {
    mounted.undo();
  }
  assert.is(fingerprint(dir), before);
});

test('a store on a full disk opens read-only and reads everything, where a writable open fails', async () => {
  const disk = smallDisk(8 * 1024 * 1024);
  if (typeof disk === 'string') {
    console.log(`  (full disk test skipped: ${disk})`);
    return;
  }
  try {
    const dir = path.join(disk.dir, 'store');
    await seed(dir, { durability: 'none' });
    disk.fill();
    await fails(openStore({ dir }), ErrorCode.IO);
    // Taken after the writable open, which may leave its lock's owner file behind.
    const before = fingerprint(dir);
    const store = await openStore({ dir, readOnly: true });
    try {
      assert.equal(await readEverything(store), EXPECTED);
    } finally {
      await store.close();
    }
    assert.is(fingerprint(dir), before);
  } finally {
    disk.release();
  }
});

test('append, importEvents and purgeStream fail with READ_ONLY naming the operation, before their arguments are checked, and write nothing', async () => {
  const dir = path.join(root, 'store');
  await seed(dir);
  const before = fingerprint(dir);
  const store = await openStore({ dir, readOnly: true });
  try {
    const imported = { id: 'e1', version: 3, type: 't', schemaVersion: 1, timestamp: Date.now(), data: 1, metadata: {} };
    for (const [op, call] of [
      ['append', () => store.append('a', ev(9))],
      ['append', () => store.append('', [])],
      ['import', () => store.importEvents('a', [imported])],
      ['import', () => store.importEvents('', [])],
      ['purge', () => store.purgeStream('a')],
      ['purge', () => store.purgeStream('')],
      ['append', () => store.backend.append('a', [{ ...imported, idSupplied: false }], 'any')],
      ['purge', () => store.backend.purgeStream('a')],
    ] as const) {
      const err = await fails(call(), ErrorCode.READ_ONLY);
      assert.is(err.details.op, op);
      assert.match(err.message, 'opened read-only');
    }
    assert.is(await store.streamVersion('a'), 2, 'nothing was appended');
  } finally {
    await store.close();
  }
  assert.is(fingerprint(dir), before);
});

test('importing an export into a read-only store fails with READ_ONLY and writes nothing', async () => {
  const source = path.join(root, 'source');
  await seed(source);
  const exported = path.join(root, 'export');
  await exportFolder(source, exported);
  const dir = path.join(root, 'empty-store');
  await (await openStore({ dir })).close();
  const before = fingerprint(dir);
  const parts = await openFolderParts({ dir, readOnly: true });
  try {
    const err = await fails(importExport(parts, exported), ErrorCode.READ_ONLY);
    assert.is(err.details.op, 'import');
    await fails(parts.blobs.put(Buffer.from('bytes')), ErrorCode.READ_ONLY);
  } finally {
    await parts.close();
  }
  assert.is(fingerprint(dir), before);
});

test('a missing folder, an empty one and one holding no store are NOT_FOUND, and nothing is created in them', async () => {
  const missing = path.join(root, 'missing');
  await fails(openStore({ dir: missing, readOnly: true }), ErrorCode.NOT_FOUND);
  await fails(EventStore.open(new FlatfileBackend({ dir: missing, readOnly: true })), ErrorCode.NOT_FOUND);
  assert.not.ok(fs.existsSync(missing));
  const empty = path.join(root, 'empty');
  fs.mkdirSync(empty);
  await fails(openStore({ dir: empty, readOnly: true }), ErrorCode.NOT_FOUND);
  await fails(EventStore.open(new FlatfileBackend({ dir: empty, readOnly: true })), ErrorCode.NOT_FOUND);
  assert.equal(fs.readdirSync(empty), []);
});

test('a torn feed tail (a writer died mid-write) is not cut: the view ends at the last whole frame, tail-ignored is reported, and the bytes stay for a writer to cut', async () => {
  const dir = path.join(root, 'store');
  await seed(dir);
  const whole = fs.statSync(FEED(dir)).size;
  fs.appendFileSync(FEED(dir), Buffer.from('FFCF not a whole frame, what a dying writer left behind'));
  const torn = fs.statSync(FEED(dir)).size;
  const before = fingerprint(dir);
  const events: MonitorEvent[] = [];
  const store = await openReadOnly(dir, events);
  try {
    assert.equal(await readEverything(store), EXPECTED);
    const ignored = events.filter((e) => e.kind === 'tail-ignored');
    assert.equal(ignored, [{ kind: 'tail-ignored', file: FEED(dir), fromBytes: torn, toBytes: whole, reason: (ignored[0] as { reason: string } | undefined)?.reason ?? '' }]);
    assert.not.ok(events.some((e) => e.kind === 'tail-truncated' || e.kind === 'orphan-removed'));
  } finally {
    await store.close();
  }
  assert.is(fingerprint(dir), before);
  // The repair is a writer's: a writable open cuts the same bytes.
  await (await openStore({ dir })).close();
  assert.is(fs.statSync(FEED(dir)).size, whole);
});

test("a commit whose stream frame never reached the disk ends the view before it, in memory only; once a writer's recovery cuts it and commits there, the read-only store reads on", async () => {
  const dir = path.join(root, 'store');
  const writer = await openStore({ dir });
  await writer.append('a', ev(1));
  await writer.append('b', ev(2));
  await writer.close();
  // Power failed before b's frame reached the disk: neither `synced` nor the journal says more.
  fs.rmSync(path.join(dir, 'synced'));
  fs.rmSync(path.join(dir, 'journal'), { recursive: true, force: true });
  const segB = (fs.readdirSync(path.join(dir, 'streams'), { recursive: true }) as string[]).map((p) => path.join(dir, 'streams', p)).find((p) => p.endsWith('.seg') && p.includes(`${path.sep}b${path.sep}`))!;
  fs.truncateSync(segB, 0);
  const before = fingerprint(dir);
  const events: MonitorEvent[] = [];
  const reader = await openReadOnly(dir, events);
  try {
    assert.is(await reader.headPosition(), 1);
    assert.equal((await reader.readAll()).events.map((e) => e.streamId), ['a']);
    assert.is(await reader.streamVersion('b'), 0);
    assert.is(await reader.headPosition(), 1, 'the unwritten commit stays out of view on later reads');
    const ignored = events.filter((e) => e.kind === 'tail-ignored');
    assert.is(ignored.length, 1);
    assert.match((ignored[0] as { reason: string }).reason, 'position 2 never reached the disk');
    assert.is(fingerprint(dir), before, 'nothing was cut');

    const next = await openStore({ dir });
    const r = await next.append('c', ev(3));
    assert.is(r.firstPosition, 2, 'the writer cut the unwritten commit and reused its position');
    await next.close();
    assert.is(await reader.headPosition(), 2);
    assert.equal((await reader.readAll()).events.map((e) => [e.position, e.streamId]), [[1, 'a'], [2, 'c']]);
  } finally {
    await reader.close();
  }
});

test('while another process holds the writer lock, a read-only open neither waits for it nor takes it, and reads', async () => {
  const dir = path.join(root, 'store');
  await seed(dir);
  const lock = new WriterLock(fs.realpathSync(dir), 10_000, () => undefined);
  await lock.acquire(0);
  try {
    const started = Date.now();
    const store = await openStore({ dir, readOnly: true });
    try {
      assert.ok(Date.now() - started < 2000, `the open took ${Date.now() - started} ms`);
      assert.is(await store.headPosition(), 4);
      assert.ok(lock.stillOurs(), 'the lock is still the other holder’s');
    } finally {
      await store.close();
    }
    assert.ok(lock.stillOurs());
  } finally {
    await lock.release();
  }
});

test('beside a live writer in another process, a read-only store follows its commits as they come and never blocks it', async () => {
  const dir = path.join(root, 'store');
  await seed(dir);
  const store = await openStore({ dir, readOnly: true, pollMs: 5 });
  try {
    const seen: string[] = [];
    const sub = store.subscribeToAll({ afterPosition: 4 }).subscribe((e) => seen.push(e.id));
    const done = await runWorker({ mode: 'append', dir, tag: 'w', streams: ['w1', 'w2'], appends: 30, maxBatch: 3, durability: 'always' });
    const acks = done.stdout.split('\n').filter(Boolean).map((l) => JSON.parse(l) as Ack).filter((l) => l.kind === 'ack');
    const acked = acks.flatMap((a) => a.seqs.map((s) => `w.${a.stream}.${s}`));
    assert.is(acks.length, 60, 'the writer made every append');
    for (let i = 0; seen.length < acked.length && i < 400; i++) await new Promise((resolve) => setTimeout(resolve, 10));
    sub.unsubscribe();
    assert.equal([...seen].sort(), [...acked].sort(), 'the read-only store saw every acknowledged event');
    assert.is(await store.headPosition(), 4 + acked.length);
    await fails(store.append('w1', ev(1)), ErrorCode.READ_ONLY);
  } finally {
    await store.close();
  }
});

test('after a writer is killed mid-append, a read-only open reads every acknowledged event and changes nothing', async () => {
  const dir = path.join(root, 'store');
  await seed(dir);
  const ackFile = path.join(root, 'acks');
  const worker = startWorker({ mode: 'crash', dir, tag: 'k', streams: ['k1', 'k2', 'k3'], maxBatch: 4, ackFile, durability: 'always' });
  for (let i = 0; (fs.existsSync(ackFile) ? fs.readFileSync(ackFile, 'utf8').split('\n').length : 0) < 40 && i < 1000; i++) await new Promise((resolve) => setTimeout(resolve, 10));
  worker.child.kill('SIGKILL');
  await worker.finished;
  const acks = fs.readFileSync(ackFile, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as Ack).filter((l) => l.kind === 'ack');
  assert.ok(acks.length > 0);
  const before = fingerprint(dir);
  const store = await openStore({ dir, readOnly: true });
  try {
    const stored = new Set((await store.readAll({ limit: 100_000 })).events.map((e) => e.id));
    for (const a of acks) for (const s of a.seqs) assert.ok(stored.has(`k.${a.stream}.${s}`), `acknowledged k.${a.stream}.${s} is read`);
  } finally {
    await store.close();
  }
  assert.is(fingerprint(dir), before);
});

test('readOnly must be a boolean', async () => {
  const err = await fails(
    (async () => new FlatfileBackend({ dir: root, readOnly: 'yes' as unknown as boolean }))(),
    ErrorCode.INVALID_ARGUMENT,
  );
  assert.is(err.details.field, 'readOnly');
});

test.run();
