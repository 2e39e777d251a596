/**
 * Several processes on one PostgreSQL schema (issue 4, "Proof"): the engine's
 * multi-process test on the PostgreSQL backend. Child processes
 * (test/support/store-worker.ts in its postgres mode) append concurrently with
 * durability 'always' and report every acknowledged append; the parent checks
 * that the schema holds exactly what was acknowledged.
 */
import type { Subscription } from 'rxjs';
import * as assert from 'uvu/assert';
import type { RecordedEvent } from '../../src/kernel/types.js';
import { flatfileSuite as readableSuite } from '../flatfile/unit-helpers.js';
import { withClient, postgresAvailable } from '../support/postgres.js';
import { PgWorkspace, checkAgainstAcks, finishAll, sleep, withTimeout } from '../support/postgres-workers.js';
import { checkConsistency, readSnapshot } from '../support/verify.js';
import { type Ack, canonAppended, canonStored, eventFor } from '../support/workload.js';

if (postgresAvailable('postgres: several processes on one schema')) {
  const test = readableSuite('postgres: several processes on one schema');
  const ws = new PgWorkspace();
  test.after(() => ws.dispose());

  /** Creates the schema and commits one event before the workers open it. */
  async function seed(schema: string): Promise<Ack> {
    const store = await ws.open(schema);
    try {
      const result = await store.append('setup', eventFor('seed', 'setup', 1));
      return { kind: 'ack', tag: 'seed', stream: 'setup', seqs: [1], ...result, at: Date.now() };
    } finally {
      await store.close();
    }
  }

  test('4 processes appending to shared and separate streams: every acknowledged event exactly once, in order, and the feed agrees', async () => {
    const schema = ws.schema();
    const CHILDREN = 4;
    const APPENDS = 25;
    const seeded = await seed(schema);
    const workers = await ws.startTogether(
      schema,
      Array.from({ length: CHILDREN }, (_, i) => ({ mode: 'append' as const, tag: `p${i}`, streams: [`own-${i}`, 'shared-a', 'shared-b'], appends: APPENDS, maxBatch: 3 })),
    );
    const acks = await finishAll(workers);
    assert.is(acks.length, CHILDREN * 3 * APPENDS, 'every append of every worker was acknowledged');
    await checkAgainstAcks(() => ws.open(schema), [seeded, ...acks]);
    const store = await ws.open(schema);
    try {
      for (const name of ['shared-a', 'shared-b']) {
        const tags = new Set((await store.readStream(name)).map((e) => (e.data as { tag: string }).tag));
        assert.is(tags.size, CHILDREN, `${name} holds events of every process`);
      }
    } finally {
      await store.close();
    }
  });

  test('4 processes that all open a schema that does not exist yet: one creates it, and every acknowledged event is there exactly once', async () => {
    const schema = ws.schema();
    const CHILDREN = 4;
    // Started at once, each opens (and would create) the schema as soon as it has loaded.
    const workers = Array.from({ length: CHILDREN }, (_, i) => ws.worker(schema, { mode: 'append', tag: `e${i}`, streams: [`own-${i}`, 'shared'], appends: 10, maxBatch: 2 }));
    const acks = await finishAll(workers);
    assert.is(acks.length, CHILDREN * 2 * 10);
    await checkAgainstAcks(() => ws.open(schema), acks);
    const format = await withClient((c) => c.query(`SELECT format, version FROM "${schema}".ffcdb_format`));
    assert.equal(format.rows, [{ format: 'ffcdb-postgres-event-log', version: 1 }], 'one format row');
  });

  test('expected-version conflicts are detected by the database across processes: exactly one racer wins each version, the others get CONFLICT with the actual version', async () => {
    const schema = ws.schema();
    const RACERS = 3;
    const ROUNDS = 25;
    const stream = 'race';
    await seed(schema);
    type Reply =
      | { kind: 'listening'; tag: string }
      | { kind: 'ok'; tag: string; seq: number; result: { firstVersion: number } }
      | { kind: 'error'; tag: string; seq: number; code: string; details: { expected?: unknown; actual?: unknown; streamId?: unknown }; message: string };
    const racers = Array.from({ length: RACERS }, (_, i) => {
      const worker = ws.worker(schema, { mode: 'race', tag: `r${i}`, stream }, { ipc: true });
      const replies: Reply[] = [];
      let wake: (() => void) | undefined;
      worker.child.on('message', (m: Reply) => {
        replies.push(m);
        wake?.();
      });
      const next = async (): Promise<Reply> => {
        while (replies.length === 0) {
          await withTimeout(
            Promise.race([new Promise<void>((resolve) => (wake = resolve)), worker.finished.then((f) => Promise.reject(new Error(`racer r${i} exited: ${f.stderr}`)))]),
            60_000,
            `a reply from racer r${i}`,
          );
        }
        return replies.shift()!;
      };
      return { worker, next, tag: `r${i}` };
    });
    try {
      for (const r of racers) assert.is((await r.next()).kind, 'listening');
      const winners: string[] = [];
      for (let round = 0; round < ROUNDS; round++) {
        for (const r of racers) r.worker.child.send({ op: 'append', expected: round, seq: round + 1 });
        const replies = await Promise.all(racers.map((r) => r.next()));
        const ok = replies.filter((x): x is Extract<Reply, { kind: 'ok' }> => x.kind === 'ok');
        assert.is(ok.length, 1, `round ${round}: exactly one racer wins version ${round + 1}; replies: ${JSON.stringify(replies)}`);
        assert.is(ok[0]!.result.firstVersion, round + 1);
        for (const l of replies.filter((x): x is Extract<Reply, { kind: 'error' }> => x.kind === 'error')) {
          assert.is(l.code, 'CONFLICT', `round ${round}: ${l.tag} gets CONFLICT, not ${l.code} (${l.message})`);
          assert.equal([l.details.streamId, l.details.expected, l.details.actual], [stream, round, round + 1]);
        }
        winners.push(ok[0]!.tag);
      }
      for (const r of racers) r.worker.child.send({ op: 'stop' });
      for (const r of racers) assert.is((await withTimeout(r.worker.finished, 60_000, `racer ${r.tag} to exit`)).code, 0);
      const store = await ws.open(schema);
      try {
        const events = await store.readStream(stream);
        assert.equal(events.map((e) => e.version), Array.from({ length: ROUNDS }, (_, i) => i + 1));
        for (const [i, e] of events.entries()) assert.is(canonStored(e), canonAppended(eventFor(winners[i]!, stream, i + 1)), `version ${i + 1} holds the winner's event`);
        assert.equal(checkConsistency(await readSnapshot(store)), []);
      } finally {
        await store.close();
      }
    } finally {
      for (const r of racers) if (r.worker.child.exitCode === null && r.worker.child.signalCode === null) r.worker.child.kill('SIGKILL');
    }
  });

  test('a live subscriber (subscribeToAll) in this process receives what other processes append, through LISTEN/NOTIFY, in order and without gaps', async () => {
    const schema = ws.schema();
    const store = await ws.open(schema);
    await store.append('before', { type: 'setup', data: 1 });
    const received: RecordedEvent[] = [];
    let failure: unknown;
    const sub: Subscription = store.subscribeToAll().subscribe({ next: (e) => received.push(e), error: (err) => (failure = err) });
    try {
      const workers = [0, 1].map((i) => ws.worker(schema, { mode: 'append', tag: `s${i}`, streams: [`live-${i}`, 'live-shared'], appends: 40, maxBatch: 2 }));
      const acks = await finishAll(workers);
      const total = 1 + acks.reduce((n, a) => n + a.seqs.length, 0);
      const deadline = Date.now() + 30_000;
      while (received.length < total && failure === undefined && Date.now() < deadline) await sleep(10);
      assert.is(failure, undefined, `the subscription failed: ${String(failure)}`);
      assert.equal(received.map((e) => e.position), Array.from({ length: total }, (_, i) => i + 1), 'every event, in position order, without gaps or duplicates');
      const byId = new Map(received.map((e) => [e.id, e]));
      for (const ack of acks) {
        ack.seqs.forEach((seq, i) => {
          const got = byId.get(eventFor(ack.tag, ack.stream, seq).id);
          assert.is(got?.position, ack.firstPosition + i);
          assert.is(canonStored(got!), canonAppended(eventFor(ack.tag, ack.stream, seq)));
        });
      }
    } finally {
      sub.unsubscribe();
      await store.close();
    }
  });

  test.run();
}
