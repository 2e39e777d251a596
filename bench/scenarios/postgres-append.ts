/**
 * PostgreSQL backend, durable append: one event per append, one writer,
 * durability 'always' (synchronous_commit on), against a raw single-row INSERT
 * of the same row (msgpack data and metadata, same indexes) in its own
 * transaction on the same server.
 * Goal (issue 4): p50 latency within 1.3x of the raw INSERT.
 *
 * The server comes from FFCDB_BENCH_POSTGRES, else FFCDB_TEST_POSTGRES; without
 * either, the scenario says it was skipped. It works in a schema of its own,
 * dropped at the end. This file also holds what the postgres-* scenarios share.
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { postgresBackend } from '../../src/backends/postgres/connect.js';
import { encodeMsgpack } from '../../src/codec/event-codec.js';
import { EventStore } from '../../src/engine/event-store.js';
import type { NewEvent } from '../../src/kernel/types.js';
import { messagePool, sessionIds } from '../lib/chat-data.js';
import { Latencies, rate, rounds, sum, timeOps, type LoopResult } from '../lib/measure.js';
import { defineScenario, type ScenarioContext } from '../lib/scenario.js';

export const SUBJECT = "ffcdb, PostgreSQL backend, durability 'always'";
const SERVER = process.env.FFCDB_BENCH_POSTGRES || process.env.FFCDB_TEST_POSTGRES || undefined;

/** The server, or undefined after saying (in the log and the report) that the scenario is skipped. */
export function benchServer(ctx: ScenarioContext): string | undefined {
  if (SERVER) return SERVER;
  const why = 'SKIPPED: no PostgreSQL server (set FFCDB_BENCH_POSTGRES or FFCDB_TEST_POSTGRES to a connection string)';
  ctx.log(why);
  ctx.results.params = why;
  return undefined;
}

/**
 * Two schemas of their own on the server: the engine's, and one with
 * `raw_events` for the raw INSERT peer, which gets a connection per writer and
 * a prepared statement (the best a plain INSERT can do).
 */
export class PostgresBench {
  readonly schema = `ffcdb_bench_${process.pid}_${randomBytes(4).toString('hex')}`;
  readonly rawSchema = `${this.schema}_raw`;
  readonly #clients: pg.Client[];
  #seq = 0;

  private constructor(readonly server: string, writers: number) {
    this.#clients = Array.from({ length: writers }, () => new pg.Client({ connectionString: server }));
  }

  /** Sets up, opens the engine on its schema, runs fn, and closes and drops everything, whatever happens. */
  static async run(server: string, writers: number, fn: (bench: PostgresBench, store: EventStore) => Promise<void>): Promise<void> {
    const bench = new PostgresBench(server, writers);
    try {
      await bench.#setUp();
      const store = await EventStore.open(postgresBackend({ connectionString: server, schema: bench.schema, durability: 'always' }));
      try {
        await fn(bench, store);
      } finally {
        await store.close();
      }
    } finally {
      await bench.#dispose();
    }
  }

  async #setUp(): Promise<void> {
    await Promise.all(this.#clients.map((c) => c.connect()));
    const t = `"${this.rawSchema}".raw_events`;
    // The engine's row, with the same keys and indexes; positions from a sequence.
    await this.#clients[0]!.query(`CREATE SCHEMA "${this.rawSchema}";
      CREATE TABLE ${t} (
        position bigserial PRIMARY KEY, stream_id text COLLATE "C" NOT NULL, version bigint NOT NULL, id text COLLATE "C" NOT NULL,
        type text NOT NULL, schema_version integer NOT NULL, ts bigint NOT NULL, data bytea NOT NULL, metadata bytea NOT NULL,
        UNIQUE (stream_id, version), UNIQUE (stream_id, id))`);
  }

  /** Writer `writer`'s INSERT: its own transaction (autocommit), synchronous_commit on. */
  async rawInsert(writer: number, streamId: string, version: number, e: NewEvent): Promise<void> {
    await this.#clients[writer]!.query({
      name: 'raw_insert',
      text: `INSERT INTO "${this.rawSchema}".raw_events (stream_id, version, id, type, schema_version, ts, data, metadata) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
      values: [streamId, version, `raw-${++this.#seq}`, e.type, e.schemaVersion ?? 1, Date.now(), encodeMsgpack(e.data), encodeMsgpack(e.metadata ?? {})],
    });
  }

  async #dispose(): Promise<void> {
    try {
      await this.#clients[0]!.query(`DROP SCHEMA IF EXISTS "${this.schema}", "${this.rawSchema}" CASCADE`);
    } finally {
      await Promise.all(this.#clients.map((c) => c.end()));
    }
  }
}

export default defineScenario({
  title: "PostgreSQL backend, durable append: one event per append, one writer, durability 'always'",
  durability: 'always',
  async run(ctx) {
    const server = benchServer(ctx);
    if (!server) return;
    const opsPerRound = ctx.size(1500, 250);
    const roundCount = ctx.size(3, 1);
    const warmup = ctx.size(300, 100);
    const session = sessionIds(ctx.seed, 1)[0] as string;
    const pool = messagePool(ctx.seed, session, 500);
    const ev = (i: number) => pool[i % pool.length] as NewEvent;

    await PostgresBench.run(server, 1, async (bench, store) => {
      let rawVersion = 0;
      for (let i = 0; i < warmup; i++) {
        await store.append(session, ev(i));
        await bench.rawInsert(0, session, ++rawVersion, ev(i));
      }
      const contenders = {
        ffcdb: { lat: new Latencies(), runs: [] as LoopResult[], op: (i: number) => store.append(session, ev(i)) },
        raw: { lat: new Latencies(), runs: [] as LoopResult[], op: (i: number) => bench.rawInsert(0, session, ++rawVersion, ev(i)) },
      };
      let offset = warmup;
      await rounds(
        roundCount,
        Object.values(contenders).map((c) => async () => {
          c.runs.push(await timeOps(opsPerRound, (i) => c.op(offset + i), c.lat));
          offset += opsPerRound;
        }),
      );

      const r = ctx.results;
      r.params = `PostgresBackend in schema ${bench.schema} · ${roundCount} × ${opsPerRound.toLocaleString('en-US')} appends each, interleaved`;
      const rawName = 'raw INSERT (prepared), own transaction, synchronous_commit on';
      for (const p of ['p50', 'mean', 'p99'] as const) {
        const v = (k: keyof typeof contenders) => contenders[k].lat.summary()[p];
        r.compare({
          metric: `${p} latency`,
          kind: 'time',
          unit: 'ms',
          value: v('ffcdb'),
          subject: SUBJECT,
          peers: [{ name: rawName, value: v('raw'), ...(p === 'p50' ? { goal: { text: 'within 1.3× of a raw INSERT', atLeast: 1 / 1.3 } } : {}) }],
        });
      }
      r.compare({ metric: 'throughput', kind: 'rate', unit: 'appends/s', value: rate(sum(contenders.ffcdb.runs)), subject: SUBJECT, peers: [{ name: rawName, value: rate(sum(contenders.raw.runs)) }] });
      r.note("An append is one call of the schema's append_events function on the backend's writer connection (one round trip, one transaction): it takes the schema's writer lock, reads the stream's last version, inserts and NOTIFYs. With a commits$ subscriber in the process, each commit also wakes its LISTEN connection.");
    });
  },
});
