import { ErrorCode, FfcdbError } from '../kernel/errors.js';
import type { PreparedEvent } from '../backends/backend.js';
import type { NewEvent } from '../kernel/types.js';
import { assertId, assertEventType, assertJsonValue, assertPositiveInteger, invalid } from '../kernel/validation.js';

/**
 * Checks one event of an append and gives it what the backend stores: its id
 * (the caller's, refused when it appears twice in `seen`, or a new ULID), its
 * timestamp and its metadata without undefined keys.
 */
export function prepareEvent(e: NewEvent, index: number, now: number, seen: Set<string>, nextId: (now: number) => string): PreparedEvent {
  const at = `events[${index}]`;
  if (e === null || typeof e !== 'object') throw invalid(at, 'must be an object');
  assertEventType(e.type, `${at}.type`);
  if (!('data' in e) || e.data === undefined) throw invalid(`${at}.data`, 'is required (use null for no data)');
  assertJsonValue(e.data, `${at}.data`);
  if (e.metadata !== undefined && (e.metadata === null || typeof e.metadata !== 'object' || Array.isArray(e.metadata))) {
    throw invalid(`${at}.metadata`, 'must be an object');
  }
  const metadata = stripUndefined(e.metadata ?? {});
  assertJsonValue(metadata, `${at}.metadata`);
  for (const key of ['actor', 'correlationId', 'causationId'] as const) {
    const v = metadata[key];
    if (v !== undefined && typeof v !== 'string') throw invalid(`${at}.metadata.${key}`, 'must be a string');
  }
  const schemaVersion = e.schemaVersion ?? 1;
  assertPositiveInteger(schemaVersion, `${at}.schemaVersion`, 1);
  if (schemaVersion > 65_535) throw invalid(`${at}.schemaVersion`, 'must be at most 65535');
  let id: string;
  const idSupplied = e.id !== undefined;
  if (idSupplied) {
    assertId(e.id, `${at}.id`);
    id = e.id as string;
    if (seen.has(id)) throw new FfcdbError(ErrorCode.DUPLICATE_EVENT, `${at}.id ${id} appears twice in one append`, { field: `${at}.id`, id });
    seen.add(id);
  } else {
    id = nextId(now);
  }
  return { id, idSupplied, type: e.type, schemaVersion, timestamp: now, data: e.data, metadata };
}

function stripUndefined<T extends object>(o: T): T {
  const out: Record<string, unknown> = {};
  // defineProperty, not `out[k] = v`: a `__proto__` key must stay a key (which validation refuses), not set the prototype.
  for (const [k, v] of Object.entries(o)) {
    if (v !== undefined) Object.defineProperty(out, k, { value: v, enumerable: true, writable: true, configurable: true });
  }
  return out as T;
}
