import { MemoryBlobStore } from '../../src/blobs/memory-blob-store.js';
import { blobStoreCompliance } from './blob-store-compliance.js';

blobStoreCompliance('memory', (_ctx, options) => new MemoryBlobStore(options));
