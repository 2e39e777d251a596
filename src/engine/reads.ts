import type { StorageBackend, StreamReadOptions } from '../backends/backend.js';
import type { ReadDirection, RecordedEvent } from '../kernel/types.js';
import { assertPositiveInteger, assertStreamId, invalid } from '../kernel/validation.js';

/** The engine's reads over a backend's pages: a stream's events, a page of the feed, time travel. */

export interface ReadStreamOptions {
  direction?: ReadDirection;
  /** Forward: the first version returned; backward: the last. */
  fromVersion?: number;
  limit?: number;
  /** Only events of these types. */
  types?: readonly string[];
}

export interface ReadAllOptions {
  /** The first global position to return (default 1). */
  fromPosition?: number;
  limit?: number;
  types?: readonly string[];
}

export interface FeedPage {
  events: RecordedEvent[];
  /** Pass as `fromPosition` to read the next page. */
  nextPosition: number;
  /** The head position when the page was read. */
  headPosition: number;
}

export type AsOf = { version: number } | { time: number | Date };

/** A stream's pages from the backend, filtered and cut to the limit: one await per page, not per event. */
export async function* streamPages(backend: StorageBackend, streamId: string, options: ReadStreamOptions): AsyncGenerator<readonly RecordedEvent[]> {
  assertStreamId(streamId);
  const direction = options.direction ?? 'forward';
  if (direction !== 'forward' && direction !== 'backward') throw invalid('direction', `must be 'forward' or 'backward'`);
  if (options.fromVersion !== undefined) assertPositiveInteger(options.fromVersion, 'fromVersion', 0);
  let remaining = readLimit(options.limit);
  const types = typeFilter(options.types);
  if (remaining === 0) return;
  const backendOptions: StreamReadOptions = { direction };
  if (options.fromVersion !== undefined) backendOptions.fromVersion = options.fromVersion;
  if (!types && Number.isFinite(remaining)) backendOptions.limit = remaining;
  for await (const page of backend.readStream(streamId, backendOptions)) {
    const kept = types ? page.filter((e) => types.has(e.type)) : page;
    if (kept.length >= remaining) {
      yield kept.slice(0, remaining);
      return;
    }
    remaining -= kept.length;
    if (kept.length > 0) yield kept;
  }
}

/** One page of the global feed, up to the head when it was read. */
export async function readFeedPage(backend: StorageBackend, options: ReadAllOptions): Promise<FeedPage> {
  const from = options.fromPosition ?? 1;
  assertPositiveInteger(from, 'fromPosition', 1);
  const limit = readLimit(options.limit ?? 1000);
  const types = typeFilter(options.types);
  const headPosition = await backend.headPosition();
  const events: RecordedEvent[] = [];
  let nextPosition = from;
  if (limit > 0) {
    outer: for await (const page of backend.readAll(from, types ? undefined : limit)) {
      for (const e of page) {
        if (e.position > headPosition) break outer;
        nextPosition = e.position + 1;
        if (types && !types.has(e.type)) continue;
        events.push(e);
        if (events.length >= limit) break outer;
      }
    }
  }
  if (events.length < limit) nextPosition = Math.max(nextPosition, headPosition + 1);
  return { events, nextPosition, headPosition };
}

/** Whether an event is past the point in the stream's history that `asOf` names. */
export function asOfStop(asOf: AsOf): (e: RecordedEvent) => boolean {
  let stop: (e: RecordedEvent) => boolean;
  if ('version' in asOf) {
    assertPositiveInteger(asOf.version, 'asOf.version', 0);
    const v = asOf.version;
    stop = (e) => e.version > v;
  } else if ('time' in asOf) {
    const t = asOf.time instanceof Date ? asOf.time.getTime() : asOf.time;
    if (typeof t !== 'number' || !Number.isFinite(t)) throw invalid('asOf.time', 'must be a Date or milliseconds since the epoch');
    stop = (e) => e.timestamp > t;
  } else {
    throw invalid('asOf', 'must be { version } or { time }');
  }
  return stop;
}

function readLimit(limit: number | undefined): number {
  if (limit === undefined) return Number.POSITIVE_INFINITY;
  assertPositiveInteger(limit, 'limit', 0);
  return limit;
}

export function typeFilter(types: readonly string[] | undefined): Set<string> | undefined {
  if (types === undefined) return undefined;
  if (!Array.isArray(types) || types.some((t) => typeof t !== 'string')) throw invalid('types', 'must be an array of event type names');
  return new Set(types);
}
