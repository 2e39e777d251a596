import path from 'node:path';
import { type Observable, merge } from 'rxjs';
import { CHAT_PROJECTIONS } from '../projections/index.js';
import type { StorageBackend } from '../backends/backend.js';
import type { BlobStore } from '../blobs/blob-store.js';
import { FileBlobStore } from '../blobs/file-blob-store.js';
import { MemoryBlobStore } from '../blobs/memory-blob-store.js';
import { EventStore } from '../engine/event-store.js';
import { assertPositiveInteger, describe, invalid } from '../kernel/validation.js';
import { Monitor, type MonitorEvent } from '../engine/monitor.js';
import { type StoreFolderOptions, flatfileBackend } from '../engine/open-store.js';
import { FileSnapshotStore } from '../projector/file-snapshot-store.js';
import { type ProjectionComparison, ProjectionRunner } from '../projector/projection-runner.js';
import { MemorySnapshotStore, type SnapshotStore } from '../projector/snapshot-store.js';
import { ImportApi } from './bulk-import.js';
import { ChatCore } from './chat-core.js';
import { ContextApi } from './context-api.js';
import { DocumentsApi } from './documents-api.js';
import { MessagesApi } from './messages-api.js';
import { type ChatSearch, type SearchIndexing, SearchService } from './search-api.js';
import { type ExportFormat, exportSession } from './session-export.js';
import { SessionsApi } from './sessions-api.js';
import { UsersApi } from './users-api.js';
import { refuseWrites } from './read-only.js';

interface CommonOptions {
  /** Save projection snapshots after this many events (default 100,000), and on close. */
  snapshotEvery?: number;
  /** When the search index indexes writes (default 'on-search'; see SearchIndexing). */
  searchIndexing?: SearchIndexing;
}

/**
 * The store folder `dir` by default (the event log, blobs, projection
 * snapshots and search index: see layout.ts; `create: false` opens an existing
 * store only; `readOnly: true` opens one to read, writing nothing: see read-only.ts), or any backend with the blob and snapshot stores to use beside
 * it (in memory unless given).
 */
export type ChatStoreOptions =
  | (StoreFolderOptions & CommonOptions)
  | ({ backend: StorageBackend; blobs?: BlobStore; snapshots?: SnapshotStore } & CommonOptions);

/** Maintenance of the projections: compare a rebuild from the log with the live state, or rebuild and swap. */
export interface ProjectionsControl {
  readonly names: readonly string[];
  /** The global position the projections reflect. */
  readonly position: number;
  compare(name: string): Promise<ProjectionComparison>;
  rebuild(name: string): Promise<ProjectionComparison>;
  saveSnapshots(): Promise<void>;
}

/**
 * The chat API: users, sessions, messages, documents and context. Every write
 * is an event; every read comes from a projection, which reflects a write
 * before the write resolves.
 */
export class ChatStore {
  readonly users: UsersApi;
  readonly sessions: SessionsApi;
  readonly messages: MessagesApi;
  readonly documents: DocumentsApi;
  readonly context: ContextApi;
  /** The bulk path for history imports: many sessions with their messages (src/chat/bulk-import.ts). */
  readonly import: ImportApi;
  readonly #search = new SearchService(() => this.#core);
  /** Full-text search of one user's messages, sessions, documents and contexts (src/chat/search-api.ts). */
  readonly search: ChatSearch = this.#search.search;
  readonly projections: ProjectionsControl;
  /** The engine underneath, for raw event access (audit, subscriptions). */
  readonly events: EventStore;
  readonly #core: ChatCore;
  readonly #monitor: Monitor;
  #closed = false;

  private constructor(core: ChatCore, monitor: Monitor) {
    this.#core = core;
    this.#monitor = monitor;
    this.events = core.events;
    this.users = new UsersApi(core);
    this.documents = new DocumentsApi(core);
    this.sessions = new SessionsApi(core, (blobs) => this.documents.release(blobs));
    this.messages = new MessagesApi(core);
    this.context = new ContextApi(core);
    this.import = new ImportApi(core);
    if (core.events.readOnly) refuseWrites(this);
    const runner = core.runner;
    this.projections = {
      names: CHAT_PROJECTIONS.map((p) => p.name),
      get position() {
        return runner.position;
      },
      compare: async (name) => runner.compare(projectionName(name)),
      rebuild: async (name) => runner.rebuild(projectionName(name)),
      saveSnapshots: () => runner.saveSnapshots(),
    };
  }

  static async open(options: ChatStoreOptions): Promise<ChatStore> {
    if (options === null || typeof options !== 'object') throw invalid('options', 'must be an object');
    if (options.snapshotEvery !== undefined) assertPositiveInteger(options.snapshotEvery, 'snapshotEvery', 1);
    const indexing = options.searchIndexing ?? 'on-search';
    if (indexing !== 'on-search' && indexing !== 'on-write') throw invalid('searchIndexing', "must be 'on-search' or 'on-write'");
    const persistent = !('backend' in options);
    const events = await EventStore.open(persistent ? flatfileBackend(options) : options.backend);
    try {
      // Read-only (`readOnly: true`, or a read-only backend): blobs, snapshots and the search index are read, never written.
      const readOnly = events.readOnly;
      const root = persistent ? path.resolve(options.dir) : '';
      const blobs = persistent ? new FileBlobStore(root, { readOnly }) : (options.blobs ?? new MemoryBlobStore());
      const snapshots = persistent ? new FileSnapshotStore(root, { readOnly }) : (options.snapshots ?? new MemorySnapshotStore());
      const monitor = new Monitor();
      const runnerOptions = { snapshots, monitor, readOnly, ...(options.snapshotEvery === undefined ? {} : { snapshotEvery: options.snapshotEvery }) };
      const runner = await ProjectionRunner.open(events, CHAT_PROJECTIONS, runnerOptions);
      monitor.opened();
      const store = new ChatStore(new ChatCore(events, runner, blobs), monitor);
      store.#core.afterPurge = () => store.#search.afterPurge();
      if (indexing === 'on-write') {
        await store.#search.open();
        store.#core.afterWrite = (position) => store.#search.indexWrite(position);
      }
      return store;
    } catch (err) {
      await events.close();
      throw err;
    }
  }

  /** The engine's recoveries, timings and errors, and the projections' loads, rebuilds and snapshots. */
  get monitor$(): Observable<MonitorEvent> {
    return merge(this.events.monitor$, this.#monitor.events$);
  }

  /** A session as JSON, JSONL or Markdown, streamed in chunks with constant memory. */
  export(sessionId: string, format: ExportFormat): AsyncGenerator<string> {
    return exportSession(this, sessionId, format);
  }

  /** Writes out the search index's recent documents, saves the projections' snapshots, and closes the blob store and the engine. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    try {
      await this.#search.close();
    } finally {
      try {
        await this.#core.runner.close();
      } finally {
        await this.#core.blobs.close();
        await this.events.close();
        this.#monitor.complete();
      }
    }
  }
}

/** A projection's name is a string; anything else is refused before the runner formats it into its NOT_FOUND. */
function projectionName(name: unknown): string {
  if (typeof name !== 'string') throw invalid('name', `must be a projection name; got ${describe(name)}`);
  return name;
}

export function openChatStore(options: ChatStoreOptions): Promise<ChatStore> {
  return ChatStore.open(options);
}
