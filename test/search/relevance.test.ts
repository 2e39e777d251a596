import { setTimeout as sleep } from 'node:timers/promises';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { MemoryBackend } from '../../src/backends/memory/memory-backend.js';
import { type ChatStore, openChatStore } from '../../src/chat/chat-store.js';
import { ErrorCode, FfcdbError } from '../../src/kernel/errors.js';
import type { SearchOptions } from '../../src/search/query-options.js';

/** A small fixed corpus: each query below has a known best answer. */
const CORPUS: Record<string, string> = {
  k8s: 'Our Kubernetes deployment failed: the deployment rollout of the Kubernetes pods timed out.',
  k8sAside: 'We talked about lunch, the weather, the football results, holidays, and kubernetes briefly, then about the budget for next year and the new office chairs.',
  bread: 'My sourdough starter is bubbly; sourdough needs a long, slow fermentation.',
  breadAside: 'Bought flour, eggs, milk and a sourdough loaf at the market this morning.',
  ml: 'Machine learning models need clean training data.',
  mlApart: 'The learning curve of this machine is steep.',
  rare: 'The quokka is a small marsupial found on Rottnest Island.',
  common1: 'The island ferry leaves the harbour at noon.',
  common2: 'We took the ferry to the island and back.',
  common3: 'An island holiday with a ferry ride sounds nice.',
};

async function corpus(): Promise<{ chat: ChatStore; ids: Map<string, string> }> {
  const chat = await openChatStore({ backend: new MemoryBackend() });
  await chat.users.create({ userId: 'alice' });
  const s = await chat.sessions.create({ userId: 'alice', title: 'Misc' });
  const ids = new Map<string, string>();
  for (const [name, content] of Object.entries(CORPUS)) ids.set((await chat.messages.add(s.sessionId, { role: 'user', content })).messageId, name);
  await chat.sessions.create({ userId: 'alice', title: 'Sourdough baking', sessionId: 'baking' });
  return { chat, ids };
}

const cases: [query: string, best: string, options?: { operator: 'or' }][] = [
  // Term frequency: the message about the deployment, not the one that mentions Kubernetes in passing.
  ['kubernetes', 'k8s'],
  ['kubernetes deployment', 'k8s'],
  // Title weight: the session named for it beats messages that use the word.
  ['sourdough', 'session:baking'],
  // The phrase's words together beat the same words apart.
  ['machine learning', 'ml'],
  ['"machine learning"', 'ml'],
  // A rare word outweighs common ones when any may match.
  ['island ferry quokka', 'rare', { operator: 'or' }],
  // A plural finds the singular through its stem.
  ['starters', 'bread'],
];

for (const [query, best, options] of cases) {
  test(`"${query}" ranks ${best} first`, async () => {
    const { chat, ids } = await corpus();
    try {
      const page = await chat.search('alice', query, options ?? {});
      const top = page.items[0]!;
      assert.is(top.kind === 'session' ? `session:${top.itemId}` : ids.get(top.itemId), best);
    } finally {
      await chat.close();
    }
  });
}

test('length normalisation: of two messages using a word once, the shorter ranks higher', async () => {
  const { chat, ids } = await corpus();
  try {
    const names = (await chat.search('alice', 'sourdough', { kinds: ['message'] })).items.map((h) => ids.get(h.itemId));
    assert.equal(names, ['bread', 'breadAside']);
    const island = (await chat.search('alice', 'ferry')).items.map((h) => ids.get(h.itemId));
    assert.equal(island, ['common1', 'common2', 'common3']);
  } finally {
    await chat.close();
  }
});

/** Lines as real mail has them (a mailing-list archive): each case below is a query that once missed or mis-hit. */
const MAIL: Record<string, string> = {
  lisbon: 'We stayed at a quiet hotel in Lisbon for a week.',
  hyphen: 'My hard-drive died again last night.',
  spaced: 'Is the hard drive under warranty?',
  highEnd: 'They compete in the high-end market now.',
  theEnd: 'It worked in the end, after three tries.',
  rpm: 'The RPMs for Red Hat 7.3 are on the mirror.',
  pdf: 'Attached are the PDFs of the slides.',
  list: 'Posted to SpamAssassin-talk yesterday.',
  path: 'The rule lives in lib/Mail/SpamAssassin/Conf.pm now.',
  url1: 'See http://www.spamassassin.org/dist/ for the tarball.',
  url2: 'The FAQ at https://spamassassin.org/faq.html answers it.',
  other: 'Mirror at http://example.com/spamassassin.org/x too.',
  shout: 'HOTELS IN LISBON ARE FULL IN AUGUST',
};

async function mail(): Promise<{ chat: ChatStore; ids: Map<string, string>; sessionId: string; times: Map<string, number> }> {
  const chat = await openChatStore({ backend: new MemoryBackend() });
  await chat.users.create({ userId: 'alice' });
  const s = await chat.sessions.create({ userId: 'alice', title: 'Archive' });
  const ids = new Map<string, string>();
  const times = new Map<string, number>();
  for (const [name, content] of Object.entries(MAIL)) {
    const m = await chat.messages.add(s.sessionId, { role: name === 'rpm' || name === 'pdf' ? 'assistant' : 'user', content });
    ids.set(m.messageId, name);
    times.set(name, m.createdAt);
    // Distinct times, so a time range and "newest first" are exact.
    await sleep(2);
  }
  return { chat, ids, sessionId: s.sessionId, times };
}

const mailCases: [query: string, hits: string[]][] = [
  // A phrase matches each word or its stem: hotels → hotel (and HOTELS, which as all capitals has no stem, as written).
  ['"hotels in lisbon"', ['lisbon', 'shout']],
  ['"hotel in lisbon"', ['lisbon']],
  // A hyphenated word is its parts in a row, and a phrase finds it; written apart or joined alike.
  ['"hard drive"', ['hyphen', 'spaced']],
  ['"hard-drive"', ['hyphen', 'spaced']],
  // Positions stay exact: "the high-end" does not put "the" next to "end".
  ['"in the end"', ['theEnd']],
  ['"the high-end market"', ['highEnd']],
  // Acronym plurals stem to the acronym.
  ['rpm', ['rpm']],
  ['pdf', ['pdf']],
  ['pdfs', ['pdf']],
  // CamelCase and path parts: the whole token lowercased, each segment, each part.
  ['spamassassin', ['list', 'path', 'url1', 'url2', 'other']],
  ['"spam assassin"', ['list', 'path']],
  ['SpamAssassin-talk', ['list']],
];

for (const [query, hits] of mailCases) {
  test(`real mail: ${query} finds ${hits.join(', ')} and nothing else`, async () => {
    const { chat, ids } = await mail();
    try {
      const page = await chat.search('alice', query, { kinds: ['message'] });
      assert.equal(page.items.map((h) => ids.get(h.itemId)).sort(), [...hits].sort());
    } finally {
      await chat.close();
    }
  });
}

test('real mail: an entity search by URL domain finds the messages whose URLs are on that host, www. or not', async () => {
  const { chat, ids } = await mail();
  try {
    const names = async (entity: SearchOptions['entity']) => (await chat.search('alice', '', { entity })).items.map((h) => ids.get(h.itemId)).sort();
    assert.equal(await names('spamassassin.org'), ['url1', 'url2']);
    assert.equal(await names('www.spamassassin.org'), ['url1']);
    assert.equal(await names({ type: 'domain', value: 'SpamAssassin.org' }), ['url1', 'url2']);
    assert.equal(await names('example.com'), ['other']);
    // The whole URL still finds its own message only.
    assert.equal(await names('https://spamassassin.org/faq.html'), ['url2']);
  } finally {
    await chat.close();
  }
});

test('real mail: an empty query with filters lists what they match, newest first, page by page', async () => {
  const { chat, ids, sessionId, times } = await mail();
  try {
    const from = times.get('rpm')!;
    const to = times.get('list')!;
    const inRange = await chat.search('alice', '', { from, to });
    assert.equal(inRange.items.map((h) => ids.get(h.itemId)), ['pdf', 'rpm']);
    assert.is(inRange.total, 2);
    assert.ok(inRange.items.every((h) => h.score === 0));
    assert.equal((await chat.search('alice', '', { role: 'assistant' })).items.map((h) => ids.get(h.itemId)), ['pdf', 'rpm']);
    // Exclusions narrow a listing.
    assert.equal((await chat.search('alice', '-rpm', { role: 'assistant' })).items.map((h) => ids.get(h.itemId)), ['pdf']);
    const all = Object.keys(MAIL).reverse();
    const seen: string[] = [];
    let after: string | undefined;
    for (;;) {
      const page = await chat.search('alice', '', { sessionId, kinds: ['message'], limit: 5, ...(after === undefined ? {} : { after }) });
      seen.push(...page.items.map((h) => ids.get(h.itemId)!));
      if (!page.hasMore) break;
      after = page.nextCursor;
    }
    assert.equal(seen, all);
    // Without words, a filter is needed.
    try {
      await chat.search('alice', '');
      assert.unreachable('an empty query without filters is refused');
    } catch (err) {
      assert.instance(err, FfcdbError);
      assert.is((err as FfcdbError).code, ErrorCode.INVALID_ARGUMENT);
    }
  } finally {
    await chat.close();
  }
});

/**
 * FTS5's bm25 is the reference ranking (the bench measures the top-10 overlap
 * with it): its idf, its stems, its order of ties.
 */
async function messages(texts: Record<string, string>, sessionOf: (name: string) => string = () => 'misc'): Promise<{ chat: ChatStore; ids: Map<string, string> }> {
  const chat = await openChatStore({ backend: new MemoryBackend() });
  await chat.users.create({ userId: 'alice' });
  const ids = new Map<string, string>();
  for (const [name, content] of Object.entries(texts)) {
    const sessionId = sessionOf(name);
    await chat.sessions.ensure({ userId: 'alice', sessionId, title: sessionId });
    ids.set((await chat.messages.add(sessionId, { role: 'user', content })).messageId, name);
    // Distinct times: ties order by time.
    await sleep(2);
  }
  return { chat, ids };
}

test('a word in over half of the items weighs almost nothing (idf floored as FTS5 floors it): "the quokka" ranks by quokka alone', async () => {
  const { chat, ids } = await messages({
    // One word longer, four more of "the": ahead if "the" weighed anything.
    many: 'The quokka, the owl, the fox, the cat, the dog.',
    short: 'The quokka swims in a cool and quiet bay.',
    f1: 'The ferry is late.',
    f2: 'The tea is hot.',
    f3: 'The sun is out.',
    f4: 'The bus is full.',
  });
  try {
    const page = await chat.search('alice', 'the quokka', { kinds: ['message'] });
    assert.equal(page.items.map((h) => ids.get(h.itemId)), ['short', 'many']);
  } finally {
    await chat.close();
  }
});

test('a word scores as its stem: every form of it counts, the form asked for no higher', async () => {
  const { chat, ids } = await messages({
    plural: 'The hotels we saw were far from the beach.',
    singular: 'The hotel bar and the hotel pool were both closed all week long.',
    f1: 'The ferry is late again today.',
    f2: 'The tea is hot and sweet.',
    f3: 'The sun is out at last.',
    f4: 'The bus is full of tourists.',
  });
  try {
    const page = await chat.search('alice', 'hotels', { kinds: ['message'] });
    assert.equal(page.items.map((h) => ids.get(h.itemId)), ['singular', 'plural']);
  } finally {
    await chat.close();
  }
});

test('equal scores order oldest first (FTS5 orders them by rowid), not by id, and pages walk them once', async () => {
  // The older message is in the session whose id sorts last.
  const { chat, ids } = await messages({ older: 'A quokka sighting.', newer: 'A quokka sighting.', third: 'A quokka sighting.' }, (name) => (name === 'older' ? 'zz' : name === 'newer' ? 'mm' : 'aa'));
  try {
    const page = await chat.search('alice', 'quokka', { kinds: ['message'] });
    assert.is(new Set(page.items.map((h) => h.score)).size, 1);
    assert.equal(page.items.map((h) => ids.get(h.itemId)), ['older', 'newer', 'third']);
    const seen: string[] = [];
    let after: string | undefined;
    for (;;) {
      const one = await chat.search('alice', 'quokka', { kinds: ['message'], limit: 1, ...(after === undefined ? {} : { after }) });
      seen.push(...one.items.map((h) => ids.get(h.itemId)!));
      if (!one.hasMore) break;
      after = one.nextCursor;
    }
    assert.equal(seen, ['older', 'newer', 'third']);
  } finally {
    await chat.close();
  }
});

test.run();
