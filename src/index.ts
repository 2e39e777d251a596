/**
 * `flatfile-chat-db`: the chat API, the event store and its backends, export
 * and import, and migration to SQL. The subpath entries (./engine, ./flatfile,
 * ./memory, ./postgres, ./migration, ./export) give each part alone; this one
 * never loads the optional peers pg and better-sqlite3 (a target or backend
 * that needs one loads it when used).
 */
export { EventStore } from './engine/event-store.js';
export type { AppendOptions, ImportedEvent } from './engine/event-store.js';
export type { AsOf, FeedPage, ReadAllOptions, ReadStreamOptions } from './engine/reads.js';
export type { MonitorEvent } from './engine/monitor.js';
export { ErrorCode, FfcdbError, isFfcdbError } from './kernel/errors.js';
export type { BackendCapabilities, PreparedEvent, StorageBackend, StreamReadOptions } from './backends/backend.js';
export { MemoryBackend } from './backends/memory/memory-backend.js';
export type * from './kernel/types.js';
export { openStore } from './engine/open-store.js';
export type { OpenStoreOptions, StoreFolderOptions } from './engine/open-store.js';
export { isStore } from './storage/store-folder.js';
export { FlatfileBackend } from './backends/flatfile/flatfile-backend.js';
export type { FlatfileOptions } from './backends/flatfile/flatfile-backend.js';
export { PostgresBackend, type PostgresBackendOptions, type PostgresDurability } from './backends/postgres/postgres-backend.js';
export { postgresBackend, type PostgresOptions } from './backends/postgres/connect.js';
export type { PgPool, PgPoolClient } from './sql/postgres/pool.js';
export { ChatStore, openChatStore } from './chat/chat-store.js';
export type { ChatStoreOptions, ProjectionsControl } from './chat/chat-store.js';
export type { ReadOptions, WriteOptions } from './chat/chat-core.js';
export type { Page, PageOptions } from './chat/page.js';
export type { NewUser, Reflected, UserChanges, UserView } from './chat/users-api.js';
export type { NewSession, Session, SessionChanges, SessionListOptions } from './chat/sessions-api.js';
export type { Message, MessageChanges, MessageListOptions, NewMessage, SyncResult, UpsertOutcome } from './chat/messages-api.js';
export { fromUIMessage, toUIMessage, type UIMessageLike } from './chat/message-shapes/ai-sdk.js';
export { fromLangChain, toLangChain, type StoredLangChainMessage } from './chat/message-shapes/langchain.js';
export type { MappedMessage, StoredMessage } from './chat/message-shapes/shape-parts.js';
export type { Analysis, AnalysisResult, DocumentView, NewDocument } from './chat/documents-api.js';
export type { ContextAsOf, ContextHistoryEntry, ContextValue } from './chat/context-api.js';
export { EXPORT_FORMATS } from './chat/session-export.js';
export type { ExportFormat } from './chat/session-export.js';
export type { Projection } from './projections/projection.js';
export { defineProjection } from './projections/projection.js';
export type { ProjectionComparison } from './projector/projection-runner.js';
export type { BlobInfo, BlobStore } from './blobs/blob-store.js';
export { FileBlobStore } from './blobs/file-blob-store.js';
export { MemoryBlobStore } from './blobs/memory-blob-store.js';
export * from './export/index.js';
export * from './migration/index.js';
export type { ChatSearchOptions, ChatSearchPage } from './chat/search-api.js';
export type { SearchHit, SearchPage } from './search/query.js';
export type { SearchOptions } from './search/query-options.js';
// The chat event catalog: what `chat.events.readStream('s-<id>')` returns, typed by event type.
export type { CatalogEvent, EventDataMap, EventType } from './events/catalog.js';
export type * from './events/users.js';
export type * from './events/sessions.js';
export type * from './events/messages.js';
export type * from './events/documents.js';
export type * from './events/context.js';
