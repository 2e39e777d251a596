import fs from 'node:fs';
import path from 'node:path';
import { crc32 } from 'node:zlib';
import { compressSync, uncompressSync } from 'lz4-napi';
import { pack, unpack } from 'msgpackr';
import { fsyncDirSync } from '../storage/durable-files.js';
import { ErrorCode, FfcdbError, ioError } from '../kernel/errors.js';
import { prefixRange } from './memory-segment.js';
import { type DocRecord, NO_DEAD, type PostingList, type PostingsSink, type Segment, emptyPostings, sortKey } from './segment.js';
import type { DocKind, Field } from '../projections/search/search-doc.js';
import { VarintReader, VarintWriter } from './varint.js';

/**
 * A segment file, `<store>/search/<name>.seg`, immutable once written, and
 * written as a stream (a merge never holds a whole segment in memory):
 *
 *   0  "FFSG" | u16 format (5) | u16 reserved
 *   8  blocks: texts, document blocks, postings, dictionary blocks
 *      meta   msgpack { docCount, users, userStarts, docBlocks, firstKeys, textBlocks, dictBlocks, firstTerms }
 *      trailer: f64 metaOffset | u32 metaLength | u32 crc32(meta) | "FFSG"   (big-endian)
 *
 * Blocks are referenced as [offset, length, crc32] from the file's start.
 * Documents are sorted by (user, key) (see sortKey), so a user's documents are
 * the ordinals `userStarts[u] .. userStarts[u+1]`; document blocks hold 128
 * rows [key, kind, userId, sessionId, itemId, role, timestamp, lengths, given
 * entity terms (when any)], each msgpack on its own behind a table of offsets
 * (u32 little-endian: the count, then count + 1 offsets) so that one row is
 * decoded without the others, with each block's first sort key in `firstKeys`.
 * The stored text is in blocks of 16 documents (`textBlocks`): lz4 of a
 * msgpack array of each document's msgpack-encoded fields, so a snippet
 * decompresses 16 documents' text, and a merge copies each document's
 * encoded fields without decoding them.
 *
 * The term dictionary is on disk too, in blocks of 128 sorted rows [term, df,
 * table offset, table length, table crc] with each block's first term in
 * `firstTerms`: opening reads the header, trailer and meta only. A term's
 * postings are one run per user that has the term: a table (LEB128: run count,
 * then per run user index, byte length and crc32) followed by the runs, so a
 * query reads the table and its own user's run and nothing else. A run is
 * LEB128 postings: doc (delta from the previous, the first from the user's
 * first ordinal), field, the field's length, tf, and tf position deltas.
 */
const MAGIC = 0x46465347; // "FFSG"
const FORMAT = 5;
const HEADER = 8;
const TRAILER = 20;
/** Rows per document block and per dictionary block; documents per text block. */
const DOC_BLOCK = 128;
const DICT_BLOCK = 128;
const TEXT_BLOCK = 16;
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
/** Bytes gathered before each write while streaming a segment out. */
const WRITE_CHUNK = 1 << 20;

type Block = [offset: number, length: number, crc: number];
type DocRow = [key: string, kind: DocKind, userId: string, sessionId: string, itemId: string, role: string, timestamp: number, lengths: number[], entities?: string[]];
type DictRow = [term: string, df: number, tableOffset: number, tableLength: number, tableCrc: number];

interface Meta {
  docCount: number;
  users: string[];
  /** Per user, its first ordinal; one more entry, docCount, closes the last range. */
  userStarts: number[];
  docBlocks: Block[];
  firstKeys: string[];
  textBlocks: Block[];
  dictBlocks: Block[];
  firstTerms: string[];
}

/** A segment, the ordinals tombstoned in it, and per term how many of those hold it (to take out of its document frequency). */
export interface SegmentSource {
  segment: Segment;
  dead: ReadonlySet<number>;
  deadDf: ReadonlyMap<string, number>;
}

/**
 * Writes the live documents of `sources` as segment `name` in `dir`, fsynced
 * with its folder entry: a flush (the memory segment alone) and a merge
 * (several files) are the same operation. A generator, so that the index can
 * run it in slices between other work (flushes; merges run it whole on their
 * own thread): it
 * yields every few hundred terms and documents, takes the live documents and
 * their new ordinals before its first yield (later tombstones do not change
 * what it writes), and returns where each source's ordinals went (-1: not
 * written). Stopped early (`return()`), it closes and removes its file.
 */
export function* segmentWriter(dir: string, name: string, sources: readonly SegmentSource[]): Generator<void, Int32Array[]> {
  const file = path.join(dir, name);
  let fd: number | undefined;
  let done = false;
  try {
    fd = fs.openSync(file, 'wx');
    const out = new ChunkedWriter(fd);
    const remap = yield* writeBody(out, sources);
    out.flush();
    fs.fdatasyncSync(fd);
    fsyncDirSync(dir);
    done = true;
    return remap;
  } catch (err) {
    throw err instanceof FfcdbError ? err : ioError(err, file, 'write');
  } finally {
    if (fd !== undefined) {
      fs.closeSync(fd);
      // Only a file this writer created: `wx` refused one that was there.
      if (!done) fs.rmSync(file, { force: true });
    }
  }
}

/** Terms or documents written between two yields. */
const STEP = 256;

function* writeBody(out: ChunkedWriter, sources: readonly SegmentSource[]): Generator<void, Int32Array[]> {
  const header = Buffer.alloc(HEADER);
  header.writeUInt32BE(MAGIC, 0);
  header.writeUInt16BE(FORMAT, 4);
  out.write(header);

  // The live documents in (user, key) order, and where each source's ordinals went.
  const live: { source: number; ordinal: number; record: DocRecord; sk: string }[] = [];
  sources.forEach(({ segment, dead }, source) => {
    for (let ordinal = 0; ordinal < segment.docCount; ordinal++) {
      if (dead.has(ordinal)) continue;
      const record = segment.doc(ordinal);
      live.push({ source, ordinal, record, sk: sortKey(record.userId, record.key) });
    }
  });
  live.sort((a, b) => (a.sk < b.sk ? -1 : a.sk > b.sk ? 1 : 0));
  const remap = sources.map(({ segment }) => new Int32Array(segment.docCount).fill(-1));
  const users: string[] = [];
  const userStarts: number[] = [];
  live.forEach((d, i) => {
    remap[d.source]![d.ordinal] = i;
    if (users[users.length - 1] !== d.record.userId) {
      users.push(d.record.userId);
      userStarts.push(i);
    }
  });
  userStarts.push(live.length);
  yield;

  const textBlocks: Block[] = [];
  for (let i = 0; i < live.length; i += TEXT_BLOCK) {
    textBlocks.push(out.block(compressSync(pack(live.slice(i, i + TEXT_BLOCK).map(({ source, ordinal }) => sources[source]!.segment.rawText(ordinal))))));
    if ((i / TEXT_BLOCK) % 16 === 15) yield;
  }
  const docBlocks: Block[] = [];
  const firstKeys: string[] = [];
  for (let i = 0; i < live.length; i += DOC_BLOCK) {
    const rows = live.slice(i, i + DOC_BLOCK).map(({ record: d }): DocRow => {
      const row: DocRow = [d.key, d.kind, d.userId, d.sessionId, d.itemId, d.role, d.timestamp, d.lengths];
      if (d.entities) row.push(d.entities);
      return row;
    });
    docBlocks.push(out.block(encodeRows(rows)));
    firstKeys.push(live[i]!.sk);
    if ((i / DOC_BLOCK) % 2 === 1) yield;
  }

  const terms = [...new Set(sources.flatMap((s) => s.segment.terms('')))].sort();
  const dict: DictRow[] = [];
  const dictBlocks: Block[] = [];
  const firstTerms: string[] = [];
  const flushDict = () => {
    if (dict.length === 0) return;
    dictBlocks.push(out.block(pack(dict)));
    firstTerms.push(dict[0]![0]);
    dict.length = 0;
  };
  const run = new VarintWriter();
  const table = new VarintWriter();
  for (let t = 0; t < terms.length; t++) {
    if (t % STEP === STEP - 1) yield;
    const term = terms[t]!;
    const runs: Buffer[] = [];
    table.reset();
    let df = 0;
    let user = -1;
    let prev = 0;
    const endRun = () => {
      if (user < 0) return;
      const bytes = Buffer.from(run.bytes());
      runs.push(bytes);
      table.write(user);
      table.write(bytes.length);
      table.write(crc32(bytes));
    };
    for (const { list, i, doc } of mergedPostings(sources, remap, term)) {
      if (doc !== prev || df === 0) df++;
      if (user < 0 || doc >= userStarts[user + 1]!) {
        endRun();
        while (doc >= userStarts[user + 1]!) user++;
        run.reset();
        prev = userStarts[user]!;
      }
      run.write(doc - prev);
      prev = doc;
      run.write(list.fields[i]!);
      run.write(list.lengths[i]!);
      const tf = list.tfs[i]!;
      run.write(tf);
      let pos = 0;
      for (let j = list.posStart[i]!, end = j + tf; j < end; j++) {
        run.write(list.positions[j]! - pos);
        pos = list.positions[j]!;
      }
    }
    if (df === 0) continue;
    endRun();
    const tableBytes = Buffer.from(table.bytes());
    const [tableOffset] = out.block(tableBytes);
    for (const r of runs) out.write(r);
    dict.push([term, df, tableOffset, tableBytes.length, crc32(tableBytes)]);
    if (dict.length === DICT_BLOCK) flushDict();
  }
  flushDict();

  const meta = pack({ docCount: live.length, users, userStarts, docBlocks, firstKeys, textBlocks, dictBlocks, firstTerms } satisfies Meta);
  const [metaOffset] = out.block(meta);
  const trailer = Buffer.alloc(TRAILER);
  trailer.writeDoubleBE(metaOffset, 0);
  trailer.writeUInt32BE(meta.length, 8);
  trailer.writeUInt32BE(crc32(meta), 12);
  trailer.writeUInt32BE(MAGIC, 16);
  out.write(trailer);
  return remap;
}

/**
 * A term's postings over every source in the new segment's ordinal order
 * (tombstoned documents left out): each source's postings sorted by their new
 * ordinals (a file's already are: both orders are by sort key; the memory
 * segment's follow arrival), then merged by always taking the lowest.
 */
function* mergedPostings(sources: readonly SegmentSource[], remap: readonly Int32Array[], term: string): Generator<{ list: PostingList; i: number; doc: number }> {
  const cursors = sources.map(({ segment }, s) => {
    const list = segment.allPostings(term);
    const order: number[] = [];
    for (let i = 0; i < list.docs.length; i++) if (remap[s]![list.docs[i]!]! >= 0) order.push(i);
    const doc = (i: number) => remap[s]![list.docs[i]!]!;
    // Postings of one document keep their field order: the sort is stable.
    if (order.some((i, k) => k > 0 && doc(i) < doc(order[k - 1]!))) order.sort((a, b) => doc(a) - doc(b));
    return { list, order, at: 0, doc };
  });
  const item = { list: cursors[0]?.list ?? emptyPostings(), i: 0, doc: 0 };
  for (;;) {
    let next: (typeof cursors)[number] | undefined;
    for (const c of cursors) if (c.at < c.order.length && (!next || c.doc(c.order[c.at]!) < next.doc(next.order[next.at]!))) next = c;
    if (!next) return;
    item.list = next.list;
    item.i = next.order[next.at++]!;
    item.doc = next.doc(item.i);
    yield item;
  }
}

/** Sequential writes gathered into large chunks, with the file offset of everything written. */
class ChunkedWriter {
  readonly #fd: number;
  #pending: Buffer[] = [];
  #pendingBytes = 0;
  #offset = 0;

  constructor(fd: number) {
    this.#fd = fd;
  }

  write(bytes: Buffer): void {
    this.#pending.push(bytes);
    this.#pendingBytes += bytes.length;
    this.#offset += bytes.length;
    if (this.#pendingBytes >= WRITE_CHUNK) this.flush();
  }

  block(bytes: Buffer): Block {
    const b: Block = [this.#offset, bytes.length, crc32(bytes)];
    this.write(bytes);
    return b;
  }

  flush(): void {
    if (this.#pending.length > 0) fs.writevSync(this.#fd, this.#pending);
    this.#pending = [];
    this.#pendingBytes = 0;
  }
}

/** An open segment file: block keys and first terms in memory; dictionary, postings, documents and text read on demand. */
export class SegmentFile implements Segment {
  readonly file: string;
  readonly #fd: number;
  readonly #meta: Meta;
  readonly #userIndex: Map<string, number>;
  /** Decoded blocks, least recently used first. */
  readonly #docCache = new Map<number, Buffer>();
  readonly #textCache = new Map<number, Buffer[]>();
  readonly #dictCache = new Map<number, DictRow[]>();

  private constructor(file: string, fd: number, meta: Meta) {
    this.file = file;
    this.#fd = fd;
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
      const meta = readBlock(fd, file, [metaOffset, trailer.readUInt32BE(8), trailer.readUInt32BE(12)], 'meta block');
      return new SegmentFile(file, fd, unpack(meta) as Meta);
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
    return readBlock(this.#fd, this.file, block, what);
  }
}

/** A document block: u32 (little-endian) count, count + 1 offsets of the rows from the block's start, then the msgpack rows. */
function encodeRows(rows: readonly DocRow[]): Buffer {
  const encoded = rows.map((r) => pack(r));
  const head = Buffer.alloc(4 * (rows.length + 2));
  head.writeUInt32LE(rows.length, 0);
  let at = head.length;
  encoded.forEach((e, i) => {
    head.writeUInt32LE(at, 4 * (i + 1));
    at += e.length;
  });
  head.writeUInt32LE(at, 4 * (rows.length + 1));
  return Buffer.concat([head, ...encoded]);
}

function rowCount(block: Buffer): number {
  return block.readUInt32LE(0);
}

function decodeRow(block: Buffer, i: number): DocRow {
  return unpack(block.subarray(block.readUInt32LE(4 * (i + 1)), block.readUInt32LE(4 * (i + 2)))) as DocRow;
}

function readBlock(fd: number, file: string, [offset, length, crc]: Block, what: string): Buffer {
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
