import type { RecordedEvent } from '../../kernel/types.js';
import { jsonText } from '../../sql/values.js';
import type { DocumentRow } from '../rows.js';
import { DOCUMENT_ANALYSES, DOCUMENTS } from '../schema.js';
import type { FamilyEvent, TableWrites, Tagged, Tracked } from './tracked.js';

/** Where a document event was written: a session's stream (its owner given) or a user's library (session null). */
export interface DocumentHome {
  session: string | null;
  user: string;
}

/**
 * document.* events → documents and document_analyses rows (the documents
 * projection's rules): a document belongs to its stream; an id is live once
 * at a time, and uploading it again after a delete is a new document.
 */
export class DocumentsFold {
  /** The latest row of each document id the batch touches (live unless deleted in the batch). */
  readonly rows = new Map<string, Tracked<DocumentRow>>();
  /** Documents replaced in `rows` by a new upload of their id: still to be written. */
  readonly #superseded: Tracked<DocumentRow>[] = [];
  readonly #analyses: Tagged[] = [];

  apply(home: DocumentHome, raw: RecordedEvent, e: FamilyEvent<'document'>): void {
    const id = e.data.documentId;
    const current = this.rows.get(id);
    const live = current && current.row.deleted_at === null ? current : undefined;
    if (e.type === 'document.uploaded') {
      if (live) return;
      if (current) this.#superseded.push(current);
      const { name = null, mediaType, size, sha256, metadata = {}, createdAt = raw.timestamp } = e.data;
      const row: DocumentRow = {
        upload_position: raw.position,
        document_id: id,
        user_id: home.user,
        session_id: home.session,
        name,
        media_type: mediaType,
        size,
        sha256,
        metadata: jsonText(metadata),
        uploaded_at: createdAt,
        deleted_at: null,
      };
      this.rows.set(id, { row, isNew: true, dirty: true });
      return;
    }
    // A stream touches only its own documents.
    if (!live || live.row.session_id !== home.session || (home.session === null && live.row.user_id !== home.user)) return;
    if (e.type === 'document.deleted') {
      deleted(live, raw.timestamp);
      return;
    }
    const { analysisVersion, summary, text, entities, data } = e.data;
    this.#analyses.push({
      stream: raw.streamId,
      values: [
        raw.position,
        live.row.upload_position,
        id,
        analysisVersion,
        summary ?? null,
        text ?? null,
        entities === undefined ? null : jsonText(entities),
        data === undefined ? null : jsonText(data),
        raw.timestamp,
      ],
    });
  }

  write(out: TableWrites): void {
    for (const d of [...this.#superseded, ...this.rows.values()]) if (out.keep(d.row.session_id)) out.tracked(DOCUMENTS, d);
    out.tagged(DOCUMENT_ANALYSES, this.#analyses);
  }
}

function deleted(d: Tracked<DocumentRow>, at: number): void {
  d.row.deleted_at = at;
  d.dirty = true;
}
