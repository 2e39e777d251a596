import * as assert from 'uvu/assert';
import type { JsonObject } from '../../src/events/fields.js';
import { ErrorCode } from '../../src/kernel/errors.js';
import { rng } from '../flatfile/unit-helpers.js';
import { chatSuites, fails, failsCleanly, seedSession, sleep } from './helpers.js';

chatSuites('chat: context', (test, open) => {
  test('a new session has the empty context at version 0', () =>
    open(async (chat) => {
      await seedSession(chat);
      const c = await chat.context.get('s1');
      assert.equal(c.context, {});
      assert.is(c.version, 0);
      assert.is(c.at, undefined);
      assert.is(c.sessionId, 's1');
      assert.ok(c.position > 0);
    }));

  test('set replaces the whole context; get returns the current one', () =>
    open(async (chat) => {
      await seedSession(chat);
      const first = await chat.context.set('s1', { summary: 'Planning a trip', goals: ['book flights'] });
      assert.is(first.version, 1);
      assert.equal(first.context, { summary: 'Planning a trip', goals: ['book flights'] });
      assert.ok(first.at! > 0);
      const second = await chat.context.set('s1', { mood: 'calm' });
      assert.is(second.version, 2);
      const got = await chat.context.get('s1');
      assert.equal(got.context, { mood: 'calm' });
      assert.is(got.version, 2);
      assert.is(got.at, second.at);
    }));

  test('patch is an RFC 7386 merge patch: objects merge, null removes, arrays and scalars replace', () =>
    open(async (chat) => {
      await seedSession(chat);
      await chat.context.set('s1', { user: { name: 'Ada', city: 'London', langs: ['en', 'fr'] }, goal: 'x', keep: 1 });
      const patched = await chat.context.patch('s1', { user: { city: 'Paris', langs: ['it'], pet: { kind: 'cat' } }, goal: null, added: [1, { a: 2 }] });
      assert.equal(patched.context, { user: { name: 'Ada', city: 'Paris', langs: ['it'], pet: { kind: 'cat' } }, keep: 1, added: [1, { a: 2 }] });
      assert.is(patched.version, 2);
      const again = await chat.context.patch('s1', { user: { pet: null }, keep: { now: 'object' }, added: 'scalar' });
      assert.equal(again.context, { user: { name: 'Ada', city: 'Paris', langs: ['it'] }, keep: { now: 'object' }, added: 'scalar' });
      // Removing a key that is not there changes nothing, and is still a change in the history.
      const noop = await chat.context.patch('s1', { missing: null });
      assert.equal(noop.context, again.context);
      assert.is(noop.version, 4);
      // A key named __proto__ is refused rather than risking the prototype.
      await failsCleanly(chat, () => chat.context.patch('s1', JSON.parse('{"__proto__": {"polluted": true}}')), ErrorCode.INVALID_ARGUMENT, 'patch.__proto__');
      assert.is(({} as Record<string, unknown>).polluted, undefined);
      assert.equal((await chat.context.get('s1')).context, again.context);
    }));

  test('history lists every change with what it did, paged by fromVersion and limit', () =>
    open(async (chat) => {
      await seedSession(chat);
      await chat.context.set('s1', { a: 1 });
      await chat.context.patch('s1', { b: 2 });
      await chat.context.patch('s1', { a: null });
      await chat.context.set('s1', { c: 3 });
      await chat.context.patch('s1', { d: { e: 4 } });
      const all = await chat.context.history('s1');
      assert.equal(
        all.changes.map((c) => [c.version, c.op, c.value]),
        [
          [1, 'set', { a: 1 }],
          [2, 'patch', { b: 2 }],
          [3, 'patch', { a: null }],
          [4, 'set', { c: 3 }],
          [5, 'patch', { d: { e: 4 } }],
        ],
      );
      assert.is(all.hasMore, false);
      assert.ok(all.position > 0);
      for (const c of all.changes) {
        assert.ok(c.at > 0 && c.position > 0 && c.streamVersion > 1);
      }
      const page1 = await chat.context.history('s1', { limit: 2 });
      assert.equal(
        page1.changes.map((c) => c.version),
        [1, 2],
      );
      assert.is(page1.hasMore, true);
      const page2 = await chat.context.history('s1', { fromVersion: 3, limit: 2 });
      assert.equal(
        page2.changes.map((c) => c.version),
        [3, 4],
      );
      assert.is(page2.hasMore, true);
      const page3 = await chat.context.history('s1', { fromVersion: 5, limit: 2 });
      assert.equal(
        page3.changes.map((c) => c.version),
        [5],
      );
      assert.is(page3.hasMore, false);
      assert.equal((await chat.context.history('s1', { fromVersion: 9 })).changes, []);
      await fails(chat.context.history('s1', { fromVersion: 0 }), ErrorCode.INVALID_ARGUMENT, 'fromVersion');
      await fails(chat.context.history('s1', { limit: 0 }), ErrorCode.INVALID_ARGUMENT, 'limit');
      await fails(chat.context.history('s1', { limit: 1001 }), ErrorCode.INVALID_ARGUMENT, 'limit');
    }));

  test('get asOf a version rebuilds the context after that many changes; 0 is {}; beyond the history is NOT_FOUND', () =>
    open(async (chat) => {
      await seedSession(chat);
      const expected: JsonObject[] = [{}];
      expected.push((await chat.context.set('s1', { a: 1, list: [1] })).context);
      expected.push((await chat.context.patch('s1', { b: { c: 2 } })).context);
      expected.push((await chat.context.set('s1', { fresh: true })).context);
      expected.push((await chat.context.patch('s1', { fresh: null, b: 3 })).context);
      expected.push((await chat.context.patch('s1', { list: ['x'] })).context);
      for (let v = 0; v < expected.length; v++) {
        const c = await chat.context.get('s1', { asOf: { version: v } });
        assert.equal(c.context, expected[v], `version ${v}`);
        assert.is(c.version, v);
      }
      assert.is((await chat.context.get('s1', { asOf: { version: 0 } })).at, undefined);
      await fails(chat.context.get('s1', { asOf: { version: 6 } }), ErrorCode.NOT_FOUND, 'asOf.version');
      await fails(chat.context.get('s1', { asOf: { version: -1 } }), ErrorCode.INVALID_ARGUMENT, 'asOf.version');
      await fails(chat.context.get('s1', { asOf: { version: 1.5 } }), ErrorCode.INVALID_ARGUMENT, 'asOf.version');
    }));

  test('get asOf a time gives the context as it stood then, as ms or Date', () =>
    open(async (chat) => {
      await seedSession(chat);
      await sleep(3);
      const before = Date.now();
      await sleep(3);
      const v1 = await chat.context.set('s1', { step: 1 });
      await sleep(3);
      const between = Date.now();
      await sleep(3);
      const v2 = await chat.context.patch('s1', { step: 2 });
      assert.equal((await chat.context.get('s1', { asOf: { time: before } })).context, {});
      assert.is((await chat.context.get('s1', { asOf: { time: before } })).version, 0);
      assert.equal((await chat.context.get('s1', { asOf: { time: v1.at! } })).context, { step: 1 });
      assert.equal((await chat.context.get('s1', { asOf: { time: new Date(between) } })).context, { step: 1 });
      assert.equal((await chat.context.get('s1', { asOf: { time: v2.at! } })).context, { step: 2 });
      assert.equal((await chat.context.get('s1', { asOf: { time: Date.now() + 60_000 } })).context, { step: 2 });
      await fails(chat.context.get('s1', { asOf: { time: 'yesterday' as never } }), ErrorCode.INVALID_ARGUMENT, 'asOf.time');
      await fails(chat.context.get('s1', { asOf: { time: new Date('nonsense') } }), ErrorCode.INVALID_ARGUMENT, 'asOf.time');
    }));

  test('a named snapshot records the context as it stands; asOf snapshot reads it back; a name taken is CONFLICT', () =>
    open(async (chat) => {
      await seedSession(chat);
      const empty = await chat.context.snapshot('s1', 'start');
      assert.is(empty.version, 0);
      await chat.context.set('s1', { a: 1 });
      await chat.context.patch('s1', { b: 2 });
      const snap = await chat.context.snapshot('s1', 'after b');
      assert.is(snap.name, 'after b');
      assert.is(snap.version, 2);
      assert.ok(snap.at > 0 && snap.streamVersion > 0 && snap.position > 0);
      await chat.context.set('s1', { z: 26 });
      assert.equal((await chat.context.get('s1', { asOf: { snapshot: 'after b' } })).context, { a: 1, b: 2 });
      assert.equal((await chat.context.get('s1', { asOf: { snapshot: 'start' } })).context, {});
      assert.equal((await chat.context.get('s1')).context, { z: 26 });
      await failsCleanly(chat, () => chat.context.snapshot('s1', 'after b'), ErrorCode.CONFLICT, 'name');
      await fails(chat.context.get('s1', { asOf: { snapshot: 'never' } }), ErrorCode.NOT_FOUND, 'asOf.snapshot');
      const list = await chat.context.snapshots('s1');
      assert.equal(
        list.snapshots.map((s) => [s.name, s.version]),
        [
          ['start', 0],
          ['after b', 2],
        ],
      );
      assert.ok(list.position > 0);
      // A snapshot is not a change of the context.
      assert.is((await chat.context.get('s1')).version, 3);
    }));

  test('bad input is refused naming the field, appending nothing', () =>
    open(async (chat) => {
      await seedSession(chat);
      await failsCleanly(chat, () => chat.context.set('s1', ['a'] as never), ErrorCode.INVALID_ARGUMENT, 'context');
      await failsCleanly(chat, () => chat.context.set('s1', null as never), ErrorCode.INVALID_ARGUMENT, 'context');
      await failsCleanly(chat, () => chat.context.set('s1', { big: 'x'.repeat(4 * 1024 * 1024 + 1) }), ErrorCode.INVALID_ARGUMENT, 'context');
      await failsCleanly(chat, () => chat.context.set('s1', { f: (() => 1) as never }), ErrorCode.INVALID_ARGUMENT);
      await failsCleanly(chat, () => chat.context.patch('s1', 'x' as never), ErrorCode.INVALID_ARGUMENT, 'patch');
      await failsCleanly(chat, () => chat.context.snapshot('s1', ''), ErrorCode.INVALID_ID, 'name');
      await failsCleanly(chat, () => chat.context.snapshot('s1', 'a\tb'), ErrorCode.INVALID_ID, 'name');
      await failsCleanly(chat, () => chat.context.set('ghost', {}), ErrorCode.NOT_FOUND, 'sessionId');
      await failsCleanly(chat, () => chat.context.patch('ghost', {}), ErrorCode.NOT_FOUND, 'sessionId');
      await failsCleanly(chat, () => chat.context.snapshot('ghost', 'n'), ErrorCode.NOT_FOUND, 'sessionId');
      await failsCleanly(chat, () => chat.context.set('a\nb', {}), ErrorCode.INVALID_ID, 'sessionId');
      await failsCleanly(chat, () => chat.context.set('../x', {}), ErrorCode.NOT_FOUND, 'sessionId');
      await fails(chat.context.get('ghost'), ErrorCode.NOT_FOUND, 'sessionId');
      await fails(chat.context.snapshots('ghost'), ErrorCode.NOT_FOUND, 'sessionId');
      await fails(chat.context.get('s1', { asOf: {} as never }), ErrorCode.INVALID_ARGUMENT, 'asOf');
      await fails(chat.context.get('s1', { asOf: 3 as never }), ErrorCode.INVALID_ARGUMENT, 'asOf');
      assert.is((await chat.context.get('s1')).version, 0);
    }));

  test('time travel: the context as of every version equals the changes up to it applied in order', () =>
    open(async (chat) => {
      await seedSession(chat);
      const random = rng(7);
      const pick = <T>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)]!;
      const keys = ['a', 'b', 'c', 'd'];
      const value = (depth: number): JsonObject[string] => {
        const r = random();
        if (depth > 1 || r < 0.4) return Math.floor(random() * 100);
        if (r < 0.55) return [Math.floor(random() * 9), 'x'];
        if (r < 0.7) return null;
        return Object.fromEntries(keys.slice(0, 2).map((k) => [k, value(depth + 1)]));
      };
      const states: JsonObject[] = [{}];
      for (let i = 0; i < 40; i++) {
        const change = Object.fromEntries(Array.from({ length: 1 + Math.floor(random() * 3) }, () => [pick(keys), value(0)]));
        const result = random() < 0.2 ? await chat.context.set('s1', JSON.parse(JSON.stringify(change, (_k, v) => (v === null ? 0 : v)))) : await chat.context.patch('s1', change);
        states.push(result.context);
      }
      for (let v = 0; v < states.length; v++) assert.equal((await chat.context.get('s1', { asOf: { version: v } })).context, states[v], `version ${v}`);
      assert.ok((await chat.projections.compare('context')).identical);
    }));
});
