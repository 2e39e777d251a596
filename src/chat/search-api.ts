import fs from 'node:fs';
import path from 'node:path';
import { SEARCH_DIR } from '../storage/store-folder.js';
import { FileBlobStore } from '../blobs/file-blob-store.js';
import { type SearchPage, runQuery } from '../search/query.js';
import type { SearchOptions } from '../search/query-options.js';
import { SearchIndex } from '../search/search-index.js';
import { type ChatCore, type ReadOptions, assertOptions } from './chat-core.js';
import { assertInert } from '../kernel/validation.js';
import { asIoError } from '../kernel/errors.js';

export type ChatSearchOptions = SearchOptions & ReadOptions;
export type ChatSearchPage = SearchPage & { position: number };
export type ChatSearch = (userId: string, query: string, options?: ChatSearchOptions) => Promise<ChatSearchPage>;

/**
 * When the search index indexes writes: 'on-search' (default) when a search
 * needs them, so a store that never searches pays nothing and writes pay no
 * indexing; 'on-write' as each write resolves, so searches find the index
 * current and the cost is spread over the writes.
 */
export type SearchIndexing = 'on-search' | 'on-write';

/**
 * `chat.search`: full-text search over one user's messages, sessions,
 * documents and contexts. The index is opened on the first search (or when
 * the store opens, 'on-write') in `<store>/search/` beside the blobs, or in
 * memory for a store without a folder, and is brought up to the position the
 * projections reflect before each query, so a search sees every write that
 * resolved before it (and, with `waitFor`, another process's). Writes since
 * the last segment was written are indexed again from the log on the next
 * open.
 */
export class SearchService {
  readonly #core: () => ChatCore;
  #index: Promise<SearchIndex> | undefined;
  /** What indexing a write failed with, thrown by the next search. */
  #writeError: unknown;

  constructor(core: () => ChatCore) {
    this.#core = core;
  }

  readonly search: ChatSearch = async (userId, query, options = {}) => {
    assertOptions(options);
    // The query reads into the options' objects (entity, role, kinds): those must not run the caller's code either.
    for (const [key, value] of Object.entries(options)) assertInert(value, `options.${key}`);
    const failed = this.#writeError;
    if (failed !== undefined) {
      this.#writeError = undefined;
      throw failed;
    }
    const { waitFor, ...searchOptions } = options;
    const c = this.#core();
    const position = await c.reflect(waitFor === undefined ? {} : { waitFor });
    try {
      const idx = await this.open();
      await idx.catchUp(position);
      return { ...runQuery(idx, userId, query, searchOptions), position };
    } catch (err) {
      throw this.#ioError(err);
    }
  };

  /**
   * After a purge: the index catches up, which rewrites its files without the
   * session. An index this process has not opened is opened if it has files.
   */
  async afterPurge(): Promise<void> {
    const dir = this.#dir();
    if (this.#index === undefined && (dir === undefined || !fs.existsSync(dir))) return;
    try {
      await (await this.open()).catchUp();
    } catch (err) {
      throw this.#ioError(err);
    }
  }

  /**
   * Indexes a write that is in the log ('on-write'). A failure does not fail
   * the write (it is done): the next search reports it.
   */
  async indexWrite(position: number): Promise<void> {
    try {
      await (await this.open()).catchUp(position);
    } catch (err) {
      this.#writeError = err;
    }
  }

  open(): Promise<SearchIndex> {
    const dir = this.#dir();
    const events = this.#core().events;
    // A read-only store reads the index's files and indexes what they lack in memory only.
    this.#index ??= SearchIndex.open(events, dir === undefined ? {} : { dir, readOnly: events.readOnly }).catch((err: unknown) => {
      this.#index = undefined;
      throw err;
    });
    return this.#index;
  }

  /** `<store>/search`, beside the blobs; undefined for a store without a folder. */
  #dir(): string | undefined {
    const blobs = this.#core().blobs;
    return blobs instanceof FileBlobStore ? path.join(path.dirname(blobs.dir), SEARCH_DIR) : undefined;
  }

  /** Writes out what the index holds only in memory and closes it (if it was opened). */
  async close(): Promise<void> {
    const index = this.#index;
    if (index === undefined) return;
    try {
      await (await index.catch(() => undefined))?.close();
    } catch (err) {
      throw this.#ioError(err);
    }
  }

  /** The index's files failing: a system error as IO (the search modules read and write with plain fs calls). */
  #ioError(err: unknown): unknown {
    return asIoError(err, this.#dir() ?? '', 'search');
  }
}
