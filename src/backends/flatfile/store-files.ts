import fs from 'node:fs';
import path from 'node:path';
import { ErrorCode, FfcdbError, ioError } from '../../errors.js';
import { EPOCH_FILE, FEED_DIR, LOCK_DIR, LOCK_OWNER_FILE, LOCK_WAITING_FILE, STORE_FILE, STREAMS_DIR, SYNCED_FILE, isRealDirectory } from './layout.js';

/** The small files that describe the data folder itself: its format marker, the writer epoch and the synced position. */

const FORMAT = { format: 'flatfile-chat-db', version: 1 };

export function makeRoot(dir: string): string {
  try {
    fs.mkdirSync(dir, { recursive: true });
    return fs.realpathSync(dir);
  } catch (err) {
    throw ioError(err, dir, 'mkdir');
  }
}

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

/** Checks that the folder is a store of our format, or makes an empty folder one. Runs under the writer lock. */
export function claimStore(root: string): void {
  try {
    claimStoreFiles(root);
  } catch (err) {
    throw err instanceof FfcdbError ? err : ioError(err, root, 'open store');
  }
}

function claimStoreFiles(root: string): void {
  const marker = path.join(root, STORE_FILE);
  if (fs.existsSync(marker)) {
    let found: unknown;
    try {
      found = JSON.parse(fs.readFileSync(marker, 'utf8'));
    } catch {
      found = undefined;
    }
    const f = found as { format?: unknown; version?: unknown } | undefined;
    if (f?.format !== FORMAT.format || f.version !== FORMAT.version) {
      throw new FfcdbError(ErrorCode.UNSUPPORTED_FORMAT, `${marker} does not describe a flatfile-chat-db store of format version ${FORMAT.version}`, { file: marker });
    }
  } else {
    const others = fs.readdirSync(root).filter((n) => n !== LOCK_DIR && n !== LOCK_WAITING_FILE && n !== LOCK_OWNER_FILE);
    if (others.length > 0) {
      throw new FfcdbError(ErrorCode.UNSUPPORTED_FORMAT, `${root} is not empty and holds no ${STORE_FILE}: refusing to use it as a store`, { dir: root });
    }
    fs.writeFileSync(marker, `${JSON.stringify(FORMAT)}\n`);
  }
  for (const dir of [FEED_DIR, STREAMS_DIR]) {
    const p = path.join(root, dir);
    if (!isRealDirectory(p)) fs.mkdirSync(p);
  }
}

export function readSynced(root: string): number {
  try {
    const value = Number.parseInt(fs.readFileSync(path.join(root, SYNCED_FILE), 'utf8'), 10);
    return Number.isSafeInteger(value) && value > 0 ? value : 0;
  } catch {
    return 0;
  }
}

/** Replaced whole (write, fsync, rename): a torn or lost update only makes recovery check more. */
export function writeSynced(root: string, target: number): void {
  // Never lower: another process may have recorded more since we looked (a lower value only costs rechecking).
  replaceDurably(root, SYNCED_FILE, String(Math.max(target, readSynced(root))));
}

/** Each opening of the store for writing gets the next epoch; frames carry it so a file shows who wrote it. */
export function nextEpoch(root: string): number {
  const file = path.join(root, EPOCH_FILE);
  let current = 0;
  try {
    current = Number.parseInt(fs.readFileSync(file, 'utf8'), 10) || 0;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw ioError(err, file, 'read');
  }
  const next = (current + 1) % 0x1_0000_0000;
  replaceDurably(root, EPOCH_FILE, String(next));
  return next;
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
