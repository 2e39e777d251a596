import fs from 'node:fs';
import path from 'node:path';
import { SEARCH_PROJECTION_VERSION, type SearchRegistry } from '../projections/search/projection.js';
import { fsyncDirSync } from '../storage/durable-files.js';
import { WriterLock } from '../storage/writer-lock.js';
import { ErrorCode, ioError, isFfcdbError } from '../kernel/errors.js';
import type { Checkpoint } from '../projector/checkpoint.js';
import { type Manifest, encodeManifest, readManifest, writeManifest } from './manifest.js';
import { SegmentFile } from './segment-file.js';
import { segmentWriter } from './segment-writer.js';
import { SegmentMerger } from './segment-merger.js';
import { type FileSlot, type MemorySlot, type SegmentSet, countDeadTerms } from './segment-set.js';

export interface IndexWriterOptions {
  flushDocs: number;
  mergeFactor: number;
  sliceMs: number;
}

/** What the manifest records beside the segments: the catch-up's checkpoint and registry. */
export interface IndexProgress {
  readonly checkpoint: Checkpoint;
  readonly registry: SearchRegistry;
}

/** While a segment is being written, the memory segment may grow to this many times flushDocs before indexing waits for it. */
const FLUSH_BACKLOG = 4;
const SEGMENT_FILE = /^seg-(\d+)\.seg$/;
/** A holder that stops refreshing its lock for this long (a dead process) loses the folder to the next one. */
const LOCK_STALE_MS = 10_000;

/**
 * The index's folder: segment files and the manifest. Segment files are
 * written in the background, a slice at a time between catch-ups and queries:
 * a full memory segment is frozen (still searched) and a fresh one takes new
 * writes; once its file is written, the manifest encoded at the freeze (the
 * checkpoint, registry, statistics and tombstones as they were then) is
 * written, and merges follow, one at a time. A document tombstoned while its
 * segment was being written is tombstoned in the new file too.
 */
export class IndexWriter {
  readonly #set: SegmentSet;
  readonly #progress: IndexProgress;
  readonly #flushDocs: number;
  readonly #mergeFactor: number;
  readonly #sliceMs: number;
  /** Undefined when the index is in memory only: asked so, or another process holds the folder. */
  #dir: string | undefined;
  #lock: WriterLock | undefined;
  /** Set when another process took the folder's lock over (we stalled past its stale time): from then on nothing is written. */
  #fenced = false;
  /** The background flush and the merges after it; what it failed with, thrown by the next catch-up. */
  #job: Promise<void> | undefined;
  #jobError: unknown;
  /** Files merged away: removed once a manifest no longer names them. */
  #retired: string[] = [];
  /** Merges run on a thread of their own. */
  readonly #merger = new SegmentMerger();
  #nextSegment = 1;
  #closed = false;
  /** Set when background writing must stop at its next turn. */
  #abandon = false;

  constructor(set: SegmentSet, progress: IndexProgress, options: IndexWriterOptions) {
    this.#set = set;
    this.#progress = progress;
    this.#flushDocs = options.flushDocs;
    this.#mergeFactor = options.mergeFactor;
    this.#sliceMs = options.sliceMs;
  }

  /** No segment is being written in the background. */
  get idle(): boolean {
    return this.#job === undefined;
  }

  /**
   * Takes the folder `dir` (unless another process holds it: the index then
   * stays in memory) and loads its manifest's segments when `usable` accepts
   * it; resolves with that manifest, or undefined when the index starts empty.
   */
  async attach(dir: string, usable: (manifest: Manifest) => Promise<boolean>, readOnly = false): Promise<Manifest | undefined> {
    // Read-only: the manifest's segments are searched as they are and what came after is indexed in memory;
    // the folder is not made, locked, cleaned or written (#dir stays undefined).
    if (readOnly) return this.#load(dir, usable, true);
    try {
      fs.mkdirSync(dir, { recursive: true });
      fsyncDirSync(path.dirname(dir));
    } catch (err) {
      throw ioError(err, dir, 'mkdir');
    }
    // One process maintains the files; another one searching the same store keeps its own index in memory.
    const lock = new WriterLock(dir, LOCK_STALE_MS, () => (this.#fenced = true));
    try {
      await lock.acquire(0);
      this.#lock = lock;
      this.#dir = dir;
      return await this.#load(dir, usable);
    } catch (err) {
      await lock.release();
      this.#lock = undefined;
      this.#dir = undefined;
      if (!isFfcdbError(err, ErrorCode.LOCKED)) throw err;
      return undefined;
    }
  }

  /**
   * A flush once the memory segment is full, unless a segment is being written
   * and the memory segment is still within its backlog; undefined (no await
   * per event) when none is due.
   */
  afterEvent(): Promise<void> | undefined {
    const docs = this.#set.memory.segment.docCount;
    return this.#dir !== undefined && docs >= this.#flushDocs && (this.#job === undefined || docs >= FLUSH_BACKLOG * this.#flushDocs) ? this.flush() : undefined;
  }

  /** After a catch-up: rewrites the files a purge left its session in. */
  async afterRead(): Promise<void> {
    const purgedIn = this.#set.purgedIn;
    if ([...purgedIn].some((slot) => this.#set.files.includes(slot as FileSlot)) || (purgedIn.size > 0 && this.#job !== undefined)) await this.#expunge();
  }

  /** Starts writing the memory segment out in the background (after what is being written, if anything). */
  async flush(): Promise<void> {
    await this.settle();
    const dir = this.#dir;
    if (dir === undefined || this.#fenced || this.#set.memory.segment.docCount === 0) return;
    this.#job = this.#background(async () => {
      for (let first = true; first || this.#set.memory.segment.docCount >= this.#flushDocs; first = false) {
        if (this.#abandon || this.#fenced) return;
        await this.#writeMemory(dir);
        await this.#mergeTiers(dir);
      }
    });
  }

  /**
   * Waits for the background work, and throws what it failed with, now and
   * from then on: a segment that failed to be written is in no file and in no
   * manifest, so the index is not used again until it is reopened (which
   * indexes its documents again from the log).
   */
  async settle(): Promise<void> {
    await this.#job;
    if (this.#jobError !== undefined) throw this.#jobError;
  }

  /**
   * Writes the memory segment out (unless `flush` is false, which leaves it
   * to be indexed again from the log on the next open, as after a crash),
   * stops a merge in progress (its sources stay), and closes the files.
   * `merging` is the merge's cancellation, asked for at once by the caller.
   */
  async close(flush: boolean, merging: Promise<void>): Promise<void> {
    try {
      await merging;
      if (flush) await this.flush();
      await this.settle();
    } finally {
      // A segment still being written is abandoned (its file removed): the log holds its documents.
      this.#abandon = true;
      await this.#job;
      for (const f of this.#set.files) f.file.close();
      this.#set.files = [];
      await this.#lock?.release();
      this.#lock = undefined;
      this.#dir = undefined;
    }
  }

  /** Stops a merge in progress and marks the writer closed (no merge starts after). */
  cancel(flush: boolean): Promise<void> {
    this.#closed = true;
    if (!flush) this.#abandon = true;
    return this.#merger.cancel();
  }

  /**
   * Freezes the memory segment (a fresh one takes new writes) and writes it to
   * a file, then the manifest of the freeze: everything up to the position of
   * that moment is in the files it names.
   */
  async #writeMemory(dir: string): Promise<void> {
    const set = this.#set;
    if (set.memory.segment.docCount === 0) {
      if (this.#fenced) return;
      writeManifest(dir, this.#manifestBytes(set.files));
      this.#removeRetired(dir);
      return;
    }
    const frozen = set.memory;
    set.memory = set.newMemory();
    set.frozen = frozen;
    const name = this.#newName();
    const manifest = this.#manifestBytes([...set.files, { name, dead: new Set<number>() }]);
    const deadBefore = new Set(frozen.dead);
    const remap = await this.#slices(segmentWriter(dir, name, [frozen]));
    if (!remap) return;
    set.files.push(this.#opened(dir, name, [{ from: frozen, deadBefore, remap: remap[0]! }]));
    set.frozen = undefined;
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
    await this.settle();
    const dir = this.#dir;
    if (dir === undefined || this.#fenced) return;
    const set = this.#set;
    for (const slot of [...set.purgedIn]) {
      const i = set.files.indexOf(slot as FileSlot);
      if (i === -1) continue;
      const old = set.files[i]!;
      const name = this.#newName();
      const deadBefore = new Set(old.dead);
      const remap = await this.#slices(segmentWriter(dir, name, [{ segment: old.file, dead: old.dead, deadDf: old.deadDf }]));
      if (!remap) return;
      set.files[set.files.indexOf(old)] = this.#opened(dir, name, [{ from: old, deadBefore, remap: remap[0]! }]);
      old.file.close();
      this.#retired.push(old.name);
    }
    set.purgedIn.clear();
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
    const files = () => this.#set.files;
    const size = (f: FileSlot) => Math.max(this.#flushDocs, f.file.docCount - f.dead.size);
    const mergeable = (group: readonly FileSlot[]) => Math.max(...group.map(size)) <= this.#mergeFactor * Math.min(...group.map(size));
    for (;;) {
      if (this.#closed) return;
      let start = files().length - this.#mergeFactor;
      while (start >= 0 && !mergeable(files().slice(start, start + this.#mergeFactor))) start--;
      if (start < 0) return;
      const group = files().slice(start, start + this.#mergeFactor);
      const name = this.#newName();
      const deadBefore = group.map((f) => new Set(f.dead));
      const remap = await this.#merger.merge({ dir, name, sources: group.map((f, i) => ({ file: path.join(dir, f.name), dead: [...deadBefore[i]!] })) });
      if (!remap) return;
      const merged = this.#opened(dir, name, group.map((f, i) => ({ from: f, deadBefore: deadBefore[i]!, remap: remap[i]! })));
      files().splice(files().indexOf(group[0]!), group.length, merged);
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
      if (this.#set.purgedIn.delete(from)) this.#set.purgedIn.add(slot);
      const dead = from.dead;
      for (const ordinal of dead) {
        if (deadBefore.has(ordinal)) continue;
        const moved = remap[ordinal]!;
        slot.dead.add(moved);
        countDeadTerms(slot.file, moved, slot.deadDf, this.#set.stem);
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

  #newName(): string {
    return `seg-${String(this.#nextSegment++).padStart(8, '0')}.seg`;
  }

  /** The manifest for `files` and the current checkpoint, registry and statistics, encoded now. */
  #manifestBytes(files: readonly { name: string; dead: ReadonlySet<number> }[]): Buffer {
    const { checkpoint, registry } = this.#progress;
    return encodeManifest({
      version: SEARCH_PROJECTION_VERSION,
      stem: this.#set.stem,
      position: checkpoint.position,
      eventPosition: checkpoint.eventPosition,
      eventId: checkpoint.eventId,
      segments: files.map((f) => ({ name: f.name, dead: [...f.dead] })),
      stats: this.#set.stats,
      registry,
      nextSegment: this.#nextSegment,
    });
  }

  /** Loads the manifest's segments, or starts empty when it is missing, of another version, or ahead of the log; removes files it does not name. */
  async #load(dir: string, usable: (manifest: Manifest) => Promise<boolean>, readOnly = false): Promise<Manifest | undefined> {
    const manifest = readManifest(dir);
    const ok = manifest !== undefined && manifest.version === SEARCH_PROJECTION_VERSION && manifest.stem === this.#set.stem && (await usable(manifest));
    const files = ok ? this.#openAll(dir, manifest) : undefined;
    if (readOnly) {
      if (!ok || !files) return undefined;
    } else {
      const keep = new Set(files?.map((f) => f.name));
      for (const name of fs.readdirSync(dir)) {
        // Files of a flush or merge that a crash cut before its manifest, or left after it.
        if ((SEGMENT_FILE.test(name) && !keep.has(name)) || name.endsWith('.tmp')) fs.rmSync(path.join(dir, name), { force: true });
      }
      if (!ok || !files) {
        // Rebuilt from the log from here: the manifest must not name the files just removed.
        writeManifest(dir, this.#manifestBytes([]));
        return undefined;
      }
    }
    this.#set.files = files;
    this.#set.stats = manifest.stats;
    this.#nextSegment = manifest.nextSegment;
    return manifest;
  }

  /** The manifest's segments opened, or undefined (all closed again) when one is missing or damaged: a damaged index costs a rebuild, never a wrong answer. */
  #openAll(dir: string, manifest: Manifest): FileSlot[] | undefined {
    const out: FileSlot[] = [];
    try {
      for (const s of manifest.segments) {
        const slot: FileSlot = { name: s.name, file: SegmentFile.open(path.join(dir, s.name)), dead: new Set(s.dead), deadDf: new Map() };
        out.push(slot);
        for (const ordinal of slot.dead) countDeadTerms(slot.file, ordinal, slot.deadDf, this.#set.stem);
      }
      return out;
    } catch {
      for (const f of out) f.file.close();
      return undefined;
    }
  }
}
