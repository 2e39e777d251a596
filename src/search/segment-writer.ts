import fs from 'node:fs';
import path from 'node:path';
import { crc32 } from 'node:zlib';
import { compressSync } from 'lz4-napi';
import { pack } from 'msgpackr';
import { fsyncDirSync } from '../storage/durable-files.js';
import { FfcdbError, ioError } from '../kernel/errors.js';
import { type DocRecord, type PostingList, type SegmentSource, emptyPostings, sortKey } from './segment.js';
import { type Block, DICT_BLOCK, DOC_BLOCK, type DictRow, type DocRow, FORMAT, HEADER, MAGIC, type Meta, TEXT_BLOCK, TRAILER, encodeRows } from './segment-format.js';
import { VarintWriter } from './varint.js';

/** Bytes gathered before each write while streaming a segment out. */
const WRITE_CHUNK = 1 << 20;

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
    if (this.#pending.length > 0) {
      // writev may write less than asked (a full disk): the rest follows, or the failure is thrown.
      const written = fs.writevSync(this.#fd, this.#pending);
      if (written < this.#pendingBytes) {
        const rest = Buffer.concat(this.#pending).subarray(written);
        for (let done = 0; done < rest.length; ) done += fs.writeSync(this.#fd, rest, done, rest.length - done);
      }
    }
    this.#pending = [];
    this.#pendingBytes = 0;
  }
}
