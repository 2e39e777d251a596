import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import * as assert from 'uvu/assert';
import { ErrorCode } from '../../src/kernel/errors.js';
import { FileHandles } from '../../src/backends/flatfile/file-handles.js';
import { syncDirectories } from '../../src/storage/durable-files.js';
import { flatfileSuite, thrown, rejected, tempRoot } from './unit-helpers.js';

const test = flatfileSuite('flatfile/file-handles');

let root = '';
let n = 0;

function freshDir(): string {
  const d = path.join(root, `d${n++}`);
  fs.mkdirSync(d);
  return d;
}

/** The files under `dir` this process holds open, from /proc/self/fd. */
function openUnder(dir: string): string[] {
  const out: string[] = [];
  for (const fd of fs.readdirSync('/proc/self/fd')) {
    try {
      const target = fs.readlinkSync(`/proc/self/fd/${fd}`);
      if (target.startsWith(dir + path.sep)) out.push(target);
    } catch {
      // the fd readdir itself used, closed by now
    }
  }
  return out.sort();
}

function files(dir: string, count: number): string[] {
  return Array.from({ length: count }, (_, i) => {
    const f = path.join(dir, `f${i}`);
    fs.writeFileSync(f, `content ${i}`);
    return f;
  });
}

const haveProc = fs.existsSync('/proc/self/fd');

test.before(() => {
  root = tempRoot('handles');
});

test.after(() => {
  fs.rmSync(root, { recursive: true, force: true });
});

test('get opens an existing file and returns the same fd while it stays open', () => {
  const [f] = files(freshDir(), 1);
  const h = new FileHandles(4);
  const fd = h.get(f!);
  assert.type(fd, 'number');
  assert.is(h.get(f!), fd);
  h.closeAll();
});

test('get returns undefined for a missing file unless asked to create it', () => {
  const dir = freshDir();
  const h = new FileHandles(4);
  const missing = path.join(dir, 'missing');
  assert.is(h.get(missing), undefined);
  assert.not.ok(fs.existsSync(missing));
  assert.type(h.get(missing, true), 'number');
  assert.ok(fs.statSync(missing).isFile());
  h.closeAll();
});

test('size is -1 for a missing file, readAll gives an empty buffer', () => {
  const h = new FileHandles(4);
  const missing = path.join(freshDir(), 'missing');
  assert.is(h.size(missing), -1);
  assert.equal(h.readAll(missing), Buffer.alloc(0));
  h.closeAll();
});

test('read of a missing file is NOT_FOUND naming the file', () => {
  const h = new FileHandles(4);
  const missing = path.join(freshDir(), 'missing');
  const err = thrown(() => h.read(missing, 0, 10));
  assert.is(err.code, ErrorCode.NOT_FOUND);
  assert.is(err.details.file, missing);
});

test('write then read round-trips bytes at any position; reads past the end come back short', () => {
  const f = path.join(freshDir(), 'data');
  const h = new FileHandles(4);
  h.write(f, Buffer.from('hello'), 0, true);
  h.write(f, Buffer.from('world'), 5);
  h.write(f, Buffer.from('W'), 5);
  assert.is(h.read(f, 0, 10).toString(), 'helloWorld');
  assert.is(h.read(f, 3, 4).toString(), 'loWo');
  assert.is(h.read(f, 8, 100).toString(), 'ld');
  assert.is(h.read(f, 50, 10).length, 0);
  assert.is(h.size(f), 10);
  assert.is(h.readAll(f).toString(), 'helloWorld');
  h.closeAll();
  assert.is(fs.readFileSync(f, 'utf8'), 'helloWorld');
});

test('a large write and read (several MiB) is complete', () => {
  const f = path.join(freshDir(), 'large');
  const h = new FileHandles(2);
  const data = Buffer.alloc(5 * 1024 * 1024 + 3, 7);
  data.write('end', data.length - 3);
  h.write(f, data, 0, true);
  assert.equal(h.readAll(f), data);
  h.closeAll();
});

test('truncate cuts the file and is a no-op on a missing file', () => {
  const [f] = files(freshDir(), 1);
  const h = new FileHandles(4);
  h.truncate(f!, 3);
  assert.is(h.size(f!), 3);
  assert.is(fs.readFileSync(f!, 'utf8'), 'con');
  h.truncate(path.join(root, 'no-such-file'), 0);
  h.closeAll();
});

test('the LRU keeps at most N files open, closing the least recently used', () => {
  if (!haveProc) return;
  const dir = freshDir();
  const fs10 = files(dir, 10);
  const h = new FileHandles(3);
  for (const f of fs10) h.get(f);
  assert.equal(openUnder(dir), fs10.slice(-3).sort());
  // Touching an old entry makes it most recent, so the next open evicts another.
  h.get(fs10[7]!);
  h.get(fs10[0]!);
  assert.equal(openUnder(dir), [fs10[0]!, fs10[7]!, fs10[9]!].sort());
  // Reads still work on evicted files: they are reopened.
  assert.is(h.read(fs10[2]!, 0, 9).toString(), 'content 2');
  assert.is(openUnder(dir).length, 3);
  h.closeAll();
  assert.equal(openUnder(dir), []);
});

test('the LRU never closes a file while its fsync is in flight; afterwards it is evictable again', async () => {
  if (!haveProc) return;
  const dir = freshDir();
  const all = files(dir, 8);
  const h = new FileHandles(2);
  const synced = all.slice(0, 4);
  for (const f of synced) h.write(f, Buffer.from('x'), 0);
  const inFlight = h.sync(synced);
  assert.equal(h.syncingFiles().sort(), [...synced].sort());
  for (const f of all.slice(4)) h.get(f);
  const open = openUnder(dir);
  for (const f of synced) assert.ok(open.includes(f), `${path.basename(f)} is being fsynced and must stay open`);
  await inFlight;
  assert.equal(h.syncingFiles(), []);
  h.get(all[7]!);
  assert.ok(openUnder(dir).length <= 2, `${openUnder(dir).length} open after sync`);
  h.closeAll();
});

test('writes to a file the LRU closed are still on disk after a later fsync through a new descriptor', async () => {
  const dir = freshDir();
  const all = files(dir, 4);
  const h = new FileHandles(1);
  h.write(all[0]!, Buffer.from('A'), 0);
  h.get(all[1]!);
  h.get(all[2]!);
  h.get(all[0]!);
  await h.sync([all[0]!]);
  h.closeAll();
  assert.is(fs.readFileSync(all[0]!, 'utf8'), 'Aontent 0');
});

test('a file opened when the cache is full is usable (get must not evict the file it just opened)', () => {
  const dir = freshDir();
  const all = files(dir, 4);
  const h = new FileHandles(1);
  h.write(all[0]!, Buffer.from('A'), 0);
  assert.is(h.read(all[2]!, 0, 9).toString(), 'content 2');
  assert.is(h.size(all[3]!), 9);
  h.write(all[3]!, Buffer.from('D'), 0);
  h.closeAll();
  assert.is(fs.readFileSync(all[3]!, 'utf8'), 'Dontent 3');
});

test('the fd count stays bounded while reading many files', () => {
  if (!haveProc) return;
  const dir = freshDir();
  const many = files(dir, 200);
  const h = new FileHandles(16);
  for (let round = 0; round < 3; round++) {
    for (const [i, f] of many.entries()) assert.is(h.read(f, 0, 20).toString(), `content ${i}`);
    assert.ok(openUnder(dir).length <= 16);
  }
  h.closeAll();
});

test('opening a symlink is UNSAFE_PATH, even to a real file inside the folder', () => {
  const dir = freshDir();
  const [real] = files(dir, 1);
  const link = path.join(dir, 'link');
  fs.symlinkSync(real!, link);
  const h = new FileHandles(4);
  for (const op of [() => h.get(link), () => h.read(link, 0, 1), () => h.size(link), () => h.write(link, Buffer.from('x'), 0, true)]) {
    const err = thrown(op);
    assert.is(err.code, ErrorCode.UNSAFE_PATH);
    assert.is(err.details.path, link);
  }
  assert.is(fs.readFileSync(real!, 'utf8'), 'content 0', 'nothing written through the link');
  h.closeAll();
});

test('opening a FIFO is UNSAFE_PATH and leaks no fd', () => {
  const dir = freshDir();
  const fifo = path.join(dir, 'fifo');
  try {
    execFileSync('mkfifo', [fifo], { stdio: 'ignore' });
  } catch {
    return;
  }
  const h = new FileHandles(4);
  const err = thrown(() => h.get(fifo));
  assert.is(err.code, ErrorCode.UNSAFE_PATH);
  assert.is(err.details.path, fifo);
  if (haveProc) assert.equal(openUnder(dir), []);
});

test('a failing write (fault injection) is an IO error naming the file and the write syscall', () => {
  const f = path.join(freshDir(), 'w');
  const h = new FileHandles(4, {
    write() {
      throw Object.assign(new Error('EIO: simulated'), { code: 'EIO' });
    },
  });
  const err = thrown(() => h.write(f, Buffer.from('data'), 0, true));
  assert.is(err.code, ErrorCode.IO);
  assert.is(err.details.file, f);
  assert.is(err.details.syscall, 'write');
  assert.is(err.details.errno, 'EIO');
  assert.match(err.message, f);
  assert.is(fs.readFileSync(f).length, 0, 'nothing written');
  h.closeAll();
});

test('a fault only for one file leaves writes to others working', () => {
  const dir = freshDir();
  const bad = path.join(dir, 'bad');
  const good = path.join(dir, 'good');
  const h = new FileHandles(4, {
    write(file) {
      if (file === bad) throw new Error('boom');
    },
  });
  h.write(good, Buffer.from('ok'), 0, true);
  assert.is(thrown(() => h.write(bad, Buffer.from('x'), 0, true)).details.file, bad);
  assert.is(h.read(good, 0, 2).toString(), 'ok');
  h.closeAll();
});

test('a failing fdatasync (fault injection) rejects with an IO error naming the file; the other files are still synced', async () => {
  const dir = freshDir();
  const a = path.join(dir, 'a');
  const b = path.join(dir, 'b');
  const synced: string[] = [];
  const h = new FileHandles(4, {
    sync(file) {
      synced.push(file);
      if (file === b) throw Object.assign(new Error('EIO: simulated'), { code: 'EIO' });
    },
  });
  h.write(a, Buffer.from('a'), 0, true);
  h.write(b, Buffer.from('b'), 0, true);
  const err = await rejected(h.sync([a, b]));
  assert.is(err.code, ErrorCode.IO);
  assert.is(err.details.file, b);
  assert.is(err.details.syscall, 'fdatasync');
  assert.is(err.details.errno, 'EIO');
  assert.equal(synced.sort(), [a, b]);
  h.closeAll();
});

test('sync skips files that are not open and resolves for an empty set', async () => {
  const h = new FileHandles(4);
  await h.sync([]);
  await h.sync([path.join(root, 'never-opened')]);
  h.closeAll();
});

test('syncDirectories fsyncs real directories', async () => {
  await syncDirectories([freshDir(), freshDir(), root]);
  await syncDirectories([]);
});

test('syncDirectories reports a missing directory as IO naming it', async () => {
  const missing = path.join(root, 'no-dir');
  const err = await rejected(syncDirectories([freshDir(), missing]));
  assert.is(err.code, ErrorCode.IO);
  assert.is(err.details.file, missing);
  assert.is(err.details.syscall, 'open');
});

test('syncDirectories passes over a missing directory that `gone` says was removed on purpose, and still fails on one it does not', async () => {
  const purged = path.join(root, 'purged-stream');
  const lost = path.join(root, 'lost');
  const asked: string[] = [];
  await syncDirectories([freshDir(), purged], undefined, (d) => {
    asked.push(d);
    return d === purged;
  });
  assert.equal(asked, [purged]);
  const err = await rejected(syncDirectories([purged, lost], undefined, (d) => d === purged));
  assert.is(err.details.file, lost);
});

test('syncDirectories with a sync fault rejects with IO naming the directory', async () => {
  const dir = freshDir();
  const err = await rejected(
    syncDirectories([dir], {
      sync() {
        throw Object.assign(new Error('EIO: simulated'), { code: 'EIO' });
      },
    }),
  );
  assert.is(err.code, ErrorCode.IO);
  assert.is(err.details.file, dir);
  assert.is(err.details.syscall, 'fsync');
});

test('closeUnder closes the descriptors of files in one folder only, sparing files being fsynced', async () => {
  const dir = freshDir();
  const other = freshDir();
  const inside = files(dir, 3);
  const outside = files(other, 2);
  const h = new FileHandles(10);
  for (const f of [...inside, ...outside]) h.write(f, Buffer.from('z'), 0);
  const syncing = h.sync([inside[0]!]);
  h.closeUnder(dir);
  await syncing;
  if (haveProc) {
    assert.equal(openUnder(dir), [inside[0]], 'only the file with an fsync in flight stays open');
    assert.is(openUnder(other).length, 2);
  }
  h.closeAll();
});

test('closeAll closes every fd', () => {
  const dir = freshDir();
  const all = files(dir, 5);
  const h = new FileHandles(10);
  for (const f of all) h.write(f, Buffer.from('z'), 0);
  h.closeAll();
  if (haveProc) assert.equal(openUnder(dir), []);
});

test('read-only handles open files for reading only and refuse write, truncate, remove and create with READ_ONLY, leaving the file as it was', () => {
  const dir = freshDir();
  const file = path.join(dir, 'a.seg');
  fs.writeFileSync(file, 'hello');
  const files = new FileHandles(8, undefined, true);
  const fd = files.get(file)!;
  // The access mode in the descriptor's flags (octal; O_RDONLY is 0 in its low two bits).
  const flags = Number.parseInt(/flags:\s+(\d+)/.exec(fs.readFileSync(`/proc/self/fdinfo/${fd}`, 'utf8'))![1]!, 8);
  assert.is(flags & 3, fs.constants.O_RDONLY);
  assert.is(files.read(file, 0, 5).toString(), 'hello');
  for (const [op, call] of [
    ['write', () => files.write(file, Buffer.from('x'), 0)],
    ['truncate', () => files.truncate(file, 1)],
    ['remove', () => files.remove(file)],
    ['create', () => files.get(path.join(dir, 'b.seg'), true)],
  ] as const) {
    const err = thrown(call);
    assert.is(err.code, ErrorCode.READ_ONLY);
    assert.is(err.details.op, op);
  }
  files.closeAll();
  assert.is(fs.readFileSync(file, 'utf8'), 'hello');
  assert.equal(fs.readdirSync(dir), ['a.seg']);
});

test.run();
