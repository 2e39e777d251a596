import type { Field, SearchDoc } from '../projections/search/search-doc.js';

/**
 * One term's postings in ordinal order, as parallel arrays: a posting is the
 * term in one field of one document, with that field's length (BM25 needs it,
 * and carrying it here spares a document lookup per match) and, when asked
 * for, its word positions: `positions[posStart[i] .. posStart[i] + tfs[i])`.
 */
export interface PostingList {
  docs: number[];
  fields: number[];
  lengths: number[];
  tfs: number[];
  posStart: number[];
  positions: number[];
}

/** Where userPostings appends: see there. */
export interface PostingsSink {
  out: PostingList;
  base: number;
  dead: ReadonlySet<number>;
}

/** No tombstones: reading every posting. */
export const NO_DEAD: ReadonlySet<number> = new Set();

export function emptyPostings(): PostingList {
  return { docs: [], fields: [], lengths: [], tfs: [], posStart: [], positions: [] };
}

/**
 * A document as a segment stores it: the SearchDoc without its text (read
 * only for snippets; its given entities are kept for its next update), with
 * its words per field in FIELDS order (BM25's document lengths).
 */
export type DocRecord = Omit<SearchDoc, 'fields'> & { lengths: number[] };

/**
 * Where a document sorts in a segment: by user, then by key, so each user's
 * documents are one ordinal range (a query reads only its user's postings)
 * and each session's a range within it.
 */
export function sortKey(userId: string, key: string): string {
  return `${userId}\u0000${key}`;
}

/**
 * What queries and merges read, whether the segment is the in-memory one for
 * recent writes or an immutable file. Ordinals run 0..docCount-1.
 */
export interface Segment {
  readonly docCount: number;
  doc(ordinal: number): DocRecord;
  /** The documents holding `term`, tombstoned or not. */
  df(term: string): number;
  /**
   * Appends a term's postings of one user's live documents to `into.out`
   * (ordinals shifted by `into.base`, those in `into.dead` left out; a query
   * numbers documents across segments); `positions` (for phrases) decodes
   * word positions too.
   */
  userPostings(term: string, userId: string, positions: boolean, into: PostingsSink): void;
  /** A term's postings of every document, positions included (for merges). */
  allPostings(term: string): PostingList;
  /** Every term starting with `prefix`, sorted. */
  terms(prefix: string): string[];
  /** The stored text of a document's fields. */
  text(ordinal: number): Partial<Record<Field, string>>;
  /** The same, encoded as a segment file stores it (msgpack): merges copy it without decoding. */
  rawText(ordinal: number): Buffer;
  /** The ordinal holding `sortKey(userId, key)`, tombstoned or not. */
  find(sortKey: string): number | undefined;
  /** Ordinals whose sort key starts with `prefix`. */
  withPrefix(prefix: string): number[];
}

/** A segment, the ordinals tombstoned in it, and per term how many of those hold it (to take out of its document frequency). */
export interface SegmentSource {
  segment: Segment;
  dead: ReadonlySet<number>;
  deadDf: ReadonlyMap<string, number>;
}
