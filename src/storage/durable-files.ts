import fs from 'node:fs';
import path from 'node:path';
import { ErrorCode, FfcdbError, ioError } from '../kernel/errors.js';

/** The durable file primitives every part of a store folder uses: fsynced replaces and folders, real directories. */

/** Test hooks: throwing from one simulates a failing disk for that file. */
export interface FaultInjection {
  write?(file: string): void;
  sync?(file: string): void;
}

export function makeRoot(dir: string): string {
  try {
    fs.mkdirSync(dir, { recursive: true });
    return fs.realpathSync(dir);
  } catch (err) {
    throw ioError(err, dir, 'mkdir');
  }
}

/** A folder's real path, for reading only: nothing is created (IO, errno ENOENT, when it is missing). */
export function existingRoot(dir: string): string {
  try {
    return fs.realpathSync(dir);
  } catch (err) {
    throw ioError(err, dir, 'realpath');
  }
}

/** Writes all of `bytes` at `position`: a write may take fewer bytes than asked (a full disk), and the rest must follow or fail. */
export function writeAllSync(fd: number, bytes: Uint8Array, position: number): void {
  for (let done = 0; done < bytes.length; ) done += fs.writeSync(fd, bytes, done, bytes.length - done, position + done);
}

/** Replaces a file of a folder whole: written aside, fsynced, renamed over, and the rename fsynced. */
export function replaceDurably(root: string, name: string, content: string | Uint8Array): void {
  const file = path.join(root, name);
  const tmp = `${file}.${process.pid}.tmp`;
  try {
    const fd = fs.openSync(tmp, 'w');
    try {
      fs.writeFileSync(fd, content);
      fs.fdatasyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    fs.renameSync(tmp, file);
    fsyncDirSync(root);
  } catch (err) {
    throw ioError(err, file, 'write');
  }
}

/** fsyncs a folder, so that entries created or renamed in it survive power loss. */
export function fsyncDirSync(dir: string): void {
  const fd = fs.openSync(dir, fs.constants.O_RDONLY | fs.constants.O_DIRECTORY);
  try {
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

/**
 * fsyncs directories so that new entries in them survive power loss. A directory that no longer exists
 * fails with IO, unless `gone(dir)` says it was removed on purpose (a purged stream's: its removal was
 * made durable by whoever removed it).
 */
export async function syncDirectories(dirs: Iterable<string>, faults?: FaultInjection, gone?: (dir: string) => boolean): Promise<void> {
  await Promise.all(
    [...dirs].map(
      (dir) =>
        new Promise<void>((resolve, reject) => {
          fs.open(dir, fs.constants.O_RDONLY | fs.constants.O_DIRECTORY, (err, fd) => {
            if (err) return err.code === 'ENOENT' && gone?.(dir) ? resolve() : reject(ioError(err, dir, 'open'));
            try {
              faults?.sync?.(dir);
            } catch (e) {
              fs.close(fd, () => reject(ioError(e, dir, 'fsync')));
              return;
            }
            fs.fsync(fd, (syncErr) => fs.close(fd, () => (syncErr ? reject(ioError(syncErr, dir, 'fsync')) : resolve())));
          });
        }),
    ),
  );
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
