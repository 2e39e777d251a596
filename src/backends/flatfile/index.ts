/** `flatfile-chat-db/flatfile`: the event log in a local store folder (layout.ts), and whether a folder holds a store. */
export { FlatfileBackend } from './flatfile-backend.js';
export type { FlatfileOptions } from './flatfile-backend.js';
export { isStore } from '../../storage/store-folder.js';
