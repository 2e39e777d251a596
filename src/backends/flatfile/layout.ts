import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { ErrorCode, FfcdbError, ioError } from '../../kernel/errors.js';
import { assertStreamId } from '../../kernel/validation.js';
import { fileNameOf, legacyFileNameOf } from '../../storage/file-names.js';
import { FEED_DIR, STREAMS_DIR } from '../../storage/store-folder.js';

/**
 * The event log's paths inside a store folder (whose parts storage/store-folder.ts names):
 * stream segments under sharded folders, feed segments, and their file names.
 */

export const SEGMENT_SUFFIX = '.seg';
export const FEED_SUFFIX = '.feed';
const SEGMENT_NAME = /^(\d{16})\.(seg|feed)$/;

export class Layout {
  readonly root: string;

  constructor(root: string) {
    this.root = root;
  }

  /** `streams/ab/cd/<name>`: `ab/cd` from sha256(stream id), the name from the one id encoding (storage/file-names.ts). */
  streamDir(streamId: string): string {
    const shard = this.#shard(streamId);
    const legacy = legacyFileNameOf(streamId);
    const name = legacy !== undefined && namesIn(shard).includes(legacy) ? legacy : fileNameOf(streamId);
    return this.inside(path.join(shard, name));
  }

  /** Whether `dir` is (or was, before a purge deleted it) the stream's folder: no file system access. */
  isStreamDir(dir: string, streamId: string): boolean {
    const shard = this.#shard(streamId);
    return path.dirname(dir) === shard && [fileNameOf(streamId), legacyFileNameOf(streamId)].includes(path.basename(dir));
  }

  #shard(streamId: string): string {
    assertStreamId(streamId);
    const h = createHash('sha256').update(streamId).digest('hex');
    return path.join(this.root, STREAMS_DIR, h.slice(0, 2), h.slice(2, 4));
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

/** The names in a folder, exactly as stored (a case-insensitive file system answers a lookup of `con` with `CON`); none when it does not exist. */
function namesIn(dir: string): string[] {
  try {
    return fs.readdirSync(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw ioError(err, dir, 'readdir');
  }
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

