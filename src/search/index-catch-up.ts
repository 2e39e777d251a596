import { type CatalogEvent, upcast, validateEvent } from '../events/catalog.js';
import { sessionStream } from '../events/streams.js';
import { SEARCH_HANDLES, type SearchChange, type SearchRegistry, initSearchRegistry, searchChanges, sessionDocs } from '../projections/search/projection.js';
import type { EventStore } from '../engine/event-store.js';
import { type Checkpoint, START } from '../projector/checkpoint.js';
import { FeedConsumer } from '../projector/feed-consumer.js';
import type { RecordedEvent } from '../kernel/types.js';
import { sessionKeyPrefix } from '../projections/search/search-doc.js';
import { sortKey } from './segment.js';
import type { SegmentSet } from './segment-set.js';

/**
 * The feed into the index: runs the search projection (projections/search/projection.ts)
 * over the events past the checkpoint and applies the changes it gives to the
 * segments. Holds the projection's registry and the checkpoint.
 */
export class IndexCatchUp {
  readonly #events: EventStore;
  readonly #feed: FeedConsumer;
  readonly #set: SegmentSet;
  registry: SearchRegistry = initSearchRegistry();
  /** Changed in place as events are applied (an object per event would cost a replay). */
  checkpoint: Checkpoint = { ...START };

  constructor(events: EventStore, set: SegmentSet) {
    this.#events = events;
    this.#feed = new FeedConsumer(events);
    this.#set = set;
  }

  /** Whether the log still holds what a saved checkpoint reflects (else the index is rebuilt). */
  async holds(checkpoint: Checkpoint): Promise<boolean> {
    return (await this.#feed.check(checkpoint)).verdict !== 'cut';
  }

  /**
   * Reads the feed to `target` (default: its head), calling `afterEvent`
   * after each event: the writer returns a flush to wait for when one is due.
   * A gap above the starting checkpoint means events were purged before they
   * were read, perhaps a session's deletion with them: the purged sessions are
   * swept out at once, so that every checkpoint written after the gap
   * reflects the sweep. (Gaps met while building from nothing need none: a
   * purged stream's events are all gone.)
   */
  async read(target: number | undefined, afterEvent: () => Promise<void> | undefined): Promise<void> {
    const to = target ?? (await this.#events.headPosition());
    const start = this.checkpoint.position;
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
        await this.#applyEvent(e);
        const flushing = afterEvent();
        if (flushing) await flushing;
      }
      // Gaps after the last event (only the last batch ends in one).
      if (firstGap) await gap();
    }
    this.checkpoint.position = Math.max(this.checkpoint.position, to);
  }

  /** Drops every indexed session, live or deleted, whose stream no longer holds any event (purged). */
  async #sweepPurged(): Promise<void> {
    for (const sessions of [this.registry.sessions, this.registry.deleted]) {
      for (const [sessionId, session] of [...sessions]) {
        if ((await this.#events.readStream(sessionStream(sessionId), { limit: 1 })).length > 0) continue;
        sessions.delete(sessionId);
        this.#applyChange({ op: 'deleteSession', sessionId }, session.userId, true);
      }
    }
  }

  async #applyEvent(raw: RecordedEvent): Promise<void> {
    const c = this.checkpoint;
    c.position = c.eventPosition = raw.position;
    c.eventId = raw.id;
    if (SEARCH_HANDLES.includes(raw.type as never)) {
      let changes: SearchChange[];
      // A deleted session's owner, which the registry moves with it, says where its documents sort.
      const sessionId = raw.streamId.slice(2);
      const owner = (this.registry.sessions.get(sessionId) ?? this.registry.deleted.get(sessionId))?.userId;
      const purge = raw.type === 'session.deleted' && (raw.data as { purge?: unknown }).purge === true;
      const event = catalogEvent(raw);
      // Events the catalog refuses (written around the chat API) are skipped, the same way on every replay.
      try {
        changes = event ? searchChanges(this.registry, event) : [];
      } catch {
        changes = [];
      }
      for (const c of changes) {
        if (c.op === 'restoreSession') await this.#restore(raw.streamId, c.version);
        else this.#applyChange(c, owner, purge);
      }
    }
  }

  /** Puts back a restored session's documents: those its events up to the restore (at `version`) give. */
  async #restore(streamId: string, version: number): Promise<void> {
    const events: CatalogEvent[] = [];
    for await (const raw of this.#events.streamEvents(streamId)) {
      if (raw.version > version) break;
      const e = catalogEvent(raw);
      if (e) events.push(e);
    }
    for (const doc of sessionDocs(events)) this.#applyChange({ op: 'put', doc }, doc.userId);
  }

  /**
   * `owner`: the user of the event's session before the event (a session's
   * deletion removes it from the registry); `purge`: the deletion is a purge,
   * so the segments that held the session are rewritten without it.
   */
  #applyChange(change: SearchChange, owner: string | undefined, purge = false): void {
    const set = this.#set;
    switch (change.op) {
      case 'put':
        set.delete(sortKey(change.doc.userId, change.doc.key));
        set.add(change.doc);
        return;
      case 'update': {
        const found = set.locate(this.#sortKeyOf(change.key, owner));
        if (!found) return;
        const { lengths: _, ...described } = found.segment.doc(found.ordinal);
        const fields = { ...found.segment.text(found.ordinal), ...change.fields };
        set.kill(found);
        // Given entities the change leaves out stay as they were.
        set.add({ ...described, fields, ...(change.entities && { entities: change.entities }) });
        return;
      }
      case 'delete':
        set.delete(this.#sortKeyOf(change.key, owner));
        return;
      case 'deleteSession':
        if (owner !== undefined) set.deleteUnder(sortKey(owner, sessionKeyPrefix(change.sessionId)), purge);
        return;
    }
  }

  /** A document key's place in the segments: its scope names the session (whose owner the registry knows) or the user's library (`~user`). */
  #sortKeyOf(key: string, owner: string | undefined): string {
    const scope = key.slice(0, key.indexOf('\u0000'));
    const userId = scope.startsWith('~') ? scope.slice(1) : (this.registry.sessions.get(scope)?.userId ?? owner ?? '');
    return sortKey(userId, key);
  }
}

/** The event at its current schema version, or undefined when the catalog refuses it. */
function catalogEvent(raw: RecordedEvent): CatalogEvent | undefined {
  try {
    validateEvent(raw.type, raw.schemaVersion, raw.data);
    return upcast(raw);
  } catch {
    return undefined;
  }
}
