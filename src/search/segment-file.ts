import fs from 'node:fs';
import { crc32 } from 'node:zlib';
import { uncompressSync } from 'lz4-napi';
import { unpack } from 'msgpackr';
import { ErrorCode, FfcdbError, ioError } from '../kernel/errors.js';
import { prefixRange } from './memory-segment.js';
import { type DocRecord, NO_DEAD, type PostingList, type PostingsSink, type Segment, emptyPostings, sortKey } from './segment.js';
import { type Block, DOC_BLOCK, type DictRow, type DocRow, FORMAT, HEADER, MAGIC, type Meta, TEXT_BLOCK, TRAILER, decodeRow, rowCount } from './segment-format.js';
import type { Field } from '../projections/search/search-doc.js';
import { VarintReader } from './varint.js';

/**
 * Blocks kept per open segment. Small on purpose: a query reads blocks all
 * over the file, so a large cache mostly holds blocks the next query will not
 * touch, and its turnover promotes garbage into the old generation, whose
 * collections are what a query's p99 pays (measured: 2x the p99 with 256
 * document and 64 text blocks in a process holding a large heap).
 */
const CACHED_DOC_BLOCKS = 16;
const CACHED_DICT_BLOCKS = 64;
const CACHED_TEXT_BLOCKS = 4;

/** An open segment file: block keys and first terms in memory; dictionary, postings, documents and text read on demand. */
export class SegmentFile implements Segment {
  readonly file: string;
  readonly #fd: number;
  readonly #size: number;
  readonly #meta: Meta;
  readonly #userIndex: Map<string, number>;
  /** Decoded blocks, least recently used first. */
  readonly #docCache = new Map<number, Buffer>();
  readonly #textCache = new Map<number, Buffer[]>();
  readonly #dictCache = new Map<number, DictRow[]>();

  private constructor(file: string, fd: number, size: number, meta: Meta) {
    this.file = file;
    this.#fd = fd;
    this.#size = size;
    this.#meta = meta;
    this.#userIndex = new Map(meta.users.map((u, i) => [u, i]));
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
      const size = fs.fstatSync(fd).size;
      const trailer = Buffer.alloc(TRAILER);
      if (size < HEADER + TRAILER || fs.readSync(fd, trailer, 0, TRAILER, size - TRAILER) !== TRAILER || trailer.readUInt32BE(16) !== MAGIC) throw corrupt(file, size - TRAILER, 'segment trailer missing (a cut write)');
      const metaOffset = trailer.readDoubleBE(0);
      const meta = readBlock(fd, file, size, [metaOffset, trailer.readUInt32BE(8), trailer.readUInt32BE(12)], 'meta block');
      return new SegmentFile(file, fd, size, unpack(meta) as Meta);
    } catch (err) {
      fs.closeSync(fd);
      throw err;
    }
  }

  get docCount(): number {
    return this.#meta.docCount;
  }

  doc(ordinal: number): DocRecord {
    const [key, kind, userId, sessionId, itemId, role, timestamp, lengths, entities] = this.#row(ordinal);
    return entities ? { key, kind, userId, sessionId, itemId, role, timestamp, lengths, entities } : { key, kind, userId, sessionId, itemId, role, timestamp, lengths };
  }

  df(term: string): number {
    return this.#lookup(term)?.[1] ?? 0;
  }

  userPostings(term: string, userId: string, positions: boolean, into: PostingsSink): void {
    const user = this.#userIndex.get(userId);
    const row = user === undefined ? undefined : this.#lookup(term);
    if (!row) return;
    let offset = row[2] + row[3];
    for (const r of this.#table(row)) {
      if (r.user === user) {
        decodeRun(this.#read([offset, r.length, r.crc], 'postings run'), this.#meta.userStarts[user]!, positions, into);
        return;
      }
      offset += r.length;
    }
  }

  allPostings(term: string): PostingList {
    const out = emptyPostings();
    const row = this.#lookup(term);
    if (!row) return out;
    let offset = row[2] + row[3];
    for (const r of this.#table(row)) {
      decodeRun(this.#read([offset, r.length, r.crc], 'postings run'), this.#meta.userStarts[r.user]!, true, { out, base: 0, dead: NO_DEAD });
      offset += r.length;
    }
    return out;
  }

  terms(prefix: string): string[] {
    const out: string[] = [];
    const first = this.#meta.firstTerms;
    for (let b = Math.max(0, lowerBound(first.length, (j) => first[j]! <= prefix) - 1); b < first.length; b++) {
      if (b > 0 && first[b]! > prefix && !first[b]!.startsWith(prefix)) break;
      const found = prefixRange(this.#dictBlock(b).map((r) => r[0]), prefix);
      out.push(...found);
    }
    return out;
  }

  text(ordinal: number): Partial<Record<Field, string>> {
    return unpack(this.rawText(ordinal)) as Partial<Record<Field, string>>;
  }

  rawText(ordinal: number): Buffer {
    const n = Math.floor(ordinal / TEXT_BLOCK);
    return cached(this.#textCache, n, CACHED_TEXT_BLOCKS, () => unpack(uncompressSync(this.#read(this.#meta.textBlocks[n]!, 'text block'))) as Buffer[])[ordinal % TEXT_BLOCK]!;
  }

  find(key: string): number | undefined {
    const at = this.#firstAtOrAfter(key);
    return at < this.docCount && this.#sortKeyAt(at) === key ? at : undefined;
  }

  withPrefix(prefix: string): number[] {
    const out: number[] = [];
    for (let i = this.#firstAtOrAfter(prefix); i < this.docCount && this.#sortKeyAt(i).startsWith(prefix); i++) out.push(i);
    return out;
  }

  close(): void {
    fs.closeSync(this.#fd);
  }

  #table(row: DictRow): { user: number; length: number; crc: number }[] {
    const r = new VarintReader(this.#read([row[2], row[3], row[4]], 'postings table'));
    const out: { user: number; length: number; crc: number }[] = [];
    while (!r.done) out.push({ user: r.read(), length: r.read(), crc: r.read() });
    return out;
  }

  #lookup(term: string): DictRow | undefined {
    const first = this.#meta.firstTerms;
    const b = lowerBound(first.length, (j) => first[j]! <= term) - 1;
    if (b < 0) return undefined;
    const rows = this.#dictBlock(b);
    const i = lowerBound(rows.length, (j) => rows[j]![0] < term);
    return rows[i]?.[0] === term ? rows[i] : undefined;
  }

  #dictBlock(n: number): DictRow[] {
    return cached(this.#dictCache, n, CACHED_DICT_BLOCKS, () => unpack(this.#read(this.#meta.dictBlocks[n]!, 'dictionary block')) as DictRow[]);
  }

  #sortKeyAt(ordinal: number): string {
    const row = this.#row(ordinal);
    return sortKey(row[2], row[0]);
  }

  /** The ordinal of the first document whose sort key is at or after `key`: the block by its first key, then the row. */
  #firstAtOrAfter(key: string): number {
    if (this.docCount === 0) return 0;
    const firstKeys = this.#meta.firstKeys;
    const block = Math.max(0, lowerBound(firstKeys.length, (j) => firstKeys[j]! <= key) - 1);
    const rows = this.#docBlock(block);
    return block * DOC_BLOCK + lowerBound(rowCount(rows), (j) => {
      const row = decodeRow(rows, j);
      return sortKey(row[2], row[0]) < key;
    });
  }

  #row(ordinal: number): DocRow {
    return decodeRow(this.#docBlock(Math.floor(ordinal / DOC_BLOCK)), ordinal % DOC_BLOCK);
  }

  /** A document block as read (off the JS heap, so a cache of them costs the collector nothing); rows are decoded one at a time. */
  #docBlock(n: number): Buffer {
    return cached(this.#docCache, n, CACHED_DOC_BLOCKS, () => this.#read(this.#meta.docBlocks[n]!, 'document block'));
  }

  #read(block: Block, what: string): Buffer {
    return readBlock(this.#fd, this.file, this.#size, block, what);
  }
}

/** A block of the file; its place is checked against the file's size before anything is allocated for it. */
function readBlock(fd: number, file: string, size: number, [offset, length, crc]: Block, what: string): Buffer {
  if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(length) || offset < 0 || length < 0 || offset + length > size) {
    throw corrupt(file, Number.isSafeInteger(offset) && offset >= 0 ? offset : 0, `${what} lies outside the file (${offset}, ${length} bytes, of ${size})`);
  }
  const buf = Buffer.allocUnsafe(length);
  if (fs.readSync(fd, buf, 0, length, offset) !== length || crc32(buf) !== crc) throw corrupt(file, offset, `${what} fails its checksum`);
  return buf;
}

/** Appends a run's postings to `out` (see Segment.userPostings), skipping tombstoned documents' and, unless asked for, positions. */
function decodeRun(bytes: Buffer, firstOrdinal: number, positions: boolean, { out, base, dead }: PostingsSink): void {
  const r = new VarintReader(bytes);
  let doc = firstOrdinal;
  while (!r.done) {
    doc += r.read();
    const field = r.read();
    const length = r.read();
    const tf = r.read();
    const keep = !dead.has(doc);
    if (keep) {
      out.docs.push(base + doc);
      out.fields.push(field);
      out.lengths.push(length);
      out.tfs.push(tf);
      out.posStart.push(out.positions.length);
    }
    let pos = 0;
    for (let j = 0; j < tf; j++) {
      pos += r.read();
      if (positions && keep) out.positions.push(pos);
    }
  }
}

/** A least-recently-used cache lookup. */
function cached<T>(cache: Map<number, T>, n: number, capacity: number, load: () => T): T {
  let value = cache.get(n);
  if (value !== undefined) cache.delete(n);
  else {
    value = load();
    if (cache.size >= capacity) cache.delete(cache.keys().next().value!);
  }
  cache.set(n, value);
  return value;
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
