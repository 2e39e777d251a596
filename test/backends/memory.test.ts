import { suite } from 'uvu';
import { MemoryBackend } from '../../src/backends/memory/memory-backend.js';
import { backendComplianceSuite } from '../../src/testing/index.js';

const test = suite('memory: backend compliance');
backendComplianceSuite({ test, name: 'memory', makeBackend: () => new MemoryBackend() });
test.run();
