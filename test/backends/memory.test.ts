import { MemoryBackend } from '../../src/backends/memory/memory-backend.js';
import { backendCompliance } from '../compliance/backend-compliance.js';

backendCompliance('memory', () => new MemoryBackend());
