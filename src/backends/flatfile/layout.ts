import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { ErrorCode, FfcdbError, ioError } from '../../errors.js';
import { assertStreamId } from '../../engine/validation.js';

/**
 * Where everything lives in a store folder (the one module that names its parts):
 *
 *   ffcdb.json                       marks the folder as a store, names the format version (store-files.ts)
 *   epoch                            last writer epoch handed out (decimal)
 *   synced                           a global position through which every event is known to be on disk (decimal)
 *   writer.lock/                     proper-lockfile's lock directory
 *   writer.waiting                   touched by processes waiting for the lock, so a busy holder hands it over
 *   writer.owner                     a token the lock's current holder wrote, so a writer can tell it still holds it
 *   purged                           tombstones of purged streams, one frame each (see tombstones.ts)
 *   feed/<first position>.feed       global feed segments, 16-digit zero-padded names
 *   journal/<epoch>-<pid>.journal    a writer's commit journal (durability 'always')
 *   streams/ab/cd/<stream id>/<first version>.seg
 *   blobs/                           the chat store's blobs (src/blobs/file-blob-store.ts)
 *   projections/<name>.snapshot      the chat store's projection snapshots (src/projections/file-snapshot-store.ts)
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
export const SEGMENT_SUFFIX = '.seg';
export const FEED_SUFFIX = '.feed';
const SEGMENT_NAME = /^(\d{16})\.(seg|feed)$/;

export class Layout {
  readonly root: string;

  constructor(root: string) {
    this.root = root;
  }

  streamDir(streamId: string): string {
    assertStreamId(streamId);
    const h = createHash('sha256').update(streamId).digest('hex');
    return this.inside(path.join(this.root, STREAMS_DIR, h.slice(0, 2), h.slice(2, 4), streamId));
  }

  segmentPath(streamDir: string, firstVersion: number): string {
    return path.join(streamDir, segmentName(firstVersion, SEGMENT_SUFFIX));
  }

  feedDir(): string {
    return path.join(this.root, FEED_DIR);
  }

  feedSegmentPath(firstPosition: number): string {
    return path.join(this.root, FEED_DIR, segmentName(firstPosition, FEED_SUFFIX));
  }

  /** The resolved path must stay inside the data folder, whatever the id held. */
  inside(p: string): string {
    const resolved = path.resolve(p);
    if (resolved !== this.root && !resolved.startsWith(this.root + path.sep)) {
      throw new FfcdbError(ErrorCode.UNSAFE_PATH, `path ${resolved} is outside the data folder ${this.root}`, { path: resolved });
    }
    return resolved;
  }
}

export function segmentName(first: number, suffix: string): string {
  return `${String(first).padStart(16, '0')}${suffix}`;
}

/**
 * Lists the segments of a folder, sorted by their first version/position.
 * Symlinks and anything that is not a regular file are refused: the data
 * folder holds only what the store wrote.
 */
export function listSegments(dir: string, suffix: string): number[] {
  let entries: fs.Dirent[];
  try {
    entries = fs.readdirSync(dir, { withFileTypes: true });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw ioError(err, dir, 'readdir');
  }
  const out: number[] = [];
  for (const e of entries) {
    const m = SEGMENT_NAME.exec(e.name);
    if (!m || `.${m[2]}` !== suffix) continue;
    if (!e.isFile()) {
      throw new FfcdbError(ErrorCode.UNSAFE_PATH, `${path.join(dir, e.name)} is not a regular file (symlinks and special files are refused)`, {
        path: path.join(dir, e.name),
      });
    }
    out.push(Number(m[1]));
  }
  return out.sort((a, b) => a - b);
}

/** Checks that an existing path is a real directory, not a symlink to one. Returns false when it does not exist. */
export function isRealDirectory(p: string): boolean {
  let st: fs.Stats;
  try {
    st = fs.lstatSync(p);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw ioError(err, p, 'lstat');
  }
  if (!st.isDirectory()) {
    throw new FfcdbError(ErrorCode.UNSAFE_PATH, `${p} is not a directory (symlinks and special files are refused)`, { path: p });
  }
  return true;
}
