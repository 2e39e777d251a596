/**
 * Reading a whole store and checking it against what workers acknowledged.
 * Every check returns a list of problems (empty when all is well) so a caller
 * can print all of them at once.
 */
import type { EventStore } from '../../src/engine/event-store.js';
import type { RecordedEvent } from '../../src/kernel/types.js';
import { type Ack, canonAppended, canonFull, eventFor, eventId } from './workload.js';

export interface Snapshot {
  /** Every stream that appears in the feed (or was asked for), its events in version order. */
  streams: Map<string, RecordedEvent[]>;
  /** The whole global feed, in position order. */
  feed: RecordedEvent[];
  head: number;
  /** canonFull of every event read, computed once. */
  full: WeakMap<RecordedEvent, string>;
}

/** canonFull of an event of a snapshot, cached: `streamId|version|position|timestamp|canonStored`. */
function fullOf(s: Snapshot, e: RecordedEvent): string {
  let text = s.full.get(e);
  if (text === undefined) {
    text = canonFull(e);
    s.full.set(e, text);
  }
  return text;
}

/** canonStored of an event of a snapshot (the tail of its cached canonFull). */
function bodyOf(s: Snapshot, e: RecordedEvent): string {
  const full = fullOf(s, e);
  let at = -1;
  for (let i = 0; i < 4; i++) at = full.indexOf('|', at + 1);
  return full.slice(at + 1);
}

/** What each event id must hold (workload.eventFor), computed once per id across snapshots. */
const expectedBodies = new Map<string, string>();
function expectedBody(tag: string, stream: string, seq: number): string {
  const id = eventId(tag, stream, seq);
  let body = expectedBodies.get(id);
  if (body === undefined) {
    body = canonAppended(eventFor(tag, stream, seq));
    expectedBodies.set(id, body);
  }
  return body;
}

/** Reads the whole feed and every stream it names (plus `alsoStreams`) through the public API. */
export async function readSnapshot(store: EventStore, alsoStreams: Iterable<string> = []): Promise<Snapshot> {
  const head = await store.headPosition();
  const feed: RecordedEvent[] = [];
  for await (const e of store.streamAll()) feed.push(e);
  const names = new Set<string>(alsoStreams);
  for (const e of feed) names.add(e.streamId);
  const streams = new Map<string, RecordedEvent[]>();
  for (const name of [...names].sort()) streams.set(name, await store.readStream(name));
  return { streams, feed, head, full: new WeakMap() };
}

/** A compact, comparable form of a snapshot: every field of every event. */
export function snapshotText(s: Snapshot): { streams: Record<string, string[]>; feed: string[]; head: number } {
  const streams: Record<string, string[]> = {};
  for (const [name, events] of s.streams) streams[name] = events.map((e) => fullOf(s, e));
  return { streams, feed: s.feed.map((e) => fullOf(s, e)), head: s.head };
}

/**
 * The store on its own: versions 1..n without gaps in every stream, positions
 * 1..N without gaps in the feed, every event id once, and the feed and the
 * streams holding exactly the same events.
 */
export function checkConsistency(s: Snapshot): string[] {
  const problems: string[] = [];
  const ids = new Set<string>();
  let streamTotal = 0;
  for (const [name, events] of s.streams) {
    streamTotal += events.length;
    events.forEach((e, i) => {
      if (e.version !== i + 1) problems.push(`stream ${name}: event #${i + 1} has version ${e.version} (gap or reorder)`);
      if (e.streamId !== name) problems.push(`stream ${name}: event v${e.version} says stream ${e.streamId}`);
      if (ids.has(e.id)) problems.push(`event id ${e.id} is stored twice (stream ${name} v${e.version})`);
      ids.add(e.id);
      const inFeed = s.feed[e.position - 1];
      if (!inFeed) problems.push(`stream ${name} v${e.version} has position ${e.position}, beyond the feed (${s.feed.length})`);
      else if (fullOf(s, inFeed) !== fullOf(s, e)) problems.push(`stream ${name} v${e.version} differs from feed position ${e.position}`);
    });
  }
  s.feed.forEach((e, i) => {
    if (e.position !== i + 1) problems.push(`feed: entry #${i + 1} has position ${e.position} (gap or reorder)`);
    const inStream = s.streams.get(e.streamId)?.[e.version - 1];
    if (!inStream) problems.push(`feed position ${e.position} (${e.streamId} v${e.version}) is not in its stream`);
  });
  if (s.head !== s.feed.length) problems.push(`head position ${s.head} but the feed holds ${s.feed.length} events`);
  if (streamTotal !== s.feed.length) problems.push(`the streams hold ${streamTotal} events but the feed ${s.feed.length}`);
  return problems;
}

/**
 * Against the workers: every stored event is exactly the event its id names
 * (workload.eventFor), each worker loop's events are stored as seq 1..k in
 * order, and every acknowledged append is there with the versions and
 * positions it was acknowledged with.
 */
export function checkAcks(s: Snapshot, acks: readonly Ack[]): string[] {
  const problems: string[] = [];
  const byId = new Map<string, RecordedEvent>();
  const loops = new Map<string, number[]>();
  for (const events of s.streams.values()) {
    for (const e of events) {
      byId.set(e.id, e);
      const m = /^([^.]+)\.([^.]+)\.(\d+)$/.exec(e.id);
      if (!m) {
        problems.push(`unexpected event id ${e.id} in ${e.streamId} v${e.version}`);
        continue;
      }
      const [, tag, stream, seq] = m as unknown as [string, string, string, string];
      if (stream !== e.streamId) problems.push(`event ${e.id} is in stream ${e.streamId}`);
      if (bodyOf(s, e) !== expectedBody(tag, stream, Number(seq))) problems.push(`event ${e.id} (${e.streamId} v${e.version}) is not byte-equal to what was appended`);
      const key = `${tag}/${stream}`;
      let seqs = loops.get(key);
      if (!seqs) {
        seqs = [];
        loops.set(key, seqs);
      }
      seqs.push(Number(seq));
    }
  }
  for (const [key, seqs] of loops) {
    for (let i = 0; i < seqs.length; i++) {
      if (seqs[i] !== i + 1) {
        problems.push(`loop ${key}: stored seqs are not 1..${seqs.length} in version order: ${seqs.slice(Math.max(0, i - 3), i + 4).join(',')} around #${i + 1}`);
        break;
      }
    }
  }
  for (const ack of acks) {
    if (ack.duplicate) problems.push(`ack of ${ack.tag}/${ack.stream} seqs ${ack.seqs.join(',')} says duplicate`);
    if (ack.lastVersion - ack.firstVersion + 1 !== ack.seqs.length || ack.lastPosition - ack.firstPosition + 1 !== ack.seqs.length) {
      problems.push(`ack of ${ack.tag}/${ack.stream} seqs ${ack.seqs.join(',')} has a range that does not match its size: ${JSON.stringify(ack)}`);
    }
    ack.seqs.forEach((seq, i) => {
      const expected = { id: eventId(ack.tag, ack.stream, seq) };
      const stored = byId.get(expected.id);
      if (!stored) {
        problems.push(`acknowledged event ${expected.id} (v${ack.firstVersion + i}, position ${ack.firstPosition + i}) is missing`);
        return;
      }
      if (stored.streamId !== ack.stream || stored.version !== ack.firstVersion + i || stored.position !== ack.firstPosition + i) {
        problems.push(
          `acknowledged event ${expected.id} was acknowledged as ${ack.stream} v${ack.firstVersion + i} @${ack.firstPosition + i} but is stored as ${stored.streamId} v${stored.version} @${stored.position}`,
        );
      }
      if (bodyOf(s, stored) !== expectedBody(ack.tag, ack.stream, seq)) problems.push(`acknowledged event ${expected.id} is not byte-equal to what was appended`);
    });
  }
  return problems;
}

/** Everything `before` held is still there, unchanged, in `after` (nothing once visible after recovery is lost later). */
export function checkPrefix(before: Snapshot, after: Snapshot): string[] {
  const problems: string[] = [];
  for (const [name, events] of before.streams) {
    const now = after.streams.get(name) ?? [];
    if (now.length < events.length) problems.push(`stream ${name} shrank from ${events.length} to ${now.length} events`);
    for (let i = 0; i < Math.min(events.length, now.length); i++) {
      if (fullOf(before, events[i]!) !== fullOf(after, now[i]!)) {
        problems.push(`stream ${name} v${i + 1} changed`);
        break;
      }
    }
  }
  if (after.feed.length < before.feed.length) problems.push(`the feed shrank from ${before.feed.length} to ${after.feed.length} events`);
  for (let i = 0; i < Math.min(before.feed.length, after.feed.length); i++) {
    if (fullOf(before, before.feed[i]!) !== fullOf(after, after.feed[i]!)) {
      problems.push(`feed position ${i + 1} changed`);
      break;
    }
  }
  return problems;
}

export function formatProblems(problems: readonly string[], max = 25): string {
  const shown = problems.slice(0, max).map((p) => `  - ${p}`);
  if (problems.length > max) shown.push(`  ... and ${problems.length - max} more`);
  return shown.join('\n');
}
