/**
 * What the search index holds: one searchable item (a message, a session's
 * title and tags, a document's name and text, a session's context) with its
 * text fields and the fields queries filter on.
 */

/** Text fields, in the order their lengths are stored. Weights favour names over bodies, and what was said over the model's reasoning. */
export const FIELDS = ['title', 'tags', 'body', 'reasoning'] as const;
export type Field = (typeof FIELDS)[number];
const FIELD_WEIGHTS: Readonly<Record<Field, number>> = { title: 3, tags: 2, body: 1, reasoning: 0.5 };

/**
 * Entity terms are postings of a field after the text fields: the entity
 * filter matches them, but they score nothing (a mention is a filter, the
 * text around it is what ranks) and have no length.
 */
export const ENTITY_FIELD = FIELDS.length;

export function fieldWeight(field: number): number {
  return field < FIELDS.length ? FIELD_WEIGHTS[FIELDS[field]!] : 0;
}

export type DocKind = 'message' | 'session' | 'document' | 'context';

export interface SearchDoc {
  /** Unique per item; sorts a session's items together (see docKey). */
  key: string;
  kind: DocKind;
  userId: string;
  /** '' for a document of the user's own library. */
  sessionId: string;
  /** The message, session, document or context id (the session id for sessions and contexts). */
  itemId: string;
  /** A message's role, '' for other kinds. */
  role: string;
  /** When the item was created (ms): a message's add, a session's creation, a document's upload, a context's last change. */
  timestamp: number;
  /** The text of each field; absent fields are empty. */
  fields: Partial<Record<Field, string>>;
  /**
   * Index terms (entityTerms) of the entities given with the item: a message's
   * metadata entities, a document's latest analysis entities. Those found in
   * the text are derived from `fields` when indexed (indexedEntityTerms).
   */
  entities?: string[];
}

const KIND_CODE: Readonly<Record<DocKind, string>> = { session: 's', context: 'c', document: 'd', message: 'm' };

/**
 * `<scope> NUL <kind> NUL <id>`: the scope (the session id, or `~` and the user
 * id for a user's library; `~` is outside the id alphabet) comes first, so a
 * session's items are one key range in every segment.
 */
export function docKey(kind: DocKind, scope: string, itemId: string): string {
  return `${scope}\u0000${KIND_CODE[kind]}\u0000${itemId}`;
}

export function sessionKeyPrefix(sessionId: string): string {
  return `${sessionId}\u0000`;
}

export function libraryScope(userId: string): string {
  return `~${userId}`;
}

/** Plain code-unit order, the same in memory and on disk. */
export function compareKeys(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
