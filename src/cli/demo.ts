/**
 * The README's first command: a tour of the chat store on a local data folder.
 * Creates a session, adds and edits messages, changes the context and travels
 * back in time, uploads a document twice (stored once), lists, follows the
 * feed live, reads the audit log, exports Markdown, and checks every
 * projection against a rebuild from the log. Each run adds to the same store.
 */
import path from 'node:path';
import { parseArgs } from 'node:util';
import { firstValueFrom, take, toArray } from 'rxjs';
import { isFfcdbError, openChatStore } from '../index.js';

const { values } = parseArgs({
  options: { dir: { type: 'string', default: path.join('.data', 'demo') } },
});
const dir = path.resolve(values.dir!);
const chat = await openChatStore({ dir, durability: 'always' });
const say = (line: string) => console.log(line);
say(`flatfile-chat-db demo: data folder ${dir} (durability: always)`);

const before = await chat.events.headPosition();
const loaded: string[] = [];
// What happened while opening is replayed to each new subscriber synchronously.
chat.monitor$.subscribe((e) => e.kind === 'projection' && e.action === 'loaded' && loaded.push(e.name)).unsubscribe();
say(`the store holds ${before} events from earlier runs; projections loaded from snapshots: ${loaded.join(', ') || 'none'}`);
const live = firstValueFrom(chat.events.subscribeToAll({ afterPosition: before }).pipe(take(4), toArray()));

const alice = await chat.users.get('alice').catch(async (err: unknown) => {
  if (!isFfcdbError(err, 'NOT_FOUND')) throw err;
  return chat.users.create({ userId: 'alice', displayName: 'Alice', preferences: { language: 'en' } });
});
const session = await chat.sessions.create({ userId: alice.userId, title: 'Trip to Lisbon', tags: ['travel'] });
say(`session "${session.title}" (${session.sessionId}) for ${alice.displayName}`);

const started = performance.now();
const [question] = await chat.messages.add(session.sessionId, [
  { role: 'user', content: 'Find me a hotel near the river.' },
  { role: 'assistant', content: 'Here are three options along the Tagus...', metadata: { model: 'demo-model', usage: { inputTokens: 12, outputTokens: 9 } } },
]);
const thanks = await chat.messages.add(session.sessionId, { role: 'user', content: 'Thanks!' }, { actor: 'alice' });
say(`added 3 messages in ${(performance.now() - started).toFixed(1)} ms (each append fsynced and every projection updated before it resolved)`);

const edited = await chat.messages.edit(session.sessionId, question!.messageId, { content: 'Find me a quiet hotel near the river.' });
const original = await chat.messages.get(session.sessionId, question!.messageId, { revision: 1 });
say(`edited a message: revision ${edited.revision} reads "${edited.content}"; revision 1 still reads "${original.content}"`);
await chat.messages.delete(session.sessionId, thanks.messageId);

await chat.context.set(session.sessionId, { summary: 'Alice plans a Lisbon trip', goals: ['hotel'] });
await chat.context.snapshot(session.sessionId, 'planning');
await chat.context.patch(session.sessionId, { goals: ['hotel', 'restaurants'], budget: 900 });
const now = await chat.context.get(session.sessionId);
const then = await chat.context.get(session.sessionId, { asOf: { snapshot: 'planning' } });
say(`context version ${now.version}: ${JSON.stringify(now.context)}`);
say(`time travel to snapshot "planning" (version ${then.version}): ${JSON.stringify(then.context)}`);

const bytes = Buffer.from('Hotel shortlist: Memmo Alfama, Santiago de Alfama, Palacio Belmonte\n');
const doc = await chat.documents.upload({ sessionId: session.sessionId, name: 'shortlist.txt', mediaType: 'text/plain' }, bytes);
const again = await chat.documents.upload({ sessionId: session.sessionId, name: 'shortlist-copy.txt', mediaType: 'text/plain' }, bytes);
say(`uploaded the same bytes twice: two documents, one blob (${doc.sha256 === again.sha256 ? 'same' : 'different'} sha256 ${doc.sha256.slice(0, 12)}...)`);

const listing = await chat.sessions.list(alice.userId, { limit: 1000 });
say(`alice has ${listing.items.length} session(s); the newest: "${listing.items[0]!.title}" with ${listing.items[0]!.messageCount} messages`);
const last = await chat.messages.list(session.sessionId, { order: 'desc', limit: 2 });
say(`last messages, newest first: ${last.items.map((m) => `${m.role}: ${typeof m.content === 'string' ? m.content : '[parts]'}`).join(' | ')}`);

const seen = await live;
say(`live feed subscriber saw ${seen.map((e) => e.type).join(', ')} ...`);
const audit = await chat.events.readStream(`s-${session.sessionId}`);
say(`the session's audit log keeps all ${audit.length} events: ${audit.map((e) => e.type).join(', ')}`);

let markdown = '';
for await (const chunk of chat.export(session.sessionId, 'markdown')) markdown += chunk;
say(`markdown export (${markdown.length} characters), first lines:\n  ${markdown.split('\n').slice(0, 3).join('\n  ')}`);

const checks = await Promise.all(chat.projections.names.map((name) => chat.projections.compare(name)));
say(`projections rebuilt from the log and compared: ${checks.map((c) => `${c.name} ${c.identical ? 'identical' : 'DIFFERENT'}`).join(', ')}`);

say(`global feed head is now ${await chat.events.headPosition()}; run again to see the store grow`);
await chat.close();
