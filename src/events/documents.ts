import { assertId, invalid } from '../kernel/validation.js';
import type { JsonValue } from '../kernel/types.js';
import { type Definitions, sameShape } from './definition.js';
import { type JsonObject, fields, instant, integer, json, jsonObject, label, list, matching, mediaType, text } from './fields.js';
import { EVENT_LIMITS } from './limits.js';

/** A document's bytes were stored (once per content hash); this names them. Schema version 2: version 1 with `createdAt`, `name` optional. */
export interface DocumentUploaded {
  documentId: string;
  /** The file name as the user gave it, if any; shown, never used as a path. */
  name?: string;
  mediaType: string;
  /** Bytes. */
  size: number;
  /** Lowercase hex sha256 of the bytes: the blob's address. */
  sha256: string;
  metadata?: JsonObject;
  /** When the document was made, for history imported (ms since the epoch); it reads as uploaded then. The event's own timestamp stays the time of the write. */
  createdAt?: number;
}

/** Something found in a document: a person, a place, an id ... */
export interface Entity {
  type: string;
  text: string;
}

/** Results of one analysis of a document. A later `analysisVersion` supersedes earlier ones. */
export interface DocumentAnalysed {
  documentId: string;
  analysisVersion: number;
  summary?: string;
  /** The document's text as extracted (OCR, PDF text ...). */
  text?: string;
  entities?: Entity[];
  /** Anything else the analyser produced. */
  data?: JsonValue;
}

export interface DocumentDeleted {
  documentId: string;
}

export interface DocumentEvents {
  'document.uploaded': DocumentUploaded;
  'document.analysed': DocumentAnalysed;
  'document.deleted': DocumentDeleted;
}

const SHA256 = /^[0-9a-f]{64}$/;
const ANALYSIS_RESULTS = ['summary', 'text', 'entities', 'data'] as const;

function validateDocumentUploaded(data: unknown): asserts data is DocumentUploaded {
  const o = fields(data, 'data', ['documentId', 'name', 'mediaType', 'size', 'sha256', 'metadata', 'createdAt']);
  assertId(o.documentId, 'data.documentId');
  if (o.name !== undefined) label(o.name, 'data.name');
  if (o.createdAt !== undefined) instant(o.createdAt, 'data.createdAt');
  mediaType(o.mediaType, 'data.mediaType');
  integer(o.size, 'data.size', 0);
  matching(o.sha256, 'data.sha256', SHA256, '64 lowercase hex digits (a sha256)');
  if (o.metadata !== undefined) jsonObject(o.metadata, 'data.metadata', EVENT_LIMITS.metadataBytes);
}

function entities(value: unknown, field: string): void {
  list(value, field, EVENT_LIMITS.entities);
  value.forEach((e, i) => {
    const o = fields(e, `${field}[${i}]`, ['type', 'text']);
    label(o.type, `${field}[${i}].type`, EVENT_LIMITS.tagChars);
    label(o.text, `${field}[${i}].text`);
  });
}

function validateDocumentAnalysed(data: unknown): asserts data is DocumentAnalysed {
  const o = fields(data, 'data', ['documentId', 'analysisVersion', ...ANALYSIS_RESULTS]);
  assertId(o.documentId, 'data.documentId');
  integer(o.analysisVersion, 'data.analysisVersion', 1);
  if (!ANALYSIS_RESULTS.some((k) => k in o)) throw invalid('data', `must hold at least one of ${ANALYSIS_RESULTS.join(', ')}`);
  if (o.summary !== undefined) text(o.summary, 'data.summary', EVENT_LIMITS.textChars);
  if (o.text !== undefined) text(o.text, 'data.text', EVENT_LIMITS.extractedTextChars);
  if (o.entities !== undefined) entities(o.entities, 'data.entities');
  if (o.data !== undefined) json(o.data, 'data.data', EVENT_LIMITS.jsonBytes);
}

function validateDocumentDeleted(data: unknown): asserts data is DocumentDeleted {
  assertId(fields(data, 'data', ['documentId']).documentId, 'data.documentId');
}

export const documentEvents: Definitions<DocumentEvents> = {
  'document.uploaded': { version: 2, validate: validateDocumentUploaded, history: { 1: { validate: validateDocumentUploaded, upcast: sameShape } } },
  'document.analysed': { version: 1, validate: validateDocumentAnalysed },
  'document.deleted': { version: 1, validate: validateDocumentDeleted },
};
