import type { PgNotification, PgPool, PgPoolClient } from '../../sql/postgres/pool.js';

const FIRST_RETRY_MS = 50;
const MAX_RETRY_MS = 2000;

export interface CommitListenerOptions {
  pool: PgPool;
  /** The LISTEN statement (the channel's name quoted). */
  listen: string;
  channel: string;
  /** A head position another process (or this one) committed. */
  onHead(head: number): void;
  /** The current head, read after a reconnect: NOTIFYs sent while nobody listened are gone. */
  readHead(): Promise<number>;
  /** The connection broke; it is being re-established. */
  onLost(err: Error): void;
}

/**
 * LISTENs on a connection of its own for the heads that `append_events`
 * NOTIFYs at commit. Connects when made, and again whenever the connection
 * breaks; after each connect it reports the current head, since NOTIFYs sent
 * while nobody listened are gone.
 */
export class CommitListener {
  readonly #o: CommitListenerOptions;
  #client: PgPoolClient | undefined;
  #retryMs = FIRST_RETRY_MS;
  #timer: NodeJS.Timeout | undefined;
  /** A failure was reported and no connect has succeeded since: do not report every retry. */
  #failing = false;
  #closed = false;

  constructor(options: CommitListenerOptions) {
    this.#o = options;
    this.#attempt();
  }

  async close(): Promise<void> {
    this.#closed = true;
    clearTimeout(this.#timer);
    const client = this.#client;
    this.#client = undefined;
    if (client) discard(client);
  }

  #attempt(): void {
    this.#connect()
      .then(async () => {
        this.#retryMs = FIRST_RETRY_MS;
        this.#failing = false;
        this.#o.onHead(await this.#o.readHead());
      })
      .catch((err: unknown) => {
        // A head that cannot be read on a fresh connection is read again with the next commit.
        if (this.#closed || this.#client) return;
        if (!this.#failing) this.#o.onLost(err instanceof Error ? err : new Error(String(err)));
        this.#failing = true;
        this.#retry();
      });
  }

  async #connect(): Promise<void> {
    const client = await this.#o.pool.connect();
    client.on('notification', (m: PgNotification) => {
      const head = Number(m.payload);
      if (m.channel === this.#o.channel && Number.isSafeInteger(head)) this.#o.onHead(head);
    });
    client.on('error', (err: Error) => this.#lost(client, err));
    client.on('end', () => this.#lost(client, new Error('the connection ended')));
    try {
      await client.query(this.#o.listen);
    } catch (err) {
      discard(client);
      throw err;
    }
    if (this.#closed) discard(client);
    else this.#client = client;
  }

  #lost(client: PgPoolClient, err: Error): void {
    if (this.#client !== client) return;
    this.#client = undefined;
    discard(client);
    this.#o.onLost(err);
    this.#retry();
  }

  #retry(): void {
    if (this.#closed) return;
    this.#timer = setTimeout(() => this.#attempt(), this.#retryMs);
    this.#retryMs = Math.min(this.#retryMs * 2, MAX_RETRY_MS);
  }
}

/** A LISTENing connection never goes back to the pool: release it as broken, and ignore what it says while it closes. */
function discard(client: PgPoolClient): void {
  client.removeAllListeners();
  client.on('error', () => undefined);
  client.release(true);
}
