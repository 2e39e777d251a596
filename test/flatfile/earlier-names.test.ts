import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import * as assert from 'uvu/assert';
import { openStore } from '../../src/engine/open-store.js';
import { ErrorCode } from '../../src/kernel/errors.js';
import { STREAMS_DIR } from '../../src/storage/store-folder.js';
import { flatfileSuite, rejected, tempRoot } from './unit-helpers.js';

const test = flatfileSuite('flatfile/earlier names');

/** A store written by the version before the one id rule (scripted with its code), with the stream ids below. */
const FIXTURE = path.join(import.meta.dirname, '..', 'fixtures', 'store-before-id-rule');
const FIXTURE_IDS = ['Alice', 'alice', 'u-Bob', 's-01J9ZQ3K5W8N2C4Q6R8T0V2X4Z', 'session_42', 'CON', 'nul', 'Com1', 'x'.repeat(128), '0-0', 'A-b_C-9'];

let root = '';

test.before(() => {
  root = tempRoot('earlier-names');
});

test.after(() => {
  fs.rmSync(root, { recursive: true, force: true });
});

function copyOfFixture(name: string): string {
  const dir = path.join(root, name);
  fs.cpSync(FIXTURE, dir, { recursive: true });
  return dir;
}

function streamFolders(dir: string): string[] {
  return (fs.readdirSync(path.join(dir, STREAMS_DIR), { recursive: true }) as string[]).filter((p) => p.split(path.sep).length === 3).sort();
}

function shardOf(id: string): string {
  const h = createHash('sha256').update(id).digest('hex');
  return path.join(h.slice(0, 2), h.slice(2, 4));
}

test('a store written before the id rule opens as it is: every stream reads back, each in the folder named by its id', async () => {
  const dir = copyOfFixture('reads');
  const before = streamFolders(dir);
  assert.equal(before, FIXTURE_IDS.map((id) => path.join(shardOf(id), id)).sort());
  const store = await openStore({ dir, create: false });
  try {
    for (const [i, id] of FIXTURE_IDS.entries()) {
      const events = await store.readStream(id);
      assert.equal(
        events.map((e) => [e.streamId, e.id, e.data]),
        [
          [id, `e-${i}-1`, { id, n: 1 }],
          [id, `e-${i}:2`, { id, n: 2 }],
          ...(id === 'Alice' ? [[id, 'e-last', { id, n: 3 }]] : []),
        ],
        id,
      );
    }
    assert.is((await store.readAll({ limit: 100 })).events.length, 2 * FIXTURE_IDS.length + 1);
    // Appends go on in the same folders (device names included): no stream gets a second folder.
    for (const id of FIXTURE_IDS) await store.append(id, { type: 'fixture.after', data: { id } });
  } finally {
    await store.close();
  }
  assert.equal(streamFolders(dir), before);
  const reopened = await openStore({ dir, create: false });
  try {
    for (const id of FIXTURE_IDS) assert.equal((await reopened.readStream(id)).at(-1)?.data, { id });
  } finally {
    await reopened.close();
  }
});

test('a device name new to the store gets an encoded folder; one the store had keeps its folder, purged too', async () => {
  const dir = copyOfFixture('device-names');
  const store = await openStore({ dir, create: false });
  try {
    await store.append('AUX', { type: 'fixture.after', data: {} });
    assert.ok(fs.existsSync(path.join(dir, STREAMS_DIR, shardOf('AUX'), '~%41%55%58')));
    assert.is((await store.purgeStream('CON')).events, 2);
    const shard = path.join(dir, STREAMS_DIR, shardOf('CON'));
    assert.not.ok(fs.existsSync(shard) && fs.readdirSync(shard).includes('CON'), 'the purge deleted the folder of the earlier name');
    assert.equal(await store.readStream('CON'), []);
  } finally {
    await store.close();
  }
});

/** Two ids of the earlier form that differ only in case and share an `ab/cd` folder (found by search: 1 pair in 65,536). */
function caseTwins(): [string, string] {
  for (let i = 0; ; i++) {
    const upper = `K${i}`;
    const lower = `k${i}`;
    if (shardOf(upper) === shardOf(lower)) return [upper, lower];
  }
}

test('on a file system that does not tell case apart, twins of the earlier form sharing a folder are refused, never cut as orphans', async () => {
  const [upper, lower] = caseTwins();
  const dir = path.join(root, 'twins');
  const store = await openStore({ dir });
  await store.append(upper, [
    { type: 't', data: { n: 1 } },
    { type: 't', data: { n: 2 } },
  ]);
  await store.close();
  // What a case-insensitive file system shows under the other name: the same folder.
  const shard = path.join(dir, STREAMS_DIR, shardOf(upper));
  fs.cpSync(path.join(shard, upper), path.join(shard, lower), { recursive: true });
  const reopened = await openStore({ dir });
  try {
    const err = await rejected(reopened.append(lower, { type: 't', data: { n: 9 } }));
    assert.is(err.code, ErrorCode.UNSAFE_PATH);
    assert.is(err.details.streamId, lower);
    assert.is(err.details.sharedWith, upper);
    assert.is((await rejected(reopened.readStream(lower))).code, ErrorCode.UNSAFE_PATH);
    assert.is((await reopened.readStream(upper)).length, 2);
    assert.is(fs.statSync(path.join(shard, lower, '0000000000000001.seg')).size, fs.statSync(path.join(shard, upper, '0000000000000001.seg')).size);
  } finally {
    await reopened.close();
  }
});

test.run();
