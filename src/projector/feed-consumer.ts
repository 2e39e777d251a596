import type { EventStore } from '../engine/event-store.js';
import { assertPositiveInteger } from '../kernel/validation.js';
import type { RecordedEvent } from '../kernel/types.js';
import { type Checkpoint, type CheckpointCheck, checkCheckpoint } from './checkpoint.js';

/**
 * Events per feed read, unless a consumer says otherwise. Sessions interleave
 * in the feed, so a page touches many stream files; large pages read several
 * frames of each file at once (1,000 per page replayed ~35,000 events/s,
 * 16,384 ~120,000 on one data set).
 */
const FEED_PAGE = 16_384;

/** Positions, both included, that hold no event: their streams were purged. */
interface Gap {
  from: number;
  to: number;
}

/** One read of the feed: every position above `after` up to and including `through`. */
export interface FeedBatch {
  after: number;
  through: number;
  /** The events of those positions, in position order. */
  events: RecordedEvent[];
  /** The positions among them that hold no event, in order. */
  gaps: Gap[];
  /** The feed's head when the batch was read. */
  head: number;
}

/** What follows the live tail: the head after each commit, and the end when the store closes. */
export interface TailObserver {
  next: (head: number) => void;
  complete?: () => void;
  /** The backend stopped following commits (a read of other processes' commits failed). */
  error?: (err: unknown) => void;
}

/**
 * Reads the global feed for a consumer that keeps a checkpoint (the projection
 * runner, the search index, a migration), through the event store's API only:
 * checks a checkpoint with the one rule (checkpoint.ts), catches up in
 * batches, telling the gaps it stepped over, and follows the live tail.
 */
export class FeedConsumer {
  readonly #store: EventStore;
  readonly #pageSize: number;

  constructor(store: EventStore, options: { pageSize?: number } = {}) {
    this.#store = store;
    this.#pageSize = options.pageSize ?? FEED_PAGE;
    assertPositiveInteger(this.#pageSize, 'pageSize', 1);
  }

  check(checkpoint: Checkpoint): Promise<CheckpointCheck> {
    return checkCheckpoint(this.#store, checkpoint);
  }

  /**
   * The feed above `after` in batches of at most the page size: up to `to`, or
   * without it up to the head (which may move on while reading). A `to` above
   * the head counts as read through, its last positions as gaps: callers pass
   * positions the log gave them.
   */
  async *batches(after: number, to?: number): AsyncGenerator<FeedBatch> {
    let next = after + 1;
    while (to === undefined || next <= to) {
      const limit = to === undefined ? this.#pageSize : Math.min(this.#pageSize, to - next + 1);
      const page = await this.#store.readAll({ fromPosition: next, limit });
      // A page short of its limit holds everything up to the head.
      const through = to === undefined ? page.nextPosition - 1 : page.events.length < limit ? to : Math.min(to, page.nextPosition - 1);
      if (through < next) return;
      const events = (page.events.at(-1)?.position ?? 0) <= through ? page.events : page.events.filter((e) => e.position <= through);
      yield { after: next - 1, through, events, gaps: gapsIn(next - 1, events, through), head: page.headPosition };
      next = through + 1;
      if (to === undefined && through >= page.headPosition) return;
    }
  }

  /** Follows the engine's commits (other processes' too where the backend tells them) until the returned function is called. */
  follow(observer: TailObserver): () => void {
    const subscription = this.#store.commits$.subscribe(observer);
    return () => subscription.unsubscribe();
  }
}

/** The positions in (after, through] that none of `events` (in position order) holds. */
function gapsIn(after: number, events: readonly RecordedEvent[], through: number): Gap[] {
  const gaps: Gap[] = [];
  let previous = after;
  for (const e of events) {
    if (e.position > previous + 1) gaps.push({ from: previous + 1, to: e.position - 1 });
    previous = e.position;
  }
  if (through > previous) gaps.push({ from: previous + 1, to: through });
  return gaps;
}
