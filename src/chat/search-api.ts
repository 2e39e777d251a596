import path from 'node:path';
import { FileBlobStore } from '../blobs/file-blob-store.js';
import { type SearchOptions, type SearchPage, runQuery } from '../search/query.js';
import { SearchIndex } from '../search/search-index.js';
import { type ChatCore, type ReadOptions, assertOptions } from './chat-core.js';

export type ChatSearchOptions = SearchOptions & ReadOptions;
export type ChatSearchPage = SearchPage & { position: number };
export type ChatSearch = (userId: string, query: string, options?: ChatSearchOptions) => Promise<ChatSearchPage>;

/**
 * `chat.search`: full-text search over one user's messages, sessions,
 * documents and contexts. The index is opened on the first search (a store
 * that never searches pays nothing) in `<store>/search/` beside the blobs, or
 * in memory for a store without a folder, and is brought up to the position
 * the projections reflect before each query, so a search sees every write
 * that resolved before it (and, with `waitFor`, another process's). Writes
 * since the last segment was written are indexed again from the log on the
 * next open.
 */
export function createSearch(core: () => ChatCore): ChatSearch {
  let index: Promise<SearchIndex> | undefined;
  const open = (c: ChatCore) => {
    const dir = c.blobs instanceof FileBlobStore ? path.join(path.dirname(c.blobs.dir), 'search') : undefined;
    index ??= SearchIndex.open(c.events, dir === undefined ? {} : { dir }).then(
      (idx) => {
        // The engine's monitor completes when the store closes: the segment files close with it.
        c.events.monitor$.subscribe({ complete: () => void idx.close() });
        return idx;
      },
      (err: unknown) => {
        index = undefined;
        throw err;
      },
    );
    return index;
  };
  return async (userId, query, options = {}) => {
    assertOptions(options);
    const { waitFor, ...searchOptions } = options;
    const c = core();
    const position = await c.reflect(waitFor === undefined ? {} : { waitFor });
    const idx = await open(c);
    await idx.catchUp(position);
    return { ...runQuery(idx, userId, query, searchOptions), position };
  };
}
