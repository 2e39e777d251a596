import { FlatfileBackend } from '../../src/backends/flatfile/flatfile-backend.js';
import { backendCompliance } from '../compliance/backend-compliance.js';

backendCompliance('flatfile', ({ dir }) => new FlatfileBackend({ dir, durability: 'none' }));
backendCompliance('flatfile-always', ({ dir }) => new FlatfileBackend({ dir, durability: 'always' }), { scale: 200 });
