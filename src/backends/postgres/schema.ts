/**
 * The tables and functions of the event log in one PostgreSQL schema, created
 * when missing and recognised by their format row when present.
 *
 * - `events`: one row per event; data and metadata are msgpack (the flatfile
 *   codec's), so every JsonValue (binary included) reads back exactly.
 * - `streams`: each stream's version and last timestamp, and the tombstone flag
 *   of a purged stream (its events are deleted, this row stays).
 * - `head`: one row, the last position handed out. Every append and purge locks
 *   it first (`SELECT ... FOR UPDATE`), which serialises writers across
 *   processes: see `append_events`.
 * - `ffcdb_format`: one row naming the format and its version.
 */
import { ErrorCode, FfcdbError } from '../../errors.js';
import type { PgPool, PgPoolClient } from './driver.js';

export const FORMAT = 'ffcdb-postgres-event-log';
export const FORMAT_VERSION = 1;

/** Lower-case, so that quoted and unquoted spellings agree; short enough to fit the NOTIFY channel name (63 bytes). */
const SCHEMA_NAME = /^[a-z_][a-z0-9_]{0,47}$/;

export function assertSchemaName(value: unknown): asserts value is string {
  if (typeof value !== 'string' || !SCHEMA_NAME.test(value)) {
    throw new FfcdbError(
      ErrorCode.INVALID_ARGUMENT,
      `schema must be 1-48 characters of a-z, 0-9 and '_', not starting with a digit; got ${JSON.stringify(value)}`,
      { field: 'schema' },
    );
  }
}

/** A validated name, quoted: the only way a name enters SQL text. */
export function ident(name: string): string {
  return `"${name}"`;
}

/** The NOTIFY channel of a schema's commits. */
export function commitChannel(schema: string): string {
  return `ffcdb_commits_${schema}`;
}

function ddl(schema: string): string {
  const s = ident(schema);
  return `
CREATE SCHEMA IF NOT EXISTS ${s};
CREATE TABLE ${s}.ffcdb_format (format text NOT NULL, version integer NOT NULL);
INSERT INTO ${s}.ffcdb_format VALUES ('${FORMAT}', ${FORMAT_VERSION});
CREATE TABLE ${s}.head (one boolean PRIMARY KEY DEFAULT true CHECK (one), position bigint NOT NULL);
INSERT INTO ${s}.head (position) VALUES (0);
CREATE TABLE ${s}.streams (
  stream_id text COLLATE "C" PRIMARY KEY,
  version bigint NOT NULL,
  last_ts bigint NOT NULL,
  purged boolean NOT NULL DEFAULT false
);
CREATE TABLE ${s}.events (
  position bigint PRIMARY KEY,
  stream_id text COLLATE "C" NOT NULL,
  version bigint NOT NULL,
  id text COLLATE "C" NOT NULL,
  type text NOT NULL,
  schema_version integer NOT NULL,
  ts bigint NOT NULL,
  data bytea NOT NULL,
  metadata bytea NOT NULL,
  UNIQUE (stream_id, version),
  UNIQUE (stream_id, id)
);

-- Appends a group of appends (at most one per stream) in one round trip and one
-- transaction. The caller applied the append rules (append-rules.ts) to the
-- stream state it assumed (p_assumed: version, not purged, none of its supplied
-- ids stored); this checks each assumption under the head lock and writes the
-- entries whose assumption holds and that the caller decided to write. Every
-- entry comes back with the actual state, so the caller can settle it or decide
-- again. Holding the head lock until commit hands out positions in commit order.
CREATE FUNCTION ${s}.append_events(
  p_stream text[], p_assumed bigint[], p_write boolean[],
  p_sup_entry integer[], p_sup_id text[],
  p_ev_entry integer[], p_id text[], p_type text[], p_schema_version integer[], p_ts bigint[], p_data bytea[], p_metadata bytea[],
  p_sync boolean, p_channel text)
RETURNS TABLE (entry integer, ok boolean, version bigint, purged boolean, first_position bigint, refs jsonb)
LANGUAGE plpgsql AS $fn$
#variable_conflict use_column
DECLARE
  v_head bigint;
  v_new bigint;
BEGIN
  IF NOT p_sync THEN
    PERFORM set_config('synchronous_commit', 'off', true);
  ELSIF current_setting('synchronous_commit') = 'off' THEN
    PERFORM set_config('synchronous_commit', 'on', true);
  END IF;
  -- Waits for the writer before us to commit. Each statement below takes a new
  -- snapshot (read committed), so it sees that writer's commit.
  SELECT h.position INTO v_head FROM ${s}.head h FOR UPDATE;
  RETURN QUERY
  WITH entries AS (
    SELECT x.entry::integer AS entry, x.stream_id, x.assumed, x.write,
           coalesce(st.version, 0) AS cur, coalesce(st.purged, false) AS purged, coalesce(st.last_ts, 0) AS last_ts
    FROM unnest(p_stream, p_assumed, p_write) WITH ORDINALITY AS x(stream_id, assumed, write, entry)
    LEFT JOIN ${s}.streams st ON st.stream_id = x.stream_id
  ), stored AS (
    SELECT u.entry, jsonb_agg(jsonb_build_array(e.id, e.version, e.position)) AS refs
    FROM unnest(p_sup_entry, p_sup_id) AS u(entry, id)
    JOIN entries en ON en.entry = u.entry
    JOIN ${s}.events e ON e.stream_id = en.stream_id AND e.id = u.id
    GROUP BY u.entry
  ), checked AS (
    SELECT en.*, k.refs, (en.cur = en.assumed AND NOT en.purged AND k.refs IS NULL) AS ok
    FROM entries en LEFT JOIN stored k ON k.entry = en.entry
  ), ev AS (
    SELECT u.*, row_number() OVER (PARTITION BY u.entry ORDER BY u.ord) AS k
    FROM unnest(p_ev_entry, p_id, p_type, p_schema_version, p_ts, p_data, p_metadata) WITH ORDINALITY
      AS u(entry, id, type, schema_version, ts, data, metadata, ord)
  ), sizes AS (
    SELECT ev.entry, count(*) AS n, max(ev.ts) AS max_ts FROM ev GROUP BY ev.entry
  ), placed AS (
    SELECT c.entry, c.stream_id, c.assumed, c.last_ts, z.n, z.max_ts,
           v_head + (sum(z.n) OVER (ORDER BY c.entry))::bigint - z.n AS before
    FROM checked c JOIN sizes z ON z.entry = c.entry
    WHERE c.ok AND c.write
  ), inserted AS (
    INSERT INTO ${s}.events (position, stream_id, version, id, type, schema_version, ts, data, metadata)
    SELECT p.before + ev.k, p.stream_id, p.assumed + ev.k, ev.id, ev.type, ev.schema_version,
           greatest(ev.ts, p.last_ts), ev.data, ev.metadata
    FROM ev JOIN placed p ON p.entry = ev.entry
  ), advanced AS (
    INSERT INTO ${s}.streams (stream_id, version, last_ts)
    SELECT p.stream_id, p.assumed + p.n, greatest(p.max_ts, p.last_ts) FROM placed p
    ON CONFLICT (stream_id) DO UPDATE SET version = excluded.version, last_ts = excluded.last_ts
  )
  SELECT c.entry, c.ok, c.cur, c.purged, p.before + 1, c.refs
  FROM checked c LEFT JOIN placed p ON p.entry = c.entry
  ORDER BY c.entry;

  SELECT max(e.position) INTO v_new FROM ${s}.events e WHERE e.position > v_head;
  IF v_new IS NOT NULL THEN
    UPDATE ${s}.head SET position = v_new;
    -- Delivered at commit, in commit order, to every process listening.
    PERFORM pg_notify(p_channel, v_new::text);
  END IF;
END
$fn$;

-- Deletes a stream's events and marks its row purged, under the head lock like
-- an append, durably whatever the session's synchronous_commit. No row: the
-- stream never existed.
CREATE FUNCTION ${s}.purge_stream(p_stream text)
RETURNS TABLE (version bigint, erased bigint)
LANGUAGE plpgsql AS $fn$
#variable_conflict use_column
DECLARE
  v_version bigint;
  v_purged boolean;
  v_erased bigint;
BEGIN
  IF current_setting('synchronous_commit') = 'off' THEN
    PERFORM set_config('synchronous_commit', 'on', true);
  END IF;
  PERFORM 1 FROM ${s}.head FOR UPDATE;
  SELECT st.version, st.purged INTO v_version, v_purged FROM ${s}.streams st WHERE st.stream_id = p_stream;
  IF v_version IS NULL THEN
    RETURN;
  END IF;
  IF v_purged THEN
    RETURN QUERY SELECT v_version, 0::bigint;
    RETURN;
  END IF;
  DELETE FROM ${s}.events e WHERE e.stream_id = p_stream;
  GET DIAGNOSTICS v_erased = ROW_COUNT;
  -- The tombstone keeps the version; the last timestamp belonged to the erased events.
  UPDATE ${s}.streams st SET purged = true, last_ts = 0 WHERE st.stream_id = p_stream;
  RETURN QUERY SELECT v_version, v_erased;
END
$fn$;
`;
}

/**
 * Creates the schema's tables and functions when the schema is missing or
 * empty; accepts it when its format row is ours; refuses anything else with
 * UNSUPPORTED_FORMAT. A transaction-level advisory lock keyed on the schema
 * name makes two processes opening at once take turns.
 */
export async function ensureSchema(client: PgPoolClient, schema: string): Promise<void> {
  await client.query('BEGIN');
  try {
    await client.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`ffcdb schema ${schema}`]);
    const { rows } = await client.query<{ relname: string }>(
      `SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
       WHERE n.nspname = $1 AND c.relkind IN ('r', 'p', 'v', 'm', 'f', 'S') ORDER BY c.relname`,
      [schema],
    );
    const names = rows.map((r) => r.relname);
    if (names.includes('ffcdb_format')) {
      const format = (await client.query<{ format: string; version: number }>(`SELECT format, version FROM ${ident(schema)}.ffcdb_format`)).rows;
      const found = format[0];
      if (format.length !== 1 || found?.format !== FORMAT || found.version !== FORMAT_VERSION) {
        throw new FfcdbError(
          ErrorCode.UNSUPPORTED_FORMAT,
          `schema ${schema} holds ${found ? `format ${found.format} version ${found.version}` : 'an empty format table'}; this library reads ${FORMAT} version ${FORMAT_VERSION}`,
          { schema, format: found?.format, version: found?.version },
        );
      }
    } else if (names.length > 0) {
      throw new FfcdbError(
        ErrorCode.UNSUPPORTED_FORMAT,
        `schema ${schema} holds tables that are not an ffcdb event log (${names.slice(0, 5).join(', ')}${names.length > 5 ? ', ...' : ''}); give the backend a schema of its own`,
        { schema, tables: names.slice(0, 20) },
      );
    } else {
      await client.query(ddl(schema));
    }
    await client.query('COMMIT');
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw err;
  }
}

/** The statements the backend runs, for one schema. */
export function statements(schema: string) {
  const s = ident(schema);
  const columns = 'position, stream_id, version, id, type, schema_version, ts, data, metadata';
  return {
    append: `SELECT entry, ok, version, purged, first_position, refs FROM ${s}.append_events($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)`,
    purge: `SELECT version, erased FROM ${s}.purge_stream($1)`,
    head: `SELECT position FROM ${s}.head`,
    streamVersion: `SELECT version FROM ${s}.streams WHERE stream_id = $1`,
    // Keyset pages: each starts where the last ended, on the (stream_id, version) and position indexes.
    readForward: `SELECT ${columns} FROM ${s}.events WHERE stream_id = $1 AND version >= $2 ORDER BY version LIMIT $3`,
    readBackward: `SELECT ${columns} FROM ${s}.events WHERE stream_id = $1 AND version <= $2 ORDER BY version DESC LIMIT $3`,
    readAll: `SELECT ${columns} FROM ${s}.events WHERE position >= $1 ORDER BY position LIMIT $2`,
    listen: `LISTEN ${ident(commitChannel(schema))}`,
  };
}

export type Statements = ReturnType<typeof statements>;

/** Runs fn on a connection of its own, destroying the connection when fn failed (it may be broken). */
export async function withConnection<T>(pool: PgPool, fn: (client: PgPoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  try {
    const result = await fn(client);
    client.release();
    return result;
  } catch (err) {
    client.release(err instanceof Error ? err : true);
    throw err;
  }
}
