import * as assert from 'uvu/assert';
import { openChatStore } from '../../src/chat/chat-store.js';
import { ErrorCode } from '../../src/kernel/errors.js';
import { flatfileSuite } from '../flatfile/unit-helpers.js';
import { chatSuites, fails, failsCleanly, seedSession, withTempDir } from './helpers.js';

chatSuites('chat: users.ensure and sessions.ensure', (test, open) => {
  test('users.ensure creates a missing user and returns an existing one as it is', () =>
    open(async (chat) => {
      const first = await chat.users.ensure({ userId: 'u1', displayName: 'Ann' });
      assert.is(first.created, true);
      assert.is(first.displayName, 'Ann');
      const head = await chat.events.headPosition();
      const again = await chat.users.ensure({ userId: 'u1', displayName: 'Someone else' });
      assert.is(again.created, false);
      assert.is(again.displayName, 'Ann');
      assert.is(await chat.events.headPosition(), head);
    }));

  test('sessions.ensure creates a missing session and returns an existing one as it is', () =>
    open(async (chat) => {
      await chat.users.ensure({ userId: 'u1' });
      const first = await chat.sessions.ensure({ userId: 'u1', sessionId: 'chat-1', title: 'First' });
      assert.equal([first.created, first.title], [true, 'First']);
      const again = await chat.sessions.ensure({ userId: 'u1', sessionId: 'chat-1', title: 'Other' });
      assert.equal([again.created, again.title], [false, 'First']);
    }));

  test('ensure refuses what it cannot create: no id, an unknown user, another user\'s session, a deleted session', () =>
    open(async (chat) => {
      await seedSession(chat);
      await chat.users.create({ userId: 'u2' });
      await failsCleanly(chat, () => chat.users.ensure({} as never), ErrorCode.INVALID_ID, 'user.userId');
      await failsCleanly(chat, () => chat.sessions.ensure({ userId: 'u1', title: 't' } as never), ErrorCode.INVALID_ID, 'session.sessionId');
      await failsCleanly(chat, () => chat.sessions.ensure({ userId: 'nobody', sessionId: 'x', title: 't' }), ErrorCode.NOT_FOUND, 'userId');
      await failsCleanly(chat, () => chat.sessions.ensure({ userId: 'u2', sessionId: 's1', title: 't' }), ErrorCode.CONFLICT, 'session.userId');
      await chat.sessions.delete('s1');
      const err = await fails(chat.sessions.ensure({ userId: 'u1', sessionId: 's1', title: 't' }), ErrorCode.CONFLICT, 'sessionId');
      assert.match(err.message, 'was deleted');
    }));
});

const race = flatfileSuite('chat: ensure across store objects on one folder');

race('two stores racing ensure on the same ids: one creates, both resolve to the same user and session', () =>
  withTempDir(async (dir) => {
    const a = await openChatStore({ dir, durability: 'none' });
    const b = await openChatStore({ dir, durability: 'none' });
    try {
      for (let round = 0; round < 10; round++) {
        const userId = `u${round}`;
        const users = await Promise.all([a.users.ensure({ userId, displayName: 'A' }), b.users.ensure({ userId, displayName: 'B' })]);
        assert.is(users.filter((u) => u.created).length, 1, `round ${round}: one creation`);
        assert.is(users[0]!.displayName, users[1]!.displayName);
        const sessions = await Promise.all([
          a.sessions.ensure({ userId, sessionId: `s${round}`, title: 'A' }),
          b.sessions.ensure({ userId, sessionId: `s${round}`, title: 'B' }),
        ]);
        assert.is(sessions.filter((s) => s.created).length, 1, `round ${round}: one session creation`);
        assert.is(sessions[0]!.title, sessions[1]!.title);
      }
      // One user.created and one session.created per round: no duplicate, no lost creation.
      const types = (await a.events.readAll({ fromPosition: 1, limit: 1000 })).events.map((e) => e.type);
      assert.equal([types.filter((t) => t === 'user.created').length, types.filter((t) => t === 'session.created').length], [10, 10]);
    } finally {
      await a.close();
      await b.close();
    }
  }));

race.run();
