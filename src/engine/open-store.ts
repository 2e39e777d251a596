import path from 'node:path';
import type { StorageBackend } from '../backends/backend.js';
import { FlatfileBackend, type FlatfileOptions } from '../backends/flatfile/flatfile-backend.js';
import { assertStore } from '../storage/store-folder.js';
import { FileBlobStore } from '../blobs/file-blob-store.js';
import { EventStore } from './event-store.js';

/** A store folder to open: the flatfile backend's options, and whether a folder without a store may be made one. */
export type StoreFolderOptions = FlatfileOptions & {
  /** false: open an existing store only, failing with NOT_FOUND (details.dir) and creating nothing when `dir` holds none. Default true. */
  create?: boolean;
};

export type OpenStoreOptions = StoreFolderOptions | { backend: StorageBackend };

/** Opens a store: the flatfile backend in `dir` by default, or any backend given. */
export async function openStore(options: OpenStoreOptions): Promise<EventStore> {
  return EventStore.open('backend' in options ? options.backend : flatfileBackend(options));
}

/**
 * The flatfile backend of a store folder, after checking that the folder holds a store when `create` is false
 * (`readOnly` implies it: a read-only opening never makes a store).
 */
export function flatfileBackend(options: StoreFolderOptions): FlatfileBackend {
  const { create, ...flatfile } = options;
  if ((create === false || flatfile.readOnly === true) && typeof flatfile.dir === 'string' && flatfile.dir !== '') assertStore(path.resolve(flatfile.dir));
  return new FlatfileBackend(flatfile);
}

/** The engine and blob store of a store folder, without the projections: what an export (read-only) or an import works on. */
export async function openFolderParts(options: StoreFolderOptions): Promise<{ events: EventStore; blobs: FileBlobStore; close(): Promise<void> }> {
  const events = await EventStore.open(flatfileBackend(options));
  try {
    const blobs = new FileBlobStore(path.resolve(options.dir), { readOnly: events.readOnly });
    return {
      events,
      blobs,
      close: async () => {
        try {
          await blobs.close();
        } finally {
          await events.close();
        }
      },
    };
  } catch (err) {
    await events.close();
    throw err;
  }
}
