import fs from 'node:fs';
import { crc32 } from 'node:zlib';
import { replaceDurably } from './durable-files.js';
import { ioError } from '../kernel/errors.js';

/**
 * A small file replaced whole, whose bytes prove themselves (big-endian):
 *
 *   magic u32 | format u16 | reserved u16 (0) | CRC-32 of payload u32 | payload length u32 | payload
 *
 * Projection snapshots ("FFPS") and the search manifest ("FFSM") are such
 * files. A reader that finds anything but a whole file of the expected kind
 * gets a reason instead of the payload: what the file holds can always be
 * rebuilt, so a damaged one costs a rebuild, never a wrong state.
 */
export interface ChecksummedKind {
  /** Four ASCII letters as a u32, e.g. 0x46465053 for "FFPS". */
  magic: number;
  format: number;
}

export type ChecksummedRead =
  | { ok: true; payload: Buffer }
  | { ok: false; reason: ChecksummedFault };

/** Why a file gave no payload: absent; too short for its header; another kind of file; another format; cut or extended; damaged. */
type ChecksummedFault = 'missing' | 'short' | 'magic' | 'format' | 'length' | 'checksum';

const HEADER = 16;

/** The file's bytes: header, then the payload. */
export function encodeChecksummed(kind: ChecksummedKind, payload: Uint8Array): Buffer {
  const header = Buffer.alloc(HEADER);
  header.writeUInt32BE(kind.magic, 0);
  header.writeUInt16BE(kind.format, 4);
  header.writeUInt32BE(crc32(payload), 8);
  header.writeUInt32BE(payload.length, 12);
  return Buffer.concat([header, payload]);
}

/** The payload of `bytes`, or why there is none. */
function decodeChecksummed(kind: ChecksummedKind, bytes: Buffer): ChecksummedRead {
  if (bytes.length < HEADER) return { ok: false, reason: 'short' };
  if (bytes.readUInt32BE(0) !== kind.magic) return { ok: false, reason: 'magic' };
  if (bytes.readUInt16BE(4) !== kind.format) return { ok: false, reason: 'format' };
  const payload = bytes.subarray(HEADER);
  if (payload.length !== bytes.readUInt32BE(12)) return { ok: false, reason: 'length' };
  if (crc32(payload) !== bytes.readUInt32BE(8)) return { ok: false, reason: 'checksum' };
  return { ok: true, payload };
}

/** Writes `name` in `dir` whole: a temp file, fsynced, renamed over the old one, the folder fsynced. */
export function writeChecksummedFile(dir: string, name: string, kind: ChecksummedKind, payload: Uint8Array): void {
  replaceDurably(dir, name, encodeChecksummed(kind, payload));
}

/**
 * Reads and checks `file`. A symlink is not followed (the data folder holds
 * none of ours); a failure to read other than absence is an IO error.
 */
export function readChecksummedFile(file: string, kind: ChecksummedKind): ChecksummedRead {
  let bytes: Buffer;
  try {
    const fd = fs.openSync(file, fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW);
    try {
      bytes = fs.readFileSync(fd);
    } finally {
      fs.closeSync(fd);
    }
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { ok: false, reason: 'missing' };
    throw ioError(err, file, 'read');
  }
  return decodeChecksummed(kind, bytes);
}
