/**
 * The tables and functions of the event log in one PostgreSQL schema, created
 * when missing and recognised by their format row when present.
 *
 * - `events`: one row per event; data and metadata are msgpack (the flatfile
 *   codec's), so every JsonValue (binary included) reads back exactly. A
 *   stream's version and last timestamp are its last row's.
 * - `tombstones`: each purged stream and the version it had (its events are deleted).
 * - `head`: the head as of the last purge; the head is the greater of it and
 *   the last event's position.
 * Appends and purges run in functions that take one advisory lock per schema
 * first, which serialises writers across processes: see `append_events`.
 * - `ffcdb_format`: one row naming the format and its version.
 */
import { ErrorCode, FfcdbError } from '../../kernel/errors.js';
import type { PgPool, PgPoolClient } from '../../sql/postgres/pool.js';

const FORMAT = 'ffcdb-postgres-event-log';
const FORMAT_VERSION = 1;

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
function ident(name: string): string {
  return `"${name}"`;
}

/** The NOTIFY channel of a schema's commits. */
export function commitChannel(schema: string): string {
  return `ffcdb_commits_${schema}`;
}

const LOCK_CLASS = 0x0ffcdb;

/**
 * The head: the last event's position, or the head as of the last purge when
 * that purge erased the last events. An expression rather than a SQL function,
 * which PostgreSQL would plan anew in every transaction.
 */
function headPosition(s: string): string {
  return `greatest((SELECT e.position FROM ${s}.events e ORDER BY e.position DESC LIMIT 1), (SELECT h.position FROM ${s}.head h))`;
}

/**
 * The advisory lock that serialises every writer of a schema (appends, purges,
 * creating it): an advisory key pair, the first half ours, the second a hash of
 * the schema's name (a collision only makes two schemas take turns).
 */
function writerLock(schema: string): string {
  return `pg_advisory_xact_lock(${LOCK_CLASS}, hashtext('ffcdb schema ${schema}'))`;
}

function ddl(schema: string): string {
  const s = ident(schema);
  return `
CREATE SCHEMA IF NOT EXISTS ${s};
CREATE TABLE ${s}.ffcdb_format (format text NOT NULL, version integer NOT NULL);
INSERT INTO ${s}.ffcdb_format VALUES ('${FORMAT}', ${FORMAT_VERSION});
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
CREATE TABLE ${s}.tombstones (stream_id text COLLATE "C" PRIMARY KEY, version bigint NOT NULL);
-- The head as of the last purge, so that purging the last events never hands their positions out again.
CREATE TABLE ${s}.head (one boolean PRIMARY KEY DEFAULT true CHECK (one), position bigint NOT NULL);
INSERT INTO ${s}.head (position) VALUES (0);

-- A stream's version and last timestamp are its last event's; a purged
-- stream's version is in its tombstone; a stream never written is at 0.
CREATE FUNCTION ${s}.stream_state(p_stream text) RETURNS TABLE (version bigint, ts bigint, purged boolean)
LANGUAGE sql STABLE AS $fn$
  SELECT coalesce(e.version, t.version, 0), coalesce(e.ts, 0), t.version IS NOT NULL
  FROM (SELECT) one
  LEFT JOIN LATERAL (SELECT x.version, x.ts FROM ${s}.events x WHERE x.stream_id = p_stream ORDER BY x.version DESC LIMIT 1) e ON true
  LEFT JOIN ${s}.tombstones t ON e.version IS NULL AND t.stream_id = p_stream
$fn$;

-- Commits a group of appends (at most one per stream) in one round trip and one
-- transaction. The caller applied the append rules (append-rules.ts) to the
-- state it assumed for each stream (p_assumed: that version, not purged, none
-- of the supplied ids stored) and sends the events of the entries it decided to
-- write (p_count of them; 0: only check). Under the writer lock, each entry's
-- assumption is checked and, where it holds, its events are written; every
-- entry comes back with the actual state, so the caller can settle it or decide
-- again.
CREATE FUNCTION ${s}.append_events(
  p_stream text[], p_assumed bigint[], p_count integer[], p_sup_count integer[], p_sup_id text[],
  p_id text[], p_type text[], p_schema_version integer[], p_ts bigint[], p_data bytea[], p_metadata bytea[],
  p_sync boolean, p_channel text)
RETURNS TABLE (ok boolean, version bigint, purged boolean, first_position bigint, refs jsonb)
LANGUAGE plpgsql AS $fn$
DECLARE
  v_head bigint;
  v_next bigint;
  v_state record;
  v_event integer := 1;
  v_sup integer := 1;
  n integer;
BEGIN
  IF NOT p_sync THEN
    PERFORM set_config('synchronous_commit', 'off', true);
  ELSIF current_setting('synchronous_commit') = 'off' THEN
    PERFORM set_config('synchronous_commit', 'on', true);
  END IF;
  -- Waits for the writer before us: transaction locks are released only after
  -- the commit is visible, so positions become visible in the order they are
  -- handed out. Each statement after it takes a new snapshot (read committed),
  -- which sees that writer's commit.
  PERFORM ${writerLock(schema)};
  SELECT ${headPosition(s)} INTO v_head;
  v_next := v_head;
  FOR i IN 1 .. cardinality(p_stream) LOOP
    n := p_count[i];
    SELECT * INTO v_state FROM ${s}.stream_state(p_stream[i]);
    refs := NULL;
    IF p_sup_count[i] > 0 THEN
      SELECT jsonb_agg(jsonb_build_array(e.id, e.version, e.position)) INTO refs
      FROM unnest(p_sup_id[v_sup : v_sup + p_sup_count[i] - 1]) AS u(id)
      JOIN ${s}.events e ON e.stream_id = p_stream[i] AND e.id = u.id;
      v_sup := v_sup + p_sup_count[i];
    END IF;
    ok := v_state.version = p_assumed[i] AND NOT v_state.purged AND refs IS NULL;
    version := v_state.version;
    purged := v_state.purged;
    first_position := NULL;
    IF ok AND n > 0 THEN
      INSERT INTO ${s}.events (position, stream_id, version, id, type, schema_version, ts, data, metadata)
      SELECT v_next + u.k, p_stream[i], v_state.version + u.k, u.id, u.type, u.schema_version, greatest(u.ts, v_state.ts), u.data, u.metadata
      FROM unnest(p_id[v_event : v_event + n - 1], p_type[v_event : v_event + n - 1], p_schema_version[v_event : v_event + n - 1],
                  p_ts[v_event : v_event + n - 1], p_data[v_event : v_event + n - 1], p_metadata[v_event : v_event + n - 1])
           WITH ORDINALITY AS u(id, type, schema_version, ts, data, metadata, k);
      first_position := v_next + 1;
      v_next := v_next + n;
    END IF;
    v_event := v_event + n;
    RETURN NEXT;
  END LOOP;
  IF v_next > v_head THEN
    -- Delivered at commit, in commit order, to every process listening.
    PERFORM pg_notify(p_channel, v_next::text);
  END IF;
END
$fn$;

-- Deletes a stream's events and leaves its tombstone, under the writer lock,
-- durably whatever the session's synchronous_commit. No row: the stream never
-- existed.
CREATE FUNCTION ${s}.purge_stream(p_stream text)
RETURNS TABLE (version bigint, erased bigint)
LANGUAGE plpgsql AS $fn$
DECLARE
  v_state record;
BEGIN
  IF current_setting('synchronous_commit') = 'off' THEN
    PERFORM set_config('synchronous_commit', 'on', true);
  END IF;
  PERFORM ${writerLock(schema)};
  SELECT * INTO v_state FROM ${s}.stream_state(p_stream);
  IF v_state.version = 0 THEN
    RETURN;
  END IF;
  version := v_state.version;
  erased := 0;
  IF NOT v_state.purged THEN
    UPDATE ${s}.head SET position = ${headPosition(s)};
    DELETE FROM ${s}.events e WHERE e.stream_id = p_stream;
    GET DIAGNOSTICS erased = ROW_COUNT;
    INSERT INTO ${s}.tombstones VALUES (p_stream, v_state.version);
  END IF;
  RETURN NEXT;
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
    await client.query(`SELECT ${writerLock(schema)}`);
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

/** The statements the backend runs, for one schema: prepared once per connection (the name carries the schema). */
export function statements(schema: string) {
  const s = ident(schema);
  const columns = 'position, stream_id, version, id, type, schema_version, ts, data, metadata';
  const named = (name: string, text: string) => ({ name: `ffcdb_${name}_${schema}`, text });
  return {
    append: named('append', `SELECT ok, version, purged, first_position, refs FROM ${s}.append_events($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)`),
    purge: named('purge', `SELECT version, erased FROM ${s}.purge_stream($1)`),
    head: named('head', `SELECT ${headPosition(s)} AS position`),
    streamVersion: named('version', `SELECT version FROM ${s}.stream_state($1)`),
    // Keyset pages: each starts where the last ended, on the (stream_id, version) and position indexes.
    readForward: named('forward', `SELECT ${columns} FROM ${s}.events WHERE stream_id = $1 AND version >= $2 ORDER BY version LIMIT $3`),
    readBackward: named('backward', `SELECT ${columns} FROM ${s}.events WHERE stream_id = $1 AND version <= $2 ORDER BY version DESC LIMIT $3`),
    readAll: named('all', `SELECT ${columns} FROM ${s}.events WHERE position >= $1 ORDER BY position LIMIT $2`),
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
