/** `flatfile-chat-db/engine`: the event store on any backend, the contract a backend implements, and projections. */
export { EventStore } from './event-store.js';
export type { AppendOptions, ImportedEvent } from './event-store.js';
export type { AsOf, FeedPage, ReadAllOptions, ReadStreamOptions } from './reads.js';
export type { MonitorEvent } from './monitor.js';
export { openStore } from './open-store.js';
export type { OpenStoreOptions, StoreFolderOptions } from './open-store.js';
export type { BackendCapabilities, BackendContext, PreparedEvent, PurgeResult, StorageBackend, StreamReadOptions } from '../backends/backend.js';
export { defineProjection } from '../projections/projection.js';
export type { Projection } from '../projections/projection.js';
export { ErrorCode, FfcdbError, isFfcdbError } from '../kernel/errors.js';
export type * from '../kernel/types.js';
