import * as assert from 'uvu/assert';
import { CHAT_PROJECTIONS } from '../../src/projections/index.js';
import { sessionsProjection } from '../../src/projections/sessions.js';
import { MemoryBackend } from '../../src/backends/memory/memory-backend.js';
import { openChatStore } from '../../src/chat/chat-store.js';
import type { EventStore } from '../../src/engine/event-store.js';
import { ErrorCode } from '../../src/kernel/errors.js';
import { MemorySnapshotStore } from '../../src/projector/snapshot-store.js';
import { flatfileSuite, rejected } from '../flatfile/unit-helpers.js';
import { ProjectionLog, SpySnapshotStore, memoryStore, openRunner, renamed, titlesProjection, withCommits } from './helpers.js';

/**
 * A purge erases a session's events, its `session.deleted` included: the feed
 * has gaps where they were. A state that saw the session's first events but
 * not its deletion (a runner that lagged behind the purge, or a snapshot older
 * than it) must not keep the purged session.
 */
const test = flatfileSuite('projections: purged streams');

const created = (title: string) => ({ type: 'session.created', data: { userId: 'u1', title } });

/** What the chat API does to delete with purge: record the deletion, then erase the stream. */
async function deleteAndPurge(store: EventStore, sessionId: string): Promise<void> {
  await store.append(`s-${sessionId}`, { type: 'session.deleted', data: { purge: true } });
  await store.purgeStream(`s-${sessionId}`);
}

test('a runner that saw a session created but not its deletion before the purge erased both drops the session when it catches up', async () => {
  const store = await memoryStore();
  await store.append('s-keep', created('keep'));
  await store.append('s-gone', created('gone'));
  // A follower in another process: it has applied both creations, then lags.
  const log = new ProjectionLog();
  const runner = await openRunner(withCommits(store), CHAT_PROJECTIONS, { monitor: log.monitor });
  assert.ok(runner.state(sessionsProjection).sessions.has('gone'));
  await deleteAndPurge(store, 'gone');
  await store.append('s-keep', renamed('keep2'));
  await runner.catchUp();
  // It cannot know which stream the gaps were: every projection that had read events replays from the start.
  assert.equal(log.of('rebuilt').map((e) => [e.name, e.position]), CHAT_PROJECTIONS.map((p) => [p.name, 4]));
  assert.match(log.of('rebuilt')[0]!.detail!, /purged/);
  assert.not.ok(runner.state(sessionsProjection).sessions.has('gone'), 'the purged session is gone from the follower');
  assert.is(runner.state(sessionsProjection).sessions.get('keep')!.title, 'keep2');
  for (const p of CHAT_PROJECTIONS) {
    const c = await runner.compare(p.name);
    assert.ok(c.identical, `${p.name}: ${c.differences.join('\n')}`);
  }
  await runner.close();
});

test('a runner replaying from the start steps over gaps without rebuilding again', async () => {
  const store = await memoryStore();
  await store.append('s-keep', created('keep'));
  await store.append('s-gone', created('gone'));
  await deleteAndPurge(store, 'gone');
  await store.append('s-keep', renamed('keep2'));
  const log = new ProjectionLog();
  const runner = await openRunner(store, CHAT_PROJECTIONS, { monitor: log.monitor });
  assert.equal(log.of('rebuilt'), []);
  assert.is(runner.position, 4);
  assert.equal([...runner.state(sessionsProjection).sessions.keys()], ['keep']);
  await runner.close();
});

test('a snapshot taken before a purge does not bring the purged session back on reopen', async () => {
  const store = await memoryStore();
  const snapshots = new MemorySnapshotStore();
  await store.append('s-gone', created('gone'));
  await store.append('s-keep', created('keep'));
  await (await openRunner(store, CHAT_PROJECTIONS, { snapshots })).close();
  // Later (another process, or this one before it crashed without saving again):
  await deleteAndPurge(store, 'gone');
  const runner = await openRunner(store, CHAT_PROJECTIONS, { snapshots });
  assert.not.ok(runner.state(sessionsProjection).sessions.has('gone'));
  assert.ok(runner.state(sessionsProjection).sessions.has('keep'));
  for (const p of CHAT_PROJECTIONS) assert.ok((await runner.compare(p.name)).identical, p.name);
  await runner.close();
});

test('through the chat API: a store that crashed after a purge, with a snapshot from before it, reopens without the purged session', async () => {
  const backend = new MemoryBackend();
  const snapshots = new MemorySnapshotStore();
  const chat = await openChatStore({ backend, snapshots, snapshotEvery: 5 });
  await chat.users.create({ userId: 'u1' });
  await chat.sessions.create({ userId: 'u1', sessionId: 'secret', title: 'Medical history' });
  await chat.messages.add('secret', { role: 'user', content: 'private' });
  await chat.context.set('secret', { diagnosis: 'private' });
  await chat.sessions.create({ userId: 'u1', sessionId: 'other', title: 'Other' });
  await chat.sessions.delete('secret', { purge: true });
  await rejected(chat.sessions.get('secret'));
  // The process dies here: no close, so the last snapshot is the periodic one from before the purge.
  const reopened = await openChatStore({ backend, snapshots });
  assert.is((await rejected(reopened.sessions.get('secret'))).code, ErrorCode.NOT_FOUND);
  assert.is((await rejected(reopened.messages.count('secret'))).code, ErrorCode.NOT_FOUND);
  assert.is((await rejected(reopened.context.get('secret'))).code, ErrorCode.NOT_FOUND);
  assert.equal((await reopened.sessions.list('u1')).items.map((s) => s.sessionId), ['other']);
  for (const name of reopened.projections.names) {
    const c = await reopened.projections.compare(name);
    assert.ok(c.identical, `${name}: ${c.differences.join('\n')}`);
  }
  await reopened.close();
});

test('positions left as gaps at the end of the feed are part of the checkpoint: reopening does not rebuild for them again and again', async () => {
  const store = await memoryStore();
  const snapshots = new SpySnapshotStore();
  await store.append('s-keep', created('keep'));
  await store.append('s-gone', created('gone'));
  const first = await openRunner(store, CHAT_PROJECTIONS, { snapshots });
  await deleteAndPurge(store, 'gone');
  await first.catchUp();
  await first.close();
  for (let i = 0; i < 2; i++) {
    const log = new ProjectionLog();
    const titles = titlesProjection();
    const runner = await openRunner(store, [...CHAT_PROJECTIONS, titles], { snapshots, monitor: log.monitor });
    assert.equal(log.of('rebuilt').filter((e) => e.name !== 'titles'), [], `reopen ${i + 1} rebuilt nothing`);
    assert.equal(log.of('loaded').filter((e) => e.name !== 'titles').map((e) => e.position), CHAT_PROJECTIONS.map(() => 3));
    assert.is(runner.position, 3);
    await runner.close();
  }
});

test('a snapshot that stepped over trailing gaps, reopened on a log cut back below them, still applies the events that later take those positions', async () => {
  const snapshots = new MemorySnapshotStore();
  const keepEvent = { ...created('keep'), id: 'e-keep' };
  const before = await memoryStore();
  await before.append('s-keep', keepEvent);
  await before.append('s-gone', created('gone'));
  await deleteAndPurge(before, 'gone');
  // Its last event is at 1; it reflects positions up to 3.
  const runner = await openRunner(before, CHAT_PROJECTIONS, { snapshots });
  assert.is(runner.position, 3);
  await runner.close();
  assert.equal(await snapshots.load('sessions').then((x) => [x!.eventPosition, x!.position]), [1, 3]);
  // The same log, having lost everything after its first event (same id); then new events take positions 2 and 3.
  const cut = await memoryStore();
  await cut.append('s-keep', keepEvent);
  const reopened = await openRunner(withCommits(cut), CHAT_PROJECTIONS, { snapshots });
  await cut.append('s-new', created('new'));
  await cut.append('s-new', renamed('new2'));
  await reopened.catchUp();
  assert.is(reopened.state(sessionsProjection).sessions.get('new')?.title, 'new2');
  for (const p of CHAT_PROJECTIONS) assert.ok((await reopened.compare(p.name)).identical, p.name);
  await reopened.close();
});

test('a snapshot that stepped over trailing gaps is discarded when a log cut back below them has since given those positions to new events', async () => {
  const snapshots = new MemorySnapshotStore();
  const keepEvent = { ...created('keep'), id: 'e-keep' };
  const before = await memoryStore();
  await before.append('s-keep', keepEvent);
  await before.append('s-gone', created('gone'));
  await deleteAndPurge(before, 'gone');
  await (await openRunner(before, CHAT_PROJECTIONS, { snapshots })).close();
  assert.equal(await snapshots.load('sessions').then((x) => [x!.eventPosition, x!.position]), [1, 3]);
  // The log lost everything after its first event, and two new events took positions 2 and 3 before the reopen.
  const cut = await memoryStore();
  await cut.append('s-keep', keepEvent);
  await cut.append('s-new', created('new'));
  await cut.append('s-new', renamed('new2'));
  const log = new ProjectionLog();
  const reopened = await openRunner(cut, CHAT_PROJECTIONS, { snapshots, monitor: log.monitor });
  assert.equal(log.of('snapshot-discarded').length, CHAT_PROJECTIONS.length);
  assert.is(reopened.state(sessionsProjection).sessions.get('new')?.title, 'new2');
  await reopened.close();
});

test.run();
