import { decodeMsgpack } from '../../codec/event-codec.js';
import { assertStreamId } from '../../kernel/validation.js';
import type { EventMetadata, JsonValue, RecordedEvent } from '../../kernel/types.js';
import type { StreamReadOptions } from '../backend.js';
import type { Statements } from './schema.js';

/**
 * Reads in keyset pages: each page starts past the last row of the one
 * before (a version or a position, never an OFFSET), and pages grow from
 * FIRST_PAGE to MAX_PAGE rows as a read goes on.
 */

const FIRST_PAGE = 128;
const MAX_PAGE = 1024;

/** Runs a read statement on the pool; the backend's own, which checks it is open and turns failures into FfcdbErrors. */
export type ReadQuery = <R>(statement: { name: string; text: string }, values: unknown[], doing: string) => Promise<R[]>;

interface EventRow {
  position: string;
  stream_id: string;
  version: string;
  id: string;
  type: string;
  schema_version: number;
  ts: string;
  data: Buffer;
  metadata: Buffer;
}

export async function* readStreamPages(query: ReadQuery, sql: Statements, streamId: string, options: StreamReadOptions): AsyncIterable<readonly RecordedEvent[]> {
  assertStreamId(streamId);
  const forward = options.direction === 'forward';
  let bound = forward ? Math.max(1, options.fromVersion ?? 1) : Math.min(options.fromVersion ?? Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER);
  for (let size = firstPage(options.limit); forward || bound >= 1; size = Math.min(size * 2, MAX_PAGE)) {
    const rows = await query<EventRow>(forward ? sql.readForward : sql.readBackward, [streamId, bound, size], `reading stream ${streamId}`);
    if (rows.length > 0) yield rows.map(recorded);
    if (rows.length < size) return;
    const last = Number(rows.at(-1)!.version);
    bound = forward ? last + 1 : last - 1;
  }
}

export async function* readFeedPages(query: ReadQuery, sql: Statements, fromPosition: number, limit?: number): AsyncIterable<readonly RecordedEvent[]> {
  let from = fromPosition;
  for (let size = firstPage(limit); ; size = Math.min(size * 2, MAX_PAGE)) {
    const rows = await query<EventRow>(sql.readAll, [from, size], 'reading the feed');
    if (rows.length > 0) yield rows.map(recorded);
    if (rows.length < size) return;
    from = Number(rows.at(-1)!.position) + 1;
  }
}

function firstPage(limit: number | undefined): number {
  return Math.max(1, Math.min(limit ?? FIRST_PAGE, MAX_PAGE));
}

function recorded(r: EventRow): RecordedEvent {
  return {
    id: r.id,
    streamId: r.stream_id,
    version: Number(r.version),
    position: Number(r.position),
    type: r.type,
    schemaVersion: r.schema_version,
    timestamp: Number(r.ts),
    data: decodeMsgpack(r.data) as JsonValue,
    metadata: decodeMsgpack(r.metadata) as EventMetadata,
  };
}
