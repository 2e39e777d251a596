import * as assert from 'uvu/assert';
import type { ChatStore } from '../../src/chat/chat-store.js';
import type { Session, SessionListOptions } from '../../src/chat/sessions-api.js';
import { ErrorCode } from '../../src/kernel/errors.js';
import { type TestChat, chatSuites, fails, openTestChat, seedUser, sleep } from './helpers.js';

/** 57 sessions of u1 in three eras a few ms apart (so time filters have clean edges), and 5 of u2. */
async function seed(chat: ChatStore): Promise<{ all: Session[]; eras: number[] }> {
  await seedUser(chat, 'u1');
  await seedUser(chat, 'u2');
  const all: Session[] = [];
  const eras: number[] = [];
  for (let i = 0; i < 57; i++) {
    if (i % 19 === 0) {
      await sleep(3);
      eras.push(Date.now());
      await sleep(3);
    }
    const s = await chat.sessions.create({
      userId: 'u1',
      sessionId: `s${String(i).padStart(2, '0')}`,
      title: i % 4 === 0 ? `Budget review ${i}` : `Chat ${i}`,
      tags: i % 3 === 0 ? ['work'] : ['home'],
    });
    if (i % 5 === 0) await chat.sessions.archive(s.sessionId);
    all.push({ ...s, archived: i % 5 === 0 });
    if (i < 5) await chat.sessions.create({ userId: 'u2', sessionId: `other${i}`, title: `Budget of u2 ${i}`, tags: ['work'] });
  }
  return { all, eras };
}

const ascending = (a: Session, b: Session) => a.createdAt - b.createdAt || (a.sessionId < b.sessionId ? -1 : a.sessionId > b.sessionId ? 1 : 0);

function ids(items: readonly Session[]): string[] {
  return items.map((s) => s.sessionId);
}

/** Every page from the first, following nextCursor; then back from the last page, following prevCursor. Both must give `expected`. */
async function walkBothWays(chat: ChatStore, options: SessionListOptions, expected: string[]): Promise<void> {
  const pages: string[][] = [];
  let page = await chat.sessions.list('u1', options);
  pages.push(ids(page.items));
  while (page.hasMore) {
    assert.ok(page.nextCursor, 'a page with more after it has a nextCursor');
    page = await chat.sessions.list('u1', { ...options, after: page.nextCursor });
    pages.push(ids(page.items));
  }
  const forward = pages.flat();
  assert.equal(forward, expected, 'forward walk');
  assert.is(new Set(forward).size, forward.length, 'forward walk repeats an item');
  for (const p of pages.slice(0, -1)) assert.is(p.length, options.limit ?? 20, 'full pages before the last');

  const back: string[][] = [pages.at(-1)!];
  let cursor = page.prevCursor;
  let hasMore = expected.length > back[0]!.length;
  while (hasMore) {
    assert.ok(cursor, 'a page with more before it has a prevCursor');
    const prev = await chat.sessions.list('u1', { ...options, before: cursor });
    back.unshift(ids(prev.items));
    hasMore = prev.hasMore;
    cursor = prev.prevCursor;
  }
  assert.equal(back.flat(), expected, 'backward walk');
}

chatSuites('chat: session listing', (test, open, kind) => {
  // The read-only tests share one seeded store: seeding is the slow part.
  let shared: TestChat | undefined;
  let data: Promise<{ all: Session[]; eras: number[] }> | undefined;
  test.before(async () => {
    shared = await openTestChat(kind);
    data = seed(shared.chat);
    // A failing seed fails the tests that use it, not the hook (uvu would stop the suite).
    data.catch(() => undefined);
  });
  test.after(async () => {
    await shared?.close();
  });
  const seeded = async (fn: (chat: ChatStore, seed: { all: Session[]; eras: number[] }) => Promise<void>) => fn(shared!.chat, await data!);

  test('newest first by default, 20 to a page, with hasMore and position', () =>
    seeded(async (chat, { all }) => {
      const live = all.filter((s) => !s.archived).sort(ascending).reverse();
      const page = await chat.sessions.list('u1');
      assert.equal(ids(page.items), ids(live).slice(0, 20));
      assert.ok(page.hasMore);
      assert.ok(page.position > 0);
      assert.is(page.position, chat.projections.position);
      assert.is(page.items[0]!.messageCount, 0);
    }));

  test("order 'asc' lists oldest first", () =>
    seeded(async (chat, { all }) => {
      const page = await chat.sessions.list('u1', { order: 'asc', archived: 'any', limit: 1000 });
      assert.equal(ids(page.items), ids([...all].sort(ascending)));
      assert.is(page.hasMore, false);
    }));

  test('limit bounds the page; the last page says hasMore false', () =>
    seeded(async (chat, { all }) => {
      const one = await chat.sessions.list('u1', { archived: 'any', limit: 1 });
      assert.is(one.items.length, 1);
      assert.ok(one.hasMore);
      const exact = await chat.sessions.list('u1', { archived: 'any', limit: all.length });
      assert.is(exact.items.length, all.length);
      assert.is(exact.hasMore, false);
    }));

  test('paging forward and back through 57 sessions, newest first, repeats and skips nothing', () =>
    seeded(async (chat, { all }) => {
      const expected = ids([...all].sort(ascending).reverse());
      for (const limit of [1, 7, 20, 56, 57, 100]) await walkBothWays(chat, { archived: 'any', limit }, expected);
    }));

  test("paging forward and back with order 'asc' repeats and skips nothing", () =>
    seeded(async (chat, { all }) => {
      const expected = ids([...all].sort(ascending));
      for (const limit of [1, 10, 19]) await walkBothWays(chat, { order: 'asc', archived: 'any', limit }, expected);
    }));

  test('a page before the first, or after the last, is empty and says no more', () =>
    seeded(async (chat) => {
      const first = await chat.sessions.list('u1', { archived: 'any', limit: 5 });
      const before = await chat.sessions.list('u1', { archived: 'any', limit: 5, before: first.prevCursor! });
      assert.equal(before.items, []);
      assert.is(before.hasMore, false);
      assert.is(before.nextCursor, undefined);
      const last = await chat.sessions.list('u1', { archived: 'any', limit: 5, order: 'asc' });
      const beyond = await chat.sessions.list('u1', { archived: 'any', limit: 5, after: last.prevCursor! });
      assert.equal(beyond.items, []);
    }));

  test('filter by tag', () =>
    seeded(async (chat, { all }) => {
      const page = await chat.sessions.list('u1', { tag: 'work', archived: 'any', limit: 1000 });
      assert.equal(ids(page.items), ids(all.filter((s) => s.tags.includes('work')).sort(ascending).reverse()));
      assert.equal((await chat.sessions.list('u1', { tag: 'none' })).items, []);
    }));

  test('filter by title: a substring, ignoring case', () =>
    seeded(async (chat, { all }) => {
      const expected = ids(all.filter((s) => s.title.includes('Budget')).sort(ascending).reverse());
      for (const title of ['budget', 'BUDGET REV', 'et rev']) {
        assert.equal(ids((await chat.sessions.list('u1', { title, archived: 'any', limit: 1000 })).items), expected, title);
      }
    }));

  test("filter by archived: false by default, true, or 'any'", () =>
    seeded(async (chat, { all }) => {
      const desc = [...all].sort(ascending).reverse();
      const list = async (archived?: boolean | 'any') => ids((await chat.sessions.list('u1', archived === undefined ? { limit: 1000 } : { archived, limit: 1000 })).items);
      assert.equal(await list(), ids(desc.filter((s) => !s.archived)));
      assert.equal(await list(false), ids(desc.filter((s) => !s.archived)));
      assert.equal(await list(true), ids(desc.filter((s) => s.archived)));
      assert.equal(await list('any'), ids(desc));
    }));

  test('filter by creation time: createdFrom inclusive, createdTo exclusive, as ms or Date', () =>
    seeded(async (chat, { all, eras }) => {
      const desc = [...all].sort(ascending).reverse();
      const [, second, third] = eras as [number, number, number];
      const middle = await chat.sessions.list('u1', { archived: 'any', limit: 1000, createdFrom: second, createdTo: new Date(third) });
      assert.equal(ids(middle.items), ids(desc.filter((s) => s.createdAt >= second && s.createdAt < third)));
      assert.is(middle.items.length, 19);
      const from = await chat.sessions.list('u1', { archived: 'any', limit: 1000, createdFrom: new Date(third) });
      assert.equal(ids(from.items), ids(desc.slice(0, 19)));
      const to = await chat.sessions.list('u1', { archived: 'any', limit: 1000, createdTo: second });
      assert.equal(ids(to.items), ids(desc.slice(38)));
      // createdFrom at a session's own createdAt includes it; createdTo there leaves it out.
      const pivot = desc[10]!;
      const at = await chat.sessions.list('u1', { archived: 'any', limit: 1000, createdFrom: pivot.createdAt, createdTo: pivot.createdAt + 1 });
      assert.ok(ids(at.items).includes(pivot.sessionId));
      const upTo = await chat.sessions.list('u1', { archived: 'any', limit: 1000, createdTo: pivot.createdAt });
      assert.not.ok(ids(upTo.items).includes(pivot.sessionId));
    }));

  test('combined filters page forward and back without repeats or gaps', () =>
    seeded(async (chat, { all, eras }) => {
      const keep = (s: Session) => s.tags.includes('home') && !s.archived && s.createdAt >= eras[1]! && s.title.toLowerCase().includes('chat');
      const options: SessionListOptions = { tag: 'home', title: 'CHAT', createdFrom: eras[1]!, limit: 3 };
      await walkBothWays(chat, options, ids(all.filter(keep).sort(ascending).reverse()));
      await walkBothWays(chat, { ...options, order: 'asc' }, ids(all.filter(keep).sort(ascending)));
    }));

  test('a cursor keeps working after the session it names is deleted', () =>
    open(async (chat) => {
      const { all } = await seed(chat);
      const desc = ids([...all].sort(ascending).reverse());
      const first = await chat.sessions.list('u1', { archived: 'any', limit: 10 });
      await chat.sessions.delete(first.items.at(-1)!.sessionId);
      const next = await chat.sessions.list('u1', { archived: 'any', limit: 10, after: first.nextCursor! });
      assert.equal(ids(next.items), desc.slice(10, 20));
      const back = await chat.sessions.list('u1', { archived: 'any', limit: 10, before: next.prevCursor! });
      assert.equal(ids(back.items), desc.slice(0, 9));
    }));

  test("a user's listing never shows another user's sessions", () =>
    seeded(async (chat) => {
      const u2 = await chat.sessions.list('u2', { archived: 'any', limit: 1000 });
      assert.equal(ids(u2.items).sort(), ['other0', 'other1', 'other2', 'other3', 'other4']);
      const u1 = await chat.sessions.list('u1', { archived: 'any', limit: 1000, title: 'u2' });
      assert.equal(u1.items, []);
      assert.ok((await chat.sessions.list('u1', { archived: 'any', limit: 1000 })).items.every((s) => s.userId === 'u1'));
      // A cursor from u1's listing does not lead into u2's sessions.
      const p1 = await chat.sessions.list('u1', { archived: 'any', limit: 5 });
      const crossed = await chat.sessions.list('u2', { archived: 'any', limit: 1000, after: p1.nextCursor! });
      assert.ok(crossed.items.every((s) => s.userId === 'u2'));
    }));

  test('bad listing options are INVALID_ARGUMENT naming the option', () =>
    seeded(async (chat) => {
      const page = await chat.sessions.list('u1', { limit: 5 });
      const messageCursor = Buffer.from(JSON.stringify([3])).toString('base64url');
      for (const limit of [0, 1001, -1, 1.5, '5', null]) await fails(chat.sessions.list('u1', { limit: limit as never }), ErrorCode.INVALID_ARGUMENT, 'limit');
      for (const cursor of ['garbage', '', 'x'.repeat(600), messageCursor, Buffer.from('{"a":1}').toString('base64url'), 17]) {
        await fails(chat.sessions.list('u1', { after: cursor as never }), ErrorCode.INVALID_ARGUMENT, 'after');
        await fails(chat.sessions.list('u1', { before: cursor as never }), ErrorCode.INVALID_ARGUMENT, 'before');
      }
      await fails(chat.sessions.list('u1', { after: page.nextCursor!, before: page.prevCursor! }), ErrorCode.INVALID_ARGUMENT, 'before');
      await fails(chat.sessions.list('u1', { order: 'newest' as never }), ErrorCode.INVALID_ARGUMENT, 'order');
      await fails(chat.sessions.list('u1', { archived: 'yes' as never }), ErrorCode.INVALID_ARGUMENT, 'archived');
      await fails(chat.sessions.list('u1', { tag: 3 as never }), ErrorCode.INVALID_ARGUMENT, 'tag');
      await fails(chat.sessions.list('u1', { title: {} as never }), ErrorCode.INVALID_ARGUMENT, 'title');
      await fails(chat.sessions.list('u1', { createdFrom: 'yesterday' as never }), ErrorCode.INVALID_ARGUMENT, 'createdFrom');
      await fails(chat.sessions.list('u1', { createdTo: new Date('nonsense') }), ErrorCode.INVALID_ARGUMENT, 'createdTo');
      await fails(chat.sessions.list('u1', null as never), ErrorCode.INVALID_ARGUMENT, 'options');
      await fails(chat.sessions.list('u1', { waitFor: (await chat.events.headPosition()) + 10 }), ErrorCode.INVALID_ARGUMENT, 'waitFor');
    }));
});
