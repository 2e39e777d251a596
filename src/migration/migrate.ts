import type { EventStore } from '../engine/event-store.js';
import { assertPositiveInteger } from '../kernel/validation.js';
import { ErrorCode, FfcdbError } from '../kernel/errors.js';
import { checkCheckpoint } from '../projector/checkpoint.js';
import { type FeedBatch, FeedConsumer } from '../projector/feed-consumer.js';
import type { SqlDriver } from '../sql/driver.js';
import { type Marker, buildIndexes, install, readMarker } from './install.js';
import { type FeedEvent, feedEvent } from './rows.js';
import { EVENTS, PURGED_STREAMS, SESSIONS } from './schema.js';
import { applyWrites, eraseRows, moveCheckpoint, recordPurge } from './sink.js';
import { type BatchWrites, Translator, type TranslatorOptions, YIELD_EVERY, yieldToIo } from './translate.js';

export interface MigrationOptions extends TranslatorOptions {
  /** The log to replay (its head moves on while the migration follows it). */
  store: EventStore;
  /** The database (see src/sql/connect.ts); the caller closes it. */
  target: SqlDriver;
  /** Events per batch: one transaction each, checkpoint included (default 5,000). */
  batchSize?: number;
  /** Called after each committed batch. */
  onProgress?: (progress: MigrationProgress) => void;
}

export interface MigrationProgress {
  /** The checkpoint: every event at or below it is in the database. */
  position: number;
  /** The feed's head when the batch was read. */
  head: number;
  /** Events migrated since this Migration opened. */
  events: number;
  batches: number;
}

export interface MigrationResult extends MigrationProgress {
  /** Streams erased since this Migration opened (purges). */
  erased: number;
}

const DEFAULT_BATCH = 5000;

/**
 * A migration is a projection whose sink is a database. It replays the global
 * feed in batches; each batch's rows and the checkpoint commit in one
 * transaction, so a crash (even `kill -9`) loses at most the batch in flight,
 * which the next run redoes from the checkpoint: exactly once. A run that finds
 * nothing past the checkpoint writes nothing.
 *
 * Purges: a session deleted with `purge` has its rows erased at once (and its
 * later events are not kept). A stream purged while the migration had some of
 * its events but not its deletion shows only as gaps in the feed; gaps set
 * `sweep_pending`, and the sweep (at the end of the catch-up, and at every
 * open) looks for streams with rows here whose events are gone from the log.
 */
export class Migration {
  readonly #store: EventStore;
  readonly #feed: FeedConsumer;
  readonly #driver: SqlDriver;
  readonly #translator: Translator;
  readonly #onProgress: ((p: MigrationProgress) => void) | undefined;
  #marker: Marker;
  #queue: Promise<unknown> = Promise.resolve();
  #events = 0;
  #batches = 0;
  #erased = 0;
  #head = 0;
  #following: Following | undefined;
  #batchNumber = 0;
  /** A batch failed: what this object holds may be ahead of the database, so it refuses to go on (open the migration again). */
  #failed: unknown;

  private constructor(options: MigrationOptions, marker: Marker, erased: string[]) {
    this.#store = options.store;
    this.#driver = options.target;
    this.#translator = new Translator(options.target, erased, options);
    this.#feed = new FeedConsumer(options.store, { pageSize: options.batchSize ?? DEFAULT_BATCH });
    this.#onProgress = options.onProgress;
    this.#marker = marker;
  }

  /**
   * Opens the migration in the target: creates its tables on first use (or
   * finds its marker), checks that the log still holds what the checkpoint
   * says was migrated, and erases what purges left behind.
   */
  static async open(options: MigrationOptions): Promise<Migration> {
    if (options.batchSize !== undefined) assertPositiveInteger(options.batchSize, 'batchSize', 1);
    const driver = options.target;
    const marker = (await readMarker(driver)) ?? (await install(driver));
    await assertSameLog(options.store, marker, driver.description);
    const erased = (await driver.query(`SELECT stream_id FROM ${driver.dialect.table(PURGED_STREAMS.name)}`)).map((r) => String(r.stream_id));
    const migration = new Migration(options, marker, erased);
    await migration.#exclusive(() => migration.#sweep(marker.sweepPending ? 'all' : 'deleted-sessions'));
    return migration;
  }

  /** The checkpoint. */
  get position(): number {
    return this.#marker.position;
  }

  /** Migrates everything up to the head of the feed. */
  catchUp(): Promise<MigrationResult> {
    return this.#exclusive(() => this.#catchUp());
  }

  /**
   * Catches up, then migrates new events as the store commits them (its
   * commits$, which reports other processes' commits on the flatfile backend)
   * until stop() or until the store closes. Resolves with the totals; rejects
   * when a batch fails.
   */
  follow(): Promise<MigrationResult> {
    if (this.#following) throw new FfcdbError(ErrorCode.INVALID_ARGUMENT, 'the migration is already following the feed', { field: 'follow' });
    return new Promise<MigrationResult>((resolve, reject) => {
      let scheduled = false;
      const round = () => {
        if (scheduled) return;
        scheduled = true;
        // One catch-up queued at a time: commits that arrive meanwhile are read by it.
        this.#exclusive(async () => {
          scheduled = false;
          await this.#catchUp();
        }).catch((err: unknown) => settle(err));
      };
      const settle = (err?: unknown) => {
        if (this.#following !== following) return;
        following.unfollow?.();
        this.#following = undefined;
        this.#exclusive(async () => this.#result()).then((result) => (err === undefined ? resolve(result) : reject(err)), reject);
      };
      // Set before subscribing: a store closed already completes commits$ at once.
      const following: Following = { settle };
      this.#following = following;
      following.unfollow = this.#feed.follow({ next: round, complete: () => settle(), error: (err) => settle(err) });
      if (this.#following === following) round();
    });
  }

  /** Stops following; the promise follow() returned resolves once the batch in flight is committed. */
  stop(): void {
    this.#following?.settle();
  }

  async #catchUp(): Promise<MigrationResult> {
    if (this.#failed) throw new FfcdbError(ErrorCode.FAILED, 'an earlier batch of this migration failed: open it again to resume from its checkpoint', { cause: this.#failed });
    const batches = this.#feed.batches(this.#marker.position);
    // Each read-ahead and write is awaited later: marked handled now, so one that fails while another step is awaited is not an unhandled rejection (which ends the process).
    const read = () => handled(batches.next().then((r) => (r.done ? undefined : this.#page(r.value))));
    let next: Promise<Page | undefined> | undefined = read();
    /** The transactions, one after another: batch N is written while batch N + 1 is read and folded. */
    let writing: Promise<void> = Promise.resolve();
    try {
      for (let page = await next; page; page = await next) {
        // Read the next page while this one is folded and written.
        next = read();
        const batch = ++this.#batchNumber;
        const { writes, committed } = await this.#translator.translate(page.events, batch);
        const previous = writing;
        const current = page;
        writing = handled(previous.then(() => this.#commit(current, writes, committed)));
        // At most one batch waits behind the one being written.
        await previous;
      }
      await writing;
    } catch (err) {
      // A failed write makes the next batch's reads fail too (its transaction is aborted): report the write's error.
      const cause = await writing.then(
        () => err,
        (writeError: unknown) => writeError,
      );
      this.#failed = cause;
      throw cause;
    } finally {
      next?.catch(() => undefined);
      writing.catch(() => undefined);
    }
    if (this.#marker.sweepPending) await this.#sweep('all');
    if (!this.#marker.indexesBuilt) {
      await buildIndexes(this.#driver);
      this.#marker = { ...this.#marker, indexesBuilt: true };
    }
    return this.#result();
  }

  async #page(batch: FeedBatch): Promise<Page> {
    this.#head = batch.head;
    const events: FeedEvent[] = [];
    for (const raw of batch.events) {
      events.push(feedEvent(raw));
      if (events.length % YIELD_EVERY === 0) await yieldToIo();
    }
    return { events, after: batch.after, through: batch.through, gaps: batch.gaps.length > 0 };
  }

  /** One batch's rows and the checkpoint past it, in one transaction. */
  async #commit(page: Page, writes: BatchWrites, committed: () => void): Promise<void> {
    // Positions nobody returned were purged: rows of theirs migrated earlier may be left.
    const { after: from, through: to, gaps } = page;
    const last = page.events.at(-1)?.raw;
    const checkpoint = last ? { position: to, eventPosition: last.position, eventId: last.id } : { position: to, eventPosition: this.#marker.eventPosition, eventId: this.#marker.eventId };
    await this.#driver.transaction(async () => {
      const moved = moveCheckpoint(this.#driver, from, checkpoint, gaps);
      // The rows go out behind the checkpoint without waiting for it: a moved checkpoint fails the transaction all the same.
      await Promise.all([moved, applyWrites(this.#driver, writes)]);
    });
    committed();
    this.#erased += writes.erase.length;
    this.#marker = { ...this.#marker, ...checkpoint, sweepPending: this.#marker.sweepPending || gaps };
    this.#events += page.events.length;
    this.#batches++;
    this.#onProgress?.(this.#result());
  }

  /**
   * Erases the rows of streams purged from the log behind the migration's back:
   * every stream with rows here ('all', after gaps), or the deleted sessions
   * (a deleted session can be purged later without a new event). A stream
   * with rows here once had events; if it reads empty now, it was purged.
   */
  async #sweep(scope: 'all' | 'deleted-sessions'): Promise<void> {
    const t = (name: string) => this.#driver.dialect.table(name);
    const candidates =
      scope === 'all'
        ? (await this.#driver.query(`SELECT DISTINCT stream_id FROM ${t(EVENTS.name)}`)).map((r) => String(r.stream_id))
        : (await this.#driver.query(`SELECT session_id FROM ${t(SESSIONS.name)} WHERE deleted_at IS NOT NULL`)).map((r) => `s-${String(r.session_id)}`);
    const purged: string[] = [];
    for (const streamId of candidates) {
      if (this.#translator.erased.has(streamId)) continue;
      if ((await this.#store.readStream(streamId, { limit: 1 })).length === 0) purged.push(streamId);
    }
    if (purged.length === 0 && !(scope === 'all' && this.#marker.sweepPending)) return;
    const position = this.#marker.position;
    await this.#driver.transaction(async () => {
      await moveCheckpoint(this.#driver, position, this.#marker, scope === 'all' ? 'clear' : false);
      for (const streamId of purged) {
        await eraseRows(this.#driver, streamId);
        await recordPurge(this.#driver, streamId, position);
      }
    });
    for (const streamId of purged) this.#translator.forget(streamId);
    this.#erased += purged.length;
    if (scope === 'all') this.#marker = { ...this.#marker, sweepPending: false };
  }

  #result(): MigrationResult {
    return { position: this.#marker.position, head: Math.max(this.#head, this.#marker.position), events: this.#events, batches: this.#batches, erased: this.#erased };
  }

  #exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.#queue.then(fn);
    this.#queue = run.catch(() => undefined);
    return run;
  }
}

interface Page {
  events: FeedEvent[];
  /** The positions it covers: above `after`, up to `through`. */
  after: number;
  through: number;
  /** Some of those positions were purged. */
  gaps: boolean;
}

interface Following {
  unfollow?: () => void;
  settle: (err?: unknown) => void;
}

/**
 * The log must still hold the checkpoint's last event, with nothing new at or
 * below the checkpoint: a log cut back after a crash (durability `none` or
 * `batched`), or another store, would otherwise mix with rows it never held.
 * The last event may be a gap now (purged): nothing else can take its place.
 */
async function assertSameLog(store: EventStore, marker: Marker, target: string): Promise<void> {
  const { verdict, head } = await checkCheckpoint(store, { ...marker, eventId: marker.eventId ?? '' });
  if (verdict === 'cut') {
    throw new FfcdbError(
      ErrorCode.CONFLICT,
      `${target} reflects the log up to position ${marker.position} (last event ${marker.eventId ?? 'none'} at ${marker.eventPosition}), which this log does not hold (head ${head}): it is another store, or it was cut back after a crash; roll the migration back and migrate again`,
      { field: 'to', position: marker.position, eventPosition: marker.eventPosition, eventId: marker.eventId, head },
    );
  }
}

/**
 * Opens the migration, catches up with the feed, and resolves with what it
 * did; with `follow`, goes on migrating new events until `signal` aborts
 * (or the store closes).
 */
export async function migrate(options: MigrationOptions & { follow?: boolean; signal?: AbortSignal }): Promise<MigrationResult> {
  const migration = await Migration.open(options);
  if (!options.follow) return migration.catchUp();
  const stop = () => migration.stop();
  options.signal?.addEventListener('abort', stop, { once: true });
  try {
    const following = migration.follow();
    if (options.signal?.aborted) stop();
    return await following;
  } finally {
    options.signal?.removeEventListener('abort', stop);
  }
}

/** The promise itself, with a no-op handler attached: awaiting it still throws. */
function handled<T>(p: Promise<T>): Promise<T> {
  p.catch(() => undefined);
  return p;
}
