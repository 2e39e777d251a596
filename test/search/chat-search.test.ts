import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { type ChatStore, openChatStore } from '../../src/chat/chat-store.js';
import { MemoryBackend } from '../../src/backends/memory/memory-backend.js';
import { ErrorCode, type FfcdbError } from '../../src/kernel/errors.js';
import { BACKENDS, withChat, withTempDir } from '../chat/helpers.js';
import { filesHolding } from '../../src/testing/files-holding.js';

/** Creates the users the tests write for. */
async function users(chat: ChatStore, ...userIds: string[]): Promise<void> {
  for (const userId of userIds) await chat.users.create({ userId });
}

const ids = (page: { items: { itemId: string }[] }) => page.items.map((h) => h.itemId);

for (const kind of BACKENDS) {
  test(`${kind}: a message is found as soon as its add resolves, by its words, with a highlighted snippet`, () =>
    withChat(kind, async (chat) => {
      await users(chat, 'alice', 'bob');
      const s = await chat.sessions.create({ userId: 'alice', title: 'Trip to Lisbon', tags: ['travel'] });
      const m = await chat.messages.add(s.sessionId, { role: 'user', content: 'Find me a quiet hotel near the river.' });
      const page = await chat.search('alice', 'quiet hotel');
      assert.equal(ids(page), [m.messageId]);
      const hit = page.items[0]!;
      assert.is(hit.kind, 'message');
      assert.is(hit.sessionId, s.sessionId);
      assert.is(hit.role, 'user');
      assert.ok(hit.score > 0);
      assert.is(hit.snippet?.field, 'body');
      assert.equal(hit.snippet!.highlights.map(([a, b]) => hit.snippet!.text.slice(a, b)), ['quiet', 'hotel']);
      assert.ok(page.position >= 1);
    }));

  test(`${kind}: an edited message is found by its new text, not its old; a deleted one is never returned`, () =>
    withChat(kind, async (chat) => {
      await users(chat, 'alice', 'bob');
      const s = await chat.sessions.create({ userId: 'alice', title: 'Notes' });
      const m = await chat.messages.add(s.sessionId, { role: 'user', content: 'the pelican flies' });
      const n = await chat.messages.add(s.sessionId, { role: 'assistant', content: 'a pelican swims' });
      assert.equal(ids(await chat.search('alice', 'pelican')).sort(), [m.messageId, n.messageId].sort());
      await chat.messages.edit(s.sessionId, m.messageId, { content: 'the albatross flies' });
      assert.equal(ids(await chat.search('alice', 'pelican')), [n.messageId]);
      assert.equal(ids(await chat.search('alice', 'albatross')), [m.messageId]);
      await chat.messages.delete(s.sessionId, n.messageId);
      assert.equal(ids(await chat.search('alice', 'pelican')), []);
    }));

  test(`${kind}: a deleted session's messages, title, documents and context leave the results`, () =>
    withChat(kind, async (chat) => {
      await users(chat, 'alice', 'bob');
      const s = await chat.sessions.create({ userId: 'alice', title: 'Zebra plans' });
      await chat.messages.add(s.sessionId, { role: 'user', content: 'zebra crossing' });
      await chat.context.set(s.sessionId, { animal: 'zebra' });
      await chat.documents.upload({ sessionId: s.sessionId, name: 'zebra.txt', mediaType: 'text/plain' }, Buffer.from('x'));
      assert.is((await chat.search('alice', 'zebra')).total, 4);
      await chat.sessions.delete(s.sessionId);
      assert.is((await chat.search('alice', 'zebra')).total, 0);
    }));

  test(`${kind}: a user never sees another user's results`, () =>
    withChat(kind, async (chat) => {
      await users(chat, 'alice', 'bob');
      const a = await chat.sessions.create({ userId: 'alice', title: 'A' });
      const b = await chat.sessions.create({ userId: 'bob', title: 'B' });
      const ma = await chat.messages.add(a.sessionId, { role: 'user', content: 'secret walnut recipe' });
      const mb = await chat.messages.add(b.sessionId, { role: 'user', content: 'secret walnut recipe' });
      assert.equal(ids(await chat.search('alice', 'walnut')), [ma.messageId]);
      assert.equal(ids(await chat.search('bob', 'walnut')), [mb.messageId]);
      assert.equal(ids(await chat.search('carol', 'walnut')), []);
      assert.equal(ids(await chat.search('bob', 'walnut', { sessionId: a.sessionId })), []);
    }));

  test(`${kind}: session titles and tags, document names and analysis text, and context values are searchable`, () =>
    withChat(kind, async (chat) => {
      await users(chat, 'alice', 'bob');
      const s = await chat.sessions.create({ userId: 'alice', title: 'Kayak rental', tags: ['outdoors'] });
      const d = await chat.documents.upload({ sessionId: s.sessionId, name: 'itinerary.pdf', mediaType: 'application/pdf' }, Buffer.from('%PDF'));
      await chat.documents.analyse(d.documentId, { text: 'Day one: paddle to the lighthouse.' });
      await chat.context.set(s.sessionId, { destination: 'Azores', notes: ['bring sunscreen'] });
      const lib = await chat.documents.upload({ userId: 'alice', name: 'passport-scan.png', mediaType: 'image/png' }, Buffer.from('png'));
      assert.equal((await chat.search('alice', 'kayak')).items.map((h) => h.kind), ['session']);
      assert.equal((await chat.search('alice', 'outdoors')).items.map((h) => h.kind), ['session']);
      assert.equal(ids(await chat.search('alice', 'lighthouse')), [d.documentId]);
      assert.equal(ids(await chat.search('alice', 'itinerary')), [d.documentId]);
      assert.equal((await chat.search('alice', 'sunscreen')).items.map((h) => [h.kind, h.itemId]), [['context', s.sessionId]]);
      await chat.context.patch(s.sessionId, { notes: null });
      assert.equal(ids(await chat.search('alice', 'sunscreen')), []);
      assert.equal((await chat.search('alice', 'passport')).items.map((h) => [h.sessionId, h.itemId]), [['', lib.documentId]]);
      await chat.sessions.rename(s.sessionId, 'Canoe rental');
      assert.equal(ids(await chat.search('alice', 'kayak')), []);
      assert.equal(ids(await chat.search('alice', 'canoe')), [s.sessionId]);
    }));
}

test('flatfile: the index persists in segments across a close and reopen, and catches up with writes made since', () =>
  withTempDir(async (dir) => {
    let chat = await openChatStore({ dir, durability: 'none' });
    await users(chat, 'alice');
    const s = await chat.sessions.create({ userId: 'alice', title: 'Persisted' });
    for (let i = 0; i < 30; i++) await chat.messages.add(s.sessionId, { role: 'user', content: `message number ${i} about otters` });
    assert.is((await chat.search('alice', 'otters')).total, 30);
    await chat.close();
    chat = await openChatStore({ dir, durability: 'none' });
    await chat.messages.add(s.sessionId, { role: 'user', content: 'one more otters note' });
    assert.is((await chat.search('alice', 'otters')).total, 31);
    await chat.close();
  }));

test("searchIndexing 'on-write' indexes each write before it resolves; 'on-search' leaves it to the next search", async () => {
  const readsDuringAdd: Record<string, number> = {};
  for (const searchIndexing of ['on-write', 'on-search'] as const) {
    const backend = new MemoryBackend();
    let feedReads = 0;
    const readAll = backend.readAll.bind(backend);
    backend.readAll = (from) => {
      feedReads++;
      return readAll(from);
    };
    const chat = await openChatStore({ backend, searchIndexing });
    await users(chat, 'alice');
    const s = await chat.sessions.create({ userId: 'alice', title: 'Indexed when?' });
    const before = feedReads;
    await chat.messages.add(s.sessionId, { role: 'user', content: 'the heron waits' });
    readsDuringAdd[searchIndexing] = feedReads - before;
    assert.is((await chat.search('alice', 'heron')).total, 1);
    await chat.close();
  }
  // The same add, the same projections: the extra reads are the index taking the new event in.
  assert.ok(readsDuringAdd['on-write']! > readsDuringAdd['on-search']!, JSON.stringify(readsDuringAdd));
});

test('a searchIndexing other than on-search or on-write is refused, naming the option', async () => {
  try {
    await openChatStore({ backend: new MemoryBackend(), searchIndexing: 'always' as never });
    assert.unreachable('expected INVALID_ARGUMENT');
  } catch (err) {
    assert.is((err as FfcdbError).code, ErrorCode.INVALID_ARGUMENT);
    assert.is((err as FfcdbError).details?.field, 'searchIndexing');
  }
});

test('a purge leaves none of the session text in the search index files, whether the index read it from its segments or its memory, or is not open', () =>
  withTempDir(async (dir) => {
    const stamp = Date.now().toString(36);
    const [first, second] = [`firstmarker${stamp}q`, `secondmarker${stamp}q`];
    let chat = await openChatStore({ dir, durability: 'none' });
    await users(chat, 'alice');
    const gone = await chat.sessions.create({ userId: 'alice', title: `about ${first}` });
    const kept = await chat.sessions.create({ userId: 'alice', title: 'kept' });
    await chat.messages.add(gone.sessionId, { role: 'user', content: `my ${first} message and otters` });
    await chat.messages.add(kept.sessionId, { role: 'user', content: 'otters stay' });
    assert.is((await chat.search('alice', first)).total, 2);
    // Closing writes the index's segments: the marker is in its files now.
    await chat.close();
    assert.ok(filesHolding(path.join(dir, 'search'), first).length > 0, 'the marker is in the index files before the purge');
    chat = await openChatStore({ dir, durability: 'none' });
    assert.is((await chat.search('alice', first)).total, 2);
    // A message written out, then deleted: only its tombstoned copy in a file holds its text.
    const deleted = `deletedmarker${stamp}q`;
    const doomed = await chat.messages.add(gone.sessionId, { role: 'user', content: `soon deleted ${deleted}` });
    assert.is((await chat.search('alice', deleted)).total, 1);
    await chat.close();
    chat = await openChatStore({ dir, durability: 'none' });
    await chat.messages.delete(gone.sessionId, doomed.messageId);
    assert.is((await chat.search('alice', deleted)).total, 0);
    assert.ok(filesHolding(path.join(dir, 'search'), deleted).length > 0, 'the deleted message is in a file');
    // One more in the memory segment, beside those in the files.
    await chat.messages.add(gone.sessionId, { role: 'user', content: `a second ${first} note` });
    const other = await chat.sessions.create({ userId: 'alice', title: `other ${second}` });
    await chat.sessions.delete(gone.sessionId, { purge: true });
    assert.equal(filesHolding(dir, first), []);
    assert.equal(filesHolding(dir, deleted), []);
    assert.is((await chat.search('alice', first)).total, 0);
    assert.is((await chat.search('alice', 'otters')).total, 1);
    await chat.close();
    assert.ok(filesHolding(path.join(dir, 'search'), second).length > 0, 'the second marker is in a file');
    // A store that has not searched since it opened still rewrites the index files it finds.
    chat = await openChatStore({ dir, durability: 'none' });
    await chat.sessions.delete(other.sessionId, { purge: true });
    assert.equal(filesHolding(dir, second), []);
    await chat.close();
    assert.equal(filesHolding(dir, second), []);
  }));

test('a search after the store closed is refused with CLOSED, not answered from a closed index', () =>
  withTempDir(async (dir) => {
    const chat = await openChatStore({ dir, durability: 'none' });
    await users(chat, 'alice');
    await chat.sessions.create({ userId: 'alice', title: 'Before closing' });
    assert.is((await chat.search('alice', 'closing')).total, 1);
    await chat.close();
    try {
      await chat.search('alice', 'closing');
      assert.unreachable('expected CLOSED');
    } catch (err) {
      assert.is((err as { code?: string }).code, 'CLOSED');
    }
  }));

test.run();
