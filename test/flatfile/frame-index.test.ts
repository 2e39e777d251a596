import fs from 'node:fs';
import path from 'node:path';
import * as assert from 'uvu/assert';
import { FlatfileBackend } from '../../src/backends/flatfile/flatfile-backend.js';
import { FrameIndex } from '../../src/backends/flatfile/frame-index.js';
import { EventStore } from '../../src/engine/event-store.js';
import { flatfileSuite, tempRoot } from './unit-helpers.js';

const test = flatfileSuite('flatfile: frame index');

test('a frame is remembered only once it lies far enough from the frames already remembered', () => {
  const index = new FrameIndex();
  index.note('f', 1, 0);
  index.note('f', 10, 100_000);
  index.note('f', 11, 110_000);
  index.note('f', 30, 300_000);
  assert.equal(index.startFor('f', 5), { offset: 0, firstVersion: 0 });
  assert.equal(index.startFor('f', 12), { offset: 100_000, firstVersion: 10 });
  assert.equal(index.startFor('f', 30), { offset: 300_000, firstVersion: 30 });
  assert.is(index.endAfter('f', 12), 300_000);
  assert.is(index.endAfter('f', 30), undefined);
  assert.is(index.versionAt('f', 300_000), 30);
  index.forget('f');
  assert.equal(index.startFor('f', 30), { offset: 0, firstVersion: 0 });
});

test('frames noted out of order still keep versions and offsets ascending', () => {
  const index = new FrameIndex();
  index.note('f', 50, 500_000);
  index.note('f', 20, 200_000);
  index.note('f', 35, 350_000);
  assert.equal(index.startFor('f', 36), { offset: 350_000, firstVersion: 35 });
  assert.is(index.endAfter('f', 20), 350_000);
});

test('reads from any version of a large segment, forward and backward, return exactly the events from there', async () => {
  const dir = tempRoot('ffcdb-frame-index-');
  try {
    const store = await EventStore.open(new FlatfileBackend({ dir, durability: 'none' }));
    const text = 'x'.repeat(300);
    for (let v = 1; v <= 1500; v++) await store.append('big', { type: 'e', data: { v, text } });
    const segments = fs.readdirSync(path.dirname(findSegment(dir))).length;
    assert.is(segments, 1, 'one segment file, so only the index helps a read start near its version');
    for (const from of [1, 2, 333, 700, 701, 1024, 1499, 1500]) {
      const forward = await store.readStream('big', { fromVersion: from, limit: 3 });
      assert.equal(forward.map((e) => (e.data as { v: number }).v), [from, from + 1, from + 2].filter((v) => v <= 1500));
      const backward = await store.readStream('big', { direction: 'backward', fromVersion: from, limit: 3 });
      assert.equal(backward.map((e) => (e.data as { v: number }).v), [from, from - 1, from - 2].filter((v) => v >= 1));
    }
    await store.close();
    // A fresh process learns the index from scratch and reads the same.
    const again = await EventStore.open(new FlatfileBackend({ dir, durability: 'none' }));
    const all = await again.readStream('big', { fromVersion: 900 });
    assert.is(all.length, 601);
    assert.is((all[0]!.data as { v: number }).v, 900);
    await again.close();
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

function findSegment(dir: string): string {
  const walk = (d: string): string | undefined => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) {
        const found = walk(p);
        if (found) return found;
      } else if (p.includes(`${path.sep}streams${path.sep}`) && p.endsWith('.seg')) return p;
    }
    return undefined;
  };
  return walk(dir)!;
}

test.run();
