import type { ColumnDef, ColumnType, TableDef } from '../sql/driver.js';

/**
 * The relational schema a migration writes: one definition, from which each
 * dialect renders its DDL (src/sql/ddl.ts). Times are milliseconds since the
 * epoch; JSON columns hold JSON text (bytes as {"$base64": ...}). Panels and
 * personas get their tables here when their events exist (a new FORMAT_VERSION).
 */

/** Bumped when the tables change; a database written by another version is refused (roll back and migrate again). */
export const FORMAT_VERSION = 4;
/** The marker row's format: what says these tables are the migration's. */
export const FORMAT = 'flatfile-chat-db migration';

const col = (name: string, type: ColumnType, doc: string, nullable = false): ColumnDef => ({ name, type, doc, ...(nullable ? { nullable } : {}) });

export const MIGRATION: TableDef = {
  name: 'migration',
  doc: 'One row: the marker that the migration created these tables, and its checkpoint.',
  columns: [
    col('id', 'integer', 'always 1'),
    col('format', 'text', `"${FORMAT}": the marker`),
    col('format_version', 'integer', 'the schema version (FORMAT_VERSION)'),
    col('position', 'integer', 'checkpoint: every event of the feed at or below it is migrated'),
    col('event_position', 'integer', 'position of the last event migrated (below `position` when gaps followed it)'),
    col('event_id', 'text', 'id of that event: a log cut back after a crash no longer holds it', true),
    col('sweep_pending', 'boolean', 'gaps were passed: look for purged streams whose rows are still here'),
    col('created_namespace', 'boolean', 'the migration created the PostgreSQL schema or the SQLite file (rollback removes it)'),
    col('indexes_built', 'boolean', 'the secondary indexes exist: built once the first catch-up is done, kept up to date after'),
    col('created_at', 'integer', 'when the tables were created'),
    col('updated_at', 'integer', 'when the checkpoint last moved'),
  ],
  primaryKey: ['id'],
};

export const EVENTS: TableDef = {
  name: 'events',
  doc: 'Every event of the log, raw, in feed order (audit): the schema version and data as recorded, not upcast.',
  columns: [
    col('position', 'integer', 'global position'),
    col('stream_id', 'text', 'the stream (`s-<session>`, `u-<user>`, or any other)'),
    col('version', 'integer', 'version in its stream'),
    col('id', 'text', 'event id'),
    col('type', 'text', 'event type'),
    col('schema_version', 'integer', 'schema version of the payload as recorded'),
    col('at', 'integer', 'timestamp'),
    col('data', 'json', 'payload'),
    col('metadata', 'json', 'actor, correlationId, causationId and free fields'),
  ],
  primaryKey: ['position'],
  indexes: [{ name: 'stream', columns: ['stream_id', 'version'], unique: true, deferred: true }],
};

export const PURGED_STREAMS: TableDef = {
  name: 'purged_streams',
  doc: 'Streams erased by a purge: none of their rows are kept, nor their later events.',
  columns: [col('stream_id', 'text', 'the stream'), col('position', 'integer', 'the session.deleted event that asked for the purge, or the checkpoint when the purge was found')],
  primaryKey: ['stream_id'],
};

export const USERS: TableDef = {
  name: 'users',
  doc: 'Users as the users projection holds them: the latest of every field.',
  columns: [
    col('user_id', 'text', 'id'),
    col('display_name', 'text', 'display name', true),
    col('email', 'text', 'email', true),
    col('profile', 'json', 'profile object ({} when none)'),
    col('preferences', 'json', 'preferences object ({} when none)'),
    col('created_at', 'integer', 'time of user.created'),
    col('updated_at', 'integer', 'time of the stream\'s latest event'),
    col('version', 'integer', 'the user stream\'s version'),
  ],
  primaryKey: ['user_id'],
};

export const SESSIONS: TableDef = {
  name: 'sessions',
  doc: 'Sessions, deleted ones kept with `deleted_at`, their other rows as they were (the log keeps their audit trail; session.restored clears `deleted_at`; a purge erases them).',
  columns: [
    col('session_id', 'text', 'id'),
    col('user_id', 'text', 'owner'),
    col('title', 'text', 'title'),
    col('metadata', 'json', 'metadata object ({} when none)'),
    col('archived', 'boolean', 'archived'),
    col('created_at', 'integer', 'the createdAt it was created with (history imported), else the time of session.created'),
    col('updated_at', 'integer', 'time of the stream\'s latest event (while live)'),
    col('version', 'integer', 'the session stream\'s version (while live)'),
    col('last_message_at', 'integer', 'created_at of the latest message added', true),
    col('deleted_at', 'integer', 'time of session.deleted; NULL while live (and once restored)', true),
  ],
  primaryKey: ['session_id'],
  indexes: [{ name: 'listing', columns: ['user_id', 'created_at', 'session_id'], deferred: true }],
};

export const SESSION_TAGS: TableDef = {
  name: 'session_tags',
  doc: 'The current tags of each session, in order.',
  columns: [col('session_id', 'text', 'session'), col('tag', 'text', 'tag'), col('idx', 'integer', 'place in the tag list (0, 1, ...)')],
  primaryKey: ['session_id', 'tag'],
  indexes: [{ name: 'tag', columns: ['tag'], deferred: true }],
  foreignKeys: [{ columns: ['session_id'], table: 'sessions', references: ['session_id'] }],
};

export const MESSAGES: TableDef = {
  name: 'messages',
  doc: 'Each message as it reads now (its latest revision); deleted ones kept with `deleted_at`.',
  columns: [
    col('session_id', 'text', 'session'),
    col('message_id', 'text', 'id (the first message.added of a live id wins; a deleted id added again is a new message in this row)'),
    col('seq', 'integer', 'stream version of its message.added: the order of the session\'s messages'),
    col('role', 'text', 'system, user, assistant, tool or an app\'s role'),
    col('content', 'json', 'text (a JSON string) or an array of parts'),
    col('attachments', 'json', 'array of { documentId, name?, mediaType? }'),
    col('metadata', 'json', 'model, usage, finishReason and free fields ({} when none)'),
    col('revision', 'integer', '1 as added, one more per edit'),
    col('created_at', 'integer', 'the createdAt it was added with (history imported), else the time of message.added'),
    col('updated_at', 'integer', 'time of the latest revision (created_at for revision 1)'),
    col('deleted_at', 'integer', 'time of message.deleted or message.truncated; NULL while live', true),
    col('extra', 'json', 'what the message holds besides the typed fields, as given; NULL when none', true),
  ],
  primaryKey: ['session_id', 'message_id'],
  indexes: [{ name: 'seq', columns: ['session_id', 'seq'], deferred: true }],
  foreignKeys: [{ columns: ['session_id'], table: 'sessions', references: ['session_id'] }],
};

export const MESSAGE_REVISIONS: TableDef = {
  name: 'message_revisions',
  doc: 'Every revision of every message: revision 1 as added, then each edit (attachments, metadata and extra an edit left out carried over); those of a deleted message whose id was used again stay.',
  columns: [
    col('session_id', 'text', 'session'),
    col('message_id', 'text', 'message'),
    col('revision', 'integer', '1, 2, ...'),
    col('stream_version', 'integer', 'the event that made it'),
    col('content', 'json', 'content of this revision'),
    col('attachments', 'json', 'attachments of this revision'),
    col('metadata', 'json', 'metadata of this revision'),
    col('at', 'integer', 'time of the revision (created_at for revision 1)'),
    col('extra', 'json', 'extra of this revision', true),
  ],
  primaryKey: ['session_id', 'stream_version'],
  foreignKeys: [{ columns: ['session_id', 'message_id'], table: 'messages', references: ['session_id', 'message_id'] }],
};

export const MESSAGE_ATTACHMENTS: TableDef = {
  name: 'message_attachments',
  doc: 'The current attachments of each message, one row each (to find the messages naming a document).',
  columns: [
    col('session_id', 'text', 'session'),
    col('message_id', 'text', 'message'),
    col('idx', 'integer', 'place in the attachment list'),
    col('document_id', 'text', 'the document attached'),
    col('name', 'text', 'name shown', true),
    col('media_type', 'text', 'media type', true),
  ],
  primaryKey: ['session_id', 'message_id', 'idx'],
  indexes: [{ name: 'document', columns: ['document_id'], deferred: true }],
  foreignKeys: [{ columns: ['session_id', 'message_id'], table: 'messages', references: ['session_id', 'message_id'] }],
};

export const DOCUMENTS: TableDef = {
  name: 'documents',
  doc: 'Documents (their bytes stay in the store\'s blobs, by sha256). A deleted id may be uploaded again, so the key is the upload\'s position; one live row per id.',
  columns: [
    col('upload_position', 'integer', 'position of its document.uploaded'),
    col('document_id', 'text', 'id'),
    col('user_id', 'text', 'owner'),
    col('session_id', 'text', 'session it was uploaded to; NULL in the user\'s library', true),
    col('name', 'text', 'file name; NULL when the upload gave none', true),
    col('media_type', 'text', 'media type'),
    col('size', 'integer', 'bytes'),
    col('sha256', 'text', 'lowercase hex sha256 of the bytes'),
    col('metadata', 'json', 'metadata object ({} when none)'),
    col('uploaded_at', 'integer', 'the createdAt it was uploaded with (history imported), else the time of the upload'),
    col('deleted_at', 'integer', 'time of document.deleted; NULL while live (a deleted session\'s documents keep NULL: hidden with their session, as its messages are, until a restore or a purge)', true),
  ],
  primaryKey: ['upload_position'],
  indexes: [
    { name: 'live', columns: ['document_id'], unique: true, where: 'deleted_at IS NULL' },
    // Not deferred: a purge erases a session's documents through it, during the catch-up too.
    { name: 'session', columns: ['session_id'] },
    { name: 'user', columns: ['user_id'], deferred: true },
  ],
};

export const DOCUMENT_ANALYSES: TableDef = {
  name: 'document_analyses',
  doc: 'Every analysis attached to a document, in order.',
  columns: [
    col('position', 'integer', 'position of its document.analysed'),
    col('upload_position', 'integer', 'the document'),
    col('document_id', 'text', 'the document\'s id'),
    col('analysis_version', 'integer', 'as the event numbers it'),
    col('summary', 'text', 'summary', true),
    col('text', 'text', 'extracted text', true),
    col('entities', 'json', 'array of { type, text }', true),
    col('data', 'json', 'anything else the analyser produced', true),
    col('at', 'integer', 'time of the analysis'),
  ],
  primaryKey: ['position'],
  indexes: [{ name: 'document', columns: ['upload_position'], deferred: true }],
  foreignKeys: [{ columns: ['upload_position'], table: 'documents', references: ['upload_position'] }],
};

export const CONTEXT: TableDef = {
  name: 'context',
  doc: 'The current context of each session that has changed it (no row: {} at version 0).',
  columns: [
    col('session_id', 'text', 'session'),
    col('value', 'json', 'the context object'),
    col('version', 'integer', 'changes applied (set and patch)'),
    col('updated_at', 'integer', 'time of the latest change'),
  ],
  primaryKey: ['session_id'],
  foreignKeys: [{ columns: ['session_id'], table: 'sessions', references: ['session_id'] }],
};

export const CONTEXT_CHANGES: TableDef = {
  name: 'context_changes',
  doc: 'Every change of a context: version N is the context after the last set at or before N with the patches after it applied (RFC 7386).',
  columns: [
    col('session_id', 'text', 'session'),
    col('version', 'integer', '1, 2, ...'),
    col('op', 'text', "'set' or 'patch'"),
    col('value', 'json', 'the whole context (set) or the merge patch (patch)'),
    col('stream_version', 'integer', 'the event'),
    col('position', 'integer', 'its global position'),
    col('at', 'integer', 'its time'),
  ],
  primaryKey: ['session_id', 'version'],
  foreignKeys: [{ columns: ['session_id'], table: 'sessions', references: ['session_id'] }],
};

export const CONTEXT_SNAPSHOTS: TableDef = {
  name: 'context_snapshots',
  doc: 'Named snapshots of a context, with the value they name (taking a name again moves it).',
  columns: [
    col('session_id', 'text', 'session'),
    col('name', 'text', 'snapshot name'),
    col('version', 'integer', 'the context version it names (0: {})'),
    col('value', 'json', 'the context at that version'),
    col('stream_version', 'integer', 'the context.snapshotted event'),
    col('at', 'integer', 'its time'),
  ],
  primaryKey: ['session_id', 'name'],
  foreignKeys: [{ columns: ['session_id'], table: 'sessions', references: ['session_id'] }],
};

/** Every table, parents before children: the order of creation (reversed: of dropping). */
export const TABLES: readonly TableDef[] = [
  MIGRATION,
  EVENTS,
  PURGED_STREAMS,
  USERS,
  SESSIONS,
  SESSION_TAGS,
  MESSAGES,
  MESSAGE_REVISIONS,
  MESSAGE_ATTACHMENTS,
  DOCUMENTS,
  DOCUMENT_ANALYSES,
  CONTEXT,
  CONTEXT_CHANGES,
  CONTEXT_SNAPSHOTS,
];

/** The tables holding migrated content (the migration table is bookkeeping). */
export const CONTENT_TABLES: readonly TableDef[] = TABLES.filter((t) => t !== MIGRATION && t !== PURGED_STREAMS);
