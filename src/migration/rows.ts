import { type CatalogEvent, upcast, validateEvent } from '../events/catalog.js';
import type { JsonObject } from '../events/fields.js';
import { type StreamKind, streamEntity } from '../events/streams.js';
import type { SqlRow, SqlValue, TableDef } from '../sql/driver.js';
import { decodeValue, jsonText } from '../sql/values.js';
import type { RecordedEvent } from '../kernel/types.js';

/** An event read from the feed, checked against the catalog once, with its `events` row. */
export interface FeedEvent {
  raw: RecordedEvent;
  /** At its current schema version; null when the catalog refuses it or does not know its type (as the projections skip it). */
  event: CatalogEvent | null;
  owner: { kind: StreamKind; id: string } | undefined;
  /** Its row of the events table. */
  row: SqlValue[];
  /** A message event's content as JSON, made once for the events row and the message's rows. */
  contentJson?: string;
}

/** What the projection runner does with each event before a projection sees it: validate, then upcast. */
export function feedEvent(raw: RecordedEvent): FeedEvent {
  let event: CatalogEvent | null;
  try {
    validateEvent(raw.type, raw.schemaVersion, raw.data);
    event = upcast(raw);
  } catch {
    event = null;
  }
  const contentJson = event?.type === 'message.added' || event?.type === 'message.edited' ? jsonText(event.data.content) : undefined;
  // The content is most of a message event: its JSON is made once, and the payload's put together around it.
  const data = contentJson !== undefined && raw.data === event!.data ? jsonAround(raw.data as Record<string, unknown>, 'content', contentJson) : jsonText(raw.data);
  return {
    raw,
    event,
    owner: streamEntity(raw.streamId),
    row: [raw.position, raw.streamId, raw.version, raw.id, raw.type, raw.schemaVersion, raw.timestamp, data, jsonText(raw.metadata)],
    ...(contentJson === undefined ? {} : { contentJson }),
  };
}

/** JSON text of an object whose field `key` is given as JSON already: what jsonText(o) gives, keys in their order. */
function jsonAround(o: Record<string, unknown>, key: string, json: string): string {
  let out = '{';
  for (const k of Object.keys(o)) {
    if (out.length > 1) out += ',';
    out += `${JSON.stringify(k)}:${k === key ? json : jsonText(o[k])}`;
  }
  return `${out}}`;
}

/** A valid session.deleted asking for a purge: its stream is erased from the database. */
export function asksForPurge(e: FeedEvent): boolean {
  return e.owner?.kind === 'session' && e.event?.type === 'session.deleted' && e.event.data.purge === true;
}

/** A row object as values in the table's column order. */
export function values(table: TableDef, row: object): SqlValue[] {
  const r = row as Record<string, SqlValue>;
  return table.columns.map((c) => r[c.name] ?? null);
}

/** A row read back as an object of decoded values. */
export function rowObject<T>(table: TableDef, row: SqlRow): T {
  const out: Record<string, SqlValue> = {};
  for (const c of table.columns) out[c.name] = decodeValue(c.type, row[c.name]);
  return out as T;
}

export interface SessionRow {
  session_id: string;
  user_id: string;
  title: string;
  metadata: string;
  archived: boolean;
  created_at: number;
  updated_at: number;
  version: number;
  last_message_at: number | null;
  deleted_at: number | null;
}

export interface UserRow {
  user_id: string;
  display_name: string | null;
  email: string | null;
  profile: string;
  preferences: string;
  created_at: number;
  updated_at: number;
  version: number;
}

export interface MessageRow {
  session_id: string;
  message_id: string;
  seq: number;
  role: string;
  content: string;
  attachments: string;
  metadata: string;
  revision: number;
  created_at: number;
  updated_at: number;
  deleted_at: number | null;
  extra: string | null;
}

export interface DocumentRow {
  upload_position: number;
  document_id: string;
  user_id: string;
  session_id: string | null;
  name: string | null;
  media_type: string;
  size: number;
  sha256: string;
  metadata: string;
  uploaded_at: number;
  deleted_at: number | null;
}

export interface ContextRow {
  session_id: string;
  /** The value, parsed: merge patches apply to it. */
  current: JsonObject;
  /** Its JSON text, as stored. */
  value: string;
  version: number;
  updated_at: number | null;
}
