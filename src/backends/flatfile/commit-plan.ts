import { encodeEvents } from '../../codec/event-codec.js';
import { ErrorCode, FfcdbError } from '../../kernel/errors.js';
import type { AppendResult, ExpectedVersion } from '../../kernel/types.js';
import { type StoredRef, checkExpectedVersion, findRetry, purgedConflict } from '../append-rules.js';
import type { PreparedEvent } from '../backend.js';
import { FLAG_LZ4, STREAM_MAGIC, encodeFrame } from './frame.js';
import type { StoreState } from './store-state.js';
import type { StreamState } from './stream-log.js';

export interface PendingAppend {
  kind: 'append';
  streamId: string;
  events: readonly PreparedEvent[];
  expected: ExpectedVersion;
  resolve(result: AppendResult): void;
  reject(err: unknown): void;
}

export interface PlannedFrame {
  pending: PendingAppend;
  draft: StreamState;
  /** First version of the segment the frame goes to (the draft may roll on to a newer one within the group). */
  segment: number;
  file: string;
  newSegment: boolean;
  offset: number;
  frame: Buffer;
  result: AppendResult;
  ids: Array<[string, StoredRef]>;
}

/** Retries of appends planned in the same group: settled with it, not before it is durable. */
export type GroupRetries = Array<{ pending: PendingAppend; result: AppendResult }>;

/**
 * Checks one append against its stream (as drafted by the appends before it in
 * the group) and lays out its frame. Undefined when it is a retry (resolved, or
 * added to `retries`).
 */
export function planAppend(
  s: StoreState,
  pending: PendingAppend,
  drafts: Map<string, StreamState>,
  firstPosition: number,
  retries: GroupRetries,
): PlannedFrame | undefined {
  const { streamId, events, expected } = pending;
  if (s.tombstones.has(streamId)) throw purgedConflict(streamId);
  let draft = drafts.get(streamId);
  if (!draft) {
    const state = s.states.writerState(streamId);
    draft = { ...state, segments: [...state.segments] };
    drafts.set(streamId, draft);
  }
  if (events.some((e) => e.idSupplied)) {
    const state = s.states.get(streamId)!;
    state.ids ??= s.streams.buildIdIndex(state);
    const ids = state.ids;
    const planned = draftIds(drafts, streamId);
    let inThisGroup = false;
    const retry = findRetry(streamId, events, (id) => {
      const found = ids.get(id) ?? planned.get(id);
      if (found && !ids.has(id)) inThisGroup = true;
      return found;
    });
    if (retry) {
      if (inThisGroup) retries.push({ pending, result: retry });
      else pending.resolve(retry);
      return undefined;
    }
  }
  checkExpectedVersion(streamId, expected, draft.version);

  const firstVersion = draft.version + 1;
  let timestamp = draft.lastTimestamp;
  const bodies = events.map((e) => {
    timestamp = Math.max(timestamp, e.timestamp);
    return { ...e, timestamp };
  });
  const payload = encodeEvents(bodies);
  if (payload.stored.length > s.options.maxFrameBytes) {
    throw new FfcdbError(ErrorCode.INVALID_ARGUMENT, `events encode to ${payload.stored.length} bytes; one append may hold at most ${s.options.maxFrameBytes}`, {
      field: 'events',
    });
  }
  const frame = encodeFrame(
    {
      magic: STREAM_MAGIC,
      flags: payload.compressed ? FLAG_LZ4 : 0,
      count: events.length,
      epoch: s.epoch,
      rawLength: payload.rawLength,
      linkOffset: 0,
      linkSegment: 0,
      firstVersion,
      firstPosition,
    },
    payload.stored,
  );
  const newSegment = draft.segments.length === 0 || draft.tailEnd >= s.options.segmentBytes;
  if (newSegment) {
    draft.segments.push(firstVersion);
    draft.tailEnd = 0;
  }
  const offset = draft.tailEnd;
  draft.tailEnd += frame.length;
  draft.version = firstVersion + events.length - 1;
  draft.lastTimestamp = timestamp;
  const result: AppendResult = {
    streamId,
    firstVersion,
    lastVersion: draft.version,
    firstPosition,
    lastPosition: firstPosition + events.length - 1,
    duplicate: false,
  };
  const ids = events.map((e, i): [string, StoredRef] => [e.id, { version: firstVersion + i, position: firstPosition + i }]);
  for (const [id, ref] of ids) draftIds(drafts, streamId).set(id, ref);
  const segment = draft.segments.at(-1)!;
  return { pending, draft, segment, file: s.layout.segmentPath(draft.dir, segment), newSegment, offset, frame, result, ids };
}

function draftIds(drafts: Map<string, StreamState>, streamId: string): Map<string, StoredRef> {
  const draft = drafts.get(streamId)!;
  draft.ids ??= new Map();
  return draft.ids;
}
