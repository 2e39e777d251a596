import type { DocKind, Field } from './search-doc.js';

/** One occurrence list: a term in one field of one document. */
export interface Posting {
  doc: number;
  /** Index in FIELDS. */
  field: number;
  tf: number;
  /** Word positions, increasing (for phrases). */
  positions: number[];
}

/** A document as a segment stores it: everything but the text, which is read only for snippets. */
export interface DocRecord {
  key: string;
  kind: DocKind;
  userId: string;
  sessionId: string;
  itemId: string;
  role: string;
  timestamp: number;
  /** Words per field, in FIELDS order (BM25's document lengths). */
  lengths: number[];
}

/**
 * What queries and merges read, whether the segment is the in-memory one for
 * recent writes or an immutable file. Ordinals run 0..docCount-1; postings
 * come in ordinal order.
 */
export interface Segment {
  readonly docCount: number;
  doc(ordinal: number): DocRecord;
  /** The document's user, without building its record: queries drop other users' postings first. */
  userOf(ordinal: number): string;
  /**
   * A term's postings. `positions` (default true) may be false, or say for
   * which ordinals to decode them (only phrases need them, and only for the
   * documents they may return); the others' `positions` may be empty.
   */
  postings(term: string, positions?: boolean | ((ordinal: number) => boolean)): Posting[];
  /** How large a term's postings are (entries or bytes, 0 when absent), without reading them: to order a query's clauses. */
  postingsSize(term: string): number;
  /** Every term starting with `prefix`, sorted. */
  terms(prefix: string): string[];
  /** The stored text of a document's fields. */
  text(ordinal: number): Partial<Record<Field, string>>;
  /** The ordinal holding `key`, tombstoned or not. */
  find(key: string): number | undefined;
  /** Ordinals whose key starts with `prefix`. */
  withPrefix(prefix: string): number[];
}
