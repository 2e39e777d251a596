import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { MemoryBackend } from '../../src/backends/memory/memory-backend.js';
import { type ChatStore, openChatStore } from '../../src/chat/chat-store.js';

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

test.run();
