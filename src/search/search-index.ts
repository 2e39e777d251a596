import fs from 'node:fs';
import path from 'node:path';
import { upcast, validateEvent } from '../../events/catalog.js';
import { sessionStream } from '../../events/streams.js';
import { SEARCH_HANDLES, SEARCH_PROJECTION_VERSION, type SearchChange, type SearchRegistry, initSearchRegistry, searchChanges } from '../../projections/search.js';
import { fsyncDirSync } from '../backends/flatfile/store-files.js';
import type { EventStore } from '../engine/event-store.js';
import { ErrorCode, FfcdbError, ioError, isFfcdbError } from '../errors.js';
import { FeedConsumer } from '../projector/feed-consumer.js';
import { WriterLock } from '../backends/flatfile/writer-lock.js';
import type { RecordedEvent } from '../types.js';
import { type IndexStats, type Manifest, encodeManifest, readManifest, writeManifest } from './manifest.js';
import { MemorySegment } from './memory-segment.js';
import { type DocRecord, type Segment, sortKey } from './segment.js';
import { type SegmentSource, SegmentFile, segmentWriter } from './segment-file.js';
import { SegmentMerger } from './segment-merger.js';
import { FIELDS, type SearchDoc, sessionKeyPrefix } from './search-doc.js';
import { termsOf } from './analyse.js';

export interface SearchIndexOptions {
  /** The folder of the segment files and manifest (`<store>/search`); without it the index stays in memory. */
  dir?: string;
  /** Index English stems beside the words (default true). Changing it rebuilds the index. */
  stem?: boolean;
  /** Write the memory segment to a file once it holds this many documents (default 10,000). */
  flushDocs?: number;
  /** Merge this many segments of about one size into one (default 4). */
  mergeFactor?: number;
  /** Longest run of background segment writing before other work gets a turn (ms, default 8; 0: a turn after every step). */
  sliceMs?: number;
}

/** While a segment is being written, the memory segment may grow to this many times flushDocs before indexing waits for it. */
const FLUSH_BACKLOG = 4;
const SEGMENT_FILE = /^seg-(\d+)\.seg$/;
/** A holder that stops refreshing its lock for this long (a dead process) loses the folder to the next one. */
const LOCK_STALE_MS = 10_000;

interface FileSlot {
  name: string;
  file: SegmentFile;
  dead: Set<number>;
  deadDf: Map<string, number>;
}

/** The memory segment and its tombstones. */
interface MemorySlot {
  segment: MemorySegment;
  dead: Set<number>;
  deadDf: Map<string, number>;
}

/** Where a live document is: its segment, that segment's tombstones, and its ordinal. */
interface Located {
  segment: Segment;
  dead: Set<number>;
  deadDf: Map<string, number>;
  ordinal: number;
}

/**
 * The search index: segment files, the memory segment for recent writes, the
 * tombstones of both, and the checkpoint. It runs the search projection
 * (projections/search.ts) over the feed, one catch-up at a time, and so is
 * rebuildable from the log by opening it on an empty folder.
 *
 * Segment files are written in the background, a slice at a time between
 * catch-ups and queries: a full memory segment is frozen (still searched) and
 * a fresh one takes new writes; once its file is written, the manifest encoded
 * at the freeze (the checkpoint, registry, statistics and tombstones as they
 * were then) is written, and merges follow, one at a time. A document
 * tombstoned while its segment was being written is tombstoned in the new
 * file too.
 */
export class SearchIndex {
  readonly #events: EventStore;
  readonly #feed: FeedConsumer;
  /** Undefined when the index is in memory only: asked so, or another process holds the folder. */
  #dir: string | undefined;
  #lock: WriterLock | undefined;
  /** Set when another process took the folder's lock over (we stalled past its stale time): from then on nothing is written. */
  #fenced = false;
  readonly #stem: boolean;
  readonly #flushDocs: number;
  readonly #mergeFactor: number;
  readonly #sliceMs: number;
  #files: FileSlot[] = [];
  #memory: MemorySlot;
  /** The memory segment being written to a file, searched until the file replaces it. */
  #frozen: MemorySlot | undefined;
  /** The background flush and the merges after it; what it failed with, thrown by the next catch-up. */
  #job: Promise<void> | undefined;
  #jobError: unknown;
  /** Files merged away: removed once a manifest no longer names them. */
  #retired: string[] = [];
  /** Merges run on a thread of their own. */
  readonly #merger = new SegmentMerger();
  /** Segments (files, or the one being written) holding a purged session's documents, tombstoned: rewritten without them. */
  #purgedIn = new Set<FileSlot | MemorySlot>();
  #registry: SearchRegistry = initSearchRegistry();
  #stats: IndexStats = { docs: 0, lengths: FIELDS.map(() => 0), fieldDocs: FIELDS.map(() => 0) };
  #position = 0;
  #last = { position: 0, id: '' };
  #nextSegment = 1;
  #queue: Promise<unknown> = Promise.resolve();
  #closed = false;
  /** Set when background writing must stop at its next turn. */
  #abandon = false;

  private constructor(events: EventStore, options: SearchIndexOptions) {
    this.#events = events;
    this.#feed = new FeedConsumer(events);
    this.#dir = options.dir;
    this.#stem = options.stem ?? true;
    this.#flushDocs = options.flushDocs ?? 10_000;
    this.#mergeFactor = options.mergeFactor ?? 4;
    this.#sliceMs = options.sliceMs ?? 8;
    this.#memory = this.#newMemory();
  }

  /** Opens the index in `options.dir` from its manifest (or empty) and catches up with the feed. */
  static async open(events: EventStore, options: SearchIndexOptions = {}): Promise<SearchIndex> {
    const index = new SearchIndex(events, options);
    const dir = index.#dir;
    if (dir !== undefined) {
      try {
        fs.mkdirSync(dir, { recursive: true });
        fsyncDirSync(path.dirname(dir));
      } catch (err) {
        throw ioError(err, dir, 'mkdir');
      }
      // One process maintains the files; another one searching the same store keeps its own index in memory.
      const lock = new WriterLock(dir, LOCK_STALE_MS, () => (index.#fenced = true));
      try {
        await lock.acquire(0);
        index.#lock = lock;
        await index.#load(dir);
      } catch (err) {
        await lock.release();
        if (!isFfcdbError(err, ErrorCode.LOCKED)) throw err;
        index.#dir = undefined;
      }
    }
    try {
      await index.catchUp();
    } catch (err) {
      await index.close();
      throw err;
    }
    return index;
  }

  get position(): number {
    return this.#position;
  }

  get stem(): boolean {
    return this.#stem;
  }

  get stats(): Readonly<IndexStats> {
    return this.#stats;
  }

  get registry(): SearchRegistry {
    return this.#registry;
  }

  /** Every segment with its tombstones, oldest first, the memory segment last. Valid until the next await (background writes replace segments). */
  sources(): SegmentSource[] {
    this.#assertOpen();
    return [...this.#files.map((f) => ({ segment: f.file as Segment, dead: f.dead, deadDf: f.deadDf })), ...(this.#frozen ? [this.#frozen] : []), this.#memory];
  }

  /** Indexes the feed up to `target` (default: its head); resolves with the position reached. */
  catchUp(target?: number): Promise<number> {
    this.#assertOpen();
    if (target !== undefined && target <= this.#position) return Promise.resolve(this.#position);
    return this.#exclusive(async () => {
      if (this.#job === undefined) await this.#settle();
      await this.#read(target ?? (await this.#events.headPosition()));
      return this.#position;
    });
  }

  /** Writes the memory segment to a file (if there is a folder and anything to write) with a new checkpoint, and waits for the merges that follow. */
  flush(): Promise<void> {
    return this.#exclusive(async () => {
      await this.#flush();
      await this.#settle();
    });
  }

  /** Resolves when no segment is being written in the background. */
  idle(): Promise<void> {
    return this.#exclusive(() => this.#settle());
  }

  /**
   * Writes the memory segment out (unless `flush: false`, which leaves it to
   * be indexed again from the log on the next open, as after a crash), stops
   * a merge in progress (its sources stay), and closes the segment files.
   */
  async close(options: { flush?: boolean } = {}): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    const flush = options.flush ?? true;
    if (!flush) this.#abandon = true;
    // A merge in progress is stopped: its sources stay.
    const merging = this.#merger.cancel();
    await this.#exclusive(async () => {
      try {
        await merging;
        if (flush) await this.#flush();
        await this.#settle();
      } finally {
        // A segment still being written is abandoned (its file removed): the log holds its documents.
        this.#abandon = true;
        await this.#job;
        for (const f of this.#files) f.file.close();
        this.#files = [];
        await this.#lock?.release();
        this.#lock = undefined;
        this.#dir = undefined;
      }
    });
  }

  /**
   * Reads the feed to `to`. A gap above the starting checkpoint means events
   * were purged before they were read, perhaps a session's deletion with them:
   * the purged sessions are swept out at once, so that every checkpoint written
   * after the gap reflects the sweep. (Gaps met while building from nothing
   * need none: a purged stream's events are all gone.)
   */
  async #read(to: number): Promise<void> {
    const start = this.#position;
    let swept = false;
    const gap = async () => {
      if (swept || start === 0) return;
      swept = true;
      await this.#sweepPurged();
    };
    for await (const batch of this.#feed.batches(start, to)) {
      const firstGap = batch.gaps[0];
      for (const e of batch.events) {
        if (firstGap && e.position > firstGap.to) await gap();
        this.#applyEvent(e);
        if (this.#dir !== undefined && this.#memory.segment.docCount >= this.#flushDocs && (this.#job === undefined || this.#memory.segment.docCount >= FLUSH_BACKLOG * this.#flushDocs)) await this.#flush();
      }
      // Gaps after the last event (only the last batch ends in one).
      if (firstGap) await gap();
    }
    this.#position = Math.max(this.#position, to);
    if ([...this.#purgedIn].some((slot) => this.#files.includes(slot as FileSlot)) || (this.#purgedIn.size > 0 && this.#job !== undefined)) await this.#expunge();
  }

  /** Drops every indexed session whose stream no longer holds any event (purged). */
  async #sweepPurged(): Promise<void> {
    for (const [sessionId, session] of [...this.#registry.sessions]) {
      if ((await this.#events.readStream(sessionStream(sessionId), { limit: 1 })).length > 0) continue;
      this.#registry.sessions.delete(sessionId);
      this.#applyChange({ op: 'deleteSession', sessionId }, session.userId, true);
    }
  }

  #applyEvent(raw: RecordedEvent): void {
    this.#position = raw.position;
    this.#last = { position: raw.position, id: raw.id };
    if (SEARCH_HANDLES.includes(raw.type as never)) {
      let changes: SearchChange[];
      // A deleted session's owner, which the registry forgets with it, says where its documents sort.
      const owner = this.#registry.sessions.get(raw.streamId.slice(2))?.userId;
      const purge = raw.type === 'session.deleted' && (raw.data as { purge?: unknown }).purge === true;
      try {
        validateEvent(raw.type, raw.schemaVersion, raw.data);
        changes = searchChanges(this.#registry, upcast(raw));
      } catch {
        // Events the catalog refuses (written around the chat API) are skipped, the same way on every replay.
        changes = [];
      }
      for (const c of changes) this.#applyChange(c, owner, purge);
    }
  }

  /**
   * `owner`: the user of the event's session before the event (a session's
   * deletion removes it from the registry); `purge`: the deletion is a purge,
   * so the segments that held the session are rewritten without it.
   */
  #applyChange(change: SearchChange, owner: string | undefined, purge = false): void {
    switch (change.op) {
      case 'put':
        this.#delete(sortKey(change.doc.userId, change.doc.key));
        this.#add(change.doc);
        return;
      case 'update': {
        const found = this.#locate(this.#sortKeyOf(change.key, owner));
        if (!found) return;
        const { lengths: _, ...described } = found.segment.doc(found.ordinal);
        const fields = { ...found.segment.text(found.ordinal), ...change.fields };
        this.#kill(found);
        // Given entities the change leaves out stay as they were.
        this.#add({ ...described, fields, ...(change.entities && { entities: change.entities }) });
        return;
      }
      case 'delete':
        this.#delete(this.#sortKeyOf(change.key, owner));
        return;
      case 'deleteSession': {
        if (owner === undefined) return;
        const prefix = sortKey(owner, sessionKeyPrefix(change.sessionId));
        for (const slot of [...this.#files, ...(this.#frozen ? [this.#frozen] : [])]) {
          const segment = 'file' in slot ? slot.file : slot.segment;
          const ordinals = segment.withPrefix(prefix);
          // Tombstoned versions (an edited message's old text) are in the file too: a purge rewrites it as well.
          if (purge && ordinals.length > 0) this.#purgedIn.add(slot);
          for (const ordinal of ordinals) if (!slot.dead.has(ordinal)) this.#kill({ segment, dead: slot.dead, deadDf: slot.deadDf, ordinal });
        }
        // The memory segment is written without its tombstoned documents: nothing of the session reaches a file.
        for (const ordinal of this.#memory.segment.withPrefix(prefix)) if (!this.#memory.dead.has(ordinal)) this.#kill({ ...this.#memory, ordinal });
        return;
      }
    }
  }

  #newMemory(): MemorySlot {
    return { segment: new MemorySegment(this.#stem), dead: new Set(), deadDf: new Map() };
  }

  /** A document key's place in the segments: its scope names the session (whose owner the registry knows) or the user's library (`~user`). */
  #sortKeyOf(key: string, owner: string | undefined): string {
    const scope = key.slice(0, key.indexOf('\u0000'));
    const userId = scope.startsWith('~') ? scope.slice(1) : (this.#registry.sessions.get(scope)?.userId ?? owner ?? '');
    return sortKey(userId, key);
  }

  #add(doc: SearchDoc): void {
    const record = this.#memory.segment.add(doc);
    this.#count(record, 1);
  }

  #delete(key: string): void {
    const found = this.#locate(key);
    if (found) this.#kill(found);
  }

  #kill({ segment, dead, deadDf, ordinal }: Located): void {
    dead.add(ordinal);
    this.#count(segment.doc(ordinal), -1);
    countDeadTerms(segment, ordinal, deadDf, this.#stem);
  }

  #count(record: DocRecord, sign: 1 | -1): void {
    this.#stats.docs += sign;
    record.lengths.forEach((n, i) => {
      this.#stats.lengths[i]! += sign * n;
      if (n > 0) this.#stats.fieldDocs[i]! += sign;
    });
  }

  /** Where the document sorting at `key` is live: it is live in at most one segment. */
  #locate(key: string): Located | undefined {
    const sources = this.sources().reverse();
    for (const source of sources) {
      const ordinal = source.segment.find(key);
      if (ordinal !== undefined && !source.dead.has(ordinal)) return { segment: source.segment, dead: source.dead as Set<number>, deadDf: source.deadDf as Map<string, number>, ordinal };
    }
    return undefined;
  }

  /** Starts writing the memory segment out in the background (after what is being written, if anything). */
  async #flush(): Promise<void> {
    await this.#settle();
    const dir = this.#dir;
    if (dir === undefined || this.#fenced || this.#memory.segment.docCount === 0) return;
    this.#job = this.#background(async () => {
      for (let first = true; first || this.#memory.segment.docCount >= this.#flushDocs; first = false) {
        if (this.#abandon || this.#fenced) return;
        await this.#writeMemory(dir);
        await this.#mergeTiers(dir);
      }
    });
  }

  /**
   * Freezes the memory segment (a fresh one takes new writes) and writes it to
   * a file, then the manifest of the freeze: everything up to the position of
   * that moment is in the files it names.
   */
  async #writeMemory(dir: string): Promise<void> {
    if (this.#memory.segment.docCount === 0) {
      if (this.#fenced) return;
      writeManifest(dir, this.#manifestBytes(this.#files));
      this.#removeRetired(dir);
      return;
    }
    const frozen = this.#memory;
    this.#memory = this.#newMemory();
    this.#frozen = frozen;
    const name = this.#newName();
    const manifest = this.#manifestBytes([...this.#files, { name, dead: new Set<number>() }]);
    const deadBefore = new Set(frozen.dead);
    const remap = await this.#slices(segmentWriter(dir, name, [frozen]));
    if (!remap) return;
    this.#files.push(this.#opened(dir, name, [{ from: frozen, deadBefore, remap: remap[0]! }]));
    this.#frozen = undefined;
    // Another process took the folder over while this was written: the folder is its now.
    if (this.#fenced) return;
    writeManifest(dir, manifest);
    this.#removeRetired(dir);
  }

  #removeRetired(dir: string): void {
    for (const retired of this.#retired) fs.rmSync(path.join(dir, retired), { force: true });
    this.#retired = [];
  }

  /**
   * Rewrites the segments that held a purged session, without it, then writes
   * the memory segment and a manifest that names only the rewritten files, and
   * removes the old ones: once it resolves, no file of the index holds the
   * session's text or terms.
   */
  async #expunge(): Promise<void> {
    await this.#settle();
    const dir = this.#dir;
    if (dir === undefined || this.#fenced) return;
    for (const slot of [...this.#purgedIn]) {
      const i = this.#files.indexOf(slot as FileSlot);
      if (i === -1) continue;
      const old = this.#files[i]!;
      const name = this.#newName();
      const deadBefore = new Set(old.dead);
      const remap = await this.#slices(segmentWriter(dir, name, [{ segment: old.file, dead: old.dead, deadDf: old.deadDf }]));
      if (!remap) return;
      this.#files[this.#files.indexOf(old)] = this.#opened(dir, name, [{ from: old, deadBefore, remap: remap[0]! }]);
      old.file.close();
      this.#retired.push(old.name);
    }
    this.#purgedIn.clear();
    await this.#writeMemory(dir);
  }

  /**
   * Logarithmic merging: whenever `mergeFactor` segments in a row (by age) are
   * of about one size (the largest at most mergeFactor times the smallest, in
   * live documents, counting any below flushDocs as flushDocs: closing and
   * purges write small ones), they become one, so a store of n documents has
   * O(mergeFactor · log n) segments. The newest such run goes first. The
   * merged segment replaces them at once; their files go once the next
   * manifest names it instead.
   */
  async #mergeTiers(dir: string): Promise<void> {
    const size = (f: FileSlot) => Math.max(this.#flushDocs, f.file.docCount - f.dead.size);
    const mergeable = (group: readonly FileSlot[]) => Math.max(...group.map(size)) <= this.#mergeFactor * Math.min(...group.map(size));
    for (;;) {
      if (this.#closed) return;
      let start = this.#files.length - this.#mergeFactor;
      while (start >= 0 && !mergeable(this.#files.slice(start, start + this.#mergeFactor))) start--;
      if (start < 0) return;
      const group = this.#files.slice(start, start + this.#mergeFactor);
      const name = this.#newName();
      const deadBefore = group.map((f) => new Set(f.dead));
      const remap = await this.#merger.merge({ dir, name, sources: group.map((f, i) => ({ file: path.join(dir, f.name), dead: [...deadBefore[i]!] })) });
      if (!remap) return;
      const merged = this.#opened(dir, name, group.map((f, i) => ({ from: f, deadBefore: deadBefore[i]!, remap: remap[i]! })));
      this.#files.splice(this.#files.indexOf(group[0]!), group.length, merged);
      for (const f of group) {
        f.file.close();
        this.#retired.push(f.name);
      }
    }
  }

  /** Opens a segment just written, tombstoning what was tombstoned in its sources while it was being written. */
  #opened(dir: string, name: string, sources: { from: FileSlot | MemorySlot; deadBefore: ReadonlySet<number>; remap: Int32Array }[]): FileSlot {
    const slot: FileSlot = { name, file: SegmentFile.open(path.join(dir, name)), dead: new Set(), deadDf: new Map() };
    for (const { from, deadBefore, remap } of sources) {
      // A purge that came while the sources were being written leaves its documents in the new file.
      if (this.#purgedIn.delete(from)) this.#purgedIn.add(slot);
      const dead = from.dead;
      for (const ordinal of dead) {
        if (deadBefore.has(ordinal)) continue;
        const moved = remap[ordinal]!;
        slot.dead.add(moved);
        countDeadTerms(slot.file, moved, slot.deadDf, this.#stem);
      }
    }
    return slot;
  }

  /** Runs a segment writer a slice at a time, giving other work a turn between slices; undefined if abandoned. */
  async #slices(writer: Generator<void, Int32Array[]>): Promise<Int32Array[] | undefined> {
    for (;;) {
      const until = performance.now() + this.#sliceMs;
      for (let step = writer.next(); ; step = writer.next()) {
        if (step.done) return step.value;
        if (performance.now() >= until) break;
      }
      await new Promise((resolve) => setImmediate(resolve));
      if (this.#abandon) {
        writer.return([]);
        return undefined;
      }
    }
  }

  #background(work: () => Promise<void>): Promise<void> {
    const job: Promise<void> = work()
      .catch((err: unknown) => {
        this.#jobError = err;
      })
      .finally(() => {
        if (this.#job === job) this.#job = undefined;
      });
    return job;
  }

  /**
   * Waits for the background work, and throws what it failed with, now and
   * from then on: a segment that failed to be written is in no file and in no
   * manifest, so the index is not used again until it is reopened (which
   * indexes its documents again from the log).
   */
  async #settle(): Promise<void> {
    await this.#job;
    if (this.#jobError !== undefined) throw this.#jobError;
  }

  #newName(): string {
    return `seg-${String(this.#nextSegment++).padStart(8, '0')}.seg`;
  }

  /** The manifest for `files` and the current checkpoint, registry and statistics, encoded now. */
  #manifestBytes(files: readonly { name: string; dead: ReadonlySet<number> }[]): Buffer {
    return encodeManifest({
      version: SEARCH_PROJECTION_VERSION,
      stem: this.#stem,
      position: this.#position,
      eventPosition: this.#last.position,
      eventId: this.#last.id,
      segments: files.map((f) => ({ name: f.name, dead: [...f.dead] })),
      stats: this.#stats,
      registry: this.#registry,
      nextSegment: this.#nextSegment,
    });
  }

  /** Loads the manifest's segments, or starts empty when it is missing, of another version, or ahead of the log; removes files it does not name. */
  async #load(dir: string): Promise<void> {
    const manifest = readManifest(dir);
    const usable = manifest !== undefined && manifest.version === SEARCH_PROJECTION_VERSION && manifest.stem === this.#stem && (await this.#feed.check(manifest)).verdict !== 'cut';
    const files = usable ? this.#openAll(dir, manifest) : undefined;
    const keep = new Set(files?.map((f) => f.name));
    for (const name of fs.readdirSync(dir)) {
      // Files of a flush or merge that a crash cut before its manifest, or left after it.
      if ((SEGMENT_FILE.test(name) && !keep.has(name)) || name.endsWith('.tmp')) fs.rmSync(path.join(dir, name), { force: true });
    }
    if (!usable || !files) {
      // Rebuilt from the log from here: the manifest must not name the files just removed.
      writeManifest(dir, this.#manifestBytes([]));
      return;
    }
    this.#files = files;
    this.#registry = manifest.registry;
    this.#stats = manifest.stats;
    this.#position = manifest.position;
    this.#last = { position: manifest.eventPosition, id: manifest.eventId };
    this.#nextSegment = manifest.nextSegment;
  }

  /** The manifest's segments opened, or undefined (all closed again) when one is missing or damaged: a damaged index costs a rebuild, never a wrong answer. */
  #openAll(dir: string, manifest: Manifest): FileSlot[] | undefined {
    const out: FileSlot[] = [];
    try {
      for (const s of manifest.segments) {
        const slot: FileSlot = { name: s.name, file: SegmentFile.open(path.join(dir, s.name)), dead: new Set(s.dead), deadDf: new Map() };
        out.push(slot);
        for (const ordinal of slot.dead) countDeadTerms(slot.file, ordinal, slot.deadDf, this.#stem);
      }
      return out;
    } catch {
      for (const f of out) f.file.close();
      return undefined;
    }
  }

  #assertOpen(): void {
    if (this.#closed) throw new FfcdbError(ErrorCode.CLOSED, 'the search index is closed');
  }

  #exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.#queue.then(fn);
    this.#queue = run.catch(() => undefined);
    return run;
  }
}

/** Adds a tombstoned document's terms to its segment's dead counts: they are read again from its stored text, which analyses to the same terms. */
function countDeadTerms(segment: Segment, ordinal: number, deadDf: Map<string, number>, stem: boolean): void {
  const { entities } = segment.doc(ordinal);
  for (const term of termsOf({ fields: segment.text(ordinal), ...(entities && { entities }) }, stem)) deadDf.set(term, (deadDf.get(term) ?? 0) + 1);
}
