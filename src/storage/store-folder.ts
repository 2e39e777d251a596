import fs from 'node:fs';
import path from 'node:path';
import { ErrorCode, FfcdbError, ioError } from '../kernel/errors.js';

/**
 * Where everything lives in a store folder (the one module that names its parts):
 *
 *   ffcdb.json                       marks the folder as a store, names the format version (claimed by the flatfile backend: backends/flatfile/store-files.ts)
 *   epoch                            last writer epoch handed out (decimal)
 *   synced                           a global position through which every event is known to be on disk (decimal)
 *   writer.lock/                     proper-lockfile's lock directory
 *   writer.waiting                   touched by processes waiting for the lock, so a busy holder hands it over
 *   writer.owner                     a token the lock's current holder wrote, so a writer can tell it still holds it
 *   purged                           tombstones of purged streams, one frame each (see backends/flatfile/tombstones.ts)
 *   feed/<first position>.feed       global feed segments, 16-digit zero-padded names
 *   journal/<epoch>-<pid>.journal    a writer's commit journal (durability 'always')
 *   streams/ab/cd/<name>/<first version>.seg   <name> from the stream id (storage/file-names.ts)
 *   blobs/                           the chat store's blobs (src/blobs/file-blob-store.ts)
 *   projections/<name>.snapshot      the chat store's projection snapshots (src/projector/file-snapshot-store.ts)
 *   search/                          the chat store's full-text index (src/search/)
 *
 * The first part is the flatfile backend's event log, which alone makes a
 * store (`openStore`); the last three belong to the chat store (`openChatStore`).
 *
 * `ab/cd` are the first four hex digits of sha256(stream id): 65,536 leaf
 * folders, so 1,000,000 sessions put about 15 entries in each.
 */
export const STORE_FILE = 'ffcdb.json';
export const EPOCH_FILE = 'epoch';
export const SYNCED_FILE = 'synced';
export const LOCK_DIR = 'writer.lock';
export const LOCK_WAITING_FILE = 'writer.waiting';
export const LOCK_OWNER_FILE = 'writer.owner';
export const PURGED_FILE = 'purged';
export const FEED_DIR = 'feed';
export const JOURNAL_DIR = 'journal';
export const STREAMS_DIR = 'streams';
export const BLOBS_DIR = 'blobs';
export const PROJECTIONS_DIR = 'projections';
export const SEARCH_DIR = 'search';

/** Whether `dir` holds a store (its ffcdb.json marker); whether the store is of a format this version reads is checked on open. */
export function isStore(dir: string): boolean {
  try {
    return fs.lstatSync(path.join(dir, STORE_FILE)).isFile();
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return false;
    throw ioError(err, dir, 'lstat');
  }
}

/** Refuses a folder that holds no store, so that opening an existing store never makes an empty one. */
export function assertStore(dir: string): void {
  if (!isStore(dir)) throw new FfcdbError(ErrorCode.NOT_FOUND, `${dir} holds no store`, { dir });
}
