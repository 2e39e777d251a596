import { pack, unpack } from 'msgpackr';
import type { DocKind } from '../projections/search/search-doc.js';

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
export const MAGIC = 0x46465347; // "FFSG"
export const FORMAT = 5;
export const HEADER = 8;
export const TRAILER = 20;
/** Rows per document block and per dictionary block; documents per text block. */
export const DOC_BLOCK = 128;
export const DICT_BLOCK = 128;
export const TEXT_BLOCK = 16;

export type Block = [offset: number, length: number, crc: number];
export type DocRow = [key: string, kind: DocKind, userId: string, sessionId: string, itemId: string, role: string, timestamp: number, lengths: number[], entities?: string[]];
export type DictRow = [term: string, df: number, tableOffset: number, tableLength: number, tableCrc: number];

export interface Meta {
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

/** A document block: u32 (little-endian) count, count + 1 offsets of the rows from the block's start, then the msgpack rows. */
export function encodeRows(rows: readonly DocRow[]): Buffer {
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

export function rowCount(block: Buffer): number {
  return block.readUInt32LE(0);
}

export function decodeRow(block: Buffer, i: number): DocRow {
  return unpack(block.subarray(block.readUInt32LE(4 * (i + 1)), block.readUInt32LE(4 * (i + 2)))) as DocRow;
}
