import fs from 'node:fs';
import fsp, { type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { isRealDirectory } from '../storage/durable-files.js';
import { ErrorCode, FfcdbError, ioError } from '../kernel/errors.js';
import { blobNotFound } from './blob-store.js';

/** File access under blobs/: real folders and regular files only, never a symlink or special file in their place. */

const SHARD_NAME = /^[0-9a-f]{2}$/;
const READ_CHUNK = 256 * 1024;
const READ_FLAGS = fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW | fs.constants.O_NONBLOCK;

/** Opens a blob's file for reading; NOT_FOUND when missing. */
export async function openBlobFile(file: string, sha256: string): Promise<{ fh: FileHandle; file: string; size: number }> {
  let fh: FileHandle;
  try {
    // O_NOFOLLOW refuses a symlink; O_NONBLOCK keeps a planted FIFO from hanging the open.
    fh = await fsp.open(file, READ_FLAGS);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw blobNotFound(sha256);
    if (code === 'ELOOP') throw unsafePath(file);
    throw ioError(err, file, 'open');
  }
  try {
    const st = await fh.stat();
    if (!st.isFile()) throw unsafePath(file);
    return { fh, file, size: st.size };
  } catch (err) {
    await fh.close().catch(() => undefined);
    throw err instanceof FfcdbError ? err : ioError(err, file, 'fstat');
  }
}

/** Bytes [start, end) of an open blob, READ_CHUNK at a time; closes the file when done or destroyed. */
export async function* readRange(fh: FileHandle, blob: { sha256: string; file: string }, start: number, end: number): AsyncGenerator<Buffer> {
  const { sha256, file } = blob;
  try {
    for (let pos = start; pos < end; ) {
      const buf = Buffer.allocUnsafe(Math.min(READ_CHUNK, end - pos));
      let n: number;
      try {
        ({ bytesRead: n } = await fh.read(buf, 0, buf.length, pos));
      } catch (err) {
        throw ioError(err, file, 'read');
      }
      if (n === 0) {
        throw new FfcdbError(ErrorCode.CORRUPT, `blob ${sha256} (${file}) ended at byte ${pos}, short of the ${end} bytes asked for: it shrank while being read`, { sha256, file, offset: pos });
      }
      pos += n;
      yield n === buf.length ? buf : buf.subarray(0, n);
    }
  } finally {
    await fh.close().catch(() => undefined);
  }
}

/** Creates a folder unless it is there; a symlink or file in its place is refused. */
export function ensureRealDir(dir: string): void {
  if (isRealDirectory(dir)) return;
  try {
    fs.mkdirSync(dir);
  } catch (err) {
    // EEXIST: another process made it meanwhile.
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST' || !isRealDirectory(dir)) throw ioError(err, dir, 'mkdir');
  }
}

/** The two-hex-digit shard folders in a folder, sorted; a symlink or file under such a name is refused. */
export async function shardsOf(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdirSorted(dir)) {
    if (!SHARD_NAME.test(entry.name)) continue;
    if (!entry.isDirectory()) throw unsafePath(path.join(dir, entry.name));
    out.push(entry.name);
  }
  return out;
}

export async function readdirSorted(dir: string): Promise<fs.Dirent[]> {
  try {
    return (await fsp.readdir(dir, { withFileTypes: true })).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  } catch (err) {
    throw ioError(err, dir, 'readdir');
  }
}

export function unsafePath(p: string): FfcdbError {
  return new FfcdbError(ErrorCode.UNSAFE_PATH, `${p} is not a regular file or folder (symlinks and special files are refused)`, { path: p });
}
