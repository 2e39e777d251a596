import path from 'node:path';
import fs from 'node:fs';
import { decodeRecorded } from '../../codec/event-codec.js';
import type { MonitorSink } from '../backend.js';
import { ErrorCode, FfcdbError, ioError } from '../../kernel/errors.js';
import type { RecordedEvent } from '../../kernel/types.js';
import type { StoredRef } from '../append-rules.js';
import type { Feed, FeedEntry } from './feed.js';
import { FLAG_LZ4, type FrameHeader, STREAM_MAGIC, frameIntact, frameLength, framePayload, parseHeader } from './frame.js';
import { type ReadFrame, backwardFrames, forwardFrames } from './frame-reader.js';
import { FrameIndex } from './frame-index.js';
import type { FileHandles } from './file-handles.js';
import { type Layout, SEGMENT_SUFFIX, listSegments } from './layout.js';
import { isRealDirectory } from '../../storage/durable-files.js';
import { corruptAt, scanSegment } from './segment-scan.js';

/** Feed replay reads a stream file in spans of at most this window (plus one frame). */
const SPAN_WINDOW = 1 << 20;

/** What the store knows about one stream's files. */
export interface StreamState {
  id: string;
  dir: string;
  /** First versions of the segment files, ascending. */
  segments: number[];
  version: number;
  lastTimestamp: number;
  /** End of the last committed frame in the last segment. */
  tailEnd: number;
  /** Event id -> version and position, built on the first append that brings its own ids. */
  ids?: Map<string, StoredRef>;
}

export class StreamLog {
  readonly #layout: Layout;
  readonly #files: FileHandles;
  readonly #feed: Feed;
  readonly #maxPayload: number;
  readonly #monitor: MonitorSink;
  readonly #checkedDirs = new Set<string>();
  readonly #dirs = new Map<string, string>();
  readonly #index = new FrameIndex();

  constructor(layout: Layout, files: FileHandles, feed: Feed, maxPayload: number, monitor: MonitorSink) {
    this.#layout = layout;
    this.#files = files;
    this.#feed = feed;
    this.#maxPayload = maxPayload;
    this.#monitor = monitor;
  }

  /**
   * Reads a stream's tail and decides where its committed data ends. Frames
   * whose feed frame is missing (a writer died between the two writes) are not
   * committed: the writer cuts them, a reader ignores them.
   */
  load(streamId: string, asWriter: boolean): StreamState {
    const dir = this.#dirOf(streamId);
    const state: StreamState = { id: streamId, dir, segments: [], version: 0, lastTimestamp: 0, tailEnd: 0 };
    if (!this.#dirExists(dir)) return state;
    const segments = listSegments(dir, SEGMENT_SUFFIX);
    if (segments.length === 0) return state;
    // Normally only the last segment is read. Segments left with nothing committed (a dead
    // writer's new segment, or what a recovery cut emptied) send us one further back.
    let lastNonEmpty = -1;
    for (let i = segments.length - 1; i >= 0 && lastNonEmpty === -1; i--) {
      const { file, buf, frames, end } = this.#committedFrames(streamId, dir, segments[i]!, asWriter);
      const last = frames.at(-1);
      if (!last) continue;
      lastNonEmpty = i;
      state.version = last.header.firstVersion + last.header.count - 1;
      state.lastTimestamp = Math.max(...this.#events(streamId, file, buf, last.offset, last.offset, last.header).map((e) => e.timestamp));
      state.tailEnd = end;
    }
    // The tail is the segment after the last committed frame's when that one is named for the next
    // version (the next append goes into it), else the last committed frame's own. Empty segments after
    // the tail are named for versions never committed: the writer removes them.
    let tail = lastNonEmpty;
    if (lastNonEmpty === -1 || segments[lastNonEmpty + 1] === state.version + 1) {
      tail = lastNonEmpty + 1;
      state.tailEnd = 0;
      if (segments[tail] !== state.version + 1) {
        throw corruptAt(this.#layout.segmentPath(dir, segments[tail]!), 0, `segment ${segments[tail]} does not follow version ${state.version}, the stream's last`);
      }
    }
    if (asWriter) for (const extra of segments.slice(tail + 1)) this.#files.remove(this.#layout.segmentPath(dir, extra));
    state.segments = segments.slice(0, tail + 1);
    return state;
  }

  /**
   * A segment's whole frames, less those at its end that are not committed (no feed frame
   * refers to them: a writer died between its two writes). The writer cuts what it drops.
   */
  #committedFrames(streamId: string, dir: string, segment: number, asWriter: boolean) {
    const file = this.#layout.segmentPath(dir, segment);
    const buf = this.#files.readAll(file);
    const scan = scanSegment(buf, file, STREAM_MAGIC, this.#maxPayload);
    let end = scan.validEnd;
    if (scan.tornTail) {
      // A torn write is always above the synced position (it never finished, let alone reached the disk);
      // a bad frame whose header still names a position at or below it, and after this stream's previous
      // frame, is damage to data that had.
      const header = parseHeader(buf, end, STREAM_MAGIC, this.#maxPayload);
      const previous = scan.frames.at(-1)?.header;
      const after = previous ? previous.firstPosition + previous.count - 1 : 0;
      if (typeof header !== 'string' && header.firstPosition > after && header.firstPosition <= this.#feed.syncedThrough) {
        throw corruptAt(file, end, `the frame for positions from ${header.firstPosition}, which had reached the disk, fails its checks`);
      }
    }
    if (scan.tornTail && asWriter) {
      this.#index.forget(file);
      this.#files.truncate(file, end);
      this.#monitor.emit({ kind: 'tail-truncated', file, fromBytes: buf.length, toBytes: end, reason: scan.tornTail.reason });
    }
    let frames = scan.frames;
    while (frames.length > 0 && !this.#committed(streamId, segment, frames.at(-1)!.offset, frames.at(-1)!.header, end)) {
      const orphan = frames.at(-1)!;
      if (asWriter) {
        this.#index.forget(file);
        this.#files.truncate(file, orphan.offset);
        this.#monitor.emit({ kind: 'orphan-removed', file, offset: orphan.offset, reason: 'no feed frame refers to this stream frame' });
      }
      end = orphan.offset;
      frames = frames.slice(0, -1);
    }
    for (const f of frames) this.#index.note(file, f.header.firstVersion, f.offset);
    return { file, buf, frames, end };
  }



  /** The ids of every event in the stream, for retry detection. Reads the whole stream once. */
  buildIdIndex(state: StreamState): Map<string, StoredRef> {
    const ids = new Map<string, StoredRef>();
    for (const page of this.read(state, 'forward', 1)) for (const e of page) ids.set(e.id, { version: e.version, position: e.position });
    return ids;
  }

  /** Pages of committed events, forward from `from` or backward from `from`. */
  *read(state: StreamState, direction: 'forward' | 'backward', from: number): Generator<RecordedEvent[]> {
    if (state.segments.length === 0 || state.version === 0) return;
    if (direction === 'forward') {
      for (let i = segmentIndexFor(state.segments, from); i < state.segments.length; i++) {
        const file = this.#layout.segmentPath(state.dir, state.segments[i]!);
        const end = i === state.segments.length - 1 ? state.tailEnd : this.#sealedSize(file);
        for (const f of this.#forwardFrom(file, end, from)) {
          const page = this.#events(state.id, file, f.buf, f.at, f.offset, f.header);
          yield from > f.header.firstVersion ? page.slice(from - f.header.firstVersion) : page;
        }
      }
    } else {
      for (let i = segmentIndexFor(state.segments, from); i >= 0; i--) {
        const file = this.#layout.segmentPath(state.dir, state.segments[i]!);
        const end = i === state.segments.length - 1 ? state.tailEnd : this.#sealedSize(file);
        for (const f of this.#backwardFrom(file, end, from)) {
          const page = this.#events(state.id, file, f.buf, f.at, f.offset, f.header).reverse();
          const last = f.header.firstVersion + f.header.count - 1;
          yield last > from ? page.slice(last - from) : page;
        }
      }
    }
  }

  /**
   * The frames of [0, end) holding `from` or later versions, starting from the
   * nearest frame the index knows. Frames passed over are not checksummed. A
   * remembered start that no longer holds the frame it did (another process cut
   * and rewrote an unsynced tail) is forgotten and the file read from its start.
   */
  *#forwardFrom(file: string, end: number, from: number): Generator<ReadFrame> {
    const start = this.#index.startFor(file, from);
    let first = true;
    try {
      for (const f of forwardFrames(this.#files, file, start.offset, end, STREAM_MAGIC, this.#maxPayload)) {
        if (first && start.offset > 0 && f.header.firstVersion !== start.firstVersion) throw new StaleIndex();
        first = false;
        this.#index.note(file, f.header.firstVersion, f.offset);
        if (f.header.firstVersion + f.header.count > from) yield f;
      }
    } catch (err) {
      if (!first || start.offset === 0 || !(err instanceof StaleIndex || isCorrupt(err))) throw err;
      this.#index.forget(file);
      yield* this.#forwardFrom(file, end, from);
    }
  }

  /** The frames of [0, end) holding `from` or earlier versions, last first, starting from the nearest frame boundary the index knows after them. */
  *#backwardFrom(file: string, end: number, from: number): Generator<ReadFrame> {
    const known = this.#index.endAfter(file, from);
    const start = known !== undefined && known < end ? known : end;
    let first = true;
    try {
      for (const f of backwardFrames(this.#files, file, start, STREAM_MAGIC, this.#maxPayload)) {
        // The frame before a remembered boundary ends just below the version remembered there.
        if (first && start < end && f.header.firstVersion + f.header.count - 1 !== this.#index.versionAt(file, start)! - 1) throw new StaleIndex();
        first = false;
        if (f.header.firstVersion <= from) yield f;
      }
    } catch (err) {
      if (!first || start === end || !(err instanceof StaleIndex || isCorrupt(err))) throw err;
      this.#index.forget(file);
      yield* this.#backwardFrom(file, end, from);
    }
  }

  /** The size of a segment before the stream's last; it holds committed events, so it must exist. */
  #sealedSize(file: string): number {
    const size = this.#files.size(file);
    if (size === -1) throw corruptAt(file, 0, 'a segment of the stream is missing');
    return size;
  }

  /**
   * The events of the stream frames that feed entries point at, in the entries'
   * order. Entries of one file are read with one read of the span they cover:
   * between two committed frames of a stream there are only committed frames of
   * that stream, all of them in the same stretch of the feed.
   */
  readFrames(entries: readonly FeedEntry[]): RecordedEvent[][] {
    // Spans are per file and per window of its bytes, so that whatever offsets a (damaged) feed declares,
    // no read is sized beyond a window and one frame.
    // Keyed by stream, then segment and window, so that a path is built once per file, not once per entry.
    type Span = { file: string; start: number; end: number; buf?: Buffer };
    const byStream = new Map<string, Map<string, Span>>();
    const files = new Map<string, string>();
    const spanOf = entries.map((e) => {
      let spans = byStream.get(e.streamId);
      if (!spans) {
        spans = new Map();
        byStream.set(e.streamId, spans);
      }
      const key = `${e.segment}/${Math.floor(e.offset / SPAN_WINDOW)}`;
      let span = spans.get(key);
      if (!span) {
        const fileKey = `${e.streamId}\0${e.segment}`;
        let file = files.get(fileKey);
        if (file === undefined) {
          const dir = this.#dirOf(e.streamId);
          file = this.#layout.segmentPath(dir, e.segment);
          if (!this.#dirExists(dir)) throw corruptAt(file, e.offset, 'the feed points into a stream folder that does not exist');
          files.set(fileKey, file);
        }
        span = { file, start: e.offset, end: e.offset + e.length };
        spans.set(key, span);
      } else {
        span.start = Math.min(span.start, e.offset);
        span.end = Math.max(span.end, e.offset + e.length);
      }
      return span;
    });
    return entries.map((e, i) => {
      const span = spanOf[i]!;
      const file = span.file;
      span.buf ??= this.#readSpan(file, span.start, span.end);
      const at = e.offset - span.start;
      const header = parseHeader(span.buf, at, STREAM_MAGIC, this.#maxPayload);
      if (
        typeof header === 'string' ||
        frameLength(header.storedLength) !== e.length ||
        header.firstVersion !== e.firstVersion ||
        header.firstPosition !== e.firstPosition ||
        header.count !== e.count ||
        !frameIntact(span.buf, at, header)
      ) {
        throw corruptAt(file, e.offset, `the stream frame does not match its feed frame (positions ${e.firstPosition}..${e.firstPosition + e.count - 1})`);
      }
      return this.#events(e.streamId, file, span.buf, at, e.offset, header);
    });
  }

  #readSpan(file: string, start: number, end: number): Buffer {
    let buf: Buffer;
    try {
      buf = this.#files.read(file, start, end - start);
    } catch (err) {
      if (err instanceof FfcdbError && err.code === ErrorCode.NOT_FOUND) throw corruptAt(file, start, 'the feed points into a segment file that does not exist');
      throw err;
    }
    if (buf.length !== end - start) throw corruptAt(file, start + buf.length, 'the feed points past the end of this segment file');
    return buf;
  }

  /** Stream folders by id, remembered: hashing every id of a replay would cost more than reading it. */
  #dirOf(streamId: string): string {
    let dir = this.#dirs.get(streamId);
    if (dir === undefined) {
      dir = this.#layout.streamDir(streamId);
      if (this.#dirs.size >= 65_536) this.#dirs.clear();
      this.#dirs.set(streamId, dir);
    }
    return dir;
  }

  #committed(streamId: string, segment: number, offset: number, header: FrameHeader, end: number): boolean {
    if (header.firstPosition + header.count - 1 > this.#feed.head) return false;
    const entry = this.#feed.entryAt(header.linkSegment, header.linkOffset);
    if (entry !== undefined && entry.streamId !== streamId) this.#assertOwnFolder(streamId, entry.streamId, segment, offset);
    return (
      entry !== undefined &&
      entry.streamId === streamId &&
      entry.segment === segment &&
      entry.offset === offset &&
      entry.offset + entry.length <= end &&
      entry.firstVersion === header.firstVersion &&
      entry.firstPosition === header.firstPosition &&
      entry.count === header.count
    );
  }

  /**
   * A frame whose feed frame names another stream is an orphan, unless that stream's folder is this one:
   * two ids of the earlier form (storage/file-names.ts) that differ only in case, in the same `ab/cd`
   * folder (1 pair in 65,536), on a file system that does not tell case apart. Its frames are refused
   * rather than taken for orphans and cut.
   */
  #assertOwnFolder(streamId: string, other: string, segment: number, offset: number): void {
    const dir = this.#dirOf(streamId);
    if (dir === this.#dirOf(other) || dir.toLowerCase() !== this.#dirOf(other).toLowerCase()) return;
    const file = this.#layout.segmentPath(dir, segment);
    throw new FfcdbError(
      ErrorCode.UNSAFE_PATH,
      `${file} at byte ${offset} holds events of stream ${JSON.stringify(other)}, not of ${JSON.stringify(streamId)}: their folders differ only in case, and this file system does not tell them apart`,
      { path: file, offset, streamId, sharedWith: other },
    );
  }

  #events(streamId: string, file: string, buf: Buffer, at: number, offset: number, header: FrameHeader): RecordedEvent[] {
    const payload = framePayload(buf, at, header);
    const events = decodeRecorded(payload, (header.flags & FLAG_LZ4) !== 0, header.rawLength, header.count, streamId, header.firstVersion, header.firstPosition);
    if (!events) throw corruptAt(file, offset, 'payload does not decode to the events its header declares');
    return events;
  }

  /** Every folder from the data folder down to the stream's must be a real directory. */
  #dirExists(dir: string): boolean {
    if (this.#checkedDirs.has(dir)) return true;
    const parts = path.relative(this.#layout.root, dir).split(path.sep);
    let p = this.#layout.root;
    for (const part of parts) {
      p = path.join(p, part);
      if (this.#checkedDirs.has(p)) continue;
      if (!isRealDirectory(p)) return false;
      this.#checkedDirs.add(p);
    }
    return true;
  }

  /** Creates the stream's folders; returns the folders whose new entries need an fsync. */
  ensureDir(dir: string): string[] {
    const created: string[] = [];
    const parts = path.relative(this.#layout.root, dir).split(path.sep);
    let p = this.#layout.root;
    for (const part of parts) {
      const parent = p;
      p = path.join(p, part);
      if (this.#checkedDirs.has(p)) continue;
      if (!isRealDirectory(p)) {
        try {
          fs.mkdirSync(p);
          created.push(parent);
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw ioError(err, p, 'mkdir');
          isRealDirectory(p);
        }
      }
      this.#checkedDirs.add(p);
    }
    return created;
  }
}

function segmentIndexFor(segments: readonly number[], version: number): number {
  let lo = 0;
  let hi = segments.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (segments[mid]! <= version) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}

/** A remembered frame start no longer holds the frame it did. */
class StaleIndex extends Error {}

function isCorrupt(err: unknown): boolean {
  return err instanceof FfcdbError && err.code === ErrorCode.CORRUPT;
}
