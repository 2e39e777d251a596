/**
 * A chat store with something of everything a migration must carry (not a
 * test file): users (one updated, one never created but with a library),
 * sessions tagged, renamed, archived; messages with parts, attachments,
 * metadata, edits (with and without attachments and metadata), deletions, an
 * edit of a deleted message; documents in sessions and libraries, analysed,
 * deleted and uploaded again under the same id; context set, patched (keys
 * removed) and snapshotted; a deleted session, a restored one and a purged one; and raw events
 * the chat API would not write (a type outside the catalog, a refused payload,
 * a repeated message id, a v1 message, bytes in a stream of another kind).
 */
import { type ChatStore, openChatStore } from '../../src/chat/chat-store.js';
import type { DurabilityMode } from '../../src/kernel/types.js';

export interface BuiltStore {
  /** Sessions live at the end. */
  live: string[];
  deleted: string;
  purged: string;
}

export async function fillChatStore(chat: ChatStore, options: { bulkMessages?: number } = {}): Promise<BuiltStore> {
  await chat.users.create({ userId: 'ann', displayName: 'Ann', email: 'ann@example.com', profile: { city: 'Lisbon' } });
  await chat.users.create({ userId: 'bob' });
  await chat.users.update('ann', { preferences: { language: 'pt' }, displayName: 'Ann B.' });

  await chat.sessions.create({ userId: 'ann', sessionId: 'main', title: 'Trip', tags: ['travel', 'work'], metadata: { source: 'web' } });
  await chat.sessions.create({ userId: 'ann', sessionId: 'second', title: 'Second' });
  await chat.sessions.create({ userId: 'bob', sessionId: 'deleted', title: 'Going away', tags: ['tmp'] });
  await chat.sessions.create({ userId: 'bob', sessionId: 'purged', title: 'Secret' });
  await chat.sessions.create({ userId: 'ann', sessionId: 'restored', title: 'Back again', tags: ['undo'] });

  const doc = await chat.documents.upload({ sessionId: 'main', documentId: 'd-plan', name: 'plan.txt', mediaType: 'text/plain', metadata: { pages: 2 } }, Buffer.from('the plan'));
  await chat.documents.analyse(doc.documentId, { summary: 'A plan', entities: [{ type: 'place', text: 'Lisbon' }], data: null });
  await chat.documents.analyse(doc.documentId, { text: 'the plan\u0000with a NUL', data: { score: 0.5, tags: ['x'] } });
  const lib = await chat.documents.upload({ userId: 'ann', documentId: 'd-lib', name: 'cv.pdf', mediaType: 'application/pdf' }, Buffer.from('%PDF'));
  await chat.documents.analyse(lib.documentId, { summary: 'A CV' });
  await chat.documents.upload({ sessionId: 'main', documentId: 'd-gone', name: 'old.txt', mediaType: 'text/plain' }, Buffer.from('old'));
  await chat.documents.delete('d-gone');
  await chat.documents.upload({ sessionId: 'second', documentId: 'd-gone', name: 'again.txt', mediaType: 'text/plain' }, Buffer.from('old'));
  await chat.documents.upload({ sessionId: 'deleted', documentId: 'd-of-deleted', name: 'x.txt', mediaType: 'text/plain' }, Buffer.from('x'));

  const [m1, m2, m3] = await chat.messages.add('main', [
    { messageId: 'm1', role: 'user', content: 'Find a hotel.\nQuiet, "please" \\ thanks 😀' },
    {
      messageId: 'm2',
      role: 'assistant',
      content: [
        { type: 'reasoning', text: 'think' },
        { type: 'text', text: 'Here:' },
        { type: 'tool_call', id: 'call-1', name: 'search', arguments: { q: 'hotel', n: 3 } },
        { type: 'image', url: 'https://example.com/a.png', mediaType: 'image/png' },
      ],
      metadata: { model: 'm-1', usage: { inputTokens: 10, outputTokens: 20 }, finishReason: 'stop', latencyMs: 120 },
    },
    { messageId: 'm3', role: 'user', content: 'See the plan', attachments: [{ documentId: 'd-plan', name: 'plan.txt', mediaType: 'text/plain' }] },
  ]);
  await chat.messages.add('main', { messageId: 'm4', role: 'tool', content: [{ type: 'tool_result', toolCallId: 'call-1', content: { hits: [1, 2] }, isError: false }] });
  // The message model's kept fields: extra on the message and its parts, other parts, an app role; an edit keeping extra, then one replacing it.
  await chat.messages.add('main', {
    messageId: 'm5',
    role: 'Critic',
    content: [
      { type: 'text', text: 'Too long.', extra: { state: 'done', providerMetadata: { anthropic: { signature: 'sig' } } } },
      { type: 'other', extra: { type: 'source-url', sourceId: 's1', url: 'https://example.com' } },
    ],
    extra: { name: 'critic', additional_kwargs: {} },
  });
  await chat.messages.edit('main', 'm5', { content: 'Shorter, please.' });
  await chat.messages.edit('main', 'm5', { content: 'Much shorter.', extra: { name: 'critic-2' } });
  await chat.messages.edit('main', m1!.messageId, { content: 'Find a quiet hotel.' });
  await chat.messages.edit('main', m1!.messageId, { content: 'Find a very quiet hotel.', metadata: { edited: true } });
  await chat.messages.edit('main', m3!.messageId, { content: 'See the plan and CV', attachments: [{ documentId: 'd-plan' }, { documentId: 'd-lib', name: 'cv' }] });
  await chat.messages.delete('main', m2!.messageId);
  await chat.messages.add('second', [{ role: 'user', content: 'one' }, { role: 'assistant', content: 'two' }]);
  // Saving as frameworks save: an upsert's edit removing extra, a truncate, a deleted id used again, a sync.
  await chat.messages.upsert('main', { messageId: 'm6', role: 'user', content: 'six', extra: { x: 1 } });
  await chat.messages.upsert('main', { messageId: 'm6', role: 'user', content: 'six!' });
  await chat.messages.add('main', [{ messageId: 'm7', role: 'assistant', content: 'seven' }, { messageId: 'm8', role: 'user', content: 'eight' }]);
  await chat.messages.truncate('main', { after: 'm6' });
  await chat.messages.add('main', { messageId: 'm7', role: 'assistant', content: 'seven again' });
  const kept = (await chat.messages.list('main', { limit: 100 })).items.filter((m) => m.messageId !== 'm4');
  await chat.messages.sync('main', [...kept, { messageId: 'm9', role: 'user', content: 'nine' }]);

  await chat.context.set('main', { summary: 'trip', goals: ['hotel'], budget: { max: 900, currency: 'EUR' } });
  await chat.context.snapshot('main', 'start');
  await chat.context.patch('main', { goals: ['hotel', 'food'], budget: { max: null, min: 100 }, note: 'x' });
  await chat.context.patch('main', { note: null });
  await chat.context.snapshot('main', 'later');
  await chat.context.snapshot('second', 'empty');
  await chat.context.patch('second', { a: { b: { c: 1 } } });

  await chat.sessions.rename('second', 'Second, renamed');
  await chat.sessions.tag('main', ['travel']);
  await chat.sessions.archive('second');
  await chat.sessions.update('second', { tags: ['u1', 'u2'], metadata: { pinned: true } });

  await chat.messages.add('deleted', { role: 'user', content: 'bye' });
  await chat.messages.clear('deleted');
  await chat.messages.add('deleted', { role: 'user', content: 'bye again' });
  await chat.context.set('deleted', { x: 1 });
  await chat.sessions.delete('deleted');
  await chat.messages.add('purged', { role: 'user', content: 'my secret' });
  await chat.documents.upload({ sessionId: 'purged', documentId: 'd-of-purged', name: 'secret.txt', mediaType: 'text/plain' }, Buffer.from('secret'));
  await chat.sessions.delete('purged', { purge: true });
  // Its document's id is free again once the session is purged.
  await chat.documents.upload({ sessionId: 'second', documentId: 'd-of-purged', name: 'reborn.txt', mediaType: 'text/plain' }, Buffer.from('reborn'));
  // Deleted and restored: its messages, document and context come back as they were.
  await chat.messages.add('restored', [{ messageId: 'r1', role: 'user', content: 'before' }, { messageId: 'r2', role: 'assistant', content: 'gone' }]);
  await chat.messages.delete('restored', 'r2');
  await chat.documents.upload({ sessionId: 'restored', documentId: 'd-restored', name: 'kept.txt', mediaType: 'text/plain' }, Buffer.from('kept'));
  await chat.context.set('restored', { step: 1 });
  await chat.context.snapshot('restored', 'one');
  await chat.sessions.delete('restored');
  await chat.events.append('s-restored', { type: 'message.added', data: { messageId: 'while-deleted', role: 'user', content: 'ignored' }, schemaVersion: 2 });
  await chat.sessions.restore('restored');
  await chat.messages.add('restored', { messageId: 'r3', role: 'user', content: 'after' });

  // Raw events, around the chat API's checks: the migration must treat them as the projections do.
  const raw = chat.events;
  await raw.append('s-main', { type: 'app.note', data: { note: 'not in the catalog' } });
  await raw.append('s-main', { type: 'message.added', data: { messageId: 'm1', role: 'user', content: 'a repeated id: ignored' }, schemaVersion: 2 });
  await raw.append('s-main', { type: 'message.added', data: { messageId: 'm-v1', role: 'assistant', content: 'old format', model: 'gpt-x' }, schemaVersion: 1 });
  await raw.append('s-main', { type: 'message.edited', data: { messageId: 'nope', content: 'edit of an unknown message' } });
  await raw.append('s-main', { type: 'message.edited', data: { messageId: 'm2', content: 'edit of a deleted message' } });
  await raw.append('s-main', { type: 'session.renamed', data: { title: '' } });
  await raw.append('s-deleted', { type: 'message.added', data: { messageId: 'late', role: 'user', content: 'after the deletion' }, schemaVersion: 2 });
  await raw.append('s-main', { type: 'session.restored', data: {} });
  await raw.append('u-carl', { type: 'document.uploaded', data: { documentId: 'd-carl', name: 'c.txt', mediaType: 'text/plain', size: 1, sha256: 'a'.repeat(64) } });
  await raw.append('x-audit', { type: 'audit.blob', data: { bytes: new Uint8Array([0, 1, 2, 255]), nested: [{ b: new Uint8Array([7]) }] }, metadata: { actor: 'ops' } });

  const live = ['main', 'second', 'restored'];
  const bulk = options.bulkMessages ?? 0;
  for (let i = 0; i < bulk; i += 100) {
    const sessionId = `bulk-${Math.floor(i / 1000)}`;
    if (i % 1000 === 0) {
      await chat.sessions.create({ userId: 'bob', sessionId, title: `Bulk ${i / 1000}` });
      live.push(sessionId);
    }
    await chat.messages.add(
      sessionId,
      Array.from({ length: Math.min(100, bulk - i) }, (_, j) => ({ role: j % 2 ? 'assistant' : 'user', content: `bulk message ${i + j} ${'lorem ipsum '.repeat(10)}` })),
    );
    if (i % 500 === 0) await chat.context.patch(sessionId, { progress: i, [`k${i % 7}`]: i });
  }
  return { live, deleted: 'deleted', purged: 'purged' };
}

/** A flatfile chat store in `dir`, filled, then closed. */
export async function buildChatStore(dir: string, options: { bulkMessages?: number; durability?: DurabilityMode } = {}): Promise<BuiltStore> {
  const chat = await openChatStore({ dir, durability: options.durability ?? 'none' });
  try {
    return await fillChatStore(chat, options);
  } finally {
    await chat.close();
  }
}
