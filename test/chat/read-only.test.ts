/**
 * `openChatStore({ dir, readOnly: true })`: every read of the chat API is served (projections from their
 * snapshots and the log, search from the index files and the log, in memory), every write fails with
 * READ_ONLY, and nothing in the store folder is written, on a read-only mount and a full disk too.
 */
import fs from 'node:fs';
import path from 'node:path';
import * as assert from 'uvu/assert';
import { type ChatStore, openChatStore } from '../../src/chat/chat-store.js';
import { CHAT_WRITES } from '../../src/chat/read-only.js';
import type { MonitorEvent } from '../../src/engine/monitor.js';
import { ErrorCode } from '../../src/kernel/errors.js';
import { fingerprint, readOnlyMount, smallDisk } from '../support/read-only-folder.js';
import { flatfileSuite, tempRoot } from '../flatfile/unit-helpers.js';
import { fails } from './helpers.js';

const test = flatfileSuite('chat: a read-only store');
let root = '';

test.before.each(() => {
  root = tempRoot('chat-read-only');
});

test.after.each(() => {
  fs.rmSync(root, { recursive: true, force: true });
});

const DOC = Buffer.from('the itinerary: Lisbon, then Porto\n');

/** A store holding a user, a session with messages, a document, a context and a search index; closed. */
async function seed(dir: string, durability: 'always' | 'none' = 'always'): Promise<void> {
  const chat = await openChatStore({ dir, durability });
  await chat.users.create({ userId: 'ann', displayName: 'Ann' });
  await chat.sessions.create({ userId: 'ann', sessionId: 's1', title: 'Trip to Lisbon', tags: ['travel'] });
  await chat.messages.add('s1', [
    { messageId: 'm1', role: 'user', content: 'Find me a quiet hotel.' },
    { messageId: 'm2', role: 'assistant', content: 'Casa do Mar is quiet.' },
  ]);
  await chat.documents.upload({ sessionId: 's1', documentId: 'd1', name: 'plan.txt', mediaType: 'text/plain' }, DOC);
  await chat.context.set('s1', { goals: ['hotel'] });
  await chat.search('ann', 'hotel');
  await chat.close();
}

async function text(chunks: AsyncIterable<string | Buffer>): Promise<string> {
  let out = '';
  for await (const c of chunks) out += c.toString();
  return out;
}

/** What the seeded store holds, read through every kind of chat read. */
async function readEverything(chat: ChatStore): Promise<unknown> {
  const doc = await chat.documents.get('d1');
  return {
    user: (await chat.users.get('ann')).displayName,
    sessions: (await chat.sessions.list('ann')).items.map((s) => s.title),
    messages: (await chat.messages.list('s1')).items.map((m) => m.content),
    count: (await chat.messages.count('s1')).count,
    document: [doc.name, doc.size],
    bytes: await text(await chat.documents.open('d1')),
    documents: (await chat.documents.list({ sessionId: 's1' })).items.map((d) => d.documentId),
    context: (await chat.context.get('s1')).context,
    search: (await chat.search('ann', 'quiet')).items.map((i) => i.itemId),
    export: (await text(chat.export('s1', 'jsonl'))).split('\n').filter(Boolean).map((l) => JSON.parse(l).kind),
  };
}

const EXPECTED = {
  user: 'Ann',
  sessions: ['Trip to Lisbon'],
  messages: ['Find me a quiet hotel.', 'Casa do Mar is quiet.'],
  count: 2,
  document: ['plan.txt', DOC.length],
  bytes: DOC.toString(),
  documents: ['d1'],
  context: { goals: ['hotel'] },
  search: ['m1', 'm2'],
  export: ['export', 'session', 'message', 'message', 'document', 'context-change', 'context'],
};

/** A call of each write, with arguments it would accept on a writable store. */
const WRITE_CALLS: Record<string, (chat: ChatStore) => Promise<unknown>> = {
  'users.create': (c) => c.users.create({ userId: 'bob' }),
  'users.ensure': (c) => c.users.ensure({ userId: 'cid' }),
  'users.update': (c) => c.users.update('ann', { displayName: 'Anne' }),
  'sessions.create': (c) => c.sessions.create({ userId: 'ann', title: 'Another' }),
  'sessions.ensure': (c) => c.sessions.ensure({ userId: 'ann', sessionId: 's2', title: 'Another' }),
  'sessions.update': (c) => c.sessions.update('s1', { title: 'Updated' }),
  'sessions.rename': (c) => c.sessions.rename('s1', 'Renamed'),
  'sessions.tag': (c) => c.sessions.tag('s1', ['x']),
  'sessions.archive': (c) => c.sessions.archive('s1'),
  'sessions.delete': (c) => c.sessions.delete('s1', { purge: true }),
  'sessions.restore': (c) => c.sessions.restore('s1'),
  'messages.add': (c) => c.messages.add('s1', { role: 'user', content: 'more' }),
  'messages.edit': (c) => c.messages.edit('s1', 'm1', { content: 'changed' }),
  'messages.delete': (c) => c.messages.delete('s1', 'm1'),
  'messages.upsert': (c) => c.messages.upsert('s1', { messageId: 'm1', role: 'user', content: 'upserted' }),
  'messages.sync': (c) => c.messages.sync('s1', []),
  'messages.truncate': (c) => c.messages.truncate('s1', { after: 'm1' }),
  'messages.clear': (c) => c.messages.clear('s1'),
  'import.sessions': (c) => c.import.sessions([{ userId: 'ann', sessionId: 's3', title: 'Imported', messages: [] }]),
  'documents.upload': (c) => c.documents.upload({ sessionId: 's1', name: 'b.txt', mediaType: 'text/plain' }, Buffer.from('new bytes')),
  'documents.analyse': (c) => c.documents.analyse('d1', { summary: 'a plan' }),
  'documents.delete': (c) => c.documents.delete('d1'),
  'documents.release': (c) => c.documents.release(['a'.repeat(64)]),
  'context.set': (c) => c.context.set('s1', { goals: [] }),
  'context.patch': (c) => c.context.patch('s1', { budget: 100 }),
  'context.snapshot': (c) => c.context.snapshot('s1', 'before'),
};

/** The chat API's reads: with CHAT_WRITES, every method its API objects have. */
const READS: Record<keyof typeof CHAT_WRITES, string[]> = {
  users: ['get'],
  sessions: ['get', 'list'],
  messages: ['get', 'history', 'list', 'count'],
  documents: ['get', 'open', 'list', 'analyses'],
  context: ['get', 'snapshots', 'history'],
  import: [],
};

test('every write of the chat API and saveSnapshots fail with READ_ONLY naming the call, before their arguments are checked, and the folder stays as it was', async () => {
  const dir = path.join(root, 'store');
  await seed(dir);
  const before = fingerprint(dir);
  const chat = await openChatStore({ dir, readOnly: true });
  try {
    const head = await chat.events.headPosition();
    const listed = Object.entries(CHAT_WRITES).flatMap(([area, methods]) => methods.map((m) => `${area}.${m}`));
    assert.equal(Object.keys(WRITE_CALLS).sort(), listed.sort(), 'a call for each write');
    for (const [op, call] of Object.entries(WRITE_CALLS)) {
      const err = await fails(call(chat), ErrorCode.READ_ONLY);
      assert.is(err.details.op, op);
      assert.match(err.message, 'opened read-only');
      const [area, method] = op.split('.') as [keyof typeof CHAT_WRITES, string];
      const bare = await fails((chat[area] as unknown as Record<string, () => Promise<unknown>>)[method]!(), ErrorCode.READ_ONLY);
      assert.is(bare.details.op, op, `${op} with no arguments is refused as read-only first`);
    }
    await fails(chat.projections.saveSnapshots(), ErrorCode.READ_ONLY);
    await fails(chat.events.append('s-s1', { type: 'message.added', data: {} }), ErrorCode.READ_ONLY);
    assert.is(await chat.events.headPosition(), head);
    assert.equal(await readEverything(chat), EXPECTED, 'the refusals changed nothing the reads see');
  } finally {
    await chat.close();
  }
  assert.is(fingerprint(dir), before);
});

test('every method of the chat API is either a write a read-only store refuses or a read it serves', async () => {
  const dir = path.join(root, 'store');
  await seed(dir);
  const chat = await openChatStore({ dir, readOnly: true });
  try {
    for (const area of Object.keys(CHAT_WRITES) as (keyof typeof CHAT_WRITES)[]) {
      const methods = Object.getOwnPropertyNames(Object.getPrototypeOf(chat[area])).filter((m) => m !== 'constructor');
      assert.equal(methods.sort(), [...CHAT_WRITES[area], ...READS[area]].sort(), `chat.${area}: a new method must be listed as a write (CHAT_WRITES) or a read here`);
    }
    assert.equal(await readEverything(chat), EXPECTED);
  } finally {
    await chat.close();
  }
});

test('projections load their snapshots and catch up from the log in memory; closing saves no snapshot', async () => {
  const dir = path.join(root, 'store');
  await seed(dir);
  // A live writer adds to the log past the snapshots the close saved.
  const writer = await openChatStore({ dir });
  const added = await writer.messages.add('s1', { messageId: 'm3', role: 'user', content: 'And a taxi.' });
  try {
    const snapshots = fingerprint(path.join(dir, 'projections'));
    const seen: MonitorEvent[] = [];
    const chat = await openChatStore({ dir, readOnly: true });
    chat.monitor$.subscribe((e) => seen.push(e));
    try {
      const loaded = seen.filter((e) => e.kind === 'projection' && e.action === 'loaded');
      assert.is(loaded.length, 5, 'every projection came from its snapshot');
      assert.ok(loaded.every((e) => (e as { position: number }).position < added.position), 'the snapshots are older than the log');
      assert.is(chat.projections.position, added.position, 'the rest came from the log');
      assert.equal((await chat.messages.list('s1')).items.map((m) => m.messageId), ['m1', 'm2', 'm3']);
      const compared = await chat.projections.compare('messages');
      assert.ok(compared.identical);
    } finally {
      await chat.close();
    }
    assert.is(fingerprint(path.join(dir, 'projections')), snapshots, 'no snapshot was saved');
  } finally {
    await writer.close();
  }
});

test('search reads the index files and indexes what they lack in memory: a message written after the last flush is found, and no search file is written', async () => {
  const dir = path.join(root, 'store');
  await seed(dir);
  // Indexed on search only: this store never opens the index, so the message is in the log alone.
  const writer = await openChatStore({ dir });
  await writer.messages.add('s1', { messageId: 'm3', role: 'user', content: 'A zebra crossing near the hotel?' });
  await writer.close();
  const before = fingerprint(dir);
  const chat = await openChatStore({ dir, readOnly: true });
  try {
    assert.equal((await chat.search('ann', 'zebra')).items.map((i) => i.itemId), ['m3']);
    const hotel = (await chat.search('ann', 'hotel')).items.filter((i) => i.kind === 'message');
    assert.equal(hotel.map((i) => i.itemId).sort(), ['m1', 'm3'], 'the message from the index files and the one from the log');
  } finally {
    await chat.close();
  }
  assert.is(fingerprint(dir), before);
});

test('beside a live writer, a read-only store reads its writes (waitFor) and never holds it up', async () => {
  const dir = path.join(root, 'store');
  await seed(dir);
  const chat = await openChatStore({ dir, readOnly: true, pollMs: 5 });
  const writer = await openChatStore({ dir });
  try {
    for (let i = 0; i < 5; i++) {
      const m = await writer.messages.add('s1', { role: 'user', content: `note ${i} about ferries` });
      const page = await chat.messages.list('s1', { waitFor: m.position });
      assert.is(page.items.at(-1)?.content, `note ${i} about ferries`);
    }
    assert.is((await chat.search('ann', 'ferries')).total, 5);
  } finally {
    await writer.close();
    await chat.close();
  }
});

test('on a read-only mount a read-only chat store opens and serves every read, where a writable open fails', async () => {
  const dir = path.join(root, 'store');
  await seed(dir);
  const before = fingerprint(dir);
  const mounted = readOnlyMount(dir);
  if (typeof mounted === 'string') {
    console.log(`  (read-only mount test skipped: ${mounted})`);
    return;
  }
  try {
    await fails(openChatStore({ dir }), ErrorCode.IO);
    const chat = await openChatStore({ dir, readOnly: true });
    try {
      assert.equal(await readEverything(chat), EXPECTED);
    } finally {
      await chat.close();
    }
  } finally {
    mounted.undo();
  }
  assert.is(fingerprint(dir), before);
});

test('on a full disk a read-only chat store opens and serves every read, where a writable open fails', async () => {
  const disk = smallDisk(16 * 1024 * 1024);
  if (typeof disk === 'string') {
    console.log(`  (full disk test skipped: ${disk})`);
    return;
  }
  try {
    const dir = path.join(disk.dir, 'store');
    await seed(dir, 'none');
    disk.fill();
    await fails(openChatStore({ dir }), ErrorCode.IO);
    // Taken after the writable open, which may leave its lock's owner file behind.
    const before = fingerprint(dir);
    const chat = await openChatStore({ dir, readOnly: true });
    try {
      assert.equal(await readEverything(chat), EXPECTED);
    } finally {
      await chat.close();
    }
    assert.is(fingerprint(dir), before);
  } finally {
    disk.release();
  }
});

test.run();
