/**
 * The engine's SIGKILL crash test on the PostgreSQL backend (issue 4, "Proof"):
 * children append with durability 'always' and are killed at random moments;
 * after every round the schema is reopened twice and checked against every
 * acknowledged append (test/support/crash-cycles.ts, in its postgres mode; a
 * data folder there is a schema here). Nobody waits for stale locks, so a
 * cycle is quick. Set FFCDB_CRASH_SEED to replay a failed run's kill schedule.
 */
import * as assert from 'uvu/assert';
import { flatfileSuite as readableSuite } from '../flatfile/unit-helpers.js';
import { formatSummary, runCrashCycles } from '../support/crash-cycles.js';
import { TEST_POSTGRES, postgresAvailable } from '../support/postgres.js';

if (postgresAvailable('postgres: SIGKILL crash cycles')) {
  const test = readableSuite('postgres: SIGKILL crash cycles');

  test('children appending in always mode, killed with SIGKILL at random moments, 16 times: every acknowledged event survives byte-equal, versions and positions have no gaps, the feed agrees, and reopening twice reads the same', async () => {
    const seed = process.env.FFCDB_CRASH_SEED ? Number(process.env.FFCDB_CRASH_SEED) : Math.floor(Math.random() * 2 ** 30);
    const summary = await runCrashCycles({ cycles: 16, seed, children: 3, cyclesPerFolder: 8, killWindowMs: 250, postgres: TEST_POSTGRES! });
    if (process.env.FFCDB_TEST_VERBOSE) console.log(`\n${formatSummary(summary)}`);
    assert.is(summary.cycles, 16);
    assert.ok(summary.kills >= 16, 'children were killed in every cycle');
    assert.ok(summary.killsWhileAppending > 0, 'some kills hit a child that was appending');
    assert.ok(summary.acknowledgedEvents > 0, 'acknowledged events were checked');
  });

  test.run();
}
