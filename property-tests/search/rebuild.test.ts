import path from 'node:path';
import fc from '../support/fc-setup.js';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { sessionStream } from '../../src/events/streams.js';
import { MemoryBackend } from '../../src/backends/memory/memory-backend.js';
import { EventStore } from '../../src/engine/event-store.js';
import { isFfcdbError } from '../../src/kernel/errors.js';
import { ENTITY_MARK } from '../../src/projections/search/entities.js';
import { type SearchPage, runQuery } from '../../src/search/query.js';
import type { SearchOptions } from '../../src/search/query-options.js';
import { SearchIndex } from '../../src/search/search-index.js';
import { readable } from '../../test/flatfile/unit-helpers.js';
import { SESSIONS, USERS, type Step, assertValid, ignorePurged, scenario } from '../projections/chat-scenario.js';
import { withTempDir } from '../support/temp.js';

/**
 * The search index's rebuild property: for random valid sequences of chat
 * events, an index maintained incrementally on disk (random catch-up steps,
 * flushes every few documents, merges, closes and reopens from its manifest
 * without a flush as after a crash, sessions purged ahead of it) answers every
 * query exactly as an index rebuilt in memory from the log: the same items,
 * in the same order, with the same scores. And every answer satisfies every
 * filter it was asked with.
 */
const test = suite('property: search index rebuild equals incremental');

const seen = { hits: 0, filteredHits: 0, flushedRuns: 0, reopens: 0, purges: 0, entityQueries: 0, entityHits: 0 };

async function run(dir: string, steps: Step[], flushDocs: number, mergeFactor: number): Promise<void> {
  const store = await EventStore.open(new MemoryBackend());
  const options = { dir: path.join(dir, 'search'), flushDocs, mergeFactor };
  let index = await SearchIndex.open(store, options);
  try {
    for (const s of steps) {
      if (s.kind === 'append') {
        assertValid(s.events);
        await store.append(s.streamId, s.events).catch(ignorePurged);
      } else if (s.kind === 'advance') {
        await index.catchUp(Math.min(await store.headPosition(), index.position + s.by));
      } else if (s.kind === 'reopen') {
        seen.reopens++;
        // Closed without a flush: the reopened index has only its last manifest, as after a crash.
        await index.close({ flush: false });
        index = await SearchIndex.open(store, options);
      } else {
        const stream = sessionStream(s.sessionId);
        if ((await store.streamVersion(stream)) === 0) continue;
        seen.purges++;
        await store.append(stream, { type: 'session.deleted', data: { purge: true } }).catch(ignorePurged);
        if (s.inline) await index.catchUp();
        await store.purgeStream(stream);
      }
    }
    await index.catchUp();
    if (index.sources().length > 1) seen.flushedRuns++;
    const rebuilt = await SearchIndex.open(store);
    try {
      const entities = entityFilters(rebuilt);
      if (entities.length > 0) seen.entityQueries++;
      for (const query of [...queries(rebuilt), '']) {
        for (const userId of USERS) {
          for (const options of [...FILTERS, ...entities]) {
            const a = attempt(index, userId, query, options);
            const b = attempt(rebuilt, userId, query, options);
            assert.equal(a, b, `${JSON.stringify(query)} for ${userId} with ${JSON.stringify(options)}`);
            if (typeof a !== 'string') satisfies(rebuilt, a, userId, options);
          }
        }
      }
    } finally {
      await rebuilt.close();
    }
  } finally {
    await index.close();
    await store.close();
  }
}

const FILTERS: SearchOptions[] = [
  { limit: 100 },
  { limit: 100, operator: 'or' },
  { limit: 100, sessionId: SESSIONS[0] },
  { limit: 100, role: 'user' },
  { limit: 100, kinds: ['message', 'document'] },
  { limit: 100, tag: 'x' },
  { limit: 100, from: Date.now() - 60_000, to: Date.now() + 60_000 },
];

/** Queries made of terms the index holds: words, pairs, prefixes, phrases, exclusions. */
function queries(index: SearchIndex): string[] {
  const terms = [...new Set(index.sources().flatMap((s) => s.segment.terms('')))].filter((t) => /^[\p{L}\p{N}]/u.test(t)).sort();
  const some = terms.filter((_, i) => i % Math.max(1, Math.floor(terms.length / 4)) === 0).slice(0, 4);
  const out: string[] = [];
  some.forEach((t, i) => {
    const u = some[(i + 1) % some.length]!;
    out.push(t, `${t} ${u}`, `"${t} ${u}"`, `${t} -${u}`);
    if (t.length >= 2) out.push(`${t.slice(0, 2)}*`);
  });
  return out;
}

/** A typed entity term: the mark, then `type:value`. */
const TYPED_TERM = new RegExp(`^${ENTITY_MARK}([a-z0-9_-]+):(.+)$`, 'su');

/** Entity filters for entities the index holds (given ones as `{ type, value }`, as a typed term stores them). */
function entityFilters(index: SearchIndex): SearchOptions[] {
  const typed = [...new Set(index.sources().flatMap((s) => s.segment.terms(`${ENTITY_MARK}`)))].map((t) => TYPED_TERM.exec(t)).filter((m) => m !== null);
  return typed.slice(0, 3).map((m) => ({ limit: 100, entity: { type: m[1]!, value: m[2]! } }));
}

/** A page without its snippets' identity (they are compared too: same text, same highlights), or the error code. */
function attempt(index: SearchIndex, userId: string, query: string, options: SearchOptions): SearchPage | string {
  try {
    return runQuery(index, userId, query, options);
  } catch (err) {
    if (isFfcdbError(err)) return err.code;
    throw err;
  }
}

function satisfies(index: SearchIndex, page: SearchPage, userId: string, o: SearchOptions): void {
  for (const hit of page.items) {
    seen.hits++;
    if (o.entity !== undefined) seen.entityHits++;
    if (o.sessionId !== undefined || o.role !== undefined || o.kinds || o.tag !== undefined) seen.filteredHits++;
    const session = index.registry.sessions.get(hit.sessionId);
    // Every hit belongs to the user: through its live session, or its library (no session).
    assert.ok(hit.sessionId === '' || session?.userId === userId, `hit ${JSON.stringify(hit)} is not ${userId}'s`);
    if (o.sessionId !== undefined) assert.is(hit.sessionId, o.sessionId);
    if (o.role !== undefined) assert.is(hit.role, o.role);
    if (o.kinds) assert.ok(o.kinds.includes(hit.kind));
    if (o.tag !== undefined) assert.ok(session?.tags.includes(o.tag));
    if (o.from !== undefined) assert.ok(hit.timestamp >= o.from);
    if (o.to !== undefined) assert.ok(hit.timestamp < o.to);
  }
}

test('an incrementally maintained index on disk answers every query as a rebuild from the log does, and every answer satisfies its filters', async () => {
  await fc.assert(
    fc.asyncProperty(scenario(40), fc.integer({ min: 1, max: 6 }), fc.integer({ min: 2, max: 3 }), async (steps, flushDocs, mergeFactor) => {
      await withTempDir('search', async (dir) => {
        try {
          await run(dir, steps, flushDocs, mergeFactor);
        } catch (err) {
          throw readable(err);
        }
      });
    }),
    { numRuns: 100 },
  );
});

test('the scenarios exercised what the property is about (hits, filtered hits, segments, reopens, purges, entity queries and hits)', () => {
  if (process.env.FFCDB_TEST_VERBOSE) console.log(seen);
  for (const [what, n] of Object.entries(seen)) assert.ok(n > 0, `no run saw any ${what}`);
});

test.run();
