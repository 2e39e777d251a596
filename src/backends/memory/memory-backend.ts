import { ErrorCode, FfcdbError } from '../../kernel/errors.js';
import type { AppendResult, ExpectedVersion, RecordedEvent } from '../../kernel/types.js';
import type { BackendCapabilities, CommitListener, PreparedEvent, PurgeResult, StorageBackend, StreamReadOptions } from '../backend.js';
import { CommitListeners } from '../commit-listeners.js';
import { checkExpectedVersion, findRetry, purgeNotFound, purgedConflict } from '../append-rules.js';

const PAGE = 256;

/** Keeps everything in one process's memory: for tests and throwaway stores. */
export class MemoryBackend implements StorageBackend {
  readonly kind = 'memory';
  readonly supports: BackendCapabilities = { crossProcess: false, persistent: false, durability: ['none'], liveCrossProcess: false };
  readonly #commits = new CommitListeners();
  readonly #streams = new Map<string, RecordedEvent[]>();
  /** Indexed by position - 1; a purged event leaves a hole, so positions stay put. */
  readonly #feed: Array<RecordedEvent | undefined> = [];
  /** Purged streams and the version each had. */
  readonly #purged = new Map<string, number>();
  #open = false;

  async open(): Promise<void> {
    this.#open = true;
  }

  onCommit(listener: CommitListener): () => void {
    return this.#commits.add(listener);
  }

  async close(): Promise<void> {
    this.#open = false;
    this.#commits.close();
  }

  async append(streamId: string, events: readonly PreparedEvent[], expected: ExpectedVersion): Promise<AppendResult> {
    this.#assertOpen();
    if (this.#purged.has(streamId)) throw purgedConflict(streamId);
    const stream = this.#streams.get(streamId) ?? [];
    const retry = findRetry(streamId, events, (id) => stream.find((e) => e.id === id));
    if (retry) return retry;
    checkExpectedVersion(streamId, expected, stream.length);
    const firstVersion = stream.length + 1;
    const firstPosition = this.#feed.length + 1;
    const lastTimestamp = stream.at(-1)?.timestamp ?? 0;
    events.forEach((e, i) => {
      const recorded: RecordedEvent = {
        id: e.id,
        streamId,
        version: firstVersion + i,
        position: firstPosition + i,
        type: e.type,
        schemaVersion: e.schemaVersion,
        timestamp: Math.max(e.timestamp, lastTimestamp),
        data: structuredClone(e.data),
        metadata: structuredClone(e.metadata),
      };
      stream.push(recorded);
      this.#feed.push(recorded);
    });
    this.#streams.set(streamId, stream);
    this.#commits.commit(this.#feed.length);
    return {
      streamId,
      firstVersion,
      lastVersion: firstVersion + events.length - 1,
      firstPosition,
      lastPosition: firstPosition + events.length - 1,
      duplicate: false,
    };
  }

  async streamVersion(streamId: string): Promise<number> {
    this.#assertOpen();
    return this.#purged.get(streamId) ?? this.#streams.get(streamId)?.length ?? 0;
  }

  async purgeStream(streamId: string): Promise<PurgeResult> {
    this.#assertOpen();
    const purgedAt = this.#purged.get(streamId);
    if (purgedAt !== undefined) return { streamId, version: purgedAt, events: 0 };
    const stream = this.#streams.get(streamId);
    if (!stream) throw purgeNotFound(streamId);
    for (const e of stream) this.#feed[e.position - 1] = undefined;
    this.#streams.delete(streamId);
    this.#purged.set(streamId, stream.length);
    return { streamId, version: stream.length, events: stream.length };
  }

  async headPosition(): Promise<number> {
    this.#assertOpen();
    return this.#feed.length;
  }

  async *readStream(streamId: string, options: StreamReadOptions): AsyncIterable<readonly RecordedEvent[]> {
    this.#assertOpen();
    const stream = this.#streams.get(streamId) ?? [];
    if (options.direction === 'forward') {
      for (let i = Math.max(0, (options.fromVersion ?? 1) - 1); i < stream.length; i += PAGE) {
        yield stream.slice(i, i + PAGE).map(copy);
      }
    } else {
      let end = Math.min(stream.length, options.fromVersion ?? stream.length);
      while (end > 0) {
        const start = Math.max(0, end - PAGE);
        yield stream.slice(start, end).reverse().map(copy);
        end = start;
      }
    }
  }

  async *readAll(fromPosition: number): AsyncIterable<readonly RecordedEvent[]> {
    this.#assertOpen();
    for (let i = Math.max(0, fromPosition - 1); i < this.#feed.length; i += PAGE) {
      const page = this.#feed.slice(i, i + PAGE).filter((e) => e !== undefined);
      if (page.length > 0) yield page.map(copy);
    }
  }

  #assertOpen(): void {
    if (!this.#open) throw new FfcdbError(ErrorCode.CLOSED, 'the memory backend is closed');
  }
}

/** Readers get their own copies, as they would from a persistent backend. */
function copy(e: RecordedEvent): RecordedEvent {
  return { ...e, data: structuredClone(e.data), metadata: structuredClone(e.metadata) };
}
