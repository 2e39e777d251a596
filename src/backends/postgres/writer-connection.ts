import type { PgPool, PgPoolClient, PgQuery } from '../../sql/postgres/pool.js';

interface Writer {
  client: PgPoolClient;
  onError(err: Error): void;
}

/** The connection appends and purges run on, one statement at a time, checked out of the pool when first needed. */
export class WriterConnection {
  readonly #pool: PgPool;
  #writer: Writer | undefined;

  constructor(pool: PgPool) {
    this.#pool = pool;
  }

  /** Runs a statement on the writer connection; a failure may have broken it, so it is not reused. */
  async query<R>(query: PgQuery): Promise<R[]> {
    const writer = this.#writer ?? (await this.#checkOutWriter());
    try {
      return (await writer.client.query<R>(query)).rows;
    } catch (err) {
      this.#dropWriter(writer, err instanceof Error ? err : true);
      throw err;
    }
  }

  /** Gives the connection (if one is checked out) back to the pool. */
  release(): void {
    if (this.#writer) this.#dropWriter(this.#writer);
  }

  async #checkOutWriter(): Promise<Writer> {
    const client = await this.#pool.connect();
    // A connection that breaks while idle says so here; the next write takes a new one.
    const writer: Writer = { client, onError: (err) => this.#dropWriter(writer, err) };
    client.on('error', writer.onError);
    this.#writer = writer;
    return writer;
  }

  /** Gives the writer connection back to the pool; with an error, the pool closes it. */
  #dropWriter(writer: Writer, err?: Error | boolean): void {
    if (this.#writer !== writer) return;
    this.#writer = undefined;
    writer.client.removeListener('error', writer.onError);
    writer.client.release(err);
  }
}
