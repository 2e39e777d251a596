import { decodeMsgpack, encodeMsgpack } from '../../codec/event-codec.js';
import type { MonitorSink } from '../backend.js';
import { FEED_MAGIC, FLAG_GROUP_END, FRAME_OVERHEAD, type FrameHeader, HEADER_BYTES, encodeFrame, frameIntact, frameLength, framePayload, parseHeader } from './frame.js';
import type { FileHandles } from './file-handles.js';
import { FEED_SUFFIX, type Layout, listSegments } from './layout.js';
import { forwardFrames } from './frame-reader.js';
import { corruptAt, scanSegment } from './segment-scan.js';
import { readSynced } from './store-files.js';

/** Where a stream frame lives, as the feed records it. */
export interface FeedEntry {
  streamId: string;
  /** First version of the stream segment holding the frame. */
  segment: number;
  offset: number;
  length: number;
  firstVersion: number;
  firstPosition: number;
  count: number;
  /** Where this entry itself lives in the feed. */
  feedSegment: number;
  feedOffset: number;
  groupEnd: boolean;
}

const SPARSE_EVERY = 64;
const MIN_FEED_SEGMENT_BYTES = 1 << 20;

/**
 * The global feed: one small frame per append call, in global position order,
 * pointing at the stream frame that holds the events. Positions are handed out
 * under the writer lock and the feed is written in position order, so a reader
 * that has seen position P has seen every position below it.
 */
export class Feed {
  readonly #layout: Layout;
  readonly #files: FileHandles;
  readonly #maxPayload: number;
  readonly #segmentBytes: number;
  #segments: number[] = [];
  /**
   * Every entry at or below this position is known to be on disk (fsynced by
   * whoever wrote it). Feed frames carry the value their writer knew, in the
   * link-segment field; recovery need only check entries above it.
   */
  syncedThrough = 0;
  /** Set while this process writes a commit group: its own frames are not news to it. */
  writing = false;
  /** Highest position whose feed frame is whole (committed, from this process's point of view). */
  head = 0;
  #tailSegment = 1;
  #tailEnd = 0;
  /** Per segment: [position, offset] of every 64th frame, to start reads near a position. */
  readonly #sparse = new Map<number, Array<[number, number]>>();
  /** Read-only: the feed frame the view stops before (its stream frame was not whole), as long as it stays as it was. */
  #held: { segment: number; offset: number; frame: Buffer } | undefined;

  /** `segmentBytes` is raised to MIN_FEED_SEGMENT_BYTES: readers in other processes rely on that floor. */
  constructor(layout: Layout, files: FileHandles, maxPayload: number, segmentBytes: number) {
    this.#layout = layout;
    this.#files = files;
    this.#maxPayload = maxPayload;
    this.#segmentBytes = Math.max(segmentBytes, MIN_FEED_SEGMENT_BYTES);
  }

  /**
   * Loads the tail, under the writer lock. A torn tail is cut and reported,
   * unless `synced` (the position through which the store had fsynced
   * everything) says the feed held more: then its end is damage to data that
   * had reached the disk, and it raises CORRUPT and nothing is cut.
   * Returns the entries of the last commit group, for the caller to verify.
   */
  load(monitor: MonitorSink, synced: number): FeedEntry[] {
    this.#segments = listSegments(this.#layout.feedDir(), FEED_SUFFIX);
    this.#sparse.clear();
    if (this.#segments.length === 0) {
      if (synced > 0) throw corruptAt(this.#layout.feedDir(), 0, `the feed holds no segment, though positions through ${synced} had reached the disk`);
      this.head = 0;
      this.#tailSegment = 1;
      this.#tailEnd = 0;
      return [];
    }
    this.#tailSegment = this.#segments.at(-1)!;
    const file = this.#layout.feedSegmentPath(this.#tailSegment);
    const buf = this.#files.readAll(file);
    const scan = scanSegment(buf, file, FEED_MAGIC, this.#maxPayload);
    const entries = scan.frames.map((f) => this.#entry(buf, f.offset, f.header, this.#tailSegment, file));
    const last = entries.at(-1);
    const head = last ? last.firstPosition + last.count - 1 : this.#tailSegment - 1;
    assertHoldsSynced(file, scan.validEnd, head, synced, scan.tornTail?.reason);
    // Read-only, the torn bytes stay (a live writer may be finishing them); refresh reads them once whole.
    if (scan.tornTail && this.#files.readOnly) {
      monitor.emit({ kind: 'tail-ignored', file, fromBytes: buf.length, toBytes: scan.validEnd, reason: scan.tornTail.reason });
    } else if (scan.tornTail) {
      this.#files.truncate(file, scan.validEnd);
      monitor.emit({ kind: 'tail-truncated', file, fromBytes: buf.length, toBytes: scan.validEnd, reason: scan.tornTail.reason });
    }
    for (const f of scan.frames) this.syncedThrough = Math.max(this.syncedThrough, f.header.linkSegment);
    for (const e of entries) this.#note(e);
    this.#tailEnd = scan.validEnd;
    this.head = head;
    let groupStart = entries.length - 1;
    while (groupStart > 0 && !entries[groupStart - 1]!.groupEnd) groupStart--;
    return entries.slice(Math.max(groupStart, 0));
  }

  /**
   * As the new lock holder: bytes past the last whole frame were left by a
   * writer that died mid-write. They are cut, unless a whole frame follows
   * them, which makes them damage (CORRUPT) rather than a torn write.
   */
  dropTornTail(monitor: MonitorSink): void {
    const file = this.#layout.feedSegmentPath(this.#tailSegment);
    const size = this.#files.size(file);
    if (size <= this.#tailEnd) return;
    const rest = this.#files.read(file, this.#tailEnd, size - this.#tailEnd);
    const scan = scanSegment(rest, file, FEED_MAGIC, this.#maxPayload);
    if (scan.frames.length > 0) return; // refresh() will read them: a writer finished them after we looked
    assertHoldsSynced(file, this.#tailEnd, this.head, readSynced(this.#layout.root), scan.tornTail?.reason ?? 'partial frame');
    this.#files.truncate(file, this.#tailEnd);
    monitor.emit({ kind: 'tail-truncated', file, fromBytes: size, toBytes: this.#tailEnd, reason: scan.tornTail?.reason ?? 'partial frame' });
  }

  /** Cuts the feed back to a location: that segment is truncated there and every later segment removed. */
  cutAt(segment: number, offset: number): void {
    for (const later of this.#segments.filter((s) => s > segment)) this.#files.remove(this.#layout.feedSegmentPath(later));
    this.#files.truncate(this.#layout.feedSegmentPath(segment), offset);
  }

  /**
   * Read-only: what `cutAt` does to the feed, in memory only. The view ends before `bad`, and refresh does
   * not read past its feed frame while those bytes stay as they are; a writer's recovery that cuts it and
   * commits anew there lets the view go on.
   */
  holdBefore(bad: FeedEntry): void {
    const file = this.#layout.feedSegmentPath(bad.feedSegment);
    const header = this.#files.read(file, bad.feedOffset, HEADER_BYTES);
    const parsed = parseHeader(header, 0, FEED_MAGIC, this.#maxPayload);
    const length = typeof parsed === 'string' ? HEADER_BYTES : frameLength(parsed.storedLength);
    this.#held = { segment: bad.feedSegment, offset: bad.feedOffset, frame: this.#files.read(file, bad.feedOffset, length) };
    this.#segments = this.#segments.filter((s) => s <= bad.feedSegment);
    for (const segment of [...this.#sparse.keys()]) {
      const marks = this.#sparse.get(segment)!.filter(([position]) => position < bad.firstPosition);
      if (segment > bad.feedSegment || marks.length === 0) this.#sparse.delete(segment);
      else this.#sparse.set(segment, marks);
    }
    this.#tailSegment = bad.feedSegment;
    this.#tailEnd = bad.feedOffset;
    this.head = bad.firstPosition - 1;
    this.syncedThrough = Math.min(this.syncedThrough, this.head);
  }

  /** Whether the frame at this place is the one the view was held before, unchanged. */
  #isHeld(at: number, buf: Buffer, bufAt: number, length: number): boolean {
    const held = this.#held;
    if (held === undefined || held.segment !== this.#tailSegment || held.offset !== at) return false;
    if (held.frame.equals(buf.subarray(bufAt, bufAt + length))) return true;
    this.#held = undefined;
    return false;
  }

  /** The files of feed segments holding positions from..to. */
  segmentFiles(from: number, to: number): string[] {
    return this.#segments
      .filter((s, i) => s <= to && (this.#segments[i + 1] ?? Number.POSITIVE_INFINITY) > from)
      .map((s) => this.#layout.feedSegmentPath(s));
  }

  /**
   * Reads feed frames that other processes appended since we last looked.
   * Stops before a partial frame: its writer may still be writing it.
   */
  refresh(): FeedEntry[] {
    const out: FeedEntry[] = [];
    if (this.writing) return out;
    if (this.#segments.length === 0) {
      // The store was empty when we looked; another process may have started the feed since.
      const first = listSegments(this.#layout.feedDir(), FEED_SUFFIX)[0];
      if (first === undefined) return out;
      this.#segments = [first];
      this.#tailSegment = first;
      this.#tailEnd = 0;
    }
    for (;;) {
      const file = this.#layout.feedSegmentPath(this.#tailSegment);
      const size = this.#files.size(file);
      if (size > this.#tailEnd) {
        const buf = this.#files.read(file, this.#tailEnd, size - this.#tailEnd);
        let at = 0;
        while (at < buf.length) {
          const header = parseHeader(buf, at, FEED_MAGIC, this.#maxPayload);
          if (typeof header === 'string' || !frameIntact(buf, at, header)) break;
          if (this.#isHeld(this.#tailEnd + at, buf, at, frameLength(header.storedLength))) break;
          const entry = this.#entry(buf, at, header, this.#tailSegment, file, this.#tailEnd + at);
          this.syncedThrough = Math.max(this.syncedThrough, header.linkSegment);
          this.#note(entry);
          out.push(entry);
          this.head = entry.firstPosition + entry.count - 1;
          at += frameLength(header.storedLength);
        }
        this.#tailEnd += at;
      }
      // A writer starts a new segment only once the tail holds at least MIN_FEED_SEGMENT_BYTES (whatever
      // segment size that writer was opened with), so only then is a directory listing worth it.
      if (this.#tailEnd < MIN_FEED_SEGMENT_BYTES) return out;
      const next = listSegments(this.#layout.feedDir(), FEED_SUFFIX).find((s) => s > this.#tailSegment);
      if (next === undefined) return out;
      this.#segments.push(next);
      this.#tailSegment = next;
      this.#tailEnd = 0;
    }
  }

  /**
   * Lays out feed frames for a commit group. Returns where each goes and the
   * bytes to write; nothing changes until `committed` is called.
   */
  plan(
    entries: ReadonlyArray<Omit<FeedEntry, 'feedSegment' | 'feedOffset' | 'groupEnd'>>,
    epoch: number,
  ): { file: string; segment: number; newSegment: boolean; offset: number; bytes: Buffer; located: FeedEntry[] } {
    const firstPosition = entries[0]!.firstPosition;
    const newSegment = this.#tailEnd >= this.#segmentBytes || this.#segments.length === 0;
    const segment = newSegment ? firstPosition : this.#tailSegment;
    const offset = newSegment ? 0 : this.#tailEnd;
    const frames: Buffer[] = [];
    const located: FeedEntry[] = [];
    let at = offset;
    entries.forEach((e, i) => {
      const groupEnd = i === entries.length - 1;
      const payload = encodeMsgpack([e.streamId, e.segment, e.offset, e.length]);
      const frame = encodeFrame(
        {
          magic: FEED_MAGIC,
          flags: groupEnd ? FLAG_GROUP_END : 0,
          count: e.count,
          epoch,
          rawLength: payload.length,
          linkOffset: 0,
          linkSegment: Math.min(this.syncedThrough, e.firstPosition - 1),
          firstVersion: e.firstVersion,
          firstPosition: e.firstPosition,
        },
        payload,
      );
      frames.push(frame);
      located.push({ ...e, feedSegment: segment, feedOffset: at, groupEnd });
      at += frame.length;
    });
    return { file: this.#layout.feedSegmentPath(segment), segment, newSegment, offset, bytes: Buffer.concat(frames), located };
  }

  committed(plan: { segment: number; newSegment: boolean; offset: number; bytes: Buffer; located: FeedEntry[] }): void {
    if (plan.newSegment) {
      this.#segments.push(plan.segment);
      this.#tailSegment = plan.segment;
    }
    this.#tailEnd = plan.offset + plan.bytes.length;
    for (const e of plan.located) this.#note(e);
    const last = plan.located.at(-1)!;
    this.head = last.firstPosition + last.count - 1;
  }

  /** The feed entry at a location, or undefined when no whole feed frame is there. */
  entryAt(segment: number, offset: number): FeedEntry | undefined {
    const file = this.#layout.feedSegmentPath(segment);
    if (this.#files.size(file) < offset + 52) return undefined;
    const head = this.#files.read(file, offset, 52);
    const header = parseHeader(head, 0, FEED_MAGIC, this.#maxPayload);
    if (typeof header === 'string') return undefined;
    const buf = this.#files.read(file, offset, frameLength(header.storedLength));
    if (!frameIntact(buf, 0, header)) return undefined;
    try {
      return this.#entry(buf, 0, header, segment, file, offset);
    } catch {
      return undefined;
    }
  }

  /** Feed entries covering positions >= from, up to the head. Constant memory. */
  *entriesFrom(from: number): Generator<FeedEntry> {
    if (from > this.head) return;
    for (let index = this.#segmentIndexFor(from); index < this.#segments.length; index++) {
      const segment = this.#segments[index]!;
      const file = this.#layout.feedSegmentPath(segment);
      const end = segment === this.#tailSegment ? this.#tailEnd : this.#files.size(file);
      for (const f of forwardFrames(this.#files, file, this.#startOffset(segment, from), end, FEED_MAGIC, this.#maxPayload)) {
        if (f.header.firstPosition > this.head) return;
        if (f.header.firstPosition + f.header.count <= from) continue;
        yield this.#entry(f.buf, f.at, f.header, segment, file, f.offset);
      }
    }
  }

  #segmentIndexFor(position: number): number {
    let lo = 0;
    let hi = this.#segments.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (this.#segments[mid]! <= position) lo = mid;
      else hi = mid - 1;
    }
    return lo;
  }

  #startOffset(segment: number, from: number): number {
    const marks = this.#sparse.get(segment);
    if (!marks) return 0;
    let best = 0;
    for (const [position, offset] of marks) {
      if (position > from) break;
      best = offset;
    }
    return best;
  }

  #note(e: FeedEntry): void {
    let marks = this.#sparse.get(e.feedSegment);
    if (!marks) {
      marks = [];
      this.#sparse.set(e.feedSegment, marks);
    }
    const last = marks.at(-1);
    if (last === undefined || e.firstPosition - last[0] >= SPARSE_EVERY) marks.push([e.firstPosition, e.feedOffset]);
  }

  #entry(buf: Buffer, at: number, header: FrameHeader, segment: number, file: string, fileOffset = at): FeedEntry {
    let row: unknown;
    try {
      row = decodeMsgpack(framePayload(buf, at, header));
    } catch {
      row = undefined; // not msgpack: refused below with the rest
    }
    // Every declared number is checked before anything is read or allocated for it.
    if (
      !Array.isArray(row) ||
      row.length !== 4 ||
      typeof row[0] !== 'string' ||
      !Number.isSafeInteger(row[1]) ||
      row[1] < 1 ||
      row[1] > header.firstVersion ||
      !Number.isSafeInteger(row[2]) ||
      row[2] < 0 ||
      !Number.isSafeInteger(row[3]) ||
      row[3] < FRAME_OVERHEAD ||
      row[3] > this.#maxPayload + FRAME_OVERHEAD
    ) {
      throw corruptAt(file, fileOffset, 'feed frame payload is not a valid [streamId, segment, offset, length]');
    }
    return {
      streamId: row[0],
      segment: row[1],
      offset: row[2],
      length: row[3],
      firstVersion: header.firstVersion,
      firstPosition: header.firstPosition,
      count: header.count,
      feedSegment: segment,
      feedOffset: fileOffset,
      groupEnd: (header.flags & FLAG_GROUP_END) !== 0,
    };
  }
}

/**
 * The feed's tail ends at `end`, after position `head`. Every position through `synced` had been fsynced
 * (the store records `synced` only after that), so a feed ending below it lost data that was on disk:
 * damage, reported as CORRUPT and never cut, like a damaged stream frame at or below it.
 */
function assertHoldsSynced(file: string, end: number, head: number, synced: number, tornReason: string | undefined): void {
  if (head >= synced) return;
  const what = tornReason === undefined ? 'the feed ends' : `the feed frame for position ${head + 1} fails its checks (${tornReason})`;
  throw corruptAt(file, end, `${what} after position ${head}, though positions through ${synced} had reached the disk`);
}
