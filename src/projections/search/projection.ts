import type { CatalogEvent, EventType } from '../../events/catalog.js';
import type { Entity } from '../../events/documents.js';
import type { JsonObject } from '../../events/fields.js';
import type { ContentPart } from '../../events/messages.js';
import { streamEntity } from '../../events/streams.js';
import { entityTerms, findEntities } from './entities.js';
import { type SearchDoc, docKey, libraryScope } from './search-doc.js';
import type { JsonValue } from '../../kernel/types.js';
import { applyContextChange } from '../context.js';

/**
 * The search projection's pure half: it turns each chat event into changes of
 * the index (documents put, updated or deleted). Its own state is only what
 * that needs and the events do not repeat: each live session's owner, title,
 * tags and current context. The index itself lives in segment files on disk,
 * so this is run by the search index (src/search/search-index.ts), which owns
 * the files and the checkpoint, rather than by the projection runner, whose
 * states are whole snapshots in memory.
 *
 * The version is that of everything the index holds: the documents this
 * projection gives, their entity terms, and the terms and positions the
 * tokenizer (src/search/tokenizer.ts) makes of their text. Any change to one
 * of them bumps it, and an index written under another version is rebuilt
 * from the log when it is opened (the manifest records it). 3: compounds take
 * a position per part, acronym plurals stem to the acronym, URLs are found by
 * their domain. 4: deleted sessions are kept in the registry until purged,
 * and a restore indexes a session again.
 */
export const SEARCH_PROJECTION_VERSION = 4;

export const SEARCH_HANDLES: readonly EventType[] = [
  'session.created', 'session.renamed', 'session.tagged', 'session.updated', 'session.deleted', 'session.restored',
  'message.added', 'message.edited', 'message.deleted', 'message.truncated',
  'document.uploaded', 'document.analysed', 'document.deleted',
  'context.set', 'context.patched',
];

interface SearchSession {
  userId: string;
  title: string;
  tags: string[];
  context: JsonObject;
}

export interface SearchRegistry {
  sessions: Map<string, SearchSession>;
  /** Deleted, not purged, sessions as they were: their documents leave the index, and come back on a restore. */
  deleted: Map<string, SearchSession>;
}

export type SearchChange =
  | { op: 'put'; doc: SearchDoc }
  /**
   * New text for some fields of an indexed document, and new given entities
   * when `entities` is there; the rest stays. Nothing happens if the key is
   * not indexed.
   */
  | { op: 'update'; key: string; fields: SearchDoc['fields']; entities?: string[] }
  | { op: 'delete'; key: string }
  | { op: 'deleteSession'; sessionId: string }
  /**
   * A deleted session restored: its documents as they were at its deletion
   * go back into the index. The index derives them from the session's events
   * up to this one (`sessionDocs`): the changes do not repeat them.
   */
  | { op: 'restoreSession'; sessionId: string; version: number };

export function initSearchRegistry(): SearchRegistry {
  return { sessions: new Map(), deleted: new Map() };
}

/** The index changes `event` makes, updating `registry` in place. Deterministic: a replay gives the same changes. */
export function searchChanges(registry: SearchRegistry, event: CatalogEvent): SearchChange[] {
  const owner = streamEntity(event.streamId);
  if (!owner) return [];
  if (owner.kind === 'user') {
    // A user's own library holds documents only.
    const scope = libraryScope(owner.id);
    if (event.type === 'document.uploaded') return [{ op: 'put', doc: documentDoc(scope, owner.id, event) }];
    if (event.type === 'document.analysed') return analysisChange(scope, event);
    if (event.type === 'document.deleted') return [{ op: 'delete', key: docKey('document', scope, event.data.documentId) }];
    return [];
  }
  const sessionId = owner.id;
  const gone = registry.deleted.get(sessionId);
  if (gone) {
    if (event.type === 'session.restored') {
      registry.deleted.delete(sessionId);
      registry.sessions.set(sessionId, gone);
      return [{ op: 'restoreSession', sessionId, version: event.version }];
    }
    if (event.type === 'session.deleted' && event.data.purge === true) {
      registry.deleted.delete(sessionId);
      return [{ op: 'deleteSession', sessionId }];
    }
    return [];
  }
  if (event.type === 'session.created') {
    if (event.version !== 1 || registry.sessions.has(sessionId)) return [];
    const s: SearchSession = { userId: event.data.userId, title: event.data.title, tags: event.data.tags ?? [], context: {} };
    registry.sessions.set(sessionId, s);
    return [{ op: 'put', doc: base('session', sessionId, sessionId, s.userId, '', event.data.createdAt ?? event.timestamp, { title: s.title, tags: s.tags.join(' ') }) }];
  }
  const session = registry.sessions.get(sessionId);
  // Events of an unknown or deleted session (written around the chat API) index nothing.
  if (!session) return [];
  const sessionKey = docKey('session', sessionId, sessionId);
  switch (event.type) {
    case 'session.renamed':
      session.title = event.data.title;
      return [{ op: 'update', key: sessionKey, fields: { title: session.title } }];
    case 'session.tagged':
      session.tags = event.data.tags;
      return [{ op: 'update', key: sessionKey, fields: { tags: session.tags.join(' ') } }];
    case 'session.updated': {
      const { title, tags } = event.data;
      if (title === undefined && tags === undefined) return [];
      if (title !== undefined) session.title = title;
      if (tags !== undefined) session.tags = tags;
      return [{ op: 'update', key: sessionKey, fields: { ...(title !== undefined && { title }), ...(tags !== undefined && { tags: tags.join(' ') }) } }];
    }
    case 'session.deleted':
      registry.sessions.delete(sessionId);
      if (event.data.purge !== true) registry.deleted.set(sessionId, session);
      return [{ op: 'deleteSession', sessionId }];
    case 'message.added': {
      const doc = base('message', sessionId, event.data.messageId, session.userId, event.data.role, event.data.createdAt ?? event.timestamp, messageFields(event.data.content));
      const given = event.data.metadata?.entities;
      if (given?.length) doc.entities = givenTerms(given);
      return [{ op: 'put', doc }];
    }
    case 'message.edited': {
      const key = docKey('message', sessionId, event.data.messageId);
      // Metadata left out stays as it was, and so do its entities; metadata given replaces them.
      const { metadata } = event.data;
      return [{ op: 'update', key, fields: messageFields(event.data.content), ...(metadata && { entities: givenTerms(metadata.entities ?? []) }) }];
    }
    case 'message.deleted':
      return [{ op: 'delete', key: docKey('message', sessionId, event.data.messageId) }];
    case 'message.truncated':
      return event.data.messageIds.map((id) => ({ op: 'delete', key: docKey('message', sessionId, id) }));
    case 'document.uploaded':
      return [{ op: 'put', doc: documentDoc(sessionId, session.userId, event) }];
    case 'document.analysed':
      return analysisChange(sessionId, event);
    case 'document.deleted':
      return [{ op: 'delete', key: docKey('document', sessionId, event.data.documentId) }];
    case 'context.set':
    case 'context.patched': {
      session.context = applyContextChange(session.context, event);
      const body = stringValues(session.context).join('\n');
      return [{ op: 'put', doc: base('context', sessionId, sessionId, session.userId, '', event.timestamp, { body }) }];
    }
    default:
      return [];
  }
}

/**
 * The index documents a session's events give (in the order last put): what
 * the index holds for the session after them. The events are its stream's,
 * oldest first (an index restoring a session reads them from the log).
 */
export function sessionDocs(events: Iterable<CatalogEvent>): SearchDoc[] {
  const registry = initSearchRegistry();
  let docs = new Map<string, SearchDoc>();
  /** The documents a deletion took out, for a restore later in the stream. */
  let hidden = new Map<string, SearchDoc>();
  for (const event of events) {
    for (const change of searchChanges(registry, event)) {
      switch (change.op) {
        case 'put':
          docs.delete(change.doc.key);
          docs.set(change.doc.key, change.doc);
          break;
        case 'update': {
          const doc = docs.get(change.key);
          if (doc) docs.set(change.key, { ...doc, fields: { ...doc.fields, ...change.fields }, ...(change.entities && { entities: change.entities }) });
          break;
        }
        case 'delete':
          docs.delete(change.key);
          break;
        case 'deleteSession':
          hidden = docs;
          docs = new Map();
          break;
        case 'restoreSession':
          docs = hidden;
          hidden = new Map();
          break;
      }
    }
  }
  return [...docs.values()];
}

function base(kind: SearchDoc['kind'], scope: string, itemId: string, userId: string, role: string, timestamp: number, fields: SearchDoc['fields']): SearchDoc {
  const sessionId = scope.startsWith('~') ? '' : scope;
  return { key: docKey(kind, scope, itemId), kind, userId, sessionId, itemId, role, timestamp, fields };
}

function documentDoc(scope: string, userId: string, event: Extract<CatalogEvent, { type: 'document.uploaded' }>): SearchDoc {
  return base('document', scope, event.data.documentId, userId, '', event.data.createdAt ?? event.timestamp, event.data.name === undefined ? {} : { title: event.data.name });
}

/**
 * The latest analysis's summary and extracted text replace the previous one's,
 * and its entities the previous one's; an analysis without them (only `data`,
 * say) leaves them as they were.
 */
function analysisChange(scope: string, event: Extract<CatalogEvent, { type: 'document.analysed' }>): SearchChange[] {
  const { summary, text, entities } = event.data;
  if (summary === undefined && text === undefined && entities === undefined) return [];
  const fields = summary === undefined && text === undefined ? {} : { body: [summary, text].filter((t) => t !== undefined).join('\n\n') };
  return [{ op: 'update', key: docKey('document', scope, event.data.documentId), fields, ...(entities && { entities: givenTerms(entities) }) }];
}

function givenTerms(entities: readonly Entity[]): string[] {
  return entityTerms(entities.map((e) => ({ type: e.type, value: e.text })));
}

/** Text fields entities are found in: tags are labels the user chose, not text naming things. */
const ENTITY_FIELDS = ['title', 'body', 'reasoning'] as const;

/**
 * Every entity term the index holds for `doc`: those found in its text fields
 * by their shape, and those given with it (`doc.entities`). Found ones are
 * derived from the text here, when the document is indexed, rather than stored
 * by the projection, so an update of some fields (an edit, an analysis)
 * replaces exactly the entities of the text it replaces, while the given
 * ones follow their own rule (see `SearchChange`'s `update`).
 */
export function indexedEntityTerms(doc: Pick<SearchDoc, 'fields' | 'entities'>): string[] {
  const terms = entityTerms(ENTITY_FIELDS.flatMap((field) => findEntities(doc.fields[field] ?? '')));
  return doc.entities?.length ? [...new Set([...terms, ...doc.entities])].sort() : terms;
}

/**
 * Text parts are the body, reasoning parts a field of their own (weighted
 * lower: users look for what was said). Tool calls, tool results and
 * references are JSON or pointers, not prose, and are not indexed.
 */
function messageFields(content: string | ContentPart[]): SearchDoc['fields'] {
  if (typeof content === 'string') return { body: content, reasoning: '' };
  const body: string[] = [];
  const reasoning: string[] = [];
  for (const part of content) {
    if (part.type === 'text') body.push(part.text);
    else if (part.type === 'reasoning') reasoning.push(part.text);
  }
  return { body: body.join('\n'), reasoning: reasoning.join('\n') };
}

/** Every string value of a JSON value, depth first in key order as stored. */
function stringValues(value: JsonValue, out: string[] = []): string[] {
  if (typeof value === 'string') out.push(value);
  else if (Array.isArray(value)) for (const v of value) stringValues(v, out);
  else if (value !== null && typeof value === 'object' && !(value instanceof Uint8Array)) for (const v of Object.values(value)) stringValues(v, out);
  return out;
}
