import type { Readable } from 'node:stream';
import { monotonicFactory } from 'ulid';
import { type CatalogEvent, upcast } from '../events/catalog.js';
import type { DocumentAnalysed, DocumentUploaded } from '../events/documents.js';
import { type JsonObject, fields, label, mediaType, object } from '../events/fields.js';
import { sessionStream, userStream } from '../events/streams.js';
import { type DocumentView, documentsProjection } from '../projections/documents.js';
import { sessionsProjection } from '../projections/sessions.js';
import { usersProjection } from '../projections/users.js';
import { type BlobSource, type ByteRange, assertMaxBytes, assertSha256 } from '../blobs/blob-store.js';
import { assertId, assertInert, assertPositiveInteger, invalid } from '../kernel/validation.js';
import { ErrorCode, FfcdbError } from '../kernel/errors.js';
import type { JsonValue } from '../kernel/types.js';
import { createdAt as historicalTime } from './created-at.js';
import { type ChatCore, type ReadOptions, type WriteOptions, assertOptions, detached, notFound, payload } from './chat-core.js';
import type { Reflected } from './users-api.js';

export type { DocumentView };

export interface NewDocument {
  /** The session it belongs to; leave out (and give `userId`) for the user's own library. */
  sessionId?: string;
  userId?: string;
  /** Generated (a ULID) when left out. */
  documentId?: string;
  /** The file name shown; optional. */
  name?: string;
  mediaType: string;
  metadata?: JsonObject;
  /** For history imported: when the document was made (an ISO 8601 string, a Date, or ms since the epoch; 1970 to 9999); it reads as uploaded then. */
  createdAt?: string | Date | number;
  /** Refuse bytes hashing to anything else (an upload's checksum). */
  sha256?: string;
  /** Refuse more bytes than this (default: the blob store's limit). */
  maxBytes?: number;
}

/** What an analyser found; at least one field. */
export type AnalysisResult = Omit<DocumentAnalysed, 'documentId' | 'analysisVersion'>;

export interface Analysis extends DocumentAnalysed {
  at: number;
}

const nextId = monotonicFactory();
const UPLOAD_FIELDS = ['sessionId', 'userId', 'documentId', 'name', 'mediaType', 'metadata', 'sha256', 'maxBytes', 'createdAt'];

/**
 * Documents: bytes in the blob store (once per content hash), named by events
 * in the session's (or the user's) stream. A blob is removed once no document
 * names it, live or of a deleted session not purged (kept for a restore); the
 * blob lock keeps that from racing an upload of the same bytes in any process.
 */
export class DocumentsApi {
  readonly #core: ChatCore;

  constructor(core: ChatCore) {
    this.#core = core;
  }

  /** Stores the bytes durably, then records the document. NOT_FOUND for an unknown session or user; CONFLICT for a document id in use. */
  async upload(document: NewDocument, source: BlobSource, options?: WriteOptions): Promise<Reflected<DocumentView>> {
    // Unknown fields are refused: a misspelt `metdata` must not be dropped without a word.
    const { sessionId, userId, documentId = nextId(), name, mediaType: type, metadata, sha256: expectedSha256, maxBytes, createdAt } = fields(document, 'document', UPLOAD_FIELDS) as unknown as NewDocument;
    const stream = this.#home(sessionId, userId);
    assertId(documentId, 'documentId');
    if (name !== undefined) label(name, 'document.name');
    const at = historicalTime(createdAt, 'document.createdAt');
    mediaType(type, 'document.mediaType');
    if (expectedSha256 !== undefined) assertSha256(expectedSha256, 'document.sha256');
    if (maxBytes !== undefined) assertMaxBytes(maxBytes, 'document.maxBytes');
    this.#assertHome(sessionId, userId);
    assertInert(source, 'source');
    const put = await this.#core.blobs.put(source, { ...(maxBytes === undefined ? {} : { maxBytes }), ...(expectedSha256 === undefined ? {} : { expectedSha256 }) });
    const data: DocumentUploaded = {
      documentId,
      ...(name === undefined ? {} : { name }),
      mediaType: type,
      size: put.size,
      sha256: put.sha256,
      ...(metadata === undefined ? {} : { metadata }),
      ...(at === undefined ? {} : { createdAt: at }),
    };
    try {
      await this.#core.blobs.withLock(async () => {
        // A delete elsewhere may have removed these bytes between our put and the lock.
        if (!(await this.#core.blobs.has(put.sha256))) {
          throw new FfcdbError(ErrorCode.CONFLICT, 'the document bytes were removed by a concurrent delete before they could be recorded; upload again', { field: 'data' });
        }
        // Uploads record under the blob lock in every process: with their records applied, a document id is claimed by one stream only.
        await this.#core.runner.catchUp();
        await this.#core.command(stream, options, () => {
          this.#assertHome(sessionId, userId);
          const documents = this.#core.state(documentsProjection);
          if (documents.documents.has(documentId)) {
            throw new FfcdbError(ErrorCode.CONFLICT, `document ${JSON.stringify(documentId)} already exists`, { field: 'documentId', documentId });
          }
          if (documents.deletedIds.has(documentId)) {
            throw new FfcdbError(ErrorCode.CONFLICT, `document ${JSON.stringify(documentId)} belongs to a deleted session, kept until it is purged`, { field: 'documentId', documentId });
          }
          return { events: [{ type: 'document.uploaded', data, field: 'document' }], expected: this.#streamVersion(sessionId, userId) };
        });
      });
    } catch (err) {
      if (put.created) await this.release([put.sha256]);
      throw err;
    }
    return this.get(documentId);
  }

  /** NOT_FOUND when missing or deleted. */
  async get(documentId: string, options?: ReadOptions): Promise<Reflected<DocumentView>> {
    assertId(documentId, 'documentId');
    const position = await this.#core.reflect(options);
    return { ...detached(this.#document(documentId)), position };
  }

  /**
   * The document's bytes, streamed (or a byte range of them). Bytes that no
   * longer match the document's size are CORRUPT here (a range inside what is
   * left still reads); a whole read whose bytes do not match its sha256 fails
   * the stream with CORRUPT before its last chunk.
   */
  async open(documentId: string, range?: ByteRange): Promise<Readable> {
    assertId(documentId, 'documentId');
    assertInert(range, 'range');
    if (Array.isArray(range)) throw invalid('range', 'must be an object');
    const { sha256, size } = this.#document(documentId);
    return this.#core.blobs.openRead(sha256, range, { expectedSize: size });
  }

  /** The documents of a session, or of a user (their library and every session's), in upload order. */
  async list(owner: { sessionId: string } | { userId: string }, options?: ReadOptions): Promise<{ items: DocumentView[]; position: number }> {
    object(owner, 'owner');
    const state = this.#core.state(documentsProjection);
    let ids: string[];
    if ('sessionId' in owner) {
      assertId(owner.sessionId, 'sessionId');
      if (!this.#core.state(sessionsProjection).sessions.has(owner.sessionId)) throw notFound('session', owner.sessionId, 'sessionId');
      ids = state.bySession.get(owner.sessionId) ?? [];
    } else if ('userId' in owner) {
      assertId(owner.userId, 'userId');
      if (!this.#core.state(usersProjection).has(owner.userId)) throw notFound('user', owner.userId, 'userId');
      ids = state.byUser.get(owner.userId) ?? [];
    } else {
      throw invalid('owner', 'must be { sessionId } or { userId }');
    }
    const position = await this.#core.reflect(options);
    return { items: ids.map((id) => detached(state.documents.get(id)!)), position };
  }

  /** Attaches analysis results as the document's next analysis version. */
  async analyse(documentId: string, result: AnalysisResult, options?: WriteOptions): Promise<Analysis & { position: number }> {
    assertId(documentId, 'documentId');
    payload(result, 'result', ['documentId', 'analysisVersion']);
    const doc = this.#document(documentId);
    const stream = homeStream(doc);
    const appended = await this.#core.command(stream, options, () => {
      const current = this.#document(documentId);
      const analysisVersion = (current.analyses.at(-1)?.analysisVersion ?? 0) + 1;
      return { events: [{ type: 'document.analysed', data: { documentId, analysisVersion, ...result }, field: 'result' }], expected: this.#streamVersion(current.sessionId, current.userId) };
    });
    const [e] = (await this.#core.events.readAll({ fromPosition: appended.firstPosition, limit: 1 })).events;
    return { ...analysisFrom(upcast(e!)), position: this.#core.runner.position };
  }

  /** Every analysis of the document, oldest first, or only `analysisVersion`. */
  async analyses(documentId: string, options: ReadOptions & { analysisVersion?: number } = {}): Promise<{ analyses: Analysis[]; position: number }> {
    assertId(documentId, 'documentId');
    assertOptions(options);
    if (options.analysisVersion !== undefined) assertPositiveInteger(options.analysisVersion, 'analysisVersion', 1);
    const position = await this.#core.reflect(options);
    const doc = this.#document(documentId);
    const stream = homeStream(doc);
    const refs = options.analysisVersion === undefined ? doc.analyses : doc.analyses.filter((a) => a.analysisVersion === options.analysisVersion);
    const analyses: Analysis[] = [];
    for (const ref of refs) {
      const [e] = await this.#core.events.readStream(stream, { fromVersion: ref.streamVersion, limit: 1 });
      analyses.push(analysisFrom(upcast(e!)));
    }
    return { analyses, position };
  }

  /** Reads stop returning the document; its bytes go once no other document names them (a deleted session's included, until purged). */
  async delete(documentId: string, options?: WriteOptions): Promise<{ documentId: string; position: number }> {
    assertId(documentId, 'documentId');
    const doc = this.#document(documentId);
    const stream = homeStream(doc);
    const result = await this.#core.command(stream, options, () => {
      const current = this.#document(documentId);
      return { events: [{ type: 'document.deleted', data: { documentId } }], expected: this.#streamVersion(current.sessionId, current.userId) };
    });
    await this.release([doc.sha256]);
    return { documentId, position: result.lastPosition };
  }

  /** Removes each blob no document names (live, or of a deleted session not purged), under the blob lock, after seeing every process's uploads. */
  release(sha256s: Iterable<string>): Promise<void> {
    return releaseBlobs(this.#core, sha256s);
  }

  #document(documentId: string): DocumentView {
    const doc = this.#core.state(documentsProjection).documents.get(documentId);
    if (!doc) throw notFound('document', documentId, 'documentId');
    return doc;
  }

  /** The stream a new document goes to: its session's, or its user's. */
  #home(sessionId: string | undefined, userId: string | undefined): string {
    if ((sessionId === undefined) === (userId === undefined)) throw invalid('document', 'must give exactly one of sessionId and userId');
    if (sessionId !== undefined) {
      assertId(sessionId, 'sessionId');
      return sessionStream(sessionId);
    }
    assertId(userId, 'userId');
    return userStream(userId!);
  }

  #assertHome(sessionId: string | undefined, userId: string | undefined): void {
    if (sessionId !== undefined && !this.#core.state(sessionsProjection).sessions.has(sessionId)) throw notFound('session', sessionId, 'sessionId');
    if (userId !== undefined && !this.#core.state(usersProjection).has(userId)) throw notFound('user', userId, 'userId');
  }

  #streamVersion(sessionId: string | undefined, userId: string | undefined): number {
    return sessionId !== undefined ? this.#core.state(sessionsProjection).sessions.get(sessionId)!.version : this.#core.state(usersProjection).get(userId!)!.version;
  }
}

/** Removes each blob no live document names, under the blob lock, after seeing every process's uploads. */
export async function releaseBlobs(core: ChatCore, sha256s: Iterable<string>): Promise<void> {
  const candidates = [...sha256s];
  if (candidates.length === 0) return;
  await core.blobs.withLock(async () => {
    await core.runner.catchUp();
    const refs = core.state(documentsProjection).blobRefs;
    for (const sha of candidates) if (!refs.has(sha)) await core.blobs.delete(sha);
  });
}

function analysisFrom(e: CatalogEvent): Analysis {
  const data = e.data as DocumentAnalysed & { data?: JsonValue };
  return { ...data, at: e.timestamp };
}

/** The stream a document's events live in: its session's, or its user's for a library document. */
function homeStream(doc: DocumentView): string {
  return doc.sessionId === undefined ? userStream(doc.userId) : sessionStream(doc.sessionId);
}
