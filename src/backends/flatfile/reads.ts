import type { RecordedEvent } from '../../kernel/types.js';
import type { StreamReadOptions } from '../backend.js';
import type { FeedEntry } from './feed.js';
import { type StoreState, closedError } from './store-state.js';
import type { StreamState } from './stream-log.js';

/** Reads gather this many frames (or events) per page; a feed page costs one read per stream file it touches. */
const READ_BATCH_FRAMES = 16_384;
const READ_BATCH_EVENTS = 16_384;
const FIRST_PAGE_EVENTS = 128;

/** StorageBackend.readStream over the stream's segments, of the extent committed when the read began. */
export async function* readStreamPages(s: StoreState, streamId: string, options: StreamReadOptions): AsyncIterable<readonly RecordedEvent[]> {
  const state = s.states.readerState(streamId);
  if (!state) return;
  // A snapshot of the committed extent: appends that land while we iterate are not half-read.
  const snapshot: StreamState = { ...state, segments: [...state.segments] };
  const from = options.direction === 'forward' ? Math.max(1, options.fromVersion ?? 1) : Math.min(options.fromVersion ?? snapshot.version, snapshot.version);
  if (options.direction === 'forward' ? from > snapshot.version : from < 1) return;
  // Frames are gathered into pages (one await per page) of the caller's limit, or, without one, of sizes
  // doubling up to READ_BATCH_EVENTS: a filtered read that stops early decodes little, a replay pays few awaits.
  let pageSize = Math.min(options.limit ?? FIRST_PAGE_EVENTS, READ_BATCH_EVENTS);
  let page: RecordedEvent[] = [];
  try {
    for (const frame of s.streams.read(snapshot, options.direction, from)) {
      if (!s.open) throw closedError();
      for (const e of frame) page.push(e);
      if (page.length >= pageSize) {
        yield page;
        page = [];
        pageSize = Math.min(pageSize * 2, READ_BATCH_EVENTS);
      }
    }
  } catch (err) {
    // Purged while we read it (here or in another process): the read ends with what it had.
    if (s.states.purgedSince(err, [streamId])) return;
    throw err;
  }
  if (page.length > 0) yield page;
}

/** StorageBackend.readAll: the feed's entries from a position, their events read from the stream files in batches. */
export async function* readFeedPages(s: StoreState, fromPosition: number, limit?: number): AsyncIterable<readonly RecordedEvent[]> {
  let batch: FeedEntry[] = [];
  let events = 0;
  const readFrames = (): RecordedEvent[][] => {
    try {
      return s.streams.readFrames(batch);
    } catch (err) {
      // A purge deleted stream files this page points at since it was gathered: read the rest.
      if (!s.states.purgedSince(err, batch.map((e) => e.streamId))) throw err;
      return s.streams.readFrames(batch.filter((e) => !s.tombstones.has(e.streamId)));
    }
  };
  const page = (): RecordedEvent[] => {
    const out: RecordedEvent[] = [];
    for (const frame of readFrames()) for (const e of frame) if (e.position >= fromPosition) out.push(e);
    batch = [];
    events = 0;
    return out;
  };
  for (const entry of s.feed.entriesFrom(fromPosition)) {
    if (!s.open) throw closedError();
    // A purged stream's positions are gaps: its feed frames stay, its events are gone.
    if (s.tombstones.has(entry.streamId)) continue;
    batch.push(entry);
    events += entry.count;
    if (batch.length >= READ_BATCH_FRAMES || events >= Math.min(limit ?? READ_BATCH_EVENTS, READ_BATCH_EVENTS)) yield page();
  }
  if (batch.length > 0) yield page();
}
