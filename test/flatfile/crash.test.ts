/**
 * The crash test in the normal run: a few dozen cycles of child processes
 * appending with durability 'always' and being killed with SIGKILL at random
 * moments; after every round the store is reopened twice and checked (see
 * test/support/crash-cycles.ts, which `npm run crash` runs for hundreds of cycles).
 *
 * A child killed while holding the writer lock blocks the next opener until
 * the lock is stale (lockStaleMs 2000, the minimum), so a cycle costs about
 * 2.5 s of mostly waiting. Two independent pipelines (each with its own data
 * folders and children) run side by side to fit 24 cycles in well under 90 s.
 * Set FFCDB_CRASH_SEED to replay the kill schedule of a failed run.
 */
import * as assert from 'uvu/assert';
import { flatfileSuite } from './unit-helpers.js';
import { formatSummary, runCrashCycles } from '../support/crash-cycles.js';

const test = flatfileSuite('flatfile: SIGKILL crash cycles');

test('children appending in always mode, killed with SIGKILL at random moments, 24 times: every acknowledged event survives byte-equal, versions and positions have no gaps, the feed agrees, and reopening twice reads the same', async () => {
  const seed = process.env.FFCDB_CRASH_SEED ? Number(process.env.FFCDB_CRASH_SEED) : Math.floor(Math.random() * 2 ** 30);
  const PIPELINES = 2;
  const CYCLES = 12;
  const summaries = await Promise.all(
    Array.from({ length: PIPELINES }, (_, i) =>
      runCrashCycles({
        cycles: CYCLES,
        seed: seed + i,
        children: 3,
        cyclesPerFolder: 6,
        killWindowMs: 250,
      }),
    ),
  );
  for (const s of summaries) {
    if (process.env.FFCDB_TEST_VERBOSE) console.log(`\n${formatSummary(s)}`);
    assert.is(s.cycles, CYCLES);
    assert.ok(s.kills >= CYCLES, 'children were killed in every cycle');
  }
  const total = (k: 'kills' | 'killsWhileAppending' | 'acknowledgedEvents') => summaries.reduce((n, s) => n + s[k], 0);
  // Not vacuous: children were killed in the middle of acknowledged appending, and acknowledged events were checked.
  assert.ok(total('killsWhileAppending') > 0, 'some kills hit a child that was appending');
  assert.ok(total('acknowledgedEvents') > 0, 'acknowledged events were checked');
});

test.run();
