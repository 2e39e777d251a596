import type { Worker } from 'node:worker_threads';
import { startWorker as startThread, fromWorker } from '../../kernel/worker-thread.js';
import { ErrorCode, FfcdbError } from '../../kernel/errors.js';
import type { SqlDialect, SqlDriver, SqlRow, SqlValue, TableDef } from '../driver.js';
import type { SqliteConnectOptions } from './connect.js';
import { DEFAULT_SQLITE_PREFIX, sqliteDialect } from './driver.js';
import type { WorkerAnswer, WorkerCall, WorkerReady } from './worker.js';

/**
 * SQLite on a worker thread. better-sqlite3 is synchronous: on the main
 * thread, SQLite's work and the migration's (reading the log, folding rows)
 * add up. Here the worker writes a batch while the main thread reads and
 * folds the next one. Calls go to the worker in order and run there in order,
 * so a transaction spans the calls made between begin and commit.
 */
export class ThreadedSqliteDriver implements SqlDriver {
  readonly dialect: SqlDialect;
  readonly description: string;
  readonly #worker: Worker;
  readonly #pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: unknown) => void }>();
  #next = 0;
  #exited: unknown;

  private constructor(worker: Worker, prefix: string, description: string) {
    this.#worker = worker;
    this.dialect = sqliteDialect(prefix);
    this.description = description;
    worker.on('message', (a: WorkerAnswer) => {
      const p = this.#pending.get(a.id);
      this.#pending.delete(a.id);
      if (a.ok) p?.resolve(a.value);
      else p?.reject(fromWorker(a.error));
    });
    const fail = (err: unknown) => {
      this.#exited = err;
      for (const p of this.#pending.values()) p.reject(err);
      this.#pending.clear();
    };
    worker.on('error', (err) => fail(new FfcdbError(ErrorCode.FAILED, `the SQLite worker failed: ${err.message}`, {}, { cause: err })));
    worker.on('exit', () => fail(new FfcdbError(ErrorCode.CLOSED, 'the SQLite connection is closed')));
  }

  /** Opens the file on a new worker thread (connect.ts, there); rejects with the worker's typed error. */
  static async open(file: string, options: SqliteConnectOptions = {}): Promise<ThreadedSqliteDriver> {
    const worker = startThread(import.meta.url, 'worker', { file, options });
    const ready = await new Promise<WorkerReady>((resolve, reject) => {
      worker.once('message', resolve);
      worker.once('error', reject);
    });
    if (!ready.ready) {
      await worker.terminate();
      throw fromWorker(ready.error);
    }
    return new ThreadedSqliteDriver(worker, options.prefix ?? DEFAULT_SQLITE_PREFIX, ready.description);
  }

  listTables(): Promise<string[]> {
    return this.#call('listTables');
  }

  ensureNamespace(): Promise<boolean> {
    return this.#call('ensureNamespace');
  }

  dropNamespace(): Promise<boolean> {
    return this.#call('dropNamespace');
  }

  exec(sql: string): Promise<void> {
    return this.#call('exec', sql);
  }

  query(sql: string, params: readonly SqlValue[] = []): Promise<SqlRow[]> {
    return this.#call('query', sql, params);
  }

  run(sql: string, params: readonly SqlValue[] = []): Promise<number> {
    return this.#call('run', sql, params);
  }

  /**
   * BEGIN goes out with the calls fn makes, unawaited: the worker runs them
   * back to back, whatever the main thread is doing meanwhile, and refuses the
   * rest of the transaction once one of them fails (worker.ts).
   */
  async transaction<T>(fn: () => Promise<T>, options: { readOnly?: boolean } = {}): Promise<T> {
    const begun = this.#call('begin', options.readOnly ?? false);
    try {
      const out = await fn();
      await begun;
      await this.#call('commit');
      return out;
    } catch (err) {
      begun.catch(() => undefined);
      await this.#call('rollback').catch(() => undefined);
      throw err;
    }
  }

  insert(table: TableDef, rows: readonly SqlValue[][]): Promise<void> {
    return rows.length === 0 ? Promise.resolve() : this.#call('insert', table, rows);
  }

  upsert(table: TableDef, rows: readonly SqlValue[][]): Promise<void> {
    return rows.length === 0 ? Promise.resolve() : this.#call('upsert', table, rows);
  }

  selectByKeys(table: TableDef, key: readonly string[], keys: readonly SqlValue[][], where?: string): Promise<SqlRow[]> {
    return keys.length === 0 ? Promise.resolve([]) : this.#call('selectByKeys', table, key, keys, where);
  }

  deleteByKeys(table: TableDef, key: readonly string[], keys: readonly SqlValue[][]): Promise<void> {
    return keys.length === 0 ? Promise.resolve() : this.#call('deleteByKeys', table, key, keys);
  }

  async close(): Promise<void> {
    if (this.#exited) return;
    await this.#call('close');
    await this.#worker.terminate();
  }

  #call<T>(op: WorkerCall['op'], ...args: unknown[]): Promise<T> {
    if (this.#exited) return Promise.reject(this.#exited);
    const id = this.#next++;
    return new Promise<T>((resolve, reject) => {
      this.#pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
      this.#worker.postMessage({ id, op, args } satisfies WorkerCall);
    });
  }
}
