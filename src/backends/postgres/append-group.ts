import type { AppendResult, ExpectedVersion } from '../../kernel/types.js';
import { type StoredRef, checkExpectedVersion, findRetry, purgedConflict } from '../append-rules.js';
import type { PreparedEvent, PurgeResult } from '../backend.js';

/**
 * What the commit queue holds and how a group of appends becomes one call of
 * append_events: the group's bounds, the append rules run on a stream's
 * state, the call's arguments and the rows it returns.
 */

/** Appends committed together at most; bounds one statement's size and one group's latency. */
const MAX_GROUP_APPENDS = 1024;
const MAX_GROUP_EVENTS = 20_000;
const MAX_GROUP_BYTES = 16 * 1024 * 1024;

export interface StreamState {
  version: number;
  purged: boolean;
}

export const UNKNOWN_STREAM: StreamState = { version: 0, purged: false };
export const NOTHING_STORED: ReadonlyMap<string, StoredRef> = new Map();

export interface PendingAppend {
  kind: 'append';
  streamId: string;
  events: readonly PreparedEvent[];
  data: Buffer[];
  metadata: Buffer[];
  bytes: number;
  expected: ExpectedVersion;
  resolve(result: AppendResult): void;
  reject(err: unknown): void;
}

export interface PendingPurge {
  kind: 'purge';
  streamId: string;
  resolve(result: PurgeResult): void;
  reject(err: unknown): void;
}

/** Write it, or settle it without writing (a conflict, a purged stream, a retry of a stored append). */
export type Decision = { write: true } | { write: false; settle(): void };

/** One per entry, in entry order. */
export interface AppendRow {
  ok: boolean;
  version: string;
  purged: boolean;
  first_position: string | null;
  refs: Array<[string, number, number]> | null;
}

/** The longest prefix of the queue up to a purge, a second append to one stream, or the size limits; taken off the queue. */
export function takeGroup(queue: Array<PendingAppend | PendingPurge>): PendingAppend[] {
  const streams = new Set<string>();
  let events = 0;
  let bytes = 0;
  let n = 0;
  for (const p of queue) {
    if (p.kind === 'purge' || streams.has(p.streamId)) break;
    events += p.events.length;
    bytes += p.bytes;
    if (n > 0 && (n >= MAX_GROUP_APPENDS || events > MAX_GROUP_EVENTS || bytes > MAX_GROUP_BYTES)) break;
    streams.add(p.streamId);
    n++;
  }
  return queue.splice(0, n) as PendingAppend[];
}

/** The append rules, in the order every backend applies them. */
export function decide(p: PendingAppend, state: StreamState, stored: ReadonlyMap<string, StoredRef>): Decision {
  try {
    if (state.purged) throw purgedConflict(p.streamId);
    const retry = findRetry(p.streamId, p.events, (id) => stored.get(id));
    if (retry) return { write: false, settle: () => p.resolve(retry) };
    checkExpectedVersion(p.streamId, p.expected, state.version);
    return { write: true };
  } catch (err) {
    return { write: false, settle: () => p.reject(err) };
  }
}

/** The arguments of append_events: per entry, the caller-supplied ids to look up, the events to write. */
export function groupParams(group: PendingAppend[], assumed: StreamState[], decisions: Decision[], sync: boolean, channel: string): unknown[] {
  const stream: string[] = [];
  const version: number[] = [];
  const count: number[] = [];
  const supCount: number[] = [];
  const supId: string[] = [];
  const id: string[] = [];
  const type: string[] = [];
  const schemaVersion: number[] = [];
  const ts: number[] = [];
  const data: Buffer[] = [];
  const metadata: Buffer[] = [];
  group.forEach((p, i) => {
    const write = decisions[i]!.write;
    stream.push(p.streamId);
    version.push(assumed[i]!.version);
    count.push(write ? p.events.length : 0);
    let supplied = 0;
    p.events.forEach((e, j) => {
      if (e.idSupplied) {
        supplied++;
        supId.push(e.id);
      }
      if (!write) return;
      id.push(e.id);
      type.push(e.type);
      schemaVersion.push(e.schemaVersion);
      ts.push(e.timestamp);
      data.push(p.data[j]!);
      metadata.push(p.metadata[j]!);
    });
    supCount.push(supplied);
  });
  return [stream, version, count, supCount, supId, id, type, schemaVersion, ts, data, metadata, sync, channel];
}
