import type { CommitListener } from './backend.js';

/**
 * The listeners of a backend's `onCommit`. `first` runs when the set gains its
 * first listener and `last` when it loses its last one, so a backend follows
 * other processes' commits (polls, LISTENs) only while someone listens.
 */
export class CommitListeners {
  readonly #listeners = new Set<CommitListener>();
  readonly #first: () => void;
  readonly #last: () => void;
  #closed = false;

  constructor(hooks: { first?: () => void; last?: () => void } = {}) {
    this.#first = hooks.first ?? (() => {});
    this.#last = hooks.last ?? (() => {});
  }

  add(listener: CommitListener): () => void {
    if (this.#closed) {
      listener.end();
      return () => {};
    }
    // The same listener added twice is two registrations, as two subscriptions would be.
    const entry: CommitListener = { commit: (head) => listener.commit(head), end: (error) => listener.end(error) };
    this.#listeners.add(entry);
    if (this.#listeners.size === 1) this.#first();
    return () => this.#remove(entry);
  }

  commit(head: number): void {
    for (const l of [...this.#listeners]) if (this.#listeners.has(l)) l.commit(head);
  }

  /** Ends the current listeners with the error; later ones are added as usual. */
  fail(error: unknown): void {
    this.#endAll(error);
  }

  /** Ends every listener, and any added later at once. */
  close(): void {
    this.#closed = true;
    this.#endAll(undefined);
  }

  #endAll(error: unknown): void {
    const ending = [...this.#listeners];
    if (ending.length === 0) return;
    this.#listeners.clear();
    this.#last();
    for (const l of ending) l.end(error);
  }

  #remove(entry: CommitListener): void {
    if (this.#listeners.delete(entry) && this.#listeners.size === 0) this.#last();
  }
}
