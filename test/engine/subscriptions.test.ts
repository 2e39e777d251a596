import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { Subject, type Subscription } from 'rxjs';
import { followFromCursor } from '../../src/engine/subscriptions.js';
import { ErrorCode, FfcdbError } from '../../src/kernel/errors.js';
import type { RecordedEvent } from '../../src/kernel/types.js';

/** A fake log: events 1..n; readAfter emits every event after the cursor, optionally pausing mid-read. */
class FakeLog {
  readonly events: RecordedEvent[] = [];
  readonly commits$ = new Subject<number>();
  reads = 0;
  running = 0;
  maxRunning = 0;
  /** When set, every read waits for this before returning, so a test can act while a read is in flight. */
  gate: Promise<void> | null = null;
  failWith: Error | null = null;

  add(n = 1): void {
    for (let i = 0; i < n; i++) {
      const v = this.events.length + 1;
      this.events.push({ id: `e${v}`, streamId: 's', version: v, position: v, type: 't', schemaVersion: 1, timestamp: v, data: v, metadata: {} });
    }
  }

  commit(n = 1): void {
    this.add(n);
    this.commits$.next(this.events.length);
  }

  readAfter = async (cursor: number, emit: (e: RecordedEvent) => void, isStopped: () => boolean): Promise<number> => {
    this.reads++;
    this.running++;
    this.maxRunning = Math.max(this.maxRunning, this.running);
    try {
      await Promise.resolve();
      if (this.failWith) throw this.failWith;
      const head = this.events.length;
      if (this.gate) await this.gate;
      for (const e of this.events.slice(cursor, head)) {
        if (isStopped()) return cursor;
        emit(e);
        cursor = e.version;
      }
      return cursor;
    } finally {
      this.running--;
    }
  };

  follow(start = 0) {
    return followFromCursor<number>({ start, readAfter: this.readAfter, commits$: this.commits$ });
  }
}

const tick = (ms = 0) => new Promise<void>((r) => setTimeout(r, ms));

function collect(log: FakeLog, start = 0) {
  const seen: number[] = [];
  const state = { completed: false, error: undefined as unknown, sub: undefined as unknown as Subscription };
  state.sub = log.follow(start).subscribe({
    next: (e) => seen.push(e.version),
    complete: () => (state.completed = true),
    error: (err) => (state.error = err),
  });
  return { seen, state };
}

const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);

const follow = suite('followFromCursor');

follow('catches up with everything committed before the subscription, without any commit notification', async () => {
  const log = new FakeLog();
  log.add(5);
  const { seen } = collect(log);
  await tick();
  assert.equal(seen, [1, 2, 3, 4, 5]);
});

follow('starts after the given cursor', async () => {
  const log = new FakeLog();
  log.add(5);
  const { seen } = collect(log, 3);
  await tick();
  assert.equal(seen, [4, 5]);
});

follow('goes live: each later commit is delivered once, in order', async () => {
  const log = new FakeLog();
  log.add(2);
  const { seen } = collect(log);
  await tick();
  log.commit();
  await tick();
  log.commit(3);
  await tick();
  assert.equal(seen, range(1, 6));
});

follow('a commit that lands while a read is in flight is picked up by one more pass: no gap, no duplicate', async () => {
  const log = new FakeLog();
  log.add(3);
  let open!: () => void;
  log.gate = new Promise((r) => (open = r));
  const { seen } = collect(log);
  await tick();
  // The first read has fixed its head at 3 and is paused; these commits land behind it.
  log.commit();
  log.commit();
  open();
  log.gate = null;
  await tick();
  assert.equal(seen, range(1, 5));
});

follow('many notifications during one read coalesce into a single extra pass, and reads never overlap', async () => {
  const log = new FakeLog();
  let open!: () => void;
  log.gate = new Promise((r) => (open = r));
  const { seen } = collect(log);
  await tick();
  for (let i = 0; i < 50; i++) log.commit();
  open();
  log.gate = null;
  await tick(5);
  assert.equal(seen, range(1, 50));
  assert.is(log.maxRunning, 1);
  assert.is(log.reads, 2);
});

follow('unsubscribing stops delivery and further reads', async () => {
  const log = new FakeLog();
  const { seen, state } = collect(log);
  await tick();
  log.commit();
  await tick();
  state.sub.unsubscribe();
  const reads = log.reads;
  log.commit(3);
  await tick();
  assert.equal(seen, [1]);
  assert.is(log.reads, reads);
});

follow('unsubscribing in the middle of a read stops before the next event', async () => {
  const log = new FakeLog();
  log.add(10);
  let sub!: Subscription;
  const seen: number[] = [];
  sub = log.follow().subscribe((e) => {
    seen.push(e.version);
    if (e.version === 3) sub.unsubscribe();
  });
  await tick();
  assert.equal(seen, [1, 2, 3]);
});

follow('a failing read errors the subscription with the original error', async () => {
  const log = new FakeLog();
  const boom = new FfcdbError(ErrorCode.CORRUPT, 'bad frame', { file: 'f', offset: 12 });
  log.failWith = boom;
  const { state } = collect(log);
  await tick();
  assert.is(state.error, boom);
  assert.is((state.error as FfcdbError).code, ErrorCode.CORRUPT);
});

follow('after a failed read, later commits start no new reads', async () => {
  const log = new FakeLog();
  log.failWith = new Error('io');
  collect(log);
  await tick();
  const reads = log.reads;
  log.failWith = null;
  log.commit();
  await tick();
  assert.is(log.reads, reads);
});

follow('completes when the commit notifications complete (the store closed)', async () => {
  const log = new FakeLog();
  const { state } = collect(log);
  await tick();
  log.commits$.complete();
  assert.ok(state.completed);
});

follow('errors when the commit notifications error', async () => {
  const log = new FakeLog();
  const { state } = collect(log);
  await tick();
  const err = new FfcdbError(ErrorCode.LOCKED, 'lock lost');
  log.commits$.error(err);
  assert.is(state.error, err);
});

follow('each subscriber has its own cursor', async () => {
  const log = new FakeLog();
  log.add(2);
  const a = collect(log);
  const b = collect(log, 1);
  await tick();
  log.commit();
  await tick();
  assert.equal(a.seen, [1, 2, 3]);
  assert.equal(b.seen, [2, 3]);
});

follow('is cold: nothing is read until someone subscribes', async () => {
  const log = new FakeLog();
  log.add(1);
  log.follow();
  await tick();
  assert.is(log.reads, 0);
});

follow.run();
