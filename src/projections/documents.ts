import type { CatalogEvent } from '../events/catalog.js';
import type { JsonObject } from '../events/fields.js';
import { streamEntity } from '../events/streams.js';
import { defineProjection } from './projection.js';

/** One analysis attached to a document; its results stay in the log, at `streamVersion`. */
interface AnalysisRef {
  analysisVersion: number;
  streamVersion: number;
  at: number;
}

export interface DocumentView {
  documentId: string;
  userId: string;
  /** The session it was uploaded to; absent for a document of the user's own library. */
  sessionId?: string;
  /** Absent when the upload gave none. */
  name?: string;
  mediaType: string;
  size: number;
  sha256: string;
  metadata: JsonObject;
  /** The time the upload gave as `createdAt` (history imported), else the time of its document.uploaded. */
  uploadedAt: number;
  /** Every analysis, in the order they were attached. */
  analyses: AnalysisRef[];
}

export interface DocumentsState {
  documents: Map<string, DocumentView>;
  /** Document ids per session and per user, in upload order. */
  bySession: Map<string, string[]>;
  byUser: Map<string, string[]>;
  /** How many documents name each blob, live ones and those of deleted sessions: a blob at 0 may be removed. */
  blobRefs: Map<string, number>;
  /** Owner of each live session, so a session's uploads are listed under its user. */
  sessionOwners: Map<string, string>;
  /** Each deleted, not purged, session's owner and its documents as they were, in upload order: hidden, their ids and blobs kept until a purge. */
  deletedSessions: Map<string, { userId: string; documents: DocumentView[] }>;
  /** The session of each document a deleted session holds: its id stays taken. */
  deletedIds: Map<string, string>;
}

/**
 * Documents and the blobs they name. Deleting a session hides its documents
 * and keeps their blobs, so a restore brings them back; a purge deletes them
 * (their blobs go once nothing else names them).
 */
export const documentsProjection = defineProjection<DocumentsState>({
  name: 'documents',
  version: 2,
  handles: ['session.created', 'session.deleted', 'session.restored', 'document.uploaded', 'document.analysed', 'document.deleted'],
  init: () => ({ documents: new Map(), bySession: new Map(), byUser: new Map(), blobRefs: new Map(), sessionOwners: new Map(), deletedSessions: new Map(), deletedIds: new Map() }),
  apply(state, event: CatalogEvent) {
    const owner = streamEntity(event.streamId);
    if (!owner) return;
    switch (event.type) {
      case 'session.created':
        if (owner.kind === 'session' && event.version === 1) state.sessionOwners.set(owner.id, event.data.userId);
        return;
      case 'session.deleted':
        if (owner.kind === 'session') sessionDeleted(state, owner.id, event.data.purge === true);
        return;
      case 'session.restored':
        if (owner.kind === 'session') sessionRestored(state, owner.id);
        return;
      case 'document.uploaded': {
        const { documentId, name, mediaType, size, sha256, metadata, createdAt = event.timestamp } = event.data;
        const userId = owner.kind === 'user' ? owner.id : state.sessionOwners.get(owner.id);
        if (userId === undefined || state.documents.has(documentId) || state.deletedIds.has(documentId)) return;
        const doc: DocumentView = { documentId, userId, mediaType, size, sha256, metadata: metadata ?? {}, uploadedAt: createdAt, analyses: [] };
        if (name !== undefined) doc.name = name;
        if (owner.kind === 'session') {
          doc.sessionId = owner.id;
          push(state.bySession, owner.id, documentId);
        }
        state.documents.set(documentId, doc);
        push(state.byUser, userId, documentId);
        state.blobRefs.set(sha256, (state.blobRefs.get(sha256) ?? 0) + 1);
        return;
      }
      case 'document.analysed': {
        const doc = ownDocument(state, owner, event.data.documentId);
        doc?.analyses.push({ analysisVersion: event.data.analysisVersion, streamVersion: event.version, at: event.timestamp });
        return;
      }
      case 'document.deleted':
        if (ownDocument(state, owner, event.data.documentId)) remove(state, event.data.documentId);
        return;
      default:
    }
  },
});

/** A live session's documents leave reads, kept with their blobs (unless purged); a purge of a deleted one drops what it kept. */
function sessionDeleted(state: DocumentsState, sessionId: string, purge: boolean): void {
  const owner = state.sessionOwners.get(sessionId);
  if (owner !== undefined) {
    const documents = (state.bySession.get(sessionId) ?? []).map((id) => state.documents.get(id)!);
    state.sessionOwners.delete(sessionId);
    for (const doc of documents) {
      unlist(state, doc);
      if (purge) release(state, doc.sha256);
      else state.deletedIds.set(doc.documentId, sessionId);
    }
    if (!purge) state.deletedSessions.set(sessionId, { userId: owner, documents });
    return;
  }
  const gone = state.deletedSessions.get(sessionId);
  if (!gone || !purge) return;
  state.deletedSessions.delete(sessionId);
  for (const doc of gone.documents) {
    state.deletedIds.delete(doc.documentId);
    release(state, doc.sha256);
  }
}

/** A deleted session's documents back in reads, each in its place in its user's upload order. */
function sessionRestored(state: DocumentsState, sessionId: string): void {
  const gone = state.deletedSessions.get(sessionId);
  if (!gone) return;
  state.deletedSessions.delete(sessionId);
  state.sessionOwners.set(sessionId, gone.userId);
  for (const doc of gone.documents) {
    state.deletedIds.delete(doc.documentId);
    state.documents.set(doc.documentId, doc);
    push(state.bySession, sessionId, doc.documentId);
    const mine = state.byUser.get(gone.userId);
    if (!mine) state.byUser.set(gone.userId, [doc.documentId]);
    else {
      // After every document uploaded at or before it: upload times follow the log's order, as a rule.
      let at = mine.length;
      while (at > 0 && state.documents.get(mine[at - 1]!)!.uploadedAt > doc.uploadedAt) at--;
      mine.splice(at, 0, doc.documentId);
    }
  }
}

/** The document, if it lives in the stream the event came from (a stream cannot touch another's documents). */
function ownDocument(state: DocumentsState, owner: { kind: string; id: string }, documentId: string): DocumentView | undefined {
  const doc = state.documents.get(documentId);
  if (!doc) return undefined;
  const home = doc.sessionId === undefined ? { kind: 'user', id: doc.userId } : { kind: 'session', id: doc.sessionId };
  return home.kind === owner.kind && home.id === owner.id ? doc : undefined;
}

function remove(state: DocumentsState, documentId: string): void {
  const doc = state.documents.get(documentId);
  if (!doc) return;
  unlist(state, doc);
  release(state, doc.sha256);
}

/** Out of reads: the document by id, by session and by user. */
function unlist(state: DocumentsState, doc: DocumentView): void {
  state.documents.delete(doc.documentId);
  if (doc.sessionId !== undefined) pull(state.bySession, doc.sessionId, doc.documentId);
  pull(state.byUser, doc.userId, doc.documentId);
}

function release(state: DocumentsState, sha256: string): void {
  const refs = state.blobRefs.get(sha256)! - 1;
  if (refs === 0) state.blobRefs.delete(sha256);
  else state.blobRefs.set(sha256, refs);
}

function push(index: Map<string, string[]>, key: string, id: string): void {
  const list = index.get(key);
  if (list) list.push(id);
  else index.set(key, [id]);
}

function pull(index: Map<string, string[]>, key: string, id: string): void {
  const list = index.get(key);
  if (!list) return;
  list.splice(list.indexOf(id), 1);
  if (list.length === 0) index.delete(key);
}
