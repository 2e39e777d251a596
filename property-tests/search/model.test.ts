import fc from '../support/fc-setup.js';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { MemoryBackend } from '../../src/backends/memory/memory-backend.js';
import { openChatStore } from '../../src/chat/chat-store.js';

/**
 * Search against a model, through the chat API: after every add, edit or
 * delete of a message, or deletion of a session, searching any word returns
 * exactly the user's live messages whose current text holds it. So an edit is
 * found by its new text and never its old, a deleted message or session is
 * never returned, and no user sees another's.
 */
const test = suite('property: search follows every change, per user');

const WORDS = ['alpha', 'bravo', 'delta', 'kilo', 'oscar'] as const;
const SESSIONS = [
  { sessionId: 's1', userId: 'u1' },
  { sessionId: 's2', userId: 'u1' },
  { sessionId: 's3', userId: 'u2' },
] as const;

type Op =
  | { kind: 'add'; session: number; words: string[] }
  | { kind: 'edit'; session: number; message: number; words: string[] }
  | { kind: 'delete'; session: number; message: number }
  | { kind: 'deleteSession'; session: number };

/** What the runs exercised, over all of them: the property is not vacuous. */
const seen = { nonEmptyAnswers: 0, edits: 0, deletes: 0, sessionDeletes: 0 };

const words = fc.array(fc.constantFrom(...WORDS), { minLength: 1, maxLength: 4 });
const session = fc.integer({ min: 0, max: SESSIONS.length - 1 });
const op: fc.Arbitrary<Op> = fc.oneof(
  { weight: 5, arbitrary: fc.record({ kind: fc.constant('add' as const), session, words }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('edit' as const), session, message: fc.nat(9), words }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('delete' as const), session, message: fc.nat(9) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('deleteSession' as const), session }) },
);

test('after every change, each word finds exactly the live messages of the user that hold it', async () => {
  await fc.assert(
    fc.asyncProperty(fc.array(op, { minLength: 1, maxLength: 25 }), async (ops) => {
      const chat = await openChatStore({ backend: new MemoryBackend() });
      try {
        for (const u of ['u1', 'u2']) await chat.users.create({ userId: u });
        for (const s of SESSIONS) await chat.sessions.create({ ...s, title: 'Notes' });
        // The model: per session (while it lives), its live messages' ids and words, in order of adding.
        const model = SESSIONS.map(() => new Map<string, string[]>() as Map<string, string[]> | undefined);
        for (const o of ops) {
          const s = SESSIONS[o.session]!;
          const live = model[o.session];
          if (!live) continue;
          const ids = [...live.keys()];
          if (o.kind === 'add') live.set((await chat.messages.add(s.sessionId, { role: 'user', content: o.words.join(' ') })).messageId, o.words);
          else if (o.kind === 'edit' && ids.length > 0) {
            const id = ids[o.message % ids.length]!;
            await chat.messages.edit(s.sessionId, id, { content: o.words.join(' ') });
            live.set(id, o.words);
            seen.edits++;
          } else if (o.kind === 'delete' && ids.length > 0) {
            const id = ids[o.message % ids.length]!;
            await chat.messages.delete(s.sessionId, id);
            live.delete(id);
            seen.deletes++;
          } else if (o.kind === 'deleteSession') {
            await chat.sessions.delete(s.sessionId);
            model[o.session] = undefined;
            seen.sessionDeletes++;
          }
          for (const userId of ['u1', 'u2']) {
            for (const word of WORDS) {
              const found = (await chat.search(userId, word, { limit: 100, kinds: ['message'] })).items.map((h) => h.itemId).sort();
              const expected = SESSIONS.flatMap((x, i) => (x.userId === userId ? [...(model[i] ?? new Map<string, string[]>())].filter(([, ws]) => ws.includes(word)).map(([id]) => id) : [])).sort();
              assert.equal(found, expected, `${userId} searching ${word}`);
              if (expected.length > 0) seen.nonEmptyAnswers++;
            }
          }
        }
      } finally {
        await chat.close();
      }
    }),
    { numRuns: 150 },
  );
});

test('the runs exercised what the property is about (answers, edits, deletes, session deletions)', () => {
  if (process.env.FFCDB_TEST_VERBOSE) console.log(seen);
  for (const [what, n] of Object.entries(seen)) assert.ok(n > 0, `no run saw any ${what}`);
});

test.run();
