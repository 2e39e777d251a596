/** `flatfile-chat-db/memory`: the event log in memory, for tests and throwaway stores. */
export { MemoryBackend } from './memory-backend.js';
