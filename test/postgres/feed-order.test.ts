/**
 * The global feed guarantee on PostgreSQL: a reader that has seen position P
 * never later sees an event appear at or below P. Concurrent transactions that
 * take positions and commit out of order would break it; the backend hands out
 * positions under the head row lock, held until commit (see the README).
 *
 * Child processes append concurrently while this process tails the feed in a
 * tight loop. Nothing is purged, so every position it reads must be exactly one
 * past the last it read: a position skipped (because it was not visible yet)
 * would be one that appears later below what was seen.
 */
import * as assert from 'uvu/assert';
import type { RecordedEvent } from '../../src/kernel/types.js';
import { flatfileSuite as readableSuite } from '../flatfile/unit-helpers.js';
import { postgresAvailable } from '../support/postgres.js';
import { PgWorkspace, finishAll } from '../support/postgres-workers.js';

if (postgresAvailable('postgres: the global feed order')) {
  const test = readableSuite('postgres: the global feed order');
  const ws = new PgWorkspace();
  test.after(() => ws.dispose());

  test('while 4 processes append concurrently, a reader tailing the feed never sees a position appear at or below one it has seen', async () => {
    const schema = ws.schema();
    const store = await ws.open(schema);
    await store.append('setup', { type: 'setup', data: null });
    const backend = store.backend;

    // Tailer 1: raw backend pages from the last position seen on.
    let cursor = 0;
    let reads = 0;
    let growths = 0;
    const tail = async (): Promise<void> => {
      reads++;
      const before = cursor;
      for await (const page of backend.readAll(cursor + 1)) {
        for (const e of page) {
          if (e.position !== cursor + 1) {
            throw new Error(`after position ${cursor} the feed showed ${e.position}: ${cursor + 1}..${e.position - 1} were not visible yet and would appear below a position already seen`);
          }
          cursor = e.position;
        }
      }
      if (cursor > before) growths++;
    };
    // Tailer 2: the engine's live subscription, woken by NOTIFY.
    const live: RecordedEvent[] = [];
    let liveError: unknown;
    const sub = store.subscribeToAll().subscribe({
      next: (e) => {
        const last = live.at(-1)?.position ?? 0;
        if (e.position !== last + 1) liveError ??= new Error(`the subscription delivered ${e.position} after ${last}`);
        live.push(e);
      },
      error: (err) => (liveError = err),
    });

    try {
      const workers = await ws.startTogether(
        schema,
        Array.from({ length: 4 }, (_, i) => ({ mode: 'append' as const, tag: `f${i}`, streams: [`own-${i}`, 'shared-a', 'shared-b'], appends: 60, maxBatch: 3 })),
      );
      let done = false;
      const finished = finishAll(workers).finally(() => (done = true));
      while (!done) await tail();
      const acks = await finished;
      await tail();
      const total = 1 + acks.reduce((n, a) => n + a.seqs.length, 0);
      assert.is(cursor, total, 'the tailer read every event');
      assert.ok(growths >= 10, `the tailer saw the feed grow while the writers ran (${growths} of ${reads} reads found new events)`);

      const deadline = Date.now() + 30_000;
      while (live.length < total && liveError === undefined && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
      assert.is(liveError, undefined, String(liveError));
      assert.is(live.length, total, 'the subscription delivered every event');
      const feed: RecordedEvent[] = [];
      for await (const e of store.streamAll()) feed.push(e);
      assert.equal(live.map((e) => e.id), feed.map((e) => e.id), 'in the order of the feed');
    } finally {
      sub.unsubscribe();
      await store.close();
    }
  });

  test.run();
}
