/** `flatfile-chat-db/export`: a store (or one session) as a verifiable export folder, and imports of one. */
export { exportFolder, exportStore } from './export-store.js';
export type { ExportOptions, ExportProgress, StoreParts } from './export-store.js';
export { importExport, importToFolder, verifyExport } from './import-store.js';
export type { ImportOptions, ImportProgress, ImportReport } from './import-store.js';
export type { BlobEntry, ExportManifest, StreamEntry } from './format.js';
