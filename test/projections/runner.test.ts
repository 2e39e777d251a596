import * as assert from 'uvu/assert';
import { Subject } from 'rxjs';
import { sessionsProjection } from '../../src/projections/sessions.js';
import { ErrorCode, ioError } from '../../src/kernel/errors.js';
import { MemoryBackend } from '../../src/backends/memory/memory-backend.js';
import { openChatStore } from '../../src/chat/chat-store.js';
import type { MonitorEvent } from '../../src/engine/monitor.js';
import { MemorySnapshotStore } from '../../src/projector/snapshot-store.js';
import { flatfileSuite, rejected } from '../flatfile/unit-helpers.js';
import { ProjectionLog, SpySnapshotStore, appendRenames, memoryStore, openRunner, renamed, titlesProjection, until, withCommits } from './helpers.js';

const test = flatfileSuite('projections: runner');

const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);

test('catch-up on open applies every event in global position order, across streams, batches and feed pages', async () => {
  const store = await memoryStore();
  // 2,500 events cross the runner's 1,000-event feed pages; batches of 1-7 interleave three streams.
  let n = 0;
  for (let i = 0; n < 2500; i++) {
    const size = 1 + (i % 7);
    await store.append(['s-a', 's-b', 's-c'][i % 3]!, Array.from({ length: size }, () => renamed(`t${n++}`)));
  }
  const titles = titlesProjection();
  const runner = await openRunner(store, [titles]);
  const state = runner.state(titles);
  assert.equal(state.positions, range(1, n));
  assert.is(runner.position, n);
  assert.is(titles.applied, n);
  await runner.close();
});

test('later commits are applied in position order as the runner catches up, whichever stream they are in', async () => {
  const store = await memoryStore();
  const titles = titlesProjection();
  const runner = await openRunner(withCommits(store), [titles]);
  assert.is(runner.position, 0);
  const positions = await appendRenames(store, 9, ['s-x', 's-y']);
  assert.is(await runner.catchUp(4), 4);
  assert.equal(runner.state(titles).positions, [1, 2, 3, 4]);
  assert.is(await runner.catchUp(), 9);
  assert.equal(runner.state(titles).positions, positions);
  assert.is(runner.state(titles).titles.get('s-x'), 'T8');
  await runner.close();
});

test('waitFor resolves once the position is reflected, even when nothing told the runner about the commit', async () => {
  const store = await memoryStore();
  const titles = titlesProjection();
  // No commits reach this runner: only waitFor can move it.
  const runner = await openRunner(withCommits(store), [titles]);
  const [, , third] = await appendRenames(store, 3);
  assert.is(runner.position, 0, 'the runner did not move by itself');
  const reflected = await runner.waitFor(third!);
  assert.ok(reflected >= third!);
  assert.equal(runner.state(titles).positions, [1, 2, 3]);
  // Already reflected: resolves at once with the current position.
  assert.is(await runner.waitFor(1), 3);
  assert.is(await runner.waitFor(0), 3);
  await runner.close();
});

test('waitFor refuses a position beyond the head, and a position that is not a non-negative integer, with INVALID_ARGUMENT', async () => {
  const store = await memoryStore();
  const titles = titlesProjection();
  const runner = await openRunner(store, [titles]);
  await appendRenames(store, 2);
  const beyond = await rejected(runner.waitFor(3));
  assert.is(beyond.code, ErrorCode.INVALID_ARGUMENT);
  assert.match(beyond.message, /beyond the feed's head 2/);
  for (const bad of [-1, 1.5, Number.NaN, '2' as unknown as number]) {
    assert.is((await rejected(runner.waitFor(bad))).code, ErrorCode.INVALID_ARGUMENT, String(bad));
  }
  // The refused wait did not move the runner past the head: the next event still arrives.
  await store.append('s-a', renamed('later'));
  await runner.waitFor(3);
  assert.is(runner.state(titles).titles.get('s-a'), 'LATER');
  await runner.close();
});

test('events of schema versions newer than the code, or with payloads apply cannot take, are skipped and reported as event-skipped, not fatal; types outside the catalog are passed over', async () => {
  const store = await memoryStore();
  const log = new ProjectionLog();
  const titles = titlesProjection();
  await store.append('s-a', renamed('one')); // 1
  await store.append('s-a', { type: 'panel.opened', data: { x: 1 } }); // 2: not in the catalog
  await store.append('s-a', { type: 'session.renamed', data: { title: 'v9' }, schemaVersion: 9 }); // 3: newer than the catalog knows
  await store.append('s-a', { type: 'session.renamed', data: null }); // 4: apply throws
  await store.append('s-a', renamed('two')); // 5
  const runner = await openRunner(store, [titles], { monitor: log.monitor });
  assert.is(runner.position, 5);
  assert.equal(runner.state(titles).positions, [1, 5]);
  assert.is(runner.state(titles).titles.get('s-a'), 'TWO');
  const skipped = log.of('event-skipped');
  assert.equal(skipped.map((e) => [e.name, e.position]), [['titles', 3], ['titles', 4]]);
  assert.match(skipped[0]!.detail!, /session\.renamed .*schema version 9/);
  assert.match(skipped[1]!.detail!, /session\.renamed/);
  // Skipping is deterministic: a rebuild skips the same events and agrees.
  const comparison = await runner.compare('titles');
  assert.ok(comparison.identical, comparison.differences.join('\n'));
  // And the runner keeps following after the skips.
  await store.append('s-b', { type: 'session.renamed', data: null });
  await store.append('s-b', renamed('three'));
  await runner.waitFor(7);
  assert.equal(runner.state(titles).positions, [1, 5, 7]);
  await runner.close();
});

test('unhandled sees, as recorded and in order, every event apply does not get: other types (in the catalog or not) and events the catalog refuses', async () => {
  const store = await memoryStore();
  await store.append('s-a', renamed('ok')); // 1: applied
  await store.append('s-a', { type: 'panel.opened', data: { x: 1 } }); // 2: outside the catalog
  await store.append('s-a', { type: 'message.deleted', data: { messageId: 'm' } }); // 3: not handled
  await store.append('s-a', { type: 'session.renamed', data: { title: 'v9' }, schemaVersion: 9 }); // 4: refused
  await store.append('s-a', { type: 'session.renamed', data: null }); // 5: refused
  const seen: Array<[number, string]> = [];
  const titles = titlesProjection();
  titles.unhandled = (_state, e) => void seen.push([e.position, e.type]);
  const runner = await openRunner(store, [titles]);
  assert.equal(runner.state(titles).positions, [1]);
  assert.equal(seen, [[2, 'panel.opened'], [3, 'message.deleted'], [4, 'session.renamed'], [5, 'session.renamed']]);
  await runner.close();
});

test('events of types a projection does not handle never reach its apply step', async () => {
  const store = await memoryStore();
  const titles = titlesProjection();
  await store.append('s-a', { type: 'message.deleted', data: { messageId: 'm1' } });
  await store.append('u-1', { type: 'user.created', data: { userId: '1' } });
  const runner = await openRunner(store, [titles]);
  assert.is(titles.applied, 0);
  assert.is(runner.position, 2);
  await runner.close();
});

test('a commit feed that fails (a read error while polling for other processes) is reported on the monitor, not thrown from a timer', async () => {
  const store = await memoryStore();
  const commits$ = new Subject<number>();
  const monitor = new ProjectionLog().monitor;
  const errors: MonitorEvent[] = [];
  monitor.events$.subscribe((e) => e.kind === 'error' && errors.push(e));
  const runner = await openRunner(withCommits(store, commits$), [titlesProjection()], { monitor });
  // Without an error handler on the runner's subscription, rxjs would throw this from a timer and end the process.
  commits$.error(ioError(Object.assign(new Error('EIO'), { code: 'EIO' }), 'purged', 'fstat'));
  await new Promise((resolve) => setTimeout(resolve, 10));
  assert.equal(errors.map((e) => `${(e as { op: string }).op} ${(e as { code: string }).code}`), ['projections-follow IO']);
  await runner.close();
  await store.close();
});

test('snapshots are saved every snapshotEvery positions and on close, each with the position and id of the last event it reflects', async () => {
  const store = await memoryStore();
  const snapshots = new SpySnapshotStore();
  const log = new ProjectionLog();
  const runner = await openRunner(withCommits(store), [titlesProjection()], { snapshots, snapshotEvery: 5, monitor: log.monitor });
  assert.equal(snapshots.saves, [], 'nothing to save on opening an empty store');
  const ids: string[] = [];
  for (let i = 0; i < 12; i++) {
    const r = await store.append('s-a', renamed(`t${i}`));
    ids.push((await store.readAll({ fromPosition: r.lastPosition, limit: 1 })).events[0]!.id);
    await runner.catchUp(r.lastPosition);
  }
  assert.equal(snapshots.saves.map((s) => s.position), [5, 10]);
  assert.equal(snapshots.saves.map((s) => s.eventId), [ids[4], ids[9]]);
  await runner.close();
  assert.equal(snapshots.saves.map((s) => s.position), [5, 10, 12]);
  assert.is(snapshots.saves[2]!.eventId, ids[11]);
  assert.equal(log.of('snapshot-saved').map((e) => e.position), [5, 10, 12]);
  // A second close saves nothing more.
  await runner.close();
  assert.is(snapshots.saves.length, 3);
});

test('a catch-up that covers snapshotEvery positions in one go saves once, at its end', async () => {
  const store = await memoryStore();
  await appendRenames(store, 23);
  const snapshots = new SpySnapshotStore();
  const runner = await openRunner(store, [titlesProjection()], { snapshots, snapshotEvery: 10 });
  assert.equal(snapshots.saves.map((s) => s.position), [23]);
  await runner.close();
});

test('reopening loads the snapshot and replays only the events after it', async () => {
  const store = await memoryStore();
  const snapshots = new MemorySnapshotStore();
  await appendRenames(store, 10);
  const first = titlesProjection();
  const runner1 = await openRunner(store, [first], { snapshots });
  assert.is(first.applied, 10);
  await runner1.close();
  await appendRenames(store, 3, ['s-d'], 'late');

  const log = new ProjectionLog();
  const second = titlesProjection();
  const runner2 = await openRunner(store, [second], { snapshots, monitor: log.monitor });
  assert.equal(log.of('loaded').map((e) => [e.name, e.position]), [['titles', 10]]);
  assert.equal(log.of('rebuilt'), []);
  assert.is(second.applied, 3, 'only the three events after the snapshot were applied');
  assert.equal(runner2.state(second).positions, range(1, 13));
  assert.is(runner2.state(second).titles.get('s-d'), 'LATE2');
  const comparison = await runner2.compare('titles');
  assert.ok(comparison.identical, comparison.differences.join('\n'));
  await runner2.close();
});

test('projections with snapshots at different positions each replay from their own, and the runner reports the lowest until caught up', async () => {
  const store = await memoryStore();
  const snapshots = new MemorySnapshotStore();
  await appendRenames(store, 4);
  const a1 = titlesProjection({ name: 'a' });
  await (await openRunner(store, [a1], { snapshots })).close();
  await appendRenames(store, 4);
  const a2 = titlesProjection({ name: 'a' });
  const b = titlesProjection({ name: 'b' });
  const runner = await openRunner(store, [a2, b], { snapshots });
  assert.is(a2.applied, 4, 'a replayed from its snapshot at 4');
  assert.is(b.applied, 8, 'b had none and replayed all');
  assert.equal(runner.state(a2).positions, range(1, 8));
  assert.equal(runner.state(b).positions, range(1, 8));
  await runner.close();
});

test('a snapshot of another projection version is not loaded: the projection is rebuilt from the feed and reported as rebuilt', async () => {
  const store = await memoryStore();
  const snapshots = new MemorySnapshotStore();
  await appendRenames(store, 6);
  await (await openRunner(store, [titlesProjection({ version: 1 })], { snapshots })).close();
  const log = new ProjectionLog();
  const v2 = titlesProjection({ version: 2 });
  const runner = await openRunner(store, [v2], { snapshots, monitor: log.monitor });
  assert.equal(log.of('rebuilt').map((e) => e.name), ['titles']);
  assert.match(log.of('rebuilt')[0]!.detail!, /version 1.*version 2/);
  assert.equal(log.of('loaded'), []);
  assert.is(v2.applied, 6);
  await runner.close();
  // The version-2 snapshot saved on close is loaded next time.
  const again = new ProjectionLog();
  const v2b = titlesProjection({ version: 2 });
  await (await openRunner(store, [v2b], { snapshots, monitor: again.monitor })).close();
  assert.equal(again.of('loaded').map((e) => e.position), [6]);
  assert.is(v2b.applied, 0);
});

test('a snapshot that ran ahead of the log (the log was cut back below it) is discarded and the state rebuilt from what the log holds', async () => {
  const snapshots = new MemorySnapshotStore();
  const before = await memoryStore();
  await appendRenames(before, 8);
  await (await openRunner(before, [titlesProjection()], { snapshots })).close();
  // The same log, having lost its last five events.
  const cut = await memoryStore();
  await appendRenames(cut, 3);
  const log = new ProjectionLog();
  const titles = titlesProjection();
  const runner = await openRunner(cut, [titles], { snapshots, monitor: log.monitor });
  assert.equal(log.of('snapshot-discarded').map((e) => [e.name, e.position]), [['titles', 8]]);
  assert.equal(log.of('loaded'), []);
  assert.equal(runner.state(titles).positions, [1, 2, 3]);
  assert.is(runner.position, 3);
  await runner.close();
});

test('a snapshot whose position now holds a different event (the log lost its tail and others wrote past it) is discarded', async () => {
  const snapshots = new MemorySnapshotStore();
  const before = await memoryStore();
  await appendRenames(before, 5);
  await (await openRunner(before, [titlesProjection()], { snapshots })).close();
  const other = await memoryStore();
  await appendRenames(other, 9, ['s-q'], 'other');
  const log = new ProjectionLog();
  const titles = titlesProjection();
  const runner = await openRunner(other, [titles], { snapshots, monitor: log.monitor });
  assert.equal(log.of('snapshot-discarded').map((e) => e.position), [5]);
  assert.equal([...runner.state(titles).titles], [['s-q', 'OTHER8']]);
  assert.is(titles.applied, 9);
  await runner.close();
});

test('a snapshot whose last event was purged since (a gap now) is still loaded: no other event can take that position', async () => {
  const store = await memoryStore();
  const snapshots = new MemorySnapshotStore();
  await appendRenames(store, 3, ['s-keep']);
  await store.append('s-gone', renamed('bye')); // 4: the snapshot's last event
  await (await openRunner(store, [titlesProjection()], { snapshots })).close();
  await store.purgeStream('s-gone');
  await store.append('s-keep', renamed('after')); // 5
  const log = new ProjectionLog();
  const titles = titlesProjection();
  const runner = await openRunner(store, [titles], { snapshots, monitor: log.monitor });
  assert.equal(log.of('loaded').map((e) => e.position), [4]);
  assert.is(titles.applied, 1);
  assert.is(runner.position, 5);
  await runner.close();
});

test('catch-up steps over positions left as gaps by purged streams and ends at the head', async () => {
  const store = await memoryStore();
  await store.append('s-a', renamed('a1'));
  await store.append('s-gone', [renamed('g1'), renamed('g2')]);
  await store.append('s-a', renamed('a2'));
  await store.append('s-gone', renamed('g3'));
  await store.purgeStream('s-gone');
  const titles = titlesProjection();
  const runner = await openRunner(store, [titles]);
  assert.equal(runner.state(titles).positions, [1, 4]);
  assert.is(runner.position, 5);
  assert.is(await runner.waitFor(5), 5);
  await runner.close();
});

test('compare reports identical, at the live position, for a healthy state', async () => {
  const store = await memoryStore();
  await store.append('s-a', { type: 'session.created', data: { userId: 'u1', title: 'A' } });
  await store.append('s-b', { type: 'session.created', data: { userId: 'u1', title: 'B' } });
  await store.append('s-a', renamed('A2'));
  const runner = await openRunner(store, [sessionsProjection]);
  const c = await runner.compare('sessions');
  assert.equal(c, { name: 'sessions', version: sessionsProjection.version, position: 3, identical: true, differences: [], swapped: false });
  await runner.close();
});

test('compare reports a tampered live state as different, naming the paths, and leaves it in place', async () => {
  const store = await memoryStore();
  await store.append('s-a', { type: 'session.created', data: { userId: 'u1', title: 'A' } });
  await store.append('s-b', { type: 'session.created', data: { userId: 'u1', title: 'B' } });
  const runner = await openRunner(store, [sessionsProjection]);
  const live = runner.state(sessionsProjection);
  live.sessions.get('a')!.title = 'tampered';
  live.sessions.delete('b');
  live.sessions.set('zz', { ...live.sessions.get('a')!, sessionId: 'zz' });
  live.byUser.get('u1')!.push('zz');
  const c = await runner.compare('sessions');
  assert.is(c.identical, false);
  assert.is(c.swapped, false);
  assert.ok(c.differences.includes('state.sessions.get("a").title: "tampered" live, "A" rebuilt'), c.differences.join('\n'));
  assert.ok(c.differences.includes('state.sessions.get("zz"): only in the live state'), c.differences.join('\n'));
  assert.ok(c.differences.includes('state.sessions.get("b"): only in the rebuilt state'), c.differences.join('\n'));
  assert.ok(c.differences.includes('state.byUser.get("u1"): 3 items live, 2 rebuilt'), c.differences.join('\n'));
  assert.is(runner.state(sessionsProjection), live, 'compare does not swap');
  assert.is(live.sessions.get('a')!.title, 'tampered');
  await runner.close();
});

test('compare notices a change it cannot name a path for (a key set to undefined)', async () => {
  const store = await memoryStore();
  await store.append('s-a', { type: 'session.created', data: { userId: 'u1', title: 'A' } });
  const runner = await openRunner(store, [sessionsProjection]);
  const a = runner.state(sessionsProjection).sessions.get('a')! as unknown as Record<string, unknown>;
  a.lastMessageAt = undefined;
  const c = await runner.compare('sessions');
  assert.is(c.identical, false);
  assert.ok(c.differences.length > 0, 'the report names where the states differ');
  await runner.close();
});

test('rebuild swaps the rebuilt state in, reports it, and the new state keeps following the feed', async () => {
  const store = await memoryStore();
  const log = new ProjectionLog();
  await store.append('s-a', { type: 'session.created', data: { userId: 'u1', title: 'A' } });
  const runner = await openRunner(store, [sessionsProjection], { monitor: log.monitor });
  const live = runner.state(sessionsProjection);
  live.sessions.get('a')!.title = 'tampered';
  const r = await runner.rebuild('sessions');
  assert.is(r.identical, false);
  assert.is(r.swapped, true);
  assert.equal(r.differences, ['state.sessions.get("a").title: "tampered" live, "A" rebuilt']);
  const now = runner.state(sessionsProjection);
  assert.is.not(now, live);
  assert.is(now.sessions.get('a')!.title, 'A');
  assert.equal(log.of('rebuilt').map((e) => [e.name, e.position]), [['sessions', 1]]);
  await store.append('s-a', renamed('A2'));
  await runner.waitFor(2);
  assert.is(runner.state(sessionsProjection).sessions.get('a')!.title, 'A2');
  assert.is(live.sessions.get('a')!.title, 'tampered', 'the old state is dropped, not updated');
  assert.ok((await runner.compare('sessions')).identical);
  await runner.close();
});

test('compare and rebuild of an unknown projection are NOT_FOUND', async () => {
  const runner = await openRunner(await memoryStore(), [titlesProjection()]);
  assert.is((await rejected(runner.compare('nope'))).code, ErrorCode.NOT_FOUND);
  assert.is((await rejected(runner.rebuild('nope'))).code, ErrorCode.NOT_FOUND);
  await runner.close();
});

test('compare while writes keep landing rebuilds up to the position the live state reached, and agrees', async () => {
  const store = await memoryStore();
  await appendRenames(store, 3000);
  const titles = titlesProjection();
  const runner = await openRunner(store, [titles]);
  const comparing = runner.compare('titles');
  const writes = appendRenames(store, 50, ['s-w'], 'w');
  const [c] = await Promise.all([comparing, writes]);
  assert.ok(c.identical, c.differences.join('\n'));
  assert.ok(c.position >= 3000);
  await runner.waitFor(3050);
  assert.ok((await runner.compare('titles')).identical);
  await runner.close();
});

test('the runner follows commits$: events another writer appends are applied without anyone asking', async () => {
  const store = await memoryStore();
  const commits = new Subject<number>();
  const titles = titlesProjection();
  const runner = await openRunner(withCommits(store, commits), [titles]);
  await appendRenames(store, 4);
  assert.is(runner.position, 0);
  commits.next(4);
  await until(() => runner.position === 4, 2000, 'the runner to reach 4');
  assert.equal(runner.state(titles).positions, [1, 2, 3, 4]);
  // A stale report (a position already reflected) changes nothing.
  commits.next(2);
  await appendRenames(store, 2, ['s-z']);
  commits.next(6);
  await until(() => runner.position === 6, 2000, 'the runner to reach 6');
  assert.equal(runner.state(titles).positions, range(1, 6));
  await runner.close();
  // Once closed it stops following.
  await appendRenames(store, 1);
  commits.next(7);
  await new Promise((resolve) => setTimeout(resolve, 20));
  assert.is(runner.position, 6);
});

test('on a real backend, appends made outside the runner reach it through the store commits', async () => {
  const store = await memoryStore();
  const titles = titlesProjection();
  const runner = await openRunner(store, [titles]);
  const positions = await appendRenames(store, 20);
  await until(() => runner.position === 20, 2000, 'the runner to reach 20');
  assert.equal(runner.state(titles).positions, positions);
  await runner.close();
});

test('a projection name given twice is refused', async () => {
  const err = await rejected(openRunner(await memoryStore(), [titlesProjection(), titlesProjection()]));
  assert.is(err.code, ErrorCode.INVALID_ARGUMENT);
});

test('state() refuses a projection the runner does not run, even one of the same name', async () => {
  const runner = await openRunner(await memoryStore(), [titlesProjection()]);
  assert.is((await rejected(async () => runner.state(titlesProjection()))).code, ErrorCode.INVALID_ARGUMENT);
  await runner.close();
});

test('a periodic snapshot that cannot be saved does not fail the catch-up (the events are committed): it is reported as an error and tried again later', async () => {
  const store = await memoryStore();
  const saved: number[] = [];
  let failing = true;
  const snapshots = new (class extends MemorySnapshotStore {
    override async save(snapshot: Parameters<MemorySnapshotStore['save']>[0]): Promise<void> {
      if (failing) throw ioError(Object.assign(new Error('no space left on device'), { code: 'ENOSPC' }), '/x/projections/titles.snapshot', 'write');
      saved.push(snapshot.position);
      await super.save(snapshot);
    }
  })();
  const errors: MonitorEvent[] = [];
  const log = new ProjectionLog();
  log.monitor.events$.subscribe((e) => e.kind === 'error' && errors.push(e));
  const titles = titlesProjection();
  const runner = await openRunner(withCommits(store), [titles], { snapshots, snapshotEvery: 2, monitor: log.monitor });
  await appendRenames(store, 3);
  assert.is(await runner.catchUp(3), 3);
  assert.equal(runner.state(titles).positions, [1, 2, 3]);
  assert.is(errors.length, 1);
  assert.match(JSON.stringify(errors[0]), /ENOSPC|no space/);
  failing = false;
  await appendRenames(store, 1);
  await runner.catchUp(4);
  assert.equal(saved, [4], 'saved once saving works again');
  await runner.close();
});

test('through the chat API: a write is not reported as failed because a periodic snapshot could not be saved', async () => {
  const snapshots = new (class extends MemorySnapshotStore {
    override async save(): Promise<void> {
      throw ioError(Object.assign(new Error('no space left on device'), { code: 'ENOSPC' }), '/x/projections/users.snapshot', 'write');
    }
  })();
  const chat = await openChatStore({ backend: new MemoryBackend(), snapshots, snapshotEvery: 1 });
  const user = await chat.users.create({ userId: 'ada' });
  assert.is(user.userId, 'ada');
  assert.is((await chat.users.get('ada')).userId, 'ada');
  await rejected(chat.close());
});

test('a catch-up started by commits$ that fails is reported as an error (not as a skipped event), and the next one starts where it stopped', async () => {
  const store = await memoryStore();
  const commits = new Subject<number>();
  const log = new ProjectionLog();
  const errors: MonitorEvent[] = [];
  log.monitor.events$.subscribe((e) => e.kind === 'error' && errors.push(e));
  const titles = titlesProjection();
  let failReads = false;
  const flaky = new Proxy(store, {
    get(target, key) {
      if (key === 'commits$') return commits;
      if (key === 'readAll' && failReads) return () => Promise.reject(ioError(new Error('EIO'), '/x/feed', 'read'));
      const value: unknown = Reflect.get(target, key, target);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
  const runner = await openRunner(flaky, [titles], { monitor: log.monitor });
  await appendRenames(store, 3);
  failReads = true;
  commits.next(3);
  await until(() => errors.length === 1, 2000, 'the error report');
  assert.equal(log.of('event-skipped'), []);
  assert.is((errors[0] as { op: string }).op, 'projections-follow');
  assert.is((errors[0] as { code: string }).code, ErrorCode.IO);
  assert.is(runner.position, 0);
  failReads = false;
  commits.next(3);
  await until(() => runner.position === 3, 2000, 'the runner to reach 3');
  assert.equal(runner.state(titles).positions, [1, 2, 3]);
  await runner.close();
});

test.run();
