import fs from 'node:fs';
import path from 'node:path';
import { ErrorCode, FfcdbError, ioError } from '../../kernel/errors.js';
import { EPOCH_FILE, FEED_DIR, LOCK_DIR, LOCK_OWNER_FILE, LOCK_WAITING_FILE, STORE_FILE, STREAMS_DIR, SYNCED_FILE, assertStore } from '../../storage/store-folder.js';
import { existingRoot, isRealDirectory, replaceDurably } from '../../storage/durable-files.js';

/** The small files that describe the data folder itself: its format marker, the writer epoch and the synced position. */

const FORMAT = { format: 'flatfile-chat-db', version: 1 };

/** Checks that the folder is a store of our format, or makes an empty folder one. Runs under the writer lock. */
export function claimStore(root: string): void {
  try {
    claimStoreFiles(root);
  } catch (err) {
    throw err instanceof FfcdbError ? err : ioError(err, root, 'open store');
  }
}

/**
 * A read-only opening: `dir` must hold a store of our format already; nothing is created or changed.
 * Returns the folder's real path. NOT_FOUND (details.dir) when it holds no store.
 */
export function checkStore(dir: string): string {
  assertStore(path.resolve(dir));
  const root = existingRoot(dir);
  try {
    checkMarker(path.join(root, STORE_FILE));
  } catch (err) {
    throw err instanceof FfcdbError ? err : ioError(err, root, 'open store');
  }
  return root;
}

/** The marker's text, undefined when there is none. Read, not existsSync (which says false for a marker it failed to look at): one that cannot be read is IO. */
function readMarker(marker: string): string | undefined {
  try {
    return fs.readFileSync(marker, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw ioError(err, marker, 'read');
  }
}

/** UNSUPPORTED_FORMAT unless the marker's text (undefined: none) describes a store of our format. */
function checkMarker(marker: string, text = readMarker(marker)): void {
  let found: unknown;
  try {
    found = text === undefined ? undefined : JSON.parse(text);
  } catch {
    found = undefined;
  }
  const f = found as { format?: unknown; version?: unknown } | undefined;
  if (f?.format !== FORMAT.format || f.version !== FORMAT.version) {
    throw new FfcdbError(ErrorCode.UNSUPPORTED_FORMAT, `${marker} does not describe a flatfile-chat-db store of format version ${FORMAT.version}`, { file: marker });
  }
}

function claimStoreFiles(root: string): void {
  const marker = path.join(root, STORE_FILE);
  const text = readMarker(marker);
  if (text !== undefined) {
    checkMarker(marker, text);
  } else {
    // A marker's temporary file (a crash while the store was being made) does not make the folder another's.
    const others = fs.readdirSync(root).filter((n) => n !== LOCK_DIR && n !== LOCK_WAITING_FILE && n !== LOCK_OWNER_FILE && !(n.startsWith(`${STORE_FILE}.`) && n.endsWith('.tmp')));
    if (others.length > 0) {
      throw new FfcdbError(ErrorCode.UNSUPPORTED_FORMAT, `${root} is not empty and holds no ${STORE_FILE}: refusing to use it as a store`, { dir: root });
    }
    // Durably: a marker torn by power loss would make the store refuse to open (UNSUPPORTED_FORMAT).
    replaceDurably(root, STORE_FILE, `${JSON.stringify(FORMAT)}\n`);
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


