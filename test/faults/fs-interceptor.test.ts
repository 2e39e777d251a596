/**
 * The fault-injection harness itself (test/support/fs-interceptor.ts and fault-runner.ts): it sees calls
 * of every API with the src/ line that made them, fails the one it is told to with the code asked,
 * shortens writes, hands results to `after`, and leaves fs as it was once removed.
 */
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import * as assert from 'uvu/assert';
import { replaceDurably } from '../../src/storage/durable-files.js';
import { flatfileSuite } from '../flatfile/unit-helpers.js';
import { chooseN } from '../support/fault-runner.js';
import { type FsCall, interceptFs } from '../support/fs-interceptor.js';

const test = flatfileSuite('faults: the file-system interceptor');

let dir = '';
test.before(() => {
  dir = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'ffcdb-interceptor-')));
});
test.after(() => fs.rmSync(dir, { recursive: true, force: true }));

const mine = (calls: FsCall[]) => calls.filter((c) => c.path?.startsWith(dir));

test('sees sync, callback, promise and FileHandle calls, with the path an fd was opened on', async () => {
  const calls: FsCall[] = [];
  const file = path.join(dir, 'seen.txt');
  const uninstall = await interceptFs({ before: (c) => void calls.push(c) });
  try {
    fs.writeFileSync(file, 'a');
    const fd = fs.openSync(file, 'r+');
    fs.writeSync(fd, 'b', 1);
    fs.closeSync(fd);
    await new Promise<void>((resolve, reject) => fs.stat(file, (err) => (err ? reject(err) : resolve())));
    await fsp.readFile(file);
    const h = await fsp.open(file, 'r');
    await h.read(Buffer.alloc(1), 0, 1, 0);
    await h.close();
  } finally {
    uninstall();
  }
  assert.equal(
    mine(calls).map((c) => `${c.api} ${c.name}`),
    ['sync writeFile', 'sync open', 'sync write', 'sync close', 'callback stat', 'promise readFile', 'promise open', 'handle read', 'handle close'],
  );
  assert.ok(mine(calls).every((c) => c.path === file));
});

test('names the src/ line that made a call', async () => {
  const calls: FsCall[] = [];
  const uninstall = await interceptFs({ before: (c) => void calls.push(c) });
  try {
    replaceDurably(dir, 'replaced.txt', 'x');
  } finally {
    uninstall();
  }
  const sites = mine(calls).map((c) => c.site);
  assert.ok(sites.length > 0 && sites.every((s) => /^src\/storage\/durable-files\.ts:\d+$/.test(s ?? '')), JSON.stringify(sites));
});

test('fails the chosen call with a system error of the code asked, in every API; existsSync says false', async () => {
  const file = path.join(dir, 'fail.txt');
  fs.writeFileSync(file, 'data');
  const uninstall = await interceptFs({ before: (c) => (c.path === file ? { fail: 'EIO' } : undefined) });
  try {
    assert.throws(() => fs.readFileSync(file), (e: NodeJS.ErrnoException) => e.code === 'EIO' && e.syscall === 'readFile');
    const viaCallback = await new Promise<NodeJS.ErrnoException | null>((resolve) => fs.stat(file, (err) => resolve(err)));
    assert.is(viaCallback?.code, 'EIO');
    await fsp.readFile(file).then(
      () => assert.unreachable('the promise call failed'),
      (e: NodeJS.ErrnoException) => assert.is(e.code, 'EIO'),
    );
    assert.is(fs.existsSync(file), false);
  } finally {
    uninstall();
  }
  // Removed: calls run again.
  assert.is(fs.readFileSync(file, 'utf8'), 'data');
  assert.is(fs.existsSync(file), true);
});

test('a failed close still releases the descriptor, as close(2) does', async () => {
  const file = path.join(dir, 'close.txt');
  const fd = fs.openSync(file, 'w');
  const uninstall = await interceptFs({ before: (c) => (c.name === 'close' && c.fd === fd ? { fail: 'EIO' } : undefined) });
  try {
    assert.throws(() => fs.closeSync(fd), (e: NodeJS.ErrnoException) => e.code === 'EIO');
  } finally {
    uninstall();
  }
  assert.throws(() => fs.fstatSync(fd), (e: NodeJS.ErrnoException) => e.code === 'EBADF');
});

test('a short write writes only the first bytes and reports how many; after sees each call that ran', async () => {
  const file = path.join(dir, 'short.txt');
  const results: Array<[string, unknown]> = [];
  const uninstall = await interceptFs({
    before: (c) => (c.path === file && c.name === 'write' ? { shortWrite: 3 } : undefined),
    after: (c, r) => {
      if (c.path === file) results.push([c.name, r]);
    },
  });
  let written: number;
  try {
    const fd = fs.openSync(file, 'w');
    written = fs.writeSync(fd, Buffer.from('abcdefgh'), 0, 8, 0);
    fs.closeSync(fd);
  } finally {
    uninstall();
  }
  assert.is(written, 3);
  assert.is(fs.readFileSync(file, 'utf8'), 'abc');
  assert.equal(
    results.map(([name]) => name),
    ['open', 'write', 'close'],
  );
  assert.is(results[1]![1], 3);
});

test('one set of hooks at a time', async () => {
  const uninstall = await interceptFs({});
  try {
    await interceptFs({}).then(
      () => assert.unreachable('a second install is refused'),
      (e: Error) => assert.match(e.message, /already intercepted/),
    );
  } finally {
    uninstall();
  }
});

test('chooseN: every call, each site once, or an even spread', () => {
  const sites = ['a', 'b', 'a', 'c', 'b', 'a'];
  assert.equal(chooseN(sites, 'every'), [1, 2, 3, 4, 5, 6]);
  assert.equal(chooseN(sites, 'sites'), [1, 2, 4]);
  assert.equal(chooseN(sites, { spread: 3 }), [1, 4, 6]);
  assert.equal(chooseN(sites, { spread: 10 }), [1, 2, 3, 4, 5, 6]);
});

test.run();
