import { ErrorCode } from '../../src/kernel/errors.js';
import { documentEvents } from '../../src/events/documents.js';
import type { EventDefinition } from '../../src/events/definition.js';
import { flatfileSuite } from '../flatfile/unit-helpers.js';
import { fails } from './fails.js';

const uploaded: EventDefinition<unknown> = documentEvents['document.uploaded'];
const analysed: EventDefinition<unknown> = documentEvents['document.analysed'];
const deleted: EventDefinition<unknown> = documentEvents['document.deleted'];
const test = flatfileSuite('events: documents');

const doc = { documentId: 'doc-1', name: 'report (final).pdf', mediaType: 'application/pdf', size: 1024, sha256: 'a'.repeat(64) };

test('document.uploaded accepts name, media type, size, sha256 and metadata', () => {
  uploaded.validate(doc);
  uploaded.validate({ ...doc, size: 0, mediaType: 'application/vnd.openxmlformats-officedocument.wordprocessingml.document', metadata: { source: 'upload' } });
});

test('document.uploaded names the bad field', () => {
  fails(() => uploaded.validate({ ...doc, documentId: 'a\nb' }), 'data.documentId', ErrorCode.INVALID_ID);
  fails(() => uploaded.validate({ ...doc, name: '' }), 'data.name');
  fails(() => uploaded.validate({ ...doc, mediaType: 'pdf' }), 'data.mediaType');
  fails(() => uploaded.validate({ ...doc, size: -1 }), 'data.size');
  fails(() => uploaded.validate({ ...doc, size: 1.5 }), 'data.size');
  fails(() => uploaded.validate({ ...doc, sha256: 'A'.repeat(64) }), 'data.sha256');
  fails(() => uploaded.validate({ ...doc, sha256: 'a'.repeat(63) }), 'data.sha256');
  fails(() => uploaded.validate({ ...doc, metadata: [] }), 'data.metadata');
});

test('document.analysed carries an analysis version and a summary, extracted text, entities or any JSON', () => {
  analysed.validate({ documentId: 'doc-1', analysisVersion: 1, summary: 'Q3 numbers', text: 'Revenue grew', entities: [{ type: 'org', text: 'ACME' }], data: { pages: 3, tables: [[1, 2]] } });
  analysed.validate({ documentId: 'doc-1', analysisVersion: 2, data: null });
  fails(() => analysed.validate({ documentId: 'doc-1', analysisVersion: 1 }), 'data');
  fails(() => analysed.validate({ documentId: 'doc-1', analysisVersion: 0, summary: 's' }), 'data.analysisVersion');
  fails(() => analysed.validate({ documentId: 'doc-1', summary: 's' }), 'data.analysisVersion');
});

test('analysis results name the bad field and are bounded', () => {
  fails(() => analysed.validate({ documentId: 'd', analysisVersion: 1, entities: [{ type: 'person', text: 'Ada' }, { type: 'person' }] }), 'data.entities[1].text');
  fails(() => analysed.validate({ documentId: 'd', analysisVersion: 1, entities: [{ type: 'person', text: 'Ada', score: 1 }] }), 'data.entities[0].score');
  fails(() => analysed.validate({ documentId: 'd', analysisVersion: 1, text: 'x'.repeat(8_000_001) }), 'data.text');
  fails(() => analysed.validate({ documentId: 'd', analysisVersion: 1, summary: 'x'.repeat(1_000_001) }), 'data.summary');
  fails(() => analysed.validate({ documentId: 'd', analysisVersion: 1, data: 'x'.repeat(1024 * 1024) }), 'data.data');
});

test('document.deleted carries the id only', () => {
  deleted.validate({ documentId: 'doc-1' });
  fails(() => deleted.validate({ documentId: 'doc-1', sha256: 'a'.repeat(64) }), 'data.sha256');
});

test.run();
