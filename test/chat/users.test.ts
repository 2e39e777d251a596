import * as assert from 'uvu/assert';
import { ErrorCode } from '../../src/kernel/errors.js';
import { chatSuites, fails, failsCleanly } from './helpers.js';

chatSuites('chat: users', (test, open) => {
  test('create generates a ULID user id when none is given, and the user reads back', () =>
    open(async (chat) => {
      const user = await chat.users.create({ displayName: 'Ada' });
      assert.match(user.userId, /^[0-9A-HJKMNP-TV-Z]{26}$/);
      assert.is(user.displayName, 'Ada');
      assert.equal(user.profile, {});
      assert.equal(user.preferences, {});
      assert.ok(user.position > 0);
      const again = await chat.users.get(user.userId);
      assert.is(again.displayName, 'Ada');
      assert.is(again.createdAt, user.createdAt);
    }));

  test('create keeps a given user id and every profile field', () =>
    open(async (chat) => {
      const user = await chat.users.create({ userId: 'ada', displayName: 'Ada Lovelace', email: 'ada@example.org', profile: { city: 'London' }, preferences: { theme: 'dark' } });
      assert.is(user.userId, 'ada');
      const got = await chat.users.get('ada');
      assert.is(got.email, 'ada@example.org');
      assert.equal(got.profile, { city: 'London' });
      assert.equal(got.preferences, { theme: 'dark' });
      assert.is(got.version, 1);
    }));

  test('create with a user id already taken is CONFLICT naming userId, and appends nothing', () =>
    open(async (chat) => {
      await chat.users.create({ userId: 'ada', displayName: 'Ada' });
      await failsCleanly(chat, () => chat.users.create({ userId: 'ada', displayName: 'Other' }), ErrorCode.CONFLICT, 'userId');
      assert.is((await chat.users.get('ada')).displayName, 'Ada');
    }));

  test('get of an unknown user is NOT_FOUND naming userId', () =>
    open(async (chat) => {
      await fails(chat.users.get('nobody'), ErrorCode.NOT_FOUND, 'userId');
    }));

  test('update replaces the fields given and keeps the others', () =>
    open(async (chat) => {
      await chat.users.create({ userId: 'ada', displayName: 'Ada', email: 'ada@example.org', profile: { city: 'London', age: 36 }, preferences: { theme: 'dark' } });
      const updated = await chat.users.update('ada', { displayName: 'Countess', profile: { city: 'Paris' } });
      assert.is(updated.displayName, 'Countess');
      // A field given is replaced whole, not merged.
      assert.equal(updated.profile, { city: 'Paris' });
      assert.is(updated.email, 'ada@example.org');
      assert.equal(updated.preferences, { theme: 'dark' });
      assert.is(updated.version, 2);
      assert.ok(updated.updatedAt >= updated.createdAt);
      assert.equal(await chat.users.get('ada').then(({ position: _, ...u }) => u), (({ position: _, ...u }) => u)(updated));
    }));

  test('update of an unknown user is NOT_FOUND naming userId, and appends nothing', () =>
    open(async (chat) => {
      await failsCleanly(chat, () => chat.users.update('nobody', { displayName: 'X' }), ErrorCode.NOT_FOUND, 'userId');
    }));

  test('update that changes nothing is INVALID_ARGUMENT, and appends nothing', () =>
    open(async (chat) => {
      await chat.users.create({ userId: 'ada' });
      await failsCleanly(chat, () => chat.users.update('ada', {}), ErrorCode.INVALID_ARGUMENT);
    }));

  test('update cannot move the change to another user through changes.userId', () =>
    open(async (chat) => {
      await chat.users.create({ userId: 'ada', displayName: 'Ada' });
      await chat.users.create({ userId: 'bob', displayName: 'Bob' });
      await failsCleanly(chat, () => chat.users.update('ada', { userId: 'bob', displayName: 'X' } as never), ErrorCode.INVALID_ARGUMENT, 'changes.userId');
      assert.is((await chat.users.get('ada')).displayName, 'Ada');
      assert.is((await chat.users.get('bob')).displayName, 'Bob');
    }));

  test('bad user ids are INVALID_ID naming the field: control characters, lone surrogates, too long, empty, not a string', () =>
    open(async (chat) => {
      for (const bad of ['a\nb', '\u007F', 'a\uD800', 'x'.repeat(513), '€'.repeat(171), '', 42, null, { id: 'x' }]) {
        await failsCleanly(chat, () => chat.users.create({ userId: bad as never }), ErrorCode.INVALID_ID, 'userId');
        await fails(chat.users.get(bad as never), ErrorCode.INVALID_ID, 'userId');
        await failsCleanly(chat, () => chat.users.update(bad as never, { displayName: 'X' }), ErrorCode.INVALID_ID, 'userId');
      }
      // 512 bytes of UTF-8 is the longest id allowed; paths, dots and spaces are ids like any other.
      for (const userId of ['x'.repeat(512), '€'.repeat(170), '../x', 'a/b', '.hidden', 'ann@example.org']) {
        await chat.users.create({ userId });
        assert.is((await chat.users.get(userId)).userId, userId);
      }
    }));

  test('bad profile fields are INVALID_ARGUMENT naming the field, and append nothing', () =>
    open(async (chat) => {
      await failsCleanly(chat, () => chat.users.create({ userId: 'a', email: 'not an email' }), ErrorCode.INVALID_ARGUMENT, 'user.email');
      await failsCleanly(chat, () => chat.users.create({ userId: 'a', displayName: '' }), ErrorCode.INVALID_ARGUMENT, 'user.displayName');
      await failsCleanly(chat, () => chat.users.create({ userId: 'a', displayName: 'a\nb' }), ErrorCode.INVALID_ARGUMENT, 'user.displayName');
      await failsCleanly(chat, () => chat.users.create({ userId: 'a', profile: ['x'] as never }), ErrorCode.INVALID_ARGUMENT, 'user.profile');
      await failsCleanly(chat, () => chat.users.create({ userId: 'a', nickname: 'x' } as never), ErrorCode.INVALID_ARGUMENT, 'user.nickname');
      await failsCleanly(chat, () => chat.users.create(null as never), ErrorCode.INVALID_ARGUMENT, 'user');
      await failsCleanly(chat, () => chat.users.create('a' as never), ErrorCode.INVALID_ARGUMENT, 'user');
      await chat.users.create({ userId: 'a' });
      await failsCleanly(chat, () => chat.users.update('a', { email: 'x@' }), ErrorCode.INVALID_ARGUMENT, 'changes.email');
      await failsCleanly(chat, () => chat.users.update('a', { preferences: 'dark' as never }), ErrorCode.INVALID_ARGUMENT, 'changes.preferences');
      await failsCleanly(chat, () => chat.users.update('a', null as never), ErrorCode.INVALID_ARGUMENT, 'changes');
      assert.is((await chat.users.get('a')).version, 1);
      // Not bad: a field whose value is undefined is left out, as JSON.stringify leaves it out.
      await chat.users.create({ userId: 'b', email: undefined });
      assert.ok(!('email' in (await chat.users.get('b'))));
    }));

  test('a user read is a copy: changing it does not change the store', () =>
    open(async (chat) => {
      const user = await chat.users.create({ userId: 'a', profile: { city: 'London' } });
      (user.profile as Record<string, unknown>).city = 'Paris';
      const got = await chat.users.get('a');
      (got.profile as Record<string, unknown>).city = 'Rome';
      assert.equal((await chat.users.get('a')).profile, { city: 'London' });
    }));
});
