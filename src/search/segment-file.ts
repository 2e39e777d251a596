import fs from 'node:fs';
import path from 'node:path';
import { crc32 } from 'node:zlib';
import { pack, unpack } from 'msgpackr';
import { fsyncDirSync } from '../backends/flatfile/store-files.js';
import { ErrorCode, FfcdbError, ioError } from '../errors.js';
import { prefixRange } from './memory-segment.js';
import type { DocRecord, Posting, Segment } from './segment.js';
import type { SegmentData } from './segment-data.js';
import type { DocKind, Field } from './search-doc.js';
import { VarintReader, VarintWriter } from './varint.js';

/**
 * A segment file, `<store>/search/<name>.seg`, immutable once written:
 *
 *   0  "FFSG"          magic
 *   4  u16 format (1)
 *   6  u16 reserved
 *   8  u32 crc32       of the meta block
 *  12  u32 metaLength
 *  16  meta            msgpack { docs, terms, postings: [offset, length, crc32][], texts: [offset, length, crc32][] }
 *      data            postings blocks, then text blocks; offsets are from the start of data
 *
 * docs are [key, kind, userId, sessionId, itemId, role, timestamp, lengths],
 * sorted by key; terms are sorted. The meta block (term dictionary and
 * document table) is read and checked when the file opens; a term's postings
 * and a document's text are read with one pread each when a query needs them,
 * and checked against their own CRC. A postings block is LEB128 varints:
 * count, then per posting the doc delta, field, tf and tf position deltas.
 * A text block is msgpack of the document's fields.
 */
const MAGIC = 0x46465347; // "FFSG"
const FORMAT = 1;
const HEADER = 16;

type Block = [offset: number, length: number, crc: number];
type DocRow = [string, DocKind, string, string, string, string, number, number[]];

interface Meta {
  docs: DocRow[];
  terms: string[];
  postings: Block[];
  texts: Block[];
}

/** Writes `data` as segment `name` in `dir`, fsynced, with the folder entry fsynced too. */
export function writeSegmentFile(dir: string, name: string, data: SegmentData): void {
  const chunks: Buffer[] = [];
  let at = 0;
  const block = (bytes: Buffer): Block => {
    chunks.push(bytes);
    const b: Block = [at, bytes.length, crc32(bytes)];
    at += bytes.length;
    return b;
  };
  const postings = data.postings.map((list) => block(encodePostings(list)));
  const texts = data.texts.map((t) => block(pack(t)));
  const docs = data.docs.map((d): DocRow => [d.key, d.kind, d.userId, d.sessionId, d.itemId, d.role, d.timestamp, d.lengths]);
  const meta = pack({ docs, terms: data.terms, postings, texts } satisfies Meta);
  const header = Buffer.alloc(HEADER);
  header.writeUInt32BE(MAGIC, 0);
  header.writeUInt16BE(FORMAT, 4);
  header.writeUInt32BE(crc32(meta), 8);
  header.writeUInt32BE(meta.length, 12);
  const file = path.join(dir, name);
  try {
    const fd = fs.openSync(file, 'wx');
    try {
      fs.writevSync(fd, [header, meta, ...chunks]);
      fs.fdatasyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    fsyncDirSync(dir);
  } catch (err) {
    throw ioError(err, file, 'write');
  }
}

function encodePostings(list: readonly Posting[]): Buffer {
  const w = new VarintWriter();
  w.write(list.length);
  let prev = 0;
  for (const p of list) {
    w.write(p.doc - prev);
    prev = p.doc;
    w.write(p.field);
    w.write(p.positions.length);
    let pos = 0;
    for (const x of p.positions) {
      w.write(x - pos);
      pos = x;
    }
  }
  return w.bytes();
}

/** Without `withPositions` the positions are skipped, not kept: most queries need only the frequencies. */
function decodePostings(bytes: Uint8Array, withPositions: boolean): Posting[] {
  const r = new VarintReader(bytes);
  const out: Posting[] = new Array(r.read());
  let doc = 0;
  for (let i = 0; i < out.length; i++) {
    doc += r.read();
    const field = r.read();
    const tf = r.read();
    const positions: number[] = withPositions ? new Array(tf) : [];
    let pos = 0;
    for (let j = 0; j < tf; j++) {
      pos += r.read();
      if (withPositions) positions[j] = pos;
    }
    out[i] = { doc, field, tf, positions };
  }
  return out;
}

/** An open segment file: the dictionary and document table in memory, postings and text read on demand. */
export class SegmentFile implements Segment {
  readonly file: string;
  readonly #fd: number;
  readonly #dataStart: number;
  readonly #meta: Meta;
  readonly #termIndex: Map<string, number>;

  private constructor(file: string, fd: number, dataStart: number, meta: Meta) {
    this.file = file;
    this.#fd = fd;
    this.#dataStart = dataStart;
    this.#meta = meta;
    this.#termIndex = new Map(meta.terms.map((t, i) => [t, i]));
  }

  static open(file: string): SegmentFile {
    let fd: number;
    try {
      fd = fs.openSync(file, 'r');
    } catch (err) {
      throw ioError(err, file, 'open');
    }
    try {
      const header = Buffer.alloc(HEADER);
      if (fs.readSync(fd, header, 0, HEADER, 0) !== HEADER || header.readUInt32BE(0) !== MAGIC) throw corrupt(file, 0, 'not a search segment');
      if (header.readUInt16BE(4) !== FORMAT) throw new FfcdbError(ErrorCode.UNSUPPORTED_FORMAT, `${file}: segment format ${header.readUInt16BE(4)}`, { file });
      const length = header.readUInt32BE(12);
      const meta = Buffer.alloc(length);
      if (fs.readSync(fd, meta, 0, length, HEADER) !== length || crc32(meta) !== header.readUInt32BE(8)) throw corrupt(file, HEADER, 'meta block fails its checksum');
      return new SegmentFile(file, fd, HEADER + length, unpack(meta) as Meta);
    } catch (err) {
      fs.closeSync(fd);
      throw err;
    }
  }

  get docCount(): number {
    return this.#meta.docs.length;
  }

  doc(ordinal: number): DocRecord {
    const [key, kind, userId, sessionId, itemId, role, timestamp, lengths] = this.#meta.docs[ordinal]!;
    return { key, kind, userId, sessionId, itemId, role, timestamp, lengths };
  }

  userOf(ordinal: number): string {
    return this.#meta.docs[ordinal]![2];
  }

  postings(term: string, positions = true): Posting[] {
    const i = this.#termIndex.get(term);
    return i === undefined ? [] : decodePostings(this.#read(this.#meta.postings[i]!), positions);
  }

  postingsSize(term: string): number {
    const i = this.#termIndex.get(term);
    return i === undefined ? 0 : this.#meta.postings[i]![1];
  }

  terms(prefix: string): string[] {
    return prefixRange(this.#meta.terms, prefix);
  }

  text(ordinal: number): Partial<Record<Field, string>> {
    return unpack(this.#read(this.#meta.texts[ordinal]!)) as Partial<Record<Field, string>>;
  }

  find(key: string): number | undefined {
    const docs = this.#meta.docs;
    const i = lowerBound(docs, key);
    return docs[i]?.[0] === key ? i : undefined;
  }

  withPrefix(prefix: string): number[] {
    const docs = this.#meta.docs;
    const out: number[] = [];
    for (let i = lowerBound(docs, prefix); i < docs.length && docs[i]![0].startsWith(prefix); i++) out.push(i);
    return out;
  }

  close(): void {
    fs.closeSync(this.#fd);
  }

  #read([offset, length, crc]: Block): Buffer {
    const buf = Buffer.alloc(length);
    const at = this.#dataStart + offset;
    if (fs.readSync(this.#fd, buf, 0, length, at) !== length || crc32(buf) !== crc) throw corrupt(this.file, at, 'block fails its checksum');
    return buf;
  }
}

function lowerBound(docs: readonly DocRow[], key: string): number {
  let lo = 0;
  let hi = docs.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (docs[mid]![0] < key) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

function corrupt(file: string, offset: number, problem: string): FfcdbError {
  return new FfcdbError(ErrorCode.CORRUPT, `${file}: ${problem}`, { file, offset });
}
