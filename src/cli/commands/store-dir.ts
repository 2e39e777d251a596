import fs from 'node:fs';
import path from 'node:path';
import { type ChatStore, openChatStore } from '../../chat/chat-store.js';
import { UsageError } from '../command.js';

export const DIR_OPTION = { dir: { type: 'string' } } as const;

/** Opens the chat store in --dir, which must already hold one (opening would make an empty store), runs fn and closes it. */
export async function withStore<T>(dir: unknown, fn: (chat: ChatStore) => Promise<T>): Promise<T> {
  if (typeof dir !== 'string' || dir === '') throw new UsageError('--dir is required');
  if (!fs.existsSync(path.join(dir, 'ffcdb.json'))) throw new UsageError(`${dir} holds no store`);
  const chat = await openChatStore({ dir: path.resolve(dir) });
  try {
    return await fn(chat);
  } finally {
    await chat.close();
  }
}
