/**
 * The crash test through the chat API in the normal run (issue 13): 32 cycles
 * of a child writing, uploading, patching context and searching through
 * `openChatStore`, killed with SIGKILL at random moments, each followed by a
 * reopen that checks every acknowledged item through the chat API and search,
 * and the projections against the log (test/support/chat-crash-cycles.ts;
 * `npm run crash -- N` runs N cycles). Four data folders run side by side, so
 * the 32 cycles take about as long as 8. Set FFCDB_CRASH_SEED to replay a
 * failed run's kill schedule, FFCDB_TEST_VERBOSE to print each cycle.
 */
import * as assert from 'uvu/assert';
import { flatfileSuite } from '../flatfile/unit-helpers.js';
import { formatChatSummary, runChatCrashCycles } from '../support/chat-crash-cycles.js';

const test = flatfileSuite('chat: SIGKILL crash cycles through the chat API');

test('a child writing, uploading, patching context and searching through the chat API, killed with SIGKILL at random moments 32 times: after each kill every acknowledged session, message, context and document (its bytes too) reads back, search finds each live message by its word and no deleted one, and every projection compares identical with the log', async () => {
  const seed = process.env.FFCDB_CRASH_SEED ? Number(process.env.FFCDB_CRASH_SEED) : Math.floor(Math.random() * 2 ** 30);
  const verbose = Boolean(process.env.FFCDB_TEST_VERBOSE);
  const s = await runChatCrashCycles({ cycles: 32, folders: 4, seed, ...(verbose ? { log: (line: string) => console.log(line) } : {}) });
  if (verbose || s.problems.length > 0) console.log(`\n${formatChatSummary(s)}`);
  assert.is(s.problems.length, 0, `problems after the kills (seed ${seed}):\n${s.problems.slice(0, 10).join('\n')}`);
  assert.is(s.cycles, 32);
  assert.is(s.kills, 32);
  // Not vacuous: acknowledged writes and searches were checked, and kills hit operations in flight.
  assert.ok(s.writes >= 32, `acknowledged writes were checked (${s.writes})`);
  assert.ok(s.searches > 0 && s.childSearches > 0, `searches were checked (${s.searches} after the kills, ${s.childSearches} by the children)`);
  assert.ok(Object.keys(s.inFlight).length > 0, 'some kills hit an operation in flight');
});

test.run();
