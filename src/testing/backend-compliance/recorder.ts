import assert from 'node:assert/strict';
import type { Observable, Subscription } from 'rxjs';
import type { AppendResult, RecordedEvent } from '../../kernel/types.js';
import { SENTINEL } from './helpers.js';

/** Records what a subscription delivers, and waits for it with a timeout. */
export class Recorder {
  readonly events: RecordedEvent[] = [];
  error: unknown;
  completed = false;
  readonly #sub: Subscription;
  readonly #timeoutMs: number;
  readonly #waiters = new Set<() => void>();

  constructor(events$: Observable<RecordedEvent>, timeoutMs: number) {
    this.#timeoutMs = timeoutMs;
    this.#sub = events$.subscribe({
      next: (e) => {
        this.events.push(e);
        this.#wake();
      },
      error: (err) => {
        this.error = err;
        this.#wake();
      },
      complete: () => {
        this.completed = true;
        this.#wake();
      },
    });
  }

  unsubscribe(): void {
    this.#sub.unsubscribe();
  }

  waitUntil(cond: () => boolean, what: string): Promise<void> {
    return new Promise((resolve, reject) => {
      const finish = (err?: unknown) => {
        clearTimeout(timer);
        this.#waiters.delete(check);
        if (err === undefined) resolve();
        else reject(err);
      };
      const got = () => `${this.events.length} events (${this.events.slice(-5).map((e) => `${e.streamId}@${e.version}/#${e.position}`).join(', ')})`;
      const check = () => {
        if (cond()) finish();
        else if (this.error !== undefined) finish(this.error);
        else if (this.completed) finish(new Error(`the subscription completed before ${what}; got ${got()}`));
      };
      const timer = setTimeout(() => finish(new Error(`timed out after ${this.#timeoutMs} ms waiting for ${what}; got ${got()}`)), this.#timeoutMs);
      this.#waiters.add(check);
      check();
    });
  }

  count(n: number): Promise<void> {
    return this.waitUntil(() => this.events.length >= n, `${n} events`);
  }

  /**
   * Appends a sentinel event and waits for it. Delivery is ordered, so once the
   * sentinel arrives, anything else still on its way would have come before it:
   * the events recorded before the sentinel are all there will be (no late
   * duplicates), and the sentinel must be the last one.
   */
  async sentinel(append: () => Promise<AppendResult>): Promise<void> {
    await append();
    await this.waitUntil(() => this.events.some((e) => e.type === SENTINEL.type), 'the sentinel event');
    assert.equal(this.events.at(-1)!.type, SENTINEL.type, 'nothing arrives after the sentinel');
    assert.equal(this.events.filter((e) => e.type === SENTINEL.type).length, 1, 'the sentinel arrives once');
  }

  #wake(): void {
    for (const check of [...this.#waiters]) check();
  }
}

