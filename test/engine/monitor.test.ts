import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { MemoryBackend } from '../../src/backends/memory/memory-backend.js';
import type { BackendContext, BackendReport } from '../../src/backends/backend.js';
import { EventStore } from '../../src/engine/event-store.js';
import { Monitor, type MonitorEvent } from '../../src/engine/monitor.js';
import { ErrorCode } from '../../src/kernel/errors.js';

const cut = (file: string): BackendReport => ({ kind: 'tail-truncated', file, fromBytes: 100, toBytes: 60, reason: 'torn frame' });

/** A memory backend that, like a recovering flatfile backend, reports a repair while it opens. */
class RecoveringBackend extends MemoryBackend {
  override async open(context?: BackendContext): Promise<void> {
    context?.monitor.emit(cut('feed/0001.log'));
    await super.open();
  }
}

const monitor = suite('monitor');

monitor('events emitted while opening reach subscribers that arrive later, first', () => {
  const m = new Monitor();
  m.emit(cut('a'));
  m.emit(cut('b'));
  m.opened();
  const seen: MonitorEvent[] = [];
  m.events$.subscribe((e) => seen.push(e));
  m.emit({ kind: 'operation', op: 'append', ms: 1 });
  assert.equal(seen, [cut('a'), cut('b'), { kind: 'operation', op: 'append', ms: 1 }]);
});

monitor('every late subscriber gets the opening events, each once', () => {
  const m = new Monitor();
  m.emit(cut('a'));
  m.opened();
  const first: MonitorEvent[] = [];
  const second: MonitorEvent[] = [];
  m.events$.subscribe((e) => first.push(e));
  m.events$.subscribe((e) => second.push(e));
  assert.equal(first, [cut('a')]);
  assert.equal(second, [cut('a')]);
});

monitor('events after opening are live only: a later subscriber does not get them', () => {
  const m = new Monitor();
  m.opened();
  m.emit({ kind: 'operation', op: 'append', ms: 1 });
  const seen: MonitorEvent[] = [];
  m.events$.subscribe((e) => seen.push(e));
  assert.equal(seen, []);
});

monitor('a subscriber from before opening sees each event once, live', () => {
  const m = new Monitor();
  const seen: MonitorEvent[] = [];
  m.events$.subscribe((e) => seen.push(e));
  m.emit(cut('a'));
  m.opened();
  m.emit(cut('b'));
  assert.equal(seen, [cut('a'), cut('b')]);
});

monitor('complete ends every subscription', () => {
  const m = new Monitor();
  let completed = false;
  m.events$.subscribe({ complete: () => (completed = true) });
  m.complete();
  assert.ok(completed);
});

monitor('store.monitor$ reports what the backend repaired while the store opened', async () => {
  const store = await EventStore.open(new RecoveringBackend());
  const seen: MonitorEvent[] = [];
  const sub = store.monitor$.subscribe((e) => seen.push(e));
  sub.unsubscribe();
  await store.close();
  assert.equal(seen, [cut('feed/0001.log')]);
});

monitor('store.monitor$ reports append timings and failed appends with their error code', async () => {
  const store = await EventStore.open(new MemoryBackend());
  const seen: MonitorEvent[] = [];
  const sub = store.monitor$.subscribe((e) => seen.push(e));
  await store.append('s', [{ type: 't', data: 1 }, { type: 't', data: 2 }]);
  await store.append('s', { type: 't', data: 3 }, { expectedVersion: 0 }).catch(() => {});
  sub.unsubscribe();
  await store.close();
  const [op, err] = seen;
  assert.is(seen.length, 2);
  assert.ok(op?.kind === 'operation' && op.op === 'append' && op.events === 2 && op.ms >= 0, JSON.stringify(op));
  assert.ok(err?.kind === 'error' && err.op === 'append' && err.code === ErrorCode.CONFLICT, JSON.stringify(err));
});

monitor.run();
