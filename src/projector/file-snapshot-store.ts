import fs from 'node:fs';
import path from 'node:path';
import { compressSync, uncompressSync } from 'lz4-napi';
import { Packr } from 'msgpackr';
import { ErrorCode, FfcdbError, ioError, readOnlyError } from '../kernel/errors.js';
import { PROJECTIONS_DIR } from '../storage/store-folder.js';
import { isRealDirectory } from '../storage/durable-files.js';
import { fsyncDirSync } from '../storage/durable-files.js';
import { readChecksummedFile, writeChecksummedFile } from '../storage/checksummed-file.js';
import type { ProjectionSnapshot, SnapshotStore } from './snapshot-store.js';

/**
 * Snapshot files: `<root>/projections/<name>.snapshot`, checksummed files
 * ("FFPS", format 1) whose payload is the lz4-compressed structured-clone
 * msgpack of the snapshot (Maps and Sets survive).
 */
const KIND = { magic: 0x46465053, format: 1 };
const NAME = /^[a-z][a-z0-9-]{0,63}$/;
const packr = new Packr({ structuredClone: true });

export class FileSnapshotStore implements SnapshotStore {
  readonly #dir: string;
  readonly #readOnly: boolean;

  /** `readOnly` (a read-only store): snapshots are loaded, the folder is not made, and `save` fails with READ_ONLY. */
  constructor(root: string, options: { readOnly?: boolean } = {}) {
    this.#dir = path.join(root, PROJECTIONS_DIR);
    this.#readOnly = options.readOnly === true;
    if (this.#readOnly) return;
    try {
      if (!isRealDirectory(this.#dir)) {
        fs.mkdirSync(this.#dir);
        // Else power loss may take the folder, and the snapshots saved in it, with it.
        fsyncDirSync(root);
      }
    } catch (err) {
      throw ioError(err, this.#dir, 'mkdir');
    }
  }

  async load(name: string): Promise<ProjectionSnapshot | undefined> {
    // A damaged snapshot costs a rebuild, never a wrong state.
    const read = readChecksummedFile(this.#file(name), KIND);
    if (!read.ok) return undefined;
    const snapshot: unknown = packr.unpack(uncompressSync(read.payload));
    return isSnapshotOf(name, snapshot) ? snapshot : undefined;
  }

  async save(snapshot: ProjectionSnapshot): Promise<void> {
    if (this.#readOnly) throw readOnlyError('snapshot save');
    writeChecksummedFile(this.#dir, path.basename(this.#file(snapshot.name)), KIND, compressSync(packr.pack(snapshot)));
  }

  #file(name: string): string {
    if (!NAME.test(name)) throw new FfcdbError(ErrorCode.INVALID_ID, `projection name ${JSON.stringify(name)} must be 1-64 of a-z, 0-9 and '-'`, { field: 'name', value: name });
    return path.join(this.#dir, `${name}.snapshot`);
  }
}

/** A whole snapshot of `name`: one of another shape (another build wrote it) costs a rebuild, not a failed open. */
function isSnapshotOf(name: string, s: unknown): s is ProjectionSnapshot {
  if (s === null || typeof s !== 'object' || !('state' in s)) return false;
  const { name: n, version, position, eventPosition, eventId } = s as Partial<ProjectionSnapshot>;
  const count = (v: unknown): v is number => Number.isSafeInteger(v) && (v as number) >= 0;
  return n === name && count(version) && count(position) && count(eventPosition) && eventPosition <= position && typeof eventId === 'string';
}
