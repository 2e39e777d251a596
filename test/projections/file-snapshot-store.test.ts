import fs from 'node:fs';
import path from 'node:path';
import * as assert from 'uvu/assert';
import { sessionsProjection } from '../../src/projections/sessions.js';
import { ErrorCode } from '../../src/kernel/errors.js';
import { FileSnapshotStore } from '../../src/projector/file-snapshot-store.js';
import type { ProjectionSnapshot } from '../../src/projector/snapshot-store.js';
import { flatfileSuite, rejected, tempRoot } from '../flatfile/unit-helpers.js';
import { ProjectionLog, appendRenames, memoryStore, openRunner, titlesProjection } from './helpers.js';

const test = flatfileSuite('projections: file snapshot store');

let root = '';
test.before.each(() => {
  root = tempRoot('snapshots');
});
test.after.each(() => {
  fs.rmSync(root, { recursive: true, force: true });
});

const fileOf = (name: string) => path.join(root, 'projections', `${name}.snapshot`);

function richState() {
  return {
    sessions: new Map<string, unknown>([
      ['a', { title: 'Ünïcödé 😀', tags: ['x', 'y'], metadata: { nested: { deep: [1, 2.5, -3, null, true] } }, bytes: new Uint8Array([0, 255, 7]), big: Number.MAX_SAFE_INTEGER }],
      ['b', { title: '', tags: [], metadata: {}, archived: false }],
    ]),
    byUser: new Map([['u1', ['a', 'b']]]),
    seen: new Set(['a', 'b']),
    nestedMaps: new Map([['outer', new Map([['inner', new Set([1, 2, 3])]])]]),
    numericKeys: new Map<number, string>([[1, 'one'], [2, 'two']]),
    empty: new Map(),
  };
}

const snapshot = (name: string, state: unknown, position = 42): ProjectionSnapshot => ({ name, version: 3, position, eventPosition: position - 1, eventId: `01EVENT${position}`, state });

test('a snapshot comes back deep-equal: Maps, Sets, nested Maps, numeric Map keys, bytes, unicode and big integers survive', async () => {
  const store = new FileSnapshotStore(root);
  const saved = snapshot('sessions', richState());
  await store.save(saved);
  const back = await store.load('sessions');
  assert.equal(back, saved);
  assert.ok(back!.state !== saved.state, 'a copy, not the object saved');
  const state = back!.state as ReturnType<typeof richState>;
  assert.instance(state.sessions, Map);
  assert.instance(state.seen, Set);
  assert.instance((state.nestedMaps.get('outer') as Map<string, Set<number>>).get('inner'), Set);
  assert.is(state.numericKeys.get(1), 'one');
});

test('a Buffer in the state (as the flatfile codec reads bytes) comes back as a Buffer, so a reloaded state still equals a rebuilt one', async () => {
  const store = new FileSnapshotStore(root);
  await store.save(snapshot('b', { v: Buffer.from([1, 2, 3]), u: new Uint8Array([4]) }));
  const back = (await store.load('b'))!.state as { v: Uint8Array; u: Uint8Array };
  assert.ok(Buffer.isBuffer(back.v));
  assert.not.ok(Buffer.isBuffer(back.u));
});

test('a name never saved loads as undefined', async () => {
  assert.is(await new FileSnapshotStore(root).load('nothing-here'), undefined);
});

test('saving again replaces the snapshot whole, and leaves no temporary file behind', async () => {
  const store = new FileSnapshotStore(root);
  await store.save(snapshot('users', { n: 1, big: 'x'.repeat(10_000) }, 1));
  await store.save(snapshot('users', { n: 2 }, 2));
  const back = await store.load('users');
  assert.equal(back, snapshot('users', { n: 2 }, 2));
  assert.equal(fs.readdirSync(path.join(root, 'projections')), ['users.snapshot']);
  // A second store instance (a later process) reads the same.
  assert.equal(await new FileSnapshotStore(root).load('users'), back);
});

test('a leftover temporary file of a writer that died before its rename does not disturb the saved snapshot', async () => {
  const store = new FileSnapshotStore(root);
  await store.save(snapshot('ctx', { good: true }));
  const bytes = fs.readFileSync(fileOf('ctx'));
  fs.writeFileSync(`${fileOf('ctx')}.99999.tmp`, bytes.subarray(0, 10));
  assert.equal((await store.load('ctx'))!.state, { good: true });
});

test('snapshots of different projections are kept apart', async () => {
  const store = new FileSnapshotStore(root);
  await store.save(snapshot('a', { which: 'a' }));
  await store.save(snapshot('b', { which: 'b' }));
  assert.equal((await store.load('a'))!.state, { which: 'a' });
  assert.equal((await store.load('b'))!.state, { which: 'b' });
});

test('a damaged snapshot file loads as undefined (so the runner rebuilds): flipped payload byte, truncation, extension, bad magic, unknown format, empty file', async () => {
  const store = new FileSnapshotStore(root);
  await store.save(snapshot('dmg', richState()));
  const good = fs.readFileSync(fileOf('dmg'));
  const damaged: Record<string, Buffer> = {
    'flipped payload byte': (() => {
      const b = Buffer.from(good);
      b[b.length - 3]! ^= 0x40;
      return b;
    })(),
    'flipped crc byte': (() => {
      const b = Buffer.from(good);
      b[9]! ^= 0x01;
      return b;
    })(),
    'cut to half': good.subarray(0, Math.floor(good.length / 2)),
    'cut by one byte': good.subarray(0, good.length - 1),
    'cut inside the header': good.subarray(0, 7),
    'one byte more': Buffer.concat([good, Buffer.from([0])]),
    'bad magic': (() => {
      const b = Buffer.from(good);
      b[0] = 0x58;
      return b;
    })(),
    'unknown format': (() => {
      const b = Buffer.from(good);
      b.writeUInt16BE(2, 4);
      return b;
    })(),
    empty: Buffer.alloc(0),
  };
  for (const [what, bytes] of Object.entries(damaged)) {
    fs.writeFileSync(fileOf('dmg'), bytes);
    assert.is(await store.load('dmg'), undefined, what);
  }
});

test('a snapshot file holding another projection (copied or renamed by hand) loads as undefined', async () => {
  const store = new FileSnapshotStore(root);
  await store.save(snapshot('one', { x: 1 }));
  fs.copyFileSync(fileOf('one'), fileOf('two'));
  assert.is(await store.load('two'), undefined);
});

test('a runner over a damaged snapshot rebuilds from the feed and gets the state right', async () => {
  const store = await memoryStore();
  await appendRenames(store, 12);
  const snapshots = new FileSnapshotStore(root);
  await (await openRunner(store, [titlesProjection()], { snapshots })).close();
  const file = fileOf('titles');
  fs.truncateSync(file, fs.statSync(file).size - 5);
  const log = new ProjectionLog();
  const titles = titlesProjection();
  const runner = await openRunner(store, [titles], { snapshots, monitor: log.monitor });
  assert.equal(log.of('loaded'), []);
  assert.is(titles.applied, 12);
  assert.is(runner.state(titles).titles.get('s-c'), 'T11');
  await runner.close();
  // Closing wrote a good snapshot again.
  const next = titlesProjection();
  await (await openRunner(store, [next], { snapshots })).close();
  assert.is(next.applied, 0);
});

test('a real projection state (sessions) round-trips through a file snapshot and still compares identical with a rebuild', async () => {
  const store = await memoryStore();
  await store.append('s-a', { type: 'session.created', data: { userId: 'u1', title: 'A', tags: ['t'], metadata: { bytes: new Uint8Array([9]), n: 1.5 } } });
  await store.append('s-b', { type: 'session.created', data: { userId: 'u1', title: 'B' } });
  await store.append('s-a', { type: 'session.archived', data: { archived: true } });
  const snapshots = new FileSnapshotStore(root);
  await (await openRunner(store, [sessionsProjection], { snapshots })).close();
  const log = new ProjectionLog();
  const runner = await openRunner(store, [sessionsProjection], { snapshots, monitor: log.monitor });
  assert.equal(log.of('loaded').map((e) => e.position), [3]);
  const c = await runner.compare('sessions');
  assert.ok(c.identical, c.differences.join('\n'));
  await runner.close();
});

test('projection names that are not 1-64 of a-z, 0-9 and "-" (starting with a letter) are refused with INVALID_ID, on load and on save', async () => {
  const store = new FileSnapshotStore(root);
  for (const bad of ['', 'A', 'Sessions', '1st', '-x', '../x', 'a/b', 'a\\b', 'a.b', 'a b', 'x'.repeat(65), 'é', 'a\u0000']) {
    assert.is((await rejected(store.load(bad))).code, ErrorCode.INVALID_ID, `load ${JSON.stringify(bad)}`);
    assert.is((await rejected(store.save(snapshot(bad, {})))).code, ErrorCode.INVALID_ID, `save ${JSON.stringify(bad)}`);
  }
  assert.equal(fs.readdirSync(path.join(root, 'projections')), [], 'nothing was written');
  await store.save(snapshot('x'.repeat(64), {}));
  await store.save(snapshot('a1-b2', {}));
});

test('a snapshot file that is a symlink is not followed: loading it fails with IO instead of reading elsewhere', async () => {
  const store = new FileSnapshotStore(root);
  const elsewhere = path.join(root, 'elsewhere.snapshot');
  await store.save(snapshot('real', { secret: 1 }));
  fs.renameSync(fileOf('real'), elsewhere);
  fs.symlinkSync(elsewhere, fileOf('linked'));
  assert.is((await rejected(store.load('linked'))).code, ErrorCode.IO);
});

test('the projections folder is created on first use and reused later', async () => {
  assert.not.ok(fs.existsSync(path.join(root, 'projections')));
  new FileSnapshotStore(root);
  assert.ok(fs.statSync(path.join(root, 'projections')).isDirectory());
  await new FileSnapshotStore(root).save(snapshot('again', {}));
  assert.ok(fs.existsSync(fileOf('again')));
});

test('a file where the projections folder should be is an IO error, not a crash', () => {
  fs.writeFileSync(path.join(root, 'projections'), 'not a folder');
  try {
    new FileSnapshotStore(root);
    assert.unreachable('should have thrown');
  } catch (err) {
    assert.is((err as { code?: string }).code, ErrorCode.IO);
  }
});

test('a snapshot of another shape (fields missing or of the wrong type, as an older build wrote) loads as undefined, so the runner rebuilds instead of failing to open', async () => {
  const store = new FileSnapshotStore(root);
  const good = snapshot('shape', { x: 1 });
  const { eventPosition: _drop, ...older } = good;
  const variants: Record<string, unknown> = {
    'no eventPosition': older,
    'position not a number': { ...good, position: '42' },
    'eventPosition above position': { ...good, eventPosition: good.position + 1 },
    'eventId not a string': { ...good, eventId: 7 },
    'version missing': { ...good, version: undefined },
    'no state': (({ state: _s, ...rest }) => rest)(good),
  };
  // Written around save's types, as a file of another build would be.
  const saveAny = (value: unknown) => (store as unknown as { save(s: unknown): Promise<void> }).save(value);
  for (const [what, value] of Object.entries(variants)) {
    await saveAny(value);
    assert.ok(fs.existsSync(fileOf('shape')));
    assert.is(await store.load('shape'), undefined, what);
  }
  const events = await memoryStore();
  await appendRenames(events, 2);
  await saveAny({ ...older, name: 'titles', version: 1, position: 2, state: { positions: [], titles: new Map() } });
  const titles = titlesProjection();
  const runner = await openRunner(events, [titles], { snapshots: store });
  assert.is(titles.applied, 2);
  await runner.close();
});

test.run();
