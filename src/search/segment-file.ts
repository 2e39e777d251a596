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
 *   4  u16 format (2)
 *   6  u16 reserved
 *   8  u32 crc32       of the meta block
 *  12  u32 metaLength
 *  16  meta            msgpack { docCount, terms, postings, docBlocks, firstKeys, users, userOrdinals }
 *      data            postings blocks, text blocks, document blocks, the user ordinals; offsets are from the start of data
 *
 * Blocks are referenced as [offset, length, crc32]. `terms` are sorted, and
 * `postings[i]` is the block of `terms[i]`. Documents are sorted by key, in
 * blocks of 128 (`docBlocks`, each msgpack of rows [key, kind, userId,
 * sessionId, itemId, role, timestamp, lengths per field, text block]), with
 * the first key of each block in `firstKeys`; `userOrdinals` is a block of
 * u32 little-endian per document, indexes into `users`.
 *
 * Opening reads and checks the header and the meta block (the term dictionary
 * and one key per 128 documents) and the user ordinals (4 bytes a document,
 * so queries can drop other users' postings without reading documents).
 * Postings, document blocks and text are read with one pread each when
 * needed, and checked against their own CRC. A postings block is LEB128
 * varints: count, then per posting the doc delta, field, tf and tf position
 * deltas. A text block is msgpack of the document's fields.
 */
const MAGIC = 0x46465347; // "FFSG"
const FORMAT = 2;
/** Documents per document block. */
const DOC_BLOCK = 128;
/** Document blocks kept decoded per open segment. */
const CACHED_BLOCKS = 256;
const HEADER = 16;

type Block = [offset: number, length: number, crc: number];
type DocRow = [key: string, kind: DocKind, userId: string, sessionId: string, itemId: string, role: string, timestamp: number, lengths: number[], text: Block];

interface Meta {
  docCount: number;
  terms: string[];
  postings: Block[];
  docBlocks: Block[];
  firstKeys: string[];
  users: string[];
  userOrdinals: Block;
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
  const rows = data.docs.map((d, i): DocRow => [d.key, d.kind, d.userId, d.sessionId, d.itemId, d.role, d.timestamp, d.lengths, texts[i]!]);
  const docBlocks: Block[] = [];
  const firstKeys: string[] = [];
  for (let i = 0; i < rows.length; i += DOC_BLOCK) {
    docBlocks.push(block(pack(rows.slice(i, i + DOC_BLOCK))));
    firstKeys.push(rows[i]![0]);
  }
  const users = [...new Set(data.docs.map((d) => d.userId))].sort();
  const userIndex = new Map(users.map((u, i) => [u, i]));
  const ordinals = Buffer.alloc(4 * data.docs.length);
  data.docs.forEach((d, i) => ordinals.writeUInt32LE(userIndex.get(d.userId)!, 4 * i));
  const userOrdinals = block(ordinals);
  const meta = pack({ docCount: data.docs.length, terms: data.terms, postings, docBlocks, firstKeys, users, userOrdinals } satisfies Meta);
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

/** Positions are skipped, not kept, where `withPositions` says so: most queries need only the frequencies. */
function decodePostings(bytes: Uint8Array, withPositions: boolean | ((ordinal: number) => boolean)): Posting[] {
  const r = new VarintReader(bytes);
  const out: Posting[] = new Array(r.read());
  let doc = 0;
  for (let i = 0; i < out.length; i++) {
    doc += r.read();
    const field = r.read();
    const tf = r.read();
    const keep = typeof withPositions === 'function' ? withPositions(doc) : withPositions;
    const positions: number[] = keep ? new Array(tf) : [];
    let pos = 0;
    for (let j = 0; j < tf; j++) {
      pos += r.read();
      if (keep) positions[j] = pos;
    }
    out[i] = { doc, field, tf, positions };
  }
  return out;
}

/** An open segment file: the term dictionary, block keys and user ordinals in memory; postings, documents and text read on demand. */
export class SegmentFile implements Segment {
  readonly file: string;
  readonly #fd: number;
  readonly #dataStart: number;
  readonly #meta: Meta;
  readonly #userOrdinals: Uint32Array;
  /** Decoded document blocks, least recently used first. */
  readonly #blocks = new Map<number, DocRow[]>();

  private constructor(file: string, fd: number, dataStart: number, meta: Meta) {
    this.file = file;
    this.#fd = fd;
    this.#dataStart = dataStart;
    this.#meta = meta;
    const bytes = this.#read(meta.userOrdinals);
    this.#userOrdinals = new Uint32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length));
    if (this.#userOrdinals.length !== meta.docCount) throw corrupt(file, dataStart + meta.userOrdinals[0], 'user ordinals do not match the document count');
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
    return this.#meta.docCount;
  }

  doc(ordinal: number): DocRecord {
    const [key, kind, userId, sessionId, itemId, role, timestamp, lengths] = this.#row(ordinal);
    return { key, kind, userId, sessionId, itemId, role, timestamp, lengths };
  }

  userOf(ordinal: number): string {
    return this.#meta.users[this.#userOrdinals[ordinal]!]!;
  }

  postings(term: string, positions: boolean | ((ordinal: number) => boolean) = true): Posting[] {
    const i = this.#term(term);
    return i === undefined ? [] : decodePostings(this.#read(this.#meta.postings[i]!), positions);
  }

  postingsSize(term: string): number {
    const i = this.#term(term);
    return i === undefined ? 0 : this.#meta.postings[i]![1];
  }

  terms(prefix: string): string[] {
    return prefixRange(this.#meta.terms, prefix);
  }

  text(ordinal: number): Partial<Record<Field, string>> {
    return unpack(this.#read(this.#row(ordinal)[8])) as Partial<Record<Field, string>>;
  }

  find(key: string): number | undefined {
    const at = this.#firstAtOrAfter(key);
    return at < this.docCount && this.#row(at)[0] === key ? at : undefined;
  }

  withPrefix(prefix: string): number[] {
    const out: number[] = [];
    for (let i = this.#firstAtOrAfter(prefix); i < this.docCount && this.#row(i)[0].startsWith(prefix); i++) out.push(i);
    return out;
  }

  close(): void {
    fs.closeSync(this.#fd);
  }

  #term(term: string): number | undefined {
    const terms = this.#meta.terms;
    const i = lowerBound(terms.length, (j) => terms[j]! < term);
    return terms[i] === term ? i : undefined;
  }

  /** The ordinal of the first document whose key is at or after `key`: the block by its first key, then the row. */
  #firstAtOrAfter(key: string): number {
    if (this.docCount === 0) return 0;
    const firstKeys = this.#meta.firstKeys;
    const block = Math.max(0, lowerBound(firstKeys.length, (j) => firstKeys[j]! <= key) - 1);
    const rows = this.#block(block);
    return block * DOC_BLOCK + lowerBound(rows.length, (j) => rows[j]![0] < key);
  }

  #row(ordinal: number): DocRow {
    return this.#block(Math.floor(ordinal / DOC_BLOCK))[ordinal % DOC_BLOCK]!;
  }

  #block(n: number): DocRow[] {
    let rows = this.#blocks.get(n);
    if (rows) this.#blocks.delete(n);
    else {
      rows = unpack(this.#read(this.#meta.docBlocks[n]!)) as DocRow[];
      if (this.#blocks.size >= CACHED_BLOCKS) this.#blocks.delete(this.#blocks.keys().next().value!);
    }
    this.#blocks.set(n, rows);
    return rows;
  }

  #read([offset, length, crc]: Block): Buffer {
    const buf = Buffer.alloc(length);
    const at = this.#dataStart + offset;
    if (fs.readSync(this.#fd, buf, 0, length, at) !== length || crc32(buf) !== crc) throw corrupt(this.file, at, 'block fails its checksum');
    return buf;
  }
}

/** The first index in [0, n) where `before` is false (`before` holds for a prefix of the range). */
function lowerBound(n: number, before: (i: number) => boolean): number {
  let lo = 0;
  let hi = n;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (before(mid)) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

function corrupt(file: string, offset: number, problem: string): FfcdbError {
  return new FfcdbError(ErrorCode.CORRUPT, `${file}: ${problem}`, { file, offset });
}
