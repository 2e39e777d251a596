import type { Lru } from '../lru.js';

/**
 * What the migration knows of one kind of row beyond what the database has
 * committed: the rows of batches folded but not yet committed (the next batch
 * is folded while the last one is written, so it must not read those rows
 * back from the database), then, for the kinds that keep being touched, an LRU
 * of rows committed.
 */
export class Known<R> {
  readonly #inFlight = new Map<string, { row: R; batch: number }>();
  readonly #committed: Lru<string, R> | undefined;

  constructor(committed?: Lru<string, R>) {
    this.#committed = committed;
  }

  get(key: string): R | undefined {
    return this.#inFlight.get(key)?.row ?? this.#committed?.get(key);
  }

  touched(key: string, row: R, batch: number): void {
    this.#inFlight.set(key, { row, batch });
  }

  /** Batches up to `batch` are in the database: their rows move to the LRU (or are forgotten). */
  committed(batch: number): void {
    for (const [key, entry] of this.#inFlight) {
      if (entry.batch > batch) continue;
      this.#inFlight.delete(key);
      this.#committed?.set(key, entry.row);
    }
  }

  delete(key: string): void {
    this.#inFlight.delete(key);
    this.#committed?.delete(key);
  }

  clear(): void {
    this.#inFlight.clear();
    this.#committed?.clear();
  }
}
