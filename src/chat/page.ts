import { describe, invalid } from '../kernel/validation.js';

/** One page of a listing. */
export interface Page<T> {
  items: T[];
  /** More items lie beyond this page in the direction of travel. */
  hasMore: boolean;
  /** Pass as `after` for the page after this one (absent on an empty page). */
  nextCursor?: string;
  /** Pass as `before` for the page before this one (absent on an empty page). */
  prevCursor?: string;
  /** The global position the page reflects. */
  position: number;
}

export interface PageOptions {
  /** Items per page (at most 1000; the default is the listing's: 50 messages, 20 sessions). */
  limit?: number;
  /** Items after this cursor, in the listing's order. */
  after?: string;
  /** Items before this cursor, in the listing's order. */
  before?: string;
}

const MAX_PAGE = 1000;

export function pageLimit(limit: unknown, fallback = 50): number {
  if (limit === undefined) return fallback;
  if (typeof limit !== 'number' || !Number.isInteger(limit) || limit < 1 || limit > MAX_PAGE) {
    throw invalid('limit', `must be an integer from 1 to ${MAX_PAGE}; got ${describe(limit)}`);
  }
  return limit;
}

/** Cursors are opaque to callers: base64url of a small JSON array the listing defines. */
export function encodeCursor(key: readonly (string | number)[]): string {
  return Buffer.from(JSON.stringify(key)).toString('base64url');
}

/** The cursor's key, checked against `shape` (the type of each element); INVALID_ARGUMENT naming `field` otherwise. */
export function decodeCursor(cursor: unknown, field: string, shape: readonly ('string' | 'number')[]): (string | number)[] {
  if (typeof cursor !== 'string' || cursor.length === 0 || cursor.length > 512) throw invalid(field, 'must be a cursor string from an earlier page');
  let key: unknown;
  try {
    key = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    key = undefined;
  }
  if (!Array.isArray(key) || key.length !== shape.length || key.some((k, i) => typeof k !== shape[i] || (typeof k === 'number' && !Number.isSafeInteger(k)))) {
    throw invalid(field, 'is not a cursor of this listing');
  }
  return key as (string | number)[];
}

/** `after` and `before` exclude each other. */
export function pageDirection(options: PageOptions): 'after' | 'before' | undefined {
  if (options.after !== undefined && options.before !== undefined) throw invalid('before', 'cannot be given with after');
  return options.after !== undefined ? 'after' : options.before !== undefined ? 'before' : undefined;
}
