/**
 * Several processes on one data folder (issue 2, "Proof" and "Durability and
 * concurrency"): child processes (test/support/store-worker.ts) append
 * concurrently with durability 'always' and report every acknowledged append;
 * the parent then checks that the store holds exactly what was acknowledged.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as assert from 'uvu/assert';
import { flatfileSuite } from './unit-helpers.js';
import type { Subscription } from 'rxjs';
import { FlatfileBackend } from '../../src/backends/flatfile/flatfile-backend.js';
import { EventStore } from '../../src/engine/event-store.js';
import type { RecordedEvent } from '../../src/kernel/types.js';
import { startWorker, type Worker } from '../support/children.js';
import type { WorkerConfig } from '../support/store-worker.js';
import { checkAcks, checkConsistency, formatProblems, readSnapshot, snapshotText } from '../support/verify.js';
import { type Ack, canonAppended, canonStored, eventFor, parseLines } from '../support/workload.js';

const test = flatfileSuite('flatfile: several processes on one data folder');

const dirs: string[] = [];
function tempDir(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ffcdb-mp-'));
  dirs.push(dir);
  return dir;
}

test.after(() => {
  for (const dir of dirs) fs.rmSync(dir, { recursive: true, force: true });
});

function open(dir: string): Promise<EventStore> {
  return EventStore.open(new FlatfileBackend({ dir, durability: 'always', lockStaleMs: 2000 }));
}

function acksOf(stdout: string): Ack[] {
  return parseLines<{ kind: string }>(stdout).filter((l): l is Ack => l.kind === 'ack');
}

function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    promise.finally(() => clearTimeout(timer)),
    new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms: ${what}`)), ms))),
  ]);
}

/** Creates the store and commits one event, so the feed's first segment exists before the workers open it. */
async function seed(dir: string): Promise<Ack> {
  const store = await open(dir);
  try {
    const result = await store.append('setup', eventFor('seed', 'setup', 1));
    return { kind: 'ack', tag: 'seed', stream: 'setup', seqs: [1], ...result, at: Date.now() };
  } finally {
    await store.close();
  }
}

/** Starts append workers that open the store, report ready, and wait for a go file; starts them all at once. */
async function startTogether(dir: string, configs: Array<Omit<WorkerConfig, 'mode' | 'dir' | 'goFile'>>): Promise<Worker[]> {
  const goFile = path.join(dir, '..', `${path.basename(dir)}.go`);
  dirs.push(goFile);
  const workers = configs.map((c) => startWorker({ mode: 'append', dir, goFile, durability: 'always', lockStaleMs: 2000, ...c }));
  const deadline = Date.now() + 60_000;
  for (const w of workers) {
    while (!w.stdout().includes('"kind":"ready"')) {
      const exited = w.child.exitCode !== null || w.child.signalCode !== null;
      if (exited || Date.now() > deadline) {
        for (const other of workers) other.child.kill('SIGKILL');
        throw new Error(`a worker did not get ready within 60 s: ${(await w.finished).stderr}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  }
  fs.writeFileSync(goFile, 'go');
  return workers;
}

async function finishAll(workers: Worker[]): Promise<Ack[]> {
  const runs = await Promise.all(workers.map((w) => withTimeout(w.finished, 120_000, 'a worker to finish')));
  for (const r of runs) {
    assert.is(r.code, 0, `a worker failed:\n${r.stderr}`);
    const acks = acksOf(r.stdout).length;
    assert.ok(
      r.stdout.includes('"kind":"done"'),
      `a worker exited (code 0) after ${acks} acknowledged appends without finishing its loops: its pending appends never settled and its event loop ran empty`,
    );
  }
  return runs.flatMap((r) => acksOf(r.stdout));
}

async function checkAgainstAcks(dir: string, acks: Ack[]): Promise<void> {
  const ackedEvents = acks.reduce((n, a) => n + a.seqs.length, 0);
  const store = await open(dir);
  try {
    const snap = await readSnapshot(store);
    const problems = [...checkConsistency(snap), ...checkAcks(snap, acks)];
    assert.ok(problems.length === 0, `\n${formatProblems(problems)}`);
    // Nothing was killed, so the store holds exactly the acknowledged events.
    assert.is(snap.feed.length, ackedEvents);
    // Each global position was acknowledged to exactly one append.
    const positions = acks.flatMap((a) => a.seqs.map((_, i) => a.firstPosition + i)).sort((a, b) => a - b);
    assert.equal(positions, Array.from({ length: ackedEvents }, (_, i) => i + 1));
    // A paged read of the feed agrees with the streamed one.
    const paged: RecordedEvent[] = [];
    for (let from = 1; ; ) {
      const page = await store.readAll({ fromPosition: from, limit: 37 });
      paged.push(...page.events);
      if (page.events.length === 0) break;
      from = page.nextPosition;
    }
    assert.equal(paged.map((e) => e.id), snap.feed.map((e) => e.id));
    await store.close();
    const again = await open(dir);
    try {
      assert.equal(snapshotText(await readSnapshot(again)), snapshotText(snap), 'reopening reads the same store');
    } finally {
      await again.close();
    }
  } finally {
    await store.close();
  }
}

test('4 processes appending to shared and separate streams: every acknowledged event exactly once, in order, and the feed agrees', async () => {
  const dir = tempDir();
  const CHILDREN = 4;
  const APPENDS = 25;
  const seeded = await seed(dir);
  const workers = await startTogether(
    dir,
    Array.from({ length: CHILDREN }, (_, i) => ({
      tag: `p${i}`,
      // One concurrent loop per stream: the private stream and two streams every process writes.
      streams: [`own-${i}`, 'shared-a', 'shared-b'],
      appends: APPENDS,
      maxBatch: 3,
      // Small segments, so the processes also roll stream segments over while they race.
      segmentBytes: 4096,
    })),
  );
  const acks = await finishAll(workers);
  assert.is(acks.length, CHILDREN * 3 * APPENDS, 'every append of every worker was acknowledged');
  await checkAgainstAcks(dir, [seeded, ...acks]);

  const store = await open(dir);
  try {
    for (const name of ['shared-a', 'shared-b']) {
      const events = await store.readStream(name);
      const tags = new Set(events.map((e) => (e.data as { tag: string }).tag));
      assert.is(tags.size, CHILDREN, `${name} holds events of every process`);
    }
    for (let i = 0; i < CHILDREN; i++) {
      const own = await store.readStream(`own-${i}`);
      assert.ok(own.length >= APPENDS && own.every((e) => (e.data as { tag: string }).tag === `p${i}`), `own-${i} holds only p${i}'s events`);
    }
  } finally {
    await store.close();
  }
});

test('4 processes that all open a new, empty data folder before anyone appends: every acknowledged event exactly once, and the feed agrees', async () => {
  // The same workload, but no process has seen a feed segment when it opens the store.
  const dir = tempDir();
  const CHILDREN = 4;
  const APPENDS = 10;
  const workers = await startTogether(
    dir,
    Array.from({ length: CHILDREN }, (_, i) => ({ tag: `e${i}`, streams: [`own-${i}`, 'shared'], appends: APPENDS, maxBatch: 2 })),
  );
  const acks = await finishAll(workers);
  assert.is(acks.length, CHILDREN * 2 * APPENDS);
  await checkAgainstAcks(dir, acks);
});

test('writers opened with different segmentBytes on one folder agree on the feed after it rolls over to a new feed segment', async () => {
  // Two stores in this process stand in for two processes (each has its own state; they share only the
  // folder and the writer lock). B's feed segments are 1 MiB, A's 8 MiB (the default).
  const dir = tempDir();
  const a = await EventStore.open(new FlatfileBackend({ dir, durability: 'none' }));
  // The feed's first segment exists before B opens (B opening an empty folder is the test above).
  await a.append('a', { type: 't', data: 'a1' });
  const b = await EventStore.open(new FlatfileBackend({ dir, durability: 'none', segmentBytes: 1 << 20 }));
  try {
    let n = 0;
    while (fs.readdirSync(path.join(dir, 'feed')).length < 2) {
      await Promise.all(Array.from({ length: 1000 }, () => b.append(`b${n % 50}`, { type: 't', data: n++ })));
      assert.ok(n < 100_000, 'the feed rolled over');
    }
    const head = await b.headPosition();
    assert.is(await a.headPosition(), head, "A sees B's commits in the new feed segment");
    const r = await a.append('a', { type: 't', data: 'a2' });
    assert.is(r.firstPosition, head + 1, 'the next position');
  } finally {
    await a.close();
    await b.close();
  }
  const store = await open(dir);
  try {
    const snap = await readSnapshot(store);
    assert.equal(checkConsistency(snap).slice(0, 10), []);
  } finally {
    await store.close();
  }
});

test('expected-version conflicts are detected across processes: exactly one of the racers wins each version, the others get CONFLICT with the actual version', async () => {
  const dir = tempDir();
  const RACERS = 3;
  const ROUNDS = 25;
  const stream = 'race';
  await seed(dir);
  type Reply =
    | { kind: 'listening'; tag: string }
    | { kind: 'ok'; tag: string; seq: number; result: { firstVersion: number; lastVersion: number } }
    | { kind: 'error'; tag: string; seq: number; code: string; details: { expected?: unknown; actual?: unknown; streamId?: unknown }; message: string };
  const racers = Array.from({ length: RACERS }, (_, i) => {
    const worker = startWorker({ mode: 'race', dir, tag: `r${i}`, stream, durability: 'always', lockStaleMs: 2000 }, { ipc: true });
    const replies: Reply[] = [];
    const waiters: Array<() => void> = [];
    worker.child.on('message', (m: Reply) => {
      replies.push(m);
      for (const w of waiters.splice(0)) w();
    });
    const next = async (): Promise<Reply> => {
      while (replies.length === 0) {
        await withTimeout(
          Promise.race([new Promise<void>((resolve) => waiters.push(resolve)), worker.finished.then((f) => Promise.reject(new Error(`racer r${i} exited: ${f.stderr}`)))]),
          60_000,
          `a reply from racer r${i}`,
        );
      }
      return replies.shift()!;
    };
    return { worker, next, tag: `r${i}` };
  });
  try {
    for (const r of racers) assert.is((await r.next()).kind, 'listening');
    const winners: string[] = [];
    let conflicts = 0;
    for (let round = 0; round < ROUNDS; round++) {
      // Every racer appends with the same exact expected version at the same time.
      for (const r of racers) r.worker.child.send({ op: 'append', expected: round, seq: round + 1 });
      const replies = await Promise.all(racers.map((r) => r.next()));
      const ok = replies.filter((x): x is Extract<Reply, { kind: 'ok' }> => x.kind === 'ok');
      const lost = replies.filter((x): x is Extract<Reply, { kind: 'error' }> => x.kind === 'error');
      assert.is(ok.length, 1, `round ${round}: exactly one racer wins version ${round + 1}; replies: ${JSON.stringify(replies)}`);
      assert.is(ok[0]!.result.firstVersion, round + 1);
      for (const l of lost) {
        assert.is(l.code, 'CONFLICT', `round ${round}: the loser ${l.tag} gets CONFLICT, not ${l.code} (${l.message})`);
        assert.is(l.details.expected, round);
        assert.is(l.details.actual, round + 1, `round ${round}: details.actual is the version the winner made`);
        assert.is(l.details.streamId, stream);
        conflicts++;
      }
      winners.push(ok[0]!.tag);
    }
    assert.is(conflicts, ROUNDS * (RACERS - 1));
    for (const r of racers) r.worker.child.send({ op: 'stop' });
    for (const r of racers) {
      const f = await withTimeout(r.worker.finished, 60_000, `racer ${r.tag} to exit`);
      assert.is(f.code, 0, f.stderr);
    }

    const store = await open(dir);
    try {
      const events = await store.readStream(stream);
      assert.equal(
        events.map((e) => e.version),
        Array.from({ length: ROUNDS }, (_, i) => i + 1),
      );
      events.forEach((e, i) => {
        assert.is(canonStored(e), canonAppended(eventFor(winners[i]!, stream, i + 1)), `version ${i + 1} holds the winner's event`);
      });
      const snap = await readSnapshot(store);
      assert.equal(checkConsistency(snap), []);
      assert.is(snap.feed.length, ROUNDS + 1);
    } finally {
      await store.close();
    }
  } finally {
    for (const r of racers) if (r.worker.child.exitCode === null && r.worker.child.signalCode === null) r.worker.child.kill('SIGKILL');
  }
});

test('a live subscriber (subscribeToAll) in this process receives the events other processes append, in order, without gaps', async () => {
  const dir = tempDir();
  const store = await open(dir);
  // Something appended before the subscription, to catch up on first.
  await store.append('before', { type: 'setup', data: 1 });
  const received: Array<{ event: RecordedEvent; at: number }> = [];
  let wake: (() => void) | undefined;
  let failure: unknown;
  const sub: Subscription = store.subscribeToAll().subscribe({
    next: (event) => {
      received.push({ event, at: Date.now() });
      wake?.();
    },
    error: (err) => {
      failure = err;
      wake?.();
    },
  });
  const workers: Worker[] = [];
  try {
    const CHILDREN = 2;
    const APPENDS = 40;
    for (let i = 0; i < CHILDREN; i++) {
      workers.push(startWorker({ mode: 'append', dir, tag: `s${i}`, streams: [`live-${i}`, 'live-shared'], appends: APPENDS, maxBatch: 2, durability: 'always', lockStaleMs: 2000 }));
    }
    const runs = await Promise.all(workers.map((w) => w.finished));
    for (const r of runs) assert.is(r.code, 0, r.stderr);
    const acks = runs.flatMap((r) => acksOf(r.stdout));
    const total = 1 + acks.reduce((n, a) => n + a.seqs.length, 0);
    const deadline = Date.now() + 60_000;
    while (received.length < total && failure === undefined && Date.now() < deadline) {
      await new Promise<void>((resolve) => {
        wake = resolve;
        setTimeout(resolve, 200);
      });
    }
    assert.is(failure, undefined, `the subscription failed: ${String(failure)}`);
    assert.is(received.length, total, 'every event reached the subscriber');
    assert.equal(
      received.map((r) => r.event.position),
      Array.from({ length: total }, (_, i) => i + 1),
      'in position order, without gaps or duplicates',
    );
    const byId = new Map(received.map((r) => [r.event.id, r]));
    const delays: number[] = [];
    for (const ack of acks) {
      ack.seqs.forEach((seq, i) => {
        const id = eventFor(ack.tag, ack.stream, seq).id;
        const got = byId.get(id);
        assert.ok(got, `acknowledged ${id} reached the subscriber`);
        assert.is(got!.event.position, ack.firstPosition + i);
        assert.is(canonStored(got!.event), canonAppended(eventFor(ack.tag, ack.stream, seq)));
        delays.push(got!.at - ack.at);
      });
    }
    // Observed delay between a child's acknowledgement and delivery here (no assertion: the machine is shared).
    // The bound by design: one poll interval (pollMs, default 25 ms) plus the time to read the new frames.
    delays.sort((a, b) => a - b);
    const pct = (p: number) => delays[Math.min(delays.length - 1, Math.floor((delays.length * p) / 100))];
    if (process.env.FFCDB_TEST_VERBOSE) {
      console.log(`    cross-process delivery delay after the child's ack: median ${pct(50)} ms, p99 ${pct(99)} ms, max ${delays.at(-1)} ms (${delays.length} events)`);
    }
  } finally {
    sub.unsubscribe();
    for (const w of workers) if (w.child.exitCode === null && w.child.signalCode === null) w.child.kill('SIGKILL');
    await store.close();
  }
});

test.run();
