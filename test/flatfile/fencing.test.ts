/**
 * Fencing a writer whose lock was taken over. A process whose event loop stalls
 * (a long GC pause, a synchronous CPU burst, a suspended VM) past `lockStaleMs`
 * stops refreshing the writer lock; another process then takes it over and
 * commits. When the stalled writer wakes up in the middle of a commit it must
 * not acknowledge that commit (LOCKED, or FAILED), must refuse later appends,
 * and must not destroy what the other process acknowledged meanwhile.
 *
 * The stall is a synchronous wait inside the backend's `faults` hook, so the
 * event loop really is blocked. It lasts exactly until the other process (a
 * store-worker.ts child) has acknowledged its append, which it writes to an ack
 * file the stalled hook polls; the child only opens the store once the stall has
 * begun, so the takeover always happens during it.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as assert from 'uvu/assert';
import { flatfileSuite } from './unit-helpers.js';
import { FlatfileBackend } from '../../src/backends/flatfile/flatfile-backend.js';
import { EventStore } from '../../src/engine/event-store.js';
import { FfcdbError } from '../../src/kernel/errors.js';
import type { RecordedEvent } from '../../src/kernel/types.js';
import { startWorker } from '../support/children.js';
import { type Ack, canonAppended, canonStored, eventFor, parseLines } from '../support/workload.js';

const test = flatfileSuite('flatfile: a writer whose lock was taken over (fencing)');

const dirs: string[] = [];
function tempDir(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ffcdb-fencing-'));
  dirs.push(dir);
  return dir;
}
test.after(() => {
  for (const dir of dirs) fs.rmSync(dir, { recursive: true, force: true });
});

const STALE_MS = 2000;
/** The longest the stalled writer waits for the other process to acknowledge (a failure, not a normal run). */
const MAX_STALL_MS = 12_000;

/** Blocks the whole thread (the event loop included) until `done()` or `maxMs`, checking every 10 ms. */
function blockUntil(done: () => boolean, maxMs: number): boolean {
  const cell = new Int32Array(new SharedArrayBuffer(4));
  const end = Date.now() + maxMs;
  while (Date.now() < end) {
    if (done()) return true;
    Atomics.wait(cell, 0, 0, 10);
  }
  return done();
}

function acksIn(file: string): Ack[] {
  if (!fs.existsSync(file)) return [];
  return parseLines<{ kind: string }>(fs.readFileSync(file, 'utf8')).filter((l): l is Ack => l.kind === 'ack');
}

async function settle(p: Promise<unknown>): Promise<{ ok: true; value: unknown } | { ok: false; error: unknown }> {
  return p.then(
    (value) => ({ ok: true as const, value }),
    (error: unknown) => ({ ok: false as const, error }),
  );
}

function fencedCode(outcome: { ok: true; value: unknown } | { ok: false; error: unknown }, what: string): string {
  assert.not.ok(outcome.ok, `${what} must not be acknowledged, but it resolved with ${JSON.stringify(outcome.ok && outcome.value)}`);
  const err = (outcome as { error: unknown }).error;
  assert.instance(err, FfcdbError, `${what}: ${String(err)}`);
  const code = (err as FfcdbError).code;
  assert.ok(code === 'LOCKED' || code === 'FAILED', `${what} rejects with LOCKED or FAILED, not ${code}: ${(err as Error).message}`);
  return code;
}

for (const { label, op, target } of [
  { label: 'while writing its stream frame', op: 'write', target: (f: string) => f.endsWith('.seg') },
  { label: 'while fsyncing its commit', op: 'sync', target: (_f: string) => true },
] as const) {
  test(`a writer whose event loop stalls past lockStaleMs ${label} does not acknowledge (LOCKED/FAILED), refuses later appends, and the other process's acknowledged event survives`, async () => {
    const dir = tempDir();
    const goFile = path.join(dir, '..', `${path.basename(dir)}.go`);
    const ackFile = path.join(dir, '..', `${path.basename(dir)}.acks`);
    dirs.push(goFile, ackFile);

    let armed = false;
    let stalled: boolean | undefined;
    const stall = (file: string): void => {
      if (!armed || !target(file)) return;
      armed = false;
      fs.writeFileSync(goFile, 'go'); // the other process may open the store now; we hold the lock and stop refreshing it
      stalled = blockUntil(() => acksIn(ackFile).length > 0, MAX_STALL_MS);
    };
    const a = await EventStore.open(new FlatfileBackend({ dir, durability: 'always', lockStaleMs: STALE_MS, faults: op === 'write' ? { write: stall } : { sync: stall } }));
    let worker: ReturnType<typeof startWorker> | undefined;
    try {
      const a1 = await a.append('a-stream', { type: 'test.event', data: 'a1' });
      assert.is(a1.firstPosition, 1);

      worker = startWorker({
        mode: 'append',
        dir,
        tag: 'b',
        streams: ['b-stream'],
        appends: 1,
        maxBatch: 1,
        durability: 'always',
        lockStaleMs: STALE_MS,
        goFile,
        goBeforeOpen: true,
        ackFile,
      });
      armed = true;
      const a2 = await settle(a.append('a-stream', { type: 'test.event', data: 'a2 (stalled writer)' }));
      assert.ok(stalled !== undefined, 'the stall hook ran');
      assert.ok(stalled, `the other process acknowledged its append within ${MAX_STALL_MS} ms of the stall`);
      fencedCode(a2, 'the stalled writer\'s append');

      // The stalled store stays fenced.
      fencedCode(await settle(a.append('a-stream', { type: 'test.event', data: 'a3 (after the stall)' })), 'a later append on the stalled store');

      const b = await worker.finished;
      assert.is(b.code, 0, `the other process failed:\n${b.stderr}`);
    } finally {
      if (worker && worker.child.exitCode === null && worker.child.signalCode === null) worker.child.kill('SIGKILL');
      await a.close().catch(() => undefined);
    }

    const acks = acksIn(ackFile);
    assert.is(acks.length, 1, 'the other process acknowledged exactly one append');
    const bAck = acks[0]!;
    const v = await EventStore.open(new FlatfileBackend({ dir, durability: 'always' }));
    try {
      const feed: RecordedEvent[] = (await v.readAll()).events;
      for (const [i, e] of feed.entries()) assert.is(e.position, i + 1, 'feed positions without gaps');
      const atB = feed.find((e) => e.position === bAck.firstPosition);
      assert.ok(atB, `position ${bAck.firstPosition}, acknowledged to the other process, is in the feed; feed: ${JSON.stringify(feed.map((e) => [e.position, e.streamId, e.data]))}`);
      assert.is(atB!.streamId, 'b-stream', `position ${bAck.firstPosition} holds the other process's event, not ${atB!.streamId} ${JSON.stringify(atB!.data)}`);
      assert.is(canonStored(atB!), canonAppended(eventFor('b', 'b-stream', 1)));
      const bStream = await v.readStream('b-stream');
      assert.equal(
        bStream.map((e) => [e.version, e.position, canonStored(e)]),
        [[1, bAck.firstPosition, canonAppended(eventFor('b', 'b-stream', 1))]],
        "the other process's stream holds its acknowledged event",
      );
      const aStream = await v.readStream('a-stream');
      assert.equal(aStream[0]?.data, 'a1', 'what the stalled writer acknowledged before the stall is intact');
      assert.not.ok(
        aStream.some((e) => e.data === 'a3 (after the stall)'),
        'nothing the fenced store refused was written',
      );
      for (const s of ['a-stream', 'b-stream']) {
        const events = await v.readStream(s);
        for (const [i, e] of events.entries()) assert.is(e.version, i + 1, `${s}: versions without gaps`);
        assert.equal(
          events.map((e) => [e.position, e.id]),
          feed.filter((e) => e.streamId === s).map((e) => [e.position, e.id]),
          `${s} agrees with the feed`,
        );
      }
    } finally {
      await v.close();
    }
  });
}

test.run();
