/**
 * The README's first command: a short tour on a local data folder. Appends to
 * two chat sessions, reads them back, follows the global feed live, travels
 * back in time, and prints what it did.
 */
import path from 'node:path';
import { parseArgs } from 'node:util';
import { firstValueFrom, take, toArray } from 'rxjs';
import { openStore } from '../open-store.js';

const { values } = parseArgs({
  options: { dir: { type: 'string', default: path.join('.data', 'demo') } },
});
const dir = path.resolve(values.dir!);
const store = await openStore({ dir, durability: 'always' });
const say = (line: string) => console.log(line);
say(`flatfile-chat-db demo: data folder ${dir} (durability: always)`);

const before = await store.headPosition();
say(`the store holds ${before} events from earlier runs`);

// Follow the global feed live from the current head: we should see exactly the events appended below.
const live = firstValueFrom(store.subscribeToAll({ afterPosition: before }).pipe(take(5), toArray()));

const run = Date.now().toString(36);
const chat = `demo-${run}`;
const other = `demo-${run}-b`;
const started = performance.now();
const created = await store.append(chat, { type: 'session.created', data: { title: 'Trip to Lisbon', userId: 'alice' } }, { expectedVersion: 'no_stream' });
await store.append(chat, [
  { type: 'message.added', data: { role: 'user', content: 'Find me a hotel near the river.' }, metadata: { actor: 'alice' } },
  { type: 'message.added', data: { role: 'assistant', content: 'Here are three options along the Tagus...' }, metadata: { actor: 'assistant', model: 'demo-model' } },
]);
const ctx = await store.append(chat, { type: 'context.set', data: { summary: 'Alice plans a Lisbon trip', goals: ['hotel'] } });
await store.append(other, { type: 'session.created', data: { title: 'Side chat', userId: 'bob' } });
say(`appended 5 events to ${chat} and ${other} in ${(performance.now() - started).toFixed(1)} ms (each fsynced before it resolved)`);

// A retry with the same event id writes nothing and returns the original result.
const first = await store.append(chat, { id: `retry-${run}`, type: 'message.added', data: { role: 'user', content: 'Thanks!' } });
const retried = await store.append(chat, { id: `retry-${run}`, type: 'message.added', data: { role: 'user', content: 'Thanks!' } });
say(`retry-safe append: first at version ${first.lastVersion}, retry returned version ${retried.lastVersion} (duplicate: ${retried.duplicate})`);

const seen = await live;
say(`live feed subscriber saw positions ${seen.map((e) => e.position).join(', ')}`);

const messages = await store.readStream(chat, { types: ['message.added'] });
for (const m of messages) say(`  ${chat} v${m.version} ${(m.data as { role: string }).role}: ${(m.data as { content: string }).content}`);
const lastTwo = await store.readStream(chat, { direction: 'backward', limit: 2 });
say(`last two events, newest first: versions ${lastTwo.map((e) => e.version).join(', ')}`);

const asOf = await store.readStreamAsOf(chat, { version: created.lastVersion });
say(`time travel: as of version ${created.lastVersion} the session had ${asOf.length} event(s); at version ${ctx.lastVersion} its context was set`);

try {
  await store.append(chat, { type: 'message.added', data: 'stale' }, { expectedVersion: 1 });
} catch (err) {
  say(`an append expecting version 1 was refused: ${(err as Error).message}`);
}

say(`global feed head is now ${await store.headPosition()}; run again to see the store grow`);
await store.close();
