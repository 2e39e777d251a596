import fs from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import * as assert from 'uvu/assert';
import { ErrorCode, type FfcdbError } from '../../src/kernel/errors.js';
import { LOCK_DIR } from '../../src/storage/store-folder.js';
import { WriterLock } from '../../src/storage/writer-lock.js';
import { flatfileSuite, rejected, tempRoot } from './unit-helpers.js';

const test = flatfileSuite('flatfile/writer-lock');

let base = '';
let n = 0;
const held: WriterLock[] = [];

function freshRoot(): string {
  const d = path.join(base, `store${n++}`);
  fs.mkdirSync(d);
  return d;
}

function lock(root: string, onLost: (err: FfcdbError) => void = () => {}, staleMs = 2000): WriterLock {
  const l = new WriterLock(root, staleMs, onLost);
  held.push(l);
  return l;
}

test.before(() => {
  base = tempRoot('lock');
});

test.after(async () => {
  for (const l of held) await l.release().catch(() => undefined);
  fs.rmSync(base, { recursive: true, force: true });
});

test('acquire takes the lock (a writer.lock directory) and release gives it back', async () => {
  const root = freshRoot();
  const l = lock(root);
  assert.is(l.held, false);
  const before = Date.now();
  await l.acquire(1000);
  assert.is(l.held, true);
  assert.ok(l.heldSince >= before && l.heldSince <= Date.now());
  assert.ok(fs.statSync(path.join(root, LOCK_DIR)).isDirectory());
  await l.release();
  assert.is(l.held, false);
  assert.not.ok(fs.existsSync(path.join(root, LOCK_DIR)));
});

test('acquire while already held and release while not held are no-ops', async () => {
  const root = freshRoot();
  const l = lock(root);
  await l.acquire(1000);
  await l.acquire(1000);
  assert.is(l.held, true);
  await l.release();
  await l.release();
  assert.is(l.held, false);
});

test('the lock can be taken again after release, by the same or another WriterLock', async () => {
  const root = freshRoot();
  const a = lock(root);
  const b = lock(root);
  await a.acquire(1000);
  await a.release();
  await b.acquire(1000);
  assert.is(b.held, true);
  await b.release();
  await a.acquire(1000);
  assert.is(a.held, true);
  await a.release();
});

test('a second WriterLock on the same root waits, then fails with LOCKED when the lock is not freed in time', async () => {
  const root = freshRoot();
  const a = lock(root);
  const b = lock(root);
  await a.acquire(1000);
  const started = Date.now();
  const err = await rejected(b.acquire(100));
  const waited = Date.now() - started;
  assert.is(err.code, ErrorCode.LOCKED);
  assert.is(err.details.dir, root);
  assert.match(err.message, root);
  assert.is(b.held, false);
  assert.is(a.held, true, 'the holder keeps it');
  assert.ok(waited >= 20, `gave up after ${waited} ms: it must retry before failing`);
  assert.ok(waited < 2000, `gave up after ${waited} ms: the timeout was 100 ms`);
  await a.release();
});

test('a second WriterLock that is still waiting gets the lock once the holder releases it', async () => {
  const root = freshRoot();
  const a = lock(root);
  const b = lock(root);
  await a.acquire(1000);
  const waiting = b.acquire(3000);
  await sleep(40);
  assert.is(b.held, false);
  await a.release();
  await waiting;
  assert.is(b.held, true);
  await b.release();
});

test('a fresh lock directory nobody refreshes is respected (LOCKED) until it goes stale', async () => {
  const root = freshRoot();
  fs.mkdirSync(path.join(root, LOCK_DIR));
  const err = await rejected(lock(root).acquire(50));
  assert.is(err.code, ErrorCode.LOCKED);
  assert.ok(fs.existsSync(path.join(root, LOCK_DIR)));
});

test('a stale lock directory (a dead holder, mtime far in the past) is taken over', async () => {
  const root = freshRoot();
  const dir = path.join(root, LOCK_DIR);
  fs.mkdirSync(dir);
  const past = new Date(Date.now() - 60 * 60 * 1000);
  fs.utimesSync(dir, past, past);
  const l = lock(root);
  await l.acquire(200);
  assert.is(l.held, true);
  // The new holder's directory has a fresh mtime.
  assert.ok(fs.statSync(dir).mtimeMs > Date.now() - 10_000);
  await l.release();
});

test('a lock just older than the stale time (at least 2 s) is taken over; one younger is not', async () => {
  const root = freshRoot();
  const dir = path.join(root, LOCK_DIR);
  fs.mkdirSync(dir);
  // staleMs below 2000 is raised to 2000.
  const young = new Date(Date.now() - 1500);
  fs.utimesSync(dir, young, young);
  assert.is((await rejected(lock(root, () => {}, 100).acquire(30))).code, ErrorCode.LOCKED);
  const old = new Date(Date.now() - 2500);
  fs.utimesSync(dir, old, old);
  const l = lock(root, () => {}, 100);
  await l.acquire(200);
  assert.is(l.held, true);
  await l.release();
});

test('a holder whose lock is taken away is fenced through onLost with LOCKED instead of crashing', async () => {
  const root = freshRoot();
  const lost: FfcdbError[] = [];
  const l = lock(root, (err) => lost.push(err));
  await l.acquire(1000);
  // Someone removes the lock directory: the next refresh (every staleMs / 4 = 500 ms) notices.
  fs.rmdirSync(path.join(root, LOCK_DIR));
  for (let i = 0; i < 60 && lost.length === 0; i++) await sleep(50);
  assert.is(lost.length, 1);
  assert.is(lost[0]!.code, ErrorCode.LOCKED);
  assert.match(lost[0]!.message, root);
  assert.is(l.held, false);
  await l.release(); // nothing held: a no-op, not a throw
});

test.run();
