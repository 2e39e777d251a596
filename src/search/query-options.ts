import type { SearchRegistry } from '../projections/search/projection.js';
import { assertId, assertPositiveInteger, invalid } from '../kernel/validation.js';
import type { DocRecord } from './segment.js';
import type { DocKind } from '../projections/search/search-doc.js';
import { entityQueryTerm } from '../projections/search/entities.js';

export interface SearchOptions {
  /** 'and' (default): every word, phrase and prefix must match; 'or': any. */
  operator?: 'and' | 'or';
  /** Only items of this session. */
  sessionId?: string;
  /** Only messages of these roles (other kinds of items have none). */
  role?: string | string[];
  /** Only items stamped at or after / before (ms since the epoch). */
  from?: number;
  to?: number;
  /** Only items of sessions that carry this tag now. */
  tag?: string;
  /**
   * Only items that mention this entity: found in their text (an email, URL,
   * @mention, #tag, id or name) or given with them (message metadata, a
   * document's analysis). A string matches any type; `{ type, value }` that
   * type only. With it the query may be empty: every item mentioning it,
   * in key order (session, kind, id).
   */
  entity?: string | { type: string; value: string };
  /** Only these kinds of items (default: all). */
  kinds?: DocKind[];
  /** 1-100, default 20. */
  limit?: number;
  /** `nextCursor` of the previous page. */
  after?: string;
}

const KINDS: readonly DocKind[] = ['message', 'session', 'document', 'context'];

/** Whether a document of the user passes every filter. */
export function passes(r: DocRecord, o: CheckedOptions, registry: SearchRegistry): boolean {
  if (o.sessionId !== undefined && r.sessionId !== o.sessionId) return false;
  if (o.roles && !o.roles.has(r.role)) return false;
  if (o.from !== undefined && r.timestamp < o.from) return false;
  if (o.to !== undefined && r.timestamp >= o.to) return false;
  if (o.kinds && !o.kinds.has(r.kind)) return false;
  if (o.tag !== undefined && !(registry.sessions.get(r.sessionId)?.tags.includes(o.tag) ?? false)) return false;
  return true;
}

interface CheckedOptions {
  operator: 'and' | 'or';
  sessionId: string | undefined;
  roles: Set<string> | undefined;
  from: number | undefined;
  to: number | undefined;
  tag: string | undefined;
  /** The index term the entity option looks up, and its text as given. */
  entity: { term: string; text: string } | undefined;
  kinds: Set<DocKind> | undefined;
  limit: number;
  /** The last hit of the previous page: its score (a listing: its time), time and key. */
  after: [number, number, string] | undefined;
}

const OPTION_KEYS = new Set(['operator', 'sessionId', 'role', 'from', 'to', 'tag', 'entity', 'kinds', 'limit', 'after']);

export function checkOptions(o: SearchOptions): CheckedOptions {
  if (o === null || typeof o !== 'object' || Array.isArray(o)) throw invalid('options', 'must be an object');
  for (const key of Object.keys(o)) if (!OPTION_KEYS.has(key)) throw invalid(`options.${key}`, 'is not a search option');
  if (o.operator !== undefined && o.operator !== 'and' && o.operator !== 'or') throw invalid('operator', "must be 'and' or 'or'");
  if (o.sessionId !== undefined) assertId(o.sessionId, 'sessionId');
  const roles = o.role === undefined ? undefined : Array.isArray(o.role) ? o.role : [o.role];
  roles?.forEach((r, i) => {
    if (typeof r !== 'string' || r.length === 0 || r.length > 32) throw invalid(Array.isArray(o.role) ? `role[${i}]` : 'role', 'must be a role name of 1-32 characters');
  });
  for (const key of ['from', 'to'] as const) {
    const v = o[key];
    if (v !== undefined && (typeof v !== 'number' || !Number.isFinite(v))) throw invalid(key, 'must be a time in ms since the epoch');
  }
  if (o.tag !== undefined && (typeof o.tag !== 'string' || o.tag.length === 0 || o.tag.length > 64)) throw invalid('tag', 'must be a tag of 1-64 characters');
  if (o.kinds !== undefined && (!Array.isArray(o.kinds) || o.kinds.length === 0 || !o.kinds.every((k) => KINDS.includes(k)))) throw invalid('kinds', `must be a non-empty list of ${KINDS.join(', ')}`);
  if (o.limit !== undefined) {
    assertPositiveInteger(o.limit, 'limit', 1);
    if (o.limit > 100) throw invalid('limit', 'must be at most 100');
  }
  return {
    operator: o.operator ?? 'and',
    sessionId: o.sessionId,
    roles: roles && new Set(roles),
    from: o.from,
    to: o.to,
    tag: o.tag,
    entity: o.entity === undefined ? undefined : { term: entityQueryTerm(o.entity), text: typeof o.entity === 'string' ? o.entity : o.entity.value },
    kinds: o.kinds && new Set(o.kinds),
    limit: o.limit ?? 20,
    after: o.after === undefined ? undefined : decodeCursor(o.after),
  };
}

function decodeCursor(cursor: unknown): [number, number, string] {
  // Room for the longest: a key of two 512-byte ids, each byte escaped in the JSON.
  if (typeof cursor === 'string' && cursor.length <= 4_000) {
    try {
      const v: unknown = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
      if (Array.isArray(v) && v.length === 3 && typeof v[0] === 'number' && typeof v[1] === 'number' && typeof v[2] === 'string') return [v[0], v[1], v[2]];
    } catch {
      // Reported below, as any other malformed cursor.
    }
  }
  throw invalid('after', 'must be a nextCursor of a previous search page');
}
