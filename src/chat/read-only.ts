import { readOnlyError } from '../kernel/errors.js';

/**
 * The chat API's writes, by area. On a read-only store (`readOnly: true`) each
 * fails with READ_ONLY before it looks at its arguments, so a caller learns
 * the one thing that matters first; the engine under them refuses appends and
 * purges too, whatever reaches it.
 */
export const CHAT_WRITES = {
  users: ['create', 'ensure', 'update'],
  sessions: ['create', 'ensure', 'update', 'rename', 'tag', 'archive', 'delete', 'restore'],
  messages: ['add', 'upsert', 'sync', 'edit', 'delete', 'truncate', 'clear'],
  documents: ['upload', 'analyse', 'delete', 'release'],
  context: ['set', 'patch', 'snapshot'],
  import: ['sessions'],
} as const;

/** Replaces each write of the store's API objects with a refusal (own properties, over the prototype's methods). */
export function refuseWrites(apis: Record<keyof typeof CHAT_WRITES, object>): void {
  for (const [area, methods] of Object.entries(CHAT_WRITES) as [keyof typeof CHAT_WRITES, readonly string[]][]) {
    for (const method of methods) {
      Object.defineProperty(apis[area], method, { value: () => Promise.reject(readOnlyError(`${area}.${method}`)) });
    }
  }
}
