import { setTimeout as sleep } from 'node:timers/promises';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { MemoryBackend } from '../../src/backends/memory/memory-backend.js';
import { type ChatStore, openChatStore } from '../../src/chat/chat-store.js';
import type { NewMessage } from '../../src/chat/messages-api.js';
import { ErrorCode, FfcdbError } from '../../src/kernel/errors.js';

interface Fixture {
  chat: ChatStore;
  /** Message ids by name. */
  m: Record<string, string>;
  travel: string;
  work: string;
  /** A time between the first and the later messages. */
  middle: number;
}

/** One user with two sessions, and a second user with the same words. */
async function fixture(): Promise<Fixture> {
  const chat = await openChatStore({ backend: new MemoryBackend() });
  for (const userId of ['alice', 'bob']) await chat.users.create({ userId });
  const travel = (await chat.sessions.create({ userId: 'alice', title: 'Lisbon trip', tags: ['travel'] })).sessionId;
  const work = (await chat.sessions.create({ userId: 'alice', title: 'Work notes', tags: ['work'] })).sessionId;
  const other = (await chat.sessions.create({ userId: 'bob', title: 'Bob things', tags: ['travel'] })).sessionId;
  const m: Record<string, string> = {};
  const add = async (name: string, sessionId: string, role: string, content: NewMessage['content']) => {
    m[name] = (await chat.messages.add(sessionId, { role, content })).messageId;
  };
  await add('hotel', travel, 'user', 'Book a quiet hotel near the old tram line.');
  await add('tram', travel, 'assistant', 'The tram 28 passes the old cathedral; hotels near it are noisy.');
  await sleep(5);
  const middle = Date.now();
  await sleep(5);
  await add('embedding', work, 'user', 'Compute the embedding vectors with getUserName and user_name fields.');
  await add('embedded', work, 'assistant', [
    { type: 'text', text: 'The embedded database runs quietly.' },
    { type: 'reasoning', text: 'They asked about the hotel booking earlier.' },
  ]);
  await add('running', work, 'user', 'I was running the migration at https://example.com/docs today.');
  await chat.messages.add(other, { role: 'user', content: 'quiet hotel embedding tram running' });
  return { chat, m, travel, work, middle };
}

const ids = (page: { items: { kind: string; itemId: string }[] }) => page.items.filter((h) => h.kind === 'message').map((h) => h.itemId).sort();
const named = (f: Fixture, ...names: string[]) => names.map((n) => f.m[n]!).sort();

function withFixture(name: string, fn: (f: Fixture) => Promise<void>): void {
  test(name, async () => {
    const f = await fixture();
    try {
      await fn(f);
    } finally {
      await f.chat.close();
    }
  });
}

async function refused(p: Promise<unknown>, code: string, field: string): Promise<void> {
  try {
    await p;
  } catch (err) {
    assert.instance(err, FfcdbError);
    assert.is((err as FfcdbError).code, code);
    assert.is((err as FfcdbError).details.field, field);
    return;
  }
  assert.unreachable(`expected ${code} on ${field}`);
}

withFixture('words are all required by default; operator or asks for any', async (f) => {
  assert.equal(ids(await f.chat.search('alice', 'quiet hotel')), named(f, 'hotel'));
  assert.equal(ids(await f.chat.search('alice', 'cathedral migration')), []);
  assert.equal(ids(await f.chat.search('alice', 'cathedral migration', { operator: 'or' })), named(f, 'tram', 'running'));
});

withFixture('a quoted phrase needs its words adjacent and in order', async (f) => {
  assert.equal(ids(await f.chat.search('alice', '"old tram line"')), named(f, 'hotel'));
  assert.equal(ids(await f.chat.search('alice', '"tram old"')), []);
  assert.equal(ids(await f.chat.search('alice', 'old tram')), named(f, 'hotel', 'tram'));
  assert.equal(ids(await f.chat.search('alice', '"the old"')), named(f, 'hotel', 'tram'));
});

withFixture('a prefix matches every word that starts with it', async (f) => {
  assert.equal(ids(await f.chat.search('alice', 'embed*')), named(f, 'embedding', 'embedded'));
  assert.equal(ids(await f.chat.search('alice', 'EMBEDD*')), named(f, 'embedding', 'embedded'));
  assert.equal(ids(await f.chat.search('alice', 'hotel quiet*')), named(f, 'hotel', 'embedded'));
});

withFixture('exclusions drop the matches of a word, phrase or prefix', async (f) => {
  assert.equal(ids(await f.chat.search('alice', 'tram -cathedral')), named(f, 'hotel'));
  assert.equal(ids(await f.chat.search('alice', 'tram -"old tram"')), named(f, 'tram'));
  assert.equal(ids(await f.chat.search('alice', 'user')), named(f, 'embedding'));
  assert.equal(ids(await f.chat.search('alice', 'user -embed*')), []);
});

withFixture('stems: a word finds its other forms; identifiers and URLs are found whole and by part', async (f) => {
  assert.equal(ids(await f.chat.search('alice', 'run')), named(f, 'running', 'embedded'));
  assert.equal(ids(await f.chat.search('alice', 'hotels')), named(f, 'hotel', 'tram', 'embedded'));
  assert.equal(ids(await f.chat.search('alice', 'getUserName')), named(f, 'embedding'));
  assert.equal(ids(await f.chat.search('alice', 'username')), []);
  assert.equal(ids(await f.chat.search('alice', 'user_name')), named(f, 'embedding'));
  // A compound's parts do not bring their stems: running_late is not "run".
  assert.equal(ids(await f.chat.search('alice', 'running_late')), []);
  assert.equal(ids(await f.chat.search('alice', 'example.com')), named(f, 'running'));
  assert.equal(ids(await f.chat.search('alice', 'https://example.com/docs')), named(f, 'running'));
});

withFixture('reasoning parts are searchable, ranked below the same words said in text', async (f) => {
  const page = await f.chat.search('alice', 'hotel booking', { operator: 'or' });
  assert.ok(ids(page).includes(f.m.embedded!));
  const reasoningHit = page.items.find((h) => h.itemId === f.m.embedded)!;
  assert.is(reasoningHit.snippet?.field, 'reasoning');
});

withFixture('filters: session, role, time range, tag and kind, each alone and together', async (f) => {
  const q = 'the';
  assert.equal(ids(await f.chat.search('alice', q, { sessionId: f.travel })), named(f, 'hotel', 'tram'));
  assert.equal(ids(await f.chat.search('alice', q, { role: 'assistant' })), named(f, 'tram', 'embedded'));
  assert.equal(ids(await f.chat.search('alice', q, { role: ['user', 'tool'] })), named(f, 'hotel', 'embedding', 'running'));
  assert.equal(ids(await f.chat.search('alice', q, { from: f.middle })), named(f, 'embedding', 'embedded', 'running'));
  assert.equal(ids(await f.chat.search('alice', q, { to: f.middle })), named(f, 'hotel', 'tram'));
  assert.equal(ids(await f.chat.search('alice', q, { tag: 'work' })), named(f, 'embedding', 'embedded', 'running'));
  assert.equal(ids(await f.chat.search('alice', q, { tag: 'work', role: 'assistant', from: f.middle })), named(f, 'embedded'));
  assert.equal(ids(await f.chat.search('alice', q, { tag: 'nope' })), []);
  const sessionsOnly = await f.chat.search('alice', 'lisbon', { kinds: ['session'] });
  assert.equal(sessionsOnly.items.map((h) => [h.kind, h.itemId]), [['session', f.travel]]);
  assert.equal((await f.chat.search('alice', 'lisbon', { kinds: ['message'] })).items, []);
});

withFixture('a tag filter follows the session\'s current tags', async (f) => {
  await f.chat.sessions.tag(f.travel, ['archive']);
  assert.equal(ids(await f.chat.search('alice', 'tram', { tag: 'travel' })), []);
  assert.equal(ids(await f.chat.search('alice', 'tram', { tag: 'archive' })), named(f, 'hotel', 'tram'));
});

withFixture('pages: a cursor walks every match once, in score order', async (f) => {
  const all = await f.chat.search('alice', 'the', { limit: 100 });
  assert.is(all.total, 5);
  const seen: string[] = [];
  let after: string | undefined;
  for (;;) {
    const page = await f.chat.search('alice', 'the', after === undefined ? { limit: 2 } : { limit: 2, after });
    seen.push(...page.items.map((h) => h.itemId));
    assert.is(page.total, 5);
    if (!page.hasMore) break;
    after = page.nextCursor;
  }
  assert.equal(seen, all.items.map((h) => h.itemId));
  for (let i = 1; i < all.items.length; i++) assert.ok(all.items[i - 1]!.score >= all.items[i]!.score);
});

test('pages: a cursor works for the longest ids (512 bytes, every byte escaped in its JSON)', async () => {
  const chat = await openChatStore({ backend: new MemoryBackend() });
  try {
    await chat.users.create({ userId: 'alice' });
    const sessionId = '"'.repeat(512);
    await chat.sessions.create({ userId: 'alice', sessionId, title: 'Quotes' });
    const messageIds = ['1', '2'].map((n) => `${'\\'.repeat(511)}${n}`);
    for (const messageId of messageIds) await chat.messages.add(sessionId, { messageId, role: 'user', content: 'quokka' });
    const first = await chat.search('alice', 'quokka', { limit: 1 });
    assert.ok(first.hasMore);
    const second = await chat.search('alice', 'quokka', { limit: 1, after: first.nextCursor! });
    assert.equal([...first.items, ...second.items].map((h) => h.itemId), messageIds);
    assert.not.ok(second.hasMore);
  } finally {
    await chat.close();
  }
});

withFixture('bad queries and options are refused, naming the field', async (f) => {
  await refused(f.chat.search('alice', ''), ErrorCode.INVALID_ARGUMENT, 'query');
  await refused(f.chat.search('alice', '-hotel'), ErrorCode.INVALID_ARGUMENT, 'query');
  await refused(f.chat.search('alice', '!!! ???'), ErrorCode.INVALID_ARGUMENT, 'query');
  await refused(f.chat.search('alice', 'a*'), ErrorCode.INVALID_ARGUMENT, 'query');
  await refused(f.chat.search('alice', 'x'.repeat(1_001)), ErrorCode.INVALID_ARGUMENT, 'query');
  await refused(f.chat.search('alice', 42 as never), ErrorCode.INVALID_ARGUMENT, 'query');
  await refused(f.chat.search('al\nice', 'hotel'), ErrorCode.INVALID_ID, 'userId');
  await refused(f.chat.search('alice', 'hotel', { sessionId: '' }), ErrorCode.INVALID_ID, 'sessionId');
  await refused(f.chat.search('alice', 'hotel', { operator: 'xor' as never }), ErrorCode.INVALID_ARGUMENT, 'operator');
  await refused(f.chat.search('alice', 'hotel', { limit: 0 }), ErrorCode.INVALID_ARGUMENT, 'limit');
  await refused(f.chat.search('alice', 'hotel', { limit: 101 }), ErrorCode.INVALID_ARGUMENT, 'limit');
  await refused(f.chat.search('alice', 'hotel', { from: Number.NaN }), ErrorCode.INVALID_ARGUMENT, 'from');
  await refused(f.chat.search('alice', 'hotel', { role: '' }), ErrorCode.INVALID_ARGUMENT, 'role');
  await refused(f.chat.search('alice', 'hotel', { tag: '' }), ErrorCode.INVALID_ARGUMENT, 'tag');
  await refused(f.chat.search('alice', 'hotel', { kinds: ['panel' as never] }), ErrorCode.INVALID_ARGUMENT, 'kinds');
  await refused(f.chat.search('alice', 'hotel', { after: 'garbage' }), ErrorCode.INVALID_ARGUMENT, 'after');
  await refused(f.chat.search('alice', 'hotel', { colour: 'red' } as never), ErrorCode.INVALID_ARGUMENT, 'options.colour');
  await refused(f.chat.search('alice', 'hotel', null as never), ErrorCode.INVALID_ARGUMENT, 'options');
  await refused(f.chat.search('alice', 'hotel', { waitFor: -1 }), ErrorCode.INVALID_ARGUMENT, 'waitFor');
});

test.run();
