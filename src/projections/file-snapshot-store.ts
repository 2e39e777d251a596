import fs from 'node:fs';
import path from 'node:path';
import { crc32 } from 'node:zlib';
import { compressSync, uncompressSync } from 'lz4-napi';
import { Packr } from 'msgpackr';
import { ErrorCode, FfcdbError, ioError } from '../errors.js';
import { PROJECTIONS_DIR, isRealDirectory } from '../backends/flatfile/layout.js';
import { fsyncDirSync, replaceDurably } from '../backends/flatfile/store-files.js';
import type { ProjectionSnapshot, SnapshotStore } from './snapshot-store.js';

/**
 * Snapshot files: `<root>/projections/<name>.snapshot`, each
 *   magic "FFPS" | format u16 | reserved u16 | crc32 u32 | payload length u32 | payload
 * where the payload is the lz4-compressed structured-clone msgpack of the
 * snapshot (Maps and Sets survive) and the CRC covers the payload.
 */
const MAGIC = 0x46465053;
const FORMAT = 1;
const HEADER = 16;
const NAME = /^[a-z][a-z0-9-]{0,63}$/;
const packr = new Packr({ structuredClone: true });

export class FileSnapshotStore implements SnapshotStore {
  readonly #dir: string;

  constructor(root: string) {
    this.#dir = path.join(root, PROJECTIONS_DIR);
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
    const file = this.#file(name);
    let buf: Buffer;
    try {
      const fd = fs.openSync(file, fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW);
      try {
        buf = fs.readFileSync(fd);
      } finally {
        fs.closeSync(fd);
      }
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw ioError(err, file, 'read');
    }
    // A damaged snapshot costs a rebuild, never a wrong state.
    if (buf.length < HEADER || buf.readUInt32BE(0) !== MAGIC || buf.readUInt16BE(4) !== FORMAT) return undefined;
    const length = buf.readUInt32BE(12);
    if (buf.length !== HEADER + length) return undefined;
    const payload = buf.subarray(HEADER);
    if (crc32(payload) !== buf.readUInt32BE(8)) return undefined;
    const snapshot: unknown = packr.unpack(uncompressSync(payload));
    return isSnapshotOf(name, snapshot) ? snapshot : undefined;
  }

  async save(snapshot: ProjectionSnapshot): Promise<void> {
    const file = this.#file(snapshot.name);
    const payload = compressSync(packr.pack(snapshot));
    const header = Buffer.alloc(HEADER);
    header.writeUInt32BE(MAGIC, 0);
    header.writeUInt16BE(FORMAT, 4);
    header.writeUInt32BE(crc32(payload), 8);
    header.writeUInt32BE(payload.length, 12);
    replaceDurably(this.#dir, path.basename(file), Buffer.concat([header, payload]));
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
