import { monotonicFactory } from 'ulid';
import type { DocumentUploaded } from '../events/documents.js';
import { mediaType as checkMediaType } from '../events/fields.js';
import type { ContentPart, InlineForm, ReferencePart } from '../events/messages.js';
import { documentsProjection } from '../projections/documents.js';
import { ErrorCode, FfcdbError, isFfcdbError } from '../kernel/errors.js';
import { invalid } from '../kernel/validation.js';
import type { ChatCore, ChatEvent } from './chat-core.js';
import { releaseBlobs } from './documents-api.js';

/**
 * Bytes inline: an image or file part given as bytes (`bytes`) or as a base64
 * `data:` URL is stored as a document of the message's session (its bytes in
 * the blob store, once per content hash) and the part names it, with `inline`
 * saying how the bytes came; reads give the part back as it came, or as the
 * reference when asked (`inlineDocuments: false`). Bytes the session already
 * holds as a live document reuse that document.
 */

/** The document to record for one distinct blob of a write, and the parts that name it. */
interface PendingBlob {
  sha256: string;
  size: number;
  /** The blob was new to the store: removed again when the write fails. */
  created: boolean;
  mediaType: string;
  name?: string;
  /** The document id a new document gets (generated once, so a retried decision keeps it). */
  newId: string;
  parts: ReferencePart[];
}

/** The inline bytes of one write, stored in the blob store, waiting to be recorded with it. */
export interface InlineUploads {
  blobs: PendingBlob[];
}

const nextId = monotonicFactory();
/** `data:<media type and parameters>;base64,<bytes>`. */
const BASE64_DATA_URL = /^(data:([^,\p{Cc}]{0,256});base64,)([A-Za-z0-9+/]*={0,2})$/iu;
const DEFAULT_MEDIA_TYPE = 'application/octet-stream';

/**
 * Puts the inline bytes of the image and file parts of each payload (`field`
 * naming it) into the blob store, and gives the payload a content whose
 * parts name their document instead (the id filled in by
 * `inlineDocumentEvents`); the caller's objects are left as they are.
 * Undefined when no part held bytes inline.
 */
export async function storeInline(core: ChatCore, payloads: { payload: { content?: unknown }; field: string }[]): Promise<InlineUploads | undefined> {
  const bySha = new Map<string, PendingBlob>();
  try {
    for (const { payload, field } of payloads) {
      if (!Array.isArray(payload.content)) continue;
      const content: unknown[] = [...payload.content];
      for (const [i, given] of content.entries()) {
        const found = inlineBytes(given, `${field}.content[${i}]`);
        if (!found) continue;
        payload.content = content;
        const { bytes, form, at, headerType } = found;
        const put = await core.blobs.put(bytes).catch((err: unknown) => {
          throw isFfcdbError(err, ErrorCode.INVALID_ARGUMENT) && err.details.field === 'data'
            ? new FfcdbError(ErrorCode.INVALID_ARGUMENT, `${at} holds ${bytes.length} bytes, more than the store keeps in one document (${err.message})`, { field: at, size: bytes.length }, { cause: err })
            : err;
        });
        const { url: _url, bytes: _bytes, ...rest } = given as ReferencePart;
        const p: ReferencePart = { ...rest, inline: form };
        content[i] = p;
        let blob = bySha.get(put.sha256);
        if (!blob) {
          blob = { sha256: put.sha256, size: put.size, created: put.created, mediaType: documentMediaType(p.mediaType, headerType), newId: nextId(), parts: [] };
          if (p.name !== undefined) blob.name = p.name;
          bySha.set(put.sha256, blob);
        }
        blob.parts.push(p);
      }
    }
  } catch (err) {
    await releaseBlobs(core, [...bySha.values()].filter((b) => b.created).map((b) => b.sha256));
    throw err;
  }
  return bySha.size === 0 ? undefined : { blobs: [...bySha.values()] };
}

/**
 * Runs a write holding inline uploads as the documents API records an upload:
 * under the blob lock, with every process's records applied, the blobs
 * checked to be still there; removes the new blobs when the write fails.
 */
export async function recordInline<T>(core: ChatCore, uploads: InlineUploads, write: () => Promise<T>): Promise<T> {
  try {
    return await core.blobs.withLock(async () => {
      for (const b of uploads.blobs) {
        if (!(await core.blobs.has(b.sha256))) {
          throw new FfcdbError(ErrorCode.CONFLICT, 'inline bytes were removed by a concurrent delete before they could be recorded; add the message again', { field: 'content' });
        }
      }
      await core.runner.catchUp();
      return write();
    });
  } catch (err) {
    await releaseBlobs(core, uploads.blobs.filter((b) => b.created).map((b) => b.sha256));
    throw err;
  }
}

/**
 * The document.uploaded events a decision appends before its messages, and the
 * parts' document ids set: a live document of the session with the same bytes
 * is named again, else a new one is recorded.
 */
export function inlineDocumentEvents(core: ChatCore, sessionId: string, uploads: InlineUploads): ChatEvent[] {
  const state = core.state(documentsProjection);
  const events: ChatEvent[] = [];
  for (const b of uploads.blobs) {
    const existing = (state.bySession.get(sessionId) ?? []).find((id) => state.documents.get(id)!.sha256 === b.sha256);
    const documentId = existing ?? b.newId;
    if (!existing) {
      const data: DocumentUploaded = { documentId, ...(b.name === undefined ? {} : { name: b.name }), mediaType: b.mediaType, size: b.size, sha256: b.sha256 };
      events.push({ type: 'document.uploaded', data });
    }
    for (const p of b.parts) p.documentId = documentId;
  }
  return events;
}

/** Whether a decision's document check should pass over this part: it names a document the same write records. */
export function recordedWith(uploads: InlineUploads | undefined, documentId: unknown): boolean {
  return uploads?.blobs.some((b) => b.newId === documentId) ?? false;
}

/**
 * The content with each inline part as it came (its bytes, or its data: URL),
 * read from the blob store; a part whose document is gone stays a reference.
 * The same array when no part was inline.
 */
export async function restoreInline<C extends string | ContentPart[]>(core: ChatCore, content: C): Promise<C> {
  if (typeof content === 'string' || !content.some((p) => 'inline' in p)) return content;
  const documents = core.state(documentsProjection).documents;
  const out: ContentPart[] = [];
  for (const part of content as ContentPart[]) {
    const doc = 'inline' in part && part.inline && part.documentId !== undefined ? documents.get(part.documentId) : undefined;
    if (!doc) {
      out.push(part);
      continue;
    }
    const { documentId: _, inline, ...rest } = part as ReferencePart & { inline: InlineForm };
    const bytes = await core.blobs.read(doc.sha256);
    out.push(inline.as === 'bytes' ? { ...rest, bytes: new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.length) } : { ...rest, url: inline.prefix + bytes.toString('base64') });
  }
  return out as C;
}

/** The bytes an image or file part holds inline, if any: `bytes`, or a base64 data: URL that re-encodes to itself. */
function inlineBytes(part: unknown, at: string): { bytes: Uint8Array; form: InlineForm; at: string; headerType: string } | undefined {
  if (part === null || typeof part !== 'object') return undefined;
  const p = part as Partial<ReferencePart>;
  if (p.type !== 'image' && p.type !== 'file') return undefined;
  if (p.bytes !== undefined) {
    if (!(p.bytes instanceof Uint8Array)) throw invalid(`${at}.bytes`, 'must be a Uint8Array');
    if (p.url !== undefined || p.documentId !== undefined) throw invalid(at, 'must give exactly one of documentId, url and bytes');
    return { bytes: p.bytes, form: { as: 'bytes' }, at: `${at}.bytes`, headerType: '' };
  }
  if (typeof p.url !== 'string' || p.documentId !== undefined) return undefined;
  const m = BASE64_DATA_URL.exec(p.url);
  if (!m) return undefined;
  const bytes = Buffer.from(m[3]!, 'base64');
  // A URL that would not read back the same (no padding, stray characters) stays a URL.
  if (bytes.toString('base64') !== m[3]) return undefined;
  return { bytes, form: { as: 'url', prefix: m[1]! }, at: `${at}.url`, headerType: m[2]! };
}

/** The part's media type, else the data: URL's, else application/octet-stream. */
function documentMediaType(given: string | undefined, header: string): string {
  for (const candidate of [given, header]) {
    if (candidate === undefined || candidate === '') continue;
    try {
      checkMediaType(candidate, 'mediaType');
      return candidate;
    } catch {
      // Not one the documents API takes: try the next.
    }
  }
  return DEFAULT_MEDIA_TYPE;
}
