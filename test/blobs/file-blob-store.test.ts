import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as assert from 'uvu/assert';
import { FileBlobStore } from '../../src/blobs/file-blob-store.js';
import { ErrorCode, FfcdbError } from '../../src/kernel/errors.js';
import { flatfileSuite, rejected, tempRoot, thrown } from '../flatfile/unit-helpers.js';
import { blobStoreCompliance, bytes, chunked, collect, drain, sha256 } from './blob-store-compliance.js';

/** Every file the store keeps, but the lock's. */
function storedFiles(dir: string): string[] {
  const lockFiles = new Set(['writer.lock', 'writer.waiting', 'writer.owner']);
  return fs
    .readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => !e.isDirectory() && !lockFiles.has(e.name))
    .map((e) => path.relative(dir, path.join(e.parentPath, e.name)))
    .sort();
}

blobStoreCompliance('file', ({ dir }, options) => new FileBlobStore(dir, options), { storedFiles });

const test = flatfileSuite('file blob store: on disk');
const LOCK_HOLDER = fileURLToPath(new URL('./lock-holder.ts', import.meta.url));

let dir = '';
let stores: FileBlobStore[] = [];

function open(options?: ConstructorParameters<typeof FileBlobStore>[1]): FileBlobStore {
  const s = new FileBlobStore(dir, options);
  stores.push(s);
  return s;
}

function blobFile(h: string): string {
  return path.join(dir, 'blobs', h.slice(0, 2), h.slice(2, 4), h);
}

test.before.each(() => {
  dir = tempRoot('blobs-file');
  stores = [];
});

test.after.each(async () => {
  await Promise.allSettled(stores.map((s) => s.close()));
  fs.rmSync(dir, { recursive: true, force: true });
});

test('a blob is the file blobs/<2 hex>/<2 hex>/<sha256> holding exactly its bytes; no temporary file remains', async () => {
  const store = open();
  const data = bytes(1, 2 ** 20 * 3 + 1);
  const { sha256: h } = await store.put(data);
  assert.ok(fs.readFileSync(blobFile(h)).equals(data));
  assert.equal(storedFiles(dir), [path.join('blobs', h.slice(0, 2), h.slice(2, 4), h)]);
  assert.equal(fs.readdirSync(path.join(dir, 'blobs', 'tmp')), []);
});

test('blobs stored before are found by a store opened later on the same folder', async () => {
  const data = bytes(2, 10_000);
  const first = open();
  const { sha256: h } = await first.put(data);
  await first.close();
  const again = open();
  assert.ok((await again.read(h)).equals(data));
  assert.is((await again.put(data)).created, false);
});

test('opening removes temporary files older than staleTempMs, keeps younger ones (another process may be writing them) and files it did not name', async () => {
  await open().close();
  const tmp = path.join(dir, 'blobs', 'tmp');
  const old = path.join(tmp, '123-0123456789abcdef.tmp');
  const young = path.join(tmp, '456-fedcba9876543210.tmp');
  const foreign = path.join(tmp, 'notes.txt');
  for (const f of [old, young, foreign]) fs.writeFileSync(f, 'partial upload');
  const longAgo = new Date(Date.now() - 2 * 60_000);
  fs.utimesSync(old, longAgo, longAgo);
  fs.utimesSync(foreign, longAgo, longAgo);
  open({ staleTempMs: 60_000 });
  assert.equal(fs.readdirSync(tmp).sort(), ['456-fedcba9876543210.tmp', 'notes.txt']);
});

test('a symlink planted at a blob path is refused with UNSAFE_PATH by every operation, and its target is left alone', async () => {
  const store = open();
  const data = bytes(3, 5000);
  const h = sha256(data);
  const outside = path.join(dir, 'outside.txt');
  fs.writeFileSync(outside, 'secret');
  fs.mkdirSync(path.dirname(blobFile(h)), { recursive: true });
  fs.symlinkSync(outside, blobFile(h));
  for (const op of [() => store.has(h), () => store.stat(h), () => store.read(h), () => store.openRead(h), () => store.delete(h), () => store.put(data), () => collect(store.list())]) {
    const err = await rejected(op());
    assert.is(err.code, ErrorCode.UNSAFE_PATH);
    assert.is(err.details.path, blobFile(h));
  }
  assert.is(fs.readFileSync(outside, 'utf8'), 'secret');
  assert.ok(fs.lstatSync(blobFile(h)).isSymbolicLink(), 'the symlink is not replaced');
  assert.equal(fs.readdirSync(path.join(dir, 'blobs', 'tmp')), [], 'the refused put left no temporary file');
});

test('a symlink in place of a shard folder, or of the blobs folder, is refused with UNSAFE_PATH', async () => {
  const data = bytes(4, 100);
  const h = sha256(data);
  const elsewhere = path.join(dir, 'elsewhere');
  fs.mkdirSync(path.join(elsewhere, h.slice(2, 4)), { recursive: true });
  fs.writeFileSync(path.join(elsewhere, h.slice(2, 4), h), data);
  const store = open();
  fs.symlinkSync(elsewhere, path.join(dir, 'blobs', h.slice(0, 2)));
  for (const op of [() => store.has(h), () => store.read(h), () => store.put(data)]) assert.is((await rejected(op())).code, ErrorCode.UNSAFE_PATH);

  const other = tempRoot('blobs-file-other');
  try {
    fs.symlinkSync(elsewhere, path.join(other, 'blobs'));
    assert.is(thrown(() => new FileBlobStore(other)).code, ErrorCode.UNSAFE_PATH);
  } finally {
    fs.rmSync(other, { recursive: true, force: true });
  }
});

test('concurrent puts of the same bytes from two instances on one folder: exactly one creates, one intact file remains', async () => {
  const a = open();
  const b = open();
  const data = bytes(5, 4 * 2 ** 20 + 3);
  const results = await Promise.all([a.put(data), b.put(chunked(data, 65_536)), a.put(chunked(data, 1_000_000)), b.put(data)]);
  assert.is(results.filter((r) => r.created).length, 1);
  const h = sha256(data);
  assert.equal(storedFiles(dir), [path.join('blobs', h.slice(0, 2), h.slice(2, 4), h)]);
  assert.ok(fs.readFileSync(blobFile(h)).equals(data), 'the file holds the bytes intact');
});

test('withLock on two instances on one folder never runs two callers at once', async () => {
  const a = open();
  const b = open();
  let inside = 0;
  let most = 0;
  let ran = 0;
  await Promise.all(
    Array.from({ length: 12 }, (_, i) =>
      (i % 2 ? a : b).withLock(async () => {
        inside++;
        most = Math.max(most, inside);
        await new Promise((r) => setTimeout(r, 2));
        inside--;
        ran++;
      }),
    ),
  );
  assert.is(ran, 12);
  assert.is(most, 1);
  assert.not.ok(fs.existsSync(path.join(dir, 'blobs', 'writer.lock')), 'the lock folder is gone once released');
});

test('withLock across processes: while a child process holds the lock, this process waits for it', async () => {
  const store = open();
  const log = path.join(dir, 'log');
  const child = startHolder(log, '300');
  await child.locked;
  await store.withLock(async () => fs.appendFileSync(log, 'parent-start\nparent-end\n'));
  assert.is(await child.exited, 0);
  assert.is(fs.readFileSync(log, 'utf8'), 'child-start\nchild-end\nparent-start\nparent-end\n');
});

test('a lock left by a killed process is taken over once it is stale', async () => {
  const store = open({ lockStaleMs: 2000 });
  const log = path.join(dir, 'log');
  const child = startHolder(log, 'forever');
  await child.locked;
  child.kill();
  await child.exited;
  const started = Date.now();
  assert.is(await store.withLock(async () => 'mine'), 'mine');
  assert.ok(Date.now() - started < 10_000, `took ${Date.now() - started} ms`);
});

test('a disk error while putting is IO naming the file and syscall, and no blob is kept', async () => {
  const store = open();
  const tmp = path.join(dir, 'blobs', 'tmp');
  fs.rmSync(tmp, { recursive: true });
  fs.writeFileSync(tmp, 'not a folder');
  const err = await rejected(store.put(bytes(6, 1000)));
  assert.is(err.code, ErrorCode.IO);
  assert.is(err.details.syscall, 'open');
  assert.is(err.details.errno, 'ENOTDIR');
  assert.equal(storedFiles(dir), [path.join('blobs', 'tmp')]);
});

test('openRead streams a large blob in chunks of at most 256 KiB, so memory stays bounded', async () => {
  const store = open();
  const data = bytes(7, 5 * 2 ** 20);
  const { sha256: h } = await store.put(data);
  const { data: back, chunks } = await drain(await store.openRead(h));
  assert.ok(back.equals(data));
  assert.ok(chunks >= 20, `${chunks} chunks`);
});

test('a blob that shrinks while it is streamed fails the stream with CORRUPT at the offset where it ended', async () => {
  const store = open();
  const data = bytes(8, 2 ** 20);
  const { sha256: h } = await store.put(data);
  const stream = await store.openRead(h);
  fs.truncateSync(blobFile(h), 100_000);
  const err = await rejected(drain(stream));
  assert.is(err.code, ErrorCode.CORRUPT);
  assert.is(err.details.offset, 100_000);
});

/** Drains a stream, keeping what came before it failed; the error, if any. */
async function drainUntilError(stream: NodeJS.ReadableStream): Promise<{ data: Buffer; err: unknown }> {
  const parts: Buffer[] = [];
  try {
    for await (const c of stream) parts.push(Buffer.from(c as Uint8Array));
  } catch (err) {
    return { data: Buffer.concat(parts), err };
  }
  return { data: Buffer.concat(parts), err: undefined };
}

function flipBit(file: string, offset: number): void {
  const b = fs.readFileSync(file);
  b[offset] = b[offset]! ^ 0x10;
  fs.writeFileSync(file, b);
}

test('a flipped bit fails a whole read with CORRUPT naming the blob, its file and the hash its bytes have, before the last chunk is handed on', async () => {
  const store = open();
  const data = bytes(40, 2 ** 20 + 5);
  const { sha256: h } = await store.put(data);
  flipBit(blobFile(h), 700_000);
  for (const options of [undefined, { expectedSize: data.length }]) {
    const { data: got, err } = await drainUntilError(await store.openRead(h, undefined, options));
    assert.instance(err, FfcdbError);
    const e = err as FfcdbError;
    assert.is(e.code, ErrorCode.CORRUPT);
    assert.is(e.details.sha256, h);
    assert.is(e.details.file, blobFile(h));
    assert.is(e.details.actual, sha256(fs.readFileSync(blobFile(h))));
    assert.match(e.message, 'hash to');
    assert.ok(got.length < data.length, `${got.length} of ${data.length} bytes were handed on`);
  }
  const err = await rejected(store.read(h));
  assert.is(err.code, ErrorCode.CORRUPT);
  assert.is(err.details.file, blobFile(h));
  // A range is not hashed: bytes away from the flip read as stored.
  assert.ok((await drain(await store.openRead(h, { start: 0, end: 600_000 }))).data.equals(data.subarray(0, 600_000)));
});

test('a blob cut to 5 bytes: a whole read is CORRUPT (by its hash, or at once by its recorded size), as is a range past its end; a range inside it reads', async () => {
  const store = open();
  const data = bytes(41, 27);
  const { sha256: h } = await store.put(data);
  fs.truncateSync(blobFile(h), 5);
  // Without a recorded size only the hash can tell.
  const { data: got, err } = await drainUntilError(await store.openRead(h));
  assert.is((err as FfcdbError).code, ErrorCode.CORRUPT);
  assert.is((err as FfcdbError).details.size, 5);
  assert.is(got.length, 0);
  assert.is((await rejected(store.read(h))).code, ErrorCode.CORRUPT);
  for (const range of [undefined, { start: 2 }, { start: 4, end: 6 }, { start: 10, end: 20 }]) {
    const e = await rejected(store.openRead(h, range, { expectedSize: 27 }));
    assert.is(e.code, ErrorCode.CORRUPT, JSON.stringify(range));
    assert.equal(e.details, { sha256: h, file: blobFile(h), size: 5, expectedSize: 27 });
  }
  assert.ok((await drain(await store.openRead(h, { start: 1, end: 5 }, { expectedSize: 27 }))).data.equals(data.subarray(1, 5)));
});

test('an intact blob reads whole, streamed and in memory, exactly as stored, with or without its recorded size', async () => {
  const store = open();
  const data = bytes(42, 3 * 2 ** 20 + 17);
  const { sha256: h } = await store.put(data);
  assert.ok((await store.read(h)).equals(data));
  for (const options of [undefined, { expectedSize: data.length }]) {
    const { data: got, err } = await drainUntilError(await store.openRead(h, undefined, options));
    assert.is(err, undefined);
    assert.ok(got.equals(data));
  }
});

test('the constructor refuses bad options with INVALID_ARGUMENT naming them', () => {
  for (const [key, value] of [['maxBytes', -1], ['lockStaleMs', 0], ['lockTimeoutMs', 1.5], ['staleTempMs', '60']] as const) {
    const err = thrown(() => new FileBlobStore(dir, { [key]: value } as never));
    assert.is(err.code, ErrorCode.INVALID_ARGUMENT);
    assert.is(err.details.field, key);
  }
});

test.run();

function startHolder(log: string, hold: string) {
  const child = spawn(process.execPath, ['--import', 'tsx', LOCK_HOLDER, dir, log, hold], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (s: string) => (stderr += s));
  const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  const locked = new Promise<void>((resolve, reject) => {
    child.stdout.setEncoding('utf8').on('data', (s: string) => {
      if (s.includes('locked')) resolve();
    });
    void exited.then((code) => reject(new Error(`the lock holder exited with ${code} before locking:\n${stderr}`)));
  });
  return { locked, exited, kill: () => child.kill('SIGKILL') };
}
