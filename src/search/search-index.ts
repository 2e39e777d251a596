import type { SearchRegistry } from '../projections/search/projection.js';
import type { EventStore } from '../engine/event-store.js';
import { ErrorCode, FfcdbError } from '../kernel/errors.js';
import { IndexCatchUp } from './index-catch-up.js';
import { IndexWriter } from './index-writer.js';
import type { IndexStats } from './manifest.js';
import type { SegmentSource } from './segment.js';
import { SegmentSet } from './segment-set.js';

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
  /** Read `dir` without writing to it (a read-only store): its segments as they are, and the rest of the feed indexed in memory only. */
  readOnly?: boolean;
}

/**
 * The search index: segment files, the memory segment for recent writes, the
 * tombstones of both, and the checkpoint. It runs the search projection
 * (projections/search/projection.ts) over the feed, one catch-up at a time, and so is
 * rebuildable from the log by opening it on an empty folder. Its parts: what
 * queries read (segment-set.ts), the feed into it (index-catch-up.ts), and its
 * folder, written in the background (index-writer.ts).
 */
export class SearchIndex {
  readonly #set: SegmentSet;
  readonly #feed: IndexCatchUp;
  readonly #writer: IndexWriter;
  #queue: Promise<unknown> = Promise.resolve();
  #closed = false;

  private constructor(events: EventStore, options: SearchIndexOptions) {
    this.#set = new SegmentSet(options.stem ?? true);
    this.#feed = new IndexCatchUp(events, this.#set);
    this.#writer = new IndexWriter(this.#set, this.#feed, { flushDocs: options.flushDocs ?? 10_000, mergeFactor: options.mergeFactor ?? 4, sliceMs: options.sliceMs ?? 8 });
  }

  /** Opens the index in `options.dir` from its manifest (or empty) and catches up with the feed. */
  static async open(events: EventStore, options: SearchIndexOptions = {}): Promise<SearchIndex> {
    const index = new SearchIndex(events, options);
    if (options.dir !== undefined) {
      const manifest = await index.#writer.attach(options.dir, (m) => index.#feed.holds(m), options.readOnly === true);
      if (manifest) {
        index.#feed.registry = manifest.registry;
        index.#feed.checkpoint = { position: manifest.position, eventPosition: manifest.eventPosition, eventId: manifest.eventId };
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
    return this.#feed.checkpoint.position;
  }

  get stem(): boolean {
    return this.#set.stem;
  }

  get stats(): Readonly<IndexStats> {
    return this.#set.stats;
  }

  get registry(): SearchRegistry {
    return this.#feed.registry;
  }

  /** Every segment with its tombstones, oldest first, the memory segment last. Valid until the next await (background writes replace segments). */
  sources(): SegmentSource[] {
    this.#assertOpen();
    return this.#set.sources();
  }

  /** Indexes the feed up to `target` (default: its head); resolves with the position reached. */
  catchUp(target?: number): Promise<number> {
    this.#assertOpen();
    if (target !== undefined && target <= this.position) return Promise.resolve(this.position);
    return this.#exclusive(async () => {
      if (this.#writer.idle) await this.#writer.settle();
      await this.#feed.read(target, () => this.#writer.afterEvent());
      await this.#writer.afterRead();
      return this.position;
    });
  }

  /** Writes the memory segment to a file (if there is a folder and anything to write) with a new checkpoint, and waits for the merges that follow. */
  flush(): Promise<void> {
    return this.#exclusive(async () => {
      await this.#writer.flush();
      await this.#writer.settle();
    });
  }

  /** Resolves when no segment is being written in the background. */
  idle(): Promise<void> {
    return this.#exclusive(() => this.#writer.settle());
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
    // A merge in progress is stopped: its sources stay.
    const merging = this.#writer.cancel(flush);
    await this.#exclusive(() => this.#writer.close(flush, merging));
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
