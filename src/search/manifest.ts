import fs from 'node:fs';
import path from 'node:path';
import { crc32 } from 'node:zlib';
import { Packr } from 'msgpackr';
import { replaceDurably } from '../backends/flatfile/store-files.js';
import { ioError } from '../errors.js';
import type { SearchRegistry } from '../../projections/search/projection.js';

/**
 * `<store>/search/manifest`: which segment files make the index, what is
 * tombstoned in each, and the checkpoint they reflect, replaced whole with an
 * fsynced rename after every flush (and when the index starts empty or
 * rewrites segments for a purge):
 *
 *   "FFSM" | format u16 | reserved u16 | crc32 u32 | length u32 | payload
 *
 * (big-endian), the payload being structured-clone msgpack of `Manifest`.
 * Tombstones and registry changes after the checkpoint live in memory only:
 * after a crash they are applied again from the log.
 */
export interface Manifest {
  /** SEARCH_PROJECTION_VERSION: another one rebuilds the index. */
  version: number;
  stem: boolean;
  /** Every event at or below it is reflected. */
  position: number;
  /** The last event read, to check the log still holds it when opening. */
  eventPosition: number;
  eventId: string;
  segments: { name: string; dead: number[] }[];
  /** Live documents and their summed field lengths, for BM25. */
  stats: IndexStats;
  registry: SearchRegistry;
  nextSegment: number;
}

export interface IndexStats {
  docs: number;
  /** Per field: the words and the documents that have the field (so a title's average length is over titles, not over messages without one). */
  lengths: number[];
  fieldDocs: number[];
}

const MAGIC = 0x4646534d; // "FFSM"
const FORMAT = 1;
const HEADER = 16;
const NAME = 'manifest';
const packr = new Packr({ structuredClone: true });

/** The manifest in `dir`, or undefined when there is none or it cannot be read (the index is then rebuilt, never wrong). */
export function readManifest(dir: string): Manifest | undefined {
  const file = path.join(dir, NAME);
  let buf: Buffer;
  try {
    buf = fs.readFileSync(file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw ioError(err, file, 'read');
  }
  if (buf.length < HEADER || buf.readUInt32BE(0) !== MAGIC || buf.readUInt16BE(4) !== FORMAT) return undefined;
  const payload = buf.subarray(HEADER);
  if (payload.length !== buf.readUInt32BE(12) || crc32(payload) !== buf.readUInt32BE(8)) return undefined;
  return packr.unpack(payload) as Manifest;
}

/** The manifest file's bytes: encoded when the state it records is current, written once the segments it names are. */
export function encodeManifest(manifest: Manifest): Buffer {
  const payload = packr.pack(manifest);
  const header = Buffer.alloc(HEADER);
  header.writeUInt32BE(MAGIC, 0);
  header.writeUInt16BE(FORMAT, 4);
  header.writeUInt32BE(crc32(payload), 8);
  header.writeUInt32BE(payload.length, 12);
  return Buffer.concat([header, payload]);
}

export function writeManifest(dir: string, bytes: Buffer): void {
  replaceDurably(dir, NAME, bytes);
}
