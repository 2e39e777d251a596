import type { StorageBackend } from './backends/backend.js';
import { FlatfileBackend, type FlatfileOptions } from './backends/flatfile/flatfile-backend.js';
import { EventStore } from './engine/event-store.js';

export type OpenStoreOptions = FlatfileOptions | { backend: StorageBackend };

/** Opens a store: the flatfile backend in `dir` by default, or any backend given. */
export async function openStore(options: OpenStoreOptions): Promise<EventStore> {
  const backend = 'backend' in options ? options.backend : new FlatfileBackend(options);
  return EventStore.open(backend);
}
