import path from 'node:path';
import { type ChatStore, openChatStore } from '../../index.js';
import { UsageError } from '../command.js';

export const DIR_OPTION = { dir: { type: 'string' } } as const;

/** --dir, which is required. */
export function storeDir(dir: unknown): string {
  if (typeof dir !== 'string' || dir === '') throw new UsageError('--dir is required');
  return path.resolve(dir);
}

/**
 * Opens the chat store in --dir, which must already hold one (NOT_FOUND otherwise: opening must not make an empty store), runs fn and closes it.
 * `readOnly` for a command that only reads: it then writes nothing in the folder (no lock, no snapshot), and works on a full disk or a read-only mount.
 */
export async function withStore<T>(dir: unknown, fn: (chat: ChatStore) => Promise<T>, options: { readOnly?: boolean } = {}): Promise<T> {
  const chat = await openChatStore({ dir: storeDir(dir), create: false, readOnly: options.readOnly === true });
  try {
    return await fn(chat);
  } finally {
    await chat.close();
  }
}
