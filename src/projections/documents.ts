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
  /** How many live documents name each blob: a blob at 0 may be removed. */
  blobRefs: Map<string, number>;
  /** Owner of each live session, so a session's uploads are listed under its user. */
  sessionOwners: Map<string, string>;
}

/**
 * Documents and the blobs they name. Deleting a session deletes its documents
 * (their blobs go once nothing else names them).
 */
export const documentsProjection = defineProjection<DocumentsState>({
  name: 'documents',
  version: 1,
  handles: ['session.created', 'session.deleted', 'document.uploaded', 'document.analysed', 'document.deleted'],
  init: () => ({ documents: new Map(), bySession: new Map(), byUser: new Map(), blobRefs: new Map(), sessionOwners: new Map() }),
  apply(state, event: CatalogEvent) {
    const owner = streamEntity(event.streamId);
    if (!owner) return;
    switch (event.type) {
      case 'session.created':
        if (owner.kind === 'session' && event.version === 1) state.sessionOwners.set(owner.id, event.data.userId);
        return;
      case 'session.deleted':
        if (owner.kind !== 'session') return;
        for (const id of [...(state.bySession.get(owner.id) ?? [])]) remove(state, id);
        state.sessionOwners.delete(owner.id);
        return;
      case 'document.uploaded': {
        const { documentId, name, mediaType, size, sha256, metadata, createdAt = event.timestamp } = event.data;
        const userId = owner.kind === 'user' ? owner.id : state.sessionOwners.get(owner.id);
        if (userId === undefined || state.documents.has(documentId)) return;
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
  state.documents.delete(documentId);
  if (doc.sessionId !== undefined) pull(state.bySession, doc.sessionId, documentId);
  pull(state.byUser, doc.userId, documentId);
  const refs = state.blobRefs.get(doc.sha256)! - 1;
  if (refs === 0) state.blobRefs.delete(doc.sha256);
  else state.blobRefs.set(doc.sha256, refs);
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
