import { ErrorCode, FfcdbError } from '../kernel/errors.js';
import { assertPositiveInteger, invalid } from '../kernel/validation.js';
import type { RecordedEvent } from '../kernel/types.js';
import { type ContextEvents, contextEvents } from './context.js';
import type { EventDefinition } from './definition.js';
import { type DocumentEvents, documentEvents } from './documents.js';
import { json } from './fields.js';
import { EVENT_LIMITS } from './limits.js';
import { type MessageEvents, messageEvents } from './messages.js';
import { type SessionEvents, sessionEvents } from './sessions.js';
import { type UserEvents, userEvents } from './users.js';

/** Every event type the catalog knows, with its payload at the current schema version. */
export type EventDataMap = UserEvents & SessionEvents & MessageEvents & DocumentEvents & ContextEvents;
export type EventType = keyof EventDataMap;

/** A recorded event of a known type, at its current schema version, its data typed by its type. */
export type CatalogEvent = {
  [K in EventType]: Omit<RecordedEvent, 'type' | 'data'> & { type: K; data: EventDataMap[K] };
}[EventType];

const DEFINITIONS: ReadonlyMap<string, EventDefinition<unknown>> = new Map(
  Object.entries({ ...userEvents, ...sessionEvents, ...messageEvents, ...documentEvents, ...contextEvents }),
);

export const EVENT_TYPES = [...DEFINITIONS.keys()] as EventType[];

/** The current schema version of each type. */
export function currentVersion(type: string): number {
  return definition(type, 1).version;
}

/**
 * Throws unless `data` is a valid payload of `type` at `schemaVersion`
 * (INVALID_ARGUMENT or INVALID_ID naming the field, as `data.<path>`; the whole
 * payload must encode to at most EVENT_LIMITS.payloadBytes). An older version
 * is checked against the schema of its time.
 */
export function validateEvent(type: string, schemaVersion: number, data: unknown): void {
  const def: EventDefinition<unknown> = definition(type, schemaVersion);
  if (schemaVersion === def.version) def.validate(data);
  else def.history![schemaVersion]!.validate(data);
  json(data, 'data', EVENT_LIMITS.payloadBytes);
}

/** The event at its type's current schema version, upcast v1 → v2 → ... as needed (the same object when already current). */
export function upcast(event: RecordedEvent): CatalogEvent {
  const def = definition(event.type, event.schemaVersion);
  let data: unknown = event.data;
  for (let v = event.schemaVersion; v < def.version; v++) data = def.history![v]!.upcast(data as never);
  return (event.schemaVersion === def.version ? event : { ...event, schemaVersion: def.version, data }) as CatalogEvent;
}

/**
 * The definition of `type`, which must know `schemaVersion`. Unknown types are
 * INVALID_ARGUMENT (field `type`); a version newer than this code knows is
 * UNSUPPORTED_FORMAT (written by a newer release: upgrade to read it).
 */
function definition(type: string, schemaVersion: number): EventDefinition<unknown> {
  const def = DEFINITIONS.get(type);
  if (!def) throw invalid('type', `is not an event type of the catalog; got ${JSON.stringify(type)}`);
  assertPositiveInteger(schemaVersion, 'schemaVersion');
  if (schemaVersion > def.version) {
    throw new FfcdbError(
      ErrorCode.UNSUPPORTED_FORMAT,
      `${type} schema version ${schemaVersion} is newer than this code knows (${def.version}); upgrade to read it`,
      { field: 'schemaVersion', type, schemaVersion, current: def.version },
    );
  }
  return def;
}
