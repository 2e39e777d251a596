import path from 'node:path';
import { Packr } from 'msgpackr';
import { replaceDurably } from '../storage/durable-files.js';
import { encodeChecksummed, readChecksummedFile } from '../storage/checksummed-file.js';
import type { SearchRegistry } from '../projections/search/projection.js';

/**
 * `<store>/search/manifest`: which segment files make the index, what is
 * tombstoned in each, and the checkpoint they reflect, replaced whole with an
 * fsynced rename after every flush (and when the index starts empty or
 * rewrites segments for a purge): a checksummed file ("FFSM", format 1)
 * whose payload is the structured-clone msgpack of `Manifest`.
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

const KIND = { magic: 0x4646534d, format: 1 }; // "FFSM"
const NAME = 'manifest';
const packr = new Packr({ structuredClone: true });

/** The manifest in `dir`, or undefined when there is none or it cannot be read (the index is then rebuilt, never wrong). */
export function readManifest(dir: string): Manifest | undefined {
  const read = readChecksummedFile(path.join(dir, NAME), KIND);
  if (!read.ok) return undefined;
  let value: unknown;
  try {
    value = packr.unpack(read.payload);
  } catch {
    return undefined;
  }
  return isManifest(value) ? value : undefined;
}

/** The fields the index reads, of their types: a payload that is not a manifest (whatever its checksum) is none. */
function isManifest(v: unknown): v is Manifest {
  const m = v as Partial<Manifest> | null;
  const count = (n: unknown) => Number.isSafeInteger(n) && (n as number) >= 0;
  const counts = (a: unknown) => Array.isArray(a) && a.every(count);
  return (
    typeof m === 'object' &&
    m !== null &&
    typeof m.version === 'number' &&
    typeof m.stem === 'boolean' &&
    count(m.position) &&
    count(m.eventPosition) &&
    typeof m.eventId === 'string' &&
    Array.isArray(m.segments) &&
    m.segments.every((s) => typeof s === 'object' && s !== null && typeof s.name === 'string' && counts(s.dead)) &&
    typeof m.stats === 'object' &&
    m.stats !== null &&
    count(m.stats.docs) &&
    counts(m.stats.lengths) &&
    counts(m.stats.fieldDocs) &&
    typeof m.registry === 'object' &&
    m.registry !== null &&
    m.registry.sessions instanceof Map &&
    m.registry.deleted instanceof Map &&
    count(m.nextSegment)
  );
}

/** The manifest file's bytes: encoded when the state it records is current, written once the segments it names are. */
export function encodeManifest(manifest: Manifest): Buffer {
  return encodeChecksummed(KIND, packr.pack(manifest));
}

export function writeManifest(dir: string, bytes: Buffer): void {
  replaceDurably(dir, NAME, bytes);
}
