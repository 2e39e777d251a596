/**
 * Fault injection at every file-system call of a chat session on the flatfile backend: open, create a
 * user and a session, add messages, edit and delete one, set, patch and snapshot the context, search,
 * close; with the N-th call failing (see test/support/fault-runner.ts).
 */
import { type ChatStore, openChatStore } from '../../src/chat/chat-store.js';
import fs from 'node:fs';
import * as assert from 'uvu/assert';
import { flatfileSuite, tempRoot } from '../flatfile/unit-helpers.js';
import { interceptFs } from '../support/fs-interceptor.js';
import { type FaultScenario, describeReport, runFaults } from '../support/fault-runner.js';
import { attempt, coverage, probeAppend, takesWrites } from '../support/fault-scenarios.js';

const scenario: FaultScenario = {
  name: 'chat session',
  pinned: [
    { kind: 'EIO', step: 'search', name: 'readdir', file: 'src/search/index-writer.ts', why: 'a raw error from the search index' },
    { kind: 'EIO', step: 'close', name: 'close', file: 'src/search/segment-writer.ts', why: 'a raw error from the search index' },
    { kind: 'short', step: 'close', name: 'writev', file: 'src/search/segment-writer.ts', why: 'a short writev left a search segment cut (CORRUPT)' },
  ],
  async prepare(root) {
    // An existing store, so opening it replays and loads as a real one does.
    const chat = await openChatStore({ dir: root, durability: 'none' });
    await chat.users.create({ userId: 'old', displayName: 'Old user' });
    await chat.close();
  },
  start(root) {
    let chat: ChatStore | undefined;
    return {
      steps: [
        { name: 'open', run: async () => (chat = await openChatStore({ dir: root })) },
        { name: 'users.create', run: () => chat!.users.create({ userId: 'u1', displayName: 'Ann' }) },
        { name: 'sessions.create', run: () => chat!.sessions.create({ userId: 'u1', sessionId: 's1', title: 'Marmalade plans' }) },
        {
          name: 'messages.add',
          run: () =>
            chat!.messages.add('s1', [
              { messageId: 'm1', role: 'user', content: 'How do I make marmalade?' },
              { messageId: 'm2', role: 'assistant', content: 'Seville oranges, sugar and patience.' },
            ]),
        },
        { name: 'messages.edit', run: () => chat!.messages.edit('s1', 'm1', { content: 'How do I make orange marmalade?' }) },
        { name: 'messages.add 2', run: () => chat!.messages.add('s1', { messageId: 'm3', role: 'user', content: 'a mistake' }) },
        { name: 'messages.delete', run: () => chat!.messages.delete('s1', 'm3') },
        { name: 'context.set', run: () => chat!.context.set('s1', { fruit: 'orange', jars: 4 }) },
        { name: 'context.patch', run: () => chat!.context.patch('s1', { jars: 6, sugar: 'cane' }) },
        { name: 'context.snapshot', run: () => chat!.context.snapshot('s1', 'recipe') },
        { name: 'search', run: () => chat!.search('u1', 'marmalade') },
        { name: 'close', run: () => chat!.close() },
      ],
      probe: () => probeAppend(chat!.events),
      abandon: async () => chat?.close(),
    };
  },
  async view(root) {
    const chat = await openChatStore({ dir: root, durability: 'none' });
    try {
      const view = {
        users: await Promise.all(['old', 'u1'].map((id) => attempt(() => chat.users.get(id)))),
        session: await attempt(() => chat.sessions.get('s1')),
        messages: await attempt(() => chat.messages.list('s1', { limit: 100 })),
        history: await attempt(() => chat.messages.history('s1', 'm1')),
        context: await attempt(() => chat.context.get('s1')),
        snapshots: await attempt(() => chat.context.snapshots('s1')),
        contextHistory: await attempt(() => chat.context.history('s1')),
        // The search index is rebuilt or caught up from what the log holds.
        search: await attempt(() => chat.search('u1', 'marmalade')),
        searchOranges: await attempt(() => chat.search('u1', 'oranges')),
      };
      // It takes writes again.
      await takesWrites(chat.events);
      return view;
    } finally {
      await chat.close();
    }
  },
};

const test = flatfileSuite('faults: a chat session with its N-th file-system call failing');

test('every acknowledged chat write survives, the failed one is whole or absent, and every error is typed', async () => {
  console.log(describeReport(await runFaults(scenario, coverage)));
});

test('a failing poll of the log (for other processes\' commits) is reported, and does not end the process', async () => {
  const dir = tempRoot('faults-poll');
  try {
    const chat = await openChatStore({ dir });
    const errors: string[] = [];
    const sub = chat.monitor$.subscribe((e) => {
      if (e.kind === 'error') errors.push(e.op);
    });
    // Idle, the store only polls: every fstat in its folder fails for a while. Before the fix, rxjs threw the poll's error from a timer.
    const uninstall = await interceptFs({ before: (c) => (c.path?.startsWith(dir) && c.name === 'fstat' ? { fail: 'EIO' } : undefined) });
    await new Promise((resolve) => setTimeout(resolve, 150));
    uninstall();
    assert.ok(errors.includes('projections-follow'), `the failed poll is reported: ${errors}`);
    // Its own writes and reads go on.
    await chat.users.create({ userId: 'u2' });
    assert.is((await chat.users.get('u2')).userId, 'u2');
    sub.unsubscribe();
    await chat.close();
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
