import fs from 'node:fs';
import path from 'node:path';
import * as assert from 'uvu/assert';
import { isStore } from '../../src/storage/store-folder.js';
import { ErrorCode } from '../../src/kernel/errors.js';
import { openStore } from '../../src/engine/open-store.js';
import { fails } from '../chat/helpers.js';
import { flatfileSuite, tempRoot } from '../flatfile/unit-helpers.js';

const test = flatfileSuite('engine: openStore on a folder');
let root = '';

test.before.each(() => {
  root = tempRoot('open-store');
});

test.after.each(() => {
  fs.rmSync(root, { recursive: true, force: true });
});

test('create:false refuses a missing folder and an empty one with NOT_FOUND naming the folder, and creates nothing', async () => {
  const missing = path.join(root, 'missing');
  const err = await fails(openStore({ dir: missing, create: false }), ErrorCode.NOT_FOUND);
  assert.is(err.details.dir, missing);
  assert.not.ok(fs.existsSync(missing), 'the missing folder was not created');

  const empty = path.join(root, 'empty');
  fs.mkdirSync(empty);
  const again = await fails(openStore({ dir: empty, create: false }), ErrorCode.NOT_FOUND);
  assert.is(again.details.dir, empty);
  assert.equal(fs.readdirSync(empty), [], 'nothing was written into the empty folder');
});

test('create:false opens an existing store and reads what it holds; the default still makes a new one', async () => {
  const dir = path.join(root, 'store');
  const first = await openStore({ dir, durability: 'none' });
  await first.append('s', { type: 't', data: 1 });
  await first.close();
  const reopened = await openStore({ dir, durability: 'none', create: false });
  try {
    assert.is(await reopened.headPosition(), 1);
  } finally {
    await reopened.close();
  }
});

test('isStore is true for a folder holding a store, false for a missing, empty or other folder and for a marker that is not a file', async () => {
  const dir = path.join(root, 'store');
  await (await openStore({ dir, durability: 'none' })).close();
  assert.ok(isStore(dir));
  assert.not.ok(isStore(path.join(root, 'missing')));
  assert.not.ok(isStore(root));
  const file = path.join(root, 'file');
  fs.writeFileSync(file, 'x');
  assert.not.ok(isStore(file));
  const odd = path.join(root, 'odd');
  fs.mkdirSync(path.join(odd, 'ffcdb.json'), { recursive: true });
  assert.not.ok(isStore(odd));
});

test.run();
